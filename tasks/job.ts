/**
 * Requesters and integrators: `job:request`, `job:show`, `job:list`, `job:draw`, `job:settle`, `job:prove`. Everything
 * shown comes from the escrow's events and views; nothing is kept off chain. A job id is the hash of the job's fields:
 * printed in hex, and taken back in hex or decimal, or as `#<nonce>` (the request's number, 1, 2, 3, …, shown beside
 * it).
 */
import { readFileSync } from "node:fs";
import { toJob, toSettlement, type Job, type Settlement } from "../packages/sdk/src/job";
import { getBytes, keccak256 } from "ethers";
import { task, types } from "hardhat/config";
import { encodeTensors, type NamedTensors } from "../packages/sdk/src/codec";
import { isTerminalStatus, JobOutcome, JobStatus, VerificationMode } from "../packages/sdk/src/params";
import { tensorsFromJson, type TensorJson } from "../packages/sdk/src/tensor-json";
import { describeError, findRevertData } from "../packages/sdk/src/errors";
import { checkInputs, SignatureMismatchError } from "../packages/sdk/src/signature";
import { requestDeadline, spendableBalance } from "../packages/sdk/src/client";
import { nameOrUnknown, ProtocolHistory } from "../packages/sdk/src/history";
import {
  DEPLOYMENT_HELP,
  FROM_HELP,
  JSON_HELP,
  connect,
  ensureAllowance,
  fail,
  formatAmount,
  formatJobId,
  formatTime,
  output,
  parseAmount,
  parseId,
  queryEvents,
  read,
  requireSigner,
  say,
  send,
  type Protocol,
} from "./common";
import { MODE_NAMES, formatTerms, termsView, versionSignature } from "./model";
import { toJobTerms } from "../packages/sdk/src/terms";

export interface RequestedJob {
  jobId: bigint;
  /** The request's number: the escrow's request count when it was made. */
  nonce: bigint;
  modelId: bigint;
  version: bigint;
  fee: bigint;
  deadline: number;
  inputHash: string;
  inputBytes: number;
  /** Where the fee came from: the requester's balance in the escrow (deposits, refunds, earnings), or its tokens. */
  paidFrom: "balance" | "tokens";
  transactionHash: string;
}

export interface JobView {
  jobId: bigint;
  nonce: bigint;
  status: string;
  requester: string;
  modelId: bigint;
  version: bigint;
  mode: string;
  fee: bigint;
  collateral: bigint;
  deadline: number;
  inputHash: string;
  /** The inline input, decoded; undefined for inputs given by URI or not decodable. */
  input?: TensorJson[];
  inputUri?: string;
  worker?: string;
  /** As JobState: Claimed: submit by; Submitted: challenge until; Drawing: draw by; Voting: commit until (unix
   * seconds; 0 when none). */
  windowEnd: number;
  /** As JobState: Drawing: the randomness ticket (not a time); Voting: reveal until. */
  revealEnd: number;
  /** Drawing only: the committee is still to be drawn, from the seed of `ticket`, by `drawBy`. */
  draw?: DrawView;
  outputHash?: string;
  output?: TensorJson[];
  /** The raw output when it is not a valid tensor encoding. */
  outputHex?: string;
  challenger?: string;
  /** A Proven job proven wrong: who proved it, through which neuron, and how the judge convicted. */
  fraudProof?: { prover: string; fraud: string; layer: number; index: number; transactionHash: string };
  /** The committee in seat order; a member commits and reveals with its seat. */
  votes: { seat: number; verifier: string; vote: string }[];
  settlement?: Settlement & { outcome: string; transactionHash: string };
}

export interface DrawView {
  drawBy: number;
  ticket: bigint;
  /** Whether the seed exists now: `job:draw` can draw the committee. */
  seedReady: boolean;
  /** The latest block when this was read. */
  block: number;
}

/** What `job:draw` did. */
export interface DrawnJob {
  jobId: bigint;
  nonce: bigint;
  /** "Voting" with the committee drawn, or "Refunded" (too few eligible verifiers: Inconclusive). */
  status: string;
  committee: string[];
  commitEnd: number;
  revealEnd: number;
  transactionHash: string;
}

export interface JobSummary {
  jobId: bigint;
  nonce: bigint;
  modelId: bigint;
  requester: string;
  fee: bigint;
  status: string;
  block: number;
}

