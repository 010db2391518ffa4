/**
 * The reference executor of the integer profile: the written semantics of docs/FRAUD-PROOFS.md, computed exactly.
 * The dot product is exact in doubles (every partial sum is below 2^31 by the profile's bound); the product with M
 * and the division use BigInt, whose `/` truncates toward zero like ONNX integer Div and Solidity's signed `/`.
 * This is the truth a worker serves and a judge enforces; ONNX Runtime is only cross-checked against it.
 */
import { checkLayers, clampRange, type Activation, type DenseLayer } from "./profile";

/** Every step of one neuron, named as in docs/FRAUD-PROOFS.md. */
export interface NeuronSteps {
  /** Σ_i x[i]·W[i][j]. */
  sum: number;
  /** acc = sum + b[j]. */
  acc: number;
  /** acc·M. */
  scaled: bigint;
  /** acc·M + 2^(s-1). */
  numerator: bigint;
  /** trunc(numerator / 2^s). */
  quotient: bigint;
  /** The quotient clamped to the activation's range: the int8 output. */
  value: number;
}

/** Every step of one layer, one element per neuron; the arrays have the types of the ONNX pattern's tensors. */
export interface LayerSteps {
  /** MatMulInteger's output. */
  sum: Int32Array;
  /** After Add(bias). */
  acc: Int32Array;
  /** After Cast(int64) and Mul(M). */
  scaled: BigInt64Array;
  /** After Add(2^(s-1)). */
  numerator: BigInt64Array;
  /** After Div(2^s). */
  quotient: BigInt64Array;
  /** After Clip and Cast(int8): the layer's activation vector. */
  value: Int8Array;
}

/** A reference run: the activation vectors x0 (the input) .. xL (the output), and every layer's steps. */
export interface ReferenceTrace {
  vectors: Int8Array[];
  steps: LayerSteps[];
}

/** The input vector does not fit the first layer. */
export class ReferenceInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReferenceInputError";
  }
}

/**
 * v = clamp(trunc((acc·M + 2^(s-1)) / 2^s)) for one accumulator: the requantization every neuron ends with.
 * Returns the intermediate values too.
 */
export function requantize(
  acc: number,
  multiplier: number,
  shift: number,
  activation: Activation,
): Omit<NeuronSteps, "sum" | "acc"> {
  const scaled = BigInt(acc) * BigInt(multiplier);
  const numerator = scaled + (1n << BigInt(shift - 1));
  const quotient = numerator / (1n << BigInt(shift)); // BigInt division truncates toward zero.
  const [lo, hi] = clampRange(activation);
  const value = quotient < BigInt(lo) ? lo : quotient > BigInt(hi) ? hi : Number(quotient);
  return { scaled, numerator, quotient, value };
}

/** Neuron j of a layer on input x (nIn int8 values), with every step. */
export function neuronSteps(layer: DenseLayer, x: Int8Array, j: number): NeuronSteps {
  let sum = 0;
  for (let i = 0; i < layer.nIn; i++) sum += x[i] * layer.weights[i * layer.nOut + j];
  const acc = sum + layer.bias[j];
  return { sum, acc, ...requantize(acc, layer.multiplier, layer.shift, layer.activation) };
}

/** One layer on input x, every neuron with every step. */
export function layerSteps(layer: DenseLayer, x: Int8Array): LayerSteps {
  const n = layer.nOut;
  const steps: LayerSteps = {
    sum: new Int32Array(n),
    acc: new Int32Array(n),
    scaled: new BigInt64Array(n),
    numerator: new BigInt64Array(n),
    quotient: new BigInt64Array(n),
    value: new Int8Array(n),
  };
  for (let j = 0; j < n; j++) {
    const s = neuronSteps(layer, x, j);
    steps.sum[j] = s.sum;
    steps.acc[j] = s.acc;
    steps.scaled[j] = s.scaled;
    steps.numerator[j] = s.numerator;
    steps.quotient[j] = s.quotient;
    steps.value[j] = s.value;
  }
  return steps;
}

/**
 * Runs the layers on x0 and returns every activation vector and every step. Checks the layers first (LayerError)
 * and that x0 is an Int8Array of the first layer's input width (ReferenceInputError).
 */
export function runReference(layers: readonly DenseLayer[], x0: Int8Array): ReferenceTrace {
  checkLayers(layers);
  if (!(x0 instanceof Int8Array) || x0.length !== layers[0].nIn) {
    throw new ReferenceInputError(`the input must be an Int8Array of ${layers[0].nIn} values`);
  }
  const vectors: Int8Array[] = [Int8Array.from(x0)];
  const steps: LayerSteps[] = [];
  for (const layer of layers) {
    const s = layerSteps(layer, vectors[vectors.length - 1]);
    steps.push(s);
    vectors.push(s.value);
  }
  return { vectors, steps };
}
