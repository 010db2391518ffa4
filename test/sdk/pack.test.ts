/**
 * @trustml/sdk as an integrator gets it: `npm pack` (its prepack builds dist/), the tarball installed into a scratch
 * project outside the repository with ethers and onnxruntime-node (the optional peer that `verify` needs), and
 * docs/examples/request.ts, the script of docs/INTEGRATORS.md, compiled there against the installed declarations
 * and run by plain Node against a local chain: a `hardhat node` with the protocol deployed and a worker process for
 * a model with a declared signature (src/network, as in the end-to-end test). The script requests, waits and
 * verifies; the test checks what it prints against the chain and against ONNX Runtime run here.
 *
 * Nothing is skipped when something is missing: no npm registry (a first run fetches the dependencies' metadata;
 * later runs read npm's cache, `--prefer-offline`), no worker or no node fail the test.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { keccak256, parseEther } from "ethers";
import { encodeTensors } from "../../packages/sdk/src/codec";
import { loadModel, runModel } from "../../packages/sdk/src/onnx";
import { VerificationMode, type ModelTerms } from "../../packages/sdk/src/params";
import { tensorsFromJson } from "../../packages/sdk/src/tensor-json";
import { buildMlpClassifier } from "../../src/models/build";
import { LocalNetwork, ROOT, runManaged } from "../../src/network";
import { MLP_SIGNATURE } from "../fixtures/client";
import { underCoverage } from "../fixtures/coverage";

const SDK_DIR = path.join(ROOT, "packages", "sdk");
const EXAMPLE = path.join(ROOT, "docs", "examples", "request.ts");
const TSC = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
/** A tarball over this is carrying something it should not (it was 70 kB when this bound was set). */
const MAX_PACKED_BYTES = 150_000;

const PRICE = parseEther("1");
const TERMS: ModelTerms = {
  price: PRICE,
  mode: VerificationMode.None,
  committeeSize: 1,
  royaltyBps: 500,
  relTolerance: 10_000,
  absTolerance: 1000,
};
/** Tokens the requester holds, and what the script deposits before its request. */
const FUNDS = 10n * PRICE;
const DEPOSIT = 3n * PRICE;

/** What `npm pack --json` reports of one tarball. */
interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

/** What the example prints on stdout. */
interface ScriptOutput {
  jobId: string;
  status: string;
  outcome?: string;
  worker?: string;
  input: unknown;
  output: unknown;
  verified: boolean;
  reason: string | null;
  balance: string;
}

/** This environment without npm's own variables (a nested npm would act on the repository's package) and TRUSTML_*. */
function outsideEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const npmOwn =
    /^(npm_(?!config_)|npm_config_(local_prefix|prefix|global_prefix|workspaces?|include_workspace_root)$|INIT_CWD$)/;
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!npmOwn.test(k) && !k.startsWith("TRUSTML_")) env[k] = v;
  return { ...env, ...extra };
}

/** The files under `dir`, relative to it, with forward slashes. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join("/"))
    .sort();
}

/** The version of a package installed in the repository, so that the scratch install finds it in npm's cache. */
const repoVersion = (name: string): string =>
  (JSON.parse(readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string })
    .version;

