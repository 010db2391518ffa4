/**
 * ONNX Runtime adapter: loads a model from its bytes and runs it on codec tensors (packages/sdk/src/codec).
 *
 * Inputs are checked against the model's declared inputs before anything runs: the names must match exactly,
 * each element type must be the declared one, and each shape must fit the declared shape (same rank; fixed
 * dimensions equal; symbolic or unknown dimensions take any size; an input declared without a shape takes any
 * rank). A mismatch throws ModelInputError naming the input. Bytes that ONNX Runtime cannot load throw
 * ModelLoadError with the runtime's error as `cause`.
 *
 * Sessions default to one thread and sequential execution (DEFAULT_SESSION_OPTIONS), so a worker and a
 * verifier running the same model on the same CPU build produce the same bits.
 */
import * as ort from "onnxruntime-node";
import { onnx } from "onnx-proto";
import { CodecError, isElementType, validateTensors, type ElementType, type Tensor, type TensorData } from "./codec";

/** A declared input or output. */
export interface ValueInfo {
  name: string;
  type: ElementType;
  /**
   * The declared shape: a number is a fixed size, a string a symbolic dimension of any size ("" when unnamed).
   * null when the model declares no shape (any rank).
   */
  shape: (number | string)[] | null;
}

/** A loaded model: the session and its declared inputs and outputs, in the model's order. */
export interface LoadedModel {
  session: ort.InferenceSession;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

/** The bytes are not a model ONNX Runtime can load, or the model uses values the codec cannot carry. */
export class ModelLoadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ModelLoadError";
  }
}

/** The inputs given do not fit the model's declared inputs. */
export class ModelInputError extends Error {
  /** The input concerned, when there is one. */
  readonly input?: string;

  constructor(message: string, input?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ModelInputError";
    this.input = input;
  }
}

/** One intra-op and one inter-op thread, sequential execution, all graph optimizations. */
export const DEFAULT_SESSION_OPTIONS: Readonly<ort.InferenceSession.SessionOptions> = Object.freeze({
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
});

const quote = (s: string): string => JSON.stringify(s);

function formatShape(shape: readonly (number | string)[] | null): string {
  if (shape === null) return "(any shape)";
  return `[${shape.map((d) => (typeof d === "number" ? String(d) : d === "" ? "?" : d)).join(",")}]`;
}

/**
 * Which graph inputs and outputs declare a shape. ONNX Runtime reports both "no shape" and "rank 0" as [], so
 * an empty shape is resolved by reading the model itself.
 */
function declaredShapes(bytes: Uint8Array): Map<string, boolean> | undefined {
  try {
    const graph = onnx.ModelProto.decode(bytes).graph;
    const result = new Map<string, boolean>();
    for (const v of [...(graph?.input ?? []), ...(graph?.output ?? [])]) {
      result.set(v.name ?? "", v.type?.tensorType?.shape != null);
    }
    return result;
  } catch {
    return undefined;
  }
}

function describeValues(
  kind: "input" | "output",
  metadata: readonly ort.InferenceSession.ValueMetadata[],
  bytes: Uint8Array,
): ValueInfo[] {
  let shapes: Map<string, boolean> | undefined | null = null;
  return metadata.map((m) => {
    if (!m.isTensor) throw new ModelLoadError(`model ${kind} ${quote(m.name)} is not a tensor`);
    if (!isElementType(m.type)) {
      throw new ModelLoadError(
        `model ${kind} ${quote(m.name)} has element type ${m.type}, which the codec cannot carry`,
      );
    }
    let shape: (number | string)[] | null = m.shape.map((d) => (typeof d === "number" && d < 0 ? "" : d));
    if (shape.length === 0) {
      if (shapes === null) shapes = declaredShapes(bytes);
      // Unreadable by onnx-proto (should not happen once ONNX Runtime loaded it): leave the rank unchecked.
      if (shapes?.get(m.name) !== true) shape = null;
    }
    return { name: m.name, type: m.type, shape };
  });
}

/**
 * Loads an ONNX model from its bytes. Throws ModelLoadError when ONNX Runtime rejects the bytes (the runtime's
 * error is the cause) or when an input or output is not a tensor of a codec element type.
 */
