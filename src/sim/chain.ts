/**
 * The simulation's chain: the real TrustML contracts deployed on Hardhat's in-process network (as
 * test/fixtures/protocol.ts deploys them: the escrow's libraries linked, default parameters), ten verifiers of equal
 * stake, one worker, one requester, and committee jobs driven in batches: requests mined together, one
 * `submitResults`, one `drawCommittees`, one `commitVotes` and one `revealVotes` per verifier, one `settleBatch`. Reveals open as soon
 * as every member has committed and a job is due once every member has revealed, so no time has to pass unless a
 * member stays silent (then the clock is moved past the commit and reveal windows). Each reveal passes its job's
 * sealed commitments, read from the VoteCommitted events of the commit transactions. Optimistic jobs can be run
 * the same way with a challenger, who challenges each one after the submission; its committee then votes.
 *
 * Everything reported is read back from the chain: JobSettled and VerifierPenalized events, credited escrow
 * balances and active stakes.
 */
import { ethers, network } from "hardhat";
import { deployCore, fundAccounts, stakeAccounts } from "../deploy/contracts";
import { toJob, toSettlement, type Settlement } from "../job";
import { sealInOrder, voteCommitment, type CommittedVote } from "../votes";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { parseEther, type BytesLike, type ContractTransactionResponse, type Log } from "ethers";
import type {
  IJobEscrow,
  JobEscrow,
  MockRandomness,
  ModelRegistry,
  TestToken,
  VerifierStaking,
} from "../../typechain-types";
import { VerificationMode } from "../params";
import { currentTerms, type JobTerms } from "../terms";

export type Job = IJobEscrow.JobStruct;

/** The fee of every simulated model (the test fixture's price). */
export const SIM_PRICE = parseEther("2");
/** Tolerances registered for the simulated models (the test fixture's): 1e-5 relative, 1e-6 absolute. */
export const SIM_TOLERANCE = { relTolerance: 10_000, absTolerance: 1000 };
/** Each verifier's stake: large against the 1-token vote penalty, so weights (and so collusion shares) stay equal. */
export const VERIFIER_STAKE = parseEther("10000");
const WORKER_STAKE = parseEther("1000000");
const FUNDS = parseEther("10000000");
const GAS = { request: 400_000, batch: 28_000_000 };

export interface World {
  token: TestToken;
  registry: ModelRegistry;
  staking: VerifierStaking;
  escrow: JobEscrow;
  randomness: MockRandomness;
  governance: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  modelOwner: HardhatEthersSigner;
  requester: HardhatEthersSigner;
  worker: HardhatEthersSigner;
  verifiers: HardhatEthersSigner[];
  /** Committee-mode model ids by committee size. */
  models: Map<number, bigint>;
  /** An Optimistic-mode model whose challenges draw a committee of 3. */
  optimistic: bigint;
  params: IJobEscrow.EscrowParamsStructOutput;
}

/** One job of a batch: its model, input, the output the worker posts and how each drawn member votes. */
export interface JobSpec {
  modelId: bigint;
  input: BytesLike;
  output: BytesLike;
  /**
   * Whether `member` (drawn onto this job's committee) votes agree, or `undefined` when it stays silent (never
   * commits); gets the job's tolerances from JobRequested.
   */
  vote(member: string, tolerance: { relTolerance: number; absTolerance: number }): boolean | undefined;
}

export interface BatchOptions {
  /** Challenges every job once it is submitted (the specs' models must be Optimistic): its committee is drawn. */
  challenger?: HardhatEthersSigner;
}

/** What the chain says about one settled job: its settlement, and who voted and lost what. */
export interface JobResult extends Settlement {
  id: bigint;
  committee: string[];
  outcome: number;
  /** Vote penalties of this job: verifier address → amount slashed. */
  penalties: Map<string, bigint>;
}

