/**
 * A TypeScript model of TrustML (ModelRegistry, VerifierStaking, JobEscrow and the token balances they move).
 *
 * Every operation mirrors one external call: it either throws `Revert` with the custom error the contracts
 * should revert with, or mutates the state the way the call should and records what it should emit
 * (settlements, committee draws, the requested job). Callers run an operation on a clone of the state, send
 * the transaction, then compare. A committee is drawn in two steps, as the escrow does: the submission or
 * challenge moves its job to Drawing with MockRandomness's ticket (the number of that transaction's block), and a
 * later `drawCommittees` draws it from the seed the model derives (`drawSeedOf`); the members are read back from
 * `CommitteeDrawn`, checked against the verifiers the model says were eligible and, where the draw saw the stake
 * of the block before it, against the staking contract's own draw from that seed.
 *
 * Jobs are kept in request order (index = nonce - 1) and found by their id, the hash of their fixed fields
 * (`jobIdOf`). Each committee job keeps the list of its sealed commitments in commit order, the list every
 * reveal must pass back. A fraud proof of a Proven job is judged by the TypeScript judge (src/proven/judge.ts, the
 * definition the Solidity judge is written from) against the job's input hash, its posted output hash and the
 * weights root of the job's model version, which the model keeps for every version.
 */
import { keccak256, ZeroAddress, ZeroHash } from "ethers";
import {
  disputeWindowOf,
  JobOutcome,
  JobStatus,
  VerificationMode,
  VoteState,
  type ModelTerms,
} from "../../packages/sdk/src/params";

import { jobIdOf, type Job, type Settlement } from "../../packages/sdk/src/job";
import { decodeNeuronLeaf, FRAUD_KINDS, judge, type FraudProof } from "../../src/proven";
import {
  abandonedSettlement,
  abandonmentSlash,
  acceptedSettlement,
  BPS,
  challengeBondFor,
  collateralFor,
  expiredSettlement,
  inconclusiveSettlement,
  isPenalized,
  provenSettlement,
  rejectedSettlement,
  rejectionSlash,
  tallyOutcome,
  type ChallengeBond,
} from "../../packages/sdk/src/settlement";
import { sealCommitment, voteCommitment } from "../../packages/sdk/src/votes";
import { drawSeedOf } from "../fixtures/verification";

/** Seconds in a day: the staking contract counts open committees by the day their votes end. */
const DAY = 86_400n;

/** A custom error the model expects the call to revert with. */
export class Revert extends Error {
  constructor(readonly error: string) {
    super(error);
  }
}

const revert = (error: string): never => {
  throw new Revert(error);
};

/** Governance parameters as bigints (the fields of IJobEscrow.EscrowParams, in order). */
export interface P {
  protocolFeeBps: bigint;
  verifierShareBps: bigint;
  collateralRatioBps: bigint;
  timeoutSlashBps: bigint;
  compensationBps: bigint;
  verifierRewardBps: bigint;
  submissionWindow: bigint;
  challengeWindow: bigint;
  commitWindow: bigint;
  revealWindow: bigint;
  maxJobDuration: bigint;
  minFee: bigint;
  minCollateral: bigint;
  maxInputBytes: bigint;
  maxOutputBytes: bigint;
  votePenalty: bigint;
  challengeBond: bigint;
  maxCallbackGasLimit: bigint;
}

export const PARAM_KEYS: (keyof P)[] = [
  "protocolFeeBps",
  "verifierShareBps",
  "collateralRatioBps",
  "timeoutSlashBps",
  "compensationBps",
  "verifierRewardBps",
  "submissionWindow",
  "challengeWindow",
  "commitWindow",
  "revealWindow",
  "maxJobDuration",
  "minFee",
  "minCollateral",
  "maxInputBytes",
  "maxOutputBytes",
  "votePenalty",
  "challengeBond",
  "maxCallbackGasLimit",
];

export interface Account {
  active: bigint;
  locked: bigint;
  unbonding: bigint;
  unbondingEnd: bigint;
  verifier: boolean;
  /** Opted out, still in the draw until `exitAt` and `completeExit`. */
  leaving: boolean;
  exitAt: bigint;
  /** The latest time the stake now unbonding could be drawn: its withdrawal waits for the committees seated by then. */
  drawableUntil: bigint;
  /** The draw weight stored in the sortition tree (synced at each stake change of the account). */
  weight: bigint;
}

export interface Seat {
  verifier: string;
  vote: number;
}

/** The fixed record of a job (the SDK's plain `Job`): `id` is the hash of the other fields (`jobIdOf`). */
export type JobRecord = Job;

export interface JobModel {
  job: JobRecord;
  status: number;
  worker: string;
  /** Claimed: submit by; Submitted: challenge until; Drawing: draw by; Voting: commit until. */
  windowEnd: bigint;
  /** Drawing: the randomness ticket (the block number of the submission or challenge); Voting: reveal until. */
  revealEnd: bigint;
  seats: Seat[];
  /** `sealCommitment(seat, commitment)` of every commit, in commit order: what a reveal passes. */
  sealed: string[];
  outputHash: string;
  /** Whether the posted output is the right one (what an honest verifier agrees with). */
  outputRight: boolean;
  challenger: string;
  bond: bigint;
  /** JobSettled events seen for this job. */
  settledCount: number;
}

export interface RegisteredModel {
  owner: string;
  pendingOwner: string;
  versionCount: number;
  deprecated: boolean;
  terms: ModelTerms;
  /** The weights root of each version (index = version - 1), ZeroHash for none; a Proven model's latest has one. */
  roots: string[];
}

