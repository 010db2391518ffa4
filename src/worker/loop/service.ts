/**
 * The service: one account following one escrow. Its lifecycle is `Service.init` (validate the settings, connect,
 * open the cursor and stores, build the roles) → `run` (the loop, until stopped) → `stop` (finish the current tick,
 * save the cursor, close the server and stores). Each tick reads the escrow's new events into the job records
 * (ingest.ts, through the pure reducer), reads this tick's view of the chain, and runs the roles in order.
 *
 * `startService` does init and run for an in-process service (tests pass Hardhat's provider and signers);
 * `startServiceFromConfig` builds provider, wallet and addresses from a validated configuration (the CLI).
 */
import path from "node:path";
import { JsonRpcProvider, parseUnits, Wallet, type Provider, type Signer } from "ethers";
import pino, { type Logger } from "pino";
import pLimit from "p-limit";
import { loadDeployment } from "../../../packages/sdk/src/deployment";
import { formatJobId } from "../../../packages/sdk/src/job";
import { addressesOf, connect, type JobRecord, type ProtocolAddresses } from "../clients/chain";
import { EventReader } from "../clients/events";
import { useNativeKeccak } from "../clients/keccak";
import { FetchBackoff, ModelStore, type FetchOptions } from "../clients/models";
import { TxSender, withRetry, type RetryOptions } from "../clients/sender";
import { serviceSettings, type ServiceSettings, type WorkerConfig } from "../config/config";
import { rolesFor, type Role } from "../roles/role";
import { Cursor } from "../state/cursor";
import { SaltStore } from "../state/salts";
import type { RoleContext } from "./context";
import { ingest, viewOf } from "./ingest";
import { Metrics } from "./metrics";
import { startHealthServer, type Health, type HealthServer } from "./server";

/** What an in-process service is given: how to reach the chain and sign, and any settings besides the defaults. */
export type ServiceOptions = { [K in keyof ServiceSettings]?: ServiceSettings[K] } & {
  provider: Provider;
  signer: Signer;
  addresses: ProtocolAddresses;
  role: ServiceSettings["role"];
  logger?: Logger;
  /** Print a progress line to stderr after each tick (interactive terminals). */
  progress?: boolean;
};

export interface ServiceHandle {
  address: string;
  /** The health/metrics port, when the server runs. */
  port?: number;
  metrics: Metrics;
  models: ModelStore;
  /** Ticks completed. */
  readonly ticks: number;
  health(): Health;
  /** Stops after the current tick (which finishes its jobs), saves the cursor, closes everything. */
  stop(): Promise<void>;
  /** Resolves when the loop has ended. */
  done: Promise<void>;
}

/** The longest wait between failed ticks (unless the poll interval is longer). */
const MAX_TICK_BACKOFF_MS = 30_000;

/** A job id as every tool prints it (0x and 64 hex digits); anything else as it is. */
function hexJobId(id: unknown): unknown {
  if (typeof id !== "string" && typeof id !== "bigint" && typeof id !== "number") return id;
  try {
    return formatJobId(BigInt(id));
  } catch {
    return id;
  }
}

/** Log fields that hold job ids, written as the tasks and verify-job print them, so an id can be searched for. */
const JOB_ID_SERIALIZERS = {
  jobId: hexJobId,
  jobIds: (ids: unknown) => (Array.isArray(ids) ? ids.map(hexJobId) : ids),
};

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

export class Service implements ServiceHandle {
  private ticksDone = 0;
  private lastTickAt = Date.now();
  private lastError: string | undefined;
  private failuresInRow = 0;
  /** Whether the last tick read new events: the next one starts at once, not after the poll interval. */
  private busy = false;
  private server: HealthServer | undefined;
  private stopping: Promise<void> | undefined;
  private running: Promise<void> | undefined;

  private constructor(
    private readonly settings: ServiceSettings,
    private readonly ctx: RoleContext,
    private readonly reader: EventReader,
    private readonly roles: Role[],
    private readonly controller: AbortController,
    private readonly progressLine: boolean,
    /** Which Keccak-256 ethers uses in this process (clients/keccak.ts). */
    private readonly keccak: "native" | "javascript",
  ) {}

