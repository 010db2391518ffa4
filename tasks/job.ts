/**
 * Requesters and integrators: `job:request`, `job:show`, `job:list`. Everything shown comes from the escrow's
 * events and views; nothing is kept off chain. A job id is the hash of the job's fields: printed in hex, and
 * taken back in hex or decimal. The nonce (the request's number, 1, 2, 3, …) is shown beside it.
 */
import { readFileSync } from "node:fs";
import { toSettlement, type Settlement } from "../src/job";
import { getBytes, hexlify } from "ethers";
import { task, types } from "hardhat/config";
import { decodeTensors, encodeTensors } from "../src/codec";
import { JobOutcome, JobStatus, VoteState } from "../src/params";
import { tensorsFromJson, tensorsToJson, type TensorJson } from "../src/tensor-json";
import { describeError, findRevertData } from "../src/errors";
import {
  DEPLOYMENT_HELP,
  FROM_HELP,
  connect,
  ensureAllowance,
  fail,
  formatAmount,
  formatJobId,
  formatTime,
  parseAmount,
  parseId,
  queryEvents,
  read,
  requireSigner,
  say,
  send,
  type Protocol,
} from "./common";
import { MODE_NAMES, formatTerms, termsView } from "./model";
import { toJobTerms } from "../src/terms";

const nameOf = (table: Record<string, number>, value: bigint | number): string =>
  Object.keys(table).find((k) => table[k] === Number(value)) ?? `unknown(${value})`;

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
  /** Claimed: submit by; Submitted: challenge until; Voting: commit until (unix seconds; 0 when none). */
  windowEnd: number;
  revealEnd: number;
  outputHash?: string;
  output?: TensorJson[];
  /** The raw output when it is not a valid tensor encoding. */
  outputHex?: string;
  challenger?: string;
  /** The committee in seat order; a member commits and reveals with its seat. */
  votes: { seat: number; verifier: string; vote: string }[];
  settlement?: Settlement & { outcome: string; transactionHash: string };
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

function readInputFile(file: string): Uint8Array {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    fail(`--input ${file}: ${(err as Error).message}`);
  }
  try {
    return encodeTensors(tensorsFromJson(json));
  } catch (err) {
    fail(`--input ${file}: ${(err as Error).message}`);
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
      "(types float32, float64, int32, int64 (numbers or strings), uint8, bool)",
    undefined,
    types.inputFile,
  )
  .addOptionalParam("maxFee", "refuse, before sending, a model whose price is above this, in tokens")
  .addOptionalParam("deadlineIn", "seconds from now until the job must be done", 3600, types.int)
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: RequestArgs, hre): Promise<RequestedJob> => {
    const p = await connect(hre, args);
    requireSigner(p);
    const modelId = parseId(args.model, "--model");
    const input = readInputFile(args.input);
    const terms = await read(p, "jobTerms", () => p.registry.jobTerms(modelId));
    const price = terms.terms.price;
    if (args.maxFee !== undefined && price > parseAmount(p, args.maxFee, "--max-fee")) {
      fail(`model ${modelId} costs ${formatAmount(p, price)}, above --max-fee ${args.maxFee}: nothing was sent`);
    }
    if (args.deadlineIn <= 0) fail(`--deadline-in ${args.deadlineIn}: must be a positive number of seconds`);
    const now = (await hre.ethers.provider.getBlock("latest"))!.timestamp;
    const deadline = now + args.deadlineIn;

    // The request carries the terms read above: if the owner changes them before it is mined, it reverts
    // (JobEscrowTermsChanged) instead of running under terms nobody here saw.
    say(`Agreeing to model ${modelId} v${terms.version}: ${formatTerms(p, termsView(terms.terms))}`);
    await ensureAllowance(p, await p.escrow.getAddress(), price);
    const receipt = await send(p, "requestInference", () =>
      p.escrow.requestInference(modelId, toJobTerms(terms), input, deadline, 0),
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
      inputBytes: input.length,
      transactionHash: receipt.hash,
    };
    say(`Job ${formatJobId(result.jobId)} (request #${result.nonce}) requested on model ${modelId} v${result.version}`);
    say(`  fee ${formatAmount(p, result.fee)}, deadline ${formatTime(result.deadline)}`);
    say(`  input ${input.length} bytes, keccak256 ${result.inputHash}, tx ${receipt.hash}`);
    return result;
  });

