/**
 * fast-check arbitraries of every external action on the protocol. Actions are abstract: actors are named, and
 * jobs, committee seats and models are picked by an index that the runner resolves against the model's state
 * at that step (preferring targets where the call can succeed, sometimes any target so that it should revert).
 * That keeps every generated sequence meaningful and lets fast-check shrink it freely.
 */
import fc from "fast-check";
import { parseEther } from "ethers";
import type { P } from "./model";
import type { ModelTerms } from "../../packages/sdk/src/params";
import type { Cheat, ProvenInputVariant } from "./proven";

export const REQUESTERS = ["req0", "req1"] as const;
export const WORKERS = ["worker0", "worker1"] as const;
export const VERIFIERS = ["ver0", "ver1", "ver2", "ver3", "ver4", "ver5"] as const;
export const MODEL_OWNERS = ["owner0", "owner1"] as const;
/** Every named actor; `gov` owns the escrow and administers staking; `outsider` holds no role. */
export const ACTORS = [
  "gov",
  "treasury",
  "treasury2",
  ...MODEL_OWNERS,
  ...REQUESTERS,
  ...WORKERS,
  ...VERIFIERS,
  "outsider",
] as const;
export type Actor = (typeof ACTORS)[number];

/**
 * A job pick: an index into the jobs that fit the action or, with `any`, into every job. With `oldest`, the
 * first fitting job in request order instead: votes that go to the oldest open committee finish it before its
 * windows close, where votes spread over every open committee rarely finish any.
 */
export interface JobPick {
  pick: number;
  any: boolean;
  oldest?: boolean;
  /** Set by the runner for the later votes of a burst: this job, if it fits. */
  jobId?: bigint;
}

export type RequestVariant =
  | "ok"
  | "byUri"
  | "staleTerms"
  | "deadlinePast"
  | "deadlineFar"
  | "emptyInput"
  | "hugeInput"
  | "badUri"
  | "zeroHash"
  | "callback"
  | "unknownModel";

/** When the committee of a job a submission or challenge moved to Drawing is drawn (see `submit`). */
export type DrawAfter = "next" | "sameBlock" | "none";

/**
 * The evidence of a fraud proof: "first" the verifier's proof (findFirstFraud's neuron, or, when the posted result
 * is right, an attempt on the neuron `neuron` picks); "neuron" a proof naming the neuron `neuron` picks; "otherOutput"
 * that proof with an output that is not the posted one; "otherInput" a layer-1 proof with an input that is not the
 * job's; "foreignLeaf" a neuron of another model; "garbage" bytes that are not ABI-encoded evidence.
 */
export type FraudEvidence = "first" | "neuron" | "otherOutput" | "otherInput" | "foreignLeaf" | "garbage";

