/**
 * A deployment's history read from the chain alone, for people looking at it: the explorer (packages/explorer) in the
 * browser, and `job:show` on the command line. No indexer service: the logs of the registry, the escrow and the
 * staking contract are read in bounded, retried ranges (LogReader), decoded once with the contracts' ABIs, kept, and
 * read on from where the last sync stopped; block times and receipts are read once each. Views join those events with
 * the contracts' current state (a job's status and committee, an account's stake), read when the view is asked for.
 *
 * Free of Node's modules: it runs in a browser.
 */
import {
  Contract,
  getAddress,
  getBytes,
  isAddress,
  isHexString,
  ZeroAddress,
  type Log,
  type LogDescription,
  type Provider,
  type Result,
} from "ethers";
import { erc20Abi, jobEscrowAbi, modelRegistryAbi, verifierStakingAbi } from "./abi";
import { decodeTensors } from "./codec";
import type { Deployment } from "./deployment-record";
import { TrustMLError } from "./errors";
import { LogReader, type LogReaderOptions } from "./events";
import { formatJobId, toJob, toSettlement, type Job, type Settlement } from "./job";
import {
  FRAUD_KINDS,
  isTerminalStatus,
  JobOutcome,
  JobStatus,
  nameOf,
  VerificationMode,
  VoteState,
  type ModelTerms,
} from "./params";
import { parseAddressRef, parseJobRef } from "./refs";
import { decodeSignature, formatSignature, type IoSignature } from "./signature";
import { tensorsToJson, type TensorJson } from "./tensor-json";
import { toModelTerms } from "./terms";

/** The name of a value in one of the protocol's numbered tables, or `unknown(n)`. */
export const nameOrUnknown = (table: Readonly<Record<string, number>>, value: bigint | number): string =>
  nameOf(table, value) ?? `unknown(${value})`;

/** Where and when something happened. */
export interface ChainRef {
  transactionHash: string;
  block: number;
  /** The block's timestamp (unix seconds). */
  time: number;
  logIndex: number;
}

/** One decoded event of the protocol's contracts. */
export interface HistoryEvent extends ChainRef {
  contract: "registry" | "escrow" | "staking";
  name: string;
  args: Result;
}

/** A transaction that touched a job, with what it emitted for it. */
export interface TransactionView {
  hash: string;
  block: number;
  time: number;
  /** The sender, and the gas the whole transaction used (a transaction may serve several jobs). */
  from: string;
  gasUsed: bigint;
  /** The job's events in it, in order (JobRequested, JobClaimed, ResultSubmitted, …). */
  events: string[];
}

/** Tensors as posted: decoded when they are a valid TML1 encoding, else the bytes and why they do not decode. */
export interface TensorsView {
  /** keccak256 of the bytes, as the escrow records it. */
  hash: string;
  bytes: number;
  tensors?: TensorJson[];
  hex?: string;
  /** Why the bytes are not a tensor list. */
  problem?: string;
  /** Where an input given by URI lives (its bytes are off chain). */
  uri?: string;
}

/** A committee seat: who sits there, what it committed and revealed, and what its vote cost or earned. */
export interface SeatView {
  seat: number;
  verifier: string;
  /** Drawn, Committed, Agreed or Disagreed (IJobEscrow.VoteState). */
  vote: string;
  commitment?: string;
  committed?: ChainRef;
  /** The revealed vote: true for "the result is right". */
  agree?: boolean;
  revealed?: ChainRef;
  /** A penalty for not committing or not revealing in time (VerifierPenalized). */
  penalty?: { amount: bigint; revealed: boolean } & ChainRef;
}

export interface SlashView extends ChainRef {
  account: string;
  recipient: string;
  amount: bigint;
}

/** One published version of a model. */
export interface VersionView extends ChainRef {
  version: bigint;
  /** sha256 of the ONNX file. */
  contentHash: string;
  uri: string;
  /** The Merkle root over a profile model's neurons (Proven mode); the zero hash when none. */
  weightsRoot: string;
  /** The declared input/output signature; undefined when the version declares none. */
  signature?: IoSignature;
  /** The signature as `job:show` and `model:show` print it. */
  signatureText?: string;
}

/** The whole provenance record of a job. */
export interface JobRecord {
  id: bigint;
  /** 0x and 64 hex digits, as every tool prints a job id. */
  idHex: string;
  nonce: bigint;
  /** Now, on chain (IJobEscrow.JobStatus). */
  status: string;
  /** How it ended, once settled (IJobEscrow.JobOutcome). */
  outcome?: string;
  requester: string;
  modelOwner: string;
  modelId: bigint;
  version: bigint;
  /** The version the job ran on, as published. */
  model?: VersionView;
  mode: string;
  committeeSize: number;
  fee: bigint;
  collateral: bigint;
  deadline: number;
  /** Relative and absolute output tolerances, parts per billion. */
  tolerance: { relative: number; absolute: number };
  /** The job record as the escrow hashes it. */
  job: Job;
  input: TensorsView;
  output?: TensorsView;
  worker?: string;
  /** As JobState: Claimed: submit by; Submitted: challenge until; Drawing: draw by; Voting: commit until. */
  windowEnd: number;
  /** As JobState: Drawing: the randomness ticket; Voting: reveal until. */
  revealEnd: number;
  challenge?: { challenger: string; bond: bigint } & ChainRef;
  committee: SeatView[];
  /** When the committee was drawn, with its windows. */
  drawn?: { commitEnd: number; revealEnd: number } & ChainRef;
  /** Proven mode: what the posted trace commits to. */
  trace?: { outputHash: string; weightsRoot: string };
  fraudProof?: { prover: string; fraud: string; layer: number; index: number } & ChainRef;
  settlement?: Settlement & { outcome: string } & ChainRef;
  slashes: SlashView[];
  callback?: { consumer: string; success: boolean } & ChainRef;
  /** Every transaction that touched the job, in chain order. */
  transactions: TransactionView[];
  /** The command that re-executes the job and checks the result. */
  verifyCommand: string;
}

