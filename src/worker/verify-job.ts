/**
 * `verify-job`: re-checks a past job from chain data alone. Reads the job's events (request with input and
 * tolerance, submission with output, committee, votes, settlement), checks that the requested record hashes to
 * the job's id (`jobIdOf`, as the escrow holds every later call to that record), fetches the model from the
 * registry's URI and checks its sha256 (and its weights root, when the version has one), and judges the posted
 * output as the live verifier does (compute/judge.ts: re-run, compare within the job's tolerance; an input that
 * cannot run condemns the output, a model that cannot be had or a runtime error leaves it unverifiable), giving
 * the verdict next to the committee's votes and the chain's outcome. A Proven job's posted trace is checked as a
 * judge would (findFirstFraud): consistent, or the first fault a proof convicts, with whether a proof would still
 * succeed now.
 */
import { getBytes, keccak256, toBeHex, zeroPadValue, type Provider } from "ethers";
import { formatJobId, jobIdOf, toJob } from "../../packages/sdk/src/job";
import { hasWeightsRoot } from "../models/weights-root";
import { JobOutcome, JobStatus, nameOf, VerificationMode, VoteState } from "../../packages/sdk/src/params";
import { IRandomnessSource__factory } from "../factories";
import { describeFraud, FRAUD_KINDS, type Fraud, type FraudKind } from "../proven/judge";
import { chainTime, connect, jobToJson, type JobRecord, type ProtocolAddresses } from "./clients/chain";
import { EventReader, type ProtocolEvent } from "./clients/events";
import {
  checkProvenResult,
  JobFailure,
  jobInput,
  loadJobModel,
  loadProvenModel,
  modelRef,
  type ExecuteDeps,
} from "./compute/execute";
import { judgeOutput } from "./compute/judge";
import type { FetchOptions, ModelStore } from "./clients/models";
import type { RetryOptions } from "./clients/sender";

const name = (table: Readonly<Record<string, number>>, value: number): string => nameOf(table, value) ?? String(value);

export type Verdict = "correct" | "wrong" | "no-output" | "unverifiable";

export interface JobVerdict {
  /** 0x and 64 hex digits, as every tool prints a job id. */
  jobId: string;
  /** The job's request number, and whether its JobRequested record hashes to `jobId`. */
  record: { nonce: string; hashOk: boolean };
  status: string;
  outcome?: string;
  mode: string;
  requester: string;
  model: { modelId: string; version: string; contentHash?: string; uri?: string; hashOk: boolean; error?: string };
  input: { source: "inline" | "uri"; bytes?: number; error?: string };
  output?: { worker: string; hash: string; bytes: number; hashOnChain: boolean };
  rerun?: { agree: boolean; reason?: string; maxAbsDiff?: number };
  tolerance: { relTolerance: number; absTolerance: number };
  challenger?: string;
  /** A job in Drawing: its committee is still to be drawn, from the seed of `ticket`, by `drawBy`. */
  draw?: DrawState;
  /** A Proven job: its weights root, its trace checked as a judge would, whether a proof can still succeed. */
  proven?: ProvenState;
  committee: { verifier: string; vote: string }[];
  verdict: Verdict;
  summary: string;
}

export interface DrawState {
  /** The randomness source's ticket the committee is drawn from. */
  ticket: string;
  /** Whether the seed of the ticket exists now (the escrow's current source). */
  seedReady: boolean;
  /** Draw-by, Unix seconds: after it the job can only settle Inconclusive. */
  drawBy: number;
  /** The chain's time and block when this was read. */
  now: number;
  block: number;
}

export interface ProvenState {
  /** The version's registered weights root, and whether the file's recomputed root matches (unset: not checked). */
  weightsRoot?: string;
  rootOk?: boolean;
  /** Whether the posted trace was checked, and the first fault a proof convicts (none: consistent). */
  checked: boolean;
  fraud?: Fraud;
  /** The job's FraudProven event, when someone proved it wrong. */
  provenBy?: { prover: string; fraud: FraudKind; layer: number; index: number; txHash: string };
  /** The end of the challenge window (Unix seconds) and the chain's time when this was read. */
  windowEnd: number;
  now: number;
}