export type Action =
  /**
   * `mode`: prefer a model in this verification mode (when one takes jobs). `proven`, `inputSeed`: on a Proven
   * model, the input sent (see ProvenInputVariant), its values seeded.
   */
  | {
      kind: "request";
      who: Actor;
      model: number;
      mode: number | null;
      variant: RequestVariant;
      deadlineIn: number;
      proven: ProvenInputVariant;
      inputSeed: number;
    }
  | { kind: "claim"; who: Actor; job: JobPick; tampered: boolean }
  /**
   * `draw`: "next": once a Committee submission succeeds (its job in Drawing), its committee is drawn in the next
   * transaction, as the worker's service draws as soon as the seed exists; "sameBlock": a draw of it is sent in
   * the same block too, before the seed exists; "none": it waits for a `drawCommittees` action, or its draw
   * window closes. On a Proven job, "right" and "wrong" post a trace: its input's ("none") or the cheat `cheat`, its
   * layer, neuron and change picked by `at`; with `proof`, once the submission succeeds, someone watching Proven
   * jobs sends a proof with that evidence in the next transaction ("first": the verifier's, as the verifier
   * service does). `mode`: prefer a job in this verification mode (when one fits).
   */
  | {
      kind: "submit";
      who: Actor;
      job: JobPick;
      mode: number | null;
      output: "right" | "wrong" | "empty" | "huge";
      asWorker: boolean;
      draw: DrawAfter;
      cheat: Cheat | "none";
      at: number;
      proof: FraudEvidence | null;
    }
  /** `draw`: as for `submit`, once the challenge succeeds. */
  | { kind: "challenge"; who: Actor; job: JobPick; draw: DrawAfter }
  /** A fraud proof of a Proven job's posted result, by anyone (the job picked among those it can convict now). */
  | { kind: "proveFraud"; who: Actor; job: JobPick; evidence: FraudEvidence; neuron: number; tampered: boolean }
  /**
   * A batch of jobs to draw committees for. `jobs` picks among every job, as settleBatch picks; `first`: "ready"
   * puts the jobs whose committee can be drawn now (if any) before the picks, which are then skipped unless
   * they can be drawn too; "stuck" picks among the jobs in Drawing that cannot be drawn now (if any), and "any"
   * among every job, so that the batch mostly reverts with the first job's reason. `tampered`: the last record
   * does not hash to its id.
   */
  | { kind: "drawCommittees"; who: Actor; first: "ready" | "stuck" | "any"; jobs: number[]; tampered: boolean }
  /**
   * `wrongSeat`: a member names a seat it does not hold (another member's, or past the committee). `burst`: once
   * this commit succeeds, the job's other members commit too, one transaction each, honestly except the one at
   * position `dissent` in the burst (if the committee is that large), who votes the other way.
   */
  | {
      kind: "commitVote";
      job: JobPick;
      seat: number;
      vote: "honest" | "agree" | "disagree";
      variant: "ok" | "zero" | "nonMember" | "wrongSeat";
      burst: boolean;
      dissent: number;
    }
  /**
   * `staleList`: the sealed commitments passed are not the job's (one missing, one too many, or reordered).
   * `burst`: once this reveal succeeds, the job's other committed members reveal too (`ok`).
   */
  | {
      kind: "revealVote";
      job: JobPick;
      seat: number;
      variant: "ok" | "wrongSalt" | "flip" | "nonMember" | "wrongSeat" | "staleList";
      burst: boolean;
    }
  | { kind: "settle"; who: Actor; job: JobPick; output: "none" | "right" | "wrong"; tampered: boolean }
  | { kind: "settleBatch"; who: Actor; jobs: number[]; mismatch: boolean }
  /** `who` when `any`, else one of the accounts the escrow owes something (if any). */
  | { kind: "withdraw"; who: Actor; pick: number; any: boolean }
  | { kind: "deposit"; who: Actor; amount: bigint }
  | { kind: "stake"; who: Actor; amount: bigint }
  /** "allowed": all a verifier in the draw may unbond without notice (free stake above the minimum), else "free". */
  | { kind: "requestUnstake"; who: Actor; amount: "zero" | "one" | "ten" | "allowed" | "free" | "morethanfree" }
  /** `who` when `any`, else one of the accounts with stake unbonding (if any). */
  | { kind: "withdrawStake"; who: Actor; pick: number; any: boolean }
  /** `on` as given when `raw`, else the change the account can make: opt in, opt out, now and then cancel an exit. */
  | { kind: "setVerifier"; who: Actor; on: boolean; raw: boolean; pick: number }
  /** `who` completes the exit of `of` when `any`, else of one of the leaving verifiers (if any). */
  | { kind: "completeExit"; who: Actor; of: Actor; pick: number; any: boolean }
  | { kind: "setParams"; who: Actor; params: P; invalid: keyof P | null }
  | { kind: "pause"; who: Actor }
  | { kind: "unpause"; who: Actor }
  | { kind: "setTreasury"; who: Actor; to: Actor | "zero" }
  | { kind: "setUnbondingPeriod"; who: Actor; period: bigint }
  | { kind: "setMinVerifierStake"; who: Actor; amount: bigint }
  /**
   * `root`: with the weights root of the fuzz profile model `profile` picks (test/fuzz/proven.ts), else zero;
   * Proven terms without one revert.
   */
  | {
      kind: "registerModel";
      who: Actor;
      terms: ModelTerms;
      hash: "new" | "taken" | "zero";
      uri: "ok" | "empty";
      root: boolean;
      profile: number;
    }
  | { kind: "setTerms"; model: number; asOwner: boolean; terms: ModelTerms }
  | { kind: "deprecate"; model: number; asOwner: boolean }
  | {
      kind: "publishVersion";
      model: number;
      asOwner: boolean;
      hash: "new" | "taken" | "zero";
      root: boolean;
      profile: number;
    }
  | { kind: "transferModelOwnership"; model: number; asOwner: boolean; to: Actor }
  | { kind: "acceptModelOwnership"; model: number; asPending: boolean }
  | { kind: "reseed"; seed: number }
  | { kind: "mint"; who: Actor; amount: bigint }
  /** `reveal`: past the commit window of a committee some of whose members committed, opening its reveals. */
  | {
      kind: "time";
      jump: "small" | "window" | "day" | "unbonding" | "boundary" | "reveal";
      pick: number;
      exact: boolean;
    };