/** The tensors of an input file and their canonical encoding. */
function readInputFile(file: string): { tensors: NamedTensors; bytes: Uint8Array } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    fail(`--input ${file}: ${(err as Error).message}`);
  }
  try {
    const tensors = tensorsFromJson(json);
    return { tensors, bytes: encodeTensors(tensors) };
  } catch (err) {
    fail(`--input ${file}: ${(err as Error).message}`);
  }
}

/**
 * Fails, naming the tensor and the problem, when `tensors` do not conform to the signature `version` of `modelId`
 * declares (read from its VersionPublished event and checked against the registry's hash).
 */
async function checkInputFile(p: Protocol, modelId: bigint, version: bigint, file: string, tensors: NamedTensors) {
  const signature = await versionSignature(p, modelId, version);
  if (signature === null) return;
  try {
    checkInputs(signature, tensors);
  } catch (e) {
    if (!(e instanceof SignatureMismatchError)) throw e;
    fail(`--input ${file} does not fit the signature of model ${modelId} v${version}: ${e.message}; nothing was sent`);
  }
}

interface RequestArgs {
  model: string;
  input: string;
  maxFee?: string;
  deadlineIn: number;
  from?: string;
  deployment?: string;
}

task("job:request", "Requests an inference on a model's latest version, with the input from a JSON file")
  .addParam("model", "model id")
  .addParam(
    "input",
    'JSON file: { "tensors": [ { "name": "x", "type": "float32", "shape": [1, 4], "data": [...] } ] } ' +
      "(types float32, float64, int32, int64 (numbers or strings), uint8, int8, bool)",
    undefined,
    types.inputFile,
  )
  .addOptionalParam("maxFee", "refuse, before sending, a model whose price is above this, in tokens")
  .addOptionalParam(
    "deadlineIn",
    "seconds until the job must be done, counted from now (the wall clock, or the chain's if it is ahead)",
    3600,
    types.int,
  )
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: RequestArgs, hre): Promise<RequestedJob> => {
    const p = await connect(hre, args);
    const { address } = requireSigner(p);
    const modelId = parseId(args.model, "--model");
    const input = readInputFile(args.input);
    if (args.deadlineIn <= 0) fail(`--deadline-in ${args.deadlineIn}: must be a positive number of seconds`);
    const terms = await read(p, "jobTerms", () => p.registry.jobTerms(modelId));
    const price = terms.terms.price;
    if (args.maxFee !== undefined && price > parseAmount(p, args.maxFee, "--max-fee")) {
      fail(`model ${modelId} costs ${formatAmount(p, price)}, above --max-fee ${args.maxFee}: nothing was sent`);
    }
    // Before anything is sent or approved: the escrow would refuse an input of another size, and a worker one of
    // another shape, after the fee was paid.
    if (terms.inputSize !== 0n) await checkInputFile(p, modelId, terms.version, args.input, input.tensors);
    const deadline = Number(await requestDeadline(hre.ethers.provider, args.deadlineIn));

    // The request carries the terms read above: if the owner changes them before it is mined, it reverts
    // (JobEscrowTermsChanged) instead of running under terms nobody here saw.
    say(`Agreeing to model ${modelId} v${terms.version}: ${formatTerms(p, termsView(terms.terms))}`);
    const balance = await spendableBalance(p.escrow, address);
    const paidFrom = balance >= price ? "balance" : "tokens";
    if (paidFrom === "balance") {
      say(`  paid from your balance in the escrow (${formatAmount(p, balance)}): no token transfer, no approval`);
    } else await ensureAllowance(p, await p.escrow.getAddress(), price);
    const receipt = await send(p, "requestInference", () =>
      p.escrow.requestInference(modelId, toJobTerms(terms), input.bytes, deadline, 0),
    );
    const event = receipt.logs
      .map((log) => p.escrow.interface.parseLog(log))
      .find((parsed) => parsed?.name === "JobRequested");
    if (!event) fail(`requestInference ${receipt.hash} emitted no JobRequested`);
    const job = event.args.job;
    const result: RequestedJob = {
      jobId: job.id,
      nonce: job.nonce,
      modelId: job.modelId,
      version: job.version,
      fee: job.fee,
      deadline: Number(job.deadline),
      inputHash: job.inputHash,
      inputBytes: input.bytes.length,
      paidFrom,
      transactionHash: receipt.hash,
    };
    say(`Job ${formatJobId(result.jobId)} (request #${result.nonce}) requested on model ${modelId} v${result.version}`);
    say(`  fee ${formatAmount(p, result.fee)}, deadline ${formatTime(result.deadline)}`);
    say(`  input ${input.bytes.length} bytes, keccak256 ${result.inputHash}, tx ${receipt.hash}`);
    return result;
  });

