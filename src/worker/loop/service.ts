/**
 * The service loop: read the escrow's events from the cursor up to head − confirmations, read the state of
 * every open job, run the roles (work, draw committees, verify, settle), save the cursor, sleep; until stopped. `startService` runs it in-process
 * (tests pass Hardhat's provider and signers); `startServiceFromConfig` builds provider, wallet and addresses
 * from a validated configuration (the CLI).
 */
import path from "node:path";
import { hexlify, JsonRpcProvider, Wallet, type Provider, type Signer } from "ethers";
import pino, { type Logger } from "pino";
import type { IJobEscrow } from "../../../typechain-types";
import { loadDeployment } from "../../../packages/sdk/src/deployment";
import { JobStatus } from "../../../packages/sdk/src/params";
import {
  addressesOf,
  chainTime,
  connect,
  EventReader,
  jobToJson,
  voteRecordOf,
  type JobRecord,
  type ProtocolAddresses,
} from "../clients/chain";
import type { Fault, Role, WorkerConfig } from "../config/config";
import { limiter, type RoleContext, type TickView } from "./context";
import { Cursor, eventKey } from "../state/cursor";
import { DrawRole } from "../roles/draw";
import { Metrics } from "./metrics";
import { ModelStore } from "../clients/models";
import { SaltStore } from "../state/salts";
import { TxSender, withRetry, type RetryOptions } from "../clients/sender";
import { startHealthServer, type HealthServer } from "./server";
import { VerifierRole } from "../roles/verifier";
import { settleTick, workerTick } from "../roles/worker";

export interface ServiceOptions {
  provider: Provider;
  signer: Signer;
  addresses: ProtocolAddresses;
  role: Role;
  fault?: Fault;
  stateDir: string;
  cacheDir: string;
  confirmations?: number;
  concurrency?: number;
  pollMs?: number;
  /** -1 (default): no server; 0: any free port. */
  port?: number;
  ipfsGateway?: string;
  maxBlockRange?: number;
  retries?: number;
  retryBaseMs?: number;
  withdrawAt?: bigint;
  settleAll?: boolean;
  fetchTimeoutMs?: number;
  maxModelBytes?: number;
  logger?: Logger;
  logLevel?: string;
  /** Print a progress line to stderr after each tick (interactive terminals). */
  progress?: boolean;
}

export interface ServiceHandle {
  address: string;
  /** The health/metrics port, when the server runs. */
  port?: number;
  metrics: Metrics;
  models: ModelStore;
  /** Ticks completed. */
  readonly ticks: number;
  health(): { ok: boolean; [k: string]: unknown };
  /** Stops after the current tick (which finishes its jobs), saves the cursor, closes everything. */
  stop(): Promise<void>;
  /** Resolves when the loop has ended. */
  done: Promise<void>;
}

const TERMINAL = new Set<number>([JobStatus.Settled, JobStatus.Rejected, JobStatus.Refunded]);

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

