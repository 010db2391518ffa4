/**
 * The escrow's settlement split, the one TypeScript definition of it: who is credited what when a job settles,
 * as `JobEscrow` computes it (one pure function per outcome, each naming the contract function it mirrors).
 * Amounts are integer token units and every division rounds down as Solidity does; each rounding remainder goes
 * where the contract sends it (to the worker on the fee, to the treasury on pools and bonds).
 *
 * Inputs are the job's fixed record (`IJobEscrow.Job`), the fields of the parameters version it was requested
 * under (`IJobEscrow.EscrowParams`, `paramsOf(job.paramsId)`), the vote counts, the challenge if there is one,
 * and what a slash actually took: `VerifierStaking.slash` takes less than asked when the stake is short, and
 * the split follows what was taken.
 */
import type { BigNumberish } from "ethers";
import type { Settlement } from "./job";
import { JobOutcome, VoteState } from "./params";

/** Basis points: the denominator of every share (`JobEscrow.BPS`). */
export const BPS = 10_000n;

/** The fields of a job's fixed record a settlement reads (any `IJobEscrow.Job`, decoded or plain). */
export interface SettledJob {
  fee: BigNumberish;
  collateral: BigNumberish;
  royaltyBps: BigNumberish;
  protocolFeeBps: BigNumberish;
  verifierShareBps: BigNumberish;
}

/** The fields of the job's parameters version a settlement reads. */
export interface SettlementParams {
  compensationBps: BigNumberish;
  verifierRewardBps: BigNumberish;
  timeoutSlashBps: BigNumberish;
  votePenalty: BigNumberish;
}

/** A challenge of an optimistic result (`IJobEscrow.Challenge`): passed only when a challenger is involved. */
export interface ChallengeBond {
  bond: BigNumberish;
}

const share = (amount: bigint, bps: BigNumberish): bigint => (amount * BigInt(bps)) / BPS;

const none = (): Settlement => ({
  workerPayment: 0n,
  royalty: 0n,
  treasuryPayment: 0n,
  verifierReward: 0n,
  rewardedVerifiers: 0n,
  requesterRefund: 0n,
  challengerPayment: 0n,
  slashed: 0n,
});

/**
 * The collateral `_openJob` snapshots into a job: `collateralRatioBps` of the fee, but at least `minCollateral`.
 */
export function collateralFor(
  fee: BigNumberish,
  params: { collateralRatioBps: BigNumberish; minCollateral: BigNumberish },
): bigint {
  const ratio = share(BigInt(fee), params.collateralRatioBps);
  const floor = BigInt(params.minCollateral);
  return ratio > floor ? ratio : floor;
}

/** The outcome `_tally` settles a revealed committee vote with: a majority of the committee's size decides. */
export function tallyOutcome(size: BigNumberish, agreed: BigNumberish, disagreed: BigNumberish): number {
  const majority = BigInt(size) / 2n + 1n;
  if (BigInt(agreed) >= majority) return JobOutcome.Accepted;
  if (BigInt(disagreed) >= majority) return JobOutcome.Rejected;
  return JobOutcome.Inconclusive;
}

/** `_settleDue` on a job never claimed before its deadline (Expired): the fee goes back to the requester. */
export function expiredSettlement(job: Pick<SettledJob, "fee">): Settlement {
  return { ...none(), requesterRefund: BigInt(job.fee) };
}

/** What `_settleAbandoned` asks `VerifierStaking.slash` for: `timeoutSlashBps` of the collateral. */
export function abandonmentSlash(
  job: Pick<SettledJob, "collateral">,
  params: Pick<SettlementParams, "timeoutSlashBps">,
): bigint {
  return share(BigInt(job.collateral), params.timeoutSlashBps);
}

/**
 * `_settleAbandoned` (a claim never submitted), once the slash took `slashed` (`abandonmentSlash` unless the
 * worker's stake was short): the requester gets the fee and `compensationBps` of it, the treasury the rest.
 */
export function abandonedSettlement(
  job: Pick<SettledJob, "fee">,
  params: Pick<SettlementParams, "compensationBps">,
  slashed: bigint,
): Settlement {
  const compensation = share(slashed, params.compensationBps);
  return {
    ...none(),
    slashed,
    requesterRefund: BigInt(job.fee) + compensation,
    treasuryPayment: slashed - compensation,
  };
}

/**
 * The verifier pool `_settleAccepted` divides among the `agreed` verifiers: `verifierShareBps` of the fee plus,
 * when a challenger lost, `verifierRewardBps` of its bond.
 */
export function acceptedVerifierPool(
  job: Pick<SettledJob, "fee" | "verifierShareBps">,
  params: Pick<SettlementParams, "verifierRewardBps">,
  challenge?: ChallengeBond,
): bigint {
  return share(BigInt(job.fee), job.verifierShareBps) + share(BigInt(challenge?.bond ?? 0n), params.verifierRewardBps);
}

/** `SettlementMath.accepted`: royalty and protocol fee off the fee, the rest to the worker (no committee's pool). */
function acceptedAlone(job: Pick<SettledJob, "fee" | "royaltyBps" | "protocolFeeBps">): Settlement {
  const fee = BigInt(job.fee);
  const royalty = share(fee, job.royaltyBps);
  const treasuryPayment = share(fee, job.protocolFeeBps);
  return { ...none(), royalty, treasuryPayment, workerPayment: fee - royalty - treasuryPayment };
}

/**
 * `_settleAccepted`: the output stands. `agreed` is the number of agreeing verifiers (0 when no committee voted:
 * a None-mode job or an unchallenged optimistic one); `challenge` is the challenge a committee voted down.
 *
 * Royalty and protocol fee are shares of the fee; the worker gets the fee's remainder (less the verifier pool
 * when a committee voted). A lost bond goes `compensationBps` to the worker, `verifierRewardBps` to the pool and
 * the rest to the treasury. Each agreeing verifier gets `pool / agreed`; the pool's remainder goes to the treasury.
 */