  /** Connects and opens everything the loop needs; nothing is sent yet. */
  static async init(opts: ServiceOptions): Promise<Service> {
    const { provider, signer, addresses, logger, progress, ...given } = opts;
    const settings = serviceSettings(given);
    const keccak = useNativeKeccak();
    const address = await signer.getAddress();
    const log = (logger ?? pino({ level: settings.logLevel })).child(
      { role: settings.role, account: address },
      { serializers: JOB_ID_SERIALIZERS },
    );
    const metrics = new Metrics({ role: settings.role, account: address });
    const retry: RetryOptions = {
      retries: settings.retries,
      baseDelayMs: settings.retryBaseMs,
      onRetry: (c, attempt, delay) => {
        metrics.rpcErrors.inc({ kind: c.kind });
        log.warn({ attempt, delay, err: c.message }, "RPC error: retrying");
      },
    };
    const { chainId } = await withRetry(() => provider.getNetwork(), retry);
    const contracts = connect(addresses, signer);
    const cursor = Cursor.open<JobRecord>(
      path.join(settings.stateDir, `cursor-${address.toLowerCase()}.json`),
      chainId,
      addresses.escrow,
      addresses.startBlock,
      // Hashes and an undo journal for a reorganisation well deeper than the confirmations.
      { history: Math.max(64, settings.confirmations + 32) },
    );
    if (cursor.migratedFrom !== undefined) {
      log.info(
        { file: cursor.file, from: cursor.migratedFrom },
        "cursor file upgraded (block hashes kept from now on)",
      );
    }
    const fetch: FetchOptions = {
      ipfsGateway: settings.ipfsGateway,
      timeoutMs: settings.fetchTimeoutMs,
      maxBytes: settings.maxModelBytes,
      retries: settings.retries,
      retryBaseMs: settings.retryBaseMs,
      backoff: new FetchBackoff(),
      onRetry: (uri, attempt, delay, err) => log.warn({ uri, attempt, delay, err }, "fetch failed: retrying"),
    };
    const models = new ModelStore({ cacheDir: settings.cacheDir, ...fetch });
    const sender = new TxSender(signer as unknown as ConstructorParameters<typeof TxSender>[0], {
      retries: settings.retries,
      baseDelayMs: settings.retryBaseMs,
      confirmations: Math.max(1, settings.confirmations),
      logger: log,
      maxInFlight: settings.maxInFlight,
      receiptTimeoutMs: settings.receiptTimeoutMs,
      receiptPollMs: Math.min(1000, settings.pollMs),
      maxReplacements: settings.maxReplacements,
      maxFeePerGas: settings.maxFeeGwei === undefined ? undefined : parseUnits(String(settings.maxFeeGwei), "gwei"),
      onSent: (s, label) => metrics.submitSeconds.observe({ tx: label }, s),
      onOutcome: (label, result) => metrics.transactions.inc({ tx: label, result }),
      onReplaced: (label) => metrics.replacements.inc({ tx: label }),
    });
    metrics.countInFlight(() => sender.inFlight);
    const controller = new AbortController();
    const reader = new EventReader(provider, contracts.escrow, addresses.escrow, settings.maxBlockRange, retry);
    const ctx: RoleContext = {
      provider,
      address,
      contracts,
      sender,
      deps: {
        registry: contracts.registry,
        models,
        fetch,
        logs: { reader: reader.logs, fromBlock: addresses.startBlock },
      },
      metrics,
      log,
      retry,
      logs: reader.logs,
      cursor,
      salts: SaltStore.forAccount(settings.stateDir, address),
      fault: settings.fault,
      settleAll: settings.settleAll,
      maxBatch: settings.maxBatch,
      withdrawAt: settings.withdrawAt,
      signal: controller.signal,
      limit: pLimit(settings.concurrency),
    };
    if (ctx.fault !== "none") {
      log.warn({ fault: ctx.fault }, `FAULT INJECTION ENABLED (${ctx.fault}): this worker posts WRONG results`);
    }
    return new Service(settings, ctx, reader, rolesFor(settings.role, ctx), controller, progress === true, keccak);
  }