export async function loadModel(
  bytes: Uint8Array,
  options: ort.InferenceSession.SessionOptions = DEFAULT_SESSION_OPTIONS,
): Promise<LoadedModel> {
  if (!(bytes instanceof Uint8Array)) throw new ModelLoadError("model bytes must be a Uint8Array");
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { ...options });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ModelLoadError(`cannot load the model (${bytes.length} bytes) as ONNX: ${reason}`, { cause });
  }
  try {
    return {
      session,
      inputs: describeValues("input", session.inputMetadata, bytes),
      outputs: describeValues("output", session.outputMetadata, bytes),
    };
  } catch (e) {
    await session.release();
    throw e;
  }
}

/** Checks that `inputs` fit the model's declared inputs; throws ModelInputError naming the input otherwise. */
export function checkInputs(model: LoadedModel, inputs: readonly Tensor[]): void {
  if (!Array.isArray(inputs)) throw new ModelInputError("inputs must be an array of tensors");
  const declared = new Map(model.inputs.map((i) => [i.name, i]));
  const expected = model.inputs.map((i) => quote(i.name)).join(", ");
  const seen = new Set<string>();
  for (const t of inputs) {
    const name = t?.name;
    if (seen.has(name)) throw new ModelInputError(`input ${quote(name)} is given twice`, name);
    seen.add(name);
    if (!declared.has(name)) {
      throw new ModelInputError(`unexpected input ${quote(String(name))}; the model's inputs are ${expected}`, name);
    }
  }
  for (const d of model.inputs) {
    if (!seen.has(d.name)) {
      throw new ModelInputError(`missing input ${quote(d.name)} (${d.type} ${formatShape(d.shape)})`, d.name);
    }
  }
  try {
    validateTensors(inputs as Tensor[]);
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    throw new ModelInputError(`invalid input: ${e.message}`, e.tensor, { cause: e });
  }
  for (const t of inputs) {
    const d = declared.get(t.name)!;
    const label = `input ${quote(t.name)}`;
    if (t.type !== d.type) {
      throw new ModelInputError(`${label}: element type ${t.type}, the model expects ${d.type}`, t.name);
    }
    if (d.shape === null) continue;
    if (t.shape.length !== d.shape.length) {
      throw new ModelInputError(
        `${label}: rank ${t.shape.length} (shape ${formatShape(t.shape)}), the model expects rank ` +
          `${d.shape.length} (${formatShape(d.shape)})`,
        t.name,
      );
    }
    d.shape.forEach((want, axis) => {
      if (typeof want === "number" && t.shape[axis] !== want) {
        throw new ModelInputError(
          `${label}: dimension ${axis} is ${t.shape[axis]}, the model expects ${want} ` +
            `(shape ${formatShape(t.shape)}, model ${formatShape(d.shape)})`,
          t.name,
        );
      }
    });
  }
}

function toOrt(t: Tensor): ort.Tensor {
  switch (t.type) {
    case "float32":
      return new ort.Tensor("float32", t.data as Float32Array, t.shape);
    case "float64":
      return new ort.Tensor("float64", t.data as Float64Array, t.shape);
    case "int32":
      return new ort.Tensor("int32", t.data as Int32Array, t.shape);
    case "int64":
      return new ort.Tensor("int64", t.data as BigInt64Array, t.shape);
    case "uint8":
      return new ort.Tensor("uint8", t.data as Uint8Array, t.shape);
    case "int8":
      return new ort.Tensor("int8", t.data as Int8Array, t.shape);
    case "bool":
      return new ort.Tensor("bool", t.data as Uint8Array, t.shape);
  }
}

function fromOrt(name: string, value: ort.OnnxValue | undefined): Tensor {
  if (!(value instanceof ort.Tensor)) throw new Error(`ONNX Runtime returned no tensor for output ${quote(name)}`);
  const type = value.type;
  if (!isElementType(type)) throw new Error(`output ${quote(name)} has element type ${type}, not a codec type`);
  // Copies (same-type slice copies the bytes, so NaN payloads survive); the result owns its arrays.
  const data = (value.data as TensorData).slice();
  return { name, type, shape: [...value.dims], data };
}

/**
 * Runs the model on `inputs` (any order) and returns its outputs as codec tensors, in the model's output
 * order, with the model's output names. Throws ModelInputError before running when the inputs do not fit.
 */
export async function runModel(model: LoadedModel, inputs: Tensor[]): Promise<Tensor[]> {
  checkInputs(model, inputs);
  const feeds: Record<string, ort.Tensor> = {};
  for (const t of inputs) feeds[t.name] = toOrt(t);
  const results = await model.session.run(feeds);
  const outputs = model.outputs.map((o) => fromOrt(o.name, results[o.name]));
  validateTensors(outputs);
  return outputs;
}
