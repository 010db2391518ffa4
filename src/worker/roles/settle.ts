/**
 * The settle role, which every service runs: settle the due jobs this account has a stake in, and withdraw the
 * escrow balance once it reaches the configured amount.
 */
import type { IJobEscrow } from "../../../typechain-types";
import { JobStatus } from "../../../packages/sdk/src/params";
import type { JobRecord } from "../clients/chain";
import { txCall } from "../clients/sender";
import { same, type RoleContext, type TickView } from "../loop/context";
import type { Role } from "./role";

export class SettleRole implements Role {
  readonly name = "settle";

  constructor(private readonly ctx: RoleContext) {}

  tick(view: TickView): Promise<void> {
    return settle(this.ctx, view);
  }
}

/**
 * Settles due jobs this account has a stake in: as their worker at once, as committee member or challenger
 * once the reveal or challenge window is well past (the worker normally settles first), as worker or challenger
 * a job left undrawn past its draw-by (Inconclusive); all due jobs with `settleAll`. Then withdraws when the balance reaches `withdrawAt`.
 */
async function settle(ctx: RoleContext, view: TickView): Promise<void> {
  const { escrow } = ctx.contracts;
  const candidates: JobRecord[] = [];
  for (const rec of ctx.cursor.jobs.values()) {
    const state = view.states.get(rec.job.id);
    if (!state) continue;
    const status = Number(state.status);
    const mine = same(state.worker, ctx.address);
    const voter = rec.committee?.some((a) => same(a, ctx.address)) || same(rec.challenger, ctx.address);
    let candidate = false;
    if (status === JobStatus.Requested) candidate = ctx.settleAll && view.now > Number(rec.job.deadline);
    else if (status === JobStatus.Claimed || status === JobStatus.Submitted) {
      candidate = (mine || ctx.settleAll) && view.now > Number(state.windowEnd);
    } else if (status === JobStatus.Drawing) {
      // Not drawn by draw-by: settling draws it if its seed exists, else ends it Inconclusive (collateral released,
      // a challenger's bond returned).
      candidate = (mine || ctx.settleAll || same(rec.challenger, ctx.address)) && view.now > Number(state.windowEnd);
    } else if (status === JobStatus.Voting) {
      candidate = mine || ctx.settleAll || (voter && view.now > Number(state.revealEnd));
    }
    if (candidate) candidates.push(rec);
  }
  // Asked together: one JSON-RPC batch, not a round trip per job.
  const settleable = await Promise.all(candidates.map((rec) => escrow.isSettleable(rec.job)));
  const due = candidates.filter((_, i) => settleable[i]);
  if (due.length > 0) {
    const jobs = due.map((r) => r.job as IJobEscrow.JobStruct);
    // The output is needed only for an accepted job with a callback.
    const outputs = due.map((r) => (Number(r.job.callbackGasLimit) > 0 && r.output ? r.output : "0x"));
    const jobIds = due.map((r) => r.job.id);
    const outcome = await ctx.sender.send(
      "settleBatch",
      txCall(escrow.settleBatch, jobs, outputs),
      { jobIds },
      { result: true },
    );
    if (outcome.ok) {
      ctx.metrics.settled.inc(Number(outcome.result ?? 0));
      ctx.log.info({ jobIds, txHash: outcome.hash }, `settled ${String(outcome.result)} jobs`);
    }
  }
  if (ctx.withdrawAt !== undefined) {
    const balance = await escrow.balanceOf(ctx.address);
    if (balance > 0n && balance >= ctx.withdrawAt) {
      const outcome = await ctx.sender.send("withdraw", txCall(escrow.withdraw));
      if (outcome.ok) ctx.log.info({ amount: balance.toString(), txHash: outcome.hash }, "withdrew the balance");
    }
  }
}