export interface VerifyDeps {
  provider: Provider;
  addresses: ProtocolAddresses;
  models: ModelStore;
  fetch: FetchOptions;
  maxBlockRange?: number;
  retry?: RetryOptions;
}

export async function verifyJob(jobIdArg: bigint | string | number, deps: VerifyDeps): Promise<JobVerdict> {
  const jobId = BigInt(jobIdArg);
  const contracts = connect(deps.addresses, deps.provider);
  const { escrow } = contracts;
  const reader = new EventReader(
    deps.provider,
    escrow,
    deps.addresses.escrow,
    deps.maxBlockRange ?? 10_000,
    deps.retry ?? { retries: 3, baseDelayMs: 300 },
  );
  const head = await deps.provider.getBlockNumber();
  // Every job event indexes the job id first; other events sharing the topic are dropped by name below.
  const events = await reader.readAll(deps.addresses.startBlock, head, [null, zeroPadValue(toBeHex(jobId), 32)]);
  const requested = events.find((e) => e.name === "JobRequested");
  if (!requested) {
    throw new Error(`job ${formatJobId(jobId)}: no JobRequested event from block ${deps.addresses.startBlock}`);
  }
  const a = requested.args;
  const rec: JobRecord = {
    job: jobToJson(a.job),
    input: String(a.input),
    inputUri: String(a.inputUri),
    relTolerance: Number(a.relTolerance),
    absTolerance: Number(a.absTolerance),
    block: requested.log.blockNumber,
  };
  const submitted = events.find((e) => e.name === "ResultSubmitted");
  const settled = events.find((e) => e.name === "JobSettled");
  const challenged = events.find((e) => e.name === "ResultChallenged");
  const state = await escrow.jobState(jobId);
  const seats = await escrow.committee(jobId);

  const verdict: JobVerdict = {
    jobId: formatJobId(jobId),
    record: {
      nonce: rec.job.nonce,
      hashOk:
        jobIdOf(toJob(a.job), {
          chainId: (await deps.provider.getNetwork()).chainId,
          escrow: deps.addresses.escrow,
        }) === jobId,
    },
    status: name(JobStatus, Number(state.status)),
    outcome: settled ? name(JobOutcome, Number(settled.args.outcome)) : undefined,
    mode: name(VerificationMode, Number(rec.job.mode)),
    requester: rec.job.requester,
    model: { modelId: rec.job.modelId, version: rec.job.version, hashOk: false },
    input: { source: rec.inputUri ? "uri" : "inline" },
    tolerance: { relTolerance: rec.relTolerance, absTolerance: rec.absTolerance },
    challenger: challenged ? String(challenged.args.challenger) : undefined,
    committee: seats.map((s) => ({ verifier: s.verifier, vote: name(VoteState, Number(s.vote)) })),
    verdict: "unverifiable",
    summary: "",
  };
  if (Number(state.status) === JobStatus.Drawing) {
    const source = IRandomnessSource__factory.connect(await escrow.randomnessSource(), deps.provider);
    const ticket = state.revealEnd;
    verdict.draw = {
      ticket: ticket.toString(),
      seedReady: await source.seedOf(ticket).then(
        (r) => r.ready,
        () => false,
      ),
      drawBy: Number(state.windowEnd),
      now: await chainTime(deps.provider),
      block: head,
    };
  }
  if (!verdict.record.hashOk) {
    // Model, input hash and tolerance all come from this record: with it unproven, nothing can be judged.
    verdict.summary = "the JobRequested record does not hash to the job id";
    return verdict;
  }
  if (submitted) {
    const output = String(submitted.args.output);
    const hash = keccak256(output);
    verdict.output = {
      worker: String(submitted.args.worker),
      hash,
      bytes: getBytes(output).length,
      hashOnChain: hash === (await escrow.outputHash(jobId)),
    };
    rec.output = output;
  }

  const execDeps: ExecuteDeps = {
    registry: contracts.registry,
    models: deps.models,
    fetch: deps.fetch,
    logs: { reader: reader.logs, fromBlock: deps.addresses.startBlock },
  };
  if (Number(rec.job.mode) === VerificationMode.Proven) {
    const proven: ProvenState = {
      checked: false,
      windowEnd: Number(state.windowEnd),
      now: await chainTime(deps.provider),
    };
    const fraudProven = events.find((e) => e.name === "FraudProven");
    if (fraudProven) proven.provenBy = provenByOf(fraudProven);
    verdict.proven = proven;
    await verifyProven(verdict, proven, rec, execDeps);
    return verdict;
  }
  await verifyTensors(verdict, rec, execDeps);
  return verdict;
}

