/**
 * The two reads that start a tick. `ingest` reads the escrow's events from the cursor up to the head minus the
 * confirmations, folds each one not applied yet into the job records (reducer.ts), and saves the cursor after each
 * range; `viewOf` reads the chain's time and the state of every open job, and drops the jobs that are over.
 */
import { JobOutcome, JobStatus } from "../../../packages/sdk/src/params";
import { chainTime } from "../clients/chain";
import type { EventReader } from "../clients/events";
import { withRetry } from "../clients/sender";
import { eventKey } from "../state/cursor";
import type { RoleContext, TickView } from "./context";
import { jobKey, reduce } from "./reducer";

const outcomeName = (outcome: number): string =>
  Object.keys(JobOutcome).find((k) => JobOutcome[k as keyof typeof JobOutcome] === outcome) ?? String(outcome);

const TERMINAL = new Set<number>([JobStatus.Settled, JobStatus.Rejected, JobStatus.Refunded]);

/** Applies the escrow's new events to the open jobs, up to the head minus `confirmations`. */
export async function ingest(ctx: RoleContext, reader: EventReader, confirmations: number): Promise<void> {
  const { cursor, metrics, salts, log } = ctx;
  const head = await withRetry(() => ctx.provider.getBlockNumber(), ctx.retry);
  metrics.headBlock.set(head);
  metrics.lagBlocks.set(Math.max(0, head - cursor.block));
  const to = head - confirmations;
  if (to <= cursor.block) return;
  for (const [a, b] of reader.ranges(cursor.block + 1, to)) {
    for (const event of await reader.jobEvents(a, b)) {
      const key = eventKey(event.log);
      if (cursor.seen(key, event.log.blockNumber)) continue;
      const id = jobKey(event);
      const before = cursor.jobs.get(id);
      const after = reduce(before, event);
      if (after) cursor.jobs.set(id, after);
      else cursor.jobs.delete(id);
      if (!before && after) {
        metrics.jobsSeen.inc();
        log.debug({ jobId: id, nonce: after.job.nonce }, "job requested");
      }
      if (before && !after) salts.delete(id);
      if (before && event.name === "JobSettled") {
        metrics.jobsEnded.inc({ outcome: outcomeName(Number(event.args.outcome)) });
      }
      cursor.markProcessed(key);
    }
    cursor.advance(b);
    cursor.save();
    metrics.cursorBlock.set(b);
    metrics.lagBlocks.set(Math.max(0, head - b));
  }
}

/** The chain's time and each open job's state; jobs that are over for this account leave the records. */
export async function viewOf(ctx: RoleContext): Promise<TickView> {
  const { cursor, contracts, salts } = ctx;
  const view: TickView = { now: await withRetry(() => chainTime(ctx.provider), ctx.retry), states: new Map() };
  for (const [id, rec] of [...cursor.jobs]) {
    const state = await withRetry(() => contracts.escrow.jobState(rec.job.id), ctx.retry);
    const expired =
      Number(state.status) === JobStatus.Requested && view.now > Number(rec.job.deadline) && !ctx.settleAll;
    if (TERMINAL.has(Number(state.status)) || expired) {
      // Settled (its JobSettled event may be below the confirmation depth), or expired unclaimed: nothing
      // left for this account to do (the requester's refund path applies).
      cursor.jobs.delete(id);
      salts.delete(id);
    } else view.states.set(id, state);
  }
  ctx.metrics.openJobs.set(cursor.jobs.size);
  return view;
}
