/**
 * A Proven job's trace and what the worker posts (docs/FRAUD-PROOFS.md, "Encodings"): the activation vectors x0
 * (the input) .. xL (the output), and the posted output, one TML1 list holding xL under the model's output name
 * followed by x1 .. x(L-1), each named after the output with "/" and its layer in five digits. The output hash the
 * escrow stores for every job therefore commits to every hidden vector, and the job's input hash to x0.
 * `readPostedOutput` and `readProvenInput` read those encodings exactly as the Solidity judge does (the same checks,
 * in the same order), so a verifier knows which postings a judge convicts. computeTrace is the worker's way to a
 * trace: the reference executor first, ONNX Runtime as a cross-check that refuses to serve on any disagreement.
 */
import { keccak256 } from "ethers";
import { encodeTensors, MAGIC, TYPE_CODES, type Tensor } from "../../packages/sdk/src/codec";
import { runReference } from "./reference";
import type { ProfileRuntime } from "./runtime";

/** A trace and the output a worker posts for it. */
export interface Trace {
  /** x0 .. xL. */
  vectors: Int8Array[];
  /** The posted output: TML1 of xL and x1 .. x(L-1) (encodeProvenOutput). */
  output: Uint8Array;
  /** keccak256 of `output`: the job's output hash. */
  outputHash: string;
}

/** A vector's bytes: its int8 values as two's complement bytes, in order (a view, not a copy). */
export function vectorBytes(vector: Int8Array): Uint8Array {
  return new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength);
}

/** The tensor that carries a vector: int8, shape [1, n]. */
export function vectorTensor(name: string, vector: Int8Array): Tensor {
  return { name, type: "int8", shape: [1, vector.length], data: vector };
}

/** The largest layer number a trace tensor's name can carry (five digits; L is at most 65535 anyway). */
const MAX_NAMED_LAYER = 99_999;

/** The name of the hidden vector xℓ in a posted output: the output's name, "/", ℓ in five digits ("scores/00002"). */
export function traceTensorName(outputName: string, layer: number): string {
  if (!Number.isInteger(layer) || layer < 1 || layer > MAX_NAMED_LAYER) {
    throw new RangeError(`a hidden vector's layer must be an integer in 1..${MAX_NAMED_LAYER}, got ${layer}`);
  }
  return `${outputName}/${String(layer).padStart(5, "0")}`;
}

/** The job input a Proven model takes: TML1 of the one tensor `inputName`, int8 [1, n0], holding x0. */
export function encodeProvenInput(inputName: string, x0: Int8Array): Uint8Array {
  return encodeTensors([vectorTensor(inputName, x0)]);
}

/**
 * The output a worker posts for the vectors x1 .. xL (`vectors`, without x0): TML1 of xL under `outputName` and
 * each hidden xℓ under traceTensorName(outputName, ℓ). TML1 sorts by name, and the output's name is a prefix of the
 * others, so the list holds xL, x1, x2, …, x(L-1) in that order.
 */
export function encodeProvenOutput(outputName: string, vectors: readonly Int8Array[]): Uint8Array {
  if (vectors.length === 0) throw new RangeError("a posted output needs at least the output vector");
  if (outputName.includes("/")) throw new RangeError(`a profile output name has no "/", got ${outputName}`);
  const last = vectors.length - 1;
  const hidden = vectors.slice(0, last).map((v, k) => vectorTensor(traceTensorName(outputName, k + 1), v));
  return encodeTensors([vectorTensor(outputName, vectors[last]), ...hidden]);
}

/** The trace of x0 .. xL and the output posted for it. */
export function traceOf(outputName: string, vectors: readonly Int8Array[]): Trace {
  const output = encodeProvenOutput(outputName, vectors.slice(1));
  return { vectors: [...vectors], output, outputHash: keccak256(output) };
}

/** Where a read stopped: what is wrong, and at which tensor (its position in the list). */
export interface EncodingFault {
  ok: false;
  reason: string;
  position?: number;
}

const le = (b: Uint8Array, at: number, size: number): bigint => {
  let v = 0n;
  for (let k = size - 1; k >= 0; k--) v = (v << 8n) | BigInt(b[at + k]);
  return v;
};

