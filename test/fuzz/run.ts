/**
 * The invariant fuzzer: fast-check drives random action sequences against the real contracts on Hardhat's
 * network and against the TypeScript model, and after every step checks that they agree and that the four
 * protocol invariants hold, and the two of the Proven mode: no honest Proven result is ever Rejected, and every
 * cheating one proven in its window is. One protocol is deployed per `runFuzz`; each run starts from an EVM snapshot
 * of it.
 */
import fc from "fast-check";
import { ethers, network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  concat,
  getBytes,
  keccak256,
  toUtf8Bytes,
  ZeroAddress,
  ZeroHash,
  type ContractTransactionResponse,
  type Interface,
} from "ethers";
import type { IModelRegistry } from "../../typechain-types";
import {
  deployProtocolFixture,
  FUNDS,
  INPUT,
  MODEL_URI,
  OUTPUT,
  STAKE,
  WRONG_OUTPUT,
  toJob,
  type Job,
  type Protocol,
} from "../fixtures/protocol";
import { saltOf } from "../fixtures/verification";
import { ViewBatch } from "../fixtures/views";
import { jobIdOf } from "../../packages/sdk/src/job";
import { toJobTerms } from "../../packages/sdk/src/terms";
import { JobOutcome, JobStatus, VerificationMode, VoteState, type ModelTerms } from "../../packages/sdk/src/params";
import { sealCommitment, voteCommitment } from "../../packages/sdk/src/votes";
import {
  buildFraudProof,
  encodeEvidence,
  findFirstFraud,
  FRAUD_KINDS,
  proofOf,
  type FraudProof,
  type PostedResult,
} from "../../src/proven";
import {
  neuronAt,
  PROFILES,
  profileByRoot,
  provenInput,
  provenPosting,
  type FuzzProfile,
  type ProvenInput,
  type ProvenInputVariant,
} from "./proven";
import {
  ACTION_KINDS,
  ACTORS,
  NEVER_REVERTS,
  OUT_OF_BOUNDS,
  actionsArb,
  type Action,
  type Actor,
  type FraudEvidence,
  type ActionKind,
  type JobPick,
} from "./actions";
import {
  Model,
  PARAM_KEYS,
  Revert,
  isTerminal,
  noEffects,
  type Evidence,
  type JobModel,
  type JobRecord,
  type P,
  type State,
} from "./model";

export interface FuzzOptions {
  runs: number;
  seed?: number;
  /** fast-check replay path of a counterexample (with its seed). */
  path?: string;
  maxSteps?: number;
  verbose?: boolean;
  /** Shrink a failing sequence (slow on a real chain); off: report the first failure as found. */
  shrink?: boolean;
  log?: (line: string) => void;
}

export interface KindStats {
  ok: number;
  reverted: number;
  errors: Record<string, number>;
}

export interface FuzzFailure {
  seed: number;
  path: string;
  error: string;
  counterexample: Action[];
}

export interface FuzzStats {
  seed: number;
  runs: number;
  steps: number;
  ms: number;
  kinds: Record<string, KindStats>;
  /** Committee votes opened (CommitteeDrawn), and how many of those jobs settled with every seat's vote revealed. */
  committees: { drawn: number; allRevealed: number };
  /** Jobs settled at the draw for too few verifiers ("tooFew"), settled undrawn past draw-by, or skipped by a batch. */
  drawPaths: Record<string, number>;
  /**
   * Proven jobs: requests by input ("requested (ok input)"), results posted ("posted honest", "posted hidden", …),
   * proofs by the posting they met and their outcome ("proof on cheat: convicted", "proof on honest:
   * ProvenNeuronCorrect", …), convictions by how the judge convicted ("FraudProven neuron") and results that
   * settled Accepted ("Accepted honest", "Accepted unproven cheat").
   */
  proven: Record<string, number>;
  failure?: FuzzFailure;
}

const GAS = { gasLimit: 12_000_000 };
const FEW_BYTES = (n: number): string => ethers.hexlify(new Uint8Array(n).fill(7));
const HUGE = FEW_BYTES(16_385);
const json = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));

/** Content hashes of the two models the fuzz world adds to the protocol fixture's three. */
const FUZZ_MODEL_HASHES = ["fuzz committee 5", "fuzz optimistic 5"].map((s) => ethers.sha256(toUtf8Bytes(s)));

// ---------------------------------------------------------------- the world

interface World {
  p: Protocol;
  signers: Record<Actor, HardhatEthersSigner>;
  addr: Record<Actor, string>;
  initial: State;
  interfaces: Interface[];
  snapshot: string;
}

async function deployWorld(): Promise<World> {
  const p = await deployProtocolFixture();
  const all = await ethers.getSigners();
  const signers: Record<Actor, HardhatEthersSigner> = {
    gov: p.governance,
    treasury: p.treasury,
    treasury2: all[15],
    owner0: p.modelOwner,
    owner1: all[14],
    req0: p.requester,
    req1: all[11],
    worker0: p.worker,
    worker1: all[12],
    ver0: p.verifiers[0],
    ver1: p.verifiers[1],
    ver2: p.verifiers[2],
    ver3: p.verifiers[3],
    ver4: p.verifiers[4],
    ver5: all[13],
    outsider: p.other,
  };
  for (const name of ["req1", "worker1", "ver5", "owner1"] as Actor[]) {
    const s = signers[name];
    await p.token.connect(p.governance).mint(s.address, FUNDS);
    await p.token.connect(s).approve(p.escrow, ethers.MaxUint256);
    await p.token.connect(s).approve(p.staking, ethers.MaxUint256);
  }
  // An unbonding period of a day (the default is a week), and some stake unbonding from the start, so that a
  // day's jump lets unbonding stake be withdrawn within a run's 80 steps.
  await p.staking.connect(p.governance).setUnbondingPeriod(86_400);
  await p.staking.connect(signers.worker1).stake(STAKE);
  await p.staking.connect(signers.worker1).requestUnstake(ethers.parseEther("10"));
  await p.staking.connect(signers.ver5).stake(STAKE);
  await p.staking.connect(signers.ver5).setVerifier(true);
  const terms5 = (mode: number): ModelTerms => ({
    price: ethers.parseEther("3"),
    mode,
    committeeSize: 5,
    royaltyBps: 1000,
    relTolerance: 0,
    absTolerance: 0,
  });
  await p.registry
    .connect(signers.owner1)
    .registerModel(FUZZ_MODEL_HASHES[0], MODEL_URI, terms5(VerificationMode.Committee), ZeroHash, "0x");
  await p.registry
    .connect(signers.owner1)
    .registerModel(FUZZ_MODEL_HASHES[1], MODEL_URI, terms5(VerificationMode.Optimistic), ZeroHash, "0x");
  // The Proven profile models, each with its real weights root.
  for (const [i, profile] of PROFILES.entries()) {
    await p.registry
      .connect(i % 2 === 0 ? signers.owner0 : signers.owner1)
      .registerModel(
        profile.contentHash,
        MODEL_URI,
        { ...terms5(VerificationMode.Proven), committeeSize: 1 },
        profile.root,
        "0x",
      );
  }

  const addr = Object.fromEntries(ACTORS.map((a) => [a, signers[a].address])) as Record<Actor, string>;
  const initial = await readInitialState(p, addr);
  // The judge's errors are the escrow's too: it delegates to the ProvenJudge library.
  const judge = await ethers.getContractAt("ProvenJudge", await p.escrow.getAddress());
  const interfaces = [
    p.escrow.interface,
    p.staking.interface,
    p.registry.interface,
    p.token.interface,
    judge.interface,
  ];
  return { p, signers, addr, initial, interfaces, snapshot: "" };
}

function toP(r: object): P {
  const fields = r as Record<string, bigint>;
  return Object.fromEntries(PARAM_KEYS.map((k) => [k, BigInt(fields[k])])) as unknown as P;
}

async function readInitialState(p: Protocol, addr: Record<Actor, string>): Promise<State> {
  const escrow = await p.escrow.getAddress();
  const staking = await p.staking.getAddress();
  const s: State = {
    now: 0n,
    block: 0n,
    randomSeed: await p.randomness.seed(),
    escrow,
    staking,
    chainId: p.domain.chainId,
    paused: await p.escrow.paused(),
    treasury: await p.escrow.treasury(),
    params: [],
    maxDisputeWindow: await p.escrow.maxDisputeWindow(),
    unbondingPeriod: await p.staking.unbondingPeriod(),
    minVerifierStake: await p.staking.minVerifierStake(),
    accounts: {},
    tokens: {},
    totalSupply: await p.token.totalSupply(),
    credits: {},
    treasuryAccrued: 0n,
    models: [],
    published: [],
    jobs: [],
  };
  for (let id = 1n; id <= (await p.escrow.paramsId()); id++) s.params.push(toP(await p.escrow.paramsOf(id)));
  for (const a of [...Object.values(addr), escrow, staking]) s.tokens[a] = await p.token.balanceOf(a);
  for (const a of Object.values(addr)) {
    const acc = await p.staking.accountOf(a);
    s.accounts[a] = {
      active: acc.active,
      locked: acc.locked,
      unbonding: acc.unbonding,
      unbondingEnd: acc.unbondingEnd,
      verifier: acc.verifier,
      leaving: acc.leaving,
      exitAt: acc.exitAt,
      drawableUntil: acc.drawableUntil,
      weight: await p.staking.verifierWeightOf(a),
    };
    s.credits[a] = await p.escrow.balanceOf(a);
  }
  for (let id = 1n; id <= (await p.registry.modelCount()); id++) {
    const m = await p.registry.getModel(id);
    // No model changed hands in the fixture, so each version's publisher is the model's owner.
    const roots: string[] = [];
    for (let v = 1n; v <= m.versionCount; v++) {
      const version = await p.registry.getVersion(id, v);
      s.published.push({ publisher: m.owner, hash: version.contentHash });
      roots.push(version.weightsRoot);
    }
    s.models.push({
      owner: m.owner,
      pendingOwner: m.pendingOwner,
      versionCount: Number(m.versionCount),
      deprecated: m.deprecated,
      terms: {
        price: m.terms.price,
        mode: Number(m.terms.mode),
        committeeSize: Number(m.terms.committeeSize),
        royaltyBps: Number(m.terms.royaltyBps),
        relTolerance: Number(m.terms.relTolerance),
        absTolerance: Number(m.terms.absTolerance),
      },
      roots,
    });
  }
  return s;
}