/** A job as a list shows it. */
export interface JobSummary {
  id: bigint;
  idHex: string;
  nonce: bigint;
  modelId: bigint;
  version: bigint;
  mode: string;
  requester: string;
  worker?: string;
  fee: bigint;
  /** Now, on chain. */
  status: string;
  outcome?: string;
  challenged: boolean;
  requestedAt: number;
  settledAt?: number;
  block: number;
}

export interface TermsChange extends ChainRef {
  terms: ModelTerms;
}

export interface ModelRecord {
  id: bigint;
  owner: string;
  pendingOwner?: string;
  deprecated: boolean;
  /** The terms now. */
  terms: ModelTerms;
  mode: string;
  /** Registration first, then every TermsUpdated, in order. */
  termsHistory: TermsChange[];
  versions: VersionView[];
  registered?: ChainRef;
  deprecatedAt?: ChainRef;
  jobs: JobSummary[];
  /** Jobs by outcome name, and "open" for those not over. */
  outcomes: Record<string, number>;
  /** Royalties its settled jobs credited to the model owner at the time. */
  royalties: bigint;
}

export interface StakeView {
  /** Staked and not unbonding (includes `locked`). */
  active: bigint;
  /** Held as collateral for jobs. */
  locked: bigint;
  /** Active and not locked: what can be locked or unstaked. */
  free: bigint;
  unbonding: bigint;
  /** When the unbonding stake becomes withdrawable (unix seconds; 0 when none). */
  unbondingEnd: number;
  verifier: boolean;
  leaving: boolean;
  exitAt: number;
}

export interface VoteCast extends ChainRef {
  jobId: bigint;
  nonce: bigint;
  agree: boolean;
}

export interface OperatorRecord {
  address: string;
  stake?: StakeView;
  /** Credited in the escrow (payouts, refunds, deposits), withdrawable. */
  escrowBalance: bigint;
  tokenBalance: bigint;
  /** Jobs it claimed as their worker (a submission claims too), including those it abandoned. */
  worked: JobSummary[];
  requested: JobSummary[];
  votes: VoteCast[];
  /** Seats it was drawn for. */
  seats: number;
  slashes: SlashView[];
  penalties: ({ jobId: bigint; amount: bigint } & ChainRef)[];
  modelsOwned: bigint[];
  /** Every event naming it, newest first (at most 200). */
  activity: HistoryEvent[];
}

export interface OperatorSummary {
  address: string;
  active: bigint;
  locked: bigint;
  verifier: boolean;
  worked: number;
  votes: number;
  slashed: bigint;
}

/** Figures over every job, for the network's charts. */
export interface NetworkStats {
  jobs: number;
  open: number;
  models: number;
  /** Time buckets (unix seconds, each `bucketSeconds` long) with jobs requested by mode and jobs ended by outcome. */
  bucketSeconds: number;
  timeline: { start: number; byMode: Record<string, number>; byOutcome: Record<string, number> }[];
  /** Gas of the transactions of settled jobs, a transaction serving several jobs split evenly between them. */
  gasByMode: { mode: string; jobs: number; averageGas: number }[];
  /** Seconds from request to settlement, per settled job. */
  latency: { nonce: bigint; mode: string; outcome: string; seconds: number }[];
  slashed: bigint;
  head: number;
}

/** What a search string names. */
export type SearchResult =
  | { kind: "job"; id: bigint }
  | { kind: "model"; id: bigint }
  | { kind: "address"; address: string }
  | { kind: "none"; message: string };

/** How far a sync got: it reads [fromBlock, toBlock] and has read up to readTo. */
export interface SyncProgress {
  fromBlock: number;
  toBlock: number;
  readTo: number;
}

export interface HistoryOptions {
  logs?: LogReaderOptions;
  /** Blocks read per sync at most (default: everything up to the head). */
  maxBlocksPerSync?: number;
}

interface JobEntry {
  id: bigint;
  job: Job;
  requested: HistoryEvent;
  events: HistoryEvent[];
}

const MODE_OF = (mode: bigint | number) => nameOrUnknown(VerificationMode, mode);
const lower = (a: string) => a.toLowerCase();
const ZERO_HASH = "0x" + "00".repeat(32);
/** Reads in flight at once when many block times or receipts are wanted (a JSON-RPC provider batches them). */
const READ_CONCURRENCY = 32;

function refOf(e: HistoryEvent): ChainRef {
  return { transactionHash: e.transactionHash, block: e.block, time: e.time, logIndex: e.logIndex };
}

function slashOf(e: HistoryEvent): SlashView {
  return {
    account: e.args.account as string,
    recipient: e.args.recipient as string,
    amount: e.args.amount as bigint,
    ...refOf(e),
  };
}

/** `bytes` as a tensor list, or as hex with the reason it is not one. */
export function tensorsView(hex: string, hash: string): TensorsView {
  const bytes = getBytes(hex);
  const view: TensorsView = { hash, bytes: bytes.length };
  try {
    view.tensors = tensorsToJson(decodeTensors(bytes));
  } catch (e) {
    view.hex = hex;
    view.problem = (e as Error).message;
  }
  return view;
}

async function mapLimited<T, R>(items: readonly T[], f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  for (let i = 0; i < items.length; i += READ_CONCURRENCY) {
    const part = await Promise.all(items.slice(i, i + READ_CONCURRENCY).map(f));
    part.forEach((r, j) => (out[i + j] = r));
  }
  return out;
}

