/**
 * Reading the escrow's logs, through the SDK's LogReader (bounded ranges, retries with backoff, ranges the node
 * refuses split in halves, chain order), decoded with the escrow's ABI: the job events (reducer.ts) for the loop,
 * any event for verify-job. Transient errors are the service's (classifyError), and each retry is reported as the
 * service's other reads report theirs (`RetryOptions.onRetry`).
 */
import type { Log, LogDescription, Provider } from "ethers";
import type { JobEscrow } from "../../../typechain-types";
import { LogReader } from "../../../packages/sdk/src/events";
import { decodeJobEvent, JOB_EVENT_NAMES, type JobEvent } from "../loop/reducer";
import { classifyError, type RetryOptions } from "./sender";

/** One of the escrow's events, decoded. */
export interface ProtocolEvent {
  name: string;
  args: LogDescription["args"];
  log: Log;
}

export class EventReader {
  readonly logs: LogReader;
  private readonly jobTopics: string[];

  constructor(
    provider: Provider,
    private readonly escrow: JobEscrow,
    private readonly address: string,
    maxBlockRange: number,
    retry: RetryOptions,
  ) {
    this.logs = new LogReader(provider, {
      maxBlockRange,
      retries: retry.retries,
      baseDelayMs: retry.baseDelayMs,
      maxDelayMs: retry.maxDelayMs,
      sleep: retry.sleep,
      signal: retry.signal,
      isTransient: (e) => classifyError(e).kind === "transient",
      onRetry: ({ error, attempt, delayMs }) => retry.onRetry?.(classifyError(error), attempt, delayMs),
    });
    this.jobTopics = JOB_EVENT_NAMES.map((name) => escrow.interface.getEvent(name)!.topicHash);
  }

  /** Block ranges covering [from, to], each at most maxBlockRange blocks. */
  ranges(from: number, to: number): [number, number][] {
    return this.logs.ranges(from, to);
  }

  /** The job events in [fromBlock, toBlock] (reducer.ts), in chain order. */
  async jobEvents(fromBlock: number, toBlock: number): Promise<JobEvent[]> {
    const logs = await this.logs.logs({ address: this.address, topics: [this.jobTopics] }, fromBlock, toBlock);
    return logs.map((log) => decodeJobEvent(this.escrow.interface, log)).filter((e) => e !== undefined);
  }

  /** Every event of the escrow matching `topics` in [fromBlock, toBlock], decoded, in chain order. */
  async readAll(fromBlock: number, toBlock: number, topics?: (string | null)[]): Promise<ProtocolEvent[]> {
    const events: ProtocolEvent[] = [];
    for (const log of await this.logs.logs({ address: this.address, topics }, fromBlock, toBlock)) {
      let parsed: LogDescription | null;
      try {
        parsed = this.escrow.interface.parseLog(log);
      } catch {
        parsed = null;
      }
      if (parsed) events.push({ name: parsed.name, args: parsed.args, log });
    }
    return events;
  }
}