/** The escrow's state of `jobId`; an id no request has fails saying so. */
async function jobStateOf(p: Protocol, jobId: bigint) {
  try {
    return await p.escrow.jobState(jobId);
  } catch (err) {
    const data = findRevertData(err);
    if (data !== undefined && p.escrow.interface.parseError(data)?.name === "JobEscrowUnknownJob") {
      const count = await p.escrow.jobCount();
      fail(`no job ${formatJobId(jobId)}: no request has this id (${count} requested; job:list shows their ids)`);
    }
    fail(`jobState failed: ${describeError(err, p.errorSources)}`);
  }
}

/**
 * The id of the job given on the command line: its id (hex or decimal), or `#<nonce>`, the request's number,
 * looked up in the JobRequested events.
 */
export async function jobIdFromArg(p: Protocol, value: string, flag = "--job"): Promise<bigint> {
  const text = String(value).trim();
  if (!text.startsWith("#")) return parseId(text, flag);
  if (!/^#\d+$/.test(text)) fail(`${flag} ${value}: after # comes a request number (#1, #2, …)`);
  const nonce = BigInt(text.slice(1));
  const count = await p.escrow.jobCount();
  if (nonce < 1n || nonce > count) fail(`${flag} ${value}: no request #${nonce} (${count} requested)`);
  const events = await queryEvents(p.escrow, p.escrow.filters.JobRequested(), p.deployment.startBlock, p.hre);
  const found = events.find((e) => e.args.job.nonce === nonce);
  if (found === undefined)
    fail(`${flag} ${value}: request #${nonce} was not found from block ${p.deployment.startBlock}`);
  return found.args.jobId;
}

/** The draw a job in Drawing waits for: its draw-by, its randomness ticket and whether the seed exists yet. */
async function drawViewOf(p: Protocol, state: { windowEnd: bigint; revealEnd: bigint }): Promise<DrawView> {
  const { IRandomnessSource__factory } = await import("../typechain-types");
  const source = IRandomnessSource__factory.connect(await p.escrow.randomnessSource(), p.hre.ethers.provider);
  const ticket = state.revealEnd;
  const seedReady = await source.seedOf(ticket).then(
    (r) => r.ready,
    () => false,
  );
  return { drawBy: Number(state.windowEnd), ticket, seedReady, block: await p.hre.ethers.provider.getBlockNumber() };
}

/** Why the seed of `ticket` is not there yet, in a sentence. */
function seedPending(ticket: bigint, block: number): string {
  return (
    `the seed of randomness ticket ${ticket} does not exist yet (the chain is at block ${block}; ` +
    `the default BlockhashRandomness seeds ticket t with the hash of block t, readable from block t + 1)`
  );
}

/** The JobRequested event of a job that exists (its record, input and URI); fails when the logs lack it. */
export async function requestedEvent(p: Protocol, jobId: bigint) {
  const from = p.deployment.startBlock;
  const [requested] = await queryEvents(p.escrow, p.escrow.filters.JobRequested(jobId), from, p.hre);
  if (requested === undefined) {
    fail(`job ${formatJobId(jobId)} exists but its JobRequested event was not found from block ${from}`);
  }
  return requested;
}

/**
 * A job's record, state, output, votes and settlement: the SDK's ProtocolHistory record (the explorer's), in the
 * shape `job:show --json` prints.
 */
export async function showJob(p: Protocol, jobId: bigint): Promise<JobView> {
  const state = await jobStateOf(p, jobId); // fails naming an id no request has
  const history = await ProtocolHistory.connect(p.hre.ethers.provider, p.deployment);
  await history.sync();
  const r = await history.job(jobId);
  if (r === undefined) {
    fail(
      `job ${formatJobId(jobId)} exists but its JobRequested event was not found from block ${p.deployment.startBlock}`,
    );
  }
  const view: JobView = {
    jobId,
    nonce: r.nonce,
    status: r.status,
    requester: r.requester,
    modelId: r.modelId,
    version: r.version,
    mode: MODE_NAMES[Number(r.job.mode)] ?? `unknown(${r.job.mode})`,
    fee: r.fee,
    collateral: r.collateral,
    deadline: r.deadline,
    inputHash: r.input.hash,
    windowEnd: r.windowEnd,
    revealEnd: r.revealEnd,
    votes: r.committee.map((s) => ({ seat: s.seat, verifier: s.verifier, vote: s.vote })),
  };
  if (Number(state.status) === JobStatus.Drawing) view.draw = await drawViewOf(p, state);
  if (r.input.uri !== undefined) view.inputUri = r.input.uri;
  else view.input = r.input.tensors;
  if (r.worker) view.worker = r.worker;
  if (r.output) {
    view.outputHash = r.output.hash;
    view.output = r.output.tensors;
    view.outputHex = r.output.hex;
  }
  if (r.challenge) view.challenger = r.challenge.challenger;
  if (r.fraudProof) {
    const { prover, fraud, layer, index, transactionHash } = r.fraudProof;
    view.fraudProof = { prover, fraud, layer, index, transactionHash };
  }
  if (r.settlement) {
    view.settlement = {
      outcome: r.settlement.outcome,
      ...toSettlement(r.settlement),
      transactionHash: r.settlement.transactionHash,
    };
  }
  return view;
}

function printTensors(label: string, tensors: TensorJson[]): void {
  say(`  ${label}:`);
  for (const t of tensors) say(`    ${t.name} ${t.type}[${t.shape.join(",")}] = ${JSON.stringify(t.data)}`);
}

function printJob(p: Protocol, v: JobView): void {
  say(`Job ${formatJobId(v.jobId)} (request #${v.nonce}): ${v.status}`);
  say(`  model ${v.modelId} v${v.version} (${v.mode}), requester ${v.requester}`);
  say(
    `  fee ${formatAmount(p, v.fee)}, collateral ${formatAmount(p, v.collateral)}, deadline ${formatTime(v.deadline)}`,
  );
  say(`  input keccak256 ${v.inputHash}${v.inputUri ? ` at ${v.inputUri}` : ""}`);
  if (v.input) printTensors("input", v.input);
  if (v.worker) say(`  worker ${v.worker}`);
  if (v.draw) {
    const d = v.draw;
    say(`  committee to be drawn by ${formatTime(d.drawBy)} from randomness ticket ${d.ticket}`);
    say(
      d.seedReady ? "    the seed exists: anyone can draw it now (job:draw)" : `    ${seedPending(d.ticket, d.block)}`,
    );
  } else {
    if (v.windowEnd > 0 && !v.settlement) say(`  window ends ${formatTime(v.windowEnd)}`);
    if (v.revealEnd > 0 && !v.settlement) say(`  reveal ends ${formatTime(v.revealEnd)}`);
  }
  if (v.outputHash) say(`  output keccak256 ${v.outputHash}`);
  if (v.output) {
    printTensors(
      v.mode === "Proven" ? "output (the model's output, then its hidden vectors: the trace)" : "output",
      v.output,
    );
  }
  if (v.outputHex) say(`  output (not a tensor encoding) ${v.outputHex}`);
  if (v.challenger) say(`  challenged by ${v.challenger}`);
  if (v.fraudProof) {
    const f = v.fraudProof;
    say(`  proven wrong by ${f.prover}: layer ${f.layer}, neuron ${f.index} (${f.fraud}) (tx ${f.transactionHash})`);
  }
  for (const seat of v.votes) say(`  committee seat ${seat.seat} ${seat.verifier}: ${seat.vote}`);
  const s = v.settlement;
  if (s) {
    say(`  settled ${s.outcome} (tx ${s.transactionHash})`);
    say(
      `    worker ${formatAmount(p, s.workerPayment)}, royalty ${formatAmount(p, s.royalty)}, treasury ${formatAmount(p, s.treasuryPayment)}`,
    );
    say(
      `    verifiers ${s.rewardedVerifiers} × ${formatAmount(p, s.verifierReward)}, requester refund ` +
        `${formatAmount(p, s.requesterRefund)}, challenger ${formatAmount(p, s.challengerPayment)}, slashed ${formatAmount(p, s.slashed)}`,
    );
  }
}

const JOB_HELP = "job id (the hash job:request and job:list print, in hex or decimal), or #<request number>";

task("job:show", "Shows a job: status, worker, output (decoded tensors), committee votes, payouts")
  .addParam("job", JOB_HELP)
  .addFlag("json", JSON_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: { job: string; json?: boolean; deployment?: string }, hre): Promise<JobView> => {
    const p = await connect(hre, args);
    const view = await showJob(p, await jobIdFromArg(p, args.job));
    return output(args.json, view, (v) => printJob(p, v));
  });

