/**
 * What the roles share within one service: contracts, sender, model store, metrics, logger, the cursor's open
 * jobs, and this tick's view of the chain (time and each open job's state).
 */
import type { Provider } from "ethers";
import type { Logger } from "pino";
import type { IJobEscrow } from "../../../typechain-types";
import type { Tensor } from "../../../packages/sdk/src/codec";
import type { Contracts, JobRecord } from "../clients/chain";
import type { Fault } from "../config/config";
import type { Cursor } from "../state/cursor";
import { JobFailure, executeJob, executeProvenJob, type ExecuteDeps, type ProvenRun } from "../compute/execute";
import type { Metrics } from "./metrics";
import type { SaltStore } from "../state/salts";
import type { RetryOptions, TxSender } from "../clients/sender";
import type { LogReader } from "../../../packages/sdk/src/events";
import type pLimit from "p-limit";

export interface RoleContext {
  provider: Provider;
  address: string;
  contracts: Contracts;
  sender: TxSender;
  deps: ExecuteDeps;
  metrics: Metrics;
  log: Logger;
  cursor: Cursor<JobRecord>;
  salts: SaltStore;
  fault: Fault;
  settleAll: boolean;
  /** The most jobs one batched transaction carries (submitResults). */
  maxBatch: number;
  withdrawAt?: bigint;
  signal: AbortSignal;
  /** Retries of the service's reads on transient errors. */
  retry: RetryOptions;
  /** The service's log reader (the one the loop reads the escrow's events with). */
  logs: LogReader;
  /** Runs `fn` under the service's concurrency limit (the `concurrency` setting). */
  limit: pLimit.Limit;
}

/** This tick's view: the chain's time and the state of every open job (terminal ones already dropped). */
export interface TickView {
  now: number;
  states: Map<string, IJobEscrow.JobStateStructOutput>;
}

export const same = (a: string | undefined, b: string | undefined): boolean =>
  !!a && !!b && a.toLowerCase() === b.toLowerCase();

/** Runs a job's inference with metrics and logs; a JobFailure is counted by reason and rethrown. */
export function runJob(ctx: RoleContext, rec: JobRecord, purpose: string): Promise<Tensor[]> {
  return measured(ctx, rec, purpose, () => executeJob(ctx.deps, rec));
}

/** Computes a Proven job's trace (executeProvenJob) as runJob runs an inference. */
export function runProvenJob(ctx: RoleContext, rec: JobRecord, purpose: string): Promise<ProvenRun> {
  return measured(ctx, rec, purpose, () => executeProvenJob(ctx.deps, rec));
}

/** Runs `run` (an inference or a check of one) under the concurrency limit, timed and counted as runJob. */
export async function measured<T>(
  ctx: RoleContext,
  rec: JobRecord,
  purpose: string,
  run: () => Promise<T>,
): Promise<T> {
  return ctx.limit(async () => {
    const started = performance.now();
    try {
      const result = await run();
      ctx.metrics.inferenceSeconds.observe((performance.now() - started) / 1000);
      ctx.metrics.jobsComputed.inc();
      ctx.log.debug({ jobId: rec.job.id, purpose }, "inference done");
      return result;
    } catch (e) {
      // A job waiting on a source in its backoff fetched nothing this time: not one more failure.
      if (e instanceof JobFailure && !e.waiting) ctx.metrics.jobsFailed.inc({ reason: e.reason });
      throw e;
    }
  });
}
