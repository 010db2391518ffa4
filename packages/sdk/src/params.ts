/**
 * The protocol's default governance parameters, shared by deploy scripts, tests and tools.
 * Each value is checked on chain against the bounds in JobEscrow (see IJobEscrow.EscrowParams).
 */
import { parseEther } from "ethers";

export interface EscrowParams {
  protocolFeeBps: number;
  verifierShareBps: number;
  collateralRatioBps: number;
  timeoutSlashBps: number;
  compensationBps: number;
  verifierRewardBps: number;
  submissionWindow: number;
  challengeWindow: number;
  commitWindow: number;
  revealWindow: number;
  maxJobDuration: number;
  minFee: bigint;
  minCollateral: bigint;
  maxInputBytes: number;
  maxOutputBytes: number;
  votePenalty: bigint;
  challengeBond: bigint;
  maxCallbackGasLimit: number;
}

const HOUR = 3600;

/** Production defaults: windows long enough for operators on public networks. */
export const DEFAULT_ESCROW_PARAMS: EscrowParams = {
  protocolFeeBps: 200,
  verifierShareBps: 1000,
  collateralRatioBps: 15_000,
  timeoutSlashBps: 2000,
  compensationBps: 5000,
  verifierRewardBps: 3000,
  submissionWindow: HOUR,
  challengeWindow: HOUR,
  commitWindow: HOUR / 2,
  revealWindow: HOUR / 2,
  maxJobDuration: 7 * 24 * HOUR,
  minFee: parseEther("0.01"),
  minCollateral: parseEther("1"),
  maxInputBytes: 16 * 1024,
  maxOutputBytes: 16 * 1024,
  votePenalty: parseEther("1"),
  challengeBond: parseEther("10"),
  maxCallbackGasLimit: 1_000_000,
};

/**
 * The dispute window of a parameters version, as EscrowParamsLib.disputeWindow computes it: the longest time from a
 * claim until its job can no longer be disputed (submission, challenge, draw, commit and reveal; a committee must
 * be drawn within a commit window of its submission or challenge).
 */
export function disputeWindowOf(
  p: Pick<EscrowParams, "submissionWindow" | "challengeWindow" | "commitWindow" | "revealWindow">,
): number {
  return p.submissionWindow + p.challengeWindow + 2 * p.commitWindow + p.revealWindow;
}

/** Stake needed to opt in as a verifier, by default. */
export const DEFAULT_MIN_VERIFIER_STAKE = parseEther("10");

/**
 * Verification modes as numbered by IModelRegistry.VerificationMode. Proven: integer profile models with a
 * weightsRoot, whose results anyone can prove wrong in one transaction (docs/FRAUD-PROOFS.md).
 */
export const VerificationMode = { None: 0, Optimistic: 1, Committee: 2, Proven: 3 } as const;

/** The modes JobEscrow runs, in their order. */
export const ESCROW_MODES: readonly number[] = [
  VerificationMode.None,
  VerificationMode.Optimistic,
  VerificationMode.Committee,
  VerificationMode.Proven,
];

/** Model terms as ModelRegistry takes them (`IModelRegistry.ModelTerms`). */
export interface ModelTerms {
  price: bigint;
  mode: number;
  committeeSize: number;
  royaltyBps: number;
  relTolerance: number; // parts per billion
  absTolerance: number; // parts per billion
}

/** Job statuses as numbered by IJobEscrow.JobStatus. */
export const JobStatus = {
  None: 0,
  Requested: 1,
  Claimed: 2,
  Submitted: 3,
  Drawing: 4,
  Voting: 5,
  Settled: 6,
  Rejected: 7,
  Refunded: 8,
} as const;

/** Whether a job with this status is over (Settled, Rejected or Refunded): nothing more can happen to it. */
export function isTerminalStatus(status: bigint | number): boolean {
  const s = Number(status);
  return s === JobStatus.Settled || s === JobStatus.Rejected || s === JobStatus.Refunded;
}

/** The name of `value` in one of these numbered tables (JobStatus, JobOutcome, …); undefined when none has it. */
export function nameOf(table: Readonly<Record<string, number>>, value: bigint | number): string | undefined {
  return Object.keys(table).find((k) => table[k] === Number(value));
}

/** Job outcomes as numbered by IJobEscrow.JobOutcome. */
export const JobOutcome = { Accepted: 0, Rejected: 1, Inconclusive: 2, Expired: 3, Abandoned: 4 } as const;

/** Committee vote states as numbered by IJobEscrow.VoteState. */
export const VoteState = { Drawn: 0, Committed: 1, Agreed: 2, Disagreed: 3 } as const;

/** ProvenJudge.Fraud: how a judge convicts a Proven job's trace, in the order of the Solidity enum. */
export const FRAUD_KINDS = ["output-encoding", "input-encoding", "length", "neuron"] as const;