/** Deploys the suite, stakes the worker and `verifierCount` verifiers equally, registers committee models. */
export async function deployWorld(committeeSizes: number[], verifierCount = 10): Promise<World> {
  const signers = await ethers.getSigners();
  if (signers.length < 5 + verifierCount) throw new Error(`need ${5 + verifierCount} accounts`);
  const [governance, treasury, modelOwner, requester, worker] = signers;
  const verifiers = signers.slice(5, 5 + verifierCount);

  const token = await ethers.deployContract("TestToken", [governance.address]);
  const { registry, staking, randomness, escrow } = await deployCore(token, {
    governance,
    treasury: treasury.address,
  });
  await fundAccounts(token, governance, { escrow, staking }, [requester, worker, ...verifiers], FUNDS);
  await stakeAccounts(
    staking,
    [{ account: worker, stake: WORKER_STAKE }],
    verifiers.map((account) => ({ account, stake: VERIFIER_STAKE })),
  );
  const models = new Map<number, bigint>();
  for (const size of committeeSizes) {
    await registry.connect(modelOwner).registerModel(
      ethers.sha256(ethers.toUtf8Bytes(`sim model, committee ${size}`)),
      "ipfs://sim",
      {
        price: SIM_PRICE,
        mode: VerificationMode.Committee,
        committeeSize: size,
        royaltyBps: 500,
        ...SIM_TOLERANCE,
      },
      ethers.ZeroHash,
      "0x",
    );
    models.set(size, await registry.modelCount());
  }
  await registry.connect(modelOwner).registerModel(
    ethers.sha256(ethers.toUtf8Bytes("sim model, optimistic")),
    "ipfs://sim",
    {
      price: SIM_PRICE,
      mode: VerificationMode.Optimistic,
      committeeSize: 3,
      royaltyBps: 500,
      ...SIM_TOLERANCE,
    },
    ethers.ZeroHash,
    "0x",
  );
  const optimistic = await registry.modelCount();
  return {
    token,
    registry,
    staking,
    escrow,
    randomness,
    governance,
    treasury,
    modelOwner,
    requester,
    worker,
    verifiers,
    models,
    optimistic,
    params: await escrow.params(),
  };
}

/** An EVM snapshot to return to (each row of the sweep starts from the freshly deployed world). */
export async function snapshot(): Promise<string> {
  return network.provider.send("evm_snapshot", []);
}

export async function revert(id: string): Promise<void> {
  if (!(await network.provider.send("evm_revert", [id]))) throw new Error(`evm_revert ${id} failed`);
}

/** Credited escrow balance plus active stake of each account: what it owns inside the protocol. */
export async function holdings(world: World, accounts: string[]): Promise<bigint[]> {
  return Promise.all(
    accounts.map(async (a) => (await world.escrow.balanceOf(a)) + (await world.staking.accountOf(a)).active),
  );
}

const salt = (jobId: bigint, verifier: string): string =>
  ethers.solidityPackedKeccak256(["string", "uint256", "address"], ["sim salt", jobId, verifier]);

async function logsOf(tx: ContractTransactionResponse | string): Promise<readonly Log[]> {
  const hash = typeof tx === "string" ? tx : tx.hash;
  const receipt = await ethers.provider.getTransactionReceipt(hash);
  if (!receipt) throw new Error(`no receipt for ${hash}`);
  if (receipt.status !== 1) throw new Error(`transaction ${hash} reverted`);
  return receipt.logs;
}

/** Mines the next block at `timestamp`. */
async function mineAt(timestamp: bigint): Promise<void> {
  await network.provider.send("evm_mine", [Number(timestamp)]);
}

/**
 * Runs `specs` as committee jobs through the real escrow (or as challenged optimistic jobs, with
 * `opts.challenger`): requests (mined in one block), one submitResults, one challenge per job when challenged,
 * one drawCommittees, commitVotes and revealVotes per verifier, one settleBatch. Returns each job's settlement as emitted.
 */
