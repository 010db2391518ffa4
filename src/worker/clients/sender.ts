/**
 * Sending transactions from one key: a single queue owns the key's nonce and broadcasts, earliest deadline first,
 * while receipts are awaited outside it (several transactions in flight), and a transaction not mined in time is
 * re-sent with the same nonce and higher fees (TxSender). Every transaction is simulated (`staticCall`) before it
 * is sent, transient RPC errors are retried a bounded number of times with exponential backoff, and reverts are
 * classified by decoding the protocol's custom errors: "already done by someone else" (a job no longer in the
 * status the call needs) is a normal outcome, not a failure.
 */
import { Interface, type TransactionReceipt, type TransactionRequest } from "ethers";
import type { Logger } from "pino";
import {
  IJobEscrow__factory,
  IModelRegistry__factory,
  IVerifierStaking__factory,
  ProvenJudge__factory,
} from "../../factories";

/** What went wrong, as far as the caller needs to know. */
export type ErrorKind =
  | "transient" // network, timeout, rate limit, node hiccup: worth retrying
  | "nonce" // our nonce is stale: resynchronise and retry
  | "already-done" // the job moved on (someone else claimed, voted, settled): nothing to do
  | "too-late" // a window or deadline closed
  | "not-yet" // a window has not opened
  | "revert" // any other revert: a real error
  | "fatal"; // not an RPC or revert error (bug, insufficient funds, bad key)

export interface ClassifiedError {
  kind: ErrorKind;
  /** The custom error's name, when the revert decoded. */
  name?: string;
  args?: unknown[];
  message: string;
}

const ALREADY_DONE = new Set([
  "JobEscrowInvalidStatus",
  "JobEscrowInvalidVoteState",
  "JobEscrowNotWorker",
  "JobEscrowNothingToWithdraw",
]);
const TOO_LATE = new Set([
  "JobEscrowDeadlinePassed",
  "JobEscrowSubmissionWindowClosed",
  "JobEscrowChallengeWindowClosed",
  "JobEscrowCommitWindowClosed",
  "JobEscrowRevealWindowClosed",
]);
const NOT_YET = new Set(["JobEscrowRevealNotOpen", "JobEscrowNotSettleable", "JobEscrowSeedPending"]);

/** Every custom error the protocol's contracts can revert with (the escrow's, through its libraries, too). */
export const PROTOCOL_ERRORS = new Interface([
  ...IJobEscrow__factory.abi.filter((f) => f.type === "error"),
  // The judge's own; it also reverts with two of the escrow's, listed above.
  ...ProvenJudge__factory.abi.filter((f) => f.type === "error" && f.name.startsWith("Proven")),
  ...IVerifierStaking__factory.abi.filter((f) => f.type === "error"),
  ...IModelRegistry__factory.abi.filter((f) => f.type === "error"),
]);

const TRANSIENT_CODES = new Set(["NETWORK_ERROR", "SERVER_ERROR", "TIMEOUT", "UNKNOWN_ERROR"]);
const TRANSIENT_TEXT =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|EPIPE|socket hang up|fetch failed|timeout|timed out|rate limit|too many requests|\b429\b|\b50[234]\b|header not found|missing trie node|network changed/i;
const NONCE_TEXT =
  /nonce too low|nonce has already been used|nonce too high|replacement (transaction )?underpriced|already known/i;

/** The revert data in an error, wherever the provider put it. */
function revertData(e: unknown, depth = 0): string | undefined {
  if (e === null || typeof e !== "object" || depth > 5) return undefined;
  const o = e as Record<string, unknown>;
  if (typeof o.data === "string" && /^0x[0-9a-fA-F]{8}/.test(o.data)) return o.data;
  for (const k of ["error", "info", "cause", "data"]) {
    const found = revertData(o[k], depth + 1);
    if (found) return found;
  }
  return undefined;
}