export interface State {
  /** Timestamp the next transaction is mined at. */
  now: bigint;
  /** Number of the block the next transaction is mined in (the runner reads it before each transaction). */
  block: bigint;
  /** MockRandomness.seed(): a ticket's seed is keccak256(abi.encode(randomSeed, ticket)), read at the draw. */
  randomSeed: bigint;
  /** The chain id: job ids bind it and the escrow's address. */
  chainId: bigint;
  escrow: string;
  staking: string;
  paused: boolean;
  treasury: string;
  /** Parameter versions; version i is params[i - 1]. */
  params: P[];
  maxDisputeWindow: bigint;
  unbondingPeriod: bigint;
  minVerifierStake: bigint;
  accounts: Record<string, Account>;
  tokens: Record<string, bigint>;
  totalSupply: bigint;
  /** What each account is owed by the escrow (escrow.balanceOf). */
  credits: Record<string, bigint>;
  /** The part of the treasury's credit accrued in the escrow's own word, which a request of the treasury's cannot
   * spend (it draws on the balance without it). */
  treasuryAccrued: bigint;
  models: RegisteredModel[];
  /** Every publication of a content hash, with the account that published it (unique per publisher). */
  published: { publisher: string; hash: string }[];
  jobs: JobModel[];
}

export interface ExpectedSettlement {
  jobId: bigint;
  outcome: number;
  settlement: Settlement;
}

export interface ExpectedDraw {
  jobId: bigint;
  size: number;
  /** Accounts the draw may pick from (non-zero weight, not excluded). */
  eligible: string[];
  /** The seed VerifierStaking.drawCommittee is given, and the parties it excludes. */
  seed: bigint;
  excluded: string[];
  /** Every account's draw weight at the draw (a settlement earlier in the batch may have changed some). */
  weights: string;
}

/** Why `drawCommittees` skips a job: the error it reverts with when it is the first of a batch none of which can be drawn. */
type DrawSkip = "JobEscrowInvalidStatus" | "JobEscrowSeedPending";

/** A FraudProven event: `fraud` is ProvenJudge.Fraud (the index in FRAUD_KINDS). */
export interface ExpectedFraud {
  jobId: bigint;
  prover: string;
  fraud: number;
  layer: bigint;
  index: bigint;
}

/** The evidence of a fraud proof: the four parts, or bytes that are not their ABI encoding. */
export type Evidence = { proof: FraudProof } | { malformed: true };

/** A VoteCommitted event. */
export interface ExpectedCommit {
  jobId: bigint;
  verifier: string;
  seat: bigint;
  commitment: string;
}

/** What a transaction should emit, collected while the model runs it. */
export interface Effects {
  settlements: ExpectedSettlement[];
  draws: ExpectedDraw[];
  commits: ExpectedCommit[];
  frauds: ExpectedFraud[];
  requested?: JobRecord;
  /**
   * How jobs left Drawing without a committee or were passed over, for the run's statistics: "tooFew" (settled at
   * the draw), "undrawn" (settled past draw-by), or the reason a batch skipped a job.
   */
  drawPaths: string[];
}

/** Effects of nothing yet. */
export const noEffects = (): Effects => ({ settlements: [], draws: [], commits: [], frauds: [], drawPaths: [] });

export const MAX_URI_BYTES = 2048;
const MAX_COMMITTEE_SIZE = 15;
const MAX_ROYALTY_BPS = 2000;
const MAX_TOLERANCE = 1_000_000_000;
const MIN_UNBONDING = 3600n;
const MAX_UNBONDING = 90n * 86_400n;
const MAX_MIN_VERIFIER_STAKE = 10n ** 27n;

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
/** Whether a job of this mode checks, at its claim, that a committee could be drawn (`_requireVerifiers`): Optimistic
 * and Committee; None and Proven never draw one. */
const drawsCommittee = (mode: bigint): boolean =>
  mode === BigInt(VerificationMode.Optimistic) || mode === BigInt(VerificationMode.Committee);
const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
/** The windows of `p` as numbers (seconds, far below 2^53), for packages/sdk/src/params' `disputeWindowOf`. */
const numbers = (p: P) => ({
  submissionWindow: Number(p.submissionWindow),
  challengeWindow: Number(p.challengeWindow),
  commitWindow: Number(p.commitWindow),
  revealWindow: Number(p.revealWindow),
});

export const isTerminal = (status: number): boolean => status >= JobStatus.Settled;

export class Model {
  fx: Effects = noEffects();

  constructor(public s: State) {}

  /** An independent copy to run a call on. */
  clone(): Model {
    return new Model(structuredClone(this.s));
  }

  // ------------------------------------------------------------------ helpers

  paramsOf(id: bigint): P {
    return this.s.params[Number(id) - 1];
  }

  get current(): P {
    return this.s.params[this.s.params.length - 1];
  }

  account(a: string): Account {
    this.s.accounts[a] ??= {
      active: 0n,
      locked: 0n,
      unbonding: 0n,
      unbondingEnd: 0n,
      verifier: false,
      leaving: false,
      exitAt: 0n,
      drawableUntil: 0n,
      weight: 0n,
    };
    return this.s.accounts[a];
  }

  tokenOf(a: string): bigint {
    return this.s.tokens[a] ?? 0n;
  }

  creditOf(a: string): bigint {
    return this.s.credits[a] ?? 0n;
  }

  private move(from: string, to: string, amount: bigint): void {
    if (this.tokenOf(from) < amount) revert("ERC20InsufficientBalance");
    this.s.tokens[from] = this.tokenOf(from) - amount;
    this.s.tokens[to] = this.tokenOf(to) + amount;
  }

  private credit(a: string, amount: bigint): void {
    if (amount !== 0n) this.s.credits[a] = this.creditOf(a) + amount;
  }

  private creditTreasury(amount: bigint): void {
    this.credit(this.s.treasury, amount);
    this.s.treasuryAccrued += amount;
  }

  /** What a request of `a`'s can take its fee from: its credit without the treasury's accrued income. */
  private spendableOf(a: string): bigint {
    return this.creditOf(a) - (a === this.s.treasury ? this.s.treasuryAccrued : 0n);
  }

