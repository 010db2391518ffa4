/**
 * The converter from a float MLP to the integer profile (docs/FRAUD-PROOFS.md, "Converting a float MLP"):
 * symmetric per-layer int8 quantization of weights and activations, int32 biases, and per layer the M and s that
 * best approximate the real rescaling factor. Scales come from a calibration set run through the float model.
 */
import { onnx } from "onnx-proto";
import { TYPE_CODES } from "../../packages/sdk/src/codec";
import { loadModel, runModel } from "../../packages/sdk/src/onnx";
import { runReference } from "./reference";
import { MAX_MULTIPLIER, MAX_SHIFT, MIN_SHIFT, maxAbsBias, type DenseLayer, type ProfileModel } from "./profile";

/** One float layer: W row-major [nIn][nOut], b, and whether ReLU follows. */
export interface FloatLayer {
  nIn: number;
  nOut: number;
  weights: Float64Array;
  bias: Float64Array;
  relu: boolean;
}

/** A float MLP read from an ONNX file. */
export interface FloatMlp {
  inputName: string;
  outputName: string;
  layers: FloatLayer[];
}

/** A file the converter cannot read as a float MLP, or a calibration set it cannot use. */
export class QuantizeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QuantizeError";
  }
}

const quote = (s: string | null | undefined): string => JSON.stringify(s ?? "");

function floatInitializer(t: onnx.ITensorProto): { dims: number[]; values: Float64Array } {
  if (t.dataType !== TYPE_CODES.float32) throw new QuantizeError(`initializer ${quote(t.name)} is not float32`);
  const dims = (t.dims ?? []).map(Number);
  const raw = t.rawData ?? new Uint8Array(0);
  // Uint8Array.from copies: raw may be a view into a larger buffer (a Buffer's slice is one).
  const values =
    raw.length > 0
      ? Float64Array.from(new Float32Array(Uint8Array.from(raw).buffer))
      : Float64Array.from(t.floatData ?? []);
  if (values.length !== dims.reduce((a, b) => a * b, 1)) {
    throw new QuantizeError(`initializer ${quote(t.name)} holds ${values.length} values for shape [${dims}]`);
  }
  return { dims, values };
}

/**
 * Reads a float MLP: one float32 input [N or 1, n0], then per layer Gemm(x, W, b) (alpha = beta = 1, transA = 0,
 * any transB) or MatMul(x, W) then Add(·, b), optionally followed by Relu, the last node's output the graph's one
 * output. Throws QuantizeError naming the node that breaks the pattern.
 */