function messageOf(e: unknown): string {
  if (e instanceof Error) return (e as { shortMessage?: string }).shortMessage ?? e.message;
  return String(e);
}

/** Classifies an error from a call or a transaction. */
export function classifyError(e: unknown, iface: Interface = PROTOCOL_ERRORS): ClassifiedError {
  const data = revertData(e);
  if (data) {
    let parsed: ReturnType<Interface["parseError"]> = null;
    try {
      parsed = iface.parseError(data);
    } catch {
      parsed = null;
    }
    if (parsed) {
      const name = parsed.name;
      const args = [...parsed.args];
      const kind: ErrorKind = ALREADY_DONE.has(name)
        ? "already-done"
        : TOO_LATE.has(name)
          ? "too-late"
          : NOT_YET.has(name)
            ? "not-yet"
            : "revert";
      return { kind, name, args, message: `${name}(${args.map(String).join(", ")})` };
    }
    return { kind: "revert", message: `reverted with unknown data ${data.slice(0, 74)}` };
  }
  const code = (e as { code?: string })?.code;
  const message = messageOf(e);
  if (code === "NONCE_EXPIRED" || code === "REPLACEMENT_UNDERPRICED" || NONCE_TEXT.test(message)) {
    return { kind: "nonce", message };
  }
  if (code === "CALL_EXCEPTION") return { kind: "revert", message };
  if (code === "INSUFFICIENT_FUNDS") return { kind: "fatal", message };
  const sysCode = (e as { cause?: { code?: string } })?.cause?.code;
  if ((code && TRANSIENT_CODES.has(code)) || TRANSIENT_TEXT.test(`${message} ${sysCode ?? ""}`)) {
    return { kind: "transient", message };
  }
  return { kind: "fatal", message };
}