/** A model failure that comes after the file was fetched and its sha256 checked. */
const fetchedAndChecked = (e: JobFailure): boolean =>
  e.reason !== "model-hash-mismatch" && e.reason !== "model-unfetchable" && e.reason !== "model-unknown";

/** Notes a failure to run the job on the report: the model's, or the input's. */
function noteFailure(v: JobVerdict, e: JobFailure): void {
  if (e.reason.startsWith("model")) {
    // Fetched and checked, then failed to load (or its root, profile or signature check).
    if (fetchedAndChecked(e)) v.model.hashOk = true;
    v.model.error = `${e.reason}: ${e.message}`;
  } else {
    v.model.hashOk = true; // the input is read, and the job run, once the model has loaded
    // A runtime error is neither the file's nor the input's: the summary names it.
    if (e.reason !== "inference-error") v.input.error = `${e.reason}: ${e.message}`;
  }
}

/** A tensor job (None, Optimistic, Committee): its posted output judged as the live verifier judges it. */
async function verifyTensors(v: JobVerdict, rec: JobRecord, deps: ExecuteDeps): Promise<void> {
  v.input.bytes = rec.inputUri ? undefined : getBytes(rec.input).length;
  // The verdict is the live verifier's (judgeOutput); the rest of the report says what was checked on the way.
  const judgment = rec.output ? await judgeOutput(deps, rec, rec.output) : undefined;
  try {
    const ref = await modelRef(deps.registry, BigInt(rec.job.modelId), BigInt(rec.job.version));
    Object.assign(v.model, { contentHash: ref.contentHash, uri: ref.uri });
    if (judgment?.failure) noteFailure(v, judgment.failure);
    else if (judgment?.compared) v.model.hashOk = true;
    else {
      // No output, or one that does not decode: the model and input still say whether anyone can serve the job.
      await loadJobModel(deps, rec);
      v.model.hashOk = true;
      await jobInput(deps, rec);
    }
  } catch (e) {
    if (!(e instanceof JobFailure)) throw e;
    noteFailure(v, e);
  }
  if (!judgment) {
    v.verdict = "no-output";
    v.summary = v.model.error
      ? `no output was posted; the job cannot run: ${v.model.error}`
      : v.input.error
        ? `no output was posted; the input does not run on the model: ${v.input.error}`
        : "no output was posted";
    return;
  }
  v.summary = judgment.reason;
  if (judgment.verdict === "cannot-judge") {
    v.verdict = "unverifiable";
    return;
  }
  v.rerun = { agree: judgment.verdict === "agree", reason: judgment.reason, maxAbsDiff: judgment.maxAbsDiff };
  v.verdict = judgment.verdict === "agree" ? "correct" : "wrong";
  if (judgment.verdict === "agree") {
    v.summary = `the posted output matches a re-execution within tolerance (max |diff| ${judgment.maxAbsDiff})`;
  } else if (judgment.failure) {
    v.summary = `the input does not run on the model (${judgment.failure.message}), so no output can be right`;
  } else {
    v.summary = `the posted output is wrong: ${judgment.reason}`;
  }
}