  /** What the escrow must hold for open jobs: their fees, and the bond of a challenge being judged (Drawing, Voting). */
  openHoldings(): bigint {
    let held = 0n;
    for (const j of this.s.jobs) {
      if (isTerminal(j.status)) continue;
      held += j.job.fee + j.bond;
    }
    return held;
  }

  // ------------------------------------------------------------------ token

  mint(to: string, amount: bigint): void {
    this.s.tokens[to] = this.tokenOf(to) + amount;
    this.s.totalSupply += amount;
  }

  // ------------------------------------------------------------------ staking

  /**
   * `_syncWeight`: the draw weight follows free stake; a change the account makes itself (`voluntary`: stake,
   * unstake, collateral it locks) may not take a verifier out of the draw without notice.
   */
  private sync(a: string, voluntary = false): void {
    const acc = this.account(a);
    if (!acc.verifier) return;
    const free = acc.active - acc.locked;
    const weight = free < this.s.minVerifierStake ? 0n : free;
    if (voluntary && weight === 0n && acc.weight > 0n) revert("VerifierStakingExitNoticeRequired");
    acc.weight = weight;
  }

  stake(a: string, amount: bigint): void {
    if (amount === 0n) revert("VerifierStakingZeroAmount");
    this.move(a, this.s.staking, amount);
    this.account(a).active += amount;
    this.sync(a, true);
  }

  requestUnstake(a: string, amount: bigint): void {
    if (amount === 0n) revert("VerifierStakingZeroAmount");
    const acc = this.account(a);
    if (amount > acc.active - acc.locked) revert("VerifierStakingInsufficientStake");
    acc.active -= amount;
    acc.unbonding += amount;
    acc.unbondingEnd = this.s.now + this.s.unbondingPeriod;
    if (acc.verifier) acc.drawableUntil = this.s.now;
    this.sync(a, true);
  }

  withdrawStake(a: string): void {
    const acc = this.account(a);
    if (acc.unbonding === 0n) revert("VerifierStakingNothingToWithdraw");
    if (this.s.now < acc.unbondingEnd) revert("VerifierStakingStillUnbonding");
    if (acc.drawableUntil !== 0n) {
      if (this.waitsForCommittees(a)) revert("VerifierStakingCommitteesUnsettled");
      acc.drawableUntil = 0n;
    }
    const amount = acc.unbonding;
    acc.unbonding = 0n;
    acc.unbondingEnd = 0n;
    this.move(this.s.staking, a, amount);
  }

  /**
   * Whether `a`'s stake waits for open committees: every committee whose vote ends by the day of its drawable time
   * plus the longest dispute window must have settled before it is withdrawn.
   */
  waitsForCommittees(a: string): boolean {
    const acc = this.account(a);
    if (acc.drawableUntil === 0n) return false;
    const lastDay = (acc.drawableUntil + this.s.maxDisputeWindow) / DAY;
    return this.s.jobs.some((j) => j.status === JobStatus.Voting && j.revealEnd / DAY <= lastDay);
  }

  /** Opting in; opting out takes notice while the account is in the draw; opting in while leaving cancels. */
  setVerifier(a: string, on: boolean): void {
    const acc = this.account(a);
    if (acc.leaving) {
      if (!on) revert("VerifierStakingExitPending");
      acc.leaving = false;
      acc.exitAt = 0n;
      return;
    }
    if (acc.verifier === on) revert("VerifierStakingVerifierStatusUnchanged");
    const free = acc.active - acc.locked;
    if (on) {
      if (free < this.s.minVerifierStake) revert("VerifierStakingInsufficientStake");
      acc.verifier = true;
      acc.weight = free;
    } else if (acc.weight === 0n) {
      acc.verifier = false;
      acc.drawableUntil = this.s.now;
    } else {
      acc.leaving = true;
      // The exit notice: the longest dispute window of the escrows (the one escrow here).
      acc.exitAt = this.s.now + this.s.maxDisputeWindow;
    }
  }

  completeExit(a: string): void {
    const acc = this.account(a);
    if (!acc.leaving) revert("VerifierStakingNoExitPending");
    if (this.s.now < acc.exitAt) revert("VerifierStakingExitPending");
    acc.leaving = false;
    acc.exitAt = 0n;
    acc.verifier = false;
    acc.drawableUntil = this.s.now;
    acc.weight = 0n;
  }

  /** Leaving verifiers still in the draw: eligibleVerifiersExcluding subtracts them. */
  leavingInDraw(): number {
    return Object.values(this.s.accounts).filter((acc) => acc.leaving && acc.weight > 0n).length;
  }

  setUnbondingPeriod(isAdmin: boolean, period: bigint): void {
    if (!isAdmin) revert("AccessControlUnauthorizedAccount");
    if (period < MIN_UNBONDING || period > MAX_UNBONDING) revert("VerifierStakingInvalidParam");
    if (this.s.maxDisputeWindow > period) revert("VerifierStakingUnbondingShorterThanDisputeWindow");
    this.s.unbondingPeriod = period;
  }

  /** Takes effect on each verifier's weight at its next stake change (README, Known limits). */
  setMinVerifierStake(isAdmin: boolean, amount: bigint): void {
    if (!isAdmin) revert("AccessControlUnauthorizedAccount");
    if (amount > MAX_MIN_VERIFIER_STAKE) revert("VerifierStakingInvalidParam");
    this.s.minVerifierStake = amount;
  }

  private lock(a: string, amount: bigint): void {
    const acc = this.account(a);
    if (amount > acc.active - acc.locked) revert("VerifierStakingInsufficientStake");
    acc.locked += amount;
    this.sync(a, true);
  }

  private release(a: string, amount: bigint): void {
    const acc = this.account(a);
    acc.locked -= min(amount, acc.locked);
  }

  private unlock(a: string, amount: bigint): void {
    this.release(a, amount);
    this.sync(a);
  }