export async function startService(opts: ServiceOptions): Promise<ServiceHandle> {
  const provider = opts.provider;
  const address = await opts.signer.getAddress();
  const role = opts.role;
  const log = (opts.logger ?? pino({ level: opts.logLevel ?? "info" })).child({ role, account: address });
  const retries = opts.retries ?? 5;
  const retry: RetryOptions = {
    retries,
    baseDelayMs: opts.retryBaseMs ?? 500,
    onRetry: (c, attempt, delay) => log.warn({ attempt, delay, err: c.message }, "RPC error: retrying"),
  };
  const { chainId } = await withRetry(() => provider.getNetwork(), retry);
  const contracts = connect(opts.addresses, opts.signer);
  const cursor = Cursor.open<JobRecord>(
    path.join(opts.stateDir, `cursor-${address.toLowerCase()}.json`),
    chainId,
    opts.addresses.escrow,
    opts.addresses.startBlock,
  );
  const salts = SaltStore.forAccount(opts.stateDir, address);
  const metrics = new Metrics({ role, account: address });
  const fetchOpts = {
    ipfsGateway: opts.ipfsGateway ?? "https://ipfs.io",
    timeoutMs: opts.fetchTimeoutMs ?? 60_000,
    maxBytes: opts.maxModelBytes ?? 512 * 1024 * 1024,
  };
  const models = new ModelStore({ cacheDir: opts.cacheDir, ...fetchOpts });
  const confirmations = opts.confirmations ?? 1;
  const sender = new TxSender(opts.signer as unknown as ConstructorParameters<typeof TxSender>[0], {
    retries,
    baseDelayMs: opts.retryBaseMs ?? 500,
    confirmations: Math.max(1, confirmations),
    logger: log,
    onSent: (s, label) => metrics.submitSeconds.observe({ tx: label }, s),
  });
  const controller = new AbortController();
  const ctx: RoleContext = {
    provider,
    address,
    contracts,
    sender,
    deps: { registry: contracts.registry, models, fetch: fetchOpts },
    metrics,
    log,
    cursor,
    salts,
    fault: opts.fault ?? "none",
    settleAll: opts.settleAll ?? false,
    withdrawAt: opts.withdrawAt,
    signal: controller.signal,
    limit: limiter(opts.concurrency ?? 2),
  };
  const reader = new EventReader(provider, contracts.escrow, opts.addresses.escrow, opts.maxBlockRange ?? 2000, retry);
  const verifier = role === "worker" ? undefined : new VerifierRole(ctx);
  const works = role !== "verifier";
  const drawer = new DrawRole(ctx, {
    own: works,
    verifier: verifier !== undefined,
    challenged: (jobId) => verifier?.hasChallenged(jobId) ?? false,
  });
  if (ctx.fault !== "none") {
    log.warn({ fault: ctx.fault }, `FAULT INJECTION ENABLED (${ctx.fault}): this worker posts WRONG results`);
  }

  let ticks = 0;
  let lastTickAt = Date.now();
  let lastError: string | undefined;
  let failuresInRow = 0;

  /** Applies one event to the open jobs. */
  const apply = (
    name: string,
    args: Record<string, unknown> & unknown[],
    { blockNumber: block, index }: { blockNumber: number; index: number },
  ) => {
    const id = String(args[0]);
    const rec = cursor.jobs.get(id);
    switch (name) {
      case "JobRequested":
        metrics.jobsSeen.inc();
        if (!rec) {
          const job = jobToJson(args.job as IJobEscrow.JobStructOutput);
          cursor.jobs.set(id, {
            job,
            input: hexlify(args.input as string),
            inputUri: String(args.inputUri),
            relTolerance: Number(args.relTolerance),
            absTolerance: Number(args.absTolerance),
            block,
          });
          log.debug({ jobId: id, nonce: job.nonce }, "job requested");
        }
        break;
      case "JobClaimed":
        if (rec) rec.worker = String(args.worker);
        break;
      case "ResultSubmitted":
        if (rec) {
          rec.worker = String(args.worker);
          rec.output = hexlify(args.output as string);
        }
        break;
      case "CommitteeDrawn":
        if (rec) rec.committee = [...(args.committee as string[])];
        break;
      case "VoteCommitted":
        // Every commitment of the job, not only this account's: a reveal passes them all back, sealed.
        if (rec) (rec.votes ??= []).push(voteRecordOf(args.seat, args.commitment, block, index));
        break;
      case "ResultChallenged":
        if (rec) rec.challenger = String(args.challenger);
        break;
      case "JobSettled":
        cursor.jobs.delete(id);
        salts.delete(id);
        break;
    }
  };

  const readEvents = async () => {
    const head = await withRetry(() => provider.getBlockNumber(), retry);
    const to = head - confirmations;
    if (to <= cursor.block) return;
    for (const [a, b] of reader.ranges(cursor.block + 1, to)) {
      for (const ev of await reader.read(a, b)) {
        const key = eventKey(ev.log);
        if (cursor.seen(key, ev.log.blockNumber)) continue;
        apply(ev.name, ev.args as unknown as Record<string, unknown> & unknown[], ev.log);
        cursor.markProcessed(key);
      }
      cursor.advance(b);
      cursor.save();
      metrics.cursorBlock.set(b);
    }
  };

  const tick = async () => {
    await readEvents();
    const view: TickView = { now: await withRetry(() => chainTime(provider), retry), states: new Map() };
    for (const [id, rec] of [...cursor.jobs]) {
      const state = await withRetry(() => contracts.escrow.jobState(rec.job.id), retry);
      const expired =
        Number(state.status) === JobStatus.Requested && view.now > Number(rec.job.deadline) && !ctx.settleAll;
      if (TERMINAL.has(Number(state.status)) || expired) {
        // Settled (its JobSettled event may be below the confirmation depth), or expired unclaimed: nothing
        // left for this account to do (the requester's refund path applies).
        cursor.jobs.delete(id);
        salts.delete(id);
      } else view.states.set(id, state);
    }
    metrics.openJobs.set(cursor.jobs.size);
    if (works) await workerTick(ctx, view);
    await drawer.tick(view);
    if (verifier) await verifier.tick(view);
    await settleTick(ctx, view);
    cursor.save();
  };

  const progress = async () => {
    const v = (c: Parameters<Metrics["value"]>[0]) => metrics.value(c);
    const line =
      `[trustml ${role}] block ${cursor.block} | open ${cursor.jobs.size} | seen ${await v(metrics.jobsSeen)} ` +
      `computed ${await v(metrics.jobsComputed)} submitted ${await v(metrics.jobsSubmitted)} ` +
      `drawn ${await v(metrics.draws)} failed ${await v(metrics.jobsFailed)} votes ${await v(metrics.votes)} ` +
      `proofs ${await metrics.value(metrics.fraudProofs, { result: "landed" })}`;
    process.stderr.write(`\r${line.padEnd(110)}`);
  };

  const loop = async () => {
    while (!controller.signal.aborted) {
      try {
        await tick();
        ticks++;
        failuresInRow = 0;
        lastError = undefined;
        lastTickAt = Date.now();
        if (opts.progress) await progress();
      } catch (e) {
        failuresInRow++;
        lastError = (e as Error).message;
        log.error({ err: lastError, failuresInRow }, "tick failed");
      }
      await abortableSleep(opts.pollMs ?? 2000, controller.signal);
    }
  };

  const health = () => {
    const stale = Date.now() - lastTickAt > Math.max(60_000, (opts.pollMs ?? 2000) * 10);
    return {
      ok: failuresInRow < 3 && !stale && !controller.signal.aborted,
      role,
      account: address,
      block: cursor.block,
      openJobs: cursor.jobs.size,
      ticks,
      lastError,
    };
  };

  let server: HealthServer | undefined;
  const port = opts.port ?? -1;
  if (port >= 0) server = await startHealthServer(port, metrics, health);
  log.info({ block: cursor.block + 1, openJobs: cursor.jobs.size, port: server?.port }, "service started");

  const done = loop();
  let stopping: Promise<void> | undefined;
  return {
    address,
    port: server?.port,
    metrics,
    models,
    get ticks() {
      return ticks;
    },
    health,
    done,
    stop() {
      stopping ??= (async () => {
        controller.abort();
        await done;
        cursor.save();
        await server?.close();
        await models.close();
        if (opts.progress) process.stderr.write("\n");
        log.info({ block: cursor.block }, "service stopped");
      })();
      return stopping;
    },
  };
}