export async function runBatch(world: World, specs: JobSpec[], opts: BatchOptions = {}): Promise<JobResult[]> {
  const { escrow } = world;
  const deadline = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) + 86_400n;

  // Requests: sent without mining, then mined together.
  await network.provider.send("evm_setAutomine", [false]);
  const hashes: string[] = [];
  const termsOf = new Map<bigint, JobTerms>();
  for (const spec of specs) {
    if (!termsOf.has(spec.modelId)) termsOf.set(spec.modelId, await currentTerms(world.registry, spec.modelId));
  }
  try {
    for (const spec of specs) {
      const tx = await escrow
        .connect(world.requester)
        .requestInference(spec.modelId, termsOf.get(spec.modelId)!, spec.input, deadline, 0, { gasLimit: GAS.request });
      hashes.push(tx.hash);
    }
    await network.provider.send("evm_mine", []);
  } finally {
    await network.provider.send("evm_setAutomine", [true]);
  }
  const jobs: Job[] = [];
  const tolerances: { relTolerance: number; absTolerance: number }[] = [];
  for (const hash of hashes) {
    for (const log of await logsOf(hash)) {
      const parsed = escrow.interface.parseLog(log);
      if (parsed?.name !== "JobRequested") continue;
      jobs.push(toJob(parsed.args.job));
      tolerances.push({
        relTolerance: Number(parsed.args.relTolerance),
        absTolerance: Number(parsed.args.absTolerance),
      });
    }
  }
  if (jobs.length !== specs.length) throw new Error(`requested ${specs.length} jobs, ${jobs.length} emitted`);

  // Submission (or the challenge) asks for each committee's seed; the next block has it, and one drawCommittees
  // draws them all.
  await escrow.connect(world.worker).submitResults(
    jobs,
    specs.map((s) => s.output),
    { gasLimit: GAS.batch },
  );
  if (opts.challenger) {
    for (const job of jobs) await escrow.connect(opts.challenger).challenge(job, { gasLimit: GAS.request });
  }
  const drawn = await escrow.connect(world.worker).drawCommittees(jobs, { gasLimit: GAS.batch });
  const committees = new Map<bigint, string[]>();
  let commitEnd = 0n;
  let revealEnd = 0n;
  for (const log of await logsOf(drawn)) {
    const parsed = escrow.interface.parseLog(log);
    if (parsed?.name !== "CommitteeDrawn") continue;
    committees.set(parsed.args.jobId, [...parsed.args.committee]);
    if (parsed.args.commitEnd > commitEnd) commitEnd = parsed.args.commitEnd;
    if (parsed.args.revealEnd > revealEnd) revealEnd = parsed.args.revealEnd;
  }

  // Each verifier decides, commits its votes in one transaction, then (once all have committed, or the commit
  // window is over) reveals them.
  let silent = false;
  const ballots = new Map<string, { ids: bigint[]; seats: number[]; agrees: boolean[]; salts: string[] }>();
  jobs.forEach((job, i) => {
    const id = BigInt(job.id);
    const members = committees.get(id);
    if (!members) throw new Error(`job ${id}: no committee drawn`);
    members.forEach((member, seat) => {
      const agree = specs[i].vote(member, tolerances[i]);
      if (agree === undefined) {
        silent = true;
        return;
      }
      const b = ballots.get(member) ?? { ids: [], seats: [], agrees: [], salts: [] };
      b.ids.push(id);
      b.seats.push(seat);
      b.agrees.push(agree);
      b.salts.push(salt(id, member));
      ballots.set(member, b);
    });
  });
  const signerOf = (address: string): HardhatEthersSigner => {
    const s = world.verifiers.find((v) => v.address === address);
    if (!s) throw new Error(`${address} is not a simulated verifier`);
    return s;
  };
  const committed = new Map<bigint, CommittedVote[]>();
  for (const [member, b] of ballots) {
    const commitments = b.ids.map((id, k) => voteCommitment(id, member, b.agrees[k], b.salts[k]));
    const tx = await escrow.connect(signerOf(member)).commitVotes(b.ids, b.seats, commitments, { gasLimit: GAS.batch });
    for (const log of await logsOf(tx)) {
      const parsed = escrow.interface.parseLog(log);
      if (parsed?.name !== "VoteCommitted") continue;
      const votes = committed.get(parsed.args.jobId) ?? [];
      votes.push({
        seat: parsed.args.seat,
        commitment: parsed.args.commitment,
        blockNumber: log.blockNumber,
        index: log.index,
      });
      committed.set(parsed.args.jobId, votes);
    }
  }
  const sealed = new Map([...committed].map(([id, votes]) => [id, sealInOrder(votes)]));
  if (silent) await mineAt(commitEnd + 1n);
  for (const [member, b] of ballots) {
    await escrow.connect(signerOf(member)).revealVotes(
      b.ids,
      b.seats,
      b.agrees,
      b.salts,
      b.ids.map((id) => sealed.get(id)!),
      { gasLimit: GAS.batch },
    );
  }

  // Every member revealed (every job is due now), or the reveal window is over.
  if (silent) await mineAt(revealEnd + 1n);
  const settled = await escrow.connect(world.worker).settleBatch(
    jobs,
    jobs.map(() => "0x"),
    { gasLimit: GAS.batch },
  );
  const results = new Map<bigint, JobResult>();
  const penalties: { id: bigint; verifier: string; amount: bigint }[] = [];
  for (const log of await logsOf(settled)) {
    const parsed = escrow.interface.parseLog(log);
    if (parsed?.name === "JobSettled") {
      const id: bigint = parsed.args.jobId;
      results.set(id, {
        id,
        committee: committees.get(id)!,
        outcome: Number(parsed.args.outcome),
        ...toSettlement(parsed.args.settlement),
        penalties: new Map(),
      });
    } else if (parsed?.name === "VerifierPenalized") {
      penalties.push({ id: parsed.args.jobId, verifier: parsed.args.verifier, amount: parsed.args.amount });
    }
  }
  for (const p of penalties) results.get(p.id)!.penalties.set(p.verifier, p.amount);
  return jobs.map((job) => {
    const r = results.get(BigInt(job.id));
    if (!r) throw new Error(`job ${job.id} was not settled`);
    return r;
  });
}
