/**
 * Cheating economics of committee verification, simulated on the real contracts (src/sim/chain.ts).
 *
 * Part 1, collusion sweep: a worker cheats (posts a wrong output) with probability p on each committee job;
 * the verifier set is ten verifiers of equal stake of which a share colludes with the worker. On a cheated job
 * colluders vote agree and honest verifiers vote by the truth (disagree); on an honest job everybody votes
 * agree (colluders gain nothing by griefing: a rejected honest output is still a job they are slashed on when
 * in the minority, and it would tell the honest verifiers who they are). Every figure comes from the chain.
 *
 * Part 2, float paths: the worker's output and each verifier's re-execution are the same true tensors, each
 * perturbed independently within the model's registered tolerance, encoded with packages/sdk/src/codec; verifiers decode the
 * posted bytes and vote by compareOutputs. A control posts outputs perturbed beyond tolerance.
 */
import { formatEther, toUtf8Bytes } from "ethers";
import {
  compareOutputs,
  decodeTensors,
  encodeTensors,
  type NamedTensors,
  type Tolerance,
} from "../../packages/sdk/src/codec";
import { JobOutcome } from "../../packages/sdk/src/params";
import {
  acceptedSettlement,
  acceptedVerifierPool,
  collateralFor,
  rejectedVerifierPool,
  rejectionSlash,
} from "../../packages/sdk/src/settlement";
import {
  deployWorld,
  holdings,
  revert,
  runBatch,
  SIM_PRICE,
  SIM_TOLERANCE,
  snapshot,
  type JobResult,
  type JobSpec,
  type World,
} from "./chain";

// ---------------------------------------------------------------- deterministic randomness