  /** VerifierStaking.slash to the escrow: free stake first, then unbonding, then locked. */
  private slash(a: string, unlockAmount: bigint, amount: bigint): bigint {
    if (unlockAmount !== 0n) this.release(a, unlockAmount);
    const acc = this.account(a);
    const fromFree = min(amount, acc.active - acc.locked);
    const fromUnbonding = amount === fromFree ? 0n : min(amount - fromFree, acc.unbonding);
    const fromLocked = min(amount - fromFree - fromUnbonding, acc.locked);
    const slashed = fromFree + fromUnbonding + fromLocked;
    acc.active -= fromFree + fromLocked;
    acc.locked -= fromLocked;
    acc.unbonding -= fromUnbonding;
    this.sync(a);
    if (slashed !== 0n) this.move(this.s.staking, this.s.escrow, slashed);
    return slashed;
  }

  /** Accounts a committee draw excluding `excluded` may pick. */
  eligible(excluded: string[]): string[] {
    return Object.entries(this.s.accounts)
      .filter(([a, acc]) => acc.weight > 0n && !excluded.some((x) => same(x, a)))
      .map(([a]) => a);
  }

  // ------------------------------------------------------------------ registry

  private checkTerms(t: ModelTerms): void {
    const size = t.committeeSize;
    if (size === 0 || size > MAX_COMMITTEE_SIZE || size % 2 === 0) revert("ModelRegistryInvalidCommitteeSize");
    if (t.royaltyBps > MAX_ROYALTY_BPS) revert("ModelRegistryRoyaltyTooHigh");
    if (t.relTolerance > MAX_TOLERANCE || t.absTolerance > MAX_TOLERANCE) revert("ModelRegistryToleranceTooHigh");
  }

  private existing(id: bigint): RegisteredModel {
    const m = id >= 1n && id <= BigInt(this.s.models.length) ? this.s.models[Number(id) - 1] : undefined;
    return m ?? revert("ModelRegistryUnknownModel");
  }

  private ownedBy(from: string, id: bigint): RegisteredModel {
    const m = this.existing(id);
    if (!same(m.owner, from)) revert("ModelRegistryNotModelOwner");
    return m;
  }

  /** ModelRegistryWeightsRootRequired: Proven terms need a weights root on the latest version. */
  private requireRoot(mode: number, root: string): void {
    if (mode === VerificationMode.Proven && root === ZeroHash) revert("ModelRegistryWeightsRootRequired");
  }

  /** The weights root of a model's latest version (ZeroHash for none). */
  latestRoot(m: RegisteredModel): string {
    return m.roots[m.roots.length - 1] ?? ZeroHash;
  }

  /** The weights root of the version a job was requested on. */
  rootOf(job: JobRecord): string {
    return this.s.models[Number(job.modelId) - 1].roots[Number(job.version) - 1];
  }

  private publish(from: string, m: RegisteredModel, hash: string, uri: string, root: string): void {
    if (hash === ZeroHash) revert("ModelRegistryZeroContentHash");
    if (this.s.published.some((p) => same(p.publisher, from) && same(p.hash, hash))) {
      revert("ModelRegistryContentHashTaken");
    }
    if (uri.length === 0 || uri.length > MAX_URI_BYTES) revert("ModelRegistryInvalidUri");
    m.versionCount += 1;
    m.roots.push(root);
    this.s.published.push({ publisher: from, hash });
  }

  registerModel(from: string, hash: string, uri: string, terms: ModelTerms, root: string): void {
    this.checkTerms(terms);
    this.requireRoot(terms.mode, root);
    const m: RegisteredModel = {
      owner: from,
      pendingOwner: ZeroAddress,
      versionCount: 0,
      deprecated: false,
      terms,
      roots: [],
    };
    this.publish(from, m, hash, uri, root);
    this.s.models.push(m);
  }

  publishVersion(from: string, id: bigint, hash: string, uri: string, root: string): void {
    const m = this.ownedBy(from, id);
    if (m.deprecated) revert("ModelRegistryDeprecated");
    this.requireRoot(m.terms.mode, root);
    this.publish(from, m, hash, uri, root);
  }

  setTerms(from: string, id: bigint, terms: ModelTerms): void {
    const m = this.ownedBy(from, id);
    this.checkTerms(terms);
    this.requireRoot(terms.mode, this.latestRoot(m));
    m.terms = terms;
  }

  deprecate(from: string, id: bigint): void {
    const m = this.ownedBy(from, id);
    if (m.deprecated) revert("ModelRegistryDeprecated");
    m.deprecated = true;
  }

  transferModelOwnership(from: string, id: bigint, to: string): void {
    this.ownedBy(from, id).pendingOwner = to;
  }

  acceptModelOwnership(from: string, id: bigint): void {
    const m = this.existing(id);
    if (!same(m.pendingOwner, from)) revert("ModelRegistryNotPendingOwner");
    m.owner = from;
    m.pendingOwner = ZeroAddress;
  }

  // ------------------------------------------------------------------ escrow governance

  setParams(isOwner: boolean, p: P): void {
    if (!isOwner) revert("OwnableUnauthorizedAccount");
    const bounds: [keyof P, bigint, bigint][] = [
      ["protocolFeeBps", 0n, 1000n],
      ["verifierShareBps", 0n, 3000n],
      ["collateralRatioBps", 10_000n, 50_000n],
      ["timeoutSlashBps", 500n, 10_000n],
      ["compensationBps", 0n, 9000n],
      ["verifierRewardBps", 0n, 9000n - p.compensationBps],
      ["submissionWindow", 10n, 7n * 86_400n],
      ["challengeWindow", 10n, 7n * 86_400n],
      ["commitWindow", 10n, 7n * 86_400n],
      ["revealWindow", 10n, 7n * 86_400n],
      ["maxJobDuration", 60n, 90n * 86_400n],
      ["minFee", 0n, 10n ** 27n],
      ["minCollateral", 0n, 10n ** 27n],
      ["maxInputBytes", 256n, 128n * 1024n],
      ["maxOutputBytes", 256n, 128n * 1024n],
      ["votePenalty", 0n, 10n ** 27n],
      ["challengeBond", 1n, 10n ** 27n],
      ["maxCallbackGasLimit", 0n, 5_000_000n],
    ];
    for (const [key, lo, hi] of bounds) if (p[key] < lo || p[key] > hi) revert("JobEscrowInvalidParam");
    const window = BigInt(disputeWindowOf(numbers(p)));
    if (window > this.s.unbondingPeriod) revert("JobEscrowDisputeWindowExceedsUnbonding");
    this.s.params.push({ ...p });
    this.s.maxDisputeWindow = max(this.s.maxDisputeWindow, window);
  }

