/**
 * Running a job: resolve the model version in the registry, fetch and check the model, decode the input (inline
 * or by URI), run the model. A Proven job's model is read as a profile model and its input as the one vector x0;
 * its run is a trace (the reference executor, cross-checked by ONNX Runtime). Every way a job can be unrunnable
 * is a JobFailure with a reason label, never a guess: the worker leaves such jobs, the verifier decides its vote
 * from the reason.
 */
import { EventLog, getBytes, ZeroHash } from "ethers";
import type { ModelRegistry } from "../../../typechain-types";
import { CodecError, decodeTensors, type Tensor } from "../../../packages/sdk/src/codec";
import { ProfileError } from "../../proven/check";
import { findFirstFraud, type Fraud, type PostedResult } from "../../proven/judge";
import { computeTrace, readProvenInput, TraceMismatchError, type Trace } from "../../proven/trace";
import type { LogReader } from "../../../packages/sdk/src/events";
import type { JobRecord } from "../clients/chain";
import {
  FetchError,
  HashMismatchError,
  WeightsRootMismatchError,
  fetchInput,
  type FetchOptions,
  type ModelRef,
  type ModelStore,
  type ProvenModel,
} from "../clients/models";
import { ModelInputError, ModelLoadError, runModel, type LoadedModel } from "../../../packages/sdk/src/onnx";
import {
  checkInputs,
  checkSignatureFits,
  declaredSignature,
  SignatureError,
  SignatureMismatchError,
  type IoSignature,
} from "../../../packages/sdk/src/signature";

/** Why a job cannot be run. Model reasons say nothing about the input; input reasons condemn any output. */
export type FailureReason =
  | "model-unknown" // the registry has no such version
  | "model-unfetchable"
  | "model-hash-mismatch"
  | "model-weights-root-mismatch" // the file's weights root is not the registry's (or the file is no profile model)
  | "model-signature-mismatch" // the file does not take the version's declared signature, or it cannot be read
  | "model-not-onnx"
  | "model-not-profile" // a Proven job's file is not an integer profile model
  | "input-unfetchable"
  | "input-hash-mismatch"
  | "input-invalid" // not a valid tensor encoding
  | "input-mismatch" // does not fit the model's declared inputs
  | "inference-error"
  | "trace-mismatch"; // ONNX Runtime disagrees with the reference executor on this machine: a Proven model not served

export class JobFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "JobFailure";
  }

  /**
   * Whether the model or input could not be fetched for now (a transient FetchError): the job is tried again on a
   * later tick while its window allows, unlike every other failure, which is final.
   */
  get transient(): boolean {
    return this.cause instanceof FetchError && this.cause.transient;
  }

  /** Whether nothing was fetched because the source is in its backoff after failing lately. */
  get waiting(): boolean {
    return this.cause instanceof FetchError && this.cause.retryAt !== undefined;
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
  /** The reader of the registry's VersionPublished events, and the first block with protocol events. */
  logs: { reader: LogReader; fromBlock: number };
}

/** Published versions by registry, model and version: a version never changes once published. */
const versions = new Map<string, Promise<Awaited<ReturnType<ModelRegistry["getVersion"]>>>>();

/** The registry's record of a version, read once per process (a failed read is not kept). */
function getVersion(registry: ModelRegistry, modelId: bigint, version: bigint) {
  const key = `${String(registry.target).toLowerCase()}:${modelId}:${version}`;
  let found = versions.get(key);
  if (found === undefined) {
    found = registry.getVersion(modelId, version);
    versions.set(key, found);
    found.catch(() => versions.delete(key));
  }
  return found;
}

export async function modelRef(registry: ModelRegistry, modelId: bigint, version: bigint): Promise<ModelRef> {
  try {
    const v = await getVersion(registry, modelId, version);
    return {
      modelId,
      version,
      contentHash: v.contentHash,
      uri: v.uri,
      weightsRoot: v.weightsRoot,
      ioSignatureHash: v.ioSignatureHash,
    };
  } catch (cause) {
    const name = (cause as { revert?: { name?: string } }).revert?.name;
    if (name === "ModelRegistryUnknownVersion" || name === "ModelRegistryUnknownModel") {
      throw new JobFailure("model-unknown", `model ${modelId} has no version ${version}`, { cause });
    }
    throw cause; // an RPC error: not the job's fault
  }
}