export function parseFloatMlp(bytes: Uint8Array): FloatMlp {
  let graph: onnx.IGraphProto | null | undefined;
  try {
    graph = onnx.ModelProto.decode(bytes).graph;
  } catch (cause) {
    throw new QuantizeError(`not an ONNX model: ${(cause as Error).message}`);
  }
  if (graph == null || graph.input?.length !== 1 || graph.output?.length !== 1) {
    throw new QuantizeError("a float MLP has a graph with one input and one output");
  }
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? "", t]));
  const inputName = graph.input[0].name ?? "";
  const nodes = graph.node ?? [];
  const layers: FloatLayer[] = [];
  let previous = inputName;
  const constant = (name: string, at: string) => {
    const t = initializers.get(name);
    if (t === undefined) throw new QuantizeError(`${at}: ${quote(name)} is not an initializer`);
    return floatInitializer(t);
  };
  for (let k = 0; k < nodes.length; k++) {
    const n = nodes[k];
    const at = `node #${k} ${quote(n.name)} (${n.opType})`;
    const input = n.input ?? [];
    const attr = (name: string, fallback: number) => {
      const a = (n.attribute ?? []).find((x) => x.name === name);
      return a === undefined
        ? fallback
        : a.type === onnx.AttributeProto.AttributeType.FLOAT
          ? (a.f ?? 0)
          : Number(a.i ?? 0);
    };
    let W: { dims: number[]; values: Float64Array };
    let b: { dims: number[]; values: Float64Array };
    let transB = 0;
    if (n.opType === "Gemm") {
      if (input[0] !== previous || input.length !== 3)
        throw new QuantizeError(`${at}: expected Gemm(${previous}, W, b)`);
      if (attr("alpha", 1) !== 1 || attr("beta", 1) !== 1 || attr("transA", 0) !== 0) {
        throw new QuantizeError(`${at}: only alpha = beta = 1 and transA = 0 are supported`);
      }
      transB = attr("transB", 0);
      [W, b] = [constant(input[1], at), constant(input[2], at)];
      previous = n.output![0];
    } else if (n.opType === "MatMul") {
      const add = nodes[k + 1];
      if (input[0] !== previous || add?.opType !== "Add" || !(add.input ?? []).includes(n.output![0])) {
        throw new QuantizeError(`${at}: expected MatMul(${previous}, W) followed by Add(·, b)`);
      }
      W = constant(input[1], at);
      b = constant((add.input ?? []).find((i) => i !== n.output![0]) ?? "", `node #${k + 1} (Add)`);
      previous = add.output![0];
      k++;
    } else if (n.opType === "Relu" && layers.length > 0 && input[0] === previous && !layers[layers.length - 1].relu) {
      layers[layers.length - 1].relu = true;
      previous = n.output![0];
      continue;
    } else {
      throw new QuantizeError(`${at}: a float MLP has only Gemm, MatMul + Add and Relu nodes, in a chain`);
    }
    if (W.dims.length !== 2) throw new QuantizeError(`${at}: W must be 2-D`);
    const [nIn, nOut] = transB ? [W.dims[1], W.dims[0]] : W.dims;
    if (b.values.length !== nOut)
      throw new QuantizeError(`${at}: b has ${b.values.length} values, W has ${nOut} outputs`);
    if (layers.length > 0 && layers[layers.length - 1].nOut !== nIn) {
      throw new QuantizeError(
        `${at}: W has ${nIn} rows, the previous layer has ${layers[layers.length - 1].nOut} outputs`,
      );
    }
    const weights = new Float64Array(nIn * nOut);
    for (let i = 0; i < nIn; i++) {
      for (let j = 0; j < nOut; j++) weights[i * nOut + j] = transB ? W.values[j * nIn + i] : W.values[i * nOut + j];
    }
    layers.push({ nIn, nOut, weights, bias: b.values, relu: false });
  }
  if (layers.length === 0) throw new QuantizeError("the graph has no layers");
  const outputName = graph.output[0].name ?? "";
  if (previous !== outputName) throw new QuantizeError(`the graph output ${quote(outputName)} is not the last node's`);
  return { inputName, outputName, layers };
}

/** The float MLP on one row, in float64: every layer's output after its activation. */
export function floatActivations(mlp: FloatMlp, row: ArrayLike<number>): Float64Array[] {
  const outputs: Float64Array[] = [];
  let x: ArrayLike<number> = row;
  for (const l of mlp.layers) {
    const y = Float64Array.from(l.bias);
    for (let i = 0; i < l.nIn; i++) {
      const xi = x[i];
      if (xi === 0) continue;
      for (let j = 0; j < l.nOut; j++) y[j] += xi * l.weights[i * l.nOut + j];
    }
    if (l.relu) for (let j = 0; j < l.nOut; j++) y[j] = Math.max(0, y[j]);
    outputs.push(y);
    x = y;
  }
  return outputs;
}

/** How one layer was quantized. */
export interface LayerQuantization {
  /** W ≈ weightScale · Wq. */
  weightScale: number;
  /** The layer's output xℓ ≈ outputScale · xℓq. */
  outputScale: number;
  /** The real factor inputScale · weightScale / outputScale that M / 2^s approximates. */
  realMultiplier: number;
  multiplier: number;
  shift: number;
  /** Biases that had to be clamped to the overflow bound. */
  clampedBiases: number;
}

/** A converted model: the profile model and the scales a client needs to quantize inputs and read outputs. */
export interface Quantized {
  model: ProfileModel;
  /** x0q = clamp(round(x / inputScale), -128, 127). */
  inputScale: number;
  /** y ≈ outputScale · xLq. */
  outputScale: number;
  layers: LayerQuantization[];
}