const NOT_DRAWING: Record<string, string> = {
  Requested: "no result was submitted yet",
  Claimed: "no result was submitted yet",
  Submitted: "no committee was asked for (an Optimistic job is drawn only when challenged)",
  Voting: "its committee was drawn already (job:show lists it)",
};

task(
  "job:draw",
  "Draws the committee of a job in Drawing once its seed exists (anyone may); commit and reveal windows start then",
)
  .addParam("job", JOB_HELP)
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: { job: string; from?: string; deployment?: string }, hre): Promise<DrawnJob> => {
    const p = await connect(hre, args);
    requireSigner(p);
    const jobId = await jobIdFromArg(p, args.job);
    const state = await jobStateOf(p, jobId);
    const job = toJob((await requestedEvent(p, jobId)).args.job);
    const name = `job ${formatJobId(jobId)} (request #${job.nonce})`;
    const status = nameOrUnknown(JobStatus, state.status);
    if (Number(state.status) !== JobStatus.Drawing) {
      fail(
        `${name} is ${status}, not Drawing: nothing to draw${NOT_DRAWING[status] ? `; ${NOT_DRAWING[status]}` : ""}`,
      );
    }
    const draw = await drawViewOf(p, state);
    const now = (await hre.ethers.provider.getBlock("latest"))!.timestamp;
    if (!draw.seedReady) {
      const after =
        now > draw.drawBy
          ? `; its draw window closed at ${formatTime(draw.drawBy)}: settle it instead (JobEscrow.settle), it ends Inconclusive, the requester refunded and nobody slashed`
          : `. Try again then; if no seed comes by ${formatTime(draw.drawBy)}, the job can be settled Inconclusive`;
      fail(`${name}: ${seedPending(draw.ticket, draw.block)}${after}`);
    }
    const receipt = await send(p, "drawCommittees", () => p.escrow.drawCommittees([job]));
    const result: DrawnJob = {
      jobId,
      nonce: BigInt(job.nonce),
      status: nameOrUnknown(JobStatus, (await p.escrow.jobState(jobId)).status),
      committee: [],
      commitEnd: 0,
      revealEnd: 0,
      transactionHash: receipt.hash,
    };
    for (const log of receipt.logs) {
      const parsed = p.escrow.interface.parseLog(log);
      if (parsed?.name !== "CommitteeDrawn") continue;
      result.committee = [...parsed.args.committee];
      result.commitEnd = Number(parsed.args.commitEnd);
      result.revealEnd = Number(parsed.args.revealEnd);
    }
    if (result.committee.length > 0) {
      say(`Drew the committee of ${name} (tx ${receipt.hash}):`);
      result.committee.forEach((member, seat) => say(`  seat ${seat} ${member}`));
      say(`  commit until ${formatTime(result.commitEnd)}, reveal until ${formatTime(result.revealEnd)}`);
    } else {
      say(
        `${name}: too few verifiers were eligible, so it settled Inconclusive (tx ${receipt.hash}): refunded, nobody slashed`,
      );
    }
    return result;
  });