/**
 * Parses what a person types to find something: `#12` (a job's request number), a job id (0x and 64 hex digits, or
 * a decimal of more than 20 digits), a model id (a small decimal, or `model 3`), or an address (0x and 40 hex
 * digits). Returns what it names without checking that it exists, or `none` with the reason.
 */
export function parseSearch(query: string): SearchResult | { kind: "nonce"; nonce: bigint } {
  const q = query.trim();
  if (q === "") return { kind: "none", message: "type a job id, #request-number, model id or address" };
  const model = /^model\s*#?\s*(\d{1,20})$/i.exec(q);
  if (model) return { kind: "model", id: BigInt(model[1]) };
  if (/^0x[0-9a-fA-F]{40}$/.test(q)) {
    const address = parseAddressRef(q);
    return address.kind === "bad" ? { kind: "none", message: address.message } : address;
  }
  if (/^\d{1,20}$/.test(q)) return { kind: "model", id: BigInt(q) };
  if (/^#|^0x[0-9a-fA-F]{64}$|^\d+$/.test(q)) {
    const job = parseJobRef(q);
    if (job.kind === "bad") return { kind: "none", message: job.message };
    return job.kind === "nonce" ? job : { kind: "job", id: job.id };
  }
  const hex = /^0x([0-9a-fA-F]*)$/.exec(q);
  if (hex) return { kind: "none", message: `${q} has ${hex[1].length} hex digits: a job id has 64, an address 40` };
  return {
    kind: "none",
    message: `"${q}" is not a job id (0x and 64 hex digits, or #request-number), a model id or an address`,
  };
}

/** The history of one deployment. Build it with `ProtocolHistory.connect`, then `sync()` whenever to read on. */
export class ProtocolHistory {
  readonly registry: Contract;
  readonly escrow: Contract;
  readonly staking: Contract;
  readonly token: Contract;
  private readonly reader: LogReader;
  private readonly sources: { contract: HistoryEvent["contract"]; address: string; iface: Contract["interface"] }[];
  private events: HistoryEvent[] = [];
  private jobsById = new Map<bigint, JobEntry>();
  private idsByNonce = new Map<bigint, bigint>();
  private byAccount = new Map<string, HistoryEvent[]>();
  private byModel = new Map<bigint, HistoryEvent[]>();
  private jobsOfTx = new Map<string, Set<bigint>>();
  private times = new Map<number, number>();
  private terminal = new Map<bigint, bigint>();
  /** Records of jobs that ended: nothing more can happen to them. */
  private ended = new Map<bigint, JobRecord>();
  private receipts = new Map<string, { from: string; gasUsed: bigint }>();
  /** The last block read, and its hash (to notice a reorganisation). */
  private synced: { block: number; hash: string; time: number } | undefined;
  private syncing: Promise<number> | undefined;
  /** When the last successful sync ended, and the block it read up to. */
  private lastRead: { at: number; block: number } | undefined;
  /** The read under way, if any. */
  private current: SyncProgress | undefined;

  private constructor(
    readonly provider: Provider,
    readonly deployment: Deployment,
    private readonly options: HistoryOptions,
  ) {
    const c = deployment.contracts;
    this.registry = new Contract(c.registry.address, modelRegistryAbi, provider);
    this.escrow = new Contract(c.escrow.address, jobEscrowAbi, provider);
    this.staking = new Contract(c.staking.address, verifierStakingAbi, provider);
    this.token = new Contract(c.token.address, erc20Abi, provider);
    this.reader = new LogReader(provider, options.logs);
    this.sources = [
      { contract: "registry", address: lower(c.registry.address), iface: this.registry.interface },
      { contract: "escrow", address: lower(c.escrow.address), iface: this.escrow.interface },
      { contract: "staking", address: lower(c.staking.address), iface: this.staking.interface },
    ];
  }

  /**
   * Checks that the provider's chain is the record's and that the contracts are there, then returns an empty
   * history (call `sync`). TrustMLError WRONG_CHAIN names the mismatch.
   */
  static async connect(provider: Provider, deployment: Deployment, options: HistoryOptions = {}) {
    const chainId = await chainIdOf(provider);
    if (chainId !== BigInt(deployment.chainId)) {
      throw new TrustMLError(
        "WRONG_CHAIN",
        `the deployment record is for chain ${deployment.chainId} (${deployment.network}), but the node is on chain ${chainId}`,
      );
    }
    for (const name of ["registry", "escrow", "staking"] as const) {
      const address = deployment.contracts[name].address;
      if ((await provider.getCode(address)) === "0x") {
        throw new TrustMLError(
          "WRONG_CHAIN",
          `no contract at the ${name} address ${address} on chain ${chainId}: the record is not of this chain's deployment (was the node restarted?)`,
        );
      }
    }
    return new ProtocolHistory(provider, deployment, options);
  }

  /** The last block read (undefined before the first sync). */
  get syncedBlock(): number | undefined {
    return this.synced?.block;
  }

  /** Where the sync under way is (undefined when none is): for a long first read, to show how far it got. */
  get progress(): SyncProgress | undefined {
    return this.current && { ...this.current };
  }

  /** The timestamp of the last block read (undefined before the first sync). */
  get syncedTime(): number | undefined {
    return this.synced?.time;
  }