/** A FraudProven event's arguments. */
function provenByOf(e: ProtocolEvent): NonNullable<ProvenState["provenBy"]> {
  return {
    prover: String(e.args.prover),
    fraud: FRAUD_KINDS[Number(e.args.fraud)] ?? (String(e.args.fraud) as FraudKind),
    layer: Number(e.args.layer),
    index: Number(e.args.index),
    txHash: e.log.transactionHash,
  };
}

/**
 * A Proven job: the model read as a profile model (its weights root recomputed), the posted trace checked neuron by
 * neuron from the posted vectors and the job's input, as the judge would.
 */
async function verifyProven(v: JobVerdict, proven: ProvenState, rec: JobRecord, deps: ExecuteDeps): Promise<void> {
  try {
    const ref = await modelRef(deps.registry, BigInt(rec.job.modelId), BigInt(rec.job.version));
    Object.assign(v.model, { contentHash: ref.contentHash, uri: ref.uri });
    proven.weightsRoot = ref.weightsRoot;
    // Without an output the model's checks still say whether anyone can serve the job.
    const check = rec.output ? await checkProvenResult(deps, rec, getBytes(rec.output)) : undefined;
    if (!check) await loadProvenModel(deps, rec);
    v.model.hashOk = true;
    if (hasWeightsRoot(ref.weightsRoot)) proven.rootOk = true;
    if (!check) {
      v.verdict = "no-output";
      v.summary = "no output was posted";
      return;
    }
    v.input.bytes = check.posted.input.length;
    proven.checked = true;
    proven.fraud = check.fraud;
    if (!check.fraud) {
      v.verdict = "correct";
      v.summary = "every posted neuron follows from the vector before it and the input: the output is the model's";
    } else {
      v.verdict = "wrong";
      v.summary = `the posted trace is wrong: ${describeFraud(check.fraud)}; ${proofNow(v, proven)}`;
    }
  } catch (e) {
    if (!(e instanceof JobFailure)) throw e;
    if (e.reason.startsWith("model")) {
      if (fetchedAndChecked(e)) v.model.hashOk = true; // fetched and checked, then failed its root or profile check
      if (e.reason === "model-weights-root-mismatch") proven.rootOk = false;
      v.model.error = `${e.reason}: ${e.message}`;
    } else {
      v.input.error = `${e.reason}: ${e.message}`;
    }
    v.verdict = rec.output ? "unverifiable" : "no-output";
    v.summary = `cannot check the trace: ${e.message}`;
  }
}

/** Whether a proof of a wrong Proven result would succeed if sent now, and why not. */
function proofNow(v: JobVerdict, p: ProvenState): string {
  const end = new Date(p.windowEnd * 1000).toISOString();
  if (p.provenBy) {
    const b = p.provenBy;
    return `already proven by ${b.prover} (FraudProven, ${b.fraud} at layer ${b.layer}, neuron ${b.index}, tx ${b.txHash}): the job is ${v.status}`;
  }
  if (v.status === "Submitted") {
    if (p.now <= p.windowEnd) {
      return `a proof would succeed now: the challenge window is open until ${end} (${p.windowEnd - p.now} s left)`;
    }
    return `too late for a proof: the challenge window closed at ${end}, and settling accepts the result`;
  }
  if (v.status === "Settled") return `too late for a proof: the job settled ${v.outcome ?? ""} unproven`;
  return `no proof can be sent: the job is ${v.status}`;
}

