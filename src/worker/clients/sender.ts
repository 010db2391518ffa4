/**
 * Sending transactions from one key: a single queue owns the key's nonce, every transaction is simulated
 * (`staticCall`) before it is sent, transient RPC errors are retried a bounded number of times with exponential
 * backoff, and reverts are classified by decoding the protocol's custom errors: "already done by someone else"
 * (a job no longer in the status the call needs) is a normal outcome, not a failure.
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

/** The part of a signer the sender uses. */
export interface SenderSigner {
  getAddress(): Promise<string>;
  sendTransaction(tx: TransactionRequest): Promise<{
    hash: string;
    wait(confirms?: number): Promise<TransactionReceipt | null>;
  }>;
  provider: { getTransactionCount(address: string, blockTag?: string): Promise<number> } | null;
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

export type TxOutcome =
  | { ok: true; hash: string; receipt: TransactionReceipt | null; result: unknown }
  | { ok: false; error: ClassifiedError; hash?: string };

export interface SendOptions {
  /**
   * Looks at the simulation's result: a reason not to send (the call would do nothing, as a batch that skips
   * every item), or undefined to send. A skipped send is an "already-done" outcome, logged at debug level.
   */
  skipIf?: (simulated: unknown) => string | undefined;
}

export interface SenderOptions {
  retries: number;
  baseDelayMs?: number;
  confirmations?: number;
  logger?: Logger;
  sleep?: (ms: number) => Promise<void>;
  /** Observes every send's duration in seconds. */
  onSent?: (seconds: number, label: string) => void;
}

/**
 * The one owner of a key's nonce. Sends run one at a time in call order: simulate, send with the next nonce,
 * wait for the receipt. Never throws: the outcome says what happened.
 */
export class TxSender {
  private tail: Promise<unknown> = Promise.resolve();
  private nextNonce: number | undefined;
  private address: string | undefined;

  constructor(
    readonly signer: SenderSigner,
    private readonly opts: SenderOptions,
  ) {}

  /** Queues a transaction; resolves when it is mined (or failed). `ctx` goes into every log line. */
  send(label: string, call: TxCall, ctx: Record<string, unknown> = {}, opts: SendOptions = {}): Promise<TxOutcome> {
    const run = this.tail.then(() => this.run(label, call, ctx, opts));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** The nonce the next transaction will use, once known. */
  get pendingNonce(): number | undefined {
    return this.nextNonce;
  }

  private async run(label: string, call: TxCall, ctx: Record<string, unknown>, opts: SendOptions): Promise<TxOutcome> {
    const log = this.opts.logger?.child({ ...ctx, tx: label });
    const retry: RetryOptions = {
      retries: this.opts.retries,
      baseDelayMs: this.opts.baseDelayMs ?? 500,
      sleep: this.opts.sleep,
      onRetry: (c, attempt, delay) => log?.warn({ attempt, delay, err: c.message }, `${label}: retrying`),
    };
    const started = performance.now();
    let hash: string | undefined;
    try {
      this.address ??= await this.signer.getAddress();
      const result = await withRetry(() => call.staticCall(), retry);
      const skip = opts.skipIf?.(result);
      if (skip !== undefined) {
        log?.debug({ why: skip }, `${label}: not sent`);
        return { ok: false, error: { kind: "already-done", message: skip } };
      }
      const tx = await withRetry(() => call.populate(), retry);
      if (tx.gasLimit == null && this.signer.estimateGas) {
        const estimate = await withRetry(() => this.signer.estimateGas!(tx), retry);
        tx.gasLimit = (estimate * (100n + GAS_HEADROOM_PERCENT)) / 100n;
      }
      const response = await withRetry(
        async () => {
          if (this.nextNonce === undefined) {
            const provider = this.signer.provider;
            if (!provider) throw new Error("the signer has no provider");
            this.nextNonce = await provider.getTransactionCount(this.address!, "pending");
          }
          try {
            const sent = await this.signer.sendTransaction({ ...tx, nonce: this.nextNonce });
            this.nextNonce++;
            return sent;
          } catch (e) {
            // Whatever happened to the nonce, read it again from the node next time.
            this.nextNonce = undefined;
            throw e;
          }
        },
        { ...retry, shouldRetry: (_e, c) => c.kind === "transient" || c.kind === "nonce" },
      );
      hash = response.hash;
      log?.debug({ txHash: hash }, `${label}: sent`);
      const receipt = await withRetry(() => response.wait(this.opts.confirmations ?? 1), retry);
      this.opts.onSent?.((performance.now() - started) / 1000, label);
      log?.info({ txHash: hash, gasUsed: receipt?.gasUsed?.toString() }, `${label}: mined`);
      return { ok: true, hash, receipt, result };
    } catch (e) {
      let error = classifyError(e);
      if (hash !== undefined && error.kind === "revert" && error.name === undefined) error = await reason(call, error);
      const fields = { txHash: hash, err: error.message, kind: error.kind };
      if (error.kind === "already-done" || error.kind === "too-late" || error.kind === "not-yet") {
        log?.info(fields, `${label}: skipped (${error.kind})`);
      } else {
        log?.error(fields, `${label}: failed`);
      }
      return { ok: false, error, hash };
    }
  }
}