export type ActionKind = Action["kind"];

/** Kinds that have no failure mode (a time jump, the mock randomness seed, test minting). */
export const NEVER_REVERTS: ActionKind[] = ["time", "reseed", "mint"];

const ether = (v: string): bigint => parseEther(v);

const pickArb = fc.nat({ max: 1_000_000 });
/** Mostly `usual`, sometimes `unusual`. */
function mostly<T>(usual: fc.Arbitrary<T>, unusual: fc.Arbitrary<T>, ratio = 6): fc.Arbitrary<T> {
  return fc.oneof({ weight: ratio, arbitrary: usual }, { weight: 1, arbitrary: unusual });
}

/** Mostly drawn at once, so that votes follow; now and then tried in the submission's block first, or left to wait. */
const drawAfter = fc.constantFrom<DrawAfter>(
  "next",
  "next",
  "next",
  "next",
  "next",
  "next",
  "sameBlock",
  "none",
  "none",
);
const jobPick = fc.record({ pick: pickArb, any: mostly(fc.constant(false), fc.constant(true), 5) });
/** For votes: mostly the oldest open committee. */
const votePick = fc.record({
  pick: pickArb,
  any: mostly(fc.constant(false), fc.constant(true), 10),
  oldest: mostly(fc.constant(true), fc.constant(false), 3),
});
const requester = mostly(fc.constantFrom<Actor>(...REQUESTERS), fc.constantFrom<Actor>("worker0", "ver0"), 10);
const claimer = mostly(fc.constantFrom<Actor>(...WORKERS), fc.constantFrom<Actor>("ver0", "req0", "outsider"), 5);
const verifier = fc.constantFrom<Actor>(...VERIFIERS);
const staker = fc.constantFrom<Actor>(...WORKERS, ...VERIFIERS, "req0", "outsider");
const anyone = fc.constantFrom<Actor>(...ACTORS);
const governance = mostly(fc.constant<Actor>("gov"), fc.constantFrom<Actor>("outsider", "owner0"), 8);

export const termsArb: fc.Arbitrary<ModelTerms> = fc.record({
  price: mostly(
    fc.constantFrom(ether("1"), ether("2"), ether("3"), ether("0.5")),
    fc.constantFrom(0n, ether("0.001"), ether("50000")),
    8,
  ),
  // Proven (3) now and then: the registry takes it with a weights root (a fuzz profile model's).
  mode: mostly(fc.constantFrom(0, 1, 2), fc.constant(3), 10),
  committeeSize: mostly(fc.constantFrom(1, 3, 3, 5), fc.constantFrom(0, 2, 15, 16), 10),
  royaltyBps: mostly(fc.constantFrom(0, 500, 2000), fc.constant(2001), 20),
  relTolerance: mostly(fc.constantFrom(0, 10_000, 1_000_000_000), fc.constant(1_000_000_001), 30),
  absTolerance: fc.constantFrom(0, 1000),
});

