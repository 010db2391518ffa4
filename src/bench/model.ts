/**
 * The benchmark's model: a seeded float MLP (MatMul + Add + ReLU layers, src/models/build.ts) sized so that one
 * ONNX Runtime run takes about a millisecond on a 2-core machine, its inputs, and the in-process timing of the
 * same model that the worker's latency is compared with.
 */
import * as ort from "onnxruntime-node";
import { decodeTensors, encodeTensors, type Tensor } from "../../packages/sdk/src/codec";
import { runModel, type LoadedModel } from "../../packages/sdk/src/onnx";
import { buildFloatMlp, randomFloatMlp, seededRandom } from "../models/build";

export interface BenchModelShape {
  /** Input width: x is float32 [1, input]. */
  input: number;
  /** Width of each hidden layer. */
  hidden: number;
  /** Number of hidden layers. */
  layers: number;
  /** Output width: y is float32 [1, output]. */
  output: number;
}

/** 64 → 1024 × 4 → 16: about 3.2 M multiply-adds, 0.9 ms on one thread of this project's 2-core machines. */
export const DEFAULT_SHAPE: BenchModelShape = { input: 64, hidden: 1024, layers: 4, output: 16 };

const SEED = 0xbe4c;

export function buildBenchModel(shape: BenchModelShape): Uint8Array {
  const widths = [shape.input, ...Array<number>(shape.layers).fill(shape.hidden), shape.output];
  return buildFloatMlp(randomFloatMlp(widths, seededRandom(SEED)), "matmul");
}

/** `count` different inputs, encoded as a request carries them (the canonical tensor bytes). */
export function benchInputs(shape: BenchModelShape, count: number, seed = SEED + 1): Uint8Array[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const x: Tensor = {
      name: "x",
      type: "float32",
      shape: [1, shape.input],
      data: Float32Array.from({ length: shape.input }, () => random() * 2 - 1),
    };
    return encodeTensors([x]);
  });
}

export interface OrtTimings {
  /** `session.run` alone, per run, in ms. */
  run: number[];
  /** What a worker computes per job: decode the input bytes, run (with the SDK's input checks), encode the output. */
  job: number[];
}

/**
 * Times the model in this process: `warmup` runs first, then `runs` runs of each kind, over the given inputs in
 * turn.
 */
export async function timeOrt(
  model: LoadedModel,
  inputs: Uint8Array[],
  runs: number,
  warmup = 200,
): Promise<OrtTimings> {
  const decoded = inputs.map((bytes) => decodeTensors(bytes));
  for (let i = 0; i < warmup; i++) await runModel(model, decoded[i % decoded.length]);
  const run: number[] = [];
  for (let i = 0; i < runs; i++) {
    // The bench model's one float32 input, straight to ONNX Runtime.
    const [x] = decoded[i % decoded.length];
    const feeds = { [x.name]: new ort.Tensor("float32", x.data as Float32Array, x.shape.map(Number)) };
    const started = performance.now();
    await model.session.run(feeds);
    run.push(performance.now() - started);
  }
  const job: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    encodeTensors(await runModel(model, decodeTensors(inputs[i % inputs.length])));
    job.push(performance.now() - started);
  }
  return { run, job };
}
