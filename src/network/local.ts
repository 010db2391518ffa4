/**
 * A complete local TrustML network out of real processes, for the demo (scripts/demo.ts) and the end-to-end
 * test (test/e2e.test.ts):
 *
 *   - `npx hardhat node` on 127.0.0.1 at a free port, its blocks on the wall clock (TRUSTML_WALL_CLOCK_BLOCKS);
 *   - the suite deployed to it by deployProtocol, in a child process (src/network/deploy-child.ts), with the
 *     record and the Ignition journal in the network's own directory;
 *   - the node's deterministic accounts (the test mnemonic), funded with TestToken, staked, opted in;
 *   - models written to files and registered with file:// URIs and their sha256;
 *   - worker and verifier services as child processes of the worker CLI (src/worker/cli.ts), each with its own
 *     state directory and pino log file.
 *
 * Everything runs under one directory (a new temporary one by default) and every process is stopped by
 * `stop()`, or killed when the parent exits (./processes.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import {
  HDNodeWallet,
  JsonRpcProvider,
  MaxUint256,
  Mnemonic,
  Network,
  ZeroHash,
  type ContractTransactionResponse,
  type Signer,
} from "ethers";
import type { IModelRegistry, JobEscrow, ModelRegistry, TestToken, VerifierStaking } from "../../typechain-types";
import { JobEscrow__factory, ModelRegistry__factory, TestToken__factory, VerifierStaking__factory } from "../factories";
import { encodeTensors, type Tensor } from "../../packages/sdk/src/codec";
import { loadDeployment, type Deployment } from "../../packages/sdk/src/deployment";
import { jobFromTx, type Job } from "../../packages/sdk/src/job";
import {
  DEFAULT_ESCROW_PARAMS,
  DEFAULT_MIN_VERIFIER_STAKE,
  type EscrowParams,
  type ModelTerms,
} from "../../packages/sdk/src/params";
import type { Fault, RoleName } from "../worker/config/config";
import { sha256Hex } from "../worker/clients/models";
import type { DeployRequest } from "./deploy-child";
import { freePort, ROOT, runManaged, spawnManaged, tail, waitFor, type ManagedProcess } from "./processes";
import { encodeSignature, type IoSignature } from "../../packages/sdk/src/signature";
import { currentTerms } from "../../packages/sdk/src/terms";

/** The mnemonic of `hardhat node`'s default accounts (each holds 10,000 ETH). */
export const TEST_MNEMONIC = "test test test test test test test test test test test junk";

/**
 * Escrow parameters for a local run: the defaults with windows of seconds (EscrowParamsLib allows 10 s at
 * least), so that optimistic and committee jobs settle within the demo.
 */
export const LOCAL_ESCROW_PARAMS: EscrowParams = {
  ...DEFAULT_ESCROW_PARAMS,
  submissionWindow: 30,
  challengeWindow: 10,
  commitWindow: 10,
  revealWindow: 10,
};

let accountRoot: HDNodeWallet | undefined;

/** Account `index` of the test mnemonic (m/44'/60'/0'/0/index), as `hardhat node` funds it. */
export function devWallet(index: number): HDNodeWallet {
  accountRoot ??= HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(TEST_MNEMONIC), "m/44'/60'/0'/0");
  return accountRoot.deriveChild(index);
}

const TS_NODE_REGISTER = path.join(ROOT, "node_modules", "ts-node", "register", "transpile-only.js");
const HARDHAT_CLI = path.join(ROOT, "node_modules", "hardhat", "internal", "cli", "bootstrap.js");
const WORKER_CLI = path.join(ROOT, "src", "worker", "cli.ts");
const DEPLOY_CHILD = path.join(ROOT, "src", "network", "deploy-child.ts");

/** The parent's environment without TRUSTML_* variables (children get exactly the ones they need). */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("TRUSTML_")) env[k] = v;
  return { ...env, TS_NODE_TRANSPILE_ONLY: "1", ...extra };
}

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    signal: AbortSignal.timeout(5000),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