describe("@trustml/sdk packed, installed outside the repository, and used from plain Node", function () {
  this.timeout(600_000);

  let scratch: string;
  let net: LocalNetwork | undefined;
  let packed: Packed;
  let modelId: bigint;
  let failed = false;
  const mlpBytes = buildMlpClassifier();

  /**
   * Runs a command to completion in `cwd`, its output in `<scratch>/logs/<name>.log` and `.err.log`; returns its
   * stdout. Throws with the logs' tails when it fails.
   */
  async function run(
    name: string,
    command: string,
    args: string[],
    cwd: string,
    env = outsideEnv(),
    timeoutMs = 300_000,
  ) {
    const logDir = path.join(scratch, "logs");
    await runManaged({ name, command, args, cwd, env, logDir }, timeoutMs);
    return readFileSync(path.join(logDir, `${name}.log`), "utf8");
  }

  /** Packs the SDK into the scratch project, installs the tarball there and compiles the example against it. */
  async function packAndInstall(): Promise<void> {
    writeFileSync(
      path.join(scratch, "package.json"),
      JSON.stringify({ name: "trustml-integrator", version: "0.0.0", private: true }, null, 2),
    );
    // As the repository's .npmrc: onnxruntime-node's install script would download CUDA binaries otherwise.
    writeFileSync(path.join(scratch, ".npmrc"), "onnxruntime-node-install=skip\n");
    const stdout = await run("pack", "npm", ["pack", "--json", "--pack-destination", scratch], SDK_DIR);
    [packed] = JSON.parse(stdout) as Packed[];
    await run(
      "install",
      "npm",
      [
        "install",
        path.join(scratch, packed.filename),
        `ethers@${repoVersion("ethers")}`,
        `onnxruntime-node@${repoVersion("onnxruntime-node")}`,
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
      ],
      scratch,
    );
    // Compiled as an integrator's TypeScript project would compile it: Node's module resolution, which reads the
    // package's `exports` and their declarations; the compiler is the repository's, the types are the scratch's.
    cpSync(EXAMPLE, path.join(scratch, "request.ts"));
    writeFileSync(
      path.join(scratch, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "es2022",
          module: "node16",
          strict: true,
          // The declarations' own consistency is tsc's when it built them; checking every library's again (ethers,
          // ONNX Runtime, protobufjs) would triple this step's 5 s of CPU.
          skipLibCheck: true,
          outDir: "out",
          types: ["node"],
        },
        files: ["request.ts"],
      }),
    );
    await run("tsc", process.execPath, [TSC, "-p", "tsconfig.json"], scratch);
  }

  /** Starts the chain, a funded requester, a staked worker process and the model with its signature. */
  async function startNetwork(): Promise<void> {
    net = await LocalNetwork.start({ dir: path.join(scratch, "chain") });
    const worker = net.startService({ name: "worker", wallet: net.wallet(3), role: "worker", pollMs: 300 });
    await net.fund([net.wallet(3)], parseEther("1000"));
    await net.stake(net.wallet(3), parseEther("500"));
    // The requester holds tokens and nothing else: the client approves the escrow as it needs.
    await (await net.token.connect(net.wallet(0)).mint(net.wallet(2).address, FUNDS)).wait();
    modelId = await net.publishModel({
      owner: net.wallet(1),
      name: "mlp",
      bytes: mlpBytes,
      terms: TERMS,
      signature: MLP_SIGNATURE,
    });
    await worker.ready(180_000);
  }

  before(async function () {
    if (underCoverage()) {
      console.log("    skipped under coverage: its contracts run uninstrumented on a node of their own");
      this.skip();
    }
    scratch = mkdtempSync(path.join(os.tmpdir(), "trustml-pack-"));
    mkdirSync(path.join(scratch, "logs"));
    await Promise.all([packAndInstall(), startNetwork()]);
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });

  after(async function () {
    await net?.stop({ graceMs: 5000 });
    if (scratch === undefined) return;
    if (failed) console.log(`    kept the scratch project and its logs in ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  });

  describe("the tarball", function () {
    it("holds exactly dist/ (a .js and a .d.ts per source file), package.json and README.md", function () {
      const sources = filesUnder(path.join(SDK_DIR, "src")).map((f) => f.replace(/\.ts$/, ""));
      const expected = [
        "README.md",
        "package.json",
        ...sources.flatMap((f) => [`dist/${f}.d.ts`, `dist/${f}.js`]),
      ].sort();
      expect(packed.files.map((f) => f.path).sort()).to.deep.equal(expected);
      expect(expected).to.include.members(["dist/index.js", "dist/index.d.ts", "dist/onnx.js", "dist/onnx.d.ts"]);
      expect(packed.size, `${packed.filename}: ${packed.size} bytes`).to.be.below(MAX_PACKED_BYTES);
    });

    it("imports nothing but Node's modules, its own files and its declared dependencies (no typechain-types)", function () {
      const installed = path.join(scratch, "node_modules", "@trustml", "sdk");
      const manifest = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8")) as {
        dependencies: Record<string, string>;
        peerDependencies: Record<string, string>;
      };
      const declared = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)]);
      const builtins = new Set(builtinModules);
      const specifier = /(?:require\(|import\(|from )"([^"]+)"/g;
      for (const file of filesUnder(path.join(installed, "dist"))) {
        const text = readFileSync(path.join(installed, "dist", file), "utf8");
        expect(text, file).not.to.include("typechain-types");
        for (const [, name] of text.matchAll(specifier)) {
          const ok =
            name.startsWith("./") ||
            name.startsWith("../") ||
            builtins.has(name.replace(/^node:/, "")) ||
            declared.has(
              name
                .split("/")
                .slice(0, name.startsWith("@") ? 2 : 1)
                .join("/"),
            );
          expect(ok, `${file} imports ${name}`).to.equal(true);
        }
      }
    });
  });

  describe("installed in a project of its own", function () {
    it("loads from CommonJS without loading ONNX Runtime, and from ESM with named exports and ./onnx", async function () {
      const cjs = await run(
        "commonjs",
        process.execPath,
        [
          "-e",
          `const sdk = require("@trustml/sdk");
           const ort = Object.keys(require.cache).some((f) => f.includes("onnxruntime"));
           console.log(JSON.stringify({ client: typeof sdk.TrustMLClient, codec: typeof sdk.encodeTensors, ort }));`,
        ],
        scratch,
      );
      expect(JSON.parse(cjs)).to.deep.equal({ client: "function", codec: "function", ort: false });
      const esm = await run(
        "esm",
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `import { TrustMLClient, TrustMLError, decodeTensors } from "@trustml/sdk";
           import { loadModel, runModel } from "@trustml/sdk/onnx";
           console.log(JSON.stringify([TrustMLClient, TrustMLError, decodeTensors, loadModel, runModel].map((f) => typeof f)));`,
        ],
        scratch,
      );
      expect(JSON.parse(esm)).to.deep.equal(["function", "function", "function", "function", "function"]);
    });

    it("runs the integrator's script: deposit, request, wait, decode and verify against a worker over JSON-RPC", async function () {
      const requester = net!.wallet(2);
      const env = outsideEnv({
        TRUSTML_RPC_URL: net!.url,
        TRUSTML_PRIVATE_KEY: requester.privateKey,
        TRUSTML_DEPLOYMENT: net!.deploymentFile,
        MODEL_ID: modelId.toString(),
        MODEL_FILE: path.join(net!.dir, "models", "mlp.onnx"),
        DEPOSIT: DEPOSIT.toString(),
      });
      const printed = JSON.parse(
        await run("request", process.execPath, [path.join("out", "request.js")], scratch, env, 180_000),
      ) as ScriptOutput;

      expect(printed).to.deep.include({
        status: "Settled",
        outcome: "Accepted",
        worker: net!.wallet(3).address,
        verified: true,
        reason: null,
      });
      // The output it decoded is ONNX Runtime's, run here, on the input it sent, bit for bit.
      const input = tensorsFromJson(printed.input);
      const expected = await runModel(await loadModel(mlpBytes), input);
      expect(encodeTensors(tensorsFromJson(printed.output))).to.deep.equal(encodeTensors(expected));
      // The job on chain is the script's: its requester, its model and its input.
      const [requested] = await net!.escrow.queryFilter(net!.escrow.filters.JobRequested(BigInt(printed.jobId)));
      expect(requested.args.requester).to.equal(requester.address);
      expect(requested.args.modelId).to.equal(modelId);
      expect(requested.args.job.inputHash).to.equal(keccak256(encodeTensors(input)));
      // The fee came out of the deposit: the requester's tokens moved once, by the deposit.
      expect(printed.balance).to.equal((DEPOSIT - PRICE).toString());
      expect(await net!.escrow.balanceOf(requester.address)).to.equal(DEPOSIT - PRICE);
      expect(await net!.token.balanceOf(requester.address)).to.equal(FUNDS - DEPOSIT);
    });
  });
});

describe("docs/INTEGRATORS.md and packages/sdk/README.md", function () {
  const read = (...parts: string[]) => readFileSync(path.join(ROOT, ...parts), "utf8");
  const blocks = (markdown: string): string[] => [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);

  it("INTEGRATORS.md shows docs/examples/request.ts whole, as the pack test runs it", function () {
    expect(blocks(read("docs", "INTEGRATORS.md"))).to.include(read("docs", "examples", "request.ts"));
  });

  it("every TypeScript block of the package's README is an excerpt of that script (indentation aside)", function () {
    const dedent = (text: string) => text.replace(/^[ ]+/gm, "");
    const script = dedent(read("docs", "examples", "request.ts"));
    const excerpts = blocks(read("packages", "sdk", "README.md"));
    expect(excerpts).to.have.length.greaterThan(0);
    for (const excerpt of excerpts) expect(script, excerpt).to.include(dedent(excerpt));
  });
});