/** What a job in Drawing waits for, and what anyone can do about it. */
export function describeDraw(d: DrawState): string {
  const by = new Date(d.drawBy * 1000).toISOString();
  if (d.seedReady) {
    const late = d.now > d.drawBy ? ` (its draw window closed at ${by}: settling it draws it too)` : "";
    return `not drawn yet: the seed of randomness ticket ${d.ticket} exists: anyone can draw it now (drawCommittees, npx hardhat job:draw)${late}`;
  }
  const pending = `waiting for the seed of randomness ticket ${d.ticket} (chain at block ${d.block}; the default source seeds ticket t with the hash of block t, readable from block t + 1)`;
  if (d.now > d.drawBy) {
    return `not drawn: ${pending}; its draw window closed at ${by}, so settling it ends it Inconclusive (requester refunded, nobody slashed)`;
  }
  return `not drawn yet: ${pending}; if no seed comes by ${by}, the job can be settled Inconclusive`;
}

/** A Proven job's weights-root line: the registry's root and whether the file gives it. */
function weightsLine(v: JobVerdict, p: ProvenState): string {
  const root =
    p.weightsRoot === undefined
      ? "?"
      : !hasWeightsRoot(p.weightsRoot)
        ? `none registered (${p.weightsRoot}): no leaf can be proven in it`
        : p.rootOk === true
          ? `${p.weightsRoot} ok (recomputed from the file)`
          : p.rootOk === false
            ? `${p.weightsRoot} NOT the file's (${v.model.error})`
            : `${p.weightsRoot} not checked`;
  return `  weights    root ${root}`;
}

/** A Proven job's trace line and, for a wrong or proven result, whether a proof succeeds now. */
function traceLines(v: JobVerdict, p: ProvenState): string[] {
  const lines: string[] = [];
  if (p.checked) {
    lines.push(
      p.fraud ? `  trace      WRONG: ${describeFraud(p.fraud)}` : "  trace      consistent: no proof can succeed",
    );
  } else if (v.output) {
    lines.push("  trace      not checked");
  }
  if (p.fraud || p.provenBy) lines.push(`  proof      ${proofNow(v, p)}`);
  return lines;
}

/** A human-readable report of a verdict. */
export function formatVerdict(v: JobVerdict): string {
  const lines = [
    `job #${v.record.nonce} (${v.mode}) — status ${v.status}${v.outcome ? `, outcome ${v.outcome}` : ""}`,
    `  id         ${v.jobId} ${v.record.hashOk ? "(the hash of its record: ok)" : "(NOT the hash of its record)"}`,
    `  requester  ${v.requester}`,
    `  model      ${v.model.modelId} v${v.model.version} ${v.model.uri ?? ""}`,
    `  sha256     ${v.model.contentHash ?? "?"} ${v.model.hashOk ? "ok" : `NOT OK${v.model.error ? ` (${v.model.error})` : ""}`}`,
    ...(v.proven ? [weightsLine(v, v.proven)] : []),
    `  input      ${v.input.source}${v.input.bytes !== undefined ? `, ${v.input.bytes} bytes` : ""}${v.input.error ? ` — ${v.input.error}` : ""}`,
    v.output
      ? `  output     ${v.output.bytes} bytes by ${v.output.worker}, keccak256 ${v.output.hash}${v.output.hashOnChain ? "" : " (NOT the hash on chain)"}`
      : "  output     none",
  ];
  if (v.proven) lines.push(...traceLines(v, v.proven));
  else lines.push(`  tolerance  rel ${v.tolerance.relTolerance} ppb, abs ${v.tolerance.absTolerance} ppb`);
  if (v.rerun)
    lines.push(`  re-run     ${v.rerun.agree ? "agrees" : "DISAGREES"}${v.rerun.reason ? `: ${v.rerun.reason}` : ""}`);
  if (v.challenger) lines.push(`  challenger ${v.challenger}`);
  if (v.draw) lines.push(`  committee  ${describeDraw(v.draw)}`);
  if (v.committee.length > 0) {
    lines.push("  committee");
    for (const s of v.committee) lines.push(`    ${s.verifier}  ${s.vote}`);
  }
  lines.push(`verdict: ${v.verdict.toUpperCase()} — ${v.summary}`);
  return lines.join("\n");
}