// ---------------------------------------------------------------- one run

class Failure extends Error {}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Failure(message);
}

function eq(actual: unknown, expected: unknown, what: string): void {
  if (json(actual) !== json(expected)) throw new Failure(`${what}: chain ${json(actual)} != model ${json(expected)}`);
}

const STATUS_NAMES = Object.keys(JobStatus);

/** What the runner knows beyond the model: the job records to pass back, outputs, votes committed. */
interface Run {
  w: World;
  m: Model;
  /** The records JobRequested emitted, in request order (index = nonce - 1). */
  jobs: Job[];
  outputs: Map<bigint, string>;
  /** The input of each Proven job, as requested. */
  inputs: Map<bigint, ProvenInput>;
  /** What was posted for each Proven job, and whether it is the model's trace of the job's input. */
  postings: Map<bigint, { honest: boolean; what: string }>;
  votes: Map<string, { agree: boolean; salt: string }>;
  lastStatus: number[];
  hashCounter: number;
  step: number;
  trace: string[];
  stats: FuzzStats;
}

/** A resolved action: who sends what, and the model's version of it. */
interface Resolved {
  label: string;
  predict?: (m: Model) => void;
  send?: () => Promise<ContractTransactionResponse>;
  /** Runs after a successful transaction (runner-side bookkeeping). */
  after?: () => void;
  /** For a vote in a burst: the action that sends the next member's vote on the same job, if any is left. */
  next?: () => Action | undefined;
  /** A transaction sent in the same block, after this one. */
  inBlock?: Sent;
  /** Runner-side invariants, checked once the transaction is mined whatever its outcome (`actual`: its error). */
  verify?: (actual: string | null) => Promise<void>;
}

/**
 * The custom error a failed call reverted with. Its return data is `error.data`, or, when Hardhat could not map
 * the revert to a source location (as happens with some viaIR bytecode), the `data` of the provider error's data.
 */
function errorName(w: World, e: unknown): string {
  const err = e as { data?: unknown; error?: { data?: unknown }; message?: string };
  const raw = err?.data ?? err?.error?.data;
  const data = typeof raw === "object" && raw !== null ? (raw as { data?: unknown }).data : raw;
  if (typeof data === "string" && data.length >= 10) {
    for (const i of w.interfaces) {
      try {
        const parsed = i.parseError(data);
        if (parsed) return parsed.name;
      } catch {
        // not this contract's error
      }
    }
    return `unknown(${data.slice(0, 10)})`;
  }
  return `exception(${String(err?.message ?? e).slice(0, 200)})`;
}

/** Terms for a model that has none to agree to (unknown or deprecated). */
const NO_TERMS: IModelRegistry.JobTermsStruct = {
  owner: ZeroAddress,
  version: 0n,
  contentHash: ZeroHash,
  inputSize: 0n,
  terms: { price: 0n, mode: 0n, committeeSize: 0n, royaltyBps: 0n, relTolerance: 0n, absTolerance: 0n },
};

function pickFrom<T>(list: T[], pick: number): T | undefined {
  return list.length === 0 ? undefined : list[pick % list.length];
}

/** A well-formed record of a job never requested: the next nonce, its id the hash of its fields. */
function unknownJob(r: Run): Job {
  const record = { ...(r.jobs[0] ?? toJobPlaceholder()), nonce: BigInt(r.jobs.length + 1) };
  return { ...record, id: jobIdOf(record, { chainId: r.m.s.chainId, escrow: r.m.s.escrow }) };
}

function toJobPlaceholder(): Job {
  return {
    id: 0n,
    nonce: 0n,
    requester: ZeroAddress,
    modelOwner: ZeroAddress,
    modelId: 0n,
    version: 0n,
    mode: 0n,
    committeeSize: 0n,
    royaltyBps: 0n,
    protocolFeeBps: 0n,
    verifierShareBps: 0n,
    paramsId: 0n,
    callbackGasLimit: 0n,
    deadline: 0n,
    fee: 0n,
    collateral: 0n,
    inputHash: ZeroHash,
  };
}

/**
 * The job a pick refers to: among the jobs where the action can succeed now (`fit`), or with `any` among all
 * jobs; with no fitting job, any job (the call should revert); with no job at all, an unknown one.
 */
function jobFor(r: Run, pick: JobPick, fit: (j: JobModel) => boolean): { id: bigint; job: Job } {
  const fitting = r.m.s.jobs.filter(
    (j) => (pick.any || fit(j)) && (pick.jobId === undefined || j.job.id === pick.jobId),
  );
  const chosen = pickFrom(fitting.length > 0 ? fitting : r.m.s.jobs, pick.oldest && !pick.any ? 0 : pick.pick);
  if (!chosen) {
    const job = unknownJob(r);
    return { id: BigInt(job.id), job };
  }
  return { id: chosen.job.id, job: recordOf(r, chosen.job.id) };
}

/** The record JobRequested emitted for the job with id `id`. */
function recordOf(r: Run, id: bigint): Job {
  const j = r.m.jobOf(id);
  if (!j) throw new Error(`no job has id ${id}`);
  return r.jobs[Number(j.job.nonce) - 1];
}

/** A short name of a job for labels: its nonce (ids are 256-bit hashes). */
function tag(r: Run, id: bigint): string {
  const j = r.m.jobOf(id);
  return j ? `#${j.job.nonce}` : `unknown ${id.toString(16).slice(0, 8)}`;
}

/** A seat index `member` does not hold on a committee of `size` (holding `own`): another member's, or past the end. */
/**
 * Who a commit or reveal is sent as, and for which seat: a member whose seat is in vote state `ready` (any
 * member when none is), in its own seat; for "nonMember" an actor holding no seat, and for "wrongSeat" the
 * member in a seat that is not its own.
 */
function voter(
  r: Run,
  seats: readonly { verifier: string; vote: number }[],
  ready: number,
  variant: string,
  pick: number,
): { member: string; seat: number } {
  const indices = seats.map((_, i) => i);
  const candidates = indices.filter((i) => seats[i].vote === ready);
  const own = pickFrom(candidates.length > 0 ? candidates : indices, pick);
  if (variant === "nonMember" || own === undefined) {
    const A = r.w.addr;
    const outsiders = ACTORS.filter((x) => !seats.some((held) => held.verifier === A[x])).map((x) => A[x]);
    return { member: pickFrom(outsiders, pick)!, seat: pick % Math.max(seats.length, 1) };
  }
  return { member: seats[own].verifier, seat: variant === "wrongSeat" ? otherSeat(own, seats.length, pick) : own };
}

function otherSeat(own: number, size: number, pick: number): number {
  if (size > 1 && pick % 2 === 1) return (own + 1 + ((pick >> 1) % (size - 1))) % size;
  return size + (pick % 3);
}

const tamper = (job: Job): Job => ({ ...job, fee: BigInt(job.fee) + 1n });

/**
 * A draw of job `id` in the block of its submission or challenge, before its seed exists: alone, the batch
 * reverts with JobEscrowSeedPending; with a job that can be drawn (`pick` odd, if any), it skips job `id`. When
 * the submission or challenge reverts, the draw reverts with job `id`'s own reason.
 */
function drawInBlock(r: Run, id: bigint, pick: number): Sent | undefined {
  if (!r.m.jobOf(id)) return undefined; // no job yet: the submission names an unknown one
  const ready = r.m.s.jobs.filter((j) => r.m.drawSkip(j) === undefined).map((j) => j.job.id);
  const ids = pick % 2 === 1 && ready.length > 0 ? [id, ready[0]] : [id];
  const label = `drawCommittees outsider in block [${ids.map((x) => tag(r, x)).join(",")}]`;
  return {
    label,
    kind: "drawCommittees",
    res: {
      label,
      predict: (m) => m.drawCommittees(ids.map((x) => ({ id: x }))),
      send: () =>
        r.w.p.escrow.connect(r.w.signers.outsider).drawCommittees(
          ids.map((x) => recordOf(r, x)),
          GAS,
        ),
    },
  };
}

/** The draw that follows a submission or challenge that left job `id` in Drawing: its batch alone, sent by anyone. */
function drawNext(r: Run, id: bigint): Action | undefined {
  if (r.m.jobOf(id)?.status !== JobStatus.Drawing) return undefined;
  const all = r.m.s.jobs;
  const who = ACTORS[(all.length + r.step) % ACTORS.length];
  return { kind: "drawCommittees", who, first: "any", jobs: [Number(r.m.jobOf(id)!.job.nonce) - 1], tampered: false };
}

/** The proof someone watching Proven jobs (anyone `pick` names) sends once job `id`'s result is posted. */
function proofNext(r: Run, id: bigint, evidence: FraudEvidence, pick: number): Action | undefined {
  const j = r.m.jobOf(id);
  if (j?.job.mode !== BigInt(VerificationMode.Proven) || j.status !== JobStatus.Submitted) return undefined;
  const who = ACTORS[pick % ACTORS.length];
  return {
    kind: "proveFraud",
    who,
    job: { pick: 0, any: false, jobId: id },
    evidence,
    neuron: pick,
    tampered: false,
  };
}

