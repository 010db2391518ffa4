/**
 * Judging a posted tensor output, the one rule the live verifier (roles/verifier.ts) and `verify-job` share:
 * decode the posted output (an output that does not decode is wrong), re-run the job, and compare within the
 * job's tolerance. An input that cannot run on the model condemns any output ("disagree"); a model that cannot be
 * fetched, checked or loaded, or a runtime error of ONNX Runtime, says nothing about the output ("cannot judge"):
 * nobody votes or reports on a guess.
 */
import { getBytes, type BytesLike } from "ethers";
import { CodecError, compareOutputs, decodeTensors, type Tensor } from "../../../packages/sdk/src/codec";
import type { JobRecord } from "../clients/chain";
import { executeJob, JobFailure, type ExecuteDeps } from "./execute";

/** What a re-execution says of a posted output. */
export type Judgment =
  | {
      verdict: "agree" | "disagree";
      reason: string;
      /** Whether the output was compared with a re-execution (else it failed to decode, or the input to run). */
      compared: boolean;
      /** Largest absolute difference, when names, types and shapes matched. */
      maxAbsDiff?: number;
      /** The input's failure, when the input cannot run on the model. */
      failure?: JobFailure;
    }
  | { verdict: "cannot-judge"; reason: string; compared: false; failure: JobFailure };

/** Runs the job's inference; the live verifier passes its own (concurrency limit, metrics). */
export type Rerun = (deps: ExecuteDeps, rec: JobRecord) => Promise<Tensor[]>;

/**
 * Judges `output`, the bytes posted for the job `rec`. Never throws a JobFailure: the failure is in the judgment.
 * Anything else (an RPC error reading the registry) is thrown: it is not the job's fault.
 */
export async function judgeOutput(
  deps: ExecuteDeps,
  rec: JobRecord,
  output: BytesLike,
  rerun: Rerun = executeJob,
): Promise<Judgment> {
  let posted: Tensor[];
  try {
    posted = decodeTensors(getBytes(output));
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    return {
      verdict: "disagree",
      reason: `the posted output is not a valid tensor encoding: ${e.message}`,
      compared: false,
    };
  }
  let mine: Tensor[];
  try {
    mine = await rerun(deps, rec);
  } catch (e) {
    if (!(e instanceof JobFailure)) throw e;
    if (e.inputFault) {
      return {
        verdict: "disagree",
        reason: `the input cannot run on the model: ${e.message}`,
        compared: false,
        failure: e,
      };
    }
    return { verdict: "cannot-judge", reason: `cannot re-execute: ${e.message}`, compared: false, failure: e };
  }
  const c = compareOutputs(posted, mine, { relTolerance: rec.relTolerance, absTolerance: rec.absTolerance });
  return {
    verdict: c.agree ? "agree" : "disagree",
    reason: c.reason ?? `agrees within tolerance (max |diff| ${c.maxAbsDiff})`,
    compared: true,
    maxAbsDiff: c.maxAbsDiff,
  };
}