export function acceptedSettlement(
  job: Pick<SettledJob, "fee" | "royaltyBps" | "protocolFeeBps" | "verifierShareBps">,
  params: Pick<SettlementParams, "compensationBps" | "verifierRewardBps">,
  agreed: BigNumberish,
  challenge?: ChallengeBond,
): Settlement {
  const fee = BigInt(job.fee);
  const voters = BigInt(agreed);
  const s = acceptedAlone(job);
  if (voters === 0n) return s;
  const bond = BigInt(challenge?.bond ?? 0n);
  const toWorker = share(bond, params.compensationBps);
  const pool = acceptedVerifierPool(job, params, challenge);
  s.workerPayment += toWorker - share(fee, job.verifierShareBps);
  s.verifierReward = pool / voters;
  s.rewardedVerifiers = voters;
  s.treasuryPayment += bond - toWorker - share(bond, params.verifierRewardBps) + (pool - s.verifierReward * voters);
  return s;
}

/** What `_settleRejected` asks `VerifierStaking.slash` for: the whole collateral. */
export function rejectionSlash(job: Pick<SettledJob, "collateral">): bigint {
  return BigInt(job.collateral);
}

/** The verifier pool `_settleRejected` divides among the disagreeing verifiers and a winning challenger. */
export function rejectedVerifierPool(params: Pick<SettlementParams, "verifierRewardBps">, slashed: bigint): bigint {
  return share(slashed, params.verifierRewardBps);
}

/**
 * `_settleRejected`: the committee found the output wrong and the slash took `slashed` (`rejectionSlash` unless
 * the worker's stake was short). The requester gets the fee and `compensationBps` of the slash; the pool
 * (`verifierRewardBps` of it) is shared equally by the `disagreed` verifiers and, when `challenge` is given, the
 * challenger, who also gets its bond back; the treasury gets the rest, the pool's remainder included.
 */
export function rejectedSettlement(
  job: Pick<SettledJob, "fee">,
  params: Pick<SettlementParams, "compensationBps" | "verifierRewardBps">,
  disagreed: BigNumberish,
  slashed: bigint,
  challenge?: ChallengeBond,
): Settlement {
  const compensation = share(slashed, params.compensationBps);
  const shares = BigInt(disagreed) + (challenge ? 1n : 0n);
  const verifierReward = rejectedVerifierPool(params, slashed) / shares;
  return {
    ...none(),
    slashed,
    verifierReward,
    rewardedVerifiers: BigInt(disagreed),
    requesterRefund: BigInt(job.fee) + compensation,
    treasuryPayment: slashed - compensation - verifierReward * shares,
    challengerPayment: challenge ? BigInt(challenge.bond) + verifierReward : 0n,
  };
}

/**
 * A Proven job proven wrong (`proveFraud`, ProvenJudge.convict): `rejectedSettlement` with no disagreeing verifier and
 * the prover as the one winning challenger, with no bond: the requester gets the fee back and the compensation share
 * of the slash, the prover the verifier reward share, the treasury the rest.
 */
export function provenSettlement(
  job: Pick<SettledJob, "fee">,
  params: Pick<SettlementParams, "compensationBps" | "verifierRewardBps">,
  slashed: bigint,
): Settlement {
  return rejectedSettlement(job, params, 0, slashed, { bond: 0n });
}

/**
 * The bond `challenge` takes: the parameters' `challengeBond`, but never less than the job's fee, since an
 * unresolved challenge pays the worker out of it.
 */
export function challengeBondFor(job: Pick<SettledJob, "fee">, params: { challengeBond: BigNumberish }): bigint {
  const fee = BigInt(job.fee);
  const bond = BigInt(params.challengeBond);
  return bond > fee ? bond : fee;
}

/**
 * `_settleInconclusive`: no majority, or no committee could be drawn (`voted` false: too few eligible verifiers or
 * a failing randomness source). The requester gets the fee back and nothing is slashed from the worker. Without a
 * challenge, or when the challenge's committee could not be drawn, the worker is not paid and a challenger gets
 * its bond back. A challenge whose committee voted without a majority (an unresolved one: it proved nothing) is
 * the challenger's loss: the worker is paid as `acceptedSettlement` without a committee would pay it (royalty and
 * protocol fee included) out of the bond, and the challenger gets the rest of its bond back.
 */
export function inconclusiveSettlement(
  job: Pick<SettledJob, "fee" | "royaltyBps" | "protocolFeeBps">,
  challenge?: ChallengeBond,
  voted = true,
): Settlement {
  const fee = BigInt(job.fee);
  const bond = BigInt(challenge?.bond ?? 0n);
  if (!challenge || !voted) return { ...none(), requesterRefund: fee, challengerPayment: bond };
  return { ...acceptedAlone(job), requesterRefund: fee, challengerPayment: bond - fee };
}

/**
 * Whether `_penalize` slashes `votePenalty` from a seat whose vote is `vote` (a `VoteState`): every seat that never
 * revealed and, when the settlement had a majority (`majority`: Agreed or Disagreed), every seat that revealed
 * the other vote. The penalty slashed (at most `votePenalty`, less when the stake is short) goes to the treasury,
 * outside the `Settlement`.
 */
export function isPenalized(vote: BigNumberish, majority?: number): boolean {
  const v = Number(vote);
  const revealed = v === VoteState.Agreed || v === VoteState.Disagreed;
  return !revealed || (majority !== undefined && v !== majority);
}