function resolve(r: Run, a: Action): Resolved {
  const p = r.w.p;
  const A = r.w.addr;
  const S = r.w.signers;
  const s = r.m.s;
  const as = (who: Actor) => S[who];
  switch (a.kind) {
    case "request": {
      const preferred = s.models
        .map((m, i) => ({ m, id: BigInt(i + 1) }))
        .filter(({ m }) => a.mode !== null && m.terms.mode === a.mode && !m.deprecated);
      const model =
        a.variant === "unknownModel"
          ? BigInt(s.models.length + 1)
          : (pickFrom(preferred, a.model)?.id ?? BigInt((a.model % s.models.length) + 1));
      const deadline =
        a.variant === "deadlinePast"
          ? s.now - 1n
          : a.variant === "deadlineFar"
            ? s.now + r.m.current.maxJobDuration + 1n
            : s.now + BigInt(a.deadlineIn);
      // The terms the requester agrees to: the model's current snapshot, or (staleTerms) one that differs from
      // it in the price, as when the owner changed the terms after the requester read them.
      const stale = a.variant === "staleTerms";
      const agreed = async (): Promise<IModelRegistry.JobTermsStruct> => {
        const current = await p.registry.jobTerms(model).catch(() => undefined);
        if (!current) return NO_TERMS; // unknown or deprecated: the registry refuses before any comparison
        const snapshot = toJobTerms(current);
        return stale ? { ...snapshot, terms: { ...snapshot.terms, price: snapshot.terms.price + 1n } } : snapshot;
      };
      const callback = a.variant === "callback" ? 100_000n : 0n;
      // A Proven model takes a profile input (now and then a malformed one), kept for the trace and the proofs.
      const proven = provenModelInput(r, model, a.proven, a.inputSeed);
      const well = proven?.bytes ?? INPUT;
      const label = `request ${a.who} model ${model} ${a.variant}${proven ? ` proven ${a.proven}` : ""}`;
      const after = () => {
        if (!proven) return;
        r.inputs.set(r.m.s.jobs[r.m.s.jobs.length - 1].job.id, proven);
        count(r, `requested (${a.proven} input)`);
      };
      if (a.variant === "byUri" || a.variant === "badUri" || a.variant === "zeroHash") {
        const uri = a.variant === "badUri" ? "" : "ipfs://input";
        const hash = a.variant === "zeroHash" ? ZeroHash : keccak256(well);
        return {
          label,
          predict: (m) => m.request(A[a.who], model, { uri, hash }, stale, deadline, callback),
          send: async () =>
            p.escrow
              .connect(as(a.who))
              .requestInferenceByUri(model, await agreed(), uri, hash, deadline, callback, GAS),
          after,
        };
      }
      const input = a.variant === "emptyInput" ? "0x" : a.variant === "hugeInput" ? HUGE : well;
      return {
        label,
        predict: (m) => m.request(A[a.who], model, { inline: input }, stale, deadline, callback),
        send: async () =>
          p.escrow.connect(as(a.who)).requestInference(model, await agreed(), input, deadline, callback, GAS),
        after,
      };
    }
    case "claim": {
      const { id, job } = jobFor(r, a.job, (j) => j.status === JobStatus.Requested && s.now <= j.job.deadline);
      const sent = a.tampered ? tamper(job) : job;
      return {
        label: `claim ${a.who} job ${tag(r, id)}${a.tampered ? " tampered" : ""}`,
        predict: (m) => m.claim(A[a.who], id, a.tampered),
        send: () => p.escrow.connect(as(a.who)).claim(sent, GAS),
      };
    }
    case "submit": {
      const fits = (j: JobModel) =>
        (j.status === JobStatus.Requested && s.now <= j.job.deadline) ||
        (j.status === JobStatus.Claimed && s.now <= j.windowEnd);
      const inMode = (j: JobModel) => a.mode === null || j.job.mode === BigInt(a.mode);
      const preferred = s.jobs.some((j) => fits(j) && inMode(j));
      const { id, job } = jobFor(r, a.job, (j) => fits(j) && (!preferred || inMode(j)));
      const j = r.m.jobOf(id);
      const who: Actor =
        a.asWorker && j && j.status === JobStatus.Claimed ? (ACTORS.find((x) => A[x] === j.worker) ?? a.who) : a.who;
      // On a Proven job, the trace of its input or a cheat; a non-profile output ("empty", "huge") as for any job.
      const posting =
        j?.job.mode === BigInt(VerificationMode.Proven) && (a.output === "right" || a.output === "wrong")
          ? provenPosting(profileOf(r, j), r.inputs.get(id)!, a.cheat, a.at)
          : undefined;
      const output =
        posting?.output ??
        (a.output === "right" ? OUTPUT : a.output === "wrong" ? WRONG_OUTPUT : a.output === "empty" ? "0x" : HUGE);
      return {
        label: `submit ${who} job ${tag(r, id)} ${posting ? `proven ${posting.what}` : a.output}`,
        predict: (m) => m.submit(A[who], id, output, posting?.honest ?? a.output === "right"),
        send: () => p.escrow.connect(as(who)).submitResult(job, output, GAS),
        after: () => {
          r.outputs.set(id, output);
          if (!posting) return;
          r.postings.set(id, posting);
          count(r, `posted ${posting.what}`);
        },
        next: () =>
          (a.draw !== "none" ? drawNext(r, id) : undefined) ??
          (a.proof !== null ? proofNext(r, id, a.proof, a.at) : undefined),
        inBlock: a.draw === "sameBlock" ? drawInBlock(r, id, a.job.pick) : undefined,
      };
    }
    case "challenge": {
      const { id, job } = jobFor(
        r,
        a.job,
        (j) =>
          j.status === JobStatus.Submitted &&
          j.job.mode === BigInt(VerificationMode.Optimistic) &&
          s.now <= j.windowEnd,
      );
      return {
        label: `challenge ${a.who} job ${tag(r, id)}`,
        predict: (m) => m.challenge(A[a.who], id),
        send: () => p.escrow.connect(as(a.who)).challenge(job, GAS),
        next: () => (a.draw !== "none" ? drawNext(r, id) : undefined),
        inBlock: a.draw === "sameBlock" ? drawInBlock(r, id, a.job.pick) : undefined,
      };
    }
    case "proveFraud":
      return resolveProof(r, a);
    case "drawCommittees": {
      const all = s.jobs.map((j) => j.job.id);
      const first =
        a.first === "ready"
          ? s.jobs.filter((j) => r.m.drawSkip(j) === undefined).map((j) => j.job.id)
          : a.first === "stuck"
            ? s.jobs.filter((j) => j.status === JobStatus.Drawing && r.m.drawSkip(j) !== undefined).map((j) => j.job.id)
            : [];
      const picks = all.length === 0 ? [] : a.jobs.map((x) => all[x % all.length]);
      // A job named twice is drawn once: the second mention finds it in Voting (or settled) and skips it.
      const ids = [...first.slice(0, 3), ...picks];
      const tampered = a.tampered && ids.length > 0;
      const jobs = ids.map((id, i) => (tampered && i === ids.length - 1 ? tamper(recordOf(r, id)) : recordOf(r, id)));
      return {
        label: `drawCommittees ${a.who} ${a.first} [${ids.map((id) => tag(r, id)).join(",")}]${tampered ? " tampered" : ""}`,
        predict: (m) => m.drawCommittees(ids.map((id, i) => ({ id, tampered: tampered && i === ids.length - 1 }))),
        send: () => p.escrow.connect(as(a.who)).drawCommittees(jobs, GAS),
      };
    }
    case "commitVote": {
      const { id } = jobFor(
        r,
        a.job,
        (j) => j.status === JobStatus.Voting && s.now <= j.windowEnd && j.seats.some((x) => x.vote === VoteState.Drawn),
      );
      const j = r.m.jobOf(id);
      const seats = j?.seats ?? [];
      const { member, seat } = voter(r, seats, VoteState.Drawn, a.variant, a.seat);
      const who = ACTORS.find((x) => A[x] === member)!;
      const agree = a.vote === "honest" ? (j?.outputRight ?? true) : a.vote === "agree";
      const salt = saltOf(id, member);
      const commitment = a.variant === "zero" ? ZeroHash : voteCommitment(id, member, agree, salt);
      const position = a.burst ? seats.filter((x) => x.vote !== VoteState.Drawn).length + 1 : 0;
      return {
        label: `commitVote ${who} job ${tag(r, id)} seat ${seat} ${agree ? "agree" : "disagree"} ${a.variant}`,
        predict: (m) => m.commitVote(member, id, seat, commitment),
        send: () => p.escrow.connect(as(who)).commitVote(id, seat, commitment, GAS),
        after: () => r.votes.set(`${id}:${member}`, { agree, salt }),
        next: () => {
          if (!a.burst || !r.m.jobOf(id)?.seats.some((x) => x.vote === VoteState.Drawn)) return undefined;
          const honest = j?.outputRight ?? true;
          const vote = position + 1 === a.dissent ? (honest ? "disagree" : "agree") : "honest";
          return { ...a, job: { pick: 0, any: false, jobId: id }, seat: a.seat + 1, vote, variant: "ok" };
        },
      };
    }
    case "revealVote": {
      const { id } = jobFor(
        r,
        a.job,
        (j) =>
          j.status === JobStatus.Voting &&
          s.now <= j.revealEnd &&
          j.seats.some((x) => x.vote === VoteState.Committed) &&
          (s.now > j.windowEnd || !j.seats.some((x) => x.vote === VoteState.Drawn)),
      );
      const j = r.m.jobOf(id);
      const seats = j?.seats ?? [];
      const { member, seat } = voter(r, seats, VoteState.Committed, a.variant, a.seat);
      const who = ACTORS.find((x) => A[x] === member)!;
      const vote = r.votes.get(`${id}:${member}`) ?? { agree: true, salt: saltOf(id, member) };
      const agree = a.variant === "flip" ? !vote.agree : vote.agree;
      const salt = a.variant === "wrongSalt" ? keccak256(toUtf8Bytes(`wrong ${id}`)) : vote.salt;
      // The job's sealed commitments as the model tracks them (checked against VoteCommitted at each commit).
      let sealed = [...(j?.sealed ?? [])];
      if (a.variant === "staleList") {
        const forged = sealCommitment(seat, voteCommitment(id, member, agree, keccak256(toUtf8Bytes("forged"))));
        const how = a.seat % 3;
        if (how === 0) sealed = sealed.slice(0, -1);
        else if (how === 1 || sealed.length < 2) sealed = [...sealed, forged];
        else sealed = [...sealed].reverse();
      }
      return {
        label: `revealVote ${who} job ${tag(r, id)} seat ${seat} ${agree ? "agree" : "disagree"} ${a.variant}`,
        predict: (m) => m.revealVote(member, id, seat, agree, salt, sealed),
        send: () => p.escrow.connect(as(who)).revealVote(id, seat, agree, salt, sealed, GAS),
        next: () => {
          if (!a.burst || !r.m.jobOf(id)?.seats.some((x) => x.vote === VoteState.Committed)) return undefined;
          return { ...a, job: { pick: 0, any: false, jobId: id }, seat: a.seat + 1, variant: "ok" };
        },
      };
    }
    case "settle": {
      const { id, job } = jobFor(r, a.job, (j) => r.m.due(j).due);
      const output = a.output === "none" ? "0x" : a.output === "right" ? (r.outputs.get(id) ?? OUTPUT) : FEW_BYTES(3);
      const sent = a.tampered ? tamper(job) : job;
      return {
        label: `settle ${a.who} job ${tag(r, id)} output ${a.output}${a.tampered ? " tampered" : ""}`,
        predict: (m) => m.settle(id, output, a.tampered),
        send: () => p.escrow.connect(as(a.who)).settle(sent, output, GAS),
      };
    }
    case "settleBatch": {
      const ids = s.jobs.length === 0 ? [] : a.jobs.map((x) => s.jobs[x % s.jobs.length].job.id);
      const jobs = ids.map((id) => recordOf(r, id));
      const outputs = ids.map(() => "0x");
      if (a.mismatch) outputs.push("0x");
      return {
        label: `settleBatch ${a.who} jobs [${ids.map((id) => tag(r, id)).join(",")}]${a.mismatch ? " mismatch" : ""}`,
        predict: (m) =>
          m.settleBatch(
            ids.map((id) => ({ id, output: "0x" })),
            outputs.length,
          ),
        send: () => p.escrow.connect(as(a.who)).settleBatch(jobs, outputs, GAS),
      };
    }
    case "withdraw": {
      const owed = ACTORS.filter((x) => r.m.creditOf(A[x]) > 0n);
      const who = (a.any ? undefined : pickFrom(owed, a.pick)) ?? a.who;
      return {
        label: `withdraw ${who}`,
        predict: (m) => m.withdraw(A[who]),
        send: () => p.escrow.connect(as(who)).withdraw(GAS),
      };
    }
    case "deposit":
      return {
        label: `deposit ${a.who} ${ethers.formatEther(a.amount)}`,
        predict: (m) => m.deposit(A[a.who], a.amount),
        send: () => p.escrow.connect(as(a.who)).deposit(a.amount, GAS),
      };
    case "stake":
      return {
        label: `stake ${a.who} ${ethers.formatEther(a.amount)}`,
        predict: (m) => m.stake(A[a.who], a.amount),
        send: () => p.staking.connect(as(a.who)).stake(a.amount, GAS),
      };
    case "requestUnstake": {
      const acc = r.m.account(A[a.who]);
      const free = acc.active - acc.locked;
      // A minimum raised since the account's last stake change can exceed its free stake: nothing is allowed then.
      const aboveMinimum = free > s.minVerifierStake ? free - s.minVerifierStake : 0n;
      const amount = {
        zero: 0n,
        one: ethers.parseEther("1"),
        ten: ethers.parseEther("10"),
        allowed: acc.verifier && acc.weight > 0n ? aboveMinimum : free,
        free,
        morethanfree: free + 1n,
      }[a.amount];
      return {
        label: `requestUnstake ${a.who} ${ethers.formatEther(amount)}`,
        predict: (m) => m.requestUnstake(A[a.who], amount),
        send: () => p.staking.connect(as(a.who)).requestUnstake(amount, GAS),
      };
    }
    case "withdrawStake": {
      const withdrawable = ACTORS.filter(
        (x) => r.m.account(A[x]).unbonding > 0n && r.m.account(A[x]).unbondingEnd <= s.now,
      );
      // Every other pick, one whose withdrawal waits for open committees, when there is one.
      const waiting = withdrawable.filter((x) => r.m.waitsForCommittees(A[x]));
      const unbonding =
        waiting.length > 0 && a.pick % 2 === 0
          ? waiting
          : withdrawable.length > 0
            ? withdrawable
            : ACTORS.filter((x) => r.m.account(A[x]).unbonding > 0n);
      const who = (a.any ? undefined : pickFrom(unbonding, a.pick)) ?? a.who;
      return {
        label: `withdrawStake ${who}`,
        predict: (m) => m.withdrawStake(A[who]),
        send: () => p.staking.connect(as(who)).withdraw(GAS),
      };
    }
    case "setVerifier": {
      const acc = r.m.account(A[a.who]);
      const on = a.raw ? a.on : !acc.verifier || (acc.leaving && a.pick % 4 === 0);
      return {
        label: `setVerifier ${a.who} ${on}`,
        predict: (m) => m.setVerifier(A[a.who], on),
        send: () => p.staking.connect(as(a.who)).setVerifier(on, GAS),
      };
    }
    case "completeExit": {
      // Mostly a leaving verifier whose notice has run, else any leaving one.
      const leaving = ACTORS.filter((x) => r.m.account(A[x]).leaving);
      const due = leaving.filter((x) => r.m.account(A[x]).exitAt <= s.now);
      const of = (a.any ? undefined : pickFrom(due.length > 0 ? due : leaving, a.pick)) ?? a.of;
      return {
        label: `completeExit ${a.who} of ${of}`,
        predict: (m) => m.completeExit(A[of]),
        send: () => p.staking.connect(as(a.who)).completeExit(A[of], GAS),
      };
    }
    case "setParams": {
      const params = a.invalid ? { ...a.params, [a.invalid]: OUT_OF_BOUNDS[a.invalid]! } : a.params;
      return {
        label: `setParams ${a.who}${a.invalid ? ` invalid ${a.invalid}` : ""} ${json(params)}`,
        predict: (m) => m.setParams(a.who === "gov", params),
        send: () => p.escrow.connect(as(a.who)).setParams(params, GAS),
      };
    }
    case "pause":
      return {
        label: `pause ${a.who}`,
        predict: (m) => m.pause(a.who === "gov"),
        send: () => p.escrow.connect(as(a.who)).pause(GAS),
      };
    case "unpause":
      return {
        label: `unpause ${a.who}`,
        predict: (m) => m.unpause(a.who === "gov"),
        send: () => p.escrow.connect(as(a.who)).unpause(GAS),
      };
    case "setTreasury": {
      const to = a.to === "zero" ? ZeroAddress : A[a.to];
      return {
        label: `setTreasury ${a.who} -> ${a.to}`,
        predict: (m) => m.setTreasury(a.who === "gov", to),
        send: () => p.escrow.connect(as(a.who)).setTreasury(to, GAS),
      };
    }
    case "setUnbondingPeriod":
      return {
        label: `setUnbondingPeriod ${a.who} ${a.period}`,
        predict: (m) => m.setUnbondingPeriod(a.who === "gov", a.period),
        send: () => p.staking.connect(as(a.who)).setUnbondingPeriod(a.period, GAS),
      };
    case "setMinVerifierStake":
      return {
        label: `setMinVerifierStake ${a.who} ${a.amount}`,
        predict: (m) => m.setMinVerifierStake(a.who === "gov", a.amount),
        send: () => p.staking.connect(as(a.who)).setMinVerifierStake(a.amount, GAS),
      };
    case "registerModel": {
      const hash = contentHash(r, a.hash);
      const uri = a.uri === "ok" ? MODEL_URI : "";
      const root = weightsRoot(a.root, a.profile);
      return {
        label: `registerModel ${a.who} ${a.hash} ${a.uri} ${rootLabel(a.root, a.profile)} ${json(a.terms)}`,
        predict: (m) => m.registerModel(A[a.who], hash, uri, a.terms, root),
        send: () => p.registry.connect(as(a.who)).registerModel(hash, uri, a.terms, root, "0x", GAS),
      };
    }
    case "setTerms": {
      const { id, who } = modelFor(r, a.model, a.asOwner);
      return {
        label: `setTerms ${who} model ${id} ${json(a.terms)}`,
        predict: (m) => m.setTerms(A[who], id, a.terms),
        send: () => p.registry.connect(as(who)).setTerms(id, a.terms, GAS),
      };
    }
    case "deprecate": {
      const { id, who } = modelFor(r, a.model, a.asOwner);
      return {
        label: `deprecate ${who} model ${id}`,
        predict: (m) => m.deprecate(A[who], id),
        send: () => p.registry.connect(as(who)).deprecate(id, GAS),
      };
    }
    case "publishVersion": {
      const { id, who } = modelFor(r, a.model, a.asOwner);
      const hash = contentHash(r, a.hash);
      const root = weightsRoot(a.root, a.profile);
      return {
        label: `publishVersion ${who} model ${id} ${a.hash} ${rootLabel(a.root, a.profile)}`,
        predict: (m) => m.publishVersion(A[who], id, hash, MODEL_URI, root),
        send: () => p.registry.connect(as(who)).publishVersion(id, hash, MODEL_URI, root, "0x", GAS),
      };
    }
    case "transferModelOwnership": {
      const { id, who } = modelFor(r, a.model, a.asOwner);
      return {
        label: `transferModelOwnership ${who} model ${id} -> ${a.to}`,
        predict: (m) => m.transferModelOwnership(A[who], id, A[a.to]),
        send: () => p.registry.connect(as(who)).transferModelOwnership(id, A[a.to], GAS),
      };
    }
    case "acceptModelOwnership": {
      const pending = s.models.map((m, i) => ({ m, i })).filter(({ m }) => m.pendingOwner !== ZeroAddress);
      const chosen = pickFrom(pending.length > 0 ? pending : s.models.map((m, i) => ({ m, i })), a.model)!;
      const id = BigInt(chosen.i + 1);
      const pendingActor = ACTORS.find((x) => A[x] === chosen.m.pendingOwner);
      const who: Actor = a.asPending && pendingActor ? pendingActor : "outsider";
      return {
        label: `acceptModelOwnership ${who} model ${id}`,
        predict: (m) => m.acceptModelOwnership(A[who], id),
        send: () => p.registry.connect(as(who)).acceptModelOwnership(id, GAS),
      };
    }
    case "reseed":
      return {
        label: `reseed ${a.seed}`,
        predict: (m) => m.reseed(BigInt(a.seed)),
        send: () => p.randomness.connect(as("outsider")).setSeed(a.seed, GAS),
      };
    case "mint":
      return {
        label: `mint ${a.who} ${ethers.formatEther(a.amount)}`,
        predict: (m) => m.mint(A[a.who], a.amount),
        send: () => p.token.connect(as("gov")).mint(A[a.who], a.amount, GAS),
      };
    case "time": {
      const before = s.now;
      let target = s.now;
      const cur = r.m.current;
      if (a.jump === "small") target = s.now + BigInt(1 + (a.pick % 600));
      else if (a.jump === "day") target = s.now + 86_400n;
      else if (a.jump === "unbonding") {
        // To the end of someone's unbonding if any is pending, else of someone's exit notice, else one whole
        // unbonding period.
        const accounts = Object.values(s.accounts);
        const unbonding = accounts.filter((x) => x.unbonding > 0n && x.unbondingEnd > s.now).map((x) => x.unbondingEnd);
        const exits = accounts.filter((x) => x.leaving && x.exitAt > s.now).map((x) => x.exitAt);
        const ends = unbonding.length > 0 ? unbonding : exits;
        target = pickFrom(ends, a.pick) ?? s.now + s.unbondingPeriod + 1n;
      } else if (a.jump === "window") {
        const windows = [
          cur.submissionWindow,
          cur.challengeWindow,
          cur.commitWindow,
          cur.commitWindow + cur.revealWindow,
        ];
        target = s.now + windows[a.pick % 4] + 1n;
      } else if (a.jump === "reveal") {
        // Committees with commits still in their commit window: jump past it, so that reveals open (and members
        // who did not commit are left to the non-reveal penalty). None: a second.
        const committing = s.jobs.filter(
          (j) =>
            j.status === JobStatus.Voting &&
            s.now <= j.windowEnd &&
            j.seats.some((x) => x.vote === VoteState.Committed),
        );
        const j = a.exact ? committing[0] : pickFrom(committing, a.pick);
        target = j ? j.windowEnd + 1n : s.now + 1n;
      } else {
        const open = s.jobs.filter((j) => !isTerminal(j.status));
        const j = pickFrom(open, a.pick);
        if (j) {
          const end =
            j.status === JobStatus.Requested
              ? j.job.deadline
              : j.status === JobStatus.Voting && (a.pick >> 1) % 2 === 1
                ? j.revealEnd
                : j.windowEnd;
          target = a.exact ? end : end + 1n;
        }
      }
      if (target > s.now) s.now = target;
      return {
        label: `time ${a.jump}${a.jump === "boundary" ? (a.exact ? " exact" : " +1") : ""} +${s.now - before}s`,
      };
    }
  }
}