export interface RetryOptions {
  /** Retries after the first attempt. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs?: number;
  /** Which errors to retry; default: transient ones. */
  shouldRetry?: (e: unknown, c: ClassifiedError) => boolean;
  onRetry?: (e: ClassifiedError, attempt: number, delayMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
  signal?: AbortSignal;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with full jitter over [delay/2, delay]. */
export function backoffDelay(attempt: number, baseDelayMs: number, maxDelayMs = 30_000): number {
  const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
  return Math.round(delay / 2 + (Math.random() * delay) / 2);
}

/** Runs `fn`, retrying on retryable errors up to `retries` times with exponential backoff. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const wait = opts.sleep ?? sleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      const c = classifyError(e);
      const retry = opts.shouldRetry ? opts.shouldRetry(e, c) : c.kind === "transient";
      if (!retry || attempt >= opts.retries || opts.signal?.aborted) throw e;
      const delay = backoffDelay(attempt, opts.baseDelayMs, opts.maxDelayMs);
      opts.onRetry?.(c, attempt + 1, delay);
      await wait(delay);
    }
  }
}

/**
 * Why a transaction that was mined reverted: its receipt carries no reason, so the call is simulated again on the
 * state it met. A job that moved on between the simulation and the block (another party was first) is then
 * "already-done" or "too-late", a normal outcome; anything else keeps the revert as it was.
 */
async function reason(call: TxCall, mined: ClassifiedError): Promise<ClassifiedError> {
  try {
    await call.staticCall();
  } catch (e) {
    const c = classifyError(e);
    if (c.name !== undefined) return { ...c, message: `mined and reverted: ${c.message}` };
  }
  return mined;
}

/** A contract call to simulate and then send. */
export interface TxCall {
  staticCall(): Promise<unknown>;
  populate(): Promise<TransactionRequest>;
}

/** A TypeChain method bound to its arguments. */
export function txCall<A extends unknown[]>(
  method: { staticCall(...args: A): Promise<unknown>; populateTransaction(...args: A): Promise<TransactionRequest> },
  ...args: A
): TxCall {
  return { staticCall: () => method.staticCall(...args), populate: () => method.populateTransaction(...args) };
}

/** The part of a provider the sender uses (an ethers v6 `Provider` has all of it). */
export interface SenderProvider {
  getTransactionCount(address: string, blockTag?: string): Promise<number>;
  getFeeData(): Promise<{
    gasPrice: bigint | null;
    maxFeePerGas: bigint | null;
    maxPriorityFeePerGas: bigint | null;
  }>;
  getTransactionReceipt(hash: string): Promise<TransactionReceipt | null>;
  getBlockNumber(): Promise<number>;
  /** The chain's clock, for sends with a deadline; without it, a deadline only orders the queue. */
  getBlock?(tag: "latest"): Promise<{ timestamp: number } | null>;
}

/** The part of a signer the sender uses: an ethers `Wallet` on a provider, or a `HardhatEthersSigner`. */
export interface SenderSigner {
  getAddress(): Promise<string>;
  sendTransaction(tx: TransactionRequest): Promise<{ hash: string }>;
  provider: SenderProvider | null;
  /** When present, the gas limit is its estimate plus GAS_HEADROOM_PERCENT. */
  estimateGas?(tx: TransactionRequest): Promise<bigint>;
}

/**
 * Added to every gas estimate. An estimate is exact for the state it was simulated on, but a transaction that
 * draws a committee walks the sum tree along a path chosen by the seed and the verifiers' weights when it is
 * mined (a stake or an opt-in in between moves it; BlockhashRandomness moves an old ticket's seed every 256
 * blocks): an exact estimate runs out of gas on another path.
 */
export const GAS_HEADROOM_PERCENT = 25n;

/** The fee fields of one broadcast: EIP-1559's pair, or a legacy gas price on a chain without a base fee. */
export type Fees = { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | { gasPrice: bigint };

/** Nodes refuse a replacement that does not raise every fee field by at least this much (geth's default). */
const NODE_MIN_BUMP_PERCENT = 10n;

const maxOf = (a: bigint, b: bigint) => (a > b ? a : b);
const minOf = (a: bigint, b: bigint) => (a < b ? a : b);
/** `x` raised by `permille` thousandths, rounded up (so a 1-wei tip still moves). */
const raised = (x: bigint, permille: bigint) => (x * (1000n + permille) + 999n) / 1000n;

/**
 * The fees that replace `prev`: each field raised by `bumpPermille` and at least what the node asks now (`fresh`,
 * whose maxFeePerGas is twice the latest base fee plus the tip), within `cap`. Undefined when the cap leaves less
 * than the node's minimum raise: such a replacement would only be refused as underpriced.
 */
export function bumpFees(prev: Fees, fresh: Fees, bumpPermille: bigint, cap?: bigint): Fees | undefined {
  const capped = (x: bigint) => (cap !== undefined ? minOf(x, cap) : x);
  const enough = (next: bigint, before: bigint) => next * 100n >= before * (100n + NODE_MIN_BUMP_PERCENT);
  if ("gasPrice" in prev) {
    const freshPrice = "gasPrice" in fresh ? fresh.gasPrice : fresh.maxFeePerGas;
    const gasPrice = capped(maxOf(raised(prev.gasPrice, bumpPermille), freshPrice));
    return enough(gasPrice, prev.gasPrice) ? { gasPrice } : undefined;
  }
  const freshMax = "gasPrice" in fresh ? fresh.gasPrice : fresh.maxFeePerGas;
  const freshTip = "gasPrice" in fresh ? 0n : fresh.maxPriorityFeePerGas;
  const maxFeePerGas = capped(maxOf(raised(prev.maxFeePerGas, bumpPermille), freshMax));
  const maxPriorityFeePerGas = minOf(maxOf(raised(prev.maxPriorityFeePerGas, bumpPermille), freshTip), maxFeePerGas);
  if (!enough(maxFeePerGas, prev.maxFeePerGas) || !enough(maxPriorityFeePerGas, prev.maxPriorityFeePerGas)) {
    return undefined;
  }
  return { maxFeePerGas, maxPriorityFeePerGas };
}

export type TxOutcome =
  | { ok: true; hash: string; receipt: TransactionReceipt | null; result: unknown }
  | { ok: false; error: ClassifiedError; hash?: string };

/** How a send ended, as metrics count it. */
export type SendResult = "mined" | "skipped" | "reverted" | "failed" | "abandoned";

export interface SendOptions {
  /**
   * Looks at the simulation's result: a reason not to send (the call would do nothing, as a batch that skips
   * every item), or undefined to send. A skipped send is an "already-done" outcome, logged at debug level.
   */
  skipIf?: (simulated: unknown) => string | undefined;
  /**
   * Whether the caller reads the call's return value (`TxOutcome.result`). Without `skipIf` or `result`, the gas
   * estimate is the simulation (it reverts as the call would, with the same revert data), so the node runs the call
   * once before sending instead of twice.
   */
  result?: boolean;
  /**
   * Unix seconds of the chain's clock by which the transaction must be mined (a reveal: its reveal window's end).
   * Sends waiting for a nonce go earliest deadline first (no deadline: last, in call order), and the receipt
   * timeout shrinks so that every replacement still fits before it (see TxSender).
   */
  deadline?: number | bigint;
}

export interface SenderOptions {
  retries: number;
  baseDelayMs?: number;
  confirmations?: number;
  logger?: Logger;
  /** The backoff between retries (tests pass one that does not wait); receipts are polled on real timers. */
  sleep?: (ms: number) => Promise<void>;
  /** Observes every mined send's duration in seconds, from the call to `send` to its receipt. */
  onSent?: (seconds: number, label: string) => void;
  /** Called once per send with how it ended: mined; skipped (already done, too late, not yet, nothing to do);
   * reverted; failed (not mined: RPC errors past the retries, given up unmined, funds, a bug); abandoned (the
   * chain reorganised while it was in flight: `reset`). */
  onOutcome?: (label: string, result: SendResult) => void;
  /** Called each time a transaction is re-sent with higher fees; `replacements` counts them for this send. */
  onReplaced?: (label: string, replacements: number) => void;
  /** Transactions of the key broadcast and not yet mined, at most; more sends wait for a nonce. Default 16. */
  maxInFlight?: number;
  /** How long a broadcast transaction may go unmined before it is re-sent with higher fees. Default 30 000 ms. */
  receiptTimeoutMs?: number;
  /** The shortest receipt timeout a near deadline may bring. Default a quarter of receiptTimeoutMs. */
  minReceiptTimeoutMs?: number;
  /** Re-sends of one nonce with higher fees, at most. Default 4. */
  maxReplacements?: number;
  /** How much each replacement raises maxFeePerGas and the tip (or gasPrice), in percent; default 12.5. */
  bumpPercent?: number;
  /** The most this key pays per gas (maxFeePerGas, or gasPrice), in wei: fees and replacements stop there. */
  maxFeePerGas?: bigint;
  /** How often the receipts of a broadcast transaction are looked for. Default 1000 ms. */
  receiptPollMs?: number;
}

/** One send that has its transaction ready and waits for a nonce. */
interface Queued {
  seq: number;
  deadline: number;
  tx: TransactionRequest;
  retry: RetryOptions;
  resolve(b: Broadcast): void;
  reject(e: unknown): void;
}

/** A nonce's first broadcast. */
interface Broadcast {
  nonce: number;
  hash: string;
  fees: Fees;
  /** The sender's epoch when the nonce was counted: a reset since means the nonce may be stale. */
  epoch: number;
}

/** Why a send ended unmined: its nonce is left to the node (see TxSender). */
class NotMined extends Error {
  constructor(
    message: string,
    readonly nonceUsed: boolean,
    /** Given up because the chain reorganised under it (`reset`), not for want of fees. */
    readonly abandoned = false,
  ) {
    super(message);
  }
}

const revertedReceipt = (receipt: TransactionReceipt) =>
  Object.assign(new Error("transaction execution reverted"), { code: "CALL_EXCEPTION", receipt });

/**
 * The one owner of a key's nonce. A send simulates its call, builds the transaction, then waits in a queue that
 * only assigns nonces and broadcasts, one at a time, earliest deadline first; its receipt is awaited outside the
 * queue, so up to `maxInFlight` transactions of the key are pending at once and a slow one holds up no other duty.
 * A call that depends on another send's effect (an approve before a challenge) must await that send first.
 *
 * Fees are EIP-1559's from the node (twice the latest base fee plus the node's tip), or a legacy gas price on a
 * chain without a base fee, never above `maxFeePerGas`. A transaction not mined within the receipt timeout is
 * re-sent with the same nonce and data and every fee raised by `bumpPercent` (and to at least what the node asks
 * now), up to `maxReplacements` times; whichever of its broadcasts is mined is the outcome. A send with a deadline
 * shares the time left on the chain's clock between its remaining replacements: its timeout is the smaller of
 * `receiptTimeoutMs` and (time left) / (replacements left + 1), not below `minReceiptTimeoutMs`, so a reveal due
 * soon is re-priced sooner; past its deadline it keeps being replaced at the shortest timeout, since its nonce has to
 * be used before any later transaction of the key can be mined. For the same reason a transaction is re-priced with
 * the earliest deadline of its own and of every later transaction of the key in flight (a settlement holding up a
 * reveal is as urgent as the reveal), while one that waits behind an earlier unmined nonce of the key (the chain's
 * "latest" count is below its nonce) is not re-sent at all: only the earlier one's fees can unblock it. Such a wait
 * still counts against `maxReplacements`, so that every send ends.
 *
 * Nonce rule: the next nonce is counted locally from the node's "pending" count, read once. Whenever a broadcast
 * fails after its nonce was assigned (the node may or may not hold it), and whenever a send gives up unmined, the
 * count is read again from the node before the next assignment: a nonce the node never took is reused rather than
 * left as a gap that would block every later transaction.
 *
 * Never throws: the outcome says what happened.
 */
export class TxSender {
  private nextNonce: number | undefined;
  private address: string | undefined;
  private seq = 0;
  private readonly waiting: Queued[] = [];
  private pending = 0;
  /** Moves on when the chain reorganised under the key's transactions (`reset`). */
  private epoch = 0;
  private pumping = false;
  /** The deadline of every nonce in flight (Infinity: none). */
  private readonly deadlines = new Map<number, number>();

  constructor(
    readonly signer: SenderSigner,
    private readonly opts: SenderOptions,
  ) {}

  /** The nonce the next transaction will use, once known. */
  get pendingNonce(): number | undefined {
    return this.nextNonce;
  }

  /** Transactions broadcast and not yet mined (or given up). */
  /**
   * The chain reorganised: the key's transactions in flight may have left it (dropped, or back in the pool), so the
   * next nonce is read from the node again, and the sends in flight stop waiting and replacing: each ends unmined
   * ("transient") at its next look unless its receipt is there, and its caller reads the chain again and decides
   * anew. A dropped transaction is never re-sent over a nonce a new one may take.
   */
  reset(): void {
    this.epoch++;
    this.nextNonce = undefined;
  }

  get inFlight(): number {
    return this.pending;
  }

  /** Simulates and sends; resolves when the transaction is mined (or failed). `ctx` goes into every log line. */
  async send(
    label: string,
    call: TxCall,
    ctx: Record<string, unknown> = {},
    opts: SendOptions = {},
  ): Promise<TxOutcome> {
    const seq = this.seq++;
    const log = this.opts.logger?.child({ ...ctx, tx: label });
    const retry: RetryOptions = {
      retries: this.opts.retries,
      baseDelayMs: this.opts.baseDelayMs ?? 500,
      sleep: this.opts.sleep,
      onRetry: (c, attempt, delay) => log?.warn({ attempt, delay, err: c.message }, `${label}: retrying`),
    };
    const deadline = opts.deadline === undefined ? Infinity : Number(opts.deadline);
    const started = performance.now();
    let hash: string | undefined;
    try {
      this.address ??= await this.signer.getAddress();
      const tx = await withRetry(() => call.populate(), retry);
      // The call is simulated by staticCall when its return value is wanted, or when no gas estimate will run it.
      const estimated = tx.gasLimit == null && this.signer.estimateGas !== undefined;
      const simulate = opts.skipIf !== undefined || opts.result === true || !estimated;
      const result = simulate ? await withRetry(() => call.staticCall(), retry) : undefined;
      const skip = opts.skipIf?.(result);
      if (skip !== undefined) {
        log?.debug({ why: skip }, `${label}: not sent`);
        this.opts.onOutcome?.(label, "skipped");
        return { ok: false, error: { kind: "already-done", message: skip } };
      }
      if (tx.gasLimit == null && this.signer.estimateGas) {
        const estimate = await withRetry(() => this.signer.estimateGas!(tx), retry);
        tx.gasLimit = (estimate * (100n + GAS_HEADROOM_PERCENT)) / 100n;
      }
      const first = await new Promise<Broadcast>((resolve, reject) => {
        this.waiting.push({ seq, deadline, tx, retry, resolve, reject });
        this.pump();
      });
      hash = first.hash;
      this.deadlines.set(first.nonce, deadline);
      log?.debug({ txHash: hash, nonce: first.nonce, ...feeFields(first.fees) }, `${label}: sent`);
      let mined: { hash: string; receipt: TransactionReceipt };
      try {
        mined = await this.watch(label, tx, first, log);
      } finally {
        this.deadlines.delete(first.nonce);
        this.pending--;
        this.pump();
      }
      hash = mined.hash;
      if (mined.receipt.status === 0) throw revertedReceipt(mined.receipt);
      this.opts.onSent?.((performance.now() - started) / 1000, label);
      log?.info({ txHash: hash, gasUsed: mined.receipt.gasUsed?.toString() }, `${label}: mined`);
      this.opts.onOutcome?.(label, "mined");
      return { ok: true, hash, receipt: mined.receipt, result };
    } catch (e) {
      let error: ClassifiedError =
        e instanceof NotMined ? { kind: e.nonceUsed ? "nonce" : "transient", message: e.message } : classifyError(e);
      if (hash !== undefined && error.kind === "revert" && error.name === undefined) error = await reason(call, error);
      const fields = { txHash: hash, err: error.message, kind: error.kind };
      if (e instanceof NotMined && e.abandoned) {
        log?.warn(fields, `${label}: not waited for after a reorganisation`);
        this.opts.onOutcome?.(label, "abandoned");
        return { ok: false, error, hash };
      }
      if (error.kind === "already-done" || error.kind === "too-late" || error.kind === "not-yet") {
        log?.info(fields, `${label}: skipped (${error.kind})`);
        this.opts.onOutcome?.(label, "skipped");
      } else {
        log?.error(fields, `${label}: failed`);
        this.opts.onOutcome?.(label, error.kind === "revert" ? "reverted" : "failed");
      }
      return { ok: false, error, hash };
    }
  }

  private provider(): SenderProvider {
    const provider = this.signer.provider;
    if (!provider) throw new Error("the signer has no provider");
    return provider;
  }

  /** Assigns nonces and broadcasts, one send at a time, while fewer than maxInFlight are pending. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    void (async () => {
      try {
        while (this.waiting.length > 0 && this.pending < (this.opts.maxInFlight ?? 16)) {
          this.waiting.sort((a, b) => a.deadline - b.deadline || a.seq - b.seq);
          const next = this.waiting.shift()!;
          this.pending++;
          try {
            next.resolve(await this.broadcast(next));
          } catch (e) {
            this.pending--;
            next.reject(e);
          }
        }
      } finally {
        this.pumping = false;
      }
    })();
  }

  private async broadcast(q: Queued): Promise<Broadcast> {
    return withRetry(
      async () => {
        const provider = this.provider();
        const epoch = this.epoch;
        this.nextNonce ??= await provider.getTransactionCount(this.address!, "pending");
        const nonce = this.nextNonce;
        const fees = await this.fees();
        try {
          const sent = await this.signer.sendTransaction({ ...q.tx, nonce, ...fees });
          // A reset while this was sent leaves the count to the node.
          if (this.epoch === epoch) this.nextNonce = nonce + 1;
          return { nonce, hash: sent.hash, fees, epoch };
        } catch (e) {
          // The node may or may not hold this nonce now: read the count again rather than leave a gap.
          this.nextNonce = undefined;
          throw e;
        }
      },
      { ...q.retry, shouldRetry: (_e, c) => c.kind === "transient" || c.kind === "nonce" },
    );
  }

  /** What the node asks now, within the ceiling. */
  private async fees(): Promise<Fees> {
    const data = await this.provider().getFeeData();
    const cap = this.opts.maxFeePerGas;
    const capped = (x: bigint) => (cap !== undefined ? minOf(x, cap) : x);
    if (data.maxFeePerGas != null && data.maxPriorityFeePerGas != null) {
      const maxFeePerGas = capped(data.maxFeePerGas);
      return { maxFeePerGas, maxPriorityFeePerGas: minOf(data.maxPriorityFeePerGas, maxFeePerGas) };
    }
    if (data.gasPrice == null) throw new Error("the node reports neither a base fee nor a gas price");
    return { gasPrice: capped(data.gasPrice) };
  }

  /** The earliest deadline of `nonce` and of the key's later nonces in flight, which wait for it to be mined. */
  private urgency(nonce: number): number {
    let deadline = Infinity;
    for (const [n, d] of this.deadlines) if (n >= nonce && d < deadline) deadline = d;
    return deadline;
  }

  /** The receipt timeout of `nonce`'s next broadcast, `replaced` replacements in (see TxSender). */
  private async timeoutMs(nonce: number, replaced: number): Promise<number> {
    const full = this.opts.receiptTimeoutMs ?? 30_000;
    const deadline = this.urgency(nonce);
    const getBlock = this.signer.provider?.getBlock;
    if (deadline === Infinity || !getBlock) return full;
    const latest = await getBlock.call(this.signer.provider, "latest").catch(() => null);
    if (!latest) return full;
    const left = (deadline - latest.timestamp) * 1000;
    const shortest = this.opts.minReceiptTimeoutMs ?? full / 4;
    const remaining = Math.max(0, (this.opts.maxReplacements ?? 4) - replaced);
    return Math.max(shortest, Math.min(full, left / (remaining + 1)));
  }

  /**
   * Waits until one of the nonce's broadcasts is mined (with the confirmations asked), re-sending it with higher
   * fees each time the receipt timeout passes. A replacement the node refuses because the nonce is used ("nonce too
   * low") means one of the broadcasts is mined, or another transaction of the key took the nonce: receipts are
   * watched until the next timeout, then the send gives up. "Replacement underpriced" raises the next attempt's
   * fees further; "already known" changes nothing.
   */
  private async watch(
    label: string,
    tx: TransactionRequest,
    first: Broadcast,
    log: Logger | undefined,
  ): Promise<{ hash: string; receipt: TransactionReceipt }> {
    const provider = this.provider();
    const maxReplacements = this.opts.maxReplacements ?? 4;
    const bump = BigInt(Math.max(125, Math.round((this.opts.bumpPercent ?? 12.5) * 10)));
    const pollMs = this.opts.receiptPollMs ?? 1000;
    const hashes = [first.hash];
    let fees = first.fees;
    let timeouts = 0;
    let replacements = 0;
    let nonceUsed = false;
    // The timeout runs from the last broadcast (or attempt), and is worked out again when a later send of the
    // key brings an earlier deadline.
    let since = Date.now();
    let urgency = this.urgency(first.nonce);
    let due = since + (await this.timeoutMs(first.nonce, 0));
    for (;;) {
      const mined = await this.minedAmong(hashes);
      if (mined) return mined;
      if (this.epoch !== first.epoch) {
        throw new NotMined(
          `the chain reorganised while nonce ${first.nonce} was in flight: not waited for`,
          false,
          true,
        );
      }
      if (this.urgency(first.nonce) !== urgency) {
        urgency = this.urgency(first.nonce);
        due = since + (await this.timeoutMs(first.nonce, timeouts));
      }
      if (Date.now() >= due) {
        if (nonceUsed || timeouts >= maxReplacements) {
          this.nextNonce = undefined; // the node says what became of the nonce
          throw new NotMined(
            nonceUsed
              ? `nonce ${first.nonce} was used by none of this send's ${hashes.length} broadcasts`
              : `not mined after ${replacements} replacements (nonce ${first.nonce})`,
            nonceUsed,
          );
        }
        timeouts++;
        const confirmed = await provider.getTransactionCount(this.address!, "latest").catch(() => undefined);
        const next = bumpFees(fees, await this.fees().catch(() => fees), bump, this.opts.maxFeePerGas);
        if (confirmed !== undefined && confirmed < first.nonce) {
          log?.debug({ nonce: first.nonce, confirmed }, `${label}: waiting behind the key's earlier transactions`);
        } else if (!next) {
          log?.warn({ nonce: first.nonce, ...feeFields(fees) }, `${label}: not mined, and the fee ceiling is reached`);
        } else {
          try {
            const sent = await this.signer.sendTransaction({ ...tx, nonce: first.nonce, ...next });
            hashes.push(sent.hash);
            fees = next;
            replacements++;
            log?.warn(
              { txHash: sent.hash, replaces: hashes.at(-2), nonce: first.nonce, ...feeFields(next) },
              `${label}: not mined in time, re-sent with higher fees`,
            );
            this.opts.onReplaced?.(label, replacements);
          } catch (e) {
            const c = classifyError(e);
            if (/underpriced/i.test(c.message)) fees = next;
            else if (c.kind === "nonce" && !/already known/i.test(c.message)) nonceUsed = true;
            log?.warn({ nonce: first.nonce, err: c.message }, `${label}: replacement not accepted`);
          }
        }
        since = Date.now();
        urgency = this.urgency(first.nonce);
        due = since + (await this.timeoutMs(first.nonce, timeouts));
        continue; // a refused replacement may mean one of the broadcasts was just mined
      }
      await sleep(Math.min(pollMs, Math.max(1, due - Date.now())));
    }
  }

  /** The first of `hashes` mined with enough confirmations, if any; a failed look is a "not yet". */
  private async minedAmong(hashes: string[]): Promise<{ hash: string; receipt: TransactionReceipt } | undefined> {
    const provider = this.provider();
    const confirmations = this.opts.confirmations ?? 1;
    for (const hash of hashes) {
      try {
        const receipt = await provider.getTransactionReceipt(hash);
        if (!receipt) continue;
        if (confirmations > 1) {
          const head = await provider.getBlockNumber();
          if (head - receipt.blockNumber + 1 < confirmations) continue;
        }
        return { hash, receipt };
      } catch {
        // transient: looked for again on the next poll
      }
    }
    return undefined;
  }
}

function feeFields(fees: Fees): Record<string, string> {
  return Object.fromEntries(Object.entries(fees).map(([k, v]) => [k, String(v)]));
}