export interface PublishOptions {
  owner: Signer;
  /** File name (without .onnx) under `<dir>/models/`. */
  name: string;
  bytes: Uint8Array;
  terms: ModelTerms;
  /** Registered instead of the bytes' sha256 (a hash mismatch). */
  contentHash?: string;
  /** Registered instead of the file's URI (an unfetchable model). */
  uri?: string;
  /** The version's weights root (an integer profile model's, or a wrong one); zero by default. */
  weightsRoot?: string;
  /** The version's declared input/output signature; none by default. */
  signature?: IoSignature;
}

export interface ServiceOptions {
  /** Names the log files, and the state directory unless `stateDir` is given. */
  name: string;
  wallet: HDNodeWallet;
  role: RoleName;
  fault?: Fault;
  /** Also settle due jobs of others (a keeper). */
  settleAll?: boolean;
  /** Default 500 ms. */
  pollMs?: number;
  /** Default `<dir>/state/<name>`; give the same one to restart a service where it stopped. */
  stateDir?: string;
  logLevel?: string;
}

/** A worker or verifier process. */
export interface ServiceProcess extends ManagedProcess {
  address: string;
  stateDir: string;
  /** The pino lines logged so far (both runs when restarted with the same name), parsed. */
  logLines(): LogLine[];
  /** Resolves when the service has logged "service started"; throws if it exits first or after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
}

export type LogLine = { level: number; msg: string; [key: string]: unknown };

/** Parses a pino log file, skipping anything that is not a JSON line (a line cut short by SIGKILL). */
export function readLogLines(file: string): LogLine[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const out: LogLine[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // partial line
    }
  }
  return out;
}

export interface LocalNetworkOptions {
  /** Working directory: logs, states, caches, models, the record. Default: a new temporary directory. */
  dir?: string;
  escrowParams?: EscrowParams;
  minVerifierStake?: bigint;
  /** Progress lines. */
  log?: (line: string) => void;
  /** For the node to answer and for the deployment, each. Default 120 s. */
  timeoutMs?: number;
}

export class LocalNetwork {
  readonly provider: JsonRpcProvider;
  readonly token: TestToken;
  readonly registry: ModelRegistry;
  readonly staking: VerifierStaking;
  readonly escrow: JobEscrow;
  readonly services = new Map<string, ServiceProcess>();
  private stopped = false;

  private constructor(
    readonly dir: string,
    readonly url: string,
    readonly node: ManagedProcess,
    readonly deploymentFile: string,
    readonly deployment: Deployment,
    private readonly log: (line: string) => void,
  ) {
    this.provider = new JsonRpcProvider(url, Network.from(deployment.chainId), {
      staticNetwork: true,
      pollingInterval: 100,
      // No cached answers: a wallet sending twice in a row must see its new nonce.
      cacheTimeout: -1,
    });
    const c = deployment.contracts;
    this.token = TestToken__factory.connect(c.token.address, this.provider);
    this.registry = ModelRegistry__factory.connect(c.registry.address, this.provider);
    this.staking = VerifierStaking__factory.connect(c.staking.address, this.provider);
    this.escrow = JobEscrow__factory.connect(c.escrow.address, this.provider);
  }

