/**
 * The worker role: run every open job this account can take and submit the outputs (several at once with
 * `submitResults`). Settling its jobs once they are due, so it gets paid, is the settle role (settle.ts).
 *
 * A job is taken only when its status on chain allows it: Requested before its deadline, or Claimed by this
 * account with its submission window open (a claim made before a restart). `submitResult` claims a Requested
 * job in the same transaction, so a job is never claimed before its output exists: a bad model or input leaves
 * the job unclaimed, with the reason logged, and the requester's refund path applies; a model or input that cannot
 * be fetched for now (a transient failure) leaves it for a later tick, while it can still be taken.
 *
 * A Proven job's output is its trace (the output vector and every hidden vector, src/proven/trace.ts), computed by
 * the reference executor and cross-checked by ONNX Runtime: on any disagreement the job is left ("trace-mismatch").
 */
import { hexlify } from "ethers";
import type { IJobEscrow } from "../../../typechain-types";
import { encodeTensors } from "../../../packages/sdk/src/codec";
import { JobStatus, VerificationMode } from "../../../packages/sdk/src/params";
import type { JobRecord } from "../clients/chain";
import { runJob, runProvenJob, same, type RoleContext, type TickView } from "../loop/context";
import type { Role } from "./role";
import { JobFailure } from "../compute/execute";
import { corruptOutput, corruptTrace } from "../compute/faults";
import { txCall } from "../clients/sender";

interface Ready {
  rec: JobRecord;
  output: string;
  /** By when the submission must be mined (chain time): the job's deadline, or its claim's submission window. */
  due: bigint;
}

/** Whether this worker should run the job now (its submission not already on its way). */
function takeable(ctx: RoleContext, rec: JobRecord, view: TickView, inFlight: ReadonlyMap<string, unknown>): boolean {
  const state = view.states.get(rec.job.id);
  if (!state || rec.skipped || inFlight.has(rec.job.id)) return false;
  const status = Number(state.status);
  if (status === JobStatus.Requested) return view.now <= Number(rec.job.deadline);
  if (status === JobStatus.Claimed) return same(state.worker, ctx.address) && view.now <= Number(state.windowEnd);
  return false;
}

/**
 * The worker role: runs the jobs it can take and submits their outputs in batches of at most `maxBatch`. A tick
 * does not wait for its submissions to be mined: the next tick computes new jobs meanwhile, and skips the jobs whose
 * submission is still on its way (a job whose submission failed is taken again).
 */
export class WorkerRole implements Role {
  readonly name = "work";
  /** Submissions sent and not yet settled, by job id. */
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(private readonly ctx: RoleContext) {}

  async tick(view: TickView): Promise<void> {
    const { ctx, inFlight } = this;
    const candidates = [...ctx.cursor.jobs.values()].filter((rec) => takeable(ctx, rec, view, inFlight));
    const ready = await work(ctx, candidates, view);
    for (let i = 0; i < ready.length; i += ctx.maxBatch) {
      const batch = ready.slice(i, i + ctx.maxBatch);
      const ids = batch.map((r) => r.rec.job.id);
      const sent = submit(ctx, batch)
        .catch((e: Error) => ctx.log.error({ jobIds: ids, err: e.message }, "submission failed"))
        .finally(() => ids.forEach((id) => inFlight.delete(id)));
      for (const id of ids) inFlight.set(id, sent);
    }
  }

  /** Resolves once every submission sent so far is mined or failed. */
  async drain(): Promise<void> {
    await Promise.all(this.inFlight.values());
  }
}

/** Runs the candidates (under the concurrency limit); returns the outputs to submit, in request order. */
async function work(ctx: RoleContext, candidates: JobRecord[], view: TickView): Promise<Ready[]> {
  const ready: Ready[] = [];
  await Promise.all(
    candidates.map(async (rec) => {
      const jobId = rec.job.id;
      try {
        const bytes = Number(rec.job.mode) === VerificationMode.Proven ? await trace(ctx, rec) : await output(ctx, rec);
        const state = view.states.get(jobId);
        const claimed = Number(state?.status) === JobStatus.Claimed;
        ready.push({ rec, output: hexlify(bytes), due: claimed ? state!.windowEnd : BigInt(rec.job.deadline) });
      } catch (e) {
        if (!(e instanceof JobFailure)) throw e;
        const fields = { jobId, reason: e.reason, detail: e.message };
        if (e.waiting) ctx.log.debug(fields, "job waits: its model or input source is backing off");
        else if (e.transient) ctx.log.warn(fields, "cannot fetch the job's model or input now: trying on a later tick");
        else {
          rec.skipped = `${e.reason}: ${e.message}`;
          ctx.log.warn(fields, "job left unclaimed: cannot run it");
        }
      }
    }),
  );
  return ready.sort((a, b) => Number(BigInt(a.rec.job.nonce) - BigInt(b.rec.job.nonce)));
}

/** The output to post for a job of a tensor mode (None, Optimistic, Committee). */
async function output(ctx: RoleContext, rec: JobRecord): Promise<Uint8Array> {
  const outputs = await runJob(ctx, rec, "work");
  if (ctx.fault !== "wrong-output") return encodeTensors(outputs);
  ctx.log.warn({ jobId: rec.job.id }, "FAULT INJECTION: posting a wrong output");
  return corruptOutput(outputs);
}

/** The output to post for a Proven job: its trace. */
async function trace(ctx: RoleContext, rec: JobRecord): Promise<Uint8Array> {
  const { model, trace } = await runProvenJob(ctx, rec, "work");
  if (ctx.fault === "none") return trace.output;
  const wrong = corruptTrace(model.model, trace.vectors, ctx.fault, BigInt(rec.job.id));
  const { layer, index, honest, posted } = wrong;
  ctx.log.warn(
    { jobId: rec.job.id, fault: ctx.fault, layer, index, honest, posted },
    `FAULT INJECTION: posting a wrong trace (layer ${layer}, neuron ${index}: ${posted} for ${honest})`,
  );
  return wrong.trace.output;
}

/** Submits in one batch; if the batch would revert (one job taken by someone else), one by one. */
async function submit(ctx: RoleContext, ready: Ready[]): Promise<void> {
  const { escrow } = ctx.contracts;
  if (ready.length > 1) {
    const jobs = ready.map((r) => r.rec.job as IJobEscrow.JobStruct);
    const outputs = ready.map((r) => r.output);
    const jobIds = ready.map((r) => r.rec.job.id);
    const deadline = ready.reduce((d, r) => (r.due < d ? r.due : d), ready[0].due);
    const outcome = await ctx.sender.send(
      "submitResults",
      txCall(escrow.submitResults, jobs, outputs),
      { jobIds },
      { deadline },
    );
    if (outcome.ok) {
      ctx.metrics.jobsSubmitted.inc(ready.length);
      ctx.log.info({ jobIds, txHash: outcome.hash }, `submitted ${ready.length} results`);
      return;
    }
  }
  for (const r of ready) {
    const jobId = r.rec.job.id;
    const outcome = await ctx.sender.send(
      "submitResult",
      txCall(escrow.submitResult, r.rec.job, r.output),
      { jobId },
      { deadline: r.due },
    );
    if (outcome.ok) {
      ctx.metrics.jobsSubmitted.inc();
      ctx.log.info({ jobId, txHash: outcome.hash }, "result submitted");
    } else if (outcome.error.kind === "already-done" || outcome.error.kind === "too-late") {
      ctx.log.info({ jobId, why: outcome.error.name }, "job taken by another worker or closed");
    } else {
      ctx.metrics.jobsFailed.inc({ reason: "submit-failed" });
    }
  }
}
