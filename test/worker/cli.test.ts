import { expect } from "chai";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ethers, network } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { Wallet } from "ethers";
import { encodeTensors } from "../../packages/sdk/src/codec";
import type { Deployment } from "../../packages/sdk/src/deployment";
import { escrowLibraryEntries } from "../../packages/sdk/src/libraries";
import { jobFromTx } from "../../packages/sdk/src/job";
import { buildMlpClassifier } from "../../src/models/build";
import { JobStatus, VerificationMode } from "../../packages/sdk/src/params";
import { ConfigError, DEFAULTS, parseConfig, serviceSettings, SETTINGS } from "../../src/worker/config/config";
import { readFileSync } from "node:fs";
import { sha256Hex } from "../../src/worker/clients/models";
import { deployProtocolFixture, STAKE } from "../fixtures/protocol";
import { currentTerms } from "../../packages/sdk/src/terms";
import { serveJsonRpc, type RpcServer } from "../fixtures/rpc";

const ROOT = path.join(__dirname, "..", "..");
const CLI = path.join(ROOT, "src", "worker", "cli.ts");
const TS_NODE = path.join(ROOT, "node_modules", ".bin", "ts-node");
const KEY = "0x" + "11".repeat(32);

describe("worker configuration and command line", function () {
  this.timeout(60_000);

  it("validates the configuration, naming the variable or flag at fault", function () {
    const env = { TRUSTML_RPC_URL: "http://127.0.0.1:8545", TRUSTML_PRIVATE_KEY: KEY, TRUSTML_DEPLOYMENT: "d.json" };
    const cfg = parseConfig(env, { role: "both", pollMs: "250" });
    expect(cfg).to.include({ role: "both", pollMs: 250, confirmations: 1, fault: "none", port: 9464 });
    expect(cfg.withdrawAt).to.equal(undefined);
    expect(parseConfig({ ...env, TRUSTML_WITHDRAW_AT: "5" }).withdrawAt).to.equal(5n);
    const bad = (e: Record<string, string>, o = {}) => {
      try {
        parseConfig({ ...env, ...e }, o);
      } catch (err) {
        expect(err).to.be.instanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error("expected a ConfigError");
    };
    expect(bad({ TRUSTML_RPC_URL: "" })).to.equal("invalid configuration: TRUSTML_RPC_URL is required");
    expect(bad({ TRUSTML_PRIVATE_KEY: "0x1234" })).to.match(/^invalid configuration: TRUSTML_PRIVATE_KEY must be/);
    expect(bad({ TRUSTML_PRIVATE_KEY: "0x1234" })).to.not.include("1234");
    expect(bad({ TRUSTML_CONFIRMATIONS: "-1" })).to.match(/TRUSTML_CONFIRMATIONS must be at least 0/);
    expect(bad({}, { role: "miner" })).to.match(/^invalid configuration: --role must be one of worker, verifier, both/);
    expect(bad({ TRUSTML_FAULT: "evil" })).to.match(/TRUSTML_FAULT must be one of none, wrong-output/);
  });

  it("has one table: .env.example documents every variable with its default, --help lists every flag", function () {
    const example = readFileSync(path.join(ROOT, ".env.example"), "utf8");
    for (const [key, s] of Object.entries(SETTINGS)) {
      const line = example.split("\n").find((l) => l.startsWith(`${s.env}=`));
      expect(line, `${s.env} in .env.example`).to.not.equal(undefined);
      const d = DEFAULTS[key as keyof typeof DEFAULTS];
      if (d !== undefined && key !== "rpcUrl") expect(line, s.env).to.equal(`${s.env}=${String(d)}`);
    }
    const help = spawnSync(TS_NODE, [CLI, "run", "--help"], {
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1" },
      encoding: "utf8",
    });
    for (const s of Object.values(SETTINGS)) {
      const flag = "flag" in s ? s.flag : undefined;
      if (flag && (s.commands as readonly string[]).includes("run")) expect(help.stdout).to.include(flag.split(" ")[0]);
    }
    expect(help.stdout).to.not.include("--private-key");
    // An in-process service takes the same defaults, validated by the same schema.
    expect(serviceSettings({ role: "verifier" })).to.include({
      role: "verifier",
      pollMs: 2000,
      port: 9464,
      host: "127.0.0.1",
    });
    expect(() => serviceSettings({ concurrency: 0 })).to.throw(ConfigError, "concurrency must be at least 1");
  });

  it("a bad configuration exits non-zero with one line", function () {
    const r = spawnSync(TS_NODE, [CLI, "run", "--role", "both"], {
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1", TRUSTML_RPC_URL: "not a url" },
      encoding: "utf8",
    });
    expect(r.status).to.equal(2);
    expect(r.stderr.trim().split("\n")).to.deep.equal([
      "invalid configuration: TRUSTML_RPC_URL must be an http(s):// URL",
    ]);
  });

  describe("as a child process against a JSON-RPC node", function () {
    let rpc: RpcServer;
    let dir: string;
    let child: ChildProcess | undefined;

    before(async function () {
      rpc = await serveJsonRpc();
      dir = mkdtempSync(path.join(os.tmpdir(), "trustml-cli-"));
    });

    after(async function () {
      child?.kill("SIGKILL");
      await rpc.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("works a job, then exits cleanly on SIGTERM; verify-job re-checks it by its id", async function () {
      const p = await deployProtocolFixture();
      const mlp = buildMlpClassifier();
      const file = path.join(dir, "mlp.onnx");
      writeFileSync(file, mlp);
      await p.registry.connect(p.modelOwner).registerModel(
        sha256Hex(mlp),
        pathToFileURL(file).href,
        {
          price: ethers.parseEther("2"),
          mode: VerificationMode.None,
          committeeSize: 1,
          royaltyBps: 0,
          relTolerance: 0,
          absTolerance: 0,
        },
        ethers.ZeroHash,
        "0x",
      );
      const modelId = await p.registry.modelCount();
      const wallet = Wallet.createRandom();
      await network.provider.send("hardhat_setBalance", [wallet.address, "0x56BC75E2D63100000"]);
      await p.token.connect(p.governance).mint(wallet.address, STAKE);
      const signer = wallet.connect(ethers.provider);
      await p.token.connect(signer).approve(p.staking, STAKE);
      await p.staking.connect(signer).stake(STAKE);

      const chainId = Number((await ethers.provider.getNetwork()).chainId);
      const c = async (x: { getAddress(): Promise<string> }) => ({ address: await x.getAddress() });
      const deployment: Deployment = {
        network: "hardhat",
        chainId,
        compiler: "0.8.28",
        deployer: p.governance.address,
        governance: p.governance.address,
        treasury: p.treasury.address,
        startBlock: (await ethers.provider.getBlockNumber()) - 5,
        testToken: true,
        contracts: {
          token: await c(p.token),
          registry: await c(p.registry),
          staking: await c(p.staking),
          escrow: await c(p.escrow),
          randomness: await c(p.randomness),
          // The worker reads no library: any address will do.
          ...escrowLibraryEntries(() => ({ address: ethers.ZeroAddress })),
        },
        params: {},
        minVerifierStake: "0",
        unbondingPeriod: 1,
        deployedAt: new Date().toISOString(),
      };
      const deploymentFile = path.join(dir, "hardhat.json");
      writeFileSync(deploymentFile, JSON.stringify(deployment));

      const input = encodeTensors([
        { name: "features", type: "float32", shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) },
      ]);
      const deadline = BigInt(await time.latest()) + 3600n;
      const tx = await p.escrow
        .connect(p.requester)
        .requestInference(modelId, await currentTerms(p.registry, modelId), input, deadline, 0);
      const job = await jobFromTx(p.escrow, tx);
      const jobId = BigInt(job.id);
      expect(job.nonce).to.equal(await p.escrow.jobCount());
      const rpcUrl = rpc.url;

      let stderr = "";
      let stdout = "";
      child = spawn(TS_NODE, [CLI, "run", "--role", "worker", "--port", "-1"], {
        env: {
          ...process.env,
          TS_NODE_TRANSPILE_ONLY: "1",
          TRUSTML_RPC_URL: rpcUrl,
          TRUSTML_PRIVATE_KEY: wallet.privateKey,
          TRUSTML_DEPLOYMENT: deploymentFile,
          TRUSTML_STATE_DIR: path.join(dir, "state"),
          TRUSTML_CACHE_DIR: path.join(dir, "cache"),
          TRUSTML_CONFIRMATIONS: "0",
          TRUSTML_POLL_MS: "100",
        },
      });
      child.stderr!.on("data", (d) => (stderr += d));
      child.stdout!.on("data", (d) => (stdout += d));
      const exited = new Promise<number | null>((r) => child!.on("exit", (code) => r(code)));
      const end = Date.now() + 30_000;
      while (Number((await p.escrow.jobState(jobId)).status) !== JobStatus.Settled) {
        if (Date.now() > end) throw new Error(`the child did not settle the job:\n${stderr}\n${stdout}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      child.kill("SIGTERM");
      expect(await exited).to.equal(0, stderr);
      child = undefined;
      const lines = stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      const submitted = lines.find((l) => l.msg === "result submitted");
      expect(submitted).to.include({ jobId: ethers.toBeHex(jobId, 32) }); // as the tools print it
      expect(submitted.txHash).to.match(/^0x[0-9a-f]{64}$/);
      expect(lines.at(-1).msg).to.equal("service stopped");

      // verify-job takes the 256-bit id in decimal as well as in hex, and prints it as 0x and 64 hex digits, as
      // every tool does.
      const verify = spawn(TS_NODE, [CLI, "verify-job", jobId.toString(), "--json"], {
        env: {
          ...process.env,
          TS_NODE_TRANSPILE_ONLY: "1",
          TRUSTML_RPC_URL: rpcUrl,
          TRUSTML_DEPLOYMENT: deploymentFile,
          TRUSTML_CACHE_DIR: path.join(dir, "verify-cache"),
        },
      });
      let json = "";
      let verifyErr = "";
      verify.stdout.on("data", (d) => (json += d));
      verify.stderr.on("data", (d) => (verifyErr += d));
      const code = await new Promise<number | null>((r) => verify.on("exit", r));
      expect(code).to.equal(0, verifyErr);
      const verdict = JSON.parse(json);
      expect(verdict).to.include({ jobId: ethers.toBeHex(jobId, 32), verdict: "correct", status: "Settled" });
      expect(verdict.record).to.deep.equal({ nonce: String(job.nonce), hashOk: true });
    });

    it("verify-job refuses an id that is not a 256-bit number", function () {
      const r = spawnSync(TS_NODE, [CLI, "verify-job", (2n ** 256n).toString()], {
        env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1" },
        encoding: "utf8",
      });
      expect(r.status).to.equal(2);
      expect(r.stderr.trim()).to.match(/^invalid job id "\d+": expected a 256-bit number, decimal or 0x-hex$/);
    });
  });
});
