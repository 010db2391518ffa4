/**
 * Reading logs from any JSON-RPC node: one `eth_getLogs` per bounded block range, transient errors retried with
 * exponential backoff, a range the node refuses ("query returned more than 10000 results", "block range too large",
 * "limit exceeded") halved until it is accepted, and the logs returned in chain order (block, then log index).
 *
 * Nodes cap `eth_getLogs` by block range (a fixed number of blocks) or by result count (which depends on how busy
 * the blocks were), so the largest range is a setting and the reader learns a smaller one from refusals: after a
 * refusal it keeps the span that worked, and tries a doubled one again after GROW_AFTER ranges in a row succeed.
 */
import {
  EventLog,
  Log,
  UndecodedEventLog,
  type BaseContract,
  type ContractEventName,
  type EventFragment,
  type Provider,
  type TopicFilter,
} from "ethers";

/** Blocks per eth_getLogs unless told otherwise: the cap of the most common public endpoints. */
export const DEFAULT_MAX_BLOCK_RANGE = 10_000;
/** Successful ranges in a row after which a span halved by a refusal is doubled again (up to the maximum). */
const GROW_AFTER = 8;

/** What to read: a contract's address (or several) and topics, as `eth_getLogs` takes them. */
export interface LogFilter {
  address?: string | string[];
  topics?: TopicFilter;
}

export interface LogReaderOptions {
  /** The largest block range of one eth_getLogs (default DEFAULT_MAX_BLOCK_RANGE). */
  maxBlockRange?: number;
  /** Retries of one range after the first attempt, on transient errors (default 3). */
  retries?: number;
  /** The first backoff delay, doubled on each retry with jitter (default 250 ms), up to `maxDelayMs` (30 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Which errors are worth retrying (default `isTransientRpcError`). A refused range is split, never retried. */
  isTransient?: (error: unknown) => boolean;
  onRetry?: (retry: { error: unknown; attempt: number; delayMs: number; fromBlock: number; toBlock: number }) => void;
  /** Called when the node refused a range: it is read again with half the span. */
  onSplit?: (split: { error: unknown; fromBlock: number; toBlock: number }) => void;
  /** Stops retrying (the error in hand is thrown) once aborted. */
  signal?: AbortSignal;
  sleep?: (ms: number) => Promise<void>;
}

/** Every message in an error and its causes (ethers nests the node's own message in `error`, `info` or `cause`). */
function messagesOf(e: unknown, depth = 0): string {
  if (e === null || typeof e !== "object" || depth > 4) return typeof e === "string" ? e : "";
  const o = e as Record<string, unknown>;
  const own = [o.message, o.shortMessage].filter((m) => typeof m === "string").join(" ");
  return [own, ...["error", "info", "cause", "data"].map((k) => messagesOf(o[k], depth + 1))].join(" ");
}

const RATE_LIMITED = /rate.?limit|too many requests|\b429\b|request count exceeded|capacity exceeded/i;
const RANGE_REFUSED =
  /more than \d[\d,]* results|exceeds? (the )?max(imum)? (results|block range|range)|(block )?range (is )?too (large|wide|big)|too many (results|blocks|logs)|(response size|log limit|results limit|block limit|limit) exceeded|limited to (a )?[\d,]+ (block )?range|max(imum)? block range|block range (limit|exceeded)/i;
const TRANSIENT_CODES = new Set(["NETWORK_ERROR", "SERVER_ERROR", "TIMEOUT", "UNKNOWN_ERROR"]);
const TRANSIENT_TEXT =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|EPIPE|socket hang up|fetch failed|failed to fetch|NetworkError when attempting to fetch|load failed|timeout|timed out|\b50[234]\b|header not found|missing trie node|network changed/i;

/** Whether a node refused an eth_getLogs for its range or result count (not a rate limit): read a smaller range. */
export function isRangeRefused(e: unknown): boolean {
  const text = messagesOf(e);
  return !RATE_LIMITED.test(text) && RANGE_REFUSED.test(text);
}

/** Whether an RPC error may pass if the call is made again: network, timeout, rate limit, node hiccup. */
export function isTransientRpcError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  const text = messagesOf(e);
  const sysCode = (e as { cause?: { code?: string } })?.cause?.code ?? "";
  return (
    (typeof code === "string" && TRANSIENT_CODES.has(code)) ||
    RATE_LIMITED.test(text) ||
    TRANSIENT_TEXT.test(`${text} ${sysCode}`)
  );
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const inChainOrder = (a: Log, b: Log): number => a.blockNumber - b.blockNumber || a.index - b.index;

/** One reader per provider and caller: it remembers the span its node accepts. */
export class LogReader {
  readonly maxBlockRange: number;
  private current: number;
  private successes = 0;

