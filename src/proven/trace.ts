/**
 * A Proven job's trace: the activation vectors x0 (the input) .. xL (the output), their hashes
 * hℓ = keccak256(the nℓ int8 bytes of xℓ), and the commitment keccak256(h0 ‖ h1 ‖ ... ‖ hL) the escrow stores
 * (docs/FRAUD-PROOFS.md, "Trace commitment"). computeTrace is the worker's way to a trace: the reference executor
 * first, ONNX Runtime as a cross-check that refuses to serve on any disagreement.
 */
import { concat, keccak256 } from "ethers";
import { encodeTensors, type Tensor } from "../codec";
import { runReference } from "./reference";
import type { ProfileRuntime } from "./runtime";

/** A trace and its commitment. */
export interface Trace {
  vectors: Int8Array[];
  hashes: string[];
  commitment: string;
}

/** A vector's bytes: its int8 values as two's complement bytes, in order (a view, not a copy). */
export function vectorBytes(vector: Int8Array): Uint8Array {
  return new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength);
}

/** hℓ = keccak256 of the vector's bytes. */
export function vectorHash(vector: Int8Array): string {
  return keccak256(vectorBytes(vector));
}

/** keccak256(h0 ‖ h1 ‖ ... ‖ hL). */
export function traceCommitment(hashes: readonly string[]): string {
  return keccak256(concat([...hashes]));
}

/** The hashes and commitment of the vectors. */
export function commitTrace(vectors: readonly Int8Array[]): Trace {
  const hashes = vectors.map(vectorHash);
  return { vectors: [...vectors], hashes, commitment: traceCommitment(hashes) };
}

/** The input or output tensor that carries a vector: int8, shape [1, n]. */
export function vectorTensor(name: string, vector: Int8Array): Tensor {
  return { name, type: "int8", shape: [1, vector.length], data: vector };
}

/**
 * The TML1 bytes (docs/TENSOR-ENCODING.md) that precede the data when the one tensor `name`, int8 [1, n], is
 * encoded: encodeTensors([vectorTensor(name, x)]) = tensorPrefix(name, n) ‖ x. So a job's input hash is
 * keccak256(prefix ‖ x0) and its output hash keccak256(prefix ‖ xL): a contract that knows the prefix checks h0
 * and hL against them from the vectors alone.
 */
export function tensorPrefix(name: string, width: number): Uint8Array {
  const encoded = encodeTensors([vectorTensor(name, new Int8Array(width))]);
  return encoded.slice(0, encoded.length - width);
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
  const reference = runReference(runtime.parsed.model.layers, x0).vectors;
  const ort = (await runtime.run(x0)).vectors;
  for (let layer = 1; layer < reference.length; layer++) {
    const [a, b] = [reference[layer], ort[layer]];
    for (let j = 0; j < a.length; j++) if (a[j] !== b[j]) throw new TraceMismatchError(layer, j, a[j], b[j]);
  }
  return commitTrace(reference);
}
