/**
 * Runs a profile file in ONNX Runtime with its hidden tensors exposed: a copy of the model lists the int8 output of
 * every layer (and, on request, every step of every layer) as extra graph outputs. Adding outputs changes no
 * node, so the kernels are those of the original file. Used to cross-check the reference executor, never instead
 * of it (docs/FRAUD-PROOFS.md, "ONNX Runtime").
 */
import { onnx } from "onnx-proto";
import type { ElementType } from "../../packages/sdk/src/codec";
import { valueInfo } from "../models/build";
import { loadModel, runModel, type LoadedModel } from "../../packages/sdk/src/onnx";
import { LAYER_STEPS, type LayerStep } from "./build";
import { parseProfileModel, type ParsedProfile } from "./check";

/** The element type of each step's tensor in the ONNX pattern. */
export const STEP_TYPES: Readonly<Record<LayerStep, ElementType>> = {
  sum: "int32",
  acc: "int32",
  acc64: "int64",
  scaled: "int64",
  numerator: "int64",
  quotient: "int64",
  clipped: "int64",
  value: "int8",
};

/** What ONNX Runtime computed for one layer: each step's tensor, flat. */
export type RuntimeSteps = {
  [S in LayerStep]: S extends "sum" | "acc" ? Int32Array : S extends "value" ? Int8Array : BigInt64Array;
};

/** An ONNX Runtime run: the activation vectors x0 .. xL, and every layer's steps when they were exposed. */
export interface RuntimeTrace {
  vectors: Int8Array[];
  steps?: RuntimeSteps[];
}

/**
 * A copy of a checked profile file whose graph also outputs each layer's activation vector ("activations") or
 * every step of every layer ("steps"), each declared with its type and shape [1, n].
 */
export function exposeHiddenTensors(
  bytes: Uint8Array,
  parsed: ParsedProfile,
  which: "activations" | "steps",
): Uint8Array {
  const proto = onnx.ModelProto.decode(bytes);
  const graph = proto.graph!;
  const exposed = new Set(graph.output!.map((o) => o.name));
  parsed.tensors.forEach((names, k) => {
    const width = parsed.model.layers[k].nOut;
    for (const step of which === "steps" ? LAYER_STEPS : (["value"] as const)) {
      if (exposed.has(names[step])) continue;
      exposed.add(names[step]);
      graph.output!.push(valueInfo(names[step], STEP_TYPES[step], [1, width]));
    }
  });
  return new Uint8Array(onnx.ModelProto.encode(proto).finish());
}

/** A profile file loaded in ONNX Runtime with its hidden tensors exposed. */
export class ProfileRuntime {
  private constructor(
    readonly parsed: ParsedProfile,
    private readonly loaded: LoadedModel,
    readonly exposesSteps: boolean,
  ) {}

  /**
   * Checks the file (ProfileError) and loads its exposed copy (ModelLoadError). With `steps`, every step of every
   * layer is an output (for tests and diagnosis); otherwise only the activation vectors.
   */
  static async load(bytes: Uint8Array, options: { steps?: boolean } = {}): Promise<ProfileRuntime> {
    const parsed = parseProfileModel(bytes);
    const steps = options.steps === true;
    const copy = exposeHiddenTensors(bytes, parsed, steps ? "steps" : "activations");
    return new ProfileRuntime(parsed, await loadModel(copy), steps);
  }

  /** Runs the model on x0 (n0 int8 values); ModelInputError when x0 does not fit. */
  async run(x0: Int8Array): Promise<RuntimeTrace> {
    const { model, tensors } = this.parsed;
    const outputs = await runModel(this.loaded, [
      { name: model.inputName, type: "int8", shape: [1, x0.length], data: x0 },
    ]);
    const byName = new Map(outputs.map((t) => [t.name, t.data]));
    const vectors = [Int8Array.from(x0), ...tensors.map((names) => byName.get(names.value) as Int8Array)];
    if (!this.exposesSteps) return { vectors };
    const steps = tensors.map(
      (names) => Object.fromEntries(LAYER_STEPS.map((step) => [step, byName.get(names[step])])) as RuntimeSteps,
    );
    return { vectors, steps };
  }

  async release(): Promise<void> {
    await this.loaded.session.release();
  }
}