  get address(): string {
    return this.ctx.address;
  }
  get port(): number | undefined {
    return this.server?.port;
  }
  get metrics(): Metrics {
    return this.ctx.metrics;
  }
  get models(): ModelStore {
    return this.ctx.deps.models;
  }
  get ticks(): number {
    return this.ticksDone;
  }
  get done(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  /** Starts the health server (when a port is set) and the loop; resolves once both are running. */
  async run(): Promise<void> {
    if (this.running) return;
    const { settings, ctx } = this;
    if (settings.port >= 0) {
      this.server = await startHealthServer(settings.port, ctx.metrics, () => this.health(), settings.host);
    }
    ctx.log.info(
      {
        block: ctx.cursor.block + 1,
        openJobs: ctx.cursor.jobs.size,
        host: settings.host,
        port: this.server?.port,
        keccak: this.keccak,
      },
      "service started",
    );
    this.running = this.loop();
  }

  /** One tick: new events into the records, this tick's view of the chain, then every role in turn. */
  async tick(): Promise<void> {
    const { ctx } = this;
    const end = ctx.metrics.tickSeconds.startTimer();
    this.busy = (await ingest(ctx, this.reader, this.settings.confirmations)) > 0;
    const view = await viewOf(ctx);
    for (const role of this.roles) await role.tick(view);
    ctx.cursor.save();
    end();
  }

  health(): Health {
    const stale = Date.now() - this.lastTickAt > Math.max(60_000, this.settings.pollMs * 10);
    return {
      ok: this.failuresInRow < 3 && !stale && !this.controller.signal.aborted,
      role: this.settings.role,
      account: this.address,
      block: this.ctx.cursor.block,
      openJobs: this.ctx.cursor.jobs.size,
      ticks: this.ticksDone,
      lastError: this.lastError,
    };
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const { ctx } = this;
      this.controller.abort();
      await this.done;
      for (const role of this.roles) await role.drain?.();
      ctx.cursor.save();
      await this.server?.close();
      await ctx.deps.models.close();
      if (this.progressLine) process.stderr.write("\n");
      ctx.log.info({ block: ctx.cursor.block }, "service stopped");
    })();
    return this.stopping;
  }

  private async loop(): Promise<void> {
    const { signal } = this.controller;
    while (!signal.aborted) {
      try {
        await this.tick();
        this.ticksDone++;
        this.failuresInRow = 0;
        this.lastError = undefined;
        this.lastTickAt = Date.now();
        if (this.progressLine) await this.progress();
      } catch (e) {
        this.failuresInRow++;
        this.lastError = (e as Error).message;
        const retryInMs = this.pause();
        this.ctx.log.error({ err: this.lastError, failuresInRow: this.failuresInRow, retryInMs }, "tick failed");
      }
      await abortableSleep(this.busy && this.failuresInRow === 0 ? 0 : this.pause(), signal);
    }
  }

  /**
   * The wait before the next tick: the poll interval, doubled for each tick failed in a row (its reads already
   * retried with backoff) up to 30 s, so that an endpoint that is down is not asked again at once.
   */
  private pause(): number {
    const { pollMs } = this.settings;
    return Math.min(Math.max(pollMs, MAX_TICK_BACKOFF_MS), pollMs * 2 ** Math.min(this.failuresInRow, 16));
  }

  private async progress(): Promise<void> {
    const { metrics, cursor } = this.ctx;
    const v = (c: Parameters<Metrics["value"]>[0]) => metrics.value(c);
    const line =
      `[trustml ${this.settings.role}] block ${cursor.block} | open ${cursor.jobs.size} | seen ${await v(metrics.jobsSeen)} ` +
      `computed ${await v(metrics.jobsComputed)} submitted ${await v(metrics.jobsSubmitted)} ` +
      `drawn ${await v(metrics.draws)} failed ${await v(metrics.jobsFailed)} votes ${await v(metrics.votes)} ` +
      `proofs ${await metrics.value(metrics.fraudProofs, { result: "landed" })}`;
    process.stderr.write(`\r${line.padEnd(110)}`);
  }
}

/** Initialises a service and starts its loop. */
export async function startService(opts: ServiceOptions): Promise<ServiceHandle> {
  const service = await Service.init(opts);
  await service.run();
  return service;
}

/** How the service's JSON-RPC provider is made (the benchmark makes its "worker's provider" the same way). */
export const PROVIDER_OPTIONS = { staticNetwork: true, pollingInterval: 500, batchStallTime: 2 } as const;

/** Starts the service from a validated configuration: JSON-RPC provider, wallet, deployment record. */
export async function startServiceFromConfig(
  config: WorkerConfig,
  extra: Partial<ServiceOptions> = {},
): Promise<ServiceHandle> {
  const { rpcUrl, privateKey, deployment: file, ...settings } = config;
  const deployment = loadDeployment(file);
  // Calls issued together go out as one JSON-RPC batch (up to ethers' 100 a batch): a tick reads every open job in
  // one round trip. ethers holds each call batchStallTime ms to collect a batch, 10 ms by default, which every
  // sequential call pays; the reads a tick batches are issued within the same turn of the event loop, so 2 ms
  // collects them all (measured: 50 open jobs, 1 HTTP request at 1 ms as at 10 ms).
  const provider = new JsonRpcProvider(rpcUrl, undefined, PROVIDER_OPTIONS);
  const network = await withRetry(() => provider.getNetwork(), {
    retries: config.retries,
    baseDelayMs: config.retryBaseMs,
  });
  if (Number(network.chainId) !== deployment.chainId) {
    throw new Error(`${rpcUrl} is chain ${network.chainId}, but ${file} is for chain ${deployment.chainId}`);
  }
  const signer = new Wallet(privateKey.startsWith("0x") ? privateKey : `0x${privateKey}`, provider);
  return startService({ ...settings, provider, signer, addresses: addressesOf(deployment), ...extra });
}
