/**
 * Running a job: resolve the model version in the registry, fetch and check the model, decode the input (inline
 * or by URI), run the model. Every way a job can be unrunnable is a JobFailure with a reason label, never a
 * guess: the worker leaves such jobs, the verifier decides its vote from the reason.
 */
import { getBytes } from "ethers";
import type { ModelRegistry } from "../../typechain-types";
import { CodecError, decodeTensors, encodeTensors, type Tensor } from "../codec";
import type { JobRecord } from "./chain";
import {
  FetchError,
  HashMismatchError,
  WeightsRootMismatchError,
  fetchInput,
  type FetchOptions,
  type ModelRef,
  type ModelStore,
} from "./models";
import { ModelInputError, ModelLoadError, runModel, type LoadedModel } from "./onnx";

/** Why a job cannot be run. Model reasons say nothing about the input; input reasons condemn any output. */
export type FailureReason =
  | "model-unknown" // the registry has no such version
  | "model-unfetchable"
  | "model-hash-mismatch"
  | "model-weights-root-mismatch" // the file's weights root is not the registry's (or the file is no profile model)
  | "model-not-onnx"
  | "input-unfetchable"
  | "input-hash-mismatch"
  | "input-invalid" // not a valid tensor encoding
  | "input-mismatch" // does not fit the model's declared inputs
  | "inference-error";

export class JobFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "JobFailure";
  }

  /** Whether the failure is the input's fault: then no output can be the model's output on it. */
  get inputFault(): boolean {
    return this.reason === "input-invalid" || this.reason === "input-mismatch" || this.reason === "input-hash-mismatch";
  }
}

export interface ExecuteDeps {
  registry: ModelRegistry;
  models: ModelStore;
  fetch: FetchOptions;
}

export async function modelRef(registry: ModelRegistry, modelId: bigint, version: bigint): Promise<ModelRef> {
  try {
    const v = await registry.getVersion(modelId, version);
    return { modelId, version, contentHash: v.contentHash, uri: v.uri, weightsRoot: v.weightsRoot };
  } catch (cause) {
    const name = (cause as { revert?: { name?: string } }).revert?.name;
    if (name === "ModelRegistryUnknownVersion" || name === "ModelRegistryUnknownModel") {
      throw new JobFailure("model-unknown", `model ${modelId} has no version ${version}`, { cause });
    }
    throw cause; // an RPC error: not the job's fault
  }
}

/** Loads the job's model, mapping fetch, hash and load errors to JobFailure. */
export async function loadJobModel(deps: ExecuteDeps, rec: JobRecord): Promise<{ model: LoadedModel; ref: ModelRef }> {
  const ref = await modelRef(deps.registry, BigInt(rec.job.modelId), BigInt(rec.job.version));
  try {
    return { model: await deps.models.load(ref), ref };
  } catch (e) {
    if (e instanceof FetchError) throw new JobFailure("model-unfetchable", e.message, { cause: e });
    if (e instanceof HashMismatchError) throw new JobFailure("model-hash-mismatch", e.message, { cause: e });
    if (e instanceof WeightsRootMismatchError) {
      throw new JobFailure("model-weights-root-mismatch", e.message, { cause: e });
    }
    if (e instanceof ModelLoadError) throw new JobFailure("model-not-onnx", e.message, { cause: e });
    throw e;
  }
}

/** The job's input tensors. */
export async function jobInput(deps: ExecuteDeps, rec: JobRecord): Promise<Tensor[]> {
  let bytes: Uint8Array;
  if (rec.inputUri) {
    try {
      bytes = await fetchInput(rec.inputUri, rec.job.inputHash, deps.fetch);
    } catch (e) {
      if (e instanceof HashMismatchError) throw new JobFailure("input-hash-mismatch", e.message, { cause: e });
      if (e instanceof FetchError) throw new JobFailure("input-unfetchable", e.message, { cause: e });
      throw e;
    }
  } else {
    bytes = getBytes(rec.input);
  }
  try {
    return decodeTensors(bytes);
  } catch (e) {
    if (e instanceof CodecError) throw new JobFailure("input-invalid", `input: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Runs the job's model on its input. Throws JobFailure for anything wrong with model or input. */
export async function executeJob(deps: ExecuteDeps, rec: JobRecord): Promise<Tensor[]> {
  const { model } = await loadJobModel(deps, rec);
  const input = await jobInput(deps, rec);
  try {
    return await runModel(model, input);
  } catch (e) {
    if (e instanceof ModelInputError) throw new JobFailure("input-mismatch", e.message, { cause: e });
    throw new JobFailure("inference-error", `inference failed: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * FAULT INJECTION (demos and tests only): a wrong output of the same names, types and shapes — every number
 * moved by one, every bool flipped — so that it decodes fine and fails every tolerance.
 */
export function corruptOutput(outputs: Tensor[]): Uint8Array {
  const wrong = outputs.map((t) => {
    const data = t.data.slice();
    if (data instanceof BigInt64Array) for (let i = 0; i < data.length; i++) data[i] += 1n;
    else if (t.type === "bool") for (let i = 0; i < data.length; i++) data[i] = data[i] ? 0 : 1;
    else for (let i = 0; i < data.length; i++) (data as Float32Array)[i] = (data as Float32Array)[i] + 1;
    return { ...t, data };
  });
  return encodeTensors(wrong);
}