function contentHash(r: Run, kind: "new" | "taken" | "zero"): string {
  if (kind === "zero") return ZeroHash;
  if (kind === "taken") return r.m.s.published[r.hashCounter % r.m.s.published.length].hash;
  r.hashCounter += 1;
  return ethers.sha256(toUtf8Bytes(`fuzz model ${r.hashCounter} at step ${r.step}`));
}

/** The weights root of the fuzz profile model `profile` picks, or zero: every root registered is a real one. */
function weightsRoot(root: boolean, profile: number): string {
  return root ? PROFILES[profile % PROFILES.length].root : ZeroHash;
}

function rootLabel(root: boolean, profile: number): string {
  return root ? `root of profile ${PROFILES[profile % PROFILES.length].seed}` : "no root";
}

/** The input a request to model `id` sends, when the model takes Proven jobs now (terms and latest root). */
function provenModelInput(r: Run, id: bigint, variant: ProvenInputVariant, seed: number): ProvenInput | undefined {
  const m = r.m.s.models[Number(id) - 1];
  if (!m || m.deprecated || m.terms.mode !== VerificationMode.Proven) return undefined;
  const profile = profileByRoot(r.m.latestRoot(m));
  if (!profile) throw new Error(`model ${id} is Proven with a weights root no fuzz profile has`);
  return provenInput(profile, variant, seed);
}

