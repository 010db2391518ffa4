/**
 * The verifier role. Committee seats: re-execute the job, compare the posted output with the re-execution
 * within the model's tolerance (the job's JobRequested snapshot), commit the vote with a fresh salt kept on disk
 * first, and reveal once reveals open, before the windows close. Optimistic results: re-execute and challenge
 * a wrong one within the challenge window. Proven results: recompute the posted trace neuron by neuron from the
 * posted vectors (findFirstFraud) and, on the first wrong neuron, prove it with one `proveFraud` within the window.
 *
 * A verifier never guesses (compute/judge.ts, as verify-job judges): when the input cannot be decoded or does not
 * fit the model, no output can be the model's output on it, so the vote is "disagree"; when the model itself
 * cannot be fetched, checked or loaded, or ONNX Runtime fails on it, the verifier cannot judge and does not vote
 * (logged, counted by reason). A model that cannot be fetched for now is judged on a later tick.
 */
import { EventLog, getBytes, type Signer } from "ethers";
import type { IJobEscrow } from "../../../typechain-types";
import { IERC20__factory } from "../../factories";
import { JobStatus, VerificationMode, VoteState } from "../../../packages/sdk/src/params";
import { buildFraudProof, describeFraud, encodeEvidence, type Fraud } from "../../proven/judge";
import { challengeBondFor } from "../../../packages/sdk/src/settlement";
import { voteCommitment } from "../../../packages/sdk/src/votes";
import { chainTime, sealedOf, voteRecordOf, type JobRecord } from "../clients/chain";
import { measured, runJob, same, type RoleContext, type TickView } from "../loop/context";
import { checkProvenResult, JobFailure, type ProvenCheck } from "../compute/execute";
import { judgeOutput } from "../compute/judge";
import { txCall } from "../clients/sender";
import type { Role } from "./role";

export interface Judgment {
  agree: boolean;
  reason: string;
}

interface Vote {
  jobId: string;
  /** This verifier's index in the job's committee. */
  seat: number;
  agree: boolean;
  salt: string;
  /** For a reveal: every commitment of the job, sealed with its seat, in commit order. */
  sealed?: string[];
  /** When the window of this vote closes (chain time): the commit window's end, or the reveal window's. */
  deadline: bigint;
}

/** How this process's proof of a Proven job ended, once it is final: the job is never proven again. */
type ProofEnd = "landed" | "preempted" | "refused";

export class VerifierRole implements Role {
  readonly name = "verify";
  /** Judgments so far, so a job is re-executed once per process. */
  private readonly judged = new Map<string, Judgment | null>();
  /** Challenges done: mined by this process, or found needless (the job moved on). Failed ones are not here. */
  private readonly challenged = new Map<string, "mined" | "moved-on">();
  /** Proven results checked so far (null: cannot be checked here), so a trace is recomputed once per process. */
  private readonly checked = new Map<string, ProvenCheck | null>();
  private readonly proofs = new Map<string, ProofEnd>();

  constructor(private readonly ctx: RoleContext) {}

  /** Whether this process challenged the job (before its ResultChallenged event is read). */
  hasChallenged(jobId: string): boolean {
    return this.challenged.get(jobId) === "mined";
  }

  /**
   * Re-executes the job and compares with its posted output (compute/judge.ts); null when it cannot judge. A model
   * or input that cannot be fetched for now is not judged yet: tried again on a later tick (its source backing off).
   */
  async judge(rec: JobRecord): Promise<Judgment | null> {
    const { ctx } = this;
    const jobId = rec.job.id;
    const known = this.judged.get(jobId);
    if (known !== undefined) return known;
    if (!rec.output) return null; // the ResultSubmitted event is not read yet
    const j = await judgeOutput(ctx.deps, rec, rec.output, (_deps, r) => runJob(ctx, r, "verify"));
    if (j.verdict === "cannot-judge") {
      const { reason, message, transient, waiting } = j.failure;
      const fields = { jobId, reason, detail: message };
      if (waiting) ctx.log.debug(fields, "not judged yet: the model's source is backing off");
      else if (transient) ctx.log.warn(fields, "cannot fetch the model or input now: judging on a later tick");
      else ctx.log.warn(fields, "cannot judge: model unusable");
      if (!transient) this.judged.set(jobId, null);
      return null;
    }
    const judgment = { agree: j.verdict === "agree", reason: j.reason };
    this.judged.set(jobId, judgment);
    ctx.log.info({ jobId, agree: judgment.agree, why: judgment.reason }, "re-executed");
    return judgment;
  }

