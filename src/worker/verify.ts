/**
 * `verify-job`: re-checks a past job from chain data alone. Reads the job's events (request with input and
 * tolerance, submission with output, committee, votes, settlement), checks that the requested record hashes to
 * the job's id (`jobIdOf`, as the escrow holds every later call to that record), fetches the model from the
 * registry's URI and checks its sha256 (and its weights root, when the version has one), re-runs the input,
 * compares with the posted output within the job's tolerance, and gives a verdict next to the committee's votes
 * and the chain's outcome.
 */
import { getBytes, keccak256, toBeHex, zeroPadValue, type Provider } from "ethers";
import { compareOutputs, CodecError, decodeTensors } from "../codec";
import { jobIdOf, toJob } from "../job";
import { JobOutcome, JobStatus, VerificationMode, VoteState } from "../params";
import { IRandomnessSource__factory } from "../factories";
import { chainTime, connect, EventReader, jobToJson, type JobRecord, type ProtocolAddresses } from "./chain";
import { JobFailure, jobInput, loadJobModel, type ExecuteDeps } from "./execute";
import type { FetchOptions, ModelStore } from "./models";
import { runModel } from "./onnx";
import type { RetryOptions } from "./sender";

const name = <T extends Record<string, number>>(table: T, value: number): string =>
  Object.keys(table).find((k) => table[k] === value) ?? String(value);

export type Verdict = "correct" | "wrong" | "no-output" | "unverifiable";

export interface JobVerdict {
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
  if (!requested) throw new Error(`job ${jobId}: no JobRequested event from block ${deps.addresses.startBlock}`);
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
    jobId: jobId.toString(),
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

  const execDeps: ExecuteDeps = { registry: contracts.registry, models: deps.models, fetch: deps.fetch };
  try {
    const { model, ref } = await loadJobModel(execDeps, rec);
    Object.assign(verdict.model, { contentHash: ref.contentHash, uri: ref.uri, hashOk: true });
    const input = await jobInput(execDeps, rec);
    verdict.input.bytes = rec.inputUri ? undefined : getBytes(rec.input).length;
    if (!rec.output) {
      verdict.verdict = "no-output";
      verdict.summary = "no output was posted";
      return verdict;
    }
    let posted;
    try {
      posted = decodeTensors(getBytes(rec.output));
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      verdict.rerun = { agree: false, reason: `posted output is not a valid tensor encoding: ${e.message}` };
      verdict.verdict = "wrong";
      verdict.summary = verdict.rerun.reason!;
      return verdict;
    }
    let mine;
    try {
      mine = await runModel(model, input);
    } catch (e) {
      throw new JobFailure("input-mismatch", (e as Error).message, { cause: e });
    }
    const c = compareOutputs(posted, mine, verdict.tolerance);
    verdict.rerun = { agree: c.agree, reason: c.reason, maxAbsDiff: c.maxAbsDiff };
    verdict.verdict = c.agree ? "correct" : "wrong";
    verdict.summary = c.agree
      ? `the posted output matches a re-execution within tolerance (max |diff| ${c.maxAbsDiff})`
      : `the posted output is wrong: ${c.reason}`;
  } catch (e) {
    if (!(e instanceof JobFailure)) throw e;
    if (e.reason.startsWith("model")) {
      if (e.reason !== "model-hash-mismatch" && e.reason !== "model-unfetchable" && e.reason !== "model-unknown") {
        verdict.model.hashOk = true; // fetched and checked, then failed to load
      }
      verdict.model.error = `${e.reason}: ${e.message}`;
      verdict.verdict = rec.output ? "unverifiable" : "no-output";
      verdict.summary = `cannot re-execute: ${e.message}`;
    } else {
      verdict.input.error = `${e.reason}: ${e.message}`;
      verdict.verdict = rec.output ? "wrong" : "no-output";
      verdict.summary = `the input does not run on the model (${e.message}), so no output can be right`;
    }
  }
  return verdict;
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

/** A human-readable report of a verdict. */
export function formatVerdict(v: JobVerdict): string {
  const lines = [
    `job #${v.record.nonce} (${v.mode}) — status ${v.status}${v.outcome ? `, outcome ${v.outcome}` : ""}`,
    `  id         ${v.jobId} ${v.record.hashOk ? "(the hash of its record: ok)" : "(NOT the hash of its record)"}`,
    `  requester  ${v.requester}`,
    `  model      ${v.model.modelId} v${v.model.version} ${v.model.uri ?? ""}`,
    `  sha256     ${v.model.contentHash ?? "?"} ${v.model.hashOk ? "ok" : `NOT OK${v.model.error ? ` (${v.model.error})` : ""}`}`,
    `  input      ${v.input.source}${v.input.bytes !== undefined ? `, ${v.input.bytes} bytes` : ""}${v.input.error ? ` — ${v.input.error}` : ""}`,
    v.output
      ? `  output     ${v.output.bytes} bytes by ${v.output.worker}, keccak256 ${v.output.hash}${v.output.hashOnChain ? "" : " (NOT the hash on chain)"}`
      : "  output     none",
    `  tolerance  rel ${v.tolerance.relTolerance} ppb, abs ${v.tolerance.absTolerance} ppb`,
  ];
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