/** The fuzz profile model of a Proven job's version. */
function profileOf(r: Run, j: JobModel): FuzzProfile {
  const profile = profileByRoot(r.m.rootOf(j.job));
  if (!profile) throw new Error(`job #${j.job.nonce}'s version has a weights root no fuzz profile has`);
  return profile;
}

function count(r: Run, what: string): void {
  r.stats.proven[what] = (r.stats.proven[what] ?? 0) + 1;
}

/**
 * A fraud proof: the job picked among the Proven jobs in their window (else any job: another mode, another status,
 * a closed window), the evidence built as `a.evidence` says against what was posted. Checks the second Proven
 * invariant: the verifier's proof of a cheating result sent in its window convicts, and the job ends Rejected.
 */
function resolveProof(r: Run, a: Extract<Action, { kind: "proveFraud" }>): Resolved {
  const s = r.m.s;
  const isOpen = (j: JobModel) =>
    j.job.mode === BigInt(VerificationMode.Proven) && j.status === JobStatus.Submitted && s.now <= j.windowEnd;
  const { id, job } = jobFor(r, a.job, isOpen);
  const j = r.m.jobOf(id);
  const proven = j?.job.mode === BigInt(VerificationMode.Proven);
  // A job of another mode has no profile: a proof against the first one's tree (it reverts before the judge).
  const profile = j && proven ? profileOf(r, j) : PROFILES[0];
  const posted: PostedResult = {
    input: getBytes(r.inputs.get(id)?.bytes ?? INPUT),
    output: getBytes(r.outputs.get(id) ?? OUTPUT),
  };
  const posting = r.postings.get(id);
  const cheatInWindow = j !== undefined && isOpen(j) && posting?.honest === false && !a.tampered;
  const [layer, index] = neuronAt(profile, a.neuron);
  let evidence: Evidence;
  if (a.evidence === "garbage") evidence = { malformed: true };
  else if (a.evidence === "first") {
    // The verifier recomputes the trace from the posted vectors and names the first wrong neuron.
    const fraud = proven ? findFirstFraud(profile.model.layers, posted) : undefined;
    if (cheatInWindow && fraud === undefined) {
      throw new Failure(`job ${tag(r, id)}: the verifier finds no fraud in a cheating result (${posting.what})`);
    }
    evidence = {
      proof: fraud ? buildFraudProof(profile.tree, posted, fraud) : proofOf(profile.tree, posted, layer, index),
    };
  } else if (a.evidence === "neuron") evidence = { proof: proofOf(profile.tree, posted, layer, index) };
  else if (a.evidence === "otherOutput") {
    evidence = {
      proof: { ...proofOf(profile.tree, posted, layer, index), output: getBytes(concat([posted.output, "0x00"])) },
    };
  } else if (a.evidence === "otherInput") {
    const first = index % profile.widths[1];
    evidence = {
      proof: { ...proofOf(profile.tree, posted, 1, first), input: getBytes(concat([posted.input, "0x00"])) },
    };
  } else {
    const other = PROFILES[(PROFILES.indexOf(profile) + 1) % PROFILES.length];
    const [l, i] = neuronAt(other, a.neuron);
    evidence = { proof: proofOf(other.tree, posted, l, i) };
  }
  const proof: FraudProof | undefined = "proof" in evidence ? evidence.proof : undefined;
  const named = proof ? ` neuron ${proof.layer}.${proof.index}` : "";
  const on = posting ? ` on ${posting.what}` : "";
  const label = `proveFraud ${a.who} job ${tag(r, id)} ${a.evidence}${named}${on}${a.tampered ? " tampered" : ""}`;
  const sent = a.tampered ? tamper(job) : job;
  return {
    label,
    predict: (m) => m.proveFraud(r.w.addr[a.who], id, evidence, a.tampered),
    send: () =>
      r.w.p.escrow.connect(r.w.signers[a.who]).proveFraud(sent, proof ? encodeEvidence(proof) : "0x1234", GAS),
    verify: async (actual) => {
      if (posting && proven) count(r, `proof on ${posting.honest ? "honest" : "cheat"}: ${actual ?? "convicted"}`);
      if (!cheatInWindow || a.evidence !== "first") return;
      check(actual === null, `${label}: a cheating result proven in its window was not convicted (${actual})`);
      const status = Number((await r.w.p.escrow.jobState(id)).status);
      check(
        status === JobStatus.Rejected,
        `${label}: a cheating result proven in its window is ${STATUS_NAMES[status]}`,
      );
    },
  };
}