task("job:list", "Lists the jobs requested (from JobRequested events) with their current status")
  .addOptionalParam(
    "fromBlock",
    "first block to read events from (default: the deployment's first block)",
    undefined,
    types.int,
  )
  .addOptionalParam("requester", "only jobs of this requester")
  .addFlag("json", JSON_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(
    async (
      args: { fromBlock?: number; requester?: string; json?: boolean; deployment?: string },
      hre,
    ): Promise<JobSummary[]> => {
      const p = await connect(hre, args);
      const from = args.fromBlock ?? p.deployment.startBlock;
      const filter = p.escrow.filters.JobRequested(undefined, args.requester);
      const events = await queryEvents(p.escrow, filter, from, hre);
      const jobs: JobSummary[] = [];
      for (const e of events) {
        const state = await p.escrow.jobState(e.args.jobId);
        jobs.push({
          jobId: e.args.jobId,
          nonce: e.args.job.nonce,
          modelId: e.args.modelId,
          requester: e.args.requester,
          fee: e.args.job.fee,
          status: nameOrUnknown(JobStatus, state.status),
          block: e.blockNumber,
        });
      }
      return output(args.json, jobs, () => {
        if (jobs.length === 0) say(`No jobs requested since block ${from}.`);
        for (const j of jobs) {
          say(
            `Job ${formatJobId(j.jobId)} (request #${j.nonce}): ${j.status}, model ${j.modelId}, ${formatAmount(p, j.fee)}, requester ${j.requester}, block ${j.block}`,
          );
        }
      });
    },
  );

/** A job `job:settle` brought on: its status and, when it ended, how and what its requester got back. */
export interface SettledJob {
  jobId: bigint;
  nonce: bigint;
  /** After settling: Refunded, Settled or Rejected; Voting when a job in Drawing had its committee drawn instead. */
  status: string;
  outcome?: string;
  settlement?: Settlement;
}

/** A job of the caller's that is not due yet, and from when it is (unix seconds). */
export interface WaitingJob {
  jobId: bigint;
  nonce: bigint;
  status: string;
  readyAt: number;
}

/** What `job:settle` did. */
export interface SettleResult {
  settled: SettledJob[];
  waiting: WaitingJob[];
  transactionHash?: string;
}

/** What settling a job that is due does, by its status. */
const WHEN_DUE: Record<string, string> = {
  Requested: "refunded in full if no worker claims it by its deadline",
  Claimed: "refunded, with compensation from the worker's collateral, if its worker does not submit in time",
  Submitted: "its result is accepted once its challenge window closes unchallenged",
  Drawing:
    "its committee is drawn (job:draw) once its seed exists; settling it after draw-by draws it or, with no seed, refunds it",
  Voting: "its votes are tallied once every seat revealed or the reveal window closed",
};

/** A job the caller asked to settle, with the output settling it takes (the posted one, when there is one). */
interface Candidate {
  job: Job;
  output: string;
  status: string;
}

/** When `c` becomes due (unix seconds), or undefined when it is due now: the escrow's own answer (settle's
 * JobEscrowNotSettleable), so this never disagrees with it. */
async function notDueUntil(p: Protocol, c: Candidate): Promise<number | undefined> {
  try {
    await p.escrow.settle.staticCall(c.job, c.output);
    return undefined;
  } catch (err) {
    const data = findRevertData(err);
    const parsed = data === undefined ? null : p.escrow.interface.parseError(data);
    if (parsed?.name === "JobEscrowNotSettleable") return Number(parsed.args.readyAt);
    fail(`settle ${formatJobId(BigInt(c.job.id))} failed: ${describeError(err, p.errorSources)}`);
  }
}

/** The candidate for `jobId`: its record, its status, and its posted output if any. */
async function candidateOf(p: Protocol, jobId: bigint, status: bigint, job?: Job): Promise<Candidate> {
  job ??= toJob((await requestedEvent(p, jobId)).args.job);
  let posted = "0x";
  if (Number(status) >= JobStatus.Submitted) {
    const from = p.deployment.startBlock;
    const [submitted] = await queryEvents(p.escrow, p.escrow.filters.ResultSubmitted(jobId), from, p.hre);
    if (submitted !== undefined) posted = submitted.args.output;
  }
  return { job, output: posted, status: nameOrUnknown(JobStatus, status) };
}

task(
  "job:settle",
  "Settles your due jobs (or one, --job): refunds expired and abandoned ones, accepts results past their window, " +
    "tallies finished votes; anyone may settle a due job",
)
  .addOptionalParam("job", `one job, anyone's: ${JOB_HELP} (default: every job you requested)`)
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: { job?: string; from?: string; deployment?: string }, hre): Promise<SettleResult> => {
    const p = await connect(hre, args);
    const { address } = requireSigner(p);
    const result: SettleResult = { settled: [], waiting: [] };
    const due: Candidate[] = [];
    if (args.job !== undefined) {
      const jobId = await jobIdFromArg(p, args.job);
      const state = await jobStateOf(p, jobId);
      const c = await candidateOf(p, jobId, state.status);
      const name = `job ${formatJobId(jobId)} (request #${c.job.nonce})`;
      if (isTerminalStatus(state.status)) fail(`${name} has ended already (${c.status}): nothing to settle`);
      const readyAt = await notDueUntil(p, c);
      if (readyAt !== undefined) {
        fail(`${name} is ${c.status} and not due until ${formatTime(readyAt)}: ${WHEN_DUE[c.status]}`);
      }
      due.push(c);
    } else {
      const filter = p.escrow.filters.JobRequested(undefined, address);
      for (const e of await queryEvents(p.escrow, filter, p.deployment.startBlock, hre)) {
        const { status } = await p.escrow.jobState(e.args.jobId);
        if (isTerminalStatus(status)) continue;
        const c = await candidateOf(p, e.args.jobId, status, toJob(e.args.job));
        const readyAt = await notDueUntil(p, c);
        if (readyAt === undefined) due.push(c);
        else result.waiting.push({ jobId: e.args.jobId, nonce: c.job.nonce, status: c.status, readyAt });
      }
    }

    if (due.length > 0) {
      const receipt = await send(p, due.length === 1 ? "settle" : "settleBatch", () =>
        due.length === 1
          ? p.escrow.settle(due[0].job, due[0].output)
          : p.escrow.settleBatch(
              due.map((c) => c.job),
              due.map((c) => c.output),
            ),
      );
      result.transactionHash = receipt.hash;
      const settlements = new Map<bigint, { outcome: string; settlement: Settlement }>();
      for (const log of receipt.logs) {
        const parsed = p.escrow.interface.parseLog(log);
        if (parsed?.name !== "JobSettled") continue;
        settlements.set(parsed.args.jobId, {
          outcome: nameOrUnknown(JobOutcome, parsed.args.outcome),
          settlement: toSettlement(parsed.args.settlement),
        });
      }
      for (const c of due) {
        const jobId = BigInt(c.job.id);
        const status = nameOrUnknown(JobStatus, (await p.escrow.jobState(jobId)).status);
        result.settled.push({ jobId, nonce: BigInt(c.job.nonce), status, ...settlements.get(jobId) });
      }
    }
    printSettled(p, result, address);
    return result;
  });