  setTreasury(isOwner: boolean, to: string): void {
    if (!isOwner) revert("OwnableUnauthorizedAccount");
    if (to === ZeroAddress) revert("JobEscrowZeroAddress");
    // Income accrued so far stays credited to the treasury that earned it: credits are kept per address.
    this.s.treasury = to;
    this.s.treasuryAccrued = 0n;
  }

  pause(isOwner: boolean): void {
    if (!isOwner) revert("OwnableUnauthorizedAccount");
    if (this.s.paused) revert("EnforcedPause");
    this.s.paused = true;
  }

  unpause(isOwner: boolean): void {
    if (!isOwner) revert("OwnableUnauthorizedAccount");
    if (!this.s.paused) revert("ExpectedPause");
    this.s.paused = false;
  }

  // ------------------------------------------------------------------ escrow: jobs

  /** The job with id `id`, if one was requested. */
  jobOf(id: bigint): JobModel | undefined {
    return this.s.jobs.find((j) => j.job.id === id);
  }

  /** The job `record` refers to, after the escrow's hash check (`tampered`: a record that does not hash). */
  private stateOf(id: bigint, tampered: boolean): JobModel {
    const j = this.jobOf(id) ?? revert("JobEscrowUnknownJob");
    if (tampered) revert("JobEscrowJobMismatch");
    return j;
  }

  request(
    from: string,
    modelId: bigint,
    input: { inline: string } | { uri: string; hash: string },
    staleTerms: boolean,
    deadline: bigint,
    callbackGasLimit: bigint,
  ): void {
    if (this.s.paused) revert("EnforcedPause");
    const p = this.current;
    let inputHash: string;
    if ("inline" in input) {
      const length = BigInt((input.inline.length - 2) / 2);
      if (length === 0n) revert("JobEscrowEmptyInput");
      if (length > p.maxInputBytes) revert("JobEscrowInputTooLarge");
      inputHash = keccak256(input.inline);
    } else {
      if (input.uri.length === 0 || input.uri.length > MAX_URI_BYTES) revert("JobEscrowInvalidInputUri");
      if (input.hash === ZeroHash) revert("JobEscrowZeroInputHash");
      inputHash = input.hash;
    }
    const latest = this.s.now + p.maxJobDuration;
    if (deadline <= this.s.now || deadline > latest) revert("JobEscrowInvalidDeadline");
    if (callbackGasLimit !== 0n) {
      if (callbackGasLimit > p.maxCallbackGasLimit) revert("JobEscrowCallbackGasTooHigh");
      revert("JobEscrowCallbackRequiresContract"); // every fuzzed requester is an EOA
    }
    const m = this.existing(modelId);
    if (m.deprecated) revert("ModelRegistryDeprecated");
    const fee = m.terms.price;
    if (staleTerms) revert("JobEscrowTermsChanged");
    if (fee < p.minFee) revert("JobEscrowFeeTooLow");
    const job: JobRecord = {
      id: 0n,
      nonce: BigInt(this.s.jobs.length + 1),
      requester: from,
      modelOwner: m.owner,
      modelId,
      version: BigInt(m.versionCount),
      mode: BigInt(m.terms.mode),
      committeeSize: BigInt(m.terms.committeeSize),
      royaltyBps: BigInt(m.terms.royaltyBps),
      protocolFeeBps: p.protocolFeeBps,
      verifierShareBps: p.verifierShareBps,
      paramsId: BigInt(this.s.params.length),
      callbackGasLimit,
      deadline,
      fee,
      collateral: collateralFor(fee, p),
      inputHash,
    };
    job.id = jobIdOf(job, { chainId: this.s.chainId, escrow: this.s.escrow });
    this.s.jobs.push({
      job,
      status: JobStatus.Requested,
      worker: ZeroAddress,
      windowEnd: 0n,
      revealEnd: 0n,
      seats: [],
      sealed: [],
      outputHash: ZeroHash,
      outputRight: false,
      challenger: ZeroAddress,
      bond: 0n,
      settledCount: 0,
    });
    this.fx.requested = job;
    if (this.spendableOf(from) >= fee) this.s.credits[from] -= fee;
    else this.move(from, this.s.escrow, fee);
  }

  deposit(from: string, amount: bigint): void {
    if (amount === 0n) revert("JobEscrowZeroDeposit");
    this.move(from, this.s.escrow, amount);
    this.credit(from, amount);
  }

  claim(from: string, id: bigint, tampered = false): void {
    if (this.s.paused) revert("EnforcedPause");
    const j = this.stateOf(id, tampered);
    if (j.status !== JobStatus.Requested) revert("JobEscrowInvalidStatus");
    if (drawsCommittee(j.job.mode)) this.requireVerifiers(from, j);
    this.doClaim(from, j);
  }

  /** `_requireVerifiers`: a committee could be drawn now besides the worker, requester and model owner. */
  private requireVerifiers(from: string, j: JobModel): void {
    const needed = Number(j.job.committeeSize) + (j.job.mode === BigInt(VerificationMode.Optimistic) ? 1 : 0);
    const eligible = this.eligible([from, j.job.requester, j.job.modelOwner]).length - this.leavingInDraw();
    if (eligible < needed) {
      revert("JobEscrowNotEnoughVerifiers");
    }
  }