function modelFor(r: Run, pick: number, asOwner: boolean): { id: bigint; who: Actor } {
  const s = r.m.s;
  const i = pick % s.models.length;
  const owner = ACTORS.find((x) => r.w.addr[x] === s.models[i].owner) ?? "owner0";
  return { id: BigInt(i + 1), who: asOwner ? owner : owner === "owner0" ? "owner1" : "owner0" };
}

// ---------------------------------------------------------------- execution and checks

/** One transaction of a block: what it does, its label and the action kind it counts as. */
interface Sent {
  label: string;
  kind: string;
  res: Resolved;
}

type Logs = readonly { topics: readonly string[]; data: string; address: string }[];

/** What the chain did with a transaction: the custom error it reverted with, or its logs and block. */
interface Outcome {
  actual: string | null;
  logs: Logs;
  minedIn?: bigint;
}

/** Sends one resolved action and checks it against the model; whether it succeeded (as predicted). */
async function execute(r: Run, label: string, kind: string, res: Resolved, stats: FuzzStats): Promise<boolean> {
  return (await executeBlock(r, [{ label, kind, res }], stats))[0];
}

/**
 * Sends resolved actions in one block, in order, and checks each against the model, which runs each on the state
 * the ones before it left (a revert leaves it as it was); whether each succeeded (as predicted).
 */
async function executeBlock(r: Run, txs: Sent[], stats: FuzzStats): Promise<boolean[]> {
  const block = r.m.s.block;
  const at = r.m.s.now;
  const start = r.m;
  const predicted: { next: Model; expected: string | null }[] = [];
  let state = r.m;
  for (const { res } of txs) {
    const next = state.clone();
    let expected: string | null = null;
    try {
      res.predict?.(next);
    } catch (e) {
      if (!(e instanceof Revert)) throw e;
      expected = e.error;
    }
    predicted.push({ next, expected });
    if (expected === null) state = next;
  }
  await network.provider.send("evm_setNextBlockTimestamp", [Number(at)]);
  const outcomes = txs.length === 1 ? [await sendAlone(r, txs[0].res)] : await sendTogether(r, txs);
  // Every transaction is mined in a block, a reverted one too: read the next block's number rather than assume it.
  const nextBlock = BigInt(await network.provider.send("eth_blockNumber", [])) + 1n;
  const oks: boolean[] = [];
  for (const [i, { label, kind, res }] of txs.entries()) {
    const { next, expected } = predicted[i];
    const { actual, logs, minedIn } = outcomes[i];
    const k = (stats.kinds[kind] ??= { ok: 0, reverted: 0, errors: {} });
    r.trace.push(`#${r.step} @${at}${txs.length > 1 ? ` block ${block}` : ""} ${label} -> ${actual ?? "ok"}`);
    if (expected !== actual) {
      throw new Failure(`${label}: model expected ${expected ?? "success"}, chain ${actual ?? "succeeded"}`);
    }
    if (actual !== null) {
      k.reverted += 1;
      k.errors[actual] = (k.errors[actual] ?? 0) + 1;
      oks.push(false);
      continue;
    }
    check(minedIn === block, `${label}: mined in block ${minedIn}, model ${block}`);
    k.ok += 1;
    stats.committees.drawn += next.fx.draws.length;
    for (const path of next.fx.drawPaths) stats.drawPaths[path] = (stats.drawPaths[path] ?? 0) + 1;
    for (const f of next.fx.frauds) count(r, `FraudProven ${FRAUD_KINDS[f.fraud]}`);
    for (const { jobId, outcome } of next.fx.settlements) {
      const posting = r.postings.get(jobId);
      if (posting && outcome === JobOutcome.Accepted)
        count(r, `Accepted ${posting.honest ? "honest" : "unproven cheat"}`);
    }
    for (const { jobId } of next.fx.settlements) {
      const seats = next.jobOf(jobId)!.seats;
      if (seats.length > 0 && seats.every((x) => x.vote === VoteState.Agreed || x.vote === VoteState.Disagreed)) {
        stats.committees.allRevealed += 1;
      }
    }
    checkEvents(r, next, logs, label);
    await checkDraws(r, start, next, block, label);
    next.fx = noEffects();
    oks.push(true);
  }
  state.s.now = at + 1n;
  state.s.block = nextBlock;
  r.m = state;
  for (const [i, { res }] of txs.entries()) if (oks[i]) res.after?.();
  for (const [i, { res }] of txs.entries()) await res.verify?.(outcomes[i].actual);
  return oks;
}

/** Sends a transaction mined in a block of its own (automine). */
async function sendAlone(r: Run, res: Resolved): Promise<Outcome> {
  try {
    const receipt = await (await res.send!()).wait();
    return { actual: null, logs: receipt!.logs, minedIn: BigInt(receipt!.blockNumber) };
  } catch (e) {
    return { actual: errorName(r.w, e), logs: [] };
  }
}

/**
 * Sends transactions into one block: automine off while they queue, then one block mined. A reverted one's
 * custom error is read from its trace, since its receipt has none.
 */
async function sendTogether(r: Run, txs: Sent[]): Promise<Outcome[]> {
  const hashes: string[] = [];
  await network.provider.send("evm_setAutomine", [false]);
  try {
    for (const { res } of txs) hashes.push((await res.send!()).hash);
    await network.provider.send("evm_mine", []);
  } finally {
    await network.provider.send("evm_setAutomine", [true]);
  }
  const outcomes: Outcome[] = [];
  for (const hash of hashes) {
    const receipt = await ethers.provider.getTransactionReceipt(hash);
    if (receipt!.status === 1) {
      outcomes.push({ actual: null, logs: receipt!.logs, minedIn: BigInt(receipt!.blockNumber) });
      continue;
    }
    const trace = await network.provider.send("debug_traceTransaction", [
      hash,
      { disableMemory: true, disableStack: true, disableStorage: true },
    ]);
    const data = String(trace.returnValue ?? "");
    outcomes.push({ actual: errorName(r.w, { data: data.startsWith("0x") ? data : `0x${data}` }), logs: [] });
  }
  return outcomes;
}

/** The events of a successful transaction against what the model said it should emit. */
function checkEvents(
  r: Run,
  next: Model,
  logs: readonly { topics: readonly string[]; data: string; address: string }[],
  label: string,
): void {
  const escrowAddress = r.m.s.escrow.toLowerCase();
  const settled: { jobId: bigint; outcome: number; settlement: bigint[] }[] = [];
  const drawn = new Map<bigint, { members: string[]; commitEnd: bigint; revealEnd: bigint }>();
  const commits: { jobId: bigint; verifier: string; seat: bigint; commitment: string }[] = [];
  const frauds: { jobId: bigint; prover: string; fraud: number; layer: bigint; index: bigint }[] = [];
  for (const log of logs) {
    if (log.address.toLowerCase() !== escrowAddress) continue;
    const parsed = r.w.p.escrow.interface.parseLog(log);
    if (!parsed) continue;
    if (parsed.name === "JobRequested") {
      const job = toJob(parsed.args.job);
      eq(job, next.fx.requested, `${label}: JobRequested job`);
      r.jobs.push(job);
    } else if (parsed.name === "CommitteeDrawn") {
      drawn.set(parsed.args.jobId, {
        members: [...parsed.args.committee],
        commitEnd: parsed.args.commitEnd,
        revealEnd: parsed.args.revealEnd,
      });
    } else if (parsed.name === "VoteCommitted") {
      commits.push({
        jobId: parsed.args.jobId,
        verifier: parsed.args.verifier,
        seat: parsed.args.seat,
        commitment: parsed.args.commitment,
      });
    } else if (parsed.name === "FraudProven") {
      frauds.push({
        jobId: parsed.args.jobId,
        prover: parsed.args.prover,
        fraud: Number(parsed.args.fraud),
        layer: parsed.args.layer,
        index: parsed.args.index,
      });
    } else if (parsed.name === "JobSettled") {
      settled.push({
        jobId: parsed.args.jobId,
        outcome: Number(parsed.args.outcome),
        settlement: [...parsed.args.settlement].map(BigInt),
      });
    }
  }
  if (next.fx.requested) check(r.jobs.length === next.s.jobs.length, `${label}: JobRequested missing`);
  eq(
    settled,
    next.fx.settlements.map((x) => ({
      jobId: x.jobId,
      outcome: x.outcome,
      settlement: [
        x.settlement.workerPayment,
        x.settlement.royalty,
        x.settlement.treasuryPayment,
        x.settlement.verifierReward,
        x.settlement.rewardedVerifiers,
        x.settlement.requesterRefund,
        x.settlement.challengerPayment,
        x.settlement.slashed,
      ],
    })),
    `${label}: JobSettled events`,
  );
  // The seat and commitment of each commit: the model seals the same, so its list is the one reveals must pass.
  eq(commits, next.fx.commits, `${label}: VoteCommitted events`);
  eq(frauds, next.fx.frauds, `${label}: FraudProven events`);
  eq(
    [...drawn.keys()],
    next.fx.draws.map((d) => d.jobId),
    `${label}: CommitteeDrawn events`,
  );
  for (const d of next.fx.draws) {
    const ev = drawn.get(d.jobId)!;
    const j = next.jobOf(d.jobId)!;
    check(ev.members.length === d.size, `${label}: committee of ${ev.members.length}, job needs ${d.size}`);
    check(new Set(ev.members).size === ev.members.length, `${label}: committee has a repeated member`);
    for (const member of ev.members) check(d.eligible.includes(member), `${label}: ineligible member ${member} drawn`);
    eq([ev.commitEnd, ev.revealEnd], [j.windowEnd, j.revealEnd], `${label}: committee windows`);
    next.fillCommittee(d.jobId, ev.members);
  }
}

