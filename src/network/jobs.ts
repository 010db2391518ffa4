/**
 * What happened to each job, from the chain alone: the escrow's events grouped by job, the gas of every
 * transaction that touched it, the time from request to settlement, the payouts and slashes; and the escrow's
 * conservation check. Used by the demo's table and summary and by the end-to-end test.
 */
import { getBytes, type Log, type LogDescription, type Provider } from "ethers";
import { LogReader } from "../../packages/sdk/src/events";
import { toSettlement, type Settlement } from "../../packages/sdk/src/job";
import type { JobEscrow, VerifierStaking } from "../../typechain-types";
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

export interface JobEvent {
  name: string;
  args: LogDescription["args"];
  log: Log;
}

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
  events: JobEvent[];
}

export interface Slash {
  account: string;
  recipient: string;
  amount: bigint;
  transactionHash: string;
}

export interface ChainReport {
  jobs: JobReport[];
  /** StakeSlashed events of the staking contract. */
  slashes: Slash[];
}

async function allLogs(provider: Provider, address: string, fromBlock: number): Promise<Log[]> {
  return new LogReader(provider).logs({ address }, fromBlock);
}

/** Every job of the escrow requested from `fromBlock` on, in request order, with its events, gas and times. */
export async function readJobs(
  provider: Provider,
  escrow: JobEscrow,
  staking: VerifierStaking,
  fromBlock: number,
): Promise<ChainReport> {
  const escrowAddress = await escrow.getAddress();
  const byJob = new Map<bigint, JobEvent[]>();
  const jobsOfTx = new Map<string, Set<bigint>>();
  for (const log of await allLogs(provider, escrowAddress, fromBlock)) {
    const parsed = escrow.interface.parseLog(log);
    if (!parsed || !parsed.fragment.inputs.length || parsed.fragment.inputs[0].name !== "jobId") continue;
    const id = parsed.args[0] as bigint;
    if (!byJob.has(id)) byJob.set(id, []);
    byJob.get(id)!.push({ name: parsed.name, args: parsed.args, log });
    if (!jobsOfTx.has(log.transactionHash)) jobsOfTx.set(log.transactionHash, new Set());
    jobsOfTx.get(log.transactionHash)!.add(id);
  }
  const gasOf = new Map<string, bigint>();
  await Promise.all(
    [...jobsOfTx.keys()].map(async (hash) => {
      const receipt = await provider.getTransactionReceipt(hash);
      gasOf.set(hash, receipt?.gasUsed ?? 0n);
    }),
  );
  const timeOf = new Map<number, number>();
  const blockTime = async (n: number) => {
    if (!timeOf.has(n)) timeOf.set(n, (await provider.getBlock(n))!.timestamp);
    return timeOf.get(n)!;
  };

  const jobs: JobReport[] = [];
  for (const [id, events] of byJob) {
    const requested = events.find((e) => e.name === "JobRequested");
    if (!requested) continue; // requested before fromBlock
    const job = requested.args.job;
    const submitted = events.find((e) => e.name === "ResultSubmitted");
    const settled = events.find((e) => e.name === "JobSettled");
    const hashes = new Set(events.map((e) => e.log.transactionHash));
    let gas = 0n;
    for (const h of hashes) gas += gasOf.get(h)! / BigInt(jobsOfTx.get(h)!.size);
    const s = settled?.args.settlement;
    jobs.push({
      id,
      nonce: job.nonce as bigint,
      modelId: job.modelId as bigint,
      mode: Number(job.mode),
      requester: String(job.requester),
      fee: job.fee as bigint,
      status: Number((await escrow.jobState(id)).status),
      outcome: settled ? Number(settled.args.outcome) : undefined,
      worker: submitted ? String(submitted.args.worker) : undefined,
      output: submitted ? String(submitted.args.output) : undefined,
      challenged: events.some((e) => e.name === "ResultChallenged"),
      settlement: s && toSettlement(s),
      requestedAt: await blockTime(requested.log.blockNumber),
      settledAt: settled ? await blockTime(settled.log.blockNumber) : undefined,
      gas,
      transactions: hashes.size,
      events,
    });
  }

  jobs.sort((a, b) => (a.nonce < b.nonce ? -1 : 1)); // request order (ids are hashes)

  const slashes: Slash[] = [];
  for (const log of await allLogs(provider, await staking.getAddress(), fromBlock)) {
    const parsed = staking.interface.parseLog(log);
    if (parsed?.name !== "StakeSlashed") continue;
    slashes.push({
      account: String(parsed.args.account),
      recipient: String(parsed.args.recipient),
      amount: parsed.args.amount as bigint,
      transactionHash: log.transactionHash,
    });
  }
  return { jobs, slashes };
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