  async tick(view: TickView): Promise<void> {
    await this.votes(view);
    await this.challenges(view);
    await this.frauds(view);
  }

  private async votes(view: TickView): Promise<void> {
    const { ctx } = this;
    const commits: Vote[] = [];
    const reveals: Vote[] = [];
    const voting = [...ctx.cursor.jobs.values()].filter((rec) => {
      const state = view.states.get(rec.job.id);
      if (!state || Number(state.status) !== JobStatus.Voting) return false;
      return !rec.committee || rec.committee.some((a) => same(a, ctx.address));
    });
    // Every committee read at once: one JSON-RPC batch, not a round trip per job.
    const committees = await Promise.all(voting.map((rec) => ctx.contracts.escrow.committee(rec.job.id)));
    for (const [i, rec] of voting.entries()) {
      const jobId = rec.job.id;
      const state = view.states.get(jobId)!;
      const seats = committees[i];
      const seat = seats.findIndex((s) => same(s.verifier, ctx.address));
      if (seat < 0) continue;
      const vote = Number(seats[seat].vote);
      if (vote === VoteState.Drawn && view.now <= Number(state.windowEnd)) {
        let stored = ctx.salts.get(jobId);
        if (!stored) {
          const j = await this.judge(rec);
          if (!j) continue;
          stored = ctx.salts.prepare(jobId, j.agree, j.reason); // on disk before the commitment is sent
        }
        commits.push({ jobId, seat, agree: stored.agree, salt: stored.salt, deadline: state.windowEnd });
      } else if (vote === VoteState.Committed && view.now <= Number(state.revealEnd)) {
        const committed = seats.filter((s) => Number(s.vote) !== VoteState.Drawn).length;
        if (view.now <= Number(state.windowEnd) && committed < seats.length) continue; // reveals not open yet
        const stored = ctx.salts.get(jobId);
        if (!stored) {
          ctx.metrics.jobsFailed.inc({ reason: "salt-lost" });
          ctx.log.error({ jobId }, "committed but the salt is not on disk: cannot reveal");
          continue;
        }
        const sealed = await this.sealed(rec, committed);
        if (!sealed) continue;
        reveals.push({ jobId, seat, agree: stored.agree, salt: stored.salt, sealed, deadline: state.revealEnd });
      }
    }
    const { escrow } = ctx.contracts;
    const commitment = (v: Vote) => voteCommitment(v.jobId, ctx.address, v.agree, v.salt);
    await this.batch(
      "commit",
      commits,
      (vs) =>
        txCall(
          escrow.commitVotes,
          vs.map((v) => v.jobId),
          vs.map((v) => v.seat),
          vs.map(commitment),
        ),
      (v) => txCall(escrow.commitVote, v.jobId, v.seat, commitment(v)),
    );
    await this.batch(
      "reveal",
      reveals,
      (vs) =>
        txCall(
          escrow.revealVotes,
          vs.map((v) => v.jobId),
          vs.map((v) => v.seat),
          vs.map((v) => v.agree),
          vs.map((v) => v.salt),
          vs.map((v) => v.sealed!),
        ),
      (v) => txCall(escrow.revealVote, v.jobId, v.seat, v.agree, v.salt, v.sealed!),
    );
  }

  /**
   * The job's `committed` commitments sealed in commit order, as a reveal passes them: from the VoteCommitted
   * events the cursor has applied, plus, while some are still within the confirmation depth (the committee's
   * state on chain is already past them), the job's events in the blocks after the cursor (which has applied
   * everything up to its block), up to the head: a range of about the confirmation depth, not the job's whole
   * life. Undefined until all can be read.
   */
  private async sealed(rec: JobRecord, committed: number): Promise<string[] | undefined> {
    const known = rec.votes ?? [];
    if (known.length === committed) return sealedOf(known);
    const { ctx } = this;
    const { escrow } = ctx.contracts;
    const events = await ctx.logs.events(escrow, escrow.filters.VoteCommitted(rec.job.id), ctx.cursor.block + 1);
    const sealed = sealedOf([
      ...known,
      ...events
        .filter((e) => e instanceof EventLog)
        .map((e) => voteRecordOf(e.args.seat, e.args.commitment, e.blockNumber, e.index)),
    ]);
    if (sealed.length === committed) return sealed;
    ctx.log.debug({ jobId: rec.job.id, committed, read: sealed.length }, "not every commitment readable yet");
    return undefined;
  }