/**
 * Each committee the transaction in block `block` drew, against VerifierStaking.drawCommittee from the seed the
 * model derived (the mock's seed of the job's ticket, mixed with the job id) on the stake of the block before:
 * when nothing earlier in the block (a settlement earlier in the batch, a transaction before it) changed a draw
 * weight, the chain drew from exactly that stake.
 */
async function checkDraws(r: Run, start: Model, next: Model, block: bigint, label: string): Promise<void> {
  const before = start.weights();
  for (const d of next.fx.draws) {
    if (d.weights !== before) continue;
    const expected = await r.w.p.staking.drawCommittee(d.seed, d.size, d.excluded, { blockTag: Number(block - 1n) });
    eq(
      next.jobOf(d.jobId)!.seats.map((x) => x.verifier),
      [...expected],
      `${label}: committee of ${tag(r, d.jobId)} vs the staking draw from the model's seed`,
    );
  }
}

/** Statuses in the order a job moves through them; every terminal status ranks last. */
const rank = (status: number): number => (isTerminal(status) ? JobStatus.Settled : status);

/** Chain state against the model, and the four invariants. */
async function checkState(r: Run, label: string): Promise<void> {
  const { token, escrow, staking, registry } = r.w.p;
  const s = r.m.s;
  let credited = 0n;
  let staked = 0n;
  let held = 0n;
  let weights = 0n;
  let eligible = 0n;
  const holders = [...Object.values(r.w.addr), s.escrow, s.staking];
  const actors = Object.entries(r.w.addr);
  // Every read goes out in one eth_call (views of one block, independent of each other) rather than a hundred;
  // the checks below await them in their order, so they and their messages are unchanged.
  const batch = new ViewBatch();
  const balances = holders.map((a) => batch.view(token, "balanceOf", a));
  const credits = actors.map(([, a]) => batch.view(escrow, "balanceOf", a));
  const stakes = actors.map(([, a]) => batch.view(staking, "accountOf", a));
  const weightsOf = actors.map(([, a]) => batch.view(staking, "verifierWeightOf", a));
  const jobStates = s.jobs.map((j) => batch.view(escrow, "jobState", j.job.id));
  const settledBefore = s.jobs.map((j) => {
    const i = Number(j.job.nonce) - 1;
    return isTerminal(r.lastStatus[i] ?? JobStatus.Requested) && r.lastStatus[i] !== undefined;
  });
  const details = s.jobs.map((j, k) =>
    settledBefore[k]
      ? undefined
      : {
          outputHash: batch.view(escrow, "outputHash", j.job.id),
          challenge: batch.view(escrow, "challengeOf", j.job.id),
          committee: j.seats.length > 0 ? batch.view(escrow, "committee", j.job.id) : undefined,
        },
  );
  const totalSupply = batch.view(token, "totalSupply");
  const totalVerifierWeight = batch.view(staking, "totalVerifierWeight");
  const eligibleVerifierCount = batch.view(staking, "eligibleVerifierCount");
  const leavingVerifierCount = batch.view(staking, "leavingVerifierCount");
  const escrowSettings = [
    batch.view(escrow, "paused"),
    batch.view(escrow, "treasury"),
    batch.view(escrow, "paramsId"),
    batch.view(escrow, "jobCount"),
    batch.view(escrow, "maxDisputeWindow"),
  ];
  const stakingSettings = [batch.view(staking, "unbondingPeriod"), batch.view(staking, "minVerifierStake")];
  const escrowHeld = batch.view(token, "balanceOf", s.escrow);
  const stakingHeld = batch.view(token, "balanceOf", s.staking);
  const totalStake = batch.view(staking, "totalStake");
  const modelCount = batch.view(registry, "modelCount");
  await batch.send();
  for (const [k, a] of holders.entries()) {
    const balance = await balances[k];
    held += balance;
    eq(balance, s.tokens[a] ?? 0n, `${label}: token balance of ${a}`);
  }
  eq(await totalSupply, s.totalSupply, `${label}: total supply`);
  eq(held, s.totalSupply, `${label}: tokens outside the actors and contracts`);
  for (const [k, [name, a]] of actors.entries()) {
    const credit = await credits[k];
    eq(credit, r.m.creditOf(a), `${label}: escrow balance of ${name}`);
    credited += credit;
    const acc = await stakes[k];
    const m = r.m.account(a);
    eq(
      [
        acc.active,
        acc.locked,
        acc.unbonding,
        acc.unbondingEnd,
        acc.verifier,
        acc.leaving,
        acc.exitAt,
        acc.drawableUntil,
      ],
      [m.active, m.locked, m.unbonding, m.unbondingEnd, m.verifier, m.leaving, m.exitAt, m.drawableUntil],
      `${label}: stake of ${name}`,
    );
    // Invariant 3: locked stake never exceeds active stake.
    check(acc.locked <= acc.active, `${label}: ${name} has locked ${acc.locked} > active ${acc.active}`);
    staked += acc.active + acc.unbonding;
    const weight = await weightsOf[k];
    eq(weight, m.weight, `${label}: draw weight of ${name}`);
    weights += weight;
    if (weight > 0n) eligible += 1n;
  }
  eq(await totalVerifierWeight, weights, `${label}: total verifier weight`);
  eq(await eligibleVerifierCount, eligible, `${label}: eligible verifiers`);
  eq(await leavingVerifierCount, BigInt(r.m.leavingInDraw()), `${label}: leaving verifiers`);
  const [paused, treasury, paramsId, jobCount, maxDisputeWindow] = await Promise.all(escrowSettings);
  eq(
    [paused, treasury, paramsId, jobCount],
    [s.paused, s.treasury, BigInt(s.params.length), BigInt(s.jobs.length)],
    `${label}: escrow pause, treasury, params version, job count`,
  );
  eq(
    [maxDisputeWindow, ...(await Promise.all(stakingSettings))],
    [s.maxDisputeWindow, s.unbondingPeriod, s.minVerifierStake],
    `${label}: dispute window, unbonding period, min verifier stake`,
  );

  let open = 0n;
  for (const [k, j] of s.jobs.entries()) {
    const id = j.job.id;
    const i = Number(j.job.nonce) - 1;
    const name = `job #${j.job.nonce}`;
    const st = await jobStates[k];
    const status = Number(st.status);
    // Invariant 4: statuses only move forward; a terminal status never changes.
    const last = r.lastStatus[i] ?? JobStatus.Requested;
    check(
      rank(status) >= rank(last) && !(isTerminal(last) && status !== last),
      `${label}: ${name} went ${STATUS_NAMES[last]} -> ${STATUS_NAMES[status]}`,
    );
    check(j.settledCount <= 1, `${label}: ${name} settled ${j.settledCount} times`);
    check(isTerminal(status) === (j.settledCount === 1), `${label}: ${name} terminal without one JobSettled`);
    // The Proven invariant: the model's trace of the job's input is never proven wrong.
    check(
      !(status === JobStatus.Rejected && r.postings.get(id)?.honest === true),
      `${label}: ${name}'s honest Proven result was Rejected`,
    );
    r.lastStatus[i] = status;
    // Drawing: windowEnd is the draw-by time and revealEnd the randomness ticket (the request's block number).
    eq(
      [STATUS_NAMES[status], st.worker, st.windowEnd, st.revealEnd, Number(st.seats)],
      [STATUS_NAMES[j.status], j.worker, j.windowEnd, j.revealEnd, j.seats.length],
      `${label}: ${name} state${j.status === JobStatus.Drawing ? " (Drawing: draw-by, ticket)" : ""}`,
    );
    const detail = details[k];
    if (!isTerminal(status)) {
      open += j.job.fee;
      // An open job was not terminal at the last check either, so its details were read. A challenge's bond is
      // held while it is judged: from the challenge (Drawing) to the settlement.
      if (status === JobStatus.Drawing || status === JobStatus.Voting) open += (await detail!.challenge).bond;
    }
    if (!detail) continue; // settled before: unchanged since it was checked in full
    eq(await detail.outputHash, j.outputHash, `${label}: ${name} output hash`);
    const ch = await detail.challenge;
    eq([ch.challenger, ch.bond], [j.challenger, j.bond], `${label}: ${name} challenge`);
    if (detail.committee) {
      const seats = await detail.committee;
      eq(
        seats.map((x) => [x.verifier, Number(x.vote)]),
        j.seats.map((x) => [x.verifier, x.vote]),
        `${label}: ${name} committee`,
      );
    }
  }
  // Invariant 1: conservation.
  eq(await escrowHeld, open + credited, `${label}: escrow balance vs open jobs + credits`);
  eq(open, r.m.openHoldings(), `${label}: open job holdings`);
  eq(await stakingHeld, staked, `${label}: staking balance vs active + unbonding stake`);
  eq(await totalStake, staked, `${label}: staking totalStake vs active + unbonding stake`);

  eq(await modelCount, BigInt(s.models.length), `${label}: model count`);
}