/** A seeded PRNG (sfc32, seeded by splitmix-style mixing of a string): uniform in [0, 1). */
export function prng(seed: string): () => number {
  let h = 1779033703 ^ seed.length;
  for (let i = 0; i < seed.length; i++) {
    h = Math.imul(h ^ seed.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  const next = (): number => {
    h = Math.imul(h ^ (h >>> 16), 2246822507);
    h = Math.imul(h ^ (h >>> 13), 3266489909);
    return (h ^= h >>> 16) >>> 0;
  };
  let a = next();
  let b = next();
  let c = next();
  let d = next();
  return () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    const r = (t + d) | 0;
    c = (c + r) | 0;
    return (r >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------- analytic expectation

function choose(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/**
 * P(j colluders on a committee of `size` drawn from `n` verifiers of equal stake, `colluders` of them colluding):
 * the draw is stake-weighted without replacement, so with equal stakes it is hypergeometric.
 */
export function committeeDistribution(n: number, colluders: number, size: number): number[] {
  return Array.from(
    { length: size + 1 },
    (_, j) => (choose(colluders, j) * choose(n - colluders, size - j)) / choose(n, size),
  );
}

/** Money of one job, in tokens, from the default parameters (read from the chain). */
export interface Money {
  fee: number;
  collateral: number;
  /** The worker's payment on acceptance by a committee: fee − royalty − protocol fee − verifier pool. */
  workerNet: number;
  /** Verifier pool of an accepted job (fee × verifierShareBps), shared by the agreeing members. */
  acceptPool: number;
  /** Verifier pool of a rejected job (collateral × verifierRewardBps), shared by the disagreeing members. */
  rejectPool: number;
  votePenalty: number;
}

export interface Expectation {
  wrongAccepted: number;
  /** Cheated jobs' own P&L (payment − slashed collateral) per cheated job. */
  cheatPnl: number;
  /** The worker's P&L per job, all jobs, compute cost c per honestly computed job. */
  workerPnl: number;
  /** Per job: all honest verifiers together, and all colluders together. */
  honestVerifiers: number;
  colluders: number;
}

/** Expected outcomes of a row: committee majorities by the hypergeometric distribution. */
export function expectation(
  money: Money,
  n: number,
  colluders: number,
  size: number,
  p: number,
  computeCost: number,
): Expectation {
  const dist = committeeDistribution(n, colluders, size);
  const majority = Math.floor(size / 2) + 1;
  let wrongAccepted = 0;
  let honestOnCheat = 0;
  let colludersOnCheat = 0;
  let meanColluders = 0;
  dist.forEach((pj, j) => {
    meanColluders += pj * j;
    const honest = size - j;
    if (j >= majority) {
      wrongAccepted += pj;
      honestOnCheat -= pj * honest * money.votePenalty;
      colludersOnCheat += pj * money.acceptPool;
    } else {
      // honest >= majority (size is odd and everybody reveals): rejected.
      honestOnCheat += pj * money.rejectPool;
      colludersOnCheat -= pj * j * money.votePenalty;
    }
  });
  const cheatPnl = wrongAccepted * money.workerNet - (1 - wrongAccepted) * money.collateral;
  const colluderSeats = meanColluders / size;
  return {
    wrongAccepted,
    cheatPnl,
    workerPnl: p * cheatPnl + (1 - p) * (money.workerNet - computeCost),
    honestVerifiers: (1 - p) * money.acceptPool * (1 - colluderSeats) + p * honestOnCheat,
    colluders: (1 - p) * money.acceptPool * colluderSeats + p * colludersOnCheat,
  };
}

// ---------------------------------------------------------------- part 1: the collusion sweep

export interface SweepOptions {
  /** Jobs per row. */
  jobs: number;
  seed: string;
  /** Collusion shares of stake, each a multiple of 1 / verifiers. */
  shares: number[];
  ps: number[];
  committeeSize: number;
  /** Compute cost c an honest job costs the worker (a cheated job costs nothing), in tokens. */
  computeCost: number;
  batch: number;
  log?: (line: string) => void;
}

export interface Row {
  committeeSize: number;
  share: number;
  p: number;
  jobs: number;
  cheated: number;
  wrongAccepted: number;
  /** Cheated jobs neither accepted nor rejected (none expected: every member reveals). */
  inconclusive: number;
  /** Honest (correct) outputs rejected or the worker slashed on one: must be 0. */
  honestSlashed: number;
  /** Σ over cheated jobs of worker payment − slashed collateral (tokens). */
  cheatPnl: number;
  /** The worker's Δ(credited balance + active stake), tokens: checked equal to Σ payments − Σ slashes. */
  workerDelta: number;
  honestVerifiersDelta: number;
  colludersDelta: number;
  /** Vote penalties on honest verifiers (outvoted by colluders). */
  honestPenalties: number;
  expected: Expectation;
  computeCost: number;
  money: Money;
}

const tokens = (wei: bigint): number => Number(formatEther(wei));

/** The money of a job under the world's parameters, split as packages/sdk/src/settlement.ts splits it. */
export function moneyOf(world: World, fee: bigint, royaltyBps: bigint): Money {
  const p = world.params;
  const collateral = collateralFor(fee, p);
  const job = { fee, collateral, royaltyBps, protocolFeeBps: p.protocolFeeBps, verifierShareBps: p.verifierShareBps };
  return {
    fee: tokens(fee),
    collateral: tokens(collateral),
    // The worker's payment does not depend on how many of the committee agreed.
    workerNet: tokens(acceptedSettlement(job, p, 1n).workerPayment),
    acceptPool: tokens(acceptedVerifierPool(job, p)),
    rejectPool: tokens(rejectedVerifierPool(p, rejectionSlash(job))),
    votePenalty: tokens(p.votePenalty),
  };
}

const ROYALTY_BPS = 500n;
const RIGHT = toUtf8Bytes("the correct output");
const WRONG = toUtf8Bytes("a wrong output");

/** Runs one row (one collusion share, one p) on the world as it is. */
export async function runRow(
  world: World,
  share: number,
  p: number,
  opts: Omit<SweepOptions, "shares" | "ps">,
): Promise<Row> {
  const n = world.verifiers.length;
  const colluderCount = Math.round(share * n);
  if (Math.abs(colluderCount / n - share) > 1e-9) throw new Error(`share ${share} is not a multiple of 1/${n}`);
  const rng = prng(`${opts.seed}/${opts.committeeSize}/${share}/${p}`);
  await world.randomness.setSeed(BigInt(Math.floor(rng() * 2 ** 48)));
  const colluders = new Set(world.verifiers.slice(0, colluderCount).map((v) => v.address));
  const modelId = world.models.get(opts.committeeSize);
  if (modelId === undefined) throw new Error(`no model with committee size ${opts.committeeSize}`);

  const accounts = [world.worker.address, ...world.verifiers.map((v) => v.address)];
  const before = await holdings(world, accounts);
  const results: { cheat: boolean; r: JobResult }[] = [];
  let jobIndex = 0;
  while (results.length < opts.jobs) {
    const size = Math.min(opts.batch, opts.jobs - results.length);
    const cheats: boolean[] = [];
    const specs: JobSpec[] = [];
    for (let i = 0; i < size; i++) {
      const cheat = rng() < p;
      cheats.push(cheat);
      specs.push({
        modelId,
        input: toUtf8Bytes(`input ${jobIndex++}`),
        output: cheat ? WRONG : RIGHT,
        vote: (member) => colluders.has(member) || !cheat,
      });
    }
    const batch = await runBatch(world, specs);
    batch.forEach((r, i) => results.push({ cheat: cheats[i], r }));
  }
  const after = await holdings(world, accounts);
  const delta = after.map((a, i) => a - before[i]);

  let payments = 0n;
  let slashes = 0n;
  let cheatPnl = 0n;
  let cheated = 0;
  let wrongAccepted = 0;
  let inconclusive = 0;
  let honestSlashed = 0;
  let honestPenalties = 0;
  for (const { cheat, r } of results) {
    payments += r.workerPayment;
    slashes += r.slashed;
    if (cheat) {
      cheated++;
      cheatPnl += r.workerPayment - r.slashed;
      if (r.outcome === JobOutcome.Accepted) wrongAccepted++;
      else if (r.outcome !== JobOutcome.Rejected) inconclusive++;
    } else if (r.outcome !== JobOutcome.Accepted || r.slashed !== 0n) {
      honestSlashed++;
    }
    for (const v of r.penalties.keys()) if (!colluders.has(v)) honestPenalties++;
  }
  if (delta[0] !== payments - slashes) {
    throw new Error(`worker holdings moved ${delta[0]}, JobSettled says ${payments - slashes}`);
  }
  const money = moneyOf(world, SIM_PRICE, ROYALTY_BPS);
  const sum = (xs: bigint[]): bigint => xs.reduce((a, b) => a + b, 0n);
  return {
    committeeSize: opts.committeeSize,
    share,
    p,
    jobs: results.length,
    cheated,
    wrongAccepted,
    inconclusive,
    honestSlashed,
    cheatPnl: tokens(cheatPnl),
    workerDelta: tokens(delta[0]),
    honestVerifiersDelta: tokens(sum(delta.slice(1 + colluderCount))),
    colludersDelta: tokens(sum(delta.slice(1, 1 + colluderCount))),
    honestPenalties,
    expected: expectation(money, n, colluderCount, opts.committeeSize, p, opts.computeCost),
    computeCost: opts.computeCost,
    money,
  };
}

/** Runs every (share, p) row from the same freshly deployed state. */
export async function runSweep(world: World, opts: SweepOptions): Promise<Row[]> {
  const rows: Row[] = [];
  for (const share of opts.shares) {
    for (const p of opts.ps) {
      const base = await snapshot();
      const started = Date.now();
      const row = await runRow(world, share, p, opts);
      await revert(base);
      rows.push(row);
      opts.log?.(
        `  committee ${opts.committeeSize}, collusion ${pct(share)}, p=${p}: ${row.jobs} jobs in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    }
  }
  return rows;
}

// ---------------------------------------------------------------- derived figures and the table

/** The worker's P&L per job: Δ holdings − c × honest jobs, per job. */
export const workerPnlPerJob = (r: Row): number => (r.workerDelta - r.computeCost * (r.jobs - r.cheated)) / r.jobs;
/** Cheated jobs' own P&L per job of the row (payment − slashed collateral). */
export const cheatPnlPerJob = (r: Row): number => r.cheatPnl / r.jobs;
/** Gain of the cheating worker over an honest worker on the same jobs, per job, at compute cost c. */
export const gainPerJob = (r: Row): number => (r.cheatPnl - r.cheated * (r.money.workerNet - r.computeCost)) / r.jobs;
/** The compute cost above which cheating beats honest work: the net fee minus a cheated job's own P&L. */
export const breakEvenCost = (r: Row): number => (r.cheated === 0 ? NaN : r.money.workerNet - r.cheatPnl / r.cheated);

const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;
const num = (x: number, digits = 3): string => (Number.isNaN(x) ? "—" : (x >= 0 ? "+" : "") + x.toFixed(digits));

export function formatTable(rows: Row[]): string {
  const header = [
    "k",
    "collusion",
    "p",
    "jobs",
    "cheated",
    "wrong accepted (exp)",
    "cheat P&L/job (exp)",
    "worker P&L/job (exp)",
    "gain vs honest/job",
    "break-even c",
    "honest verifiers/job (exp)",
    "honest penalties",
  ];
  const lines = rows.map((r) => [
    String(r.committeeSize),
    pct(r.share),
    String(r.p),
    String(r.jobs),
    String(r.cheated),
    `${r.cheated ? ((100 * r.wrongAccepted) / r.cheated).toFixed(1) : "—"}% (${(100 * r.expected.wrongAccepted).toFixed(1)}%)`,
    `${num(cheatPnlPerJob(r))} (${num(r.p * r.expected.cheatPnl)})`,
    `${num(workerPnlPerJob(r))} (${num(r.expected.workerPnl)})`,
    num(gainPerJob(r)),
    Number.isNaN(breakEvenCost(r)) ? "—" : breakEvenCost(r).toFixed(2),
    `${num(r.honestVerifiersDelta / r.jobs)} (${num(r.expected.honestVerifiers)})`,
    String(r.honestPenalties),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]): string =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...lines.map(fmt)].join("\n");
}

/** The first collusion share (per committee size) at which a cheated job nets positive, simulated and expected. */
export function breakEven(rows: Row[]): { committeeSize: number; simulated?: number; expected?: number }[] {
  const sizes = [...new Set(rows.map((r) => r.committeeSize))];
  return sizes.map((k) => {
    const mine = rows.filter((r) => r.committeeSize === k).sort((a, b) => a.share - b.share);
    const shares = [...new Set(mine.map((r) => r.share))];
    const simulated = shares.find((s) => {
      const at = mine.filter((r) => r.share === s && r.cheated > 0);
      return at.reduce((a, r) => a + r.cheatPnl, 0) > 0;
    });
    const expected = shares.find((s) => mine.find((r) => r.share === s)!.expected.cheatPnl > 0);
    return { committeeSize: k, simulated, expected };
  });
}

// ---------------------------------------------------------------- part 2: float paths

/** Tolerance bound of compareOutputs for a re-executed value near `t`. */
const boundOf = (t: number, tol: Tolerance): number =>
  Math.max(tol.absTolerance / 1e9, (tol.relTolerance / 1e9) * Math.abs(t));

/** `x` moved by `k` units in the last place of float32 (k may be negative; 0 stays 0). */
function ulps(x: number, k: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const f = new Float32Array([x]);
  const bits = new Int32Array(f.buffer);
  bits[0] += k;
  return f[0];
}

/** The true output of a float job: logits of mixed magnitudes (some near 0, under the absolute tolerance) and a label. */
function trueOutput(rng: () => number): NamedTensors {
  const logits = new Float32Array(16);
  for (let i = 0; i < logits.length; i++) {
    const magnitude = 10 ** (rng() * 9 - 6); // 1e-6 .. 1e3
    logits[i] = Math.fround((rng() < 0.5 ? -1 : 1) * magnitude);
  }
  let label = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[label]) label = i;
  return [
    { name: "label", type: "int64", shape: [1], data: new BigInt64Array([BigInt(label)]) },
    { name: "logits", type: "float32", shape: [1, 16], data: logits },
  ];
}

/**
 * One operator's float path: each float32 element left as is, moved a few units in the last place, or moved
 * by up to `fraction` of the tolerance bound (then rounded to float32). With fraction < 0.5 two independent
 * paths always agree with each other: each is within half the bound of the truth.
 */
function perturb(truth: NamedTensors, tol: Tolerance, fraction: number, rng: () => number): NamedTensors {
  return truth.map((t) => {
    if (t.type !== "float32") return t;
    const src = t.data as Float32Array;
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const u = rng();
      if (u < 0.2) out[i] = src[i];
      else if (u < 0.6) out[i] = ulps(src[i], Math.floor(rng() * 17) - 8);
      else out[i] = Math.fround(src[i] + (2 * rng() - 1) * fraction * boundOf(src[i], tol));
    }
    return { ...t, data: out };
  });
}

/** A wrong output for the control: one element moved by 2..10 times its tolerance bound. */
function beyondTolerance(truth: NamedTensors, tol: Tolerance, rng: () => number): NamedTensors {
  return truth.map((t) => {
    if (t.type !== "float32") return t;
    const out = Float32Array.from(t.data as Float32Array);
    const i = Math.floor(rng() * out.length);
    out[i] = Math.fround(out[i] + (rng() < 0.5 ? -1 : 1) * (2 + 8 * rng()) * boundOf(out[i], tol));
    return { ...t, data: out };
  });
}

export interface FloatResult {
  label: string;
  jobs: number;
  accepted: number;
  rejected: number;
  other: number;
  /** Worker slashes and verifier vote penalties. */
  workerSlashes: number;
  verifierPenalties: number;
  /** Verifier votes cast: agree / disagree. */
  agreeVotes: number;
  disagreeVotes: number;
  /** Largest |posted − re-executed| / bound seen over every vote. */
  maxRatio: number;
}

/**
 * Float-path jobs on chain: the worker posts the truth perturbed by its own float path (`honest`) or beyond
 * tolerance (control); each member decodes the posted bytes, re-executes (the truth perturbed by its own path)
 * and votes by compareOutputs under the tolerance the job carries (from JobRequested).
 */
export async function runFloatJobs(
  world: World,
  jobs: number,
  honest: boolean,
  opts: { seed: string; batch: number; fraction?: number },
): Promise<FloatResult> {
  const rng = prng(`${opts.seed}/float/${honest ? "honest" : "control"}`);
  await world.randomness.setSeed(BigInt(Math.floor(rng() * 2 ** 48)));
  const fraction = opts.fraction ?? 0.45;
  const modelId = world.models.get(3)!;
  const registered = await world.registry.jobTerms(modelId);
  const tol: Tolerance = {
    relTolerance: Number(registered.terms.relTolerance),
    absTolerance: Number(registered.terms.absTolerance),
  };
  const res: FloatResult = {
    label: honest ? "honest float paths" : "control: beyond tolerance",
    jobs: 0,
    accepted: 0,
    rejected: 0,
    other: 0,
    workerSlashes: 0,
    verifierPenalties: 0,
    agreeVotes: 0,
    disagreeVotes: 0,
    maxRatio: 0,
  };
  let index = 0;
  while (res.jobs < jobs) {
    const size = Math.min(opts.batch, jobs - res.jobs);
    const specs: JobSpec[] = [];
    for (let i = 0; i < size; i++) {
      const truth = trueOutput(rng);
      const posted = honest ? perturb(truth, tol, fraction, rng) : beyondTolerance(truth, tol, rng);
      const postedBytes = encodeTensors(posted);
      const input = encodeTensors([{ name: "x", type: "float32", shape: [1], data: new Float32Array([index++]) }]);
      specs.push({
        modelId,
        input,
        output: postedBytes,
        vote: (_member, jobTol) => {
          const mine = perturb(truth, jobTol, fraction, rng);
          const c = compareOutputs(decodeTensors(postedBytes), mine, jobTol);
          const got = decodeTensors(postedBytes)[1].data as Float32Array;
          const own = mine[1].data as Float32Array;
          for (let k = 0; k < got.length; k++) {
            res.maxRatio = Math.max(res.maxRatio, Math.abs(got[k] - own[k]) / boundOf(own[k], jobTol));
          }
          if (c.agree) res.agreeVotes++;
          else res.disagreeVotes++;
          return c.agree;
        },
      });
    }
    for (const r of await runBatch(world, specs)) {
      res.jobs++;
      if (r.outcome === JobOutcome.Accepted) res.accepted++;
      else if (r.outcome === JobOutcome.Rejected) res.rejected++;
      else res.other++;
      if (r.slashed > 0n) res.workerSlashes++;
      res.verifierPenalties += r.penalties.size;
    }
  }
  return res;
}

/**
 * The voting decision alone, off chain: how often two honest float paths disagree when each stays within
 * `fraction` of the bound from the truth (at 0.45 never; at 1.0, the naive "each within tolerance", sometimes).
 */
export function offChainDisagreement(
  pairs: number,
  fraction: number,
  seed: string,
): { pairs: number; disagree: number } {
  const rng = prng(`${seed}/offchain/${fraction}`);
  let disagree = 0;
  for (let i = 0; i < pairs; i++) {
    const truth = trueOutput(rng);
    const a = perturb(truth, SIM_TOL, fraction, rng);
    const b = perturb(truth, SIM_TOL, fraction, rng);
    if (!compareOutputs(decodeTensors(encodeTensors(a)), b, SIM_TOL).agree) disagree++;
  }
  return { pairs, disagree };
}

const SIM_TOL: Tolerance = SIM_TOLERANCE;

export { deployWorld, snapshot, revert };
