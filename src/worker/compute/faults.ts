/**
 * FAULT INJECTION, for demos and tests only (`--fault`, config.ts FAULTS): how a dishonest worker's wrong results
 * look. Each is wrong in a way the protocol must catch, and plausible enough that only verification catches it:
 * a tensor output that decodes fine and fails every tolerance (committee, challenge), and for a Proven job a trace
 * that is wrong at exactly one neuron a fraud proof can name.
 */
import { encodeTensors, type Tensor } from "../../../packages/sdk/src/codec";
import { clampRange, type ProfileModel } from "../../proven/profile";
import { runReference } from "../../proven/reference";
import { traceOf, type Trace } from "../../proven/trace";

/**
 * A wrong output of the same names, types and shapes — every number moved by one, every bool flipped — so that it
 * decodes fine and fails every tolerance.
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

/** The Proven faults: a wrong hidden neuron carried through honestly, or a wrong output value. */
export type TraceFault = "wrong-trace" | "wrong-output";

/** A corrupted trace: the neuron changed (layer from 1, index from 0), its honest and posted values, the trace. */
export interface TraceCorruption {
  layer: number;
  index: number;
  honest: number;
  posted: number;
  trace: Trace;
}

/**
 * A Proven job's trace `vectors` (x0 .. xL, honest) with one neuron changed by one step within its activation's
 * range (so it is a value the layer could give):
 * - `wrong-trace`: a neuron of a hidden vector x1 .. x(L-1) (of the output for a one-layer model), with every later
 *   layer recomputed from it, so the posted output follows from the posted hidden vectors and only the changed
 *   neuron is wrong;
 * - `wrong-output`: a value of the output xL, the hidden vectors kept.
 * The neuron is picked from `seed` (the job id), so different jobs are wrong in different places and a test can say
 * where.
 */
export function corruptTrace(
  model: ProfileModel,
  vectors: readonly Int8Array[],
  fault: TraceFault,
  seed: bigint,
): TraceCorruption {
  const { layers } = model;
  const count = layers.length;
  const layer = fault === "wrong-output" || count === 1 ? count : 1 + Number(seed % BigInt(count - 1));
  const index = Number((seed >> 64n) % BigInt(layers[layer - 1].nOut));
  const wrong: Int8Array[] = vectors.map((v) => Int8Array.from(v));
  const honest = wrong[layer][index];
  const [, hi] = clampRange(layers[layer - 1].activation);
  const posted = honest === hi ? honest - 1 : honest + 1;
  wrong[layer][index] = posted;
  if (fault === "wrong-trace" && layer < count) {
    const rest = runReference(layers.slice(layer), wrong[layer]).vectors;
    for (let k = 1; k < rest.length; k++) wrong[layer + k] = rest[k];
  }
  return { layer, index, honest, posted, trace: traceOf(model.outputName, wrong) };
}