const big = (lo: number, hi: number): fc.Arbitrary<bigint> => fc.integer({ min: lo, max: hi }).map(BigInt);

/** Parameters within their bounds, with windows short enough for the time jumps to cross them. */
export const paramsArb: fc.Arbitrary<P> = fc
  .record({
    protocolFeeBps: big(0, 1000),
    verifierShareBps: big(0, 3000),
    collateralRatioBps: big(10_000, 50_000),
    timeoutSlashBps: big(500, 10_000),
    compensationBps: big(0, 9000),
    verifierRewardPercent: fc.integer({ min: 0, max: 100 }),
    submissionWindow: fc.constantFrom(10n, 600n, 3600n, 7200n),
    challengeWindow: fc.constantFrom(10n, 600n, 3600n, 7200n),
    commitWindow: fc.constantFrom(10n, 1800n, 1800n, 3600n),
    revealWindow: fc.constantFrom(10n, 1800n, 1800n, 3600n),
    maxJobDuration: fc.constantFrom(60n, 3600n, 86_400n, 7n * 86_400n),
    minFee: fc.constantFrom(0n, ether("0.01"), ether("1"), ether("3")),
    minCollateral: fc.constantFrom(0n, ether("1"), ether("5")),
    maxInputBytes: fc.constantFrom(256n, 16_384n),
    maxOutputBytes: fc.constantFrom(256n, 16_384n),
    votePenalty: fc.constantFrom(0n, ether("1"), ether("7")),
    challengeBond: fc.constantFrom(1n, ether("1"), ether("10")),
    maxCallbackGasLimit: fc.constantFrom(0n, 1_000_000n),
  })
  .map(({ verifierRewardPercent, ...p }) => ({
    ...p,
    verifierRewardBps: ((9000n - p.compensationBps) * BigInt(verifierRewardPercent)) / 100n,
  }))
  .map((p) => ({
    protocolFeeBps: p.protocolFeeBps,
    verifierShareBps: p.verifierShareBps,
    collateralRatioBps: p.collateralRatioBps,
    timeoutSlashBps: p.timeoutSlashBps,
    compensationBps: p.compensationBps,
    verifierRewardBps: p.verifierRewardBps,
    submissionWindow: p.submissionWindow,
    challengeWindow: p.challengeWindow,
    commitWindow: p.commitWindow,
    revealWindow: p.revealWindow,
    maxJobDuration: p.maxJobDuration,
    minFee: p.minFee,
    minCollateral: p.minCollateral,
    maxInputBytes: p.maxInputBytes,
    maxOutputBytes: p.maxOutputBytes,
    votePenalty: p.votePenalty,
    challengeBond: p.challengeBond,
    maxCallbackGasLimit: p.maxCallbackGasLimit,
  }));

const invalidParam = mostly(
  fc.constant<keyof P | null>(null),
  fc.constantFrom<keyof P>(
    "protocolFeeBps",
    "collateralRatioBps",
    "submissionWindow",
    "challengeBond",
    "maxInputBytes",
  ),
  5,
);

/** Values that break each parameter's bounds (used when `invalid` names it). */
export const OUT_OF_BOUNDS: Partial<Record<keyof P, bigint>> = {
  protocolFeeBps: 1001n,
  collateralRatioBps: 9999n,
  submissionWindow: 9n,
  challengeBond: 0n,
  maxInputBytes: 255n,
};

const requestVariant = mostly(
  fc.constantFrom<RequestVariant>("ok", "ok", "ok", "byUri"),
  fc.constantFrom<RequestVariant>(
    "staleTerms",
    "deadlinePast",
    "deadlineFar",
    "emptyInput",
    "hugeInput",
    "badUri",
    "zeroHash",
    "callback",
    "unknownModel",
  ),
  5,
);