/** Starts the service from a validated configuration: JSON-RPC provider, wallet, deployment record. */
export async function startServiceFromConfig(
  config: WorkerConfig,
  extra: Partial<ServiceOptions> = {},
): Promise<ServiceHandle> {
  const deployment = loadDeployment(config.deployment);
  const provider = new JsonRpcProvider(config.rpcUrl, undefined, { staticNetwork: true, pollingInterval: 500 });
  const network = await withRetry(() => provider.getNetwork(), { retries: config.retries, baseDelayMs: 500 });
  if (Number(network.chainId) !== deployment.chainId) {
    throw new Error(
      `${config.rpcUrl} is chain ${network.chainId}, but ${config.deployment} is for chain ${deployment.chainId}`,
    );
  }
  const key = config.privateKey.startsWith("0x") ? config.privateKey : `0x${config.privateKey}`;
  const signer = new Wallet(key, provider);
  return startService({
    provider,
    signer,
    addresses: addressesOf(deployment),
    role: config.role,
    fault: config.fault,
    stateDir: config.stateDir,
    cacheDir: config.cacheDir,
    confirmations: config.confirmations,
    concurrency: config.concurrency,
    pollMs: config.pollMs,
    port: config.port,
    ipfsGateway: config.ipfsGateway,
    maxBlockRange: config.maxBlockRange,
    retries: config.retries,
    withdrawAt: config.withdrawAt,
    settleAll: config.settleAll,
    fetchTimeoutMs: config.fetchTimeoutMs,
    maxModelBytes: config.maxModelBytes,
    logLevel: config.logLevel,
    ...extra,
  });
}