function printSettled(p: Protocol, r: SettleResult, address: string): void {
  if (r.settled.length === 0 && r.waiting.length === 0) say(`No open job of ${address} to settle.`);
  let refunded = 0n;
  for (const s of r.settled) {
    const name = `Job ${formatJobId(s.jobId)} (request #${s.nonce})`;
    if (s.outcome === undefined) {
      say(`${name}: its committee was drawn on settling (its draw window had passed): now ${s.status}`);
      continue;
    }
    const refund = s.settlement!.requesterRefund;
    refunded += refund;
    say(`${name}: ${s.status} (${s.outcome})${refund > 0n ? `, ${formatAmount(p, refund)} refunded` : ""}`);
  }
  if (r.transactionHash) say(`  tx ${r.transactionHash}`);
  if (refunded > 0n) {
    say(
      "Refunds are credited to the requester's balance in the escrow: the next request spends it (job:request), " +
        "escrow:withdraw pays it out.",
    );
  }
  for (const w of r.waiting) {
    say(
      `Job ${formatJobId(w.jobId)} (request #${w.nonce}): ${w.status}, not due until ${formatTime(w.readyAt)}: ` +
        WHEN_DUE[w.status],
    );
  }
}

/** What `job:prove` found and did. */
export interface ProofResult {
  jobId: bigint;
  /** "proven": the proof landed; "consistent": every neuron follows from the vector before it, no proof can succeed. */
  result: "proven" | "consistent";
  /** The fault found (findFirstFraud), for "proven". */
  fraud?: { kind: string; layer: number; index: number; posted?: number; expected?: number; reason?: string };
  transactionHash?: string;
  gasUsed?: bigint;
}