  private doClaim(from: string, j: JobModel): void {
    if (this.s.now > j.job.deadline) revert("JobEscrowDeadlinePassed");
    j.status = JobStatus.Claimed;
    j.worker = from;
    j.windowEnd = min(this.s.now + this.paramsOf(j.job.paramsId).submissionWindow, j.job.deadline);
    this.lock(from, j.job.collateral);
  }

  submit(from: string, id: bigint, output: string, right: boolean, tampered = false): void {
    const j = this.stateOf(id, tampered);
    const claimedNow = j.status === JobStatus.Requested;
    if (claimedNow) {
      if (this.s.paused) revert("EnforcedPause");
      // Claimed in this transaction, a verified job is checked as `claim` checks it.
      if (drawsCommittee(j.job.mode)) this.requireVerifiers(from, j);
      this.doClaim(from, j);
    } else if (j.status !== JobStatus.Claimed) {
      revert("JobEscrowInvalidStatus");
    } else {
      if (!same(from, j.worker)) revert("JobEscrowNotWorker");
      if (this.s.now > j.windowEnd) revert("JobEscrowSubmissionWindowClosed");
    }
    const length = BigInt((output.length - 2) / 2);
    if (length === 0n) revert("JobEscrowEmptyOutput");
    const p = this.paramsOf(j.job.paramsId);
    if (length > p.maxOutputBytes) revert("JobEscrowOutputTooLarge");
    j.outputHash = keccak256(output);
    j.outputRight = right;
    if (j.job.mode === BigInt(VerificationMode.None)) {
      this.settleAccepted(j, output, 0n);
    } else if (j.job.mode !== BigInt(VerificationMode.Committee)) {
      // Optimistic or Proven: a window for a challenge or a fraud proof.
      j.status = JobStatus.Submitted;
      j.windowEnd = this.s.now + p.challengeWindow;
    } else {
      this.requestSeed(j);
    }
  }

  /**
   * CommitteeDrawLib.request: MockRandomness never fails, so the job always moves to Drawing, to be drawn from the
   * seed of its ticket (kept in `revealEnd`), the number of this transaction's block; `windowEnd` (draw-by) only
   * bounds the wait for a seed that does not come.
   */
  private requestSeed(j: JobModel): void {
    j.status = JobStatus.Drawing;
    j.windowEnd = this.s.now + this.paramsOf(j.job.paramsId).commitWindow;
    j.revealEnd = this.s.block;
  }

  /** Why the committee of `j` cannot be drawn now, if it cannot (CommitteeDrawLib.draw's checks, in order). */
  drawSkip(j: JobModel): DrawSkip | undefined {
    if (j.status !== JobStatus.Drawing) return "JobEscrowInvalidStatus";
    // Drawn whenever its seed exists, even past draw-by. MockRandomness: a ticket's seed exists from the block after the ticket's.
    if (this.s.block <= j.revealEnd) return "JobEscrowSeedPending";
    return undefined;
  }

  /**
   * `drawCommittees`: draws every job of the batch that can be drawn, skips the others; when none can, reverts
   * with the first job's reason. Every record is checked first (an unknown or tampered one reverts the batch).
   */
  drawCommittees(items: { id: bigint; tampered?: boolean }[]): void {
    if (items.length === 0) revert("JobEscrowInvalidBatch");
    let drawn = 0;
    for (const item of items) {
      const j = this.stateOf(item.id, item.tampered ?? false);
      const skip = this.drawSkip(j);
      if (skip !== undefined) {
        this.fx.drawPaths.push(`skipped ${skip.replace("JobEscrow", "")}`);
        continue;
      }
      this.draw(j);
      drawn += 1;
    }
    if (drawn === 0) revert(this.drawSkip(this.stateOf(items[0].id, items[0].tampered ?? false))!);
  }

  /**
   * Draws the committee of `j` (in Drawing, its seed there), excluding its worker, requester, model owner and
   * challenger, and opens the vote; with too few eligible verifiers the job settles Inconclusive at once. The
   * members are filled in from CommitteeDrawn (`fillCommittee`).
   */
  private draw(j: JobModel): void {
    const excluded = [j.worker, j.job.requester, j.job.modelOwner];
    if (j.challenger !== ZeroAddress) excluded.push(j.challenger);
    const eligible = this.eligible(excluded);
    const size = Number(j.job.committeeSize);
    if (eligible.length < size) {
      this.fx.drawPaths.push("tooFew");
      this.settleInconclusive(j);
      return;
    }
    const seed = drawSeedOf(j.job, j.revealEnd, this.s.randomSeed);
    const p = this.paramsOf(j.job.paramsId);
    j.status = JobStatus.Voting;
    j.windowEnd = this.s.now + p.commitWindow;
    j.revealEnd = j.windowEnd + p.revealWindow;
    j.seats = [];
    this.fx.draws.push({ jobId: j.job.id, size, eligible, seed, excluded, weights: this.weights() });
  }

  /** Every account's draw weight, as one comparable string. */
  weights(): string {
    return JSON.stringify(Object.entries(this.s.accounts).map(([a, acc]) => [a, acc.weight.toString()]));
  }

  /** `MockRandomness.setSeed`: the seed every ticket's seed is derived from from now on, at the draw. */
  reseed(seed: bigint): void {
    this.s.randomSeed = seed;
  }

  /** Seats the committee a transaction drew. */
  fillCommittee(jobId: bigint, members: string[]): void {
    this.jobOf(jobId)!.seats = members.map((verifier) => ({ verifier, vote: VoteState.Drawn }));
  }

  challenge(from: string, id: bigint, tampered = false): void {
    const j = this.stateOf(id, tampered);
    if (j.job.mode !== BigInt(VerificationMode.Optimistic)) revert("JobEscrowNotOptimistic");
    if (j.status !== JobStatus.Submitted) revert("JobEscrowInvalidStatus");
    if (this.s.now > j.windowEnd) revert("JobEscrowChallengeWindowClosed");
    if (same(from, j.worker) || same(from, j.job.requester) || this.account(from).weight === 0n) {
      revert("JobEscrowInvalidChallenger");
    }
    j.challenger = from;
    j.bond = challengeBondFor(j.job, this.paramsOf(j.job.paramsId));
    this.requestSeed(j);
    this.move(from, this.s.escrow, j.bond);
  }