  /** Sends votes in one batch, or one by one when there is one or the batch would revert. */
  private async batch(
    phase: "commit" | "reveal",
    votes: Vote[],
    many: (vs: Vote[]) => ReturnType<typeof txCall>,
    one: (v: Vote) => ReturnType<typeof txCall>,
  ): Promise<void> {
    const { ctx } = this;
    if (votes.length === 0) return;
    if (votes.length > 1) {
      const jobIds = votes.map((v) => v.jobId);
      const deadline = votes.reduce((d, v) => (v.deadline < d ? v.deadline : d), votes[0].deadline);
      const outcome = await ctx.sender.send(`${phase}Votes`, many(votes), { jobIds }, { deadline });
      if (outcome.ok) {
        ctx.metrics.votes.inc({ phase }, votes.length);
        return;
      }
    }
    for (const v of votes) {
      const outcome = await ctx.sender.send(
        `${phase}Vote`,
        one(v),
        { jobId: v.jobId, agree: v.agree },
        { deadline: v.deadline },
      );
      if (outcome.ok) ctx.metrics.votes.inc({ phase });
    }
  }

  /**
   * Challenges wrong Optimistic results in their window. A challenge counts as made once it is mined, or once the
   * escrow says the job moved on (challenged by someone else, or settled); one that failed to get mined (an RPC
   * outage, a failed approve) is tried again on the next tick while the window is open.
   */
  private async challenges(view: TickView): Promise<void> {
    const { ctx } = this;
    const { escrow } = ctx.contracts;
    for (const rec of ctx.cursor.jobs.values()) {
      const jobId = rec.job.id;
      const state = view.states.get(jobId);
      if (!state || Number(state.status) !== JobStatus.Submitted) continue;
      if (Number(rec.job.mode) !== VerificationMode.Optimistic || view.now > Number(state.windowEnd)) continue;
      if (same(state.worker, ctx.address) || same(rec.job.requester, ctx.address)) continue;
      if (rec.challenger || this.challenged.has(jobId)) continue;
      const j = await this.judge(rec);
      if (!j || j.agree) continue;
      const bond = challengeBondFor(rec.job, await escrow.paramsOf(rec.job.paramsId));
      const token = IERC20__factory.connect(await escrow.token(), escrow.runner as Signer);
      if ((await token.allowance(ctx.address, escrow)) < bond) {
        const approved = await ctx.sender.send("approve", txCall(token.approve, escrow, bond), { jobId });
        if (!approved.ok) {
          ctx.log.warn({ jobId, err: approved.error.message }, "challenge bond not approved: trying on the next tick");
          continue;
        }
      }
      const outcome = await ctx.sender.send(
        "challenge",
        txCall(escrow.challenge, rec.job as IJobEscrow.JobStruct),
        { jobId, why: j.reason },
        { deadline: state.windowEnd },
      );
      if (outcome.ok) {
        this.challenged.set(jobId, "mined");
        ctx.metrics.challenges.inc();
        ctx.log.warn({ jobId, txHash: outcome.hash, why: j.reason }, "challenged a wrong optimistic result");
      } else if (outcome.error.kind === "already-done" || outcome.error.kind === "too-late") {
        this.challenged.set(jobId, "moved-on");
        ctx.log.info({ jobId, why: outcome.error.name }, "not challenged: challenged by another party, or too late");
      } else {
        ctx.log.warn({ jobId, err: outcome.error.message }, "challenge not mined: trying on the next tick");
      }
    }
  }