/** A model store's error as the JobFailure it means; anything else is rethrown. */
function modelFailure(e: unknown): never {
  if (e instanceof FetchError) throw new JobFailure("model-unfetchable", e.message, { cause: e });
  if (e instanceof HashMismatchError) throw new JobFailure("model-hash-mismatch", e.message, { cause: e });
  if (e instanceof WeightsRootMismatchError) {
    throw new JobFailure("model-weights-root-mismatch", e.message, { cause: e });
  }
  if (e instanceof ModelLoadError) throw new JobFailure("model-not-onnx", e.message, { cause: e });
  if (e instanceof ProfileError) {
    throw new JobFailure("model-not-profile", `the model is not an integer profile model: ${e.message}`, { cause: e });
  }
  throw e;
}

/** Loads the job's model, mapping fetch, hash and load errors to JobFailure. */
export async function loadJobModel(deps: ExecuteDeps, rec: JobRecord): Promise<{ model: LoadedModel; ref: ModelRef }> {
  const ref = await modelRef(deps.registry, BigInt(rec.job.modelId), BigInt(rec.job.version));
  return { model: await deps.models.load(ref).catch(modelFailure), ref };
}

/** Loads a Proven job's model as a profile model (layers and Merkle tree), mapping errors to JobFailure. */
export async function loadProvenModel(
  deps: ExecuteDeps,
  rec: JobRecord,
): Promise<{ model: ProvenModel; ref: ModelRef }> {
  const ref = await modelRef(deps.registry, BigInt(rec.job.modelId), BigInt(rec.job.version));
  return { model: await deps.models.profile(ref).catch(modelFailure), ref };
}

/** The job's input bytes: inline, or fetched from its URI and checked against the job's input hash. */
export async function jobInputBytes(deps: ExecuteDeps, rec: JobRecord): Promise<Uint8Array> {
  if (!rec.inputUri) return getBytes(rec.input);
  try {
    return await fetchInput(rec.inputUri, rec.job.inputHash, deps.fetch);
  } catch (e) {
    if (e instanceof HashMismatchError) throw new JobFailure("input-hash-mismatch", e.message, { cause: e });
    if (e instanceof FetchError) throw new JobFailure("input-unfetchable", e.message, { cause: e });
    throw e;
  }
}

