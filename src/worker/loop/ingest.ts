/**
 * The two reads that start a tick. `ingest` checks that the cursor's last block is still on the chain (rewinding
 * past a reorganisation), reads the escrow's events from the cursor up to the head minus the confirmations, folds
 * each one not applied yet into the job records (reducer.ts), and saves the cursor after each range; `viewOf` reads
 * the chain's time and the state of every open job at once, and drops the jobs that are over.
 */
import type { IJobEscrow } from "../../../typechain-types";
import { isTerminalStatus, JobOutcome, JobStatus, nameOf } from "../../../packages/sdk/src/params";
import { chainHead } from "../clients/chain";
import type { EventReader } from "../clients/events";
import { classifyError, withRetry } from "../clients/sender";
import { eventKey } from "../state/cursor";
import type { RoleContext, TickView } from "./context";
import { jobKey, reduce } from "./reducer";

/** The hash of block `n` on the chain now; undefined when the chain has no such block (it got shorter). */
async function hashOf(ctx: RoleContext, n: number): Promise<string | undefined> {
  return (await withRetry(() => ctx.provider.getBlock(n), ctx.retry))?.hash ?? undefined;
}

/**
 * The hashes of blocks [from, to], read at once (one JSON-RPC batch); undefined when one of them is not on the
 * chain any more (it got shorter since the head was read: a reorganisation under way).
 */
async function hashesOf(ctx: RoleContext, from: number, to: number): Promise<[number, string][] | undefined> {
  const blocks = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const hashes = await Promise.all(blocks.map((n) => hashOf(ctx, n)));
  if (hashes.some((h) => h === undefined)) return undefined;
  return blocks.map((n, i) => [n, hashes[i]!]);
}

/**
 * A block the cursor applied left the chain: rewinds to the newest block whose hash the cursor kept and the chain
 * still has (the last common block, as far as the kept hashes tell), putting the job records back as they were
 * there; the events above it are read again. Past the kept history, starts over from the start block.
 */
async function rewind(ctx: RoleContext): Promise<void> {
  const { cursor, metrics, log } = ctx;
  const checkpoints = cursor.checkpoints();
  const onChain = await Promise.all(checkpoints.map(([n]) => hashOf(ctx, n)));
  const common = checkpoints.find(([, hash], i) => onChain[i] === hash);
  const from = cursor.block;
  const done = common ? cursor.rewind(common[0]) : cursor.reset();
  ctx.sender.reset();
  metrics.reorgs.inc();
  metrics.reorgDepth.set(done.depth);
  metrics.cursorBlock.set(cursor.block);
  const fields = { from, to: cursor.block, depth: done.depth, dropped: done.dropped, restored: done.restored };
  if (common) log.warn(fields, "chain reorganisation: rewound the cursor to the last common block");
  else log.error(fields, `chain reorganisation deeper than ${cursor.history} blocks: reading again from the start`);
  cursor.save();
}

/**
 * Applies the escrow's new events to the open jobs, up to the head minus `confirmations`, after checking that the
 * cursor's block is still on the chain (else rewinding first). Returns how many events it applied.
 */
export async function ingest(ctx: RoleContext, reader: EventReader, confirmations: number): Promise<number> {
  const { cursor, metrics, salts, log } = ctx;
  let applied = 0;
  const tip = cursor.tip;
  const [head, tipNow] = await Promise.all([
    withRetry(() => ctx.provider.getBlockNumber(), ctx.retry),
    tip && hashOf(ctx, tip.block),
  ]);
  if (tip && tipNow !== tip.hash) await rewind(ctx);
  metrics.headBlock.set(head);
  metrics.lagBlocks.set(Math.max(0, head - cursor.block));
  const to = head - confirmations;
  if (to <= cursor.block) return applied;
  for (const [a, b] of reader.ranges(cursor.block + 1, to)) {
    // The hashes before the events: a reorganisation between the two reads leaves a hash of the old chain, which
    // the next tick's check finds. Only the blocks within the history of `to` are kept, and the range's last.
    const hashes = await hashesOf(ctx, Math.max(a, Math.min(b, to - cursor.history)), b);
    if (!hashes) {
      // The chain got shorter under this read: the next tick's check finds where it forked.
      log.info({ from: a, to: b, head }, "the chain is shorter than its head said: reading again next tick");
      return applied;
    }
    for (const event of await reader.jobEvents(a, b)) {
      const key = eventKey(event.log);
      if (cursor.seen(key, event.log.blockNumber)) continue;
      const id = jobKey(event);
      const before = cursor.jobs.get(id);
      const after = reduce(before, event);
      cursor.apply(event.log.blockNumber, id, after);
      if (!before && after) {
        metrics.jobsSeen.inc();
        log.debug({ jobId: id, nonce: after.job.nonce }, "job requested");
      }
      if (before && !after) salts.delete(id);
      if (before && event.name === "JobSettled") {
        const outcome = event.args.outcome;
        metrics.jobsEnded.inc({ outcome: nameOf(JobOutcome, outcome) ?? String(outcome) });
      }
      cursor.markProcessed(key);
      applied++;
    }
    cursor.advance(b, hashes);
    cursor.save();
    metrics.cursorBlock.set(b);
    metrics.lagBlocks.set(Math.max(0, head - b));
  }
  return applied;
}

/**
 * The escrow's state of a job; undefined when the chain has no such job: its request was in blocks a reorganisation
 * dropped after this tick's check, which the next tick's finds (the job then leaves the records).
 */
async function jobStateOf(ctx: RoleContext, id: string): Promise<IJobEscrow.JobStateStructOutput | undefined> {
  try {
    return await withRetry(() => ctx.contracts.escrow.jobState(id), ctx.retry);
  } catch (e) {
    if (classifyError(e).name !== "JobEscrowUnknownJob") throw e;
    ctx.log.debug({ jobId: id }, "job not on the chain (a reorganisation): left out of this tick");
    return undefined;
  }
}

/** The chain's time and each open job's state; jobs that are over for this account leave the records. */
export async function viewOf(ctx: RoleContext): Promise<TickView> {
  const { cursor, contracts, salts } = ctx;
  // Issued together, so that a JSON-RPC provider sends them as one batch: one round trip per tick, not one per job.
  const open = [...cursor.jobs];
  const [head, states] = await Promise.all([
    withRetry(() => chainHead(ctx.provider), ctx.retry),
    Promise.all(open.map(([, rec]) => jobStateOf(ctx, rec.job.id))),
  ]);
  const view: TickView = { now: head.timestamp, states: new Map() };
  for (const [i, [id, rec]] of open.entries()) {
    const state = states[i];
    if (state === undefined) continue;
    const expired =
      Number(state.status) === JobStatus.Requested && view.now > Number(rec.job.deadline) && !ctx.settleAll;
    if (isTerminalStatus(state.status) || expired) {
      // Settled (its JobSettled event may be below the confirmation depth), or expired unclaimed: nothing
      // left for this account to do (the requester's refund path applies). Journalled as of the head it was read
      // at, so that a reorganisation below it puts the record back.
      cursor.apply(head.number, id, undefined);
      salts.delete(id);
    } else view.states.set(id, state);
  }
  ctx.metrics.openJobs.set(cursor.jobs.size);
  return view;
}
