/**
 * The Proven side of the fuzz world: a few small integer profile models (fixed seeds of `randomProfileModel`, so a
 * run replays exactly), the inputs a requester sends them, and what a worker posts for a job on them, honest or
 * cheating. Every registered weights root in the fuzzer is one of these models' real roots, so every Proven job can
 * be judged: a cheat can be proven, an honest result cannot.
 *
 * Whether a posting is honest is decided here without the judge: the job's input is a profile input of the model's
 * width and the posted bytes are exactly the reference executor's trace of it (`runReference`, `traceOf`). The
 * invariants compare the chain's verdicts (Rejected or not) against that.
 */
import { ethers } from "hardhat";
import { hexlify } from "ethers";
import {
  WeightsTree,
  buildProfileModel,
  encodeProvenInput,
  encodeProvenOutput,
  runReference,
  traceOf,
  widths,
  type ProfileModel,
} from "../../src/proven";
import { randomInt8, randomProfileModel, seededRandom } from "../fixtures/proven";
import { INPUT } from "../fixtures/protocol";

export interface FuzzProfile {
  /** The seed of `randomProfileModel(seededRandom(seed), MAX_WIDTH)`. */
  seed: number;
  model: ProfileModel;
  /** n0 .. nL. */
  widths: number[];
  tree: WeightsTree;
  /** The version's weightsRoot. */
  root: string;
  /** The content hash it is registered under: the SHA-256 of its ONNX file. */
  contentHash: string;
}

/** Widths of the fuzzer's profile models are at most this. */
const MAX_WIDTH = 8;

/** Seeds giving 3 layers (2-7-4-3), 2 layers (6-6-6) and 1 layer (6-3), with outputs spread over the int8 range. */
export const PROFILE_SEEDS = [16, 28, 8] as const;
const LAYER_COUNTS = [3, 2, 1];

export const PROFILES: FuzzProfile[] = PROFILE_SEEDS.map((seed, i) => {
  const model = randomProfileModel(seededRandom(seed), MAX_WIDTH);
  // randomProfileModel draws 1 to 4 layers: a change to it would silently change what the fuzzer covers.
  if (model.layers.length !== LAYER_COUNTS[i]) {
    throw new Error(`profile seed ${seed} gives ${model.layers.length} layers, the fuzzer expects ${LAYER_COUNTS[i]}`);
  }
  const tree = new WeightsTree(model.layers);
  return {
    seed,
    model,
    widths: widths(model.layers),
    tree,
    root: tree.root,
    contentHash: ethers.sha256(buildProfileModel(model)),
  };
});

/** The fuzz profile whose weights root is `root`, if any. */
export function profileByRoot(root: string): FuzzProfile | undefined {
  return PROFILES.find((p) => p.root.toLowerCase() === root.toLowerCase());
}

/**
 * A requester's input to a Proven model: "ok" one int8 [1, n0] vector (seeded); "wrongWidth" one of n0 + 1 values;
 * "notProfile" bytes that are not TML1 at all (the other modes' input). A worker serving either of the last two posts
 * a result any layer-1 proof convicts.
 */
export type ProvenInputVariant = "ok" | "wrongWidth" | "notProfile";

export interface ProvenInput {
  bytes: string;
  /** x0, when the input is a profile input of the model's width. */
  x0?: Int8Array;
}

export function provenInput(profile: FuzzProfile, variant: ProvenInputVariant, seed: number): ProvenInput {
  if (variant === "notProfile") return { bytes: INPUT };
  const n0 = profile.widths[0] + (variant === "wrongWidth" ? 1 : 0);
  const x0 = randomInt8(seededRandom(seed), n0);
  const bytes = hexlify(encodeProvenInput(profile.model.inputName, x0));
  return variant === "ok" ? { bytes, x0 } : { bytes };
}

/**
 * How a cheating worker departs from the trace: "input" posts the trace of another input (one value changed);
 * "hidden" one hidden neuron off, later layers computed from it honestly (so the output is the lie's consequence);
 * "output" one output value off; "missing" the output vector without the hidden vectors.
 */
export type Cheat = "input" | "hidden" | "output" | "missing";

export interface ProvenPosting {
  output: string;
  /** The posted bytes are the model's trace of the job's input (judged without the judge: see the file comment). */
  honest: boolean;
  /** For labels and statistics: "honest", the cheat, or "bad input". */
  what: string;
}

/** `v + delta` wrapped into int8, for a delta in 1..255: never `v`. */
const shifted = (v: number, delta: number): number => ((((v + 128 + delta) % 256) + 256) % 256) - 128;

/**
 * What a worker posts for a Proven job whose input is `input`: with `cheat` "none", the trace of it (the trace of a
 * zero vector when the input is not one the model takes: a worker serving it cannot be honest); else the cheat, its
 * layer, neuron and delta picked by `pick`.
 */
export function provenPosting(
  profile: FuzzProfile,
  input: ProvenInput,
  cheat: Cheat | "none",
  pick: number,
): ProvenPosting {
  const { layers, outputName } = profile.model;
  const L = layers.length;
  const x0 = input.x0 ?? new Int8Array(profile.widths[0]);
  const honest = runReference(layers, x0).vectors;
  const honestOutput = hexlify(traceOf(outputName, honest).output);
  const delta = 1 + (pick % 255);
  let output: string;
  let what: string = cheat;
  const right = cheat === "none";
  if (right) {
    output = honestOutput;
    what = "honest";
  } else if (cheat === "missing") {
    output = hexlify(encodeProvenOutput(outputName, [honest[L]]));
  } else if (cheat === "input") {
    const other = Int8Array.from(x0);
    const i = (pick >> 8) % other.length;
    other[i] = shifted(other[i], delta);
    output = hexlify(traceOf(outputName, runReference(layers, other).vectors).output);
  } else {
    // "hidden" needs a hidden layer: a one-layer model has none, and its cheat is an output value.
    const layer = cheat === "hidden" && L > 1 ? 1 + ((pick >> 8) % (L - 1)) : L;
    if (cheat === "hidden" && L === 1) what = "output";
    const vectors: Int8Array[] = honest.map((v) => Int8Array.from(v));
    const j = (pick >> 12) % vectors[layer].length;
    vectors[layer][j] = shifted(vectors[layer][j], delta);
    for (let k = layer; k < L; k++) vectors[k + 1] = runReference(layers.slice(k), vectors[k]).vectors[1];
    output = hexlify(traceOf(outputName, vectors).output);
  }
  if (input.x0 === undefined) return { output, honest: false, what: `${right ? "zeros' trace" : what} on a bad input` };
  // A cheat can post the honest bytes after all: a changed input that layer 1 does not see, or "missing" on a
  // one-layer model (it has no hidden vector to leave out).
  const same = output === honestOutput;
  return { output, honest: same, what: same && !right ? `${what} (= honest)` : what };
}

/** The neuron (layer from 1, index from 0) a pick names among all of a profile's neurons. */
export function neuronAt(profile: FuzzProfile, pick: number): [layer: number, index: number] {
  const n = profile.widths.slice(1);
  let k = pick % n.reduce((a, b) => a + b, 0);
  for (let layer = 1; ; layer++) {
    if (k < n[layer - 1]) return [layer, k];
    k -= n[layer - 1];
  }
}