task(
  "job:prove",
  "Re-executes a Proven job's posted trace and, if a neuron is wrong, proves it in one transaction (proveFraud)",
)
  .addParam("job", JOB_HELP)
  .addOptionalParam("input", "the job's input file, when it was given by URI (default: fetched from the URI)")
  .addOptionalParam("ipfsGateway", "gateway for ipfs:// URIs", "https://ipfs.io")
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(
    async (
      args: { job: string; input?: string; ipfsGateway: string; from?: string; deployment?: string },
      hre,
    ): Promise<ProofResult> => {
      // Loaded here, not at start-up: the profile checker and the fetcher are needed by no other task.
      const { WeightsTree, buildFraudProof, convictingNeuron, encodeEvidence, findFirstFraud, parseProfileModel } =
        await import("../src/proven");
      const { fetchInput, fetchUri, sha256Hex } = await import("../src/worker/clients/models");
      const p = await connect(hre, args);
      requireSigner(p);
      const jobId = await jobIdFromArg(p, args.job);
      const requested = await requestedEvent(p, jobId);
      const job = toJob(requested.args.job);
      const name = `job ${formatJobId(jobId)} (request #${job.nonce})`;
      if (Number(job.mode) !== VerificationMode.Proven) {
        fail(`${name} is a ${MODE_NAMES[Number(job.mode)]} job: only Proven jobs are proven wrong by a fraud proof`);
      }
      const state = await jobStateOf(p, jobId);
      if (Number(state.status) !== JobStatus.Submitted) {
        fail(`${name} is ${nameOrUnknown(JobStatus, state.status)}: only a submitted result can be proven wrong`);
      }
      const now = (await hre.ethers.provider.getBlock("latest"))!.timestamp;
      if (now >= Number(state.windowEnd)) {
        fail(`${name}: its challenge window closed at ${formatTime(Number(state.windowEnd))}; it settles Accepted`);
      }
      const [submitted] = await queryEvents(
        p.escrow,
        p.escrow.filters.ResultSubmitted(jobId),
        p.deployment.startBlock,
        hre,
      );
      const output = getBytes(submitted.args.output);
      const fetch = { ipfsGateway: args.ipfsGateway, timeoutMs: 30_000, maxBytes: 256 * 1024 * 1024 };
      let input: Uint8Array;
      if (requested.args.inputUri === "") input = getBytes(requested.args.input);
      else if (args.input !== undefined) {
        input = new Uint8Array(readFileSync(args.input));
        if (keccak256(input) !== job.inputHash) {
          fail(
            `--input ${args.input} is not ${name}'s input: its keccak256 is ${keccak256(input)}, the job's ${job.inputHash}`,
          );
        }
      } else input = await fetchInput(requested.args.inputUri, String(job.inputHash), fetch);

      const version = await p.registry.getVersion(job.modelId, job.version);
      const file = await fetchUri(version.uri, fetch);
      if (sha256Hex(file) !== version.contentHash.toLowerCase()) {
        fail(
          `the model at ${version.uri} is not version ${job.version}: its sha256 is ${sha256Hex(file)}, the registry's ${version.contentHash}`,
        );
      }
      const { model } = parseProfileModel(file);
      const tree = new WeightsTree(model.layers);
      if (tree.root !== version.weightsRoot.toLowerCase()) {
        fail(
          `the model file's weights root ${tree.root} is not the registry's ${version.weightsRoot}: no proof against it can succeed`,
        );
      }
      const fraud = findFirstFraud(model.layers, { input, output });
      if (fraud === undefined) {
        say(`${name}: trace consistent: every neuron follows from the posted vector before it; no proof can succeed`);
        return { jobId, result: "consistent" };
      }
      const [layer, index] = convictingNeuron(fraud);
      const found =
        fraud.kind === "neuron"
          ? `layer ${layer}, neuron ${index}: posted ${fraud.posted}, the model gives ${fraud.expected}`
          : fraud.kind === "length"
            ? `vector ${fraud.layer} has ${fraud.length} values, the model ${fraud.expected}`
            : fraud.reason;
      const evidence = encodeEvidence(buildFraudProof(tree, { input, output }, fraud));
      const receipt = await send(p, "proveFraud", () => p.escrow.proveFraud(job, evidence));
      say(
        `Proved ${name} wrong (${fraud.kind}: ${found}) in one transaction: tx ${receipt.hash}, ${receipt.gasUsed} gas`,
      );
      const detail =
        fraud.kind === "neuron"
          ? { kind: fraud.kind, layer, index, posted: fraud.posted, expected: fraud.expected }
          : { kind: fraud.kind, layer, index, reason: found };
      return { jobId, result: "proven", fraud: detail, transactionHash: receipt.hash, gasUsed: receipt.gasUsed };
    },
  );
