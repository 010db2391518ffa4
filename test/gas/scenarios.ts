/**
 * The named gas figures of TrustML, measured on Hardhat's in-process network.
 *
 * Used by `npm run gas` (scripts/gas.ts, which rewrites gas/figures.json) and by test/gas.test.ts (which fails
 * when a figure moves more than 2% from that file). Both call `measureGasFigures()` below, so they measure
 * exactly the same thing.
 *
 * Determinism. The measurement runs in an `evm_snapshot` that is reverted at the end, so it neither sees nor
 * leaves state of other tests. Every account is a fixed address derived from a label and impersonated, so
 * contract addresses (deployer nonce 0) and every calldata byte are the same on every run whatever ran before.
 * The chain clock is moved to T0 and every job has the same fixed deadline, so no timestamp reaches calldata.
 * Committees come from MockRandomness with a fixed seed and the job's id, which hashes in the escrow's address;
 * the escrow's libraries are deployed from an account of their own, so that address does not depend on how many
 * there are. The transactions run in one fixed sequence.
 *
 * Steady state. Before anything is measured, a warm-up runs one job of each kind (None claimed then submitted,
 * None claimed in the submission, Optimistic settled after its window and one challenged, Committee of 3
 * rejected) and committee-of-3 jobs accepted until every verifier has been credited, then the worker
 * withdraws once and works again. So the escrow's token balance, its job counter and the escrow balances of
 * worker, requester, model owner, treasury and every verifier are already non-zero: the figures are what the
 * n-th job costs, not the first (no zero-to-non-zero storage writes except the ones every new job makes).
 * The requester's balance is then its compensation for the rejected job, less than a fee (checked): its requests
 * pull their fee with transferFrom, as an account that never deposited does, while its word stays non-zero. A
 * second requester, the depositor, deposits a thousand fees and requests once, at the end; the figures marked
 * "from a deposit" are its requests, whose fee comes out of that balance.
 *
 * What a figure is: the `gasUsed` of the transaction's receipt (intrinsic 21,000 and calldata included,
 * refunds deducted), except:
 * - "drawCommittee (N verifiers)": the gas a contract spends on one external call
 *   `staking.drawCommittee(seed, 3, [])` (cold staking address, the draw, decoding the committee), measured
 *   by contracts/mocks/DrawGasProbe.sol as the `gasleft()` difference around the call, through eth_call.
 *   No intrinsic or calldata gas. The N verifiers hold equal stakes. The 10-verifier figure is taken on the
 *   set every job figure runs with; 90 and then 900 verifiers are added afterwards.
 * - "proveFraud (a neuron of N inputs): calldata": the calldata share of the proveFraud receipt above it, by
 *   EIP-2028's prices (16 gas a non-zero byte, 4 a zero byte): what the proof's bytes cost, the rest being the
 *   judge, the conviction and the credits.
 * - "job total: ...": the sum of the receipts of the transactions named in brackets, of one job measured
 *   here (every commit and reveal counted, not three times the first); the Proven total adds a tenth of the
 *   settleBatch of ten.
 * Job figures run on a verifier set of 10 (tree height 4), inputs of 64 bytes, outputs of 64 bytes, no
 * callback, the default escrow parameters of packages/sdk/src/params.ts. Proven jobs, measured last, run a 64 → 64 → 64
 * profile model: an input of 64 int8 values (a TML1 tensor of 93 bytes) and a posted output of the 64 output and
 * 64 hidden values (184 bytes); the proveFraud figures convict neuron 0 of layer 2 of a width → width → width → 2
 * model, whose posted output is one trace of 2·width + 2 values. A None job has no settle of its own: its
 * submission settles it. Figures that draw a committee depend on which verifiers are drawn (tree nodes shared
 * by two drawn paths are read warm), by about 1% between seeds; with the fixed seed they are exact.
 */
import { ethers, network } from "hardhat";
import { toJob } from "../../packages/sdk/src/job";
import { sealCommitment, voteCommitment } from "../../packages/sdk/src/votes";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse } from "ethers";
import {
  DrawGasProbe__factory,
  MockRandomness__factory,
  ModelRegistry__factory,
  TestToken__factory,
  VerifierStaking__factory,
  type IJobEscrow,
  type JobEscrow,
} from "../../typechain-types";
import { DEFAULT_ESCROW_PARAMS, DEFAULT_MIN_VERIFIER_STAKE, VerificationMode } from "../../packages/sdk/src/params";
import { currentTerms } from "../../packages/sdk/src/terms";
import { deployEscrowLibraries } from "../../src/deploy/contracts";
import {
  WeightsTree,
  encodeEvidence,
  encodeProvenInput,
  runReference,
  traceOf,
  type DenseLayer,
} from "../../src/proven";
import { randomInt8, seededRandom } from "../fixtures/proven";
import { encodeSignature } from "../../packages/sdk/src/signature";