const actionArbs: Record<ActionKind, fc.Arbitrary<Action>> = {
  request: fc.record({
    kind: fc.constant("request" as const),
    who: requester,
    model: pickArb,
    mode: fc.constantFrom<number | null>(null, 1, 2, 2, 2, 3, 3),
    variant: requestVariant,
    deadlineIn: fc.constantFrom(600, 3600, 86_400, 3 * 86_400),
    proven: mostly(
      fc.constant<ProvenInputVariant>("ok"),
      fc.constantFrom<ProvenInputVariant>("wrongWidth", "notProfile"),
      10,
    ),
    inputSeed: fc.nat(),
  }),
  claim: fc.record({
    kind: fc.constant("claim" as const),
    who: claimer,
    job: jobPick,
    tampered: mostly(fc.constant(false), fc.constant(true), 15),
  }),
  submit: fc.record({
    kind: fc.constant("submit" as const),
    who: claimer,
    job: jobPick,
    mode: fc.constantFrom<number | null>(null, null, 3),
    output: mostly(
      fc.constantFrom<"right" | "wrong">("right", "right", "wrong"),
      fc.constantFrom<"empty" | "huge">("empty", "huge"),
      10,
    ),
    asWorker: mostly(fc.constant(true), fc.constant(false), 6),
    draw: drawAfter,
    cheat: fc.constantFrom<Cheat | "none">("none", "none", "none", "input", "hidden", "hidden", "output", "missing"),
    at: fc.nat({ max: 1 << 20 }),
    proof: fc.oneof(
      { weight: 6, arbitrary: fc.constant<FraudEvidence>("first") },
      {
        weight: 2,
        arbitrary: fc.constantFrom<FraudEvidence>("neuron", "otherOutput", "otherInput", "foreignLeaf", "garbage"),
      },
      { weight: 2, arbitrary: fc.constant(null) },
    ),
  }),
  challenge: fc.record({
    kind: fc.constant("challenge" as const),
    who: mostly(verifier, fc.constantFrom<Actor>("req0", "worker0", "outsider"), 8),
    job: jobPick,
    draw: drawAfter,
  }),
  proveFraud: fc.record({
    kind: fc.constant("proveFraud" as const),
    who: anyone,
    job: jobPick,
    evidence: mostly(
      fc.constantFrom<FraudEvidence>("first", "first", "first", "neuron"),
      fc.constantFrom<FraudEvidence>("otherOutput", "otherInput", "foreignLeaf", "garbage"),
      6,
    ),
    neuron: pickArb,
    tampered: mostly(fc.constant(false), fc.constant(true), 20),
  }),
  drawCommittees: fc.record({
    kind: fc.constant("drawCommittees" as const),
    who: anyone,
    first: fc.constantFrom<"ready" | "stuck" | "any">("ready", "ready", "ready", "stuck", "any"),
    jobs: mostly(fc.array(pickArb, { minLength: 0, maxLength: 3 }), fc.constant<number[]>([]), 10),
    tampered: mostly(fc.constant(false), fc.constant(true), 20),
  }),
  commitVote: fc.record({
    kind: fc.constant("commitVote" as const),
    job: votePick,
    seat: pickArb,
    vote: fc.constantFrom<"honest" | "agree" | "disagree">("honest", "honest", "agree", "disagree"),
    variant: mostly(
      fc.constant<"ok">("ok"),
      fc.constantFrom<"zero" | "nonMember" | "wrongSeat">("zero", "nonMember", "wrongSeat"),
      10,
    ),
    burst: mostly(fc.constant(true), fc.constant(false), 4),
    dissent: fc.nat({ max: 7 }),
  }),
  revealVote: fc.record({
    kind: fc.constant("revealVote" as const),
    job: votePick,
    seat: pickArb,
    variant: mostly(
      fc.constant<"ok">("ok"),
      fc.constantFrom<"wrongSalt" | "flip" | "nonMember" | "wrongSeat" | "staleList">(
        "wrongSalt",
        "flip",
        "nonMember",
        "wrongSeat",
        "staleList",
      ),
      8,
    ),
    burst: mostly(fc.constant(true), fc.constant(false), 4),
  }),
  settle: fc.record({
    kind: fc.constant("settle" as const),
    who: anyone,
    job: jobPick,
    output: mostly(fc.constant<"none">("none"), fc.constantFrom<"right" | "wrong">("right", "wrong"), 4),
    tampered: mostly(fc.constant(false), fc.constant(true), 20),
  }),
  settleBatch: fc.record({
    kind: fc.constant("settleBatch" as const),
    who: anyone,
    jobs: mostly(fc.array(pickArb, { minLength: 1, maxLength: 5 }), fc.constant<number[]>([]), 10),
    mismatch: mostly(fc.constant(false), fc.constant(true), 10),
  }),
  withdraw: fc.record({
    kind: fc.constant("withdraw" as const),
    who: anyone,
    pick: pickArb,
    any: mostly(fc.constant(false), fc.constant(true), 3),
  }),
  // Deposits of one to a few fees, so that requests draw on them; now and then zero, or more than the tokens held.
  deposit: fc.record({
    kind: fc.constant("deposit" as const),
    who: requester,
    amount: mostly(fc.constantFrom(ether("2"), ether("5"), ether("20")), fc.constantFrom(0n, ether("1000000")), 4),
  }),
  stake: fc.record({
    kind: fc.constant("stake" as const),
    who: staker,
    amount: mostly(fc.constantFrom(ether("1"), ether("10"), ether("50")), fc.constantFrom(0n, ether("100000")), 3),
  }),
  requestUnstake: fc.record({
    kind: fc.constant("requestUnstake" as const),
    who: staker,
    amount: fc.constantFrom<"zero" | "one" | "ten" | "allowed" | "free" | "morethanfree">(
      "one",
      "ten",
      "allowed",
      "free",
      "zero",
      "morethanfree",
    ),
  }),
  withdrawStake: fc.record({
    kind: fc.constant("withdrawStake" as const),
    who: staker,
    pick: pickArb,
    any: mostly(fc.constant(false), fc.constant(true), 3),
  }),
  // Mostly verifiers, so that opt-outs (exits with notice) happen and reach completeExit.
  setVerifier: fc.record({
    kind: fc.constant("setVerifier" as const),
    who: mostly(verifier, staker, 2),
    on: fc.boolean(),
    raw: mostly(fc.constant(false), fc.constant(true), 2),
    pick: pickArb,
  }),
  completeExit: fc.record({
    kind: fc.constant("completeExit" as const),
    who: anyone,
    of: staker,
    pick: pickArb,
    any: mostly(fc.constant(false), fc.constant(true), 3),
  }),
  setParams: fc.record({
    kind: fc.constant("setParams" as const),
    who: governance,
    params: paramsArb,
    invalid: invalidParam,
  }),
  pause: fc.record({ kind: fc.constant("pause" as const), who: governance }),
  unpause: fc.record({ kind: fc.constant("unpause" as const), who: governance }),
  setTreasury: fc.record({
    kind: fc.constant("setTreasury" as const),
    who: governance,
    to: fc.constantFrom<Actor | "zero">("treasury", "treasury2", "treasury2", "req0", "zero"),
  }),
  setUnbondingPeriod: fc.record({
    kind: fc.constant("setUnbondingPeriod" as const),
    who: governance,
    period: fc.constantFrom(3599n, 3n * 3600n, 86_400n, 7n * 86_400n, 91n * 86_400n),
  }),
  setMinVerifierStake: fc.record({
    kind: fc.constant("setMinVerifierStake" as const),
    who: governance,
    amount: fc.constantFrom(0n, ether("5"), ether("10"), ether("60"), 10n ** 27n + 1n),
  }),
  registerModel: fc.record({
    kind: fc.constant("registerModel" as const),
    who: fc.constantFrom<Actor>(...MODEL_OWNERS, "outsider"),
    terms: termsArb,
    hash: mostly(fc.constant<"new">("new"), fc.constantFrom<"taken" | "zero">("taken", "zero"), 6),
    uri: mostly(fc.constant<"ok">("ok"), fc.constant<"empty">("empty"), 10),
    root: mostly(fc.constant(false), fc.constant(true), 3),
    profile: pickArb,
  }),
  setTerms: fc.record({
    kind: fc.constant("setTerms" as const),
    model: pickArb,
    asOwner: mostly(fc.constant(true), fc.constant(false), 6),
    terms: termsArb,
  }),
  deprecate: fc.record({
    kind: fc.constant("deprecate" as const),
    model: pickArb,
    asOwner: mostly(fc.constant(true), fc.constant(false), 3),
  }),
  publishVersion: fc.record({
    kind: fc.constant("publishVersion" as const),
    model: pickArb,
    asOwner: mostly(fc.constant(true), fc.constant(false), 6),
    hash: mostly(fc.constant<"new">("new"), fc.constantFrom<"taken" | "zero">("taken", "zero"), 6),
    root: mostly(fc.constant(false), fc.constant(true), 3),
    profile: pickArb,
  }),
  transferModelOwnership: fc.record({
    kind: fc.constant("transferModelOwnership" as const),
    model: pickArb,
    asOwner: mostly(fc.constant(true), fc.constant(false), 6),
    to: fc.constantFrom<Actor>(...MODEL_OWNERS, "outsider"),
  }),
  acceptModelOwnership: fc.record({
    kind: fc.constant("acceptModelOwnership" as const),
    model: pickArb,
    asPending: mostly(fc.constant(true), fc.constant(false), 4),
  }),
  reseed: fc.record({ kind: fc.constant("reseed" as const), seed: fc.nat() }),
  mint: fc.record({
    kind: fc.constant("mint" as const),
    who: anyone,
    amount: fc.constantFrom(ether("1"), ether("100")),
  }),
  time: fc.record({
    kind: fc.constant("time" as const),
    jump: fc.constantFrom<"small" | "window" | "day" | "unbonding" | "boundary" | "reveal">(
      "small",
      "small",
      "small",
      "window",
      "boundary",
      "boundary",
      "boundary",
      "day",
      "unbonding",
      "unbonding",
      "unbonding",
      "reveal",
      "reveal",
    ),
    pick: pickArb,
    exact: fc.boolean(),
  }),
};

