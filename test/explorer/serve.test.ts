import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Deployment } from "../../packages/sdk/src/deployment";
import { escrowLibraryEntries } from "../../packages/sdk/src/libraries";
import { startExplorer, type RunningExplorer } from "../../src/explorer/serve";
import { spawn } from "node:child_process";
import { ROOT } from "../../src/network/processes";

/**
 * Runs `npm run explorer -- <args>` (its script, as npm runs it) until it exits; once it prints its URL, reads its
 * /trustml.json and stops it with SIGINT.
 */
function runExplorerCli(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string; url?: string; served?: unknown }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [require.resolve("ts-node/dist/bin"), "scripts/explorer.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let url: string | undefined;
    let served: unknown;
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.stdout.on("data", (c) => {
      stdout += c;
      if (url === undefined && /Ctrl-C stops it/.test(stdout)) {
        url = /http:\/\/127\.0\.0\.1:\d+\//.exec(stdout)?.[0];
        // What it serves, asked while it runs; then Ctrl-C.
        void fetch(`${url}trustml.json`)
          .then(async (res) => (served = res.ok ? await res.json() : `HTTP ${res.status}`))
          .catch((e: Error) => (served = e.message))
          .finally(() => child.kill("SIGINT"));
      }
    });
    child.stderr.on("data", (c) => (stderr += c));
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, url, served });
    });
  });
}

/** A record that validates; the server never reads the chain (the page does). */
const at = (n: number) => ({ address: "0x" + n.toString(16).padStart(40, "0") });
const DEPLOYMENT: Deployment = {
  network: "localhost",
  chainId: 31337,
  compiler: "0.8.28",
  deployer: at(1).address,
  governance: at(1).address,
  treasury: at(2).address,
  startBlock: 0,
  testToken: true,
  contracts: {
    token: at(3),
    registry: at(4),
    staking: at(5),
    escrow: at(6),
    randomness: at(7),
    ...escrowLibraryEntries(() => at(8)),
  },
  params: {},
  minVerifierStake: "0",
  unbondingPeriod: 1,
  deployedAt: new Date(0).toISOString(),
};
const RPC_URL = "http://127.0.0.1:1";

describe("startExplorer", function () {
  let dir: string;
  let explorer: RunningExplorer | undefined;

  before(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), "trustml-explorer-test-"));
  });
  after(async function () {
    await explorer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe("with a valid record file", function () {
    before(async function () {
      const file = path.join(dir, "localhost.json");
      writeFileSync(file, JSON.stringify(DEPLOYMENT));
      explorer = await startExplorer({ rpcUrl: RPC_URL, deployment: file, port: 0 });
    });

    it("serves the app on a free port", async function () {
      expect(explorer!.url).to.equal(`http://127.0.0.1:${explorer!.port}/`);
      const res = await fetch(explorer!.url);
      expect(res.status).to.equal(200);
      const html = await res.text();
      expect(html).to.contain('<div id="root"></div>');
      expect(html).to.match(/<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
    });

    it("answers /trustml.json with the node and the record, uncached", async function () {
      const res = await fetch(`${explorer!.url}trustml.json`);
      expect(res.headers.get("cache-control")).to.equal("no-store");
      expect(await res.json()).to.deep.equal({ rpcUrl: RPC_URL, deployment: DEPLOYMENT });
    });

    it("serves the app for deep links (job by #request-number, address)", async function () {
      for (const link of ["job/%2312", "job/nonce/3", `address/${at(6).address}`, "model/2"]) {
        const res = await fetch(`${explorer!.url}${link}`);
        expect(res.status, link).to.equal(200);
        expect(await res.text(), link).to.contain('<div id="root"></div>');
      }
    });
  });

  describe("with a record that does not validate", function () {
    it("throws naming the file and the field", async function () {
      const file = path.join(dir, "bad.json");
      writeFileSync(file, JSON.stringify({ ...DEPLOYMENT, chainId: "31337" }));
      let error: Error | undefined;
      await startExplorer({ rpcUrl: RPC_URL, deployment: file, port: 0 }).catch((e: Error) => (error = e));
      expect(error?.message).to.equal(
        `deployment record ${file}: chainId: Invalid input: expected number, received string`,
      );
    });
  });

  describe("npm run explorer", function () {
    this.timeout(90_000);

    it("exits 2 naming a missing record and how to make one", async function () {
      const missing = path.join(dir, "nowhere", "localhost.json");
      const run = await runExplorerCli(["--deployment", missing]);
      expect(run.code).to.equal(2);
      expect(run.stderr).to.contain(`cannot read deployment record ${missing}`);
      expect(run.stderr).to.contain("npm run deploy -- --network localhost");
    });

    it("refuses a port that is not one, naming the option", async function () {
      const run = await runExplorerCli(["--port", "http"]);
      expect(run.code).to.not.equal(0);
      expect(run.stderr).to.contain("--port").and.contain("a port number from 0 to 65535");
    });

    it("serves a record, warns that the node does not answer, and stops on Ctrl-C", async function () {
      const file = path.join(dir, "cli.json");
      writeFileSync(file, JSON.stringify(DEPLOYMENT));
      const run = await runExplorerCli(["--deployment", file, "--rpc", RPC_URL, "--port", "0"]);
      expect(run.url, run.stdout + run.stderr).to.be.a("string");
      expect(run.stderr + run.stdout).to.contain(`the RPC node at ${RPC_URL} is not answering`);
      expect(run.stdout).to.contain("TrustML explorer for localhost (chain 31337");
      expect(run.served).to.deep.equal({ rpcUrl: RPC_URL, deployment: DEPLOYMENT });
      expect(run.code).to.equal(0);
    });
  });
});