  /**
   * Proven results in their challenge window (not this account's own): each checked once, and on a fault a judge
   * can convict, one proveFraud. A proof that is mined, preempted (proven by someone else, or the window closed) or
   * refused by the judge is final; one that failed to get mined is tried again on the next tick.
   */
  private async frauds(view: TickView): Promise<void> {
    const { ctx } = this;
    for (const rec of ctx.cursor.jobs.values()) {
      const jobId = rec.job.id;
      const state = view.states.get(jobId);
      if (!state || Number(state.status) !== JobStatus.Submitted) continue;
      if (Number(rec.job.mode) !== VerificationMode.Proven || view.now > Number(state.windowEnd)) continue;
      if (same(state.worker, ctx.address) || this.proofs.has(jobId)) continue;
      const check = await this.checkTrace(rec);
      if (check?.fraud) await this.prove(rec, check, check.fraud, state.windowEnd);
    }
  }

  /** Checks a Proven job's posted trace; null when it cannot be checked here (model or input unusable). */
  private async checkTrace(rec: JobRecord): Promise<ProvenCheck | null> {
    const { ctx } = this;
    const jobId = rec.job.id;
    const known = this.checked.get(jobId);
    if (known !== undefined) return known;
    if (!rec.output) return null; // the ResultSubmitted event is not read yet
    let check: ProvenCheck | null;
    try {
      const output = getBytes(rec.output);
      check = await measured(ctx, rec, "verify", () => checkProvenResult(ctx.deps, rec, output));
      if (check.fraud) {
        ctx.log.warn({ jobId, fraud: check.fraud }, `wrong Proven trace: ${describeFraud(check.fraud)}`);
      } else {
        ctx.log.info({ jobId }, "Proven trace consistent: no proof can succeed");
      }
    } catch (e) {
      if (!(e instanceof JobFailure)) throw e;
      const fields = { jobId, reason: e.reason, detail: e.message };
      if (e.transient) {
        // Not kept: checked again on a later tick, while the window is open.
        if (!e.waiting) ctx.log.warn(fields, "cannot fetch the model or input now: checking on a later tick");
        return null;
      }
      ctx.log.warn(fields, "cannot check the Proven trace");
      check = null;
    }
    this.checked.set(jobId, check);
    return check;
  }

  private async prove(rec: JobRecord, check: ProvenCheck, fraud: Fraud, windowEnd: bigint): Promise<void> {
    const { ctx } = this;
    const { escrow } = ctx.contracts;
    const jobId = rec.job.id;
    const proof = buildFraudProof(check.model.tree, check.posted, fraud);
    const fields = { jobId, fraud: fraud.kind, layer: proof.layer, index: proof.index };
    const outcome = await ctx.sender.send(
      "proveFraud",
      txCall(escrow.proveFraud, rec.job as IJobEscrow.JobStruct, encodeEvidence(proof)),
      fields,
      { deadline: windowEnd },
    );
    if (outcome.ok || outcome.hash) ctx.metrics.fraudProofs.inc({ result: "sent" });
    if (outcome.ok) {
      this.end(jobId, "landed");
      ctx.log.warn(
        { ...fields, txHash: outcome.hash, why: describeFraud(fraud) },
        "proved a wrong Proven result: the job is Rejected and its worker slashed",
      );
      return;
    }
    // A proof that lost a race reverts on the job's status or window, in simulation or once mined: read the job.
    const state = await escrow.jobState(jobId);
    const now = await chainTime(ctx.provider);
    if (Number(state.status) !== JobStatus.Submitted || now > Number(state.windowEnd)) {
      this.end(jobId, "preempted");
      ctx.log.info(
        { ...fields, status: Number(state.status), why: outcome.error.name ?? outcome.error.message },
        "not proven by this verifier: proven by another party first, or the challenge window closed",
      );
    } else if (outcome.error.kind === "revert") {
      this.end(jobId, "refused");
      ctx.log.error(
        { ...fields, err: outcome.error.message },
        "the judge refuses a proof that findFirstFraud convicts (a bug, or a judge that reads the model otherwise): not resent",
      );
    } else {
      ctx.metrics.fraudProofs.inc({ result: "failed" });
      ctx.log.warn({ ...fields, err: outcome.error.message }, "proof not mined: trying again on the next tick");
    }
  }

  private end(jobId: string, end: ProofEnd): void {
    this.proofs.set(jobId, end);
    this.ctx.metrics.fraudProofs.inc({ result: end });
  }
}