  /**
   * `proveFraud` (ProvenJudge.convict): a Proven job, Submitted, inside its challenge window; the evidence judged
   * as `judge` does (each refusal its named error); on a conviction the job ends Rejected, the worker's whole
   * collateral is slashed and the split credited, the prover in the challenger's place.
   */
  proveFraud(from: string, id: bigint, evidence: Evidence, tampered = false): void {
    const j = this.stateOf(id, tampered);
    if (j.job.mode !== BigInt(VerificationMode.Proven)) revert("JobEscrowNotProven");
    if (j.status !== JobStatus.Submitted) revert("JobEscrowInvalidStatus");
    if (this.s.now > j.windowEnd) revert("JobEscrowChallengeWindowClosed");
    const proof = "proof" in evidence ? evidence.proof : revert("ProvenEvidenceMalformed");
    const verdict = judge(j.job.inputHash, j.outputHash, this.rootOf(j.job), proof);
    if (!verdict.proven) return revert(`Proven${verdict.refusal}`);
    const leaf = decodeNeuronLeaf(proof.leaf);
    this.fx.frauds.push({
      jobId: id,
      prover: from,
      fraud: FRAUD_KINDS.indexOf(verdict.fraud),
      layer: BigInt(leaf.layer),
      index: BigInt(leaf.index),
    });
    j.status = JobStatus.Rejected;
    const slashed = this.slash(j.worker, j.job.collateral, rejectionSlash(j.job));
    const s = provenSettlement(j.job, this.paramsOf(j.job.paramsId), slashed);
    this.credit(j.job.requester, s.requesterRefund);
    this.credit(from, s.challengerPayment);
    this.creditTreasury(s.treasuryPayment);
    this.finish(j, JobOutcome.Rejected, s);
  }

  private votingJob(id: bigint): JobModel {
    const j = this.jobOf(id) ?? revert("JobEscrowUnknownJob");
    if (j.status !== JobStatus.Voting) revert("JobEscrowInvalidStatus");
    return j;
  }

  /** The seat `index` if `from` holds it (an index past the committee is held by no one). */
  private seatAt(j: JobModel, from: string, index: number): Seat {
    const seat = j.seats[index];
    if (!seat || !same(seat.verifier, from)) revert("JobEscrowNotCommitteeMember");
    return seat;
  }

  commitVote(from: string, id: bigint, index: number, commitment: string): void {
    if (commitment === ZeroHash) revert("JobEscrowZeroCommitment");
    const j = this.votingJob(id);
    if (this.s.now > j.windowEnd) revert("JobEscrowCommitWindowClosed");
    const seat = this.seatAt(j, from, index);
    if (seat.vote !== VoteState.Drawn) revert("JobEscrowInvalidVoteState");
    seat.vote = VoteState.Committed;
    j.sealed.push(sealCommitment(index, commitment));
    this.fx.commits.push({ jobId: id, verifier: from, seat: BigInt(index), commitment });
  }

  /** `sealed`: the sealed commitments the reveal passes, which must be exactly the job's, in commit order. */
  revealVote(from: string, id: bigint, index: number, agree: boolean, salt: string, sealed: string[]): void {
    const j = this.votingJob(id);
    if (this.s.now > j.revealEnd) revert("JobEscrowRevealWindowClosed");
    const seat = this.seatAt(j, from, index);
    if (seat.vote !== VoteState.Committed) revert("JobEscrowInvalidVoteState");
    if (this.s.now <= j.windowEnd && j.seats.some((x) => x.vote === VoteState.Drawn)) revert("JobEscrowRevealNotOpen");
    if (sealed.length !== j.sealed.length || sealed.some((x, i) => x !== j.sealed[i])) {
      revert("JobEscrowCommitmentsMismatch");
    }
    if (!sealed.includes(sealCommitment(index, voteCommitment(id, from, agree, salt)))) {
      revert("JobEscrowCommitmentMismatch");
    }
    seat.vote = agree ? VoteState.Agreed : VoteState.Disagreed;
  }

  /** JobEscrow._due: whether the job can be settled now, and from when (0: it is terminal). */
  due(j: JobModel): { due: boolean; readyAt: bigint } {
    let readyAt: bigint;
    if (j.status === JobStatus.Requested) readyAt = j.job.deadline + 1n;
    else if (j.status === JobStatus.Claimed || j.status === JobStatus.Submitted || j.status === JobStatus.Drawing) {
      readyAt = j.windowEnd + 1n;
    } else if (j.status === JobStatus.Voting) {
      readyAt = j.revealEnd + 1n;
      const allRevealed = j.seats.every((x) => x.vote === VoteState.Agreed || x.vote === VoteState.Disagreed);
      if (this.s.now < readyAt && allRevealed) return { due: true, readyAt };
    } else return { due: false, readyAt: 0n };
    return { due: this.s.now >= readyAt, readyAt };
  }

  /** The earliest time every open job is settleable. */
  allDueAt(): bigint {
    let at = this.s.now;
    for (const j of this.s.jobs) {
      if (!isTerminal(j.status)) at = max(at, this.due(j).readyAt);
    }
    return at;
  }

  settle(id: bigint, output: string, tampered = false): void {
    const j = this.stateOf(id, tampered);
    const { due, readyAt } = this.due(j);
    if (!due) revert(readyAt === 0n ? "JobEscrowInvalidStatus" : "JobEscrowNotSettleable");
    this.settleDue(j, output);
  }