const maxAbs = (values: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
};
const scaleOf = (max: number): number => (max > 0 ? max / 127 : 1);
const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/** M and s with M / 2^s ≈ m: the largest s in 1..62 that keeps M = round(m · 2^s) ≤ 2^31 - 1 (M at least 1). */
export function fixedPoint(m: number): { multiplier: number; shift: number } {
  let shift = MAX_SHIFT;
  while (shift > MIN_SHIFT && Math.round(m * 2 ** shift) > MAX_MULTIPLIER) shift--;
  const multiplier = clamp(Math.round(m * 2 ** shift), 1, MAX_MULTIPLIER);
  return { multiplier, shift };
}

/** A float input row as the profile model's int8 input. */
export function quantizeInput(row: ArrayLike<number>, inputScale: number): Int8Array {
  return Int8Array.from(Array.from(row, (v) => clamp(Math.round(v / inputScale), -128, 127)));
}

/**
 * Converts a float MLP to a profile model. Weights: per layer, symmetric, Wq = round(W / weightScale) in
 * -127..127 (never -128, so no kernel that pairs two products in int16 can overflow). Activations: per layer,
 * symmetric, scale = max |value| over the calibration rows / 127. Biases: round(b / (inputScale · weightScale)),
 * clamped to the overflow bound. M / 2^s ≈ inputScale · weightScale / outputScale (fixedPoint).
 */
export function quantizeMlp(mlp: FloatMlp, calibration: readonly ArrayLike<number>[]): Quantized {
  if (calibration.length === 0) throw new QuantizeError("the calibration set is empty");
  const n0 = mlp.layers[0].nIn;
  calibration.forEach((row, r) => {
    if (row.length !== n0)
      throw new QuantizeError(`calibration row ${r} has ${row.length} values, the model takes ${n0}`);
  });
  const activations = calibration.map((row) => floatActivations(mlp, row));
  const inputScale = scaleOf(Math.max(...calibration.map(maxAbs)));
  let scaleIn = inputScale;
  const layers: DenseLayer[] = [];
  const report: LayerQuantization[] = [];
  mlp.layers.forEach((l, k) => {
    const weightScale = scaleOf(maxAbs(l.weights));
    const outputScale = scaleOf(Math.max(...activations.map((a) => maxAbs(a[k]))));
    const weights = Int8Array.from(l.weights, (w) => clamp(Math.round(w / weightScale), -127, 127));
    const bound = maxAbsBias(l.nIn);
    let clampedBiases = 0;
    const bias = Int32Array.from(l.bias, (b) => {
      const q = Math.round(b / (scaleIn * weightScale));
      if (Math.abs(q) > bound) clampedBiases++;
      return clamp(q, -bound, bound);
    });
    const realMultiplier = (scaleIn * weightScale) / outputScale;
    const { multiplier, shift } = fixedPoint(realMultiplier);
    layers.push({ nIn: l.nIn, nOut: l.nOut, weights, bias, multiplier, shift, activation: l.relu ? "relu" : "none" });
    report.push({ weightScale, outputScale, realMultiplier, multiplier, shift, clampedBiases });
    scaleIn = outputScale;
  });
  return {
    model: { inputName: mlp.inputName, outputName: mlp.outputName, layers },
    inputScale,
    outputScale: scaleIn,
    layers: report,
  };
}

/** How well the profile model agrees with the float model on a set of rows. */
export interface Agreement {
  rows: number;
  /** Rows whose arg-max (first index on ties) is the same in both. */
  top1: number;
  /** The largest |float output - outputScale · quantized output| over all rows and outputs. */
  maxAbsError: number;
  /** The largest |float output| (for scale). */
  maxAbsOutput: number;
}

const argmax = (v: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
};

/**
 * Runs the float file in ONNX Runtime and the converted model in the reference executor on every row, and
 * compares: top-1 agreement and the largest error of the dequantized outputs.
 */
