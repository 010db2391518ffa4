/**
 * The protocol's default governance parameters, shared by deploy scripts, tests and tools.
 * Each value is checked on chain against the bounds in JobEscrow (see IJobEscrow.EscrowParams).
 */
import { AbiCoder, keccak256, parseEther } from "ethers";

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

/** Stake needed to opt in as a verifier, by default. */
export const DEFAULT_MIN_VERIFIER_STAKE = parseEther("10");

/** Verification modes as numbered by IModelRegistry.VerificationMode. */
export const VerificationMode = { None: 0, Optimistic: 1, Committee: 2 } as const;

/** Model terms as ModelRegistry takes them (`IModelRegistry.ModelTerms`). */
export interface ModelTerms {
  price: bigint;
  mode: number;
  committeeSize: number;
  royaltyBps: number;
  relTolerance: number; // parts per billion
  absTolerance: number; // parts per billion
}

/** The snapshot a job takes of a model (`IModelRegistry.JobTerms`): owner, latest version, its hash, terms. */
export interface JobTerms {
  owner: string;
  version: bigint;
  contentHash: string;
  terms: ModelTerms;
}

/** ABI type of `IModelRegistry.JobTerms` (written out: this file loads before TypeChain's types exist). */
const JOB_TERMS_TYPE =
  "tuple(address owner, uint256 version, bytes32 contentHash, " +
  "tuple(uint96 price, uint8 mode, uint8 committeeSize, uint16 royaltyBps, uint32 relTolerance, uint32 absTolerance) terms)";

/** The hash of a snapshot, as `ModelRegistry.jobTermsHash` stores it and `hashJobTerms` computes it:
 * keccak256 of its ABI encoding. */
export function jobTermsHash(snapshot: JobTerms): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode([JOB_TERMS_TYPE], [snapshot]));
}

/** Job statuses as numbered by IJobEscrow.JobStatus. */
export const JobStatus = {
  None: 0,
  Requested: 1,
  Claimed: 2,
  Submitted: 3,
  Voting: 4,
  Settled: 5,
  Rejected: 6,
  Refunded: 7,
} as const;

/** Job outcomes as numbered by IJobEscrow.JobOutcome. */
export const JobOutcome = { Accepted: 0, Rejected: 1, Inconclusive: 2, Expired: 3, Abandoned: 4 } as const;

/** Committee vote states as numbered by IJobEscrow.VoteState. */
export const VoteState = { Drawn: 0, Committed: 1, Agreed: 2, Disagreed: 3 } as const;