/** One int8 [1, n] tensor from byte `at` (the judge's _tensor): its name and data spans, where the next starts. */
function readTensor(
  b: Uint8Array,
  at: number,
): { ok: true; name: Uint8Array; data: Int8Array; next: number } | { ok: false; reason: string } {
  if (at + 2 > b.length) return { ok: false, reason: "truncated before its name length" };
  const nameLength = Number(le(b, at, 2));
  const next = at + 2 + nameLength;
  if (nameLength === 0) return { ok: false, reason: "an empty name" };
  if (next + 18 > b.length) return { ok: false, reason: "truncated before its shape" };
  if (b[next] !== TYPE_CODES.int8) return { ok: false, reason: `element type ${b[next]}, not int8 (3)` };
  if (b[next + 1] !== 2) return { ok: false, reason: `rank ${b[next + 1]}, not 2` };
  if (le(b, next + 2, 8) !== 1n) return { ok: false, reason: `first dimension ${le(b, next + 2, 8)}, not 1` };
  const width = le(b, next + 10, 8);
  const dataAt = next + 18;
  if (width > BigInt(b.length - dataAt)) return { ok: false, reason: `${width} values, past the end` };
  const data = new Int8Array(b.buffer, b.byteOffset + dataAt, Number(width));
  return { ok: true, name: b.subarray(at + 2, next), data, next: dataAt + Number(width) };
}

const magicAndCount = (b: Uint8Array, count: number): string | undefined => {
  if (b.length < 8) return `${b.length} bytes, shorter than the TML1 header`;
  if (MAGIC.some((m, i) => b[i] !== m)) return "not TML1 (wrong magic)";
  const given = le(b, 4, 4);
  return given === BigInt(count) ? undefined : `${given} tensors where the model has ${count}`;
};

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * A posted output of a model of `count` layers, read as the judge reads it: the vectors in list order (xL, x1, …,
 * x(L-1)), or the first departure from the encoding (then any proof convicts, whatever its neuron).
 */
export function readPostedOutput(
  output: Uint8Array,
  count: number,
): { ok: true; positions: Int8Array[] } | EncodingFault {
  const header = magicAndCount(output, count);
  if (header !== undefined) return { ok: false, reason: header };
  const positions: Int8Array[] = [];
  let at = 8;
  let first: Uint8Array | undefined;
  for (let p = 0; p < count; p++) {
    const t = readTensor(output, at);
    if (!t.ok) return { ok: false, reason: `tensor ${p}: ${t.reason}`, position: p };
    if (first === undefined) first = t.name;
    else {
      const suffix = new TextEncoder().encode(`/${String(p).padStart(5, "0")}`);
      const expected = new Uint8Array([...first, ...suffix]);
      if (!sameBytes(t.name, expected)) {
        const shown = new TextDecoder().decode(expected);
        return { ok: false, reason: `tensor ${p} is not named ${JSON.stringify(shown)}`, position: p };
      }
    }
    positions.push(t.data);
    at = t.next;
  }
  if (at !== output.length) return { ok: false, reason: `${output.length - at} bytes after the last tensor` };
  return { ok: true, positions };
}

/** The posted vectors x1 .. xL in layer order, from the list order readPostedOutput returns. */
export function postedVectors(positions: readonly Int8Array[]): Int8Array[] {
  return [...positions.slice(1), positions[0]];
}

/** A job input read as the judge reads it for a neuron of layer 1: x0, or what keeps it from being one vector. */
export function readProvenInput(input: Uint8Array): { ok: true; x0: Int8Array } | EncodingFault {
  const header = magicAndCount(input, 1);
  if (header !== undefined) return { ok: false, reason: header };
  const t = readTensor(input, 8);
  if (!t.ok) return { ok: false, reason: t.reason, position: 0 };
  if (t.next !== input.length) return { ok: false, reason: `${input.length - t.next} bytes after the tensor` };
  return { ok: true, x0: t.data };
}

/** ONNX Runtime and the reference executor computed different bits: the worker must not serve this model here. */
export class TraceMismatchError extends Error {
  /** The first layer (from 1) whose vector differs. */
  readonly layer: number;
  /** The first neuron of it that differs. */
  readonly index: number;
  readonly reference: number;
  readonly runtime: number;

  constructor(layer: number, index: number, reference: number, runtime: number) {
    super(
      `ONNX Runtime disagrees with the reference executor at layer ${layer}, neuron ${index}: ` +
        `reference ${reference}, ONNX Runtime ${runtime}; refusing to serve this model on this machine`,
    );
    this.name = "TraceMismatchError";
    this.layer = layer;
    this.index = index;
    this.reference = reference;
    this.runtime = runtime;
  }
}

/**
 * The worker's trace of x0: computed by the reference executor (exact by construction) and cross-checked against
 * ONNX Runtime running the same file. Throws TraceMismatchError at the first vector element they disagree on.
 */
export async function computeTrace(runtime: ProfileRuntime, x0: Int8Array): Promise<Trace> {
  const model = runtime.parsed.model;
  const reference = runReference(model.layers, x0).vectors;
  const ort = (await runtime.run(x0)).vectors;
  for (let layer = 1; layer < reference.length; layer++) {
    const [a, b] = [reference[layer], ort[layer]];
    for (let j = 0; j < a.length; j++) if (a[j] !== b[j]) throw new TraceMismatchError(layer, j, a[j], b[j]);
  }
  return traceOf(model.outputName, reference);
}