export type Figures = Record<string, number>;

/** Names of the job totals, and the most gas each may use (the budget). */
export const TOTAL_NONE = "job total: None (request + claim + submit)";
export const TOTAL_NONE_SAME_TX = "job total: None (request + submit claiming in same tx)";
export const TOTAL_NONE_DEPOSIT = "job total: None paid from a deposit (request + submit claiming in same tx)";
export const TOTAL_COMMITTEE = "job total: Committee of 3 (request + submit + draw + 3 commits + 3 reveals + settle)";
export const TOTAL_COMMITTEE_BATCHED = `job total: Committee of 3, per job of ${10} (batched submit, draw, votes, settle)`;
export const TOTAL_PROVEN = `job total: Proven (request + submit claiming in same tx + a share of settleBatch of ${10})`;
/** The name of proveFraud's figure for a neuron of `width` inputs, and of its calldata's share. */
export const proveFraudFigure = (width: number) => `proveFraud (a neuron of ${width} inputs)`;
export const proveFraudCalldataFigure = (width: number) => `proveFraud (a neuron of ${width} inputs): calldata`;
/**
 * The budgets: a vanilla job under 250k, a committee-of-3 job with every commit and reveal under 700k. Both hold
 * one action per transaction: a None job requested, claimed and submitted in three transactions (its
 * submission settles it), and a committee job requested, submitted (claiming it in the same transaction, as
 * PROTOCOL.md has workers do), drawn, committed and revealed by each of its three verifiers in transactions of
 * their own, and settled. The committee budget was 650k until draws became lazy: the draw, from a seed that did
 * not exist at the submission, is a transaction of its own (its 21,000 base cost and cold reads of the staking
 * contract, the library, the sum tree and the job's state), which one job alone pays in full; the submission no
 * longer draws and the commits no longer create the vote word. It was 700k until a seated committee was counted
 * open in the staking contract until it settles (so that stake that could owe its penalties waits for it): about
 * 8,000 more at the draw (the escrow's role checked, the day's counter written) and 7,000 at the settlement. The
 * faster paths are held tighter: a None job
 * claimed in its submission under 200k (with the request's terms check), and committee jobs run ten at a time
 * with batched calls (one drawCommittees for the ten) no dearer than they were before the terms check and the
 * model owner's exclusion from draws (436,290).
 */
export const LIMITS: Record<string, number> = {
  [TOTAL_NONE]: 250_000,
  [TOTAL_NONE_SAME_TX]: 200_000,
  // Issue 10's target for prepaid requests: the fee taken from the requester's deposit, no token transfer.
  [TOTAL_NONE_DEPOSIT]: 160_000,
  [TOTAL_COMMITTEE]: 715_000,
  [TOTAL_COMMITTEE_BATCHED]: 436_290,
  // Issue 9's targets for the Proven mode: a job (64 int8 inputs and outputs) under 220k, against about 375k for a
  // Chainlink Functions request and fulfilment; one fraud proof under 300k at a layer width of 256, 1M at 1,024.
  [TOTAL_PROVEN]: 220_000,
  [proveFraudFigure(256)]: 300_000,
  [proveFraudFigure(1024)]: 1_000_000,
};

/** How far a figure may move from gas/figures.json before test/gas.test.ts fails. */
export const TOLERANCE = 0.02;

/** Verifier set sizes the committee draw is measured on. */
export const DRAW_SIZES = [10, 100, 1000] as const;

/** Input widths of the layer whose neuron the Proven mode's fraud proofs convict. */
export const JUDGE_WIDTHS = [64, 256, 1024] as const;
/** The Proven job of the job total: 64 int8 inputs, a hidden layer of 64, 64 int8 outputs. */
const PROVEN_WIDTHS = [64, 64, 64] as const;