  settleBatch(items: { id: bigint; output: string; tampered?: boolean }[], outputsLength: number): void {
    if (items.length === 0 || items.length !== outputsLength) revert("JobEscrowInvalidBatch");
    for (const item of items) {
      const j = this.stateOf(item.id, item.tampered ?? false);
      if (!this.due(j).due) continue;
      this.settleDue(j, item.output);
    }
  }

  withdraw(from: string): void {
    const amount = this.creditOf(from);
    if (amount === 0n) revert("JobEscrowNothingToWithdraw");
    this.s.credits[from] = 0n;
    if (from === this.s.treasury) this.s.treasuryAccrued = 0n;
    this.move(this.s.escrow, from, amount);
  }

  // ------------------------------------------------------------------ escrow: settlement

  private settleDue(j: JobModel, output: string): void {
    if (output !== "0x" && keccak256(output) !== j.outputHash) revert("JobEscrowOutputMismatch");
    if (j.status === JobStatus.Requested) {
      j.status = JobStatus.Refunded;
      this.credit(j.job.requester, j.job.fee);
      this.finish(j, JobOutcome.Expired, expiredSettlement(j.job));
    } else if (j.status === JobStatus.Claimed) {
      this.settleAbandoned(j);
    } else if (j.status === JobStatus.Submitted) {
      this.settleAccepted(j, output, 0n);
    } else if (j.status === JobStatus.Drawing) {
      // Past draw-by: a job whose seed exists is drawn now (nobody escapes the vote by not drawing); one whose seed
      // never came ends Inconclusive, nobody slashed, a challenger's bond returned.
      if (this.drawSkip(j) === undefined) {
        this.fx.drawPaths.push("drawn by settle");
        this.draw(j);
      } else {
        this.fx.drawPaths.push("undrawn");
        this.settleInconclusive(j);
      }
    } else {
      const agreed = BigInt(j.seats.filter((x) => x.vote === VoteState.Agreed).length);
      const disagreed = BigInt(j.seats.filter((x) => x.vote === VoteState.Disagreed).length);
      const outcome = tallyOutcome(j.seats.length, agreed, disagreed);
      if (outcome === JobOutcome.Accepted) this.settleAccepted(j, output, agreed);
      else if (outcome === JobOutcome.Rejected) this.settleRejected(j, disagreed);
      else this.settleInconclusive(j);
    }
  }

  /** The challenge of `j`, if a challenger is involved. */
  private challengeOf(j: JobModel): ChallengeBond | undefined {
    return j.challenger === ZeroAddress ? undefined : { bond: j.bond };
  }

  private settleAbandoned(j: JobModel): void {
    j.status = JobStatus.Refunded;
    const p = this.paramsOf(j.job.paramsId);
    const slashed = this.slash(j.worker, j.job.collateral, abandonmentSlash(j.job, p));
    const s = abandonedSettlement(j.job, p, slashed);
    this.credit(j.job.requester, s.requesterRefund);
    this.creditTreasury(s.treasuryPayment);
    this.finish(j, JobOutcome.Abandoned, s);
  }

  private settleAccepted(j: JobModel, output: string, agreed: bigint): void {
    if (j.job.callbackGasLimit !== 0n && output === "0x") revert("JobEscrowOutputRequired");
    j.status = JobStatus.Settled;
    const s = acceptedSettlement(j.job, this.paramsOf(j.job.paramsId), agreed, this.challengeOf(j));
    if (agreed !== 0n && s.verifierReward !== 0n) {
      for (const seat of j.seats) if (seat.vote === VoteState.Agreed) this.credit(seat.verifier, s.verifierReward);
    }
    this.credit(j.worker, s.workerPayment);
    this.credit(j.job.modelOwner, s.royalty);
    this.unlock(j.worker, j.job.collateral);
    this.penalize(j, VoteState.Agreed);
    this.creditTreasury(s.treasuryPayment);
    this.finish(j, JobOutcome.Accepted, s);
  }

  private settleRejected(j: JobModel, disagreed: bigint): void {
    j.status = JobStatus.Rejected;
    const slashed = this.slash(j.worker, j.job.collateral, rejectionSlash(j.job));
    const s = rejectedSettlement(j.job, this.paramsOf(j.job.paramsId), disagreed, slashed, this.challengeOf(j));
    if (j.challenger !== ZeroAddress) this.credit(j.challenger, s.challengerPayment);
    this.credit(j.job.requester, s.requesterRefund);
    if (s.verifierReward !== 0n) {
      for (const seat of j.seats) if (seat.vote === VoteState.Disagreed) this.credit(seat.verifier, s.verifierReward);
    }
    this.penalize(j, VoteState.Disagreed);
    this.creditTreasury(s.treasuryPayment);
    this.finish(j, JobOutcome.Rejected, s);
  }

  private settleInconclusive(j: JobModel): void {
    j.status = JobStatus.Refunded;
    const s = inconclusiveSettlement(j.job, this.challengeOf(j), j.seats.length > 0);
    this.credit(j.worker, s.workerPayment);
    this.credit(j.job.modelOwner, s.royalty);
    this.creditTreasury(s.treasuryPayment);
    this.credit(j.job.requester, s.requesterRefund);
    if (j.challenger !== ZeroAddress) this.credit(j.challenger, s.challengerPayment);
    this.unlock(j.worker, j.job.collateral);
    this.penalize(j);
    this.finish(j, JobOutcome.Inconclusive, s);
  }

  /** Slashes the vote penalty from every seat `isPenalized` names (`majority`: the winning vote, if any). */
  private penalize(j: JobModel, majority?: number): void {
    const penalty = this.paramsOf(j.job.paramsId).votePenalty;
    for (const seat of j.seats) {
      if (!isPenalized(seat.vote, majority)) continue;
      if (penalty === 0n) return;
      this.creditTreasury(this.slash(seat.verifier, 0n, penalty));
    }
  }

  private finish(j: JobModel, outcome: number, settlement: Settlement): void {
    j.settledCount += 1;
    this.fx.settlements.push({ jobId: j.job.id, outcome, settlement });
  }
}