  /** Starts the node and deploys. On failure, stops what it started and throws with the logs' tails. */
  static async start(opts: LocalNetworkOptions = {}): Promise<LocalNetwork> {
    const log = opts.log ?? (() => {});
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), "trustml-local-"));
    const logDir = path.join(dir, "logs");
    mkdirSync(logDir, { recursive: true });

    const { node, url } = await startNode(logDir, timeoutMs, log);
    try {
      const deploymentFile = path.join(dir, "deployment", "localhost.json");
      const request: DeployRequest = {
        deploymentFile,
        ignitionDir: path.join(dir, "deployment", "ignition"),
        escrowParams: Object.fromEntries(
          Object.entries(opts.escrowParams ?? LOCAL_ESCROW_PARAMS).map(([k, v]) => [k, String(v)]),
        ) as DeployRequest["escrowParams"],
        minVerifierStake: String(opts.minVerifierStake ?? DEFAULT_MIN_VERIFIER_STAKE),
      };
      log(`deploying with deployProtocol (record ${deploymentFile})`);
      const started = Date.now();
      await runManaged(
        {
          name: "deploy",
          command: process.execPath,
          args: ["-r", TS_NODE_REGISTER, DEPLOY_CHILD],
          logDir,
          env: cleanEnv({
            HARDHAT_NETWORK: "localhost",
            TRUSTML_LOCAL_RPC_URL: url,
            TRUSTML_DEPLOY_REQUEST: JSON.stringify(request),
          }),
        },
        timeoutMs,
      );
      const deployment = loadDeployment(deploymentFile);
      log(`deployed in ${((Date.now() - started) / 1000).toFixed(1)} s: escrow ${deployment.contracts.escrow.address}`);
      return new LocalNetwork(dir, url, node, deploymentFile, deployment, log);
    } catch (e) {
      await node.stop(2000);
      throw e;
    }
  }

  /** Account `index` of the node, connected. */
  wallet(index: number): HDNodeWallet {
    return devWallet(index).connect(this.provider);
  }

  /** The chain's clock: the latest block's timestamp. */
  async now(): Promise<number> {
    const block = await this.provider.getBlock("latest");
    if (!block) throw new Error("the node returned no latest block");
    return block.timestamp;
  }

  /** Moves the chain's clock forward by `seconds` and mines a block. */
  async increaseTime(seconds: number): Promise<void> {
    await this.provider.send("evm_increaseTime", [seconds]);
    await this.provider.send("evm_mine", []);
  }

  /** Mints `amount` TestToken to each account (from governance) and approves the escrow and staking for it. */
  async fund(accounts: HDNodeWallet[], amount: bigint): Promise<void> {
    const governance = this.wallet(0);
    const token = this.token.connect(governance);
    for (const a of accounts) await wait(token.mint(a.address, amount));
    for (const a of accounts) {
      await wait(this.token.connect(a).approve(this.escrow, MaxUint256));
      await wait(this.token.connect(a).approve(this.staking, MaxUint256));
    }
  }

  /** Stakes `amount` for the account, and opts it in as a verifier when asked. */
  async stake(account: HDNodeWallet, amount: bigint, verifier = false): Promise<void> {
    await wait(this.staking.connect(account).stake(amount));
    if (verifier) await wait(this.staking.connect(account).setVerifier(true));
  }

  /** Writes the model to `<dir>/models/<name>.onnx` and registers it; returns the model id. */
  async publishModel(opts: PublishOptions): Promise<bigint> {
    const file = path.join(this.dir, "models", `${opts.name}.onnx`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, opts.bytes);
    const uri = opts.uri ?? pathToFileURL(file).href;
    const receipt = await wait(
      this.registry
        .connect(opts.owner)
        .registerModel(
          opts.contentHash ?? sha256Hex(opts.bytes),
          uri,
          { ...opts.terms },
          opts.weightsRoot ?? ZeroHash,
          opts.signature ? encodeSignature(opts.signature) : "0x",
        ),
    );
    for (const l of receipt.logs) {
      const parsed = this.registry.interface.parseLog(l);
      if (parsed?.name === "ModelRegistered") return parsed.args.modelId as bigint;
    }
    throw new Error(`registering ${opts.name}: no ModelRegistered event`);
  }

  /** Changes a model's terms (jobs requested from now on run under them). */
  async setTerms(owner: Signer, modelId: bigint, terms: ModelTerms): Promise<void> {
    await wait(this.registry.connect(owner).setTerms(modelId, { ...terms }));
  }

  /** Requests an inference with inline input; returns the job id. */
  async request(
    requester: Signer,
    modelId: bigint,
    input: Tensor[] | Uint8Array,
    opts: { deadlineIn?: number; terms?: IModelRegistry.JobTermsStruct } = {},
  ): Promise<bigint> {
    return BigInt((await this.requestJob(requester, modelId, input, opts)).id);
  }

  /** Requests an inference with inline input; returns the job's record (id, nonce, terms) as emitted. */
  async requestJob(
    requester: Signer,
    modelId: bigint,
    input: Tensor[] | Uint8Array,
    opts: { deadlineIn?: number; terms?: IModelRegistry.JobTermsStruct } = {},
  ): Promise<Job> {
    const deadline = BigInt((await this.now()) + (opts.deadlineIn ?? 3600));
    const bytes = input instanceof Uint8Array ? input : encodeTensors(input);
    const tx = this.escrow
      .connect(requester)
      .requestInference(modelId, opts.terms ?? (await currentTerms(this.registry, modelId)), bytes, deadline, 0);
    return jobFromTx(this.escrow, await tx);
  }

  /**
   * Starts a worker/verifier process of the worker CLI (`run`), logging pino JSON lines to
   * `<dir>/logs/<name>.log`. Restarting under the same name (and state directory) appends to the same log.
   */
  startService(opts: ServiceOptions): ServiceProcess {
    const stateDir = opts.stateDir ?? path.join(this.dir, "state", opts.name);
    const args = [
      "-r",
      TS_NODE_REGISTER,
      WORKER_CLI,
      "run",
      "--role",
      opts.role,
      "--rpc-url",
      this.url,
      "--deployment",
      this.deploymentFile,
      "--state-dir",
      stateDir,
      "--cache-dir",
      path.join(this.dir, "cache", opts.name),
      "--confirmations",
      "0",
      "--poll-ms",
      String(opts.pollMs ?? 500),
      "--port",
      "-1",
      "--log-level",
      opts.logLevel ?? "info",
    ];
    if (opts.fault) args.push("--fault", opts.fault);
    if (opts.settleAll) args.push("--settle-all");
    const proc = spawnManaged({
      name: opts.name,
      command: process.execPath,
      args,
      logDir: path.join(this.dir, "logs"),
      env: cleanEnv({ TRUSTML_PRIVATE_KEY: opts.wallet.privateKey }),
    });
    const startedBefore = readLogLines(proc.logFile).filter((l) => l.msg === "service started").length;
    const service: ServiceProcess = Object.assign(proc, {
      address: opts.wallet.address,
      stateDir,
      logLines: () => readLogLines(proc.logFile),
      ready: async (timeoutMs = 60_000) => {
        await waitFor(
          `${opts.name} to start`,
          () => {
            if (!proc.running) {
              throw new Error(`${opts.name} exited while starting:\n${tail(proc.errFile)}\n${tail(proc.logFile)}`);
            }
            return readLogLines(proc.logFile).filter((l) => l.msg === "service started").length > startedBefore;
          },
          { timeoutMs, intervalMs: 100, detail: () => tail(proc.errFile) },
        );
      },
    });
    this.services.set(opts.name, service);
    this.log(`started ${opts.name} (${opts.role}${opts.fault ? `, --fault ${opts.fault}` : ""}) pid ${proc.pid}`);
    return service;
  }

  /** Stops every service (SIGTERM, then SIGKILL after the grace period), then the node. */
  async stop(opts: { remove?: boolean; graceMs?: number } = {}): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      await Promise.all([...this.services.values()].map((s) => s.stop(opts.graceMs ?? 10_000)));
      this.provider.destroy();
      await this.node.stop(opts.graceMs ?? 10_000);
    }
    if (opts.remove) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Sends a transaction and waits for its receipt; throws when it reverted. */