const T0 = 4_000_000_000; // chain time during the measurement (2096-10-02)
const B0 = 10_000_000; // block number from which the measurement runs
const DEADLINE = T0 + 6 * 24 * 3600; // every job's deadline, within maxJobDuration (7 days) of T0
const SEED = ethers.id("trustml gas seed");
const PRICE = ethers.parseEther("2");
const FUNDS = ethers.parseEther("1000000");
const VERIFIER_STAKE = ethers.parseEther("100");
const WORKER_STAKE = ethers.parseEther("10000");
const INPUT = "0x" + "a5".repeat(64);
const OUTPUT = "0x" + "5a".repeat(64);
const WRONG_OUTPUT = "0x" + "3c".repeat(64);
const MODEL_URI = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
const ETH = ethers.toQuantity(ethers.parseEther("1000000"));
const BATCH = 10;

/** A seeded profile model of the given widths (the same on every run): ReLU layers, requantized by 2^-12. */
function provenLayers(widths: readonly number[]): DenseLayer[] {
  const random = seededRandom(widths.reduce((a, b) => a * 31 + b, 7));
  return widths.slice(1).map((nOut, k) => ({
    nIn: widths[k],
    nOut,
    weights: randomInt8(random, widths[k] * nOut),
    bias: new Int32Array(nOut),
    multiplier: 1,
    shift: 12,
    activation: "relu",
  }));
}

/** Gas of a transaction's calldata (EIP-2028: 16 per non-zero byte, 4 per zero byte). */
function calldataGas(data: string): number {
  const bytes = ethers.getBytes(data);
  return bytes.reduce((gas, b) => gas + (b === 0 ? 4 : 16), 0);
}

/** A fixed address for `label`, the same on every run. */
function addressOf(label: string): string {
  return ethers.getAddress(ethers.dataSlice(ethers.id(`trustml.gas.${label}`), 12));
}

async function rpc(method: string, params: unknown[] = []): Promise<unknown> {
  return network.provider.request({ method, params });
}

async function actor(label: string): Promise<HardhatEthersSigner> {
  const address = addressOf(label);
  await rpc("hardhat_setBalance", [address, ETH]);
  return ethers.getImpersonatedSigner(address);
}

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<number> {
  const receipt = await (await tx).wait();
  if (receipt === null || receipt.status !== 1) throw new Error("gas scenario: transaction failed");
  return Number(receipt.gasUsed);
}

/**
 * Deploys a fresh protocol inside a snapshot, runs the fixed sequence and returns every named figure in the
 * order measured. Takes about 10 seconds, most of them adding 990 verifiers for the draw figures (measured: 8.6 of
 * 10.3 s).
 */
export async function measureGasFigures(): Promise<Figures> {
  const snapshot = await rpc("evm_snapshot");
  try {
    return await run();
  } finally {
    await rpc("evm_revert", [snapshot]);
  }
}