  /**
   * Reads the logs from where the last sync stopped up to the latest block, and returns that block. After a
   * reorganisation (the last block read is no longer on the chain) it reads everything again. Concurrent calls share
   * one read, and with `maxAgeMs` a call within that long of the last successful read returns its block instead of
   * reading again (the views of a page that refresh together cost one read).
   */
  sync(options: { maxAgeMs?: number } = {}): Promise<number> {
    const fresh = this.lastRead && Date.now() - this.lastRead.at < (options.maxAgeMs ?? 0);
    if (fresh && !this.syncing) return Promise.resolve(this.lastRead!.block);
    this.syncing ??= this.read()
      .then((block) => {
        this.lastRead = { at: Date.now(), block };
        return block;
      })
      .finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async read(): Promise<number> {
    if (this.synced) {
      const block = await this.provider.getBlock(this.synced.block);
      if (block?.hash !== this.synced.hash) {
        this.reset();
        const escrow = this.deployment.contracts.escrow.address;
        if ((await this.provider.getCode(escrow)) === "0x") {
          throw new TrustMLError(
            "WRONG_CHAIN",
            `the escrow ${escrow} is no longer on this chain: the chain was replaced under the reader (a local node restarted?)`,
          );
        }
      }
    }
    const head = await this.provider.getBlockNumber();
    const from = this.synced ? this.synced.block + 1 : this.deployment.startBlock;
    const to = this.options.maxBlocksPerSync ? Math.min(head, from + this.options.maxBlocksPerSync - 1) : head;
    if (from > to) {
      this.synced ??= await this.blockAt(to);
      return this.synced.block;
    }
    // In windows of the reader's range, each one kept once read: a long first read shows its progress, and a read
    // that fails half way goes on from the last window next time.
    const filter = { address: this.sources.map((s) => s.address) };
    try {
      for (let a = from; a <= to; a += this.reader.maxBlockRange) {
        const b = Math.min(to, a + this.reader.maxBlockRange - 1);
        this.current = { fromBlock: from, toBlock: to, readTo: a - 1 };
        const logs = await this.reader.logs(filter, a, b);
        const last = await this.blockAt(b); // before any log is kept: a window is kept whole or not at all
        for (const log of logs) this.add(log);
        this.synced = last;
      }
    } finally {
      this.current = undefined;
    }
    return to;
  }

  /** Block `n` as the last one read: its number, hash (to notice a reorganisation) and time. */
  private async blockAt(n: number): Promise<{ block: number; hash: string; time: number }> {
    const b = await this.provider.getBlock(n);
    if (!b?.hash) throw new Error(`the node has no block ${n}, though its head is past it: read again later`);
    return { block: n, hash: b.hash, time: b.timestamp };
  }

  private reset(): void {
    this.events = [];
    this.jobsById.clear();
    this.idsByNonce.clear();
    this.byAccount.clear();
    this.byModel.clear();
    this.jobsOfTx.clear();
    this.terminal.clear();
    this.ended.clear();
    this.synced = undefined;
    this.lastRead = undefined;
  }

  private add(log: Log): void {
    const source = this.sources.find((s) => s.address === lower(log.address));
    if (!source) return;
    let parsed: LogDescription | null;
    try {
      parsed = source.iface.parseLog(log);
    } catch {
      return; // an event of another ABI version: nothing here reads it
    }
    if (!parsed) return;
    const e: HistoryEvent = {
      contract: source.contract,
      name: parsed.name,
      args: parsed.args,
      transactionHash: log.transactionHash,
      block: log.blockNumber,
      time: this.times.get(log.blockNumber) ?? 0,
      logIndex: log.index,
    };
    this.events.push(e);
    const inputs = parsed.fragment.inputs;
    if (source.contract === "escrow" && inputs[0]?.name === "jobId") {
      const id = parsed.args[0] as bigint;
      if (e.name === "JobRequested") {
        const job = toJob(parsed.args.job);
        this.jobsById.set(id, { id, job, requested: e, events: [] });
        this.idsByNonce.set(job.nonce, id);
      }
      this.jobsById.get(id)?.events.push(e);
      if (!this.jobsOfTx.has(e.transactionHash)) this.jobsOfTx.set(e.transactionHash, new Set());
      this.jobsOfTx.get(e.transactionHash)!.add(id);
    }
    if (source.contract === "registry" && inputs[0]?.name === "modelId") {
      const id = parsed.args[0] as bigint;
      if (!this.byModel.has(id)) this.byModel.set(id, []);
      this.byModel.get(id)!.push(e);
    }
    const accounts = new Set<string>();
    inputs.forEach((input, i) => {
      if (input.type === "address") accounts.add(lower(parsed!.args[i] as string));
      if (input.type === "address[]") for (const a of parsed!.args[i] as string[]) accounts.add(lower(a));
    });
    if (e.name === "JobRequested") accounts.add(lower(parsed.args.job.modelOwner as string));
    for (const a of accounts) {
      if (!this.byAccount.has(a)) this.byAccount.set(a, []);
      this.byAccount.get(a)!.push(e);
    }
  }

  /**
   * Sets the time of `events` from their blocks' timestamps, read once per block and only when a view shows them: a
   * one-job view (`job:show`) of a long history reads a few blocks, not one per block with a log.
   */
  private async timed(events: readonly HistoryEvent[]): Promise<void> {
    const missing = [...new Set(events.map((e) => e.block))].filter((b) => !this.times.has(b));
    await mapLimited(missing, async (n) => {
      const block = await this.provider.getBlock(n);
      if (block) this.times.set(n, block.timestamp);
    });
    for (const e of events) e.time = this.times.get(e.block) ?? 0;
  }

  private async receiptsOf(hashes: string[]): Promise<void> {
    const missing = [...new Set(hashes)].filter((h) => !this.receipts.has(h));
    await mapLimited(missing, async (hash) => {
      const r = await this.provider.getTransactionReceipt(hash);
      if (r) this.receipts.set(hash, { from: r.from, gasUsed: r.gasUsed });
    });
  }

  // ------------------------------------------------------------------ lookups

  /** The id of the job with this request number, if any was read. */
  jobIdOfNonce(nonce: bigint): bigint | undefined {
    return this.idsByNonce.get(nonce);
  }

  /** Whether a JobRequested of this id was read. */
  hasJob(id: bigint): boolean {
    return this.jobsById.has(id);
  }

  /** The escrow's events of a job, in chain order (empty when no such job was read). */
  eventsOf(id: bigint): readonly HistoryEvent[] {
    return this.jobsById.get(id)?.events ?? [];
  }

  /** Every StakeSlashed read, in chain order. */
  async slashes(): Promise<SlashView[]> {
    const slashes = this.events.filter((e) => e.name === "StakeSlashed");
    await this.timed(slashes);
    return slashes.map(slashOf);
  }

  /**
   * The gas of each job's transactions, a transaction that served several jobs split evenly between them, and how
   * many transactions touched it.
   */
  async gasOf(ids: readonly bigint[]): Promise<Map<bigint, { gas: bigint; transactions: number }>> {
    const entries = ids.map((id) => this.jobsById.get(id)).filter((e): e is JobEntry => e !== undefined);
    await this.receiptsOf(entries.flatMap((e) => e.events.map((x) => x.transactionHash)));
    const out = new Map<bigint, { gas: bigint; transactions: number }>();
    for (const e of entries) {
      const hashes = new Set(e.events.map((x) => x.transactionHash));
      let gas = 0n;
      for (const hash of hashes) {
        gas += (this.receipts.get(hash)?.gasUsed ?? 0n) / BigInt(this.jobsOfTx.get(hash)?.size ?? 1);
      }
      out.set(e.id, { gas, transactions: hashes.size });
    }
    return out;
  }

  /** Resolves a search string against what was read: a `#nonce` becomes its job; unknown ids say so. */
  async search(query: string): Promise<SearchResult> {
    const parsed = parseSearch(query);
    if (parsed.kind === "nonce") {
      const id = this.idsByNonce.get(parsed.nonce);
      if (id === undefined) {
        return { kind: "none", message: `no job #${parsed.nonce}: ${this.idsByNonce.size} jobs were requested` };
      }
      return { kind: "job", id };
    }
    if (parsed.kind === "job" && !this.jobsById.has(parsed.id)) {
      return { kind: "none", message: `no such job: ${formatJobId(parsed.id)} was never requested on this escrow` };
    }
    if (parsed.kind === "model") {
      const count = (await this.registry.modelCount()) as bigint;
      if (parsed.id < 1n || parsed.id > count) {
        return { kind: "none", message: `no model ${parsed.id}: models run from 1 to ${count}` };
      }
    }
    return parsed;
  }

  // ------------------------------------------------------------------ jobs

  private summaryOf(entry: JobEntry, status: bigint): JobSummary {
    const settled = entry.events.find((e) => e.name === "JobSettled");
    const submitted = entry.events.find((e) => e.name === "ResultSubmitted");
    const claimed = entry.events.find((e) => e.name === "JobClaimed");
    const worker = (submitted?.args.worker ?? claimed?.args.worker) as string | undefined;
    return {
      id: entry.id,
      idHex: formatJobId(entry.id),
      nonce: entry.job.nonce,
      modelId: entry.job.modelId,
      version: entry.job.version,
      mode: MODE_OF(entry.job.mode),
      requester: entry.job.requester,
      worker,
      fee: entry.job.fee,
      status: nameOrUnknown(JobStatus, status),
      outcome: settled ? nameOrUnknown(JobOutcome, settled.args.outcome as bigint) : undefined,
      challenged: entry.events.some((e) => e.name === "ResultChallenged"),
      requestedAt: entry.requested.time,
      settledAt: settled?.time,
      block: entry.requested.block,
    };
  }

  /** Statuses now, read from the escrow; a terminal one is kept, as it never changes. */
  private async statusesOf(entries: JobEntry[]): Promise<bigint[]> {
    return mapLimited(entries, async (entry) => {
      const known = this.terminal.get(entry.id);
      if (known !== undefined) return known;
      const status = ((await this.escrow.jobState(entry.id)) as { status: bigint }).status;
      if (isTerminalStatus(status)) this.terminal.set(entry.id, status);
      return status;
    });
  }

  /** Jobs as a list shows them, newest first; `filter` picks which. */
  async jobs(
    filter: (s: { job: Job; events: readonly HistoryEvent[] }) => boolean = () => true,
  ): Promise<JobSummary[]> {
    const entries = [...this.jobsById.values()].filter((e) => filter(e)).reverse();
    await this.timed(
      entries.flatMap((e) => e.events.filter((x) => x.name === "JobRequested" || x.name === "JobSettled")),
    );
    const statuses = await this.statusesOf(entries);
    return entries.map((e, i) => this.summaryOf(e, statuses[i]));
  }

  /** The provenance record of a job, or undefined when no such job was requested. */
  async job(id: bigint): Promise<JobRecord | undefined> {
    const entry = this.jobsById.get(id);
    if (!entry) return undefined;
    const ended = this.ended.get(id);
    if (ended) return ended;
    const { job, requested, events } = entry;
    await this.timed([...events, ...(this.byModel.get(job.modelId) ?? [])]);
    const [state, seats] = await Promise.all([
      this.escrow.jobState(id) as Promise<{ status: bigint; worker: string; windowEnd: bigint; revealEnd: bigint }>,
      this.escrow.committee(id) as Promise<{ verifier: string; vote: bigint }[]>,
    ]);
    const find = (name: string) => events.find((e) => e.name === name);
    const all = (name: string) => events.filter((e) => e.name === name);
    const version = (await this.versionsOf(job.modelId)).find((v) => v.version === job.version);
    const record: JobRecord = {
      id,
      idHex: formatJobId(id),
      nonce: job.nonce,
      status: nameOrUnknown(JobStatus, state.status),
      requester: job.requester,
      modelOwner: job.modelOwner,
      modelId: job.modelId,
      version: job.version,
      model: version,
      mode: MODE_OF(job.mode),
      committeeSize: Number(job.committeeSize),
      fee: job.fee,
      collateral: job.collateral,
      deadline: Number(job.deadline),
      tolerance: { relative: Number(requested.args.relTolerance), absolute: Number(requested.args.absTolerance) },
      job,
      input:
        requested.args.inputUri !== ""
          ? { hash: job.inputHash, bytes: 0, uri: requested.args.inputUri as string }
          : tensorsView(requested.args.input as string, job.inputHash),
      windowEnd: Number(state.windowEnd),
      revealEnd: Number(state.revealEnd),
      committee: [],
      slashes: [],
      transactions: [],
      verifyCommand: `npm run verify-job -- ${formatJobId(id)}`,
    };
    if (state.worker !== ZeroAddress) record.worker = state.worker;
    const submitted = find("ResultSubmitted");
    if (submitted) {
      record.worker = submitted.args.worker as string;
      record.output = tensorsView(submitted.args.output as string, submitted.args.outputHash as string);
      if (Number(job.mode) === VerificationMode.Proven) {
        record.trace = {
          outputHash: submitted.args.outputHash as string,
          weightsRoot: version?.weightsRoot ?? ZERO_HASH,
        };
      }
    }
    const challenged = find("ResultChallenged");
    if (challenged) {
      record.challenge = {
        challenger: challenged.args.challenger as string,
        bond: challenged.args.bond as bigint,
        ...refOf(challenged),
      };
    }
    const drawn = find("CommitteeDrawn");
    if (drawn) {
      record.drawn = {
        commitEnd: Number(drawn.args.commitEnd),
        revealEnd: Number(drawn.args.revealEnd),
        ...refOf(drawn),
      };
    }
    record.committee = seats.map((s, seat) => {
      const view: SeatView = { seat, verifier: s.verifier, vote: nameOrUnknown(VoteState, s.vote) };
      const mine = (e: HistoryEvent) => lower(e.args.verifier as string) === lower(s.verifier);
      const committed = all("VoteCommitted").find((e) => mine(e) && Number(e.args.seat) === seat);
      if (committed) {
        view.commitment = committed.args.commitment as string;
        view.committed = refOf(committed);
      }
      // A verifier may hold several seats; reveals are matched to its seats in order.
      const sameVerifierSeats = seats
        .map((x, i) => [x, i] as const)
        .filter(([x]) => lower(x.verifier) === lower(s.verifier));
      const k = sameVerifierSeats.findIndex(([, i]) => i === seat);
      const revealed = all("VoteRevealed").filter(mine)[k];
      if (revealed) {
        view.agree = revealed.args.agree as boolean;
        view.revealed = refOf(revealed);
      }
      const penalized = all("VerifierPenalized").filter(mine)[k];
      if (penalized) {
        view.penalty = {
          amount: penalized.args.amount as bigint,
          revealed: penalized.args.revealed as boolean,
          ...refOf(penalized),
        };
      }
      return view;
    });
    const proven = find("FraudProven");
    if (proven) {
      record.fraudProof = {
        prover: proven.args.prover as string,
        fraud: FRAUD_KINDS[Number(proven.args.fraud)] ?? `unknown(${proven.args.fraud})`,
        layer: Number(proven.args.layer),
        index: Number(proven.args.index),
        ...refOf(proven),
      };
    }
    const settled = find("JobSettled");
    if (settled) {
      record.outcome = nameOrUnknown(JobOutcome, settled.args.outcome as bigint);
      record.settlement = {
        ...toSettlement(settled.args.settlement),
        outcome: record.outcome,
        ...refOf(settled),
      };
    }
    const callback = find("CallbackDelivered");
    if (callback) {
      record.callback = {
        consumer: callback.args.consumer as string,
        success: callback.args.success as boolean,
        ...refOf(callback),
      };
    }
    const hashes = [...new Set(events.map((e) => e.transactionHash))];
    // Slashes in this job's transactions, of the accounts that stood behind it (a transaction may settle several jobs).
    const parties = new Set([record.worker, ...seats.map((s) => s.verifier)].filter(Boolean).map((a) => lower(a!)));
    const slashes = this.events
      .filter((e) => e.name === "StakeSlashed" && hashes.includes(e.transactionHash))
      .filter((e) => parties.has(lower(e.args.account as string)));
    await this.timed(slashes);
    record.slashes = slashes.map(slashOf);
    await this.receiptsOf(hashes);
    record.transactions = hashes.map((hash) => {
      const first = events.find((e) => e.transactionHash === hash)!;
      const receipt = this.receipts.get(hash);
      return {
        hash,
        block: first.block,
        time: first.time,
        from: receipt?.from ?? "",
        gasUsed: receipt?.gasUsed ?? 0n,
        events: events.filter((e) => e.transactionHash === hash).map((e) => e.name),
      };
    });
    if (isTerminalStatus(state.status)) this.ended.set(id, record);
    return record;
  }

  // ------------------------------------------------------------------ models

  private async versionsOf(modelId: bigint): Promise<VersionView[]> {
    return (this.byModel.get(modelId) ?? [])
      .filter((e) => e.name === "VersionPublished")
      .map((e) => {
        const view: VersionView = {
          version: e.args.version as bigint,
          contentHash: e.args.contentHash as string,
          uri: e.args.uri as string,
          weightsRoot: e.args.weightsRoot as string,
          ...refOf(e),
        };
        const bytes = getBytes(e.args.ioSignature as string);
        if (bytes.length > 0) {
          try {
            view.signature = decodeSignature(bytes);
            view.signatureText = formatSignature(view.signature);
          } catch (err) {
            view.signatureText = `not a valid signature: ${(err as Error).message}`;
          }
        }
        return view;
      });
  }

  /** Registered models (ids from 1). */
  async modelCount(): Promise<bigint> {
    return (await this.registry.modelCount()) as bigint;
  }

  /** A model's record, or undefined when there is no model with this id. */
  async model(id: bigint): Promise<ModelRecord | undefined> {
    const count = await this.modelCount();
    if (id < 1n || id > count) return undefined;
    const m = (await this.registry.getModel(id)) as {
      owner: string;
      deprecated: boolean;
      pendingOwner: string;
      terms: Parameters<typeof toModelTerms>[0];
    };
    const events = this.byModel.get(id) ?? [];
    await this.timed(events);
    const registered = events.find((e) => e.name === "ModelRegistered");
    const deprecated = events.find((e) => e.name === "ModelDeprecated");
    const terms = toModelTerms(m.terms);
    const jobs = await this.jobs((e) => e.job.modelId === id);
    const outcomes: Record<string, number> = {};
    for (const j of jobs) {
      const key = j.outcome ?? "open";
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
    let royalties = 0n;
    for (const j of jobs) {
      const settled = this.jobsById.get(j.id)!.events.find((e) => e.name === "JobSettled");
      if (settled) royalties += toSettlement(settled.args.settlement).royalty;
    }
    return {
      id,
      owner: m.owner,
      pendingOwner: m.pendingOwner === ZeroAddress ? undefined : m.pendingOwner,
      deprecated: m.deprecated,
      terms,
      mode: MODE_OF(terms.mode),
      termsHistory: events
        .filter((e) => e.name === "ModelRegistered" || e.name === "TermsUpdated")
        .map((e) => ({ terms: toModelTerms(e.args.terms), ...refOf(e) })),
      versions: await this.versionsOf(id),
      registered: registered && refOf(registered),
      deprecatedAt: deprecated && refOf(deprecated),
      jobs,
      outcomes,
      royalties,
    };
  }

  /** Every model with its terms and job count. */
  async models(): Promise<
    { id: bigint; owner: string; mode: string; price: bigint; versions: number; jobs: number; deprecated: boolean }[]
  > {
    const count = Number(await this.modelCount());
    const ids = Array.from({ length: count }, (_, i) => BigInt(i + 1));
    const jobCounts = new Map<bigint, number>();
    for (const e of this.jobsById.values()) jobCounts.set(e.job.modelId, (jobCounts.get(e.job.modelId) ?? 0) + 1);
    return mapLimited(ids, async (id) => {
      const m = (await this.registry.getModel(id)) as {
        owner: string;
        versionCount: bigint;
        deprecated: boolean;
        terms: Parameters<typeof toModelTerms>[0];
      };
      const terms = toModelTerms(m.terms);
      return {
        id,
        owner: m.owner,
        mode: MODE_OF(terms.mode),
        price: terms.price,
        versions: Number(m.versionCount),
        jobs: jobCounts.get(id) ?? 0,
        deprecated: m.deprecated,
      };
    });
  }

  // ------------------------------------------------------------------ operators

  /** Everything about an address: stake, balances, work, votes, slashes. */
  async operator(address: string): Promise<OperatorRecord> {
    if (!isAddress(address)) throw new TrustMLError("BAD_ARGUMENT", `${address} is not an address`);
    const a = getAddress(address);
    const mine = this.byAccount.get(lower(a)) ?? [];
    await this.timed(mine);
    const [account, free, escrowBalance, tokenBalance] = await Promise.all([
      this.staking.accountOf(a) as Promise<{
        active: bigint;
        locked: bigint;
        unbondingEnd: bigint;
        verifier: boolean;
        leaving: boolean;
        unbonding: bigint;
        exitAt: bigint;
      }>,
      this.staking.freeStakeOf(a) as Promise<bigint>,
      this.escrow.balanceOf(a) as Promise<bigint>,
      this.token.balanceOf(a) as Promise<bigint>,
    ]);
    const staked = account.active > 0n || account.unbonding > 0n || account.verifier;
    const is = (e: HistoryEvent, key: string) => typeof e.args[key] === "string" && lower(e.args[key]) === lower(a);
    const worked = new Set(
      mine.filter((e) => e.name === "JobClaimed" && is(e, "worker")).map((e) => e.args.jobId as bigint),
    );
    const requested = new Set(
      mine.filter((e) => e.name === "JobRequested" && is(e, "requester")).map((e) => e.args.jobId as bigint),
    );
    return {
      address: a,
      stake: staked
        ? {
            active: account.active,
            locked: account.locked,
            free,
            unbonding: account.unbonding,
            unbondingEnd: Number(account.unbondingEnd),
            verifier: account.verifier,
            leaving: account.leaving,
            exitAt: Number(account.exitAt),
          }
        : undefined,
      escrowBalance,
      tokenBalance,
      worked: await this.jobs((e) => worked.has(e.job.id)),
      requested: await this.jobs((e) => requested.has(e.job.id)),
      votes: mine
        .filter((e) => e.name === "VoteRevealed" && is(e, "verifier"))
        .map((e) => ({
          jobId: e.args.jobId as bigint,
          nonce: this.jobsById.get(e.args.jobId as bigint)?.job.nonce ?? 0n,
          agree: e.args.agree as boolean,
          ...refOf(e),
        })),
      seats: mine
        .filter((e) => e.name === "CommitteeDrawn")
        .reduce((n, e) => n + (e.args.committee as string[]).filter((m) => lower(m) === lower(a)).length, 0),
      slashes: mine.filter((e) => e.name === "StakeSlashed" && is(e, "account")).map(slashOf),
      penalties: mine
        .filter((e) => e.name === "VerifierPenalized" && is(e, "verifier"))
        .map((e) => ({ jobId: e.args.jobId as bigint, amount: e.args.amount as bigint, ...refOf(e) })),
      modelsOwned: [...this.byModel.entries()]
        .filter(([, es]) => lower(ownerOf(es) ?? "") === lower(a))
        .map(([id]) => id),
      activity: [...mine].reverse().slice(0, 200),
    };
  }

  /** Every account that ever staked, with its stake now and its record: the largest active stake first. */
  async operators(): Promise<OperatorSummary[]> {
    const stakers = new Set<string>();
    for (const e of this.events)
      if (e.contract === "staking" && e.name === "Staked") stakers.add(getAddress(e.args.account as string));
    const summaries = await mapLimited([...stakers], async (address) => {
      const account = (await this.staking.accountOf(address)) as { active: bigint; locked: bigint; verifier: boolean };
      const mine = this.byAccount.get(lower(address)) ?? [];
      const is = (e: HistoryEvent, key: string) => lower(String(e.args[key])) === lower(address);
      return {
        address,
        active: account.active,
        locked: account.locked,
        verifier: account.verifier,
        worked: mine.filter((e) => e.name === "JobClaimed" && is(e, "worker")).length,
        votes: mine.filter((e) => e.name === "VoteRevealed" && is(e, "verifier")).length,
        slashed: mine
          .filter((e) => e.name === "StakeSlashed" && is(e, "account"))
          .reduce((sum, e) => sum + (e.args.amount as bigint), 0n),
      };
    });
    return summaries.sort((x, y) =>
      x.active === y.active ? x.address.localeCompare(y.address) : x.active > y.active ? -1 : 1,
    );
  }

  // ------------------------------------------------------------------ network

  /** Figures over every job read so far, for charts. */
  async network(): Promise<NetworkStats> {
    const jobs = await this.jobs();
    const settled = [...this.jobsById.values()].filter((e) => e.events.some((x) => x.name === "JobSettled"));
    const gasOfJob = await this.gasOf(settled.map((e) => e.id));
    const gas = new Map<string, { jobs: number; total: bigint }>();
    for (const e of settled) {
      const mode = MODE_OF(e.job.mode);
      const g = gas.get(mode) ?? { jobs: 0, total: 0n };
      gas.set(mode, { jobs: g.jobs + 1, total: g.total + gasOfJob.get(e.id)!.gas });
    }
    const times = jobs.flatMap((j) => [j.requestedAt, ...(j.settledAt ? [j.settledAt] : [])]);
    const first = times.length ? Math.min(...times) : 0;
    const last = times.length ? Math.max(...times) : 0;
    const bucketSeconds = niceBucket((last - first) / 24);
    const timeline = new Map<number, NetworkStats["timeline"][number]>();
    const bucketOf = (t: number) => {
      const start = Math.floor(t / bucketSeconds) * bucketSeconds;
      if (!timeline.has(start)) timeline.set(start, { start, byMode: {}, byOutcome: {} });
      return timeline.get(start)!;
    };
    if (times.length) for (let t = first; t <= last; t += bucketSeconds) bucketOf(t);
    for (const j of jobs) {
      const b = bucketOf(j.requestedAt);
      b.byMode[j.mode] = (b.byMode[j.mode] ?? 0) + 1;
      if (j.settledAt !== undefined && j.outcome) {
        const s = bucketOf(j.settledAt);
        s.byOutcome[j.outcome] = (s.byOutcome[j.outcome] ?? 0) + 1;
      }
    }
    return {
      jobs: jobs.length,
      open: jobs.filter((j) => !isTerminalStatus(JobStatus[j.status as keyof typeof JobStatus] ?? 0) && !j.outcome)
        .length,
      models: Number(await this.modelCount()),
      bucketSeconds,
      timeline: [...timeline.values()].sort((x, y) => x.start - y.start),
      gasByMode: [...gas.entries()].map(([mode, g]) => ({
        mode,
        jobs: g.jobs,
        averageGas: Number(g.total / BigInt(g.jobs)),
      })),
      latency: jobs
        .filter((j) => j.settledAt !== undefined)
        .reverse()
        .map((j) => ({ nonce: j.nonce, mode: j.mode, outcome: j.outcome!, seconds: j.settledAt! - j.requestedAt })),
      slashed: this.events
        .filter((e) => e.name === "StakeSlashed")
        .reduce((sum, e) => sum + (e.args.amount as bigint), 0n),
      head: this.synced?.block ?? 0,
    };
  }
}

/** The owner of a model from its registry events (the latest transfer, else the registration). */
function ownerOf(events: HistoryEvent[]): string | undefined {
  let owner: string | undefined;
  for (const e of events) {
    if (e.name === "ModelRegistered") owner = e.args.owner as string;
    if (e.name === "ModelOwnershipTransferred") owner = e.args.newOwner as string;
  }
  return owner;
}

/** A bucket length (seconds) of at least `seconds`, rounded up to a length people read: 1 s, 5 s, 1 min, … */
function niceBucket(seconds: number): number {
  const steps = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 6 * 3600, 86400, 7 * 86400];
  return steps.find((s) => s >= seconds) ?? Math.ceil(seconds / 86400) * 86400;
}

/** The chain id the node itself reports (not one a provider was told to assume). */
async function chainIdOf(provider: Provider): Promise<bigint> {
  const send = (provider as { send?: (method: string, params: unknown[]) => Promise<string> }).send;
  if (typeof send === "function") {
    const id = await send.call(provider, "eth_chainId", []);
    if (isHexString(id)) return BigInt(id);
  }
  return (await provider.getNetwork()).chainId;
}