async function checkRegistry(r: Run, label: string): Promise<void> {
  const s = r.m.s;
  const batch = new ViewBatch();
  const models = s.models.map((_, i) => batch.view(r.w.p.registry, "getModel", i + 1));
  // The latest version's root as the model knows it (a differing version count fails the model check first).
  const roots = s.models.map((m, i) => batch.view(r.w.p.registry, "getWeightsRoot", i + 1, m.versionCount));
  await batch.send();
  for (let i = 0; i < s.models.length; i++) {
    const m = await models[i];
    eq(
      [m.owner, m.pendingOwner, Number(m.versionCount), m.deprecated, [...m.terms].map((x) => BigInt(x))],
      [
        s.models[i].owner,
        s.models[i].pendingOwner,
        s.models[i].versionCount,
        s.models[i].deprecated,
        Object.values(s.models[i].terms).map((x) => BigInt(x)),
      ],
      `${label}: model ${i + 1}`,
    );
    eq(await roots[i], r.m.latestRoot(s.models[i]), `${label}: model ${i + 1}'s latest weights root`);
  }
}

/** Invariant 2: after every window, permissionless settles end every job; then everyone withdraws. */
async function finish(r: Run, stats: FuzzStats): Promise<void> {
  // Two rounds: settling a job still in Drawing past its draw-by draws its committee (its seed exists), and the
  // vote's windows then have to run out before the second round ends it.
  for (let round = 0; round < 2; round++) await settleAllDue(r, stats);
  for (const j of r.m.s.jobs) check(isTerminal(j.status), `job ${j.job.id} not terminal after the final settles`);
  for (const name of ACTORS) {
    if (r.m.creditOf(r.w.addr[name]) === 0n) continue;
    const res: Resolved = {
      label: `final withdraw ${name}`,
      predict: (m) => m.withdraw(r.w.addr[name]),
      send: () => r.w.p.escrow.connect(r.w.signers[name]).withdraw(GAS),
    };
    await execute(r, res.label, "final withdraw", res, stats);
  }
  await checkState(r, "end of run");
  eq(await r.w.p.token.balanceOf(r.w.p.escrow), 0n, "escrow balance once every job ended and everyone withdrew");
}

/** Moves past every open job's windows and settles them all, 25 to a batch. */
async function settleAllDue(r: Run, stats: FuzzStats): Promise<void> {
  r.m.s.now = r.m.allDueAt() + 1n;
  const open = r.m.s.jobs.filter((j) => !isTerminal(j.status)).map((j) => j.job.id);
  for (let i = 0; i < open.length; i += 25) {
    const ids = open.slice(i, i + 25);
    const res: Resolved = {
      label: `final settleBatch [${ids.map((id) => tag(r, id)).join(",")}]`,
      predict: (m) =>
        m.settleBatch(
          ids.map((id) => ({ id, output: "0x" })),
          ids.length,
        ),
      send: () =>
        r.w.p.escrow.connect(r.w.signers.outsider).settleBatch(
          ids.map((id) => recordOf(r, id)),
          ids.map(() => "0x"),
          { gasLimit: 29_000_000 },
        ),
    };
    await execute(r, res.label, "final settleBatch", res, stats);
  }
}

async function runOnce(w: World, actions: Action[], stats: FuzzStats, verbose: boolean, log: (l: string) => void) {
  await network.provider.send("evm_revert", [w.snapshot]);
  w.snapshot = await network.provider.send("evm_snapshot", []);
  const latest = await ethers.provider.getBlock("latest");
  const m = new Model(structuredClone(w.initial));
  m.s.now = BigInt(latest!.timestamp) + 1n;
  m.s.block = BigInt(latest!.number) + 1n;
  const r: Run = {
    w,
    m,
    jobs: [],
    outputs: new Map(),
    inputs: new Map(),
    postings: new Map(),
    votes: new Map(),
    lastStatus: [],
    hashCounter: 0,
    step: 0,
    trace: [],
    stats,
  };
  stats.runs += 1;
  try {
    for (const a of actions) {
      r.step += 1;
      stats.steps += 1;
      let res = resolve(r, a);
      if (!res.send) {
        const k = (stats.kinds[a.kind] ??= { ok: 0, reverted: 0, errors: {} });
        k.ok += 1;
        r.trace.push(`#${r.step} ${res.label}`);
        continue;
      }
      // A follow-up (the next vote of a burst, the draw after a submission) counts as its own kind.
      let kind: ActionKind = a.kind;
      for (;;) {
        const block: Sent[] = [{ label: res.label, kind, res }, ...(res.inBlock ? [res.inBlock] : [])];
        const ok = (await executeBlock(r, block, stats))[0];
        await checkState(r, `step ${r.step} (${res.label})`);
        const next = ok ? res.next?.() : undefined;
        if (!next) break;
        res = resolve(r, next);
        kind = next.kind;
      }
      if (
        [
          "registerModel",
          "setTerms",
          "deprecate",
          "publishVersion",
          "transferModelOwnership",
          "acceptModelOwnership",
          "request",
        ].includes(a.kind)
      ) {
        await checkRegistry(r, `step ${r.step} (${res.label})`);
      }
    }
    await finish(r, stats);
    if (verbose) log(r.trace.join("\n"));
  } catch (e) {
    if (verbose || !(e instanceof Failure)) log(r.trace.join("\n"));
    const message = e instanceof Error ? e.message : String(e);
    throw new Error(`${message}\n  trace (last 15 steps):\n    ${r.trace.slice(-15).join("\n    ")}`);
  }
}

let world: World | undefined;

/** Runs `runs` random action sequences; returns what was exercised and, on failure, how to replay it. */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzStats> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const started = Date.now();
  if (!world) world = await deployWorld();
  world.snapshot = await network.provider.send("evm_snapshot", []);
  const w = world;
  const seed = opts.seed ?? (Date.now() ^ (Math.random() * 0x100000000)) | 0;
  const stats: FuzzStats = {
    seed,
    runs: 0,
    steps: 0,
    ms: 0,
    kinds: {},
    committees: { drawn: 0, allRevealed: 0 },
    drawPaths: {},
    proven: {},
  };
  const details = await fc.check(
    fc.asyncProperty(actionsArb(opts.maxSteps ?? 40), async (actions) => {
      await runOnce(w, actions, stats, opts.verbose ?? false, log);
    }),
    { numRuns: opts.runs, seed, path: opts.path, endOnFailure: !(opts.shrink ?? false) },
  );
  await network.provider.send("evm_revert", [w.snapshot]);
  stats.ms = Date.now() - started;
  if (details.failed) {
    const err = details.errorInstance;
    stats.failure = {
      seed: details.seed,
      path: details.counterexamplePath ?? "",
      error: err instanceof Error ? err.message : String(err),
      counterexample: (details.counterexample?.[0] as Action[] | undefined) ?? [],
    };
  }
  return stats;
}

/** Kinds never seen succeeding, or (for kinds that can fail) never seen reverting as predicted. */
export function uncovered(stats: FuzzStats): string[] {
  const missing: string[] = [];
  for (const kind of ACTION_KINDS) {
    const k = stats.kinds[kind];
    if (!k || k.ok === 0) missing.push(`${kind}:ok`);
    if (!NEVER_REVERTS.includes(kind as ActionKind) && (!k || k.reverted === 0)) missing.push(`${kind}:revert`);
  }
  return missing;
}

/** A table of the actions exercised: successes, predicted reverts and their errors. */
export function formatStats(stats: FuzzStats): string {
  const rows = Object.entries(stats.kinds).sort(([a], [b]) => a.localeCompare(b));
  const lines = rows.map(
    ([kind, k]) =>
      `  ${kind.padEnd(24)} ${String(k.ok).padStart(5)} ok ${String(k.reverted).padStart(5)} reverted  ${Object.entries(
        k.errors,
      )
        .sort((a, b) => b[1] - a[1])
        .map(([e, n]) => `${e.replace(/^(JobEscrow|VerifierStaking|ModelRegistry)/, "")}×${n}`)
        .join(" ")}`,
  );
  const paths = Object.entries(stats.drawPaths)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([path, n]) => `${path}×${n}`)
    .join(" ");
  lines.push(`  ${"draws without a committee".padEnd(24)} ${paths || "none"}`);
  const proven = Object.entries(stats.proven).sort(([a], [b]) => a.localeCompare(b));
  lines.push(`  ${"Proven jobs".padEnd(24)} ${proven.length === 0 ? "none" : ""}`);
  for (const [what, n] of proven) lines.push(`    ${what.padEnd(46)} ${String(n).padStart(5)}`);
  return lines.join("\n");
}

/** The share of committee votes opened whose job settled with every member's vote revealed (0 when none opened). */
export function revealedShare(stats: FuzzStats): number {
  const { drawn, allRevealed } = stats.committees;
  return drawn === 0 ? 0 : allRevealed / drawn;
}

export function summary(stats: FuzzStats): string {
  const covered = ACTION_KINDS.filter((k) => (stats.kinds[k]?.ok ?? 0) > 0).length;
  const { drawn, allRevealed } = stats.committees;
  const votes = `${allRevealed}/${drawn} committees settled fully revealed (${(100 * revealedShare(stats)).toFixed(0)}%)`;
  const posted = Object.entries(stats.proven)
    .filter(([what]) => what.startsWith("posted "))
    .reduce((n, [, k]) => n + k, 0);
  const convicted = stats.proven["proof on cheat: convicted"] ?? 0;
  const refused = stats.proven["proof on honest: ProvenNeuronCorrect"] ?? 0;
  const proven = `${posted} Proven results posted, ${convicted} cheats convicted, ${refused} honest ones' proofs refused`;
  return `fuzz: ${stats.runs} runs, ${stats.steps} steps, ${covered}/${ACTION_KINDS.length} action kinds succeeded, ${uncovered(stats).length} coverage gaps, ${votes}, ${proven}, seed ${stats.seed}, ${(stats.ms / 1000).toFixed(1)} s${stats.failure ? " — FAILED" : ""}`;
}

export { ACTION_KINDS };
export type { ActionKind, JobRecord };