async function run(): Promise<Figures> {
  const figures: Figures = {};
  const record = (name: string, gas: number): number => {
    if (name in figures) throw new Error(`gas scenario: figure "${name}" measured twice`);
    figures[name] = gas;
    return gas;
  };

  // ------------------------------------------------------------------ deployment (not measured)
  const governance = await actor("governance");
  const treasury = await actor("treasury");
  const modelOwner = await actor("modelOwner");
  const requester = await actor("requester");
  const depositor = await actor("depositor");
  const worker = await actor("worker");
  const verifiers: HardhatEthersSigner[] = [];
  for (let i = 0; i < DRAW_SIZES[0]; i++) verifiers.push(await actor(`verifier.${i}`));
  const challenger = verifiers[DRAW_SIZES[0] - 1];

  const token = await new TestToken__factory(governance).deploy(governance.address);
  const registry = await new ModelRegistry__factory(governance).deploy();
  const staking = await new VerifierStaking__factory(governance).deploy(
    token,
    governance.address,
    DEFAULT_MIN_VERIFIER_STAKE,
  );
  const randomness = await new MockRandomness__factory(governance).deploy();
  await (await randomness.setSeed(SEED)).wait();
  // The escrow's libraries come from an account of their own, so that moving code into or out of a library
  // leaves the escrow's address, and with it every job id and committee draw, as it was.
  const libraries = await deployEscrowLibraries(await actor("libraries"));
  const escrowFactory = await ethers.getContractFactory("JobEscrow", { signer: governance, libraries });
  const escrow = (await escrowFactory.deploy(
    token,
    registry,
    staking,
    randomness,
    treasury.address,
    governance.address,
    DEFAULT_ESCROW_PARAMS,
  )) as unknown as JobEscrow;
  const probe = await new DrawGasProbe__factory(governance).deploy();
  await (await staking.grantRole(await staking.ESCROW_ROLE(), escrow)).wait();

  for (const account of [requester, depositor, worker, ...verifiers]) {
    await (await token.mint(account.address, FUNDS)).wait();
    await (await token.connect(account).approve(escrow, ethers.MaxUint256)).wait();
    await (await token.connect(account).approve(staking, ethers.MaxUint256)).wait();
  }
  await (await staking.connect(worker).stake(WORKER_STAKE)).wait();
  for (const verifier of verifiers) {
    await (await staking.connect(verifier).stake(VERIFIER_STAKE)).wait();
    await (await staking.connect(verifier).setVerifier(true)).wait();
  }

  const terms = (mode: number) => ({
    price: PRICE,
    mode,
    committeeSize: 3,
    royaltyBps: 500,
    relTolerance: 10_000,
    absTolerance: 1000,
  });
  let models = 0;
  const register = (mode: number) =>
    registry
      .connect(modelOwner)
      .registerModel(
        ethers.sha256(ethers.toUtf8Bytes(`model ${++models}`)),
        MODEL_URI,
        terms(mode),
        ethers.ZeroHash,
        "0x",
      );
  await (await register(VerificationMode.None)).wait();
  await (await register(VerificationMode.Optimistic)).wait();
  await (await register(VerificationMode.Committee)).wait();
  const NONE = 1n;
  const OPTIMISTIC = 2n;
  const COMMITTEE = 3n;

  const latest = (await ethers.provider.getBlock("latest"))!;
  if (latest.timestamp >= T0) throw new Error(`gas scenario: chain time ${latest.timestamp} is past T0 ${T0}`);
  // Randomness tickets are block numbers: the same block numbers on every run, whatever ran before.
  if (latest.number >= B0) throw new Error(`gas scenario: block ${latest.number} is past B0 ${B0}`);
  await rpc("hardhat_mine", [ethers.toQuantity(B0 - latest.number)]);
  await rpc("evm_setNextBlockTimestamp", [T0]);
  await rpc("evm_mine");

  // ------------------------------------------------------------------ job helpers
  const bySigner = new Map(verifiers.map((v) => [v.address, v]));
  type Step = { job: IJobEscrow.JobStruct; gas: number };

  const request = async (
    modelId: bigint,
    input: string | Uint8Array = INPUT,
    from: HardhatEthersSigner = requester,
  ): Promise<Step> => {
    const receipt = await (
      await escrow.connect(from).requestInference(modelId, await currentTerms(registry, modelId), input, DEADLINE, 0)
    ).wait();
    if (receipt === null || receipt.status !== 1) throw new Error("gas scenario: request failed");
    for (const log of receipt.logs) {
      const parsed = escrow.interface.parseLog(log);
      if (parsed?.name === "JobRequested") return { job: toJob(parsed.args.job), gas: Number(receipt.gasUsed) };
    }
    throw new Error("gas scenario: no JobRequested");
  };
  const requestMany = async (modelId: bigint, n: number): Promise<IJobEscrow.JobStruct[]> => {
    const jobs: IJobEscrow.JobStruct[] = [];
    for (let i = 0; i < n; i++) jobs.push((await request(modelId)).job);
    return jobs;
  };
  const advancePast = async (seconds: number) => {
    await rpc("evm_increaseTime", [seconds + 1]);
    await rpc("evm_mine");
  };
  /** Every seat commits, then every seat reveals `agree`; returns the gas of each, in seat order. */
  const vote = async (job: IJobEscrow.JobStruct, agree: boolean) => {
    const seats = await escrow.committee(job.id);
    const commits: number[] = [];
    const reveals: number[] = [];
    const sealed: string[] = [];
    for (const [index, seat] of seats.entries()) {
      const verifier = bySigner.get(seat.verifier)!;
      const salt = ethers.id(`salt ${job.id} ${seat.verifier}`);
      const commitment = voteCommitment(job.id, seat.verifier, agree, salt);
      commits.push(await gasOf(escrow.connect(verifier).commitVote(job.id, index, commitment)));
      sealed.push(sealCommitment(index, commitment));
    }
    for (const [index, seat] of seats.entries()) {
      const salt = ethers.id(`salt ${job.id} ${seat.verifier}`);
      const verifier = bySigner.get(seat.verifier)!;
      reveals.push(await gasOf(escrow.connect(verifier).revealVote(job.id, index, agree, salt, sealed)));
    }
    return { commits, reveals };
  };
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const settle = (job: IJobEscrow.JobStruct) => escrow.connect(requester).settle(job, "0x");
  /** Draws the committees of jobs in Drawing (the worker does, as its service would); MockRandomness's seed of
   * a ticket exists from the block after it, so this must not run in the requesting transaction's block. */
  const draw = (jobs: IJobEscrow.JobStruct[]) => escrow.connect(worker).drawCommittees(jobs);

  // ------------------------------------------------------------------ warm-up (not measured)
  {
    const none = (await request(NONE)).job;
    await gasOf(escrow.connect(worker).claim(none));
    await gasOf(escrow.connect(worker).submitResult(none, OUTPUT));
    await gasOf(escrow.connect(worker).withdraw());
    await gasOf(escrow.connect(worker).submitResult((await request(NONE)).job, OUTPUT));

    const optimistic = (await request(OPTIMISTIC)).job;
    await gasOf(escrow.connect(worker).claim(optimistic));
    await gasOf(escrow.connect(worker).submitResult(optimistic, OUTPUT));
    const challenged = (await request(OPTIMISTIC)).job;
    await gasOf(escrow.connect(worker).submitResult(challenged, OUTPUT));
    await gasOf(escrow.connect(challenger).challenge(challenged));
    await gasOf(draw([challenged]));
    await advancePast(DEFAULT_ESCROW_PARAMS.challengeWindow);
    await gasOf(settle(optimistic));

    const rejected = (await request(COMMITTEE)).job;
    await gasOf(escrow.connect(worker).submitResult(rejected, WRONG_OUTPUT));
    await gasOf(draw([rejected]));
    await vote(rejected, false);
    await gasOf(settle(rejected));

    for (let round = 0; ; round++) {
      const balances = await Promise.all(verifiers.map((v) => escrow.balanceOf(v.address)));
      if (balances.every((b) => b > 0n)) break;
      if (round === 30) throw new Error("gas scenario: warm-up did not credit every verifier");
      const accepted = (await request(COMMITTEE)).job;
      await gasOf(escrow.connect(worker).submitResult(accepted, OUTPUT));
      await gasOf(draw([accepted]));
      await vote(accepted, true);
      await gasOf(settle(accepted));
    }

    // The requester's refund of the rejected job paid the fee of the next request; what is left (its compensation)
    // is less than a fee, so its measured requests pull their fee with transferFrom.
    const left = await escrow.balanceOf(requester.address);
    if (left === 0n || left >= PRICE)
      throw new Error(`gas scenario: the requester's balance ${left} is not below a fee`);
  }

  // ------------------------------------------------------------------ measured
  record("registerModel", await gasOf(register(VerificationMode.Committee)));
  record("stake (verifier adds to its stake)", await gasOf(staking.connect(verifiers[0]).stake(VERIFIER_STAKE)));

  // None: request, claim, submit (settles in the submission).
  const none = await request(NONE);
  record("requestInference", none.gas);
  const claimGas = record("claim", await gasOf(escrow.connect(worker).claim(none.job)));
  const noneSubmit = record(
    "submitResult (None, settles)",
    await gasOf(escrow.connect(worker).submitResult(none.job, OUTPUT)),
  );

  // None, claimed in the submission.
  const noneSameTx = await request(NONE);
  const noneSameTxSubmit = record(
    "submitResult (claims in same tx, None)",
    await gasOf(escrow.connect(worker).submitResult(noneSameTx.job, OUTPUT)),
  );
  const batchNone = await requestMany(NONE, BATCH);
  record(
    `submitResults (batch of ${BATCH}, None, claims in same tx)`,
    await gasOf(
      escrow.connect(worker).submitResults(
        batchNone,
        batchNone.map(() => OUTPUT),
      ),
    ),
  );

  // Optimistic: submit, challenge, then settle one and a batch after the challenge window.
  const optimistic = (await request(OPTIMISTIC)).job;
  await gasOf(escrow.connect(worker).claim(optimistic));
  record("submitResult (Optimistic)", await gasOf(escrow.connect(worker).submitResult(optimistic, OUTPUT)));
  const challenged = (await request(OPTIMISTIC)).job;
  await gasOf(escrow.connect(worker).submitResult(challenged, OUTPUT));
  record("challenge (asks for the committee's seed)", await gasOf(escrow.connect(challenger).challenge(challenged)));
  record("drawCommittees (1 challenged job, committee of 3)", await gasOf(draw([challenged])));
  const batchOptimistic = await requestMany(OPTIMISTIC, BATCH);
  await gasOf(
    escrow.connect(worker).submitResults(
      batchOptimistic,
      batchOptimistic.map(() => OUTPUT),
    ),
  );
  await advancePast(DEFAULT_ESCROW_PARAMS.challengeWindow);
  record("settle (Optimistic, unchallenged)", await gasOf(settle(optimistic)));
  record(
    `settleBatch (${BATCH} Optimistic)`,
    await gasOf(
      escrow.connect(requester).settleBatch(
        batchOptimistic,
        batchOptimistic.map(() => "0x"),
      ),
    ),
  );

  // Committee of 3, accepted: submit (claims and asks for the seed), draw, 3 commits, 3 reveals, settle.
  const committee = await request(COMMITTEE);
  const committeeSubmit = record(
    "submitResult (Committee of 3, claims in same tx, asks for the seed)",
    await gasOf(escrow.connect(worker).submitResult(committee.job, OUTPUT)),
  );
  const committeeDraw = record("drawCommittees (1 job, committee of 3)", await gasOf(draw([committee.job])));
  const votes = await vote(committee.job, true);
  record("commitVote", votes.commits[0]);
  record("revealVote", votes.reveals[0]);
  const committeeSettle = record("settle (Committee of 3, accepted)", await gasOf(settle(committee.job)));

  // Committee of 3, rejected.
  const rejected = (await request(COMMITTEE)).job;
  await gasOf(escrow.connect(worker).submitResult(rejected, WRONG_OUTPUT));
  await gasOf(draw([rejected]));
  await vote(rejected, false);
  record("settle (Committee of 3, rejected)", await gasOf(settle(rejected)));

  // Committee of 3 under load: BATCH jobs requested, submitted in one submitResults, every verifier commits
  // for all its seats in one commitVotes and reveals them in one revealVotes, one settleBatch settles them.
  const batchCommittee: Step[] = [];
  for (let i = 0; i < BATCH; i++) batchCommittee.push(await request(COMMITTEE));
  let batchedTotal = sum(batchCommittee.map((step) => step.gas));
  batchedTotal += record(
    `submitResults (batch of ${BATCH}, Committee of 3, claims in same tx)`,
    await gasOf(
      escrow.connect(worker).submitResults(
        batchCommittee.map((step) => step.job),
        batchCommittee.map(() => OUTPUT),
      ),
    ),
  );
  batchedTotal += record(
    `drawCommittees (${BATCH} jobs, committee of 3)`,
    await gasOf(draw(batchCommittee.map((step) => step.job))),
  );
  // Each verifier's seats, as (job id, seat index) in job order.
  const seatsOf = new Map<string, { jobIds: bigint[]; seats: number[] }>();
  for (const { job } of batchCommittee) {
    for (const [index, seat] of (await escrow.committee(job.id)).entries()) {
      const held = seatsOf.get(seat.verifier) ?? { jobIds: [], seats: [] };
      held.jobIds.push(BigInt(job.id));
      held.seats.push(index);
      seatsOf.set(seat.verifier, held);
    }
  }
  const salt = (jobId: bigint, verifier: string) => ethers.id(`batch salt ${jobId} ${verifier}`);
  const sealedOf = new Map<bigint, string[]>(); // each job's sealed commitments, in commit order
  let busiest = { verifier: "", seats: 0, commit: 0, reveal: 0 };
  const revealGas = new Map<string, number>();
  for (const [address, { jobIds, seats }] of seatsOf) {
    const commitments = jobIds.map((jobId) => voteCommitment(jobId, address, true, salt(jobId, address)));
    const gas = await gasOf(escrow.connect(bySigner.get(address)!).commitVotes(jobIds, seats, commitments));
    jobIds.forEach((jobId, k) => {
      sealedOf.set(jobId, [...(sealedOf.get(jobId) ?? []), sealCommitment(seats[k], commitments[k])]);
    });
    batchedTotal += gas;
    if (jobIds.length > busiest.seats) busiest = { verifier: address, seats: jobIds.length, commit: gas, reveal: 0 };
  }
  for (const [address, { jobIds, seats }] of seatsOf) {
    const gas = await gasOf(
      escrow.connect(bySigner.get(address)!).revealVotes(
        jobIds,
        seats,
        jobIds.map(() => true),
        jobIds.map((jobId) => salt(jobId, address)),
        jobIds.map((jobId) => sealedOf.get(jobId)!),
      ),
    );
    batchedTotal += gas;
    revealGas.set(address, gas);
  }
  record(`commitVotes (one verifier, ${busiest.seats} jobs)`, busiest.commit);
  record(`revealVotes (one verifier, ${busiest.seats} jobs)`, revealGas.get(busiest.verifier)!);
  const batchSettle = record(
    `settleBatch (${BATCH} Committee of 3, accepted)`,
    await gasOf(
      escrow.connect(requester).settleBatch(
        batchCommittee.map((step) => step.job),
        batchCommittee.map(() => "0x"),
      ),
    ),
  );
  batchedTotal += batchSettle;

  record("withdraw (escrow balance)", await gasOf(escrow.connect(worker).withdraw()));

  // Totals.
  record(TOTAL_NONE, none.gas + claimGas + noneSubmit);
  record(TOTAL_NONE_SAME_TX, noneSameTx.gas + noneSameTxSubmit);
  record(
    TOTAL_COMMITTEE,
    committee.gas + committeeSubmit + committeeDraw + sum(votes.commits) + sum(votes.reveals) + committeeSettle,
  );
  record(TOTAL_COMMITTEE_BATCHED, Math.round(batchedTotal / BATCH));

  // ------------------------------------------------------------------ committee draw, 10 / 100 / 1000 verifiers
  const drawSeed = ethers.id("trustml gas draw seed");
  let staked = verifiers.length;
  for (const size of DRAW_SIZES) {
    await addVerifiers(staked, size);
    staked = size;
    if ((await staking.eligibleVerifierCount()) !== BigInt(size)) {
      throw new Error(`gas scenario: expected ${size} eligible verifiers`);
    }
    const [gasUsed, drawn] = await probe.measure(staking, drawSeed, 3, []);
    if (drawn !== 3n) throw new Error("gas scenario: draw returned no committee");
    record(`drawCommittee (${size} verifiers)`, Number(gasUsed));
  }

  // ------------------------------------------------------------------ Proven, last, so that it moves no other figure
  // The job total: a profile model of 64 → 64 → 64, each job requested, then submitted with its trace (claiming it
  // in the same transaction), and ten settled in one settleBatch after the challenge window.
  const registerProven = async (layers: DenseLayer[]): Promise<bigint> => {
    const hash = ethers.sha256(ethers.toUtf8Bytes(`proven model ${++models}`));
    await (
      await registry
        .connect(modelOwner)
        .registerModel(hash, MODEL_URI, terms(VerificationMode.Proven), new WeightsTree(layers).root, "0x")
    ).wait();
    return registry.modelCount();
  };
  const provenLayersOf = provenLayers(PROVEN_WIDTHS);
  const PROVEN = await registerProven(provenLayersOf);
  const provenRandom = seededRandom(64);
  const provenJob = async () => {
    const x0 = randomInt8(provenRandom, PROVEN_WIDTHS[0]);
    const step = await request(PROVEN, encodeProvenInput("x", x0));
    const { output } = traceOf("y", runReference(provenLayersOf, x0).vectors);
    return { ...step, output };
  };
  {
    // Warm-up: one Proven job through its whole life, as the other modes had theirs.
    const warm = await provenJob();
    await gasOf(escrow.connect(worker).submitResult(warm.job, warm.output));
    await advancePast(DEFAULT_ESCROW_PARAMS.challengeWindow);
    await gasOf(settle(warm.job));
  }
  const provenSteps = [];
  for (let i = 0; i < BATCH; i++) provenSteps.push(await provenJob());
  const provenRequest = record("requestInference (Proven, 64 int8 inputs)", provenSteps[0].gas);
  const provenSubmit = record(
    "submitResult (Proven, 64 → 64 → 64 trace, claims in same tx)",
    await gasOf(escrow.connect(worker).submitResult(provenSteps[0].job, provenSteps[0].output)),
  );
  for (const step of provenSteps.slice(1)) await gasOf(escrow.connect(worker).submitResult(step.job, step.output));
  await advancePast(DEFAULT_ESCROW_PARAMS.challengeWindow);
  const provenSettle = record(
    `settleBatch (${BATCH} Proven)`,
    await gasOf(
      escrow.connect(requester).settleBatch(
        provenSteps.map((step) => step.job),
        provenSteps.map(() => "0x"),
      ),
    ),
  );
  record(TOTAL_PROVEN, provenRequest + provenSubmit + Math.round(provenSettle / BATCH));

  // proveFraud: width → width → width → 2 models; the worker posts neuron 0 of layer 2 one too high (and the rest
  // honestly from it); a prover convicts that neuron, whose input is `width` values.
  const prover = verifiers[1];
  for (const width of JUDGE_WIDTHS) {
    const layers = provenLayers([width, width, width, 2]);
    const modelId = await registerProven(layers);
    const x0 = randomInt8(seededRandom(width), width);
    const input = encodeProvenInput("x", x0);
    const { job } = await request(modelId, input);
    const vectors = runReference(layers, x0).vectors;
    vectors[2][0] = vectors[2][0] === 127 ? 126 : vectors[2][0] + 1;
    vectors[3] = runReference(layers.slice(2), vectors[2]).vectors[1];
    const { output } = traceOf("y", vectors);
    await gasOf(escrow.connect(worker).submitResult(job, output));
    const { leaf, proof } = new WeightsTree(layers).proof(2, 0);
    const evidence = encodeEvidence({ input: new Uint8Array(0), output, leaf, proof });
    const tx = await escrow.connect(prover).proveFraud(job, evidence);
    record(proveFraudFigure(width), await gasOf(Promise.resolve(tx)));
    record(proveFraudCalldataFigure(width), calldataGas(tx.data));
  }

  // Prepaid: the depositor deposits a thousand fees and runs one None job (not measured), then a None job paid
  // from the deposit and claimed in the submission, and tops up its deposit. Measured last, so that the job ids
  // (and with them every committee drawn above) are the ones measured before deposits existed.
  await gasOf(escrow.connect(depositor).deposit(PRICE * 1000n));
  await gasOf(escrow.connect(worker).submitResult((await request(NONE, INPUT, depositor)).job, OUTPUT));
  const prepaid = await request(NONE, INPUT, depositor);
  record("requestInference (fee from a deposit)", prepaid.gas);
  const prepaidSubmit = await gasOf(escrow.connect(worker).submitResult(prepaid.job, OUTPUT));
  record("deposit", await gasOf(escrow.connect(depositor).deposit(PRICE)));
  record(TOTAL_NONE_DEPOSIT, prepaid.gas + prepaidSubmit);

  // A model version declaring its signature: the worked example of docs/TENSOR-ENCODING.md (two inputs, two
  // outputs, 99 bytes), checked by IoSignatureLib and stored as its hash and input size.
  const signature = encodeSignature({
    inputs: [
      { name: "features", type: "float32", shape: [1, 4] },
      { name: "scale", type: "int64", shape: [] },
    ],
    outputs: [
      { name: "probabilities", type: "float32", shape: [null, 3] },
      { name: "label", type: "int64", shape: [null] },
    ],
  });
  record(
    "registerModel (declaring a signature of two inputs and two outputs)",
    await gasOf(
      registry
        .connect(modelOwner)
        .registerModel(
          ethers.sha256(ethers.toUtf8Bytes("model with a signature")),
          MODEL_URI,
          terms(VerificationMode.None),
          ethers.ZeroHash,
          signature,
        ),
    ),
  );

  return figures;

  /**
   * Stakes and opts in verifiers number `from` to `to - 1` (raw transactions: some 2 ms each). Each is mined as it
   * is sent, and one that reverts makes eth_sendTransaction throw (Hardhat's network bails on transaction
   * failures), so no receipt is read.
   */
  async function addVerifiers(from: number, to: number) {
    const tokenAddress = await token.getAddress();
    const stakingAddress = await staking.getAddress();
    const send = async (sender: string, target: string, data: string) => {
      await rpc("eth_sendTransaction", [{ from: sender, to: target, data, gas: ethers.toQuantity(1_000_000) }]);
    };
    for (let i = from; i < to; i++) {
      const address = addressOf(`verifier.${i}`);
      await rpc("hardhat_impersonateAccount", [address]);
      await rpc("hardhat_setBalance", [address, ETH]);
      await send(governance.address, tokenAddress, token.interface.encodeFunctionData("mint", [address, FUNDS]));
      await send(address, tokenAddress, token.interface.encodeFunctionData("approve", [stakingAddress, FUNDS]));
      await send(address, stakingAddress, staking.interface.encodeFunctionData("stake", [VERIFIER_STAKE]));
      await send(address, stakingAddress, staking.interface.encodeFunctionData("setVerifier", [true]));
    }
  }
}