function decodedOrHex(bytes: string): { tensors?: TensorJson[]; hex?: string } {
  try {
    return { tensors: tensorsToJson(decodeTensors(getBytes(bytes))) };
  } catch {
    return { hex: hexlify(bytes) };
  }
}

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

/** A job's record, state, output, votes and settlement, from events and views. */
export async function showJob(p: Protocol, jobId: bigint): Promise<JobView> {
  const { escrow, deployment } = p;
  const state = await jobStateOf(p, jobId);
  const from = deployment.startBlock;

  const [requested] = await queryEvents(escrow, escrow.filters.JobRequested(jobId), from, p.hre);
  if (requested === undefined) {
    fail(`job ${formatJobId(jobId)} exists but its JobRequested event was not found from block ${from}`);
  }
  const job = requested.args.job;
  const view: JobView = {
    jobId,
    nonce: job.nonce,
    status: nameOf(JobStatus, state.status),
    requester: job.requester,
    modelId: job.modelId,
    version: job.version,
    mode: MODE_NAMES[Number(job.mode)] ?? `unknown(${job.mode})`,
    fee: job.fee,
    collateral: job.collateral,
    deadline: Number(job.deadline),
    inputHash: job.inputHash,
    windowEnd: Number(state.windowEnd),
    revealEnd: Number(state.revealEnd),
    votes: [],
  };
  if (requested.args.inputUri !== "") view.inputUri = requested.args.inputUri;
  else view.input = decodedOrHex(requested.args.input).tensors;
  if (state.worker !== "0x0000000000000000000000000000000000000000") view.worker = state.worker;

  const [submitted] = await queryEvents(escrow, escrow.filters.ResultSubmitted(jobId), from, p.hre);
  if (submitted !== undefined) {
    view.worker = submitted.args.worker;
    view.outputHash = submitted.args.outputHash;
    const decoded = decodedOrHex(submitted.args.output);
    view.output = decoded.tensors;
    view.outputHex = decoded.hex;
  }
  const challenge = await escrow.challengeOf(jobId);
  if (challenge.challenger !== "0x0000000000000000000000000000000000000000") view.challenger = challenge.challenger;
  view.votes = (await escrow.committee(jobId)).map((seat, index) => ({
    seat: index,
    verifier: seat.verifier,
    vote: nameOf(VoteState, seat.vote),
  }));
  const [settled] = await queryEvents(escrow, escrow.filters.JobSettled(jobId), from, p.hre);
  if (settled !== undefined) {
    view.settlement = {
      outcome: nameOf(JobOutcome, settled.args.outcome),
      ...toSettlement(settled.args.settlement),
      transactionHash: settled.transactionHash,
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
  if (v.windowEnd > 0 && !v.settlement) say(`  window ends ${formatTime(v.windowEnd)}`);
  if (v.revealEnd > 0 && !v.settlement) say(`  reveal ends ${formatTime(v.revealEnd)}`);
  if (v.outputHash) say(`  output keccak256 ${v.outputHash}`);
  if (v.output) printTensors("output", v.output);
  if (v.outputHex) say(`  output (not a tensor encoding) ${v.outputHex}`);
  if (v.challenger) say(`  challenged by ${v.challenger}`);
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

task("job:show", "Shows a job: status, worker, output (decoded tensors), committee votes, payouts")
  .addParam("job", "job id (the hash job:request and job:list print, in hex or decimal)")
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: { job: string; deployment?: string }, hre): Promise<JobView> => {
    const p = await connect(hre, args);
    const view = await showJob(p, parseId(args.job, "--job"));
    printJob(p, view);
    return view;
  });

task("job:list", "Lists the jobs requested (from JobRequested events) with their current status")
  .addOptionalParam(
    "fromBlock",
    "first block to read events from (default: the deployment's first block)",
    undefined,
    types.int,
  )
  .addOptionalParam("requester", "only jobs of this requester")
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(
    async (args: { fromBlock?: number; requester?: string; deployment?: string }, hre): Promise<JobSummary[]> => {
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
          status: nameOf(JobStatus, state.status),
          block: e.blockNumber,
        });
      }
      if (jobs.length === 0) say(`No jobs requested since block ${from}.`);
      for (const j of jobs) {
        say(
          `Job ${formatJobId(j.jobId)} (request #${j.nonce}): ${j.status}, model ${j.modelId}, ${formatAmount(p, j.fee)}, requester ${j.requester}, block ${j.block}`,
        );
      }
      return jobs;
    },
  );
