/**
 * Challenge griefing, simulated on the real contracts (src/sim/chain.ts): does challenging correct optimistic
 * results pay anyone?
 *
 * The griefing coalition is the requester, a second identity of it that is a staked verifier (the challenger)
 * and `colluders` more verifiers who stay silent whenever they are drawn. Every job is an Optimistic job whose
 * output is correct; the challenger challenges every one. Honest members of the committee vote agree, silent
 * ones never commit, so a committee with fewer than two honest members ends without a majority: the challenge
 * is unresolved. Under the rules since issue 8 the challenger bears an unresolved challenge: the requester is
 * refunded but the worker is paid out of the bond (which is never less than the fee), so the coalition pays at
 * least the fee for every output it gets, and the worker earns at least what an unchallenged job pays it.
 *
 * The row also states what the same outcomes would have cost and paid under the earlier rule (an Inconclusive
 * challenge refunded the requester, returned the bond and paid the worker nothing): computed from the on-chain
 * outcomes, not run.
 *
 * Every other figure comes from the chain: the coalition's and the worker's wealth (token balance, credited
 * escrow balance and active stake) before and after, and the JobSettled events.
 */
import { formatEther, toUtf8Bytes } from "ethers";
import { JobOutcome } from "../../packages/sdk/src/params";
import { acceptedSettlement, challengeBondFor } from "../../packages/sdk/src/settlement";
import { revert, runBatch, SIM_PRICE, snapshot, type JobSpec, type World } from "./chain";

export interface GriefingRow {
  /** Silent verifiers in the coalition, of the `eligible` ones a committee is drawn from. */
  colluders: number;
  eligible: number;
  jobs: number;
  /** Challenges the committee voted down (the challenger forfeited its bond). */
  accepted: number;
  /** Challenges that ended without a majority. */
  unresolved: number;
  /** The fee of one job, tokens. */
  fee: number;
  /** The bond of one challenge, tokens. */
  bond: number;
  /** What the coalition spent per job in all (fees, bonds, penalties, less refunds), tokens. */
  coalitionCost: number;
  /** What the worker earned per job, tokens. */
  workerIncome: number;
  /** What an unchallenged job pays the worker, tokens. */
  unchallengedIncome: number;
  /** The same outcomes under the earlier rule (unresolved: refund, bond back, worker unpaid), per job, tokens. */
  earlierCoalitionCost: number;
  earlierWorkerIncome: number;
  /**
   * Whether griefing paid: the coalition got its outputs for less than their fees, or the worker earned less
   * than unchallenged jobs pay. Decided on the exact token amounts, not on the rounded per-job figures.
   */
  paid: boolean;
}

export interface GriefingOptions {
  jobs: number;
  /** Coalition sizes to run, each a row: silent verifiers besides the challenger. */
  colluders: number[];
  batch: number;
  log?: (line: string) => void;
}

const tokens = (x: bigint): number => Number(formatEther(x));
const RIGHT = toUtf8Bytes("the correct output");

async function wealthOf(world: World, accounts: string[]): Promise<bigint> {
  let total = 0n;
  for (const a of accounts) {
    total +=
      (await world.token.balanceOf(a)) + (await world.escrow.balanceOf(a)) + (await world.staking.accountOf(a)).active;
  }
  return total;
}

/** Runs one row: `colluders` silent verifiers; every row starts from the world as it is and leaves it so. */
export async function runGriefingRow(world: World, colluders: number, opts: GriefingOptions): Promise<GriefingRow> {
  const base = await snapshot();
  try {
    const [challenger, ...others] = world.verifiers;
    if (colluders > others.length) throw new Error(`${colluders} colluders, only ${others.length} other verifiers`);
    const silent = new Set(others.slice(0, colluders).map((v) => v.address));
    const coalition = [world.requester.address, challenger.address, ...silent];
    const worker = [world.worker.address];
    const coalitionBefore = await wealthOf(world, coalition);
    const workerBefore = await wealthOf(world, worker);

    let accepted = 0;
    let unresolved = 0;
    let unresolvedWorkerPay = 0n;
    let index = 0;
    while (index < opts.jobs) {
      const size = Math.min(opts.batch, opts.jobs - index);
      const specs: JobSpec[] = Array.from({ length: size }, () => ({
        modelId: world.optimistic,
        input: toUtf8Bytes(`griefed input ${index++}`),
        output: RIGHT,
        vote: (member: string) => (silent.has(member) ? undefined : true),
      }));
      for (const r of await runBatch(world, specs, { challenger })) {
        if (r.outcome === JobOutcome.Accepted) accepted++;
        else if (r.outcome === JobOutcome.Inconclusive) {
          unresolved++;
          unresolvedWorkerPay += r.workerPayment;
        } else throw new Error(`job ${r.id}: a correct output ended with outcome ${r.outcome}`);
      }
    }
    const coalitionCost = coalitionBefore - (await wealthOf(world, coalition));
    const workerIncome = (await wealthOf(world, worker)) - workerBefore;
    const job = { fee: SIM_PRICE, royaltyBps: 500n, protocolFeeBps: world.params.protocolFeeBps, verifierShareBps: 0n };
    const per = (x: bigint): number => tokens(x) / opts.jobs;
    const jobs = BigInt(opts.jobs);
    const unchallenged = acceptedSettlement(job, world.params, 0n).workerPayment;
    return {
      colluders,
      eligible: others.length,
      jobs: opts.jobs,
      accepted,
      unresolved,
      fee: tokens(SIM_PRICE),
      bond: tokens(challengeBondFor(job, world.params)),
      coalitionCost: per(coalitionCost),
      workerIncome: per(workerIncome),
      unchallengedIncome: tokens(unchallenged),
      // Earlier rule: an unresolved challenge refunded the fee and the bond to the coalition, and paid the worker
      // nothing; the fee part of the bond is exactly what now pays the worker, royalty and protocol fee.
      earlierCoalitionCost: per(coalitionCost - BigInt(unresolved) * SIM_PRICE),
      earlierWorkerIncome: per(workerIncome - unresolvedWorkerPay),
      paid: coalitionCost < SIM_PRICE * jobs || workerIncome < unchallenged * jobs,
    };
  } finally {
    await revert(base);
  }
}

export async function runGriefing(world: World, opts: GriefingOptions): Promise<GriefingRow[]> {
  const rows: GriefingRow[] = [];
  for (const c of opts.colluders) {
    const row = await runGriefingRow(world, c, opts);
    opts.log?.(`  griefing row: ${c} silent of ${row.eligible}: ${row.unresolved} unresolved of ${row.jobs}`);
    rows.push(row);
  }
  return rows;
}

/** Whether griefing paid in a row: the coalition got an output for less than its fee, or the worker earned less. */
export function griefingPaid(r: GriefingRow): boolean {
  return r.paid;
}

export function formatGriefingTable(rows: GriefingRow[]): string {
  const header = [
    "silent",
    "jobs",
    "voted down",
    "unresolved",
    "coalition cost/job",
    "worker income/job",
    "earlier rule: cost/job",
    "earlier rule: worker/job",
  ];
  const f = (x: number): string => x.toFixed(3);
  const lines = rows.map((r) => [
    `${r.colluders}/${r.eligible}`,
    String(r.jobs),
    String(r.accepted),
    String(r.unresolved),
    f(r.coalitionCost),
    f(r.workerIncome),
    f(r.earlierCoalitionCost),
    f(r.earlierWorkerIncome),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i])).join("  ");
  return [fmt(header), ...lines.map(fmt)].join("\n");
}