export async function measureAgreement(
  floatFile: Uint8Array,
  quantized: Quantized,
  rows: readonly ArrayLike<number>[],
): Promise<Agreement> {
  const loaded = await loadModel(floatFile);
  try {
    const input = loaded.inputs[0];
    const n0 = quantized.model.layers[0].nIn;
    const batched = input.shape === null || typeof input.shape[0] === "string";
    const batches = batched ? [rows] : rows.map((r) => [r]);
    const floatOutputs: Float32Array[] = [];
    for (const batch of batches) {
      const data = new Float32Array(batch.length * n0);
      batch.forEach((r, i) => data.set(Array.from(r), i * n0));
      const [out] = await runModel(loaded, [{ name: input.name, type: "float32", shape: [batch.length, n0], data }]);
      const width = out.data.length / batch.length;
      for (let i = 0; i < batch.length; i++)
        floatOutputs.push((out.data as Float32Array).subarray(i * width, (i + 1) * width));
    }
    let top1 = 0;
    let maxAbsError = 0;
    let maxAbsOutput = 0;
    rows.forEach((row, r) => {
      const q = runReference(quantized.model.layers, quantizeInput(row, quantized.inputScale)).vectors;
      const out = q[q.length - 1];
      const f = floatOutputs[r];
      if (argmax(out) === argmax(f)) top1++;
      for (let j = 0; j < f.length; j++) {
        maxAbsError = Math.max(maxAbsError, Math.abs(f[j] - quantized.outputScale * out[j]));
        maxAbsOutput = Math.max(maxAbsOutput, Math.abs(f[j]));
      }
    });
    return { rows: rows.length, top1, maxAbsError, maxAbsOutput };
  } finally {
    await loaded.session.release();
  }
}

/**
 * Calibration rows from a file's bytes: `.npy` (a 2-D little-endian float32, float64 or uint8 array in C order), or
 * JSON, `{ "rows": [[...], ...] }` or a bare array of rows. Throws QuantizeError.
 */
export function readCalibration(bytes: Uint8Array, fileName: string): number[][] {
  if (fileName.toLowerCase().endsWith(".npy")) return readNpy(bytes);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (cause) {
    throw new QuantizeError(`${fileName}: not JSON (${(cause as Error).message})`);
  }
  const rows = Array.isArray(value) ? value : (value as { rows?: unknown } | null)?.rows;
  if (!Array.isArray(rows) || !rows.every((r) => Array.isArray(r) && r.every((v) => typeof v === "number"))) {
    throw new QuantizeError(`${fileName}: expected { "rows": [[numbers], ...] } or an array of rows`);
  }
  return rows as number[][];
}

function readNpy(bytes: Uint8Array): number[][] {
  const magic = Buffer.from(bytes.subarray(0, 6)).toString("latin1");
  if (magic !== "\x93NUMPY") throw new QuantizeError("not a .npy file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLength;
  const header = Buffer.from(bytes.subarray(major === 1 ? 10 : 12, start)).toString("latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/
    .exec(header)?.[1]
    ?.split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map(Number);
  if (fortran !== "False" || shape === undefined || shape.length !== 2) {
    throw new QuantizeError(`.npy: expected a 2-D array in C order, got ${header.trim()}`);
  }
  const data = Uint8Array.from(bytes.subarray(start)).buffer; // a copy: `bytes` may be a Buffer, whose slice is a view
  const flat =
    descr === "<f4"
      ? new Float32Array(data)
      : descr === "<f8"
        ? new Float64Array(data)
        : descr === "|u1"
          ? new Uint8Array(data)
          : undefined;
  if (flat === undefined) throw new QuantizeError(`.npy: element type ${descr} (supported: <f4, <f8, |u1)`);
  const [rows, columns] = shape;
  if (flat.length !== rows * columns)
    throw new QuantizeError(`.npy: ${flat.length} values for shape (${rows}, ${columns})`);
  return Array.from({ length: rows }, (_, r) => Array.from(flat.subarray(r * columns, (r + 1) * columns)));
}