/** The job's input tensors. */
export async function jobInput(deps: ExecuteDeps, rec: JobRecord): Promise<Tensor[]> {
  const bytes = await jobInputBytes(deps, rec);
  try {
    return decodeTensors(bytes);
  } catch (e) {
    if (e instanceof CodecError) throw new JobFailure("input-invalid", `input: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Declared signatures by registry, model and version: a version never changes. */
const signatures = new Map<string, Promise<IoSignature>>();

/**
 * The signature a version declares (null for none), from its VersionPublished event, checked against the stored
 * hash. Throws JobFailure "model-signature-mismatch" when the event is missing or does not match.
 */
export async function versionSignature(
  registry: ModelRegistry,
  ref: ModelRef,
  logs: ExecuteDeps["logs"],
): Promise<IoSignature | null> {
  const hash = ref.ioSignatureHash;
  if (hash === undefined || hash === ZeroHash) return null;
  const key = `${await registry.getAddress()}:${ref.modelId}:${ref.version}`;
  let found = signatures.get(key);
  if (found === undefined) {
    found = (async () => {
      const filter = registry.filters.VersionPublished(ref.modelId, ref.version);
      const events = await logs.reader.events(registry, filter, logs.fromBlock);
      const event = events.find((e) => e instanceof EventLog);
      if (event === undefined) {
        throw new JobFailure(
          "model-signature-mismatch",
          `model ${ref.modelId} version ${ref.version}: no VersionPublished carries its signature (hash ${hash})`,
        );
      }
      try {
        // Not null: the hash is not zero.
        return declaredSignature(getBytes(event.args.ioSignature), hash)!;
      } catch (e) {
        if (!(e instanceof SignatureError)) throw e;
        throw new JobFailure("model-signature-mismatch", `the declared signature: ${e.message}`, { cause: e });
      }
    })();
    signatures.set(key, found);
    found.catch(() => signatures.delete(key));
  }
  return found;
}

/**
 * Checks the job's input against its version's declared signature, and the model file against the signature
 * (a file that does not take its own signature is refused, as a root mismatch is).
 */
export async function checkDeclared(
  deps: ExecuteDeps,
  ref: ModelRef,
  model: { inputs: LoadedModel["inputs"]; outputs: LoadedModel["outputs"] } | null,
  input: Tensor[],
): Promise<void> {
  const signature = await versionSignature(deps.registry, ref, deps.logs);
  if (signature === null) return;
  if (model !== null) {
    try {
      checkSignatureFits(signature, model);
    } catch (e) {
      if (!(e instanceof SignatureMismatchError)) throw e;
      throw new JobFailure(
        "model-signature-mismatch",
        `model ${ref.modelId} version ${ref.version}: the file does not take its declared signature: ${e.message}`,
        { cause: e },
      );
    }
  }
  try {
    checkInputs(signature, input);
  } catch (e) {
    if (!(e instanceof SignatureMismatchError)) throw e;
    throw new JobFailure("input-mismatch", `the input does not conform to the declared signature: ${e.message}`, {
      cause: e,
    });
  }
}

/** Runs the job's model on its input. Throws JobFailure for anything wrong with model or input. */
export async function executeJob(deps: ExecuteDeps, rec: JobRecord): Promise<Tensor[]> {
  const { model, ref } = await loadJobModel(deps, rec);
  const input = await jobInput(deps, rec);
  await checkDeclared(deps, ref, model, input);
  try {
    return await runModel(model, input);
  } catch (e) {
    if (e instanceof ModelInputError) throw new JobFailure("input-mismatch", e.message, { cause: e });
    throw new JobFailure("inference-error", `inference failed: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * A Proven job's input as the model's x0: exactly one int8 [1, n0] tensor under the model's input name, as
 * `encodeProvenInput` writes it. Throws JobFailure "input-invalid" for bytes that are not one int8 vector (read as
 * the judge reads them) and "input-mismatch" for another name or width.
 */
export function provenInput(bytes: Uint8Array, model: ProvenModel["model"]): Int8Array {
  const read = readProvenInput(bytes);
  if (!read.ok) {
    throw new JobFailure("input-invalid", `a Proven input is one int8 [1, n] tensor; this one: ${read.reason}`);
  }
  const n0 = model.layers[0].nIn;
  let name: string | undefined;
  try {
    name = decodeTensors(bytes)[0].name;
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    throw new JobFailure("input-invalid", `input: ${e.message}`, { cause: e });
  }
  if (name !== model.inputName) {
    throw new JobFailure(
      "input-mismatch",
      `input ${JSON.stringify(name)}: the model's input is ${JSON.stringify(model.inputName)}`,
    );
  }
  if (read.x0.length !== n0) {
    throw new JobFailure(
      "input-mismatch",
      `input ${JSON.stringify(name)}: ${read.x0.length} values, the model takes ${n0}`,
    );
  }
  return read.x0;
}

/** A Proven job's run: the model and the trace the worker posts. */
export interface ProvenRun {
  model: ProvenModel;
  trace: Trace;
}

/**
 * Runs a Proven job: the profile model (weights root checked), its input as x0, the trace computed by the reference
 * executor and cross-checked by ONNX Runtime. Throws JobFailure for anything wrong with model or input, and
 * "trace-mismatch" when ONNX Runtime disagrees with the reference (this machine must not serve the model).
 */
export async function executeProvenJob(deps: ExecuteDeps, rec: JobRecord): Promise<ProvenRun> {
  const { model, ref } = await loadProvenModel(deps, rec);
  const bytes = await jobInputBytes(deps, rec);
  const x0 = provenInput(bytes, model.model);
  await checkDeclared(deps, ref, null, decodeTensors(bytes));
  const runtime = await deps.models.profileRuntime(ref).catch(modelFailure);
  try {
    return { model, trace: await computeTrace(runtime, x0) };
  } catch (e) {
    if (e instanceof TraceMismatchError) throw new JobFailure("trace-mismatch", e.message, { cause: e });
    throw new JobFailure("inference-error", `inference failed: ${(e as Error).message}`, { cause: e });
  }
}

/** A Proven result checked as a judge would: the model, what was posted, and the first fault a proof can convict. */
export interface ProvenCheck {
  model: ProvenModel;
  ref: ModelRef;
  posted: PostedResult;
  /** undefined when every posted neuron follows from the vector before it: no proof can succeed. */
  fraud?: Fraud;
}

/**
 * Checks the `output` posted for a Proven job (findFirstFraud on the job's input bytes and the output, against the
 * profile model with its weights root checked). Throws JobFailure when the model or the input cannot be had.
 */
export async function checkProvenResult(deps: ExecuteDeps, rec: JobRecord, output: Uint8Array): Promise<ProvenCheck> {
  const { model, ref } = await loadProvenModel(deps, rec);
  const posted: PostedResult = { input: await jobInputBytes(deps, rec), output };
  return { model, ref, posted, fraud: findFirstFraud(model.model.layers, posted) };
}