export async function wait(tx: Promise<ContractTransactionResponse>) {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error("no receipt");
  return receipt;
}

/** `hardhat node --port <free port>` on 127.0.0.1; resolves once it answers eth_chainId. */
async function startNode(
  logDir: string,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<{ node: ManagedProcess; url: string }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const node = spawnManaged({
      name: attempt === 1 ? "node" : `node-${attempt}`,
      command: process.execPath,
      args: [HARDHAT_CLI, "node", "--hostname", "127.0.0.1", "--port", String(port)],
      logDir,
      env: cleanEnv({ TRUSTML_WALL_CLOCK_BLOCKS: "1" }),
    });
    const started = Date.now();
    try {
      await waitFor(
        `hardhat node on ${url}`,
        async () => {
          if (!node.running) throw new Error(`hardhat node exited:\n${tail(node.errFile)}\n${tail(node.logFile)}`);
          try {
            return (await rpc(url, "eth_chainId")) !== undefined;
          } catch {
            return false;
          }
        },
        { timeoutMs, intervalMs: 200 },
      );
      log(`hardhat node on ${url} (pid ${node.pid}), ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return { node, url };
    } catch (e) {
      await node.stop(2000);
      // Another process may have taken the port between freePort() and the node's listen: try another.
      if (attempt >= 3 || !/EADDRINUSE|exited/.test((e as Error).message)) throw e;
      log(`hardhat node did not start on ${url}; trying another port`);
    }
  }
}
