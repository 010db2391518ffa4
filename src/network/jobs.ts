/**
 * What happened to each job, from the chain alone: the escrow's events grouped by job, the gas of every
 * transaction that touched it, the time from request to settlement, the payouts and slashes; and the escrow's
 * conservation check. Used by the demo's table and summary and by the end-to-end test.
 */
import { getBytes, type Provider } from "ethers";
import type { Deployment } from "../../packages/sdk/src/deployment-record";
import { ProtocolHistory, type HistoryEvent, type SlashView } from "../../packages/sdk/src/history";
import { toSettlement, type Settlement } from "../../packages/sdk/src/job";
import type { JobEscrow } from "../../typechain-types";
import { decodeTensors, type Tensor } from "../../packages/sdk/src/codec";
import { isTerminalStatus, JobOutcome, JobStatus, VerificationMode } from "../../packages/sdk/src/params";

export const MODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(VerificationMode).map(([name, n]) => [n, name]),
);
export const STATUS_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(JobStatus).map(([name, n]) => [n, name]),
);
export const OUTCOME_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(JobOutcome).map(([name, n]) => [n, name]),
);

export const isTerminal = (status: number): boolean => isTerminalStatus(status);

/** What a settlement credited (packages/sdk/src/job.ts). */
export type { Settlement };

/** One of a job's events, decoded (packages/sdk/src/history.ts). */
export type JobEvent = HistoryEvent;

export interface JobReport {
  /** The job's id: the hash of its record (`jobIdOf`), a 256-bit number. */
  id: bigint;
  /** The request number (1, 2, 3, …): the name a person reads. */
  nonce: bigint;
  modelId: bigint;
  mode: number;
  requester: string;
  fee: bigint;
  /** Status on chain now. */
  status: number;
  outcome?: number;
  worker?: string;
  /** The posted output (hex), if any. */
  output?: string;
  challenged: boolean;
  settlement?: Settlement;
  /** Block timestamps of the request and of the settlement. */
  requestedAt: number;
  settledAt?: number;
  /** Gas of the job's transactions; a transaction that served several jobs is split evenly between them. */
  gas: bigint;
  /** Transactions that touched the job. */
  transactions: number;
  /** The job's events in chain order. */
  events: readonly JobEvent[];
}

export type Slash = SlashView;

export interface ChainReport {
  jobs: JobReport[];
  /** StakeSlashed events of the staking contract. */
  slashes: Slash[];
}

/**
 * Every job of the deployment, in request order, with its events, gas and times: read through the SDK's
 * ProtocolHistory, as the explorer and `job:show` read them.
 */
export async function readJobs(provider: Provider, deployment: Deployment): Promise<ChainReport> {
  const history = await ProtocolHistory.connect(provider, deployment);
  await history.sync();
  const summaries = (await history.jobs()).reverse(); // request order (ids are hashes)
  const gas = await history.gasOf(summaries.map((j) => j.id));
  const jobs = summaries.map((j): JobReport => {
    const events = history.eventsOf(j.id);
    const submitted = events.find((e) => e.name === "ResultSubmitted");
    const settled = events.find((e) => e.name === "JobSettled");
    return {
      id: j.id,
      nonce: j.nonce,
      modelId: j.modelId,
      mode: VerificationMode[j.mode as keyof typeof VerificationMode],
      requester: j.requester,
      fee: j.fee,
      status: JobStatus[j.status as keyof typeof JobStatus],
      outcome: settled ? Number(settled.args.outcome) : undefined,
      worker: submitted ? String(submitted.args.worker) : undefined,
      output: submitted ? String(submitted.args.output) : undefined,
      challenged: j.challenged,
      settlement: settled && toSettlement(settled.args.settlement),
      requestedAt: j.requestedAt,
      settledAt: j.settledAt,
      gas: gas.get(j.id)!.gas,
      transactions: gas.get(j.id)!.transactions,
      events,
    };
  });
  return { jobs, slashes: await history.slashes() };
}

/** The job's posted output decoded, or undefined when there is none (or it does not decode). */
export function outputTensors(job: JobReport): Tensor[] | undefined {
  if (!job.output || job.output === "0x") return undefined;
  try {
    return decodeTensors(getBytes(job.output));
  } catch {
    return undefined;
  }
}

/** Totals credited by the settlements, by role. */
export interface Payouts {
  workers: bigint;
  modelOwners: bigint;
  treasury: bigint;
  verifiers: bigint;
  requesterRefunds: bigint;
  challengers: bigint;
  /** Taken from workers' stakes by settlements. */
  workerSlashes: bigint;
}

export function payouts(jobs: JobReport[]): Payouts {
  const p: Payouts = {
    workers: 0n,
    modelOwners: 0n,
    treasury: 0n,
    verifiers: 0n,
    requesterRefunds: 0n,
    challengers: 0n,
    workerSlashes: 0n,
  };
  for (const j of jobs) {
    const s = j.settlement;
    if (!s) continue;
    p.workers += s.workerPayment;
    p.modelOwners += s.royalty;
    p.treasury += s.treasuryPayment;
    p.verifiers += s.verifierReward * s.rewardedVerifiers;
    p.requesterRefunds += s.requesterRefund;
    p.challengers += s.challengerPayment;
    p.workerSlashes += s.slashed;
  }
  return p;
}

export interface Conservation {
  /** The escrow's token balance. */
  held: bigint;
  /** Fees of the jobs not settled yet. */
  openFees: bigint;
  /** Challenge bonds of optimistic jobs under vote. */
  bonds: bigint;
  /** Balances credited to `accounts`. */
  credited: bigint;
  ok: boolean;
}

/**
 * The escrow holds exactly the open jobs' fees, the bonds under vote and everything credited. `accounts` must
 * include every account that may have been credited (requesters, workers, verifiers, model owners, treasury).
 */
export async function conservation(
  escrow: JobEscrow,
  token: { balanceOf(a: string): Promise<bigint> },
  jobs: JobReport[],
  accounts: string[],
): Promise<Conservation> {
  let openFees = 0n;
  let bonds = 0n;
  for (const j of jobs) {
    const status = Number((await escrow.jobState(j.id)).status);
    if (isTerminal(status)) continue;
    openFees += j.fee;
    if (j.challenged) bonds += (await escrow.challengeOf(j.id)).bond;
  }
  let credited = 0n;
  for (const a of new Set(accounts.map((x) => x.toLowerCase()))) credited += await escrow.balanceOf(a);
  const held = await token.balanceOf(await escrow.getAddress());
  return { held, openFees, bonds, credited, ok: held === openFees + bonds + credited };
}
