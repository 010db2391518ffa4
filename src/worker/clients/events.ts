/**
 * Reading the escrow's logs: in block ranges of at most `maxBlockRange`, each read retried with backoff on
 * transient errors, decoded with the escrow's ABI and returned in chain order.
 */
import type { Log, LogDescription, Provider } from "ethers";
import type { JobEscrow } from "../../../typechain-types";
import { decodeJobEvent, JOB_EVENT_NAMES, type JobEvent } from "../loop/reducer";
import { withRetry, type RetryOptions } from "./sender";

/** The topics of the job events, for one eth_getLogs that reads them all. */
const JOB_TOPICS = (escrow: JobEscrow): string[] =>
  JOB_EVENT_NAMES.map((name) => escrow.interface.getEvent(name)!.topicHash);

/** The escrow's events in [fromBlock, toBlock], decoded, in chain order. */
export interface ProtocolEvent {
  name: string;
  args: LogDescription["args"];
  log: Log;
}

export class EventReader {
  constructor(
    private readonly provider: Provider,
    private readonly escrow: JobEscrow,
    private readonly address: string,
    private readonly maxBlockRange: number,
    private readonly retry: RetryOptions,
  ) {}

  /** Block ranges covering [from, to], each at most maxBlockRange blocks. */
  ranges(from: number, to: number): [number, number][] {
    const out: [number, number][] = [];
    for (let a = from; a <= to; a += this.maxBlockRange) out.push([a, Math.min(to, a + this.maxBlockRange - 1)]);
    return out;
  }

  async read(fromBlock: number, toBlock: number, topics?: (string | null)[]): Promise<ProtocolEvent[]> {
    const logs = await withRetry(
      () => this.provider.getLogs({ address: this.address, fromBlock, toBlock, topics }),
      this.retry,
    );
    const events: ProtocolEvent[] = [];
    for (const log of logs) {
      let parsed: LogDescription | null = null;
      try {
        parsed = this.escrow.interface.parseLog(log);
      } catch {
        parsed = null;
      }
      if (parsed) events.push({ name: parsed.name, args: parsed.args, log });
    }
    events.sort((a, b) => a.log.blockNumber - b.log.blockNumber || a.log.index - b.log.index);
    return events;
  }

  /** The job events in [fromBlock, toBlock] (reducer.ts), in chain order. */
  async jobEvents(fromBlock: number, toBlock: number): Promise<JobEvent[]> {
    const logs = await withRetry(
      () => this.provider.getLogs({ address: this.address, fromBlock, toBlock, topics: [JOB_TOPICS(this.escrow)] }),
      this.retry,
    );
    const events: JobEvent[] = [];
    for (const log of logs) {
      const event = decodeJobEvent(this.escrow.interface, log);
      if (event) events.push(event);
    }
    return events.sort((a, b) => a.log.blockNumber - b.log.blockNumber || a.log.index - b.log.index);
  }

  /** Every matching event from `fromBlock` to `toBlock`, in bounded ranges. */
  async readAll(fromBlock: number, toBlock: number, topics?: (string | null)[]): Promise<ProtocolEvent[]> {
    const out: ProtocolEvent[] = [];
    for (const [a, b] of this.ranges(fromBlock, toBlock)) out.push(...(await this.read(a, b, topics)));
    return out;
  }
}