  constructor(
    readonly provider: Provider,
    private readonly options: LogReaderOptions = {},
  ) {
    const max = options.maxBlockRange ?? DEFAULT_MAX_BLOCK_RANGE;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxBlockRange must be a positive integer, got ${max}`);
    this.maxBlockRange = max;
    this.current = max;
  }

  /** The span of the next range read: maxBlockRange, or less after the node refused a range. */
  get span(): number {
    return this.current;
  }

  /** Block ranges covering [from, to], each at most maxBlockRange blocks, in order. */
  ranges(from: number, to: number): [number, number][] {
    const out: [number, number][] = [];
    for (let a = from; a <= to; a += this.maxBlockRange) out.push([a, Math.min(to, a + this.maxBlockRange - 1)]);
    return out;
  }

  /** The logs matching `filter` in [fromBlock, toBlock] (default: the latest block), in chain order. */
  async logs(filter: LogFilter, fromBlock: number, toBlock?: number): Promise<Log[]> {
    const to = toBlock ?? (await this.latest());
    const out: Log[] = [];
    for (let a = fromBlock; a <= to;) {
      const b = Math.min(to, a + this.current - 1);
      const logs = await this.range(filter, a, b);
      if (logs === undefined) continue; // refused: read again from `a` with the halved span
      out.push(...logs);
      a = b + 1;
    }
    return out;
  }

  /**
   * The events of `contract` matching `event` (a name, a filter such as `escrow.filters.JobSettled(id)`, or topics)
   * in [fromBlock, toBlock], decoded as `contract.queryFilter` decodes them: EventLog when the contract's ABI has the
   * event, else Log.
   */
  async events(
    contract: BaseContract,
    event: ContractEventName,
    fromBlock: number,
    toBlock?: number,
  ): Promise<(EventLog | Log)[]> {
    const { fragment, topics } = await topicsOf(contract, event);
    const logs = await this.logs({ address: await contract.getAddress(), topics }, fromBlock, toBlock);
    return logs.map((log) => {
      let found: EventFragment | null = fragment;
      if (found === null) {
        try {
          found = contract.interface.getEvent(log.topics[0]);
        } catch {
          found = null;
        }
      }
      if (found === null) return log;
      try {
        return new EventLog(log, contract.interface, found);
      } catch (e) {
        return new UndecodedEventLog(log, e as Error);
      }
    });
  }

  /** The latest block's number: from the block itself, since getBlockNumber may answer from a cache. */
  private async latest(): Promise<number> {
    const block = await this.retrying(() => this.provider.getBlock("latest"), 0, 0);
    if (!block) throw new Error("the node returned no latest block");
    return block.number;
  }

  /**
   * One range, retried on transient errors and sorted into chain order; undefined when the node refused it, the
   * span then halved.
   */
  private async range(filter: LogFilter, fromBlock: number, toBlock: number): Promise<Log[] | undefined> {
    let logs: Log[];
    try {
      logs = await this.retrying(() => this.provider.getLogs({ ...filter, fromBlock, toBlock }), fromBlock, toBlock);
    } catch (e) {
      if (fromBlock === toBlock || !isRangeRefused(e)) throw e;
      this.options.onSplit?.({ error: e, fromBlock, toBlock });
      this.current = Math.ceil((toBlock - fromBlock + 1) / 2);
      this.successes = 0;
      return undefined;
    }
    if (
      this.current < this.maxBlockRange &&
      toBlock - fromBlock + 1 >= this.current &&
      ++this.successes >= GROW_AFTER
    ) {
      this.current = Math.min(this.maxBlockRange, this.current * 2);
      this.successes = 0;
    }
    return [...logs].sort(inChainOrder);
  }

  private async retrying<T>(call: () => Promise<T>, fromBlock: number, toBlock: number): Promise<T> {
    const o = this.options;
    const retries = o.retries ?? 3;
    const isTransient = o.isTransient ?? isTransientRpcError;
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (e) {
        if (isRangeRefused(e) || !isTransient(e) || attempt >= retries || o.signal?.aborted) throw e;
        const full = Math.min(o.maxDelayMs ?? 30_000, (o.baseDelayMs ?? 250) * 2 ** attempt);
        const delayMs = Math.round(full / 2 + (Math.random() * full) / 2);
        o.onRetry?.({ error: e, attempt: attempt + 1, delayMs, fromBlock, toBlock });
        await (o.sleep ?? defaultSleep)(delayMs);
      }
    }
  }
}

/** The topics of `event` on `contract`, and its fragment when it names one event. */
async function topicsOf(
  contract: BaseContract,
  event: ContractEventName,
): Promise<{ fragment: EventFragment | null; topics: TopicFilter }> {
  if (Array.isArray(event)) return { fragment: null, topics: event };
  if (typeof event === "string") {
    if (event === "*") return { fragment: null, topics: [] };
    const fragment = contract.interface.getEvent(event);
    if (!fragment) throw new Error(`the contract has no event ${event}`);
    return { fragment, topics: [fragment.topicHash] };
  }
  if ("getTopicFilter" in event) return { fragment: event.fragment, topics: await event.getTopicFilter() };
  // A contract event (`contract.getEvent(name)`): every log of it.
  const fragment = event.getFragment();
  return { fragment, topics: [fragment.topicHash] };
}
