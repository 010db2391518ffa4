/**
 * The integer profile of the Proven mode (docs/FRAUD-PROOFS.md): a chain of dense int8 layers whose arithmetic is
 * exact, so a worker, ONNX Runtime and the Solidity judge compute the same bits. This module holds the layer type,
 * the bounds that keep every step inside int32 and int64, and the check of a layer list against them; the other
 * modules of src/proven build on it.
 */

/** The activation of a layer: ReLU clamps to [0, 127], none to [-128, 127]. */
export type Activation = "relu" | "none";

/** One dense layer: x(ℓ) = clamp(trunc((x(ℓ-1)·W + b)·M + 2^(s-1)) / 2^s)). */
export interface DenseLayer {
  /** Input width n(ℓ-1). */
  nIn: number;
  /** Output width nℓ. */
  nOut: number;
  /** W as nIn rows of nOut weights, row-major [nIn][nOut] (the ONNX initializer's layout). */
  weights: Int8Array;
  /** b, nOut int32 values. */
  bias: Int32Array;
  /** M, the fixed-point multiplier, an integer in 1..MAX_MULTIPLIER. */
  multiplier: number;
  /** s, the shift: the product is divided by 2^s; an integer in MIN_SHIFT..MAX_SHIFT. */
  shift: number;
  activation: Activation;
}

/** A profile model: its input and output tensor names and its layers, first to last. */
export interface ProfileModel {
  inputName: string;
  outputName: string;
  layers: DenseLayer[];
}

export const INT32_MAX = 2 ** 31 - 1;
/** The largest |x·w| of two int8 values: (-128)·(-128). */
export const MAX_INT8_PRODUCT = 128 * 128;
export const MAX_MULTIPLIER = INT32_MAX;
export const MIN_SHIFT = 1;
export const MAX_SHIFT = 62;
/** The largest input width any layer can have (with a zero bias): floor((2^31 - 1) / 16384). */
export const MAX_WIDTH = Math.floor(INT32_MAX / MAX_INT8_PRODUCT);
/** Layer numbers and L are u16 in a neuron leaf. */
export const MAX_LAYERS = 0xffff;

/** The clamp bounds of an activation. */
export function clampRange(activation: Activation): [number, number] {
  return activation === "relu" ? [0, 127] : [-128, 127];
}

/** The largest |b[j]| a layer of input width nIn may have: INT32_MAX - nIn·16384 (negative when nIn is too wide). */
export function maxAbsBias(nIn: number): number {
  return INT32_MAX - nIn * MAX_INT8_PRODUCT;
}

/** The weight column of neuron j: W[0][j], W[1][j], ..., W[nIn-1][j]. */
export function weightColumn(layer: DenseLayer, j: number): Int8Array {
  const column = new Int8Array(layer.nIn);
  for (let i = 0; i < layer.nIn; i++) column[i] = layer.weights[i * layer.nOut + j];
  return column;
}

/** Layer parameters outside the profile. */
export class LayerError extends Error {
  /** The layer concerned, counted from 1. */
  readonly layer: number;

  constructor(layer: number, message: string) {
    super(`layer ${layer}: ${message}`);
    this.name = "LayerError";
    this.layer = layer;
  }
}

const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max;

/**
 * Checks one layer (numbered from 1) against the profile's rules: widths 1..MAX_WIDTH, W an Int8Array of nIn·nOut,
 * b an Int32Array of nOut with nIn·16384 + |b[j]| ≤ 2^31 - 1 for every j (so no int32 sum can overflow, whatever
 * the input), M in 1..2^31 - 1, s in 1..62, activation relu or none. Throws LayerError naming the first rule broken.
 */
export function checkLayer(layer: DenseLayer, number: number): void {
  const { nIn, nOut, weights, bias, multiplier, shift, activation } = layer;
  if (!isInt(nIn, 1, MAX_WIDTH))
    throw new LayerError(number, `input width ${nIn} is not an integer in 1..${MAX_WIDTH}`);
  if (!isInt(nOut, 1, 0xffffffff)) throw new LayerError(number, `output width ${nOut} is not a positive integer`);
  if (!(weights instanceof Int8Array) || weights.length !== nIn * nOut) {
    throw new LayerError(number, `weights must be an Int8Array of ${nIn}·${nOut} = ${nIn * nOut} values`);
  }
  if (!(bias instanceof Int32Array) || bias.length !== nOut) {
    throw new LayerError(number, `bias must be an Int32Array of ${nOut} values`);
  }
  const bound = maxAbsBias(nIn);
  for (let j = 0; j < nOut; j++) {
    if (Math.abs(bias[j]) > bound) {
      throw new LayerError(
        number,
        `bias[${j}] = ${bias[j]} breaks the overflow bound nIn·16384 + |b[j]| ≤ 2^31 - 1 (|b[j]| ≤ ${bound} at nIn = ${nIn})`,
      );
    }
  }
  if (!isInt(multiplier, 1, MAX_MULTIPLIER)) {
    throw new LayerError(number, `multiplier M = ${multiplier} is not an integer in 1..2^31 - 1`);
  }
  if (!isInt(shift, MIN_SHIFT, MAX_SHIFT)) {
    throw new LayerError(number, `shift s = ${shift} is not an integer in ${MIN_SHIFT}..${MAX_SHIFT}`);
  }
  if (activation !== "relu" && activation !== "none") {
    throw new LayerError(number, `activation ${JSON.stringify(activation)} is not "relu" or "none"`);
  }
}

/**
 * Checks a layer list: 1..MAX_LAYERS layers, each valid (checkLayer), each layer's input width the previous
 * layer's output width. Throws LayerError.
 */
export function checkLayers(layers: readonly DenseLayer[]): void {
  if (!Array.isArray(layers) || layers.length === 0) throw new LayerError(1, "a profile model has at least one layer");
  if (layers.length > MAX_LAYERS) throw new LayerError(MAX_LAYERS + 1, `at most ${MAX_LAYERS} layers`);
  layers.forEach((layer, k) => {
    checkLayer(layer, k + 1);
    if (k > 0 && layer.nIn !== layers[k - 1].nOut) {
      throw new LayerError(
        k + 1,
        `input width ${layer.nIn} differs from layer ${k}'s output width ${layers[k - 1].nOut}`,
      );
    }
  });
}

/** The widths n0, n1, ..., nL. */
export function widths(layers: readonly DenseLayer[]): number[] {
  return [layers[0].nIn, ...layers.map((l) => l.nOut)];
}