/**
 * Relative frequency of each kind: the job flow dominates, governance and registry changes are rarer. A committee
 * of 3 to 5 needs as many commits and reveals as it has members, hence the votes' weights.
 */
export const WEIGHTS: Record<ActionKind, number> = {
  request: 14,
  claim: 5,
  submit: 12,
  challenge: 6,
  proveFraud: 5,
  drawCommittees: 5,
  commitVote: 28,
  revealVote: 26,
  settle: 6,
  settleBatch: 3,
  withdraw: 4,
  deposit: 3,
  stake: 3,
  requestUnstake: 3,
  withdrawStake: 4,
  setVerifier: 4,
  completeExit: 3,
  setParams: 2,
  pause: 2,
  // A pause stops requests and claims for the rest of a run unless someone lifts it.
  unpause: 4,
  setTreasury: 2,
  setUnbondingPeriod: 1,
  setMinVerifierStake: 2,
  registerModel: 2,
  setTerms: 2,
  deprecate: 2,
  publishVersion: 2,
  transferModelOwnership: 2,
  acceptModelOwnership: 2,
  reseed: 1,
  mint: 1,
  time: 8,
};

export const ACTION_KINDS = Object.keys(WEIGHTS) as ActionKind[];

/** One action of any kind, weighted by WEIGHTS. */
export const actionArb: fc.Arbitrary<Action> = fc.oneof(
  ...ACTION_KINDS.map((kind) => ({ weight: WEIGHTS[kind], arbitrary: actionArbs[kind] })),
);

/** A sequence of up to `maxSteps` actions. */
export function actionsArb(maxSteps: number): fc.Arbitrary<Action[]> {
  return fc.array(actionArb, { minLength: Math.ceil(maxSteps / 2), maxLength: maxSteps, size: "max" });
}
