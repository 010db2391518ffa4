/**
 * What the judge does, in TypeScript (docs/FRAUD-PROOFS.md, "The judge"): recompute one neuron from the posted
 * x(ℓ-1) and its leaf, and compare with the posted xℓ[j]. Also the verifier's side: find the first neuron of a
 * posted trace that a proof can convict, and assemble that proof. The Solidity judge is written from this file
 * and the document; test/fixtures/proven-golden.json holds vectors both check.
 */
import { layerSteps, neuronSteps, type NeuronSteps } from "./reference";
import { decodeNeuronLeaf, verifyNeuronProof, WeightsTree, type NeuronLeaf } from "./leaves";
import { checkLayers, widths, type DenseLayer } from "./profile";
import { commitTrace, traceCommitment, vectorHash } from "./trace";

/** Neuron j of a leaf recomputed from x(ℓ-1); RangeError when x(ℓ-1) does not have the leaf's nIn values. */
export function recomputeNeuron(xPrev: Int8Array, leaf: NeuronLeaf | Uint8Array): NeuronSteps {
  const l = leaf instanceof Uint8Array ? decodeNeuronLeaf(leaf) : leaf;
  if (xPrev.length !== l.nIn) throw new RangeError(`x(ℓ-1) has ${xPrev.length} values, the leaf's nIn is ${l.nIn}`);
  // The leaf as a one-neuron layer: its column is that layer's whole weight matrix.
  const neuron: DenseLayer = {
    nIn: l.nIn,
    nOut: 1,
    weights: l.weights,
    bias: Int32Array.of(l.bias),
    multiplier: l.multiplier,
    shift: l.shift,
    activation: l.relu ? "relu" : "none",
  };
  return neuronSteps(neuron, xPrev, 0);
}

/** Whether a posted value of neuron j is wrong, given the posted x(ℓ-1) and the neuron's leaf. */
export function checkPostedNeuron(
  xPrev: Int8Array,
  leaf: NeuronLeaf | Uint8Array,
  posted: number,
): { expected: number; wrong: boolean } {
  const expected = recomputeNeuron(xPrev, leaf).value;
  return { expected, wrong: expected !== posted };
}

/** What is wrong with a posted trace, as a judge can be shown it. */
export type Fraud =
  /** The trace has `count` vectors where the model has L + 1 (a judge sees it against any leaf's L). */
  | { kind: "count"; count: number; expected: number }
  /** The trace has L + 1 vectors but vector `layer` has the wrong length (a judge sees it against the leaf). */
  | { kind: "length"; layer: number; length: number; expected: number }
  /** Neuron `index` of layer `layer` is not what the posted x(layer-1) and the leaf give. */
  | { kind: "neuron"; layer: number; index: number; posted: number; expected: number };

/**
 * The first fraud in a posted trace (vectors x0 .. xL): a trace of the wrong shape, else layer by layer, each layer
 * recomputed from the posted previous vector (not from the verifier's own), so the neuron found is one a judge can
 * convict. undefined when every neuron follows from the vector before it.
 */
export function findFirstFraud(layers: readonly DenseLayer[], posted: readonly Int8Array[]): Fraud | undefined {
  checkLayers(layers);
  const n = widths(layers);
  if (posted.length !== n.length) return { kind: "count", count: posted.length, expected: n.length };
  if (posted[0].length !== n[0]) return { kind: "length", layer: 0, length: posted[0].length, expected: n[0] };
  for (let k = 0; k < layers.length; k++) {
    const layer = layers[k];
    const [xPrev, x] = [posted[k], posted[k + 1]];
    if (x.length !== layer.nOut) return { kind: "length", layer: k + 1, length: x.length, expected: layer.nOut };
    const expected = layerSteps(layer, xPrev).value;
    const j = expected.findIndex((v, i) => v !== x[i]);
    if (j >= 0) return { kind: "neuron", layer: k + 1, index: j, posted: x[j], expected: expected[j] };
  }
  return undefined;
}

/** The arguments of proveFraud for one neuron (docs/FRAUD-PROOFS.md, "The judge"). */
export interface FraudProof {
  layer: number;
  index: number;
  /** h0 .. hL of the posted trace. */
  hashes: string[];
  xPrev: Int8Array;
  x: Int8Array;
  leaf: Uint8Array;
  proof: string[];
}

/**
 * The proof of a fraud in the posted trace: for a wrong neuron, that neuron; for a vector of the wrong length,
 * neuron 0 of the layer that produced it (of layer 1 when it is x0); for the wrong number of vectors, neuron 0 of
 * layer 1 (the vectors it carries then do not matter: empty when the trace has none).
 */
export function buildFraudProof(tree: WeightsTree, posted: readonly Int8Array[], fraud: Fraud): FraudProof {
  const [layer, index] =
    fraud.kind === "neuron"
      ? [fraud.layer, fraud.index]
      : fraud.kind === "length"
        ? [Math.max(fraud.layer, 1), 0]
        : [1, 0];
  const { leaf, proof } = tree.proof(layer, index);
  const vector = (k: number) => posted[k] ?? new Int8Array(0);
  return { layer, index, hashes: commitTrace(posted).hashes, xPrev: vector(layer - 1), x: vector(layer), leaf, proof };
}

/** Why a judge refuses a fraud proof (each a named revert of the Solidity judge). */
export type JudgeRefusal =
  | "HashListMismatch"
  | "PreviousVectorMismatch"
  | "VectorMismatch"
  | "LeafNotInModel"
  | "LeafPositionMismatch"
  | "NeuronCorrect";

/**
 * The judge, in TypeScript: given the job's trace commitment and the version's weightsRoot, whether the proof
 * convicts the worker. Steps, in the order the judge takes them:
 * 1. keccak256(hashes) = commitment;
 * 2. the leaf is in weightsRoot, and is the leaf of (ℓ, j);
 * 3. a hash list without L + 1 entries (L from the leaf) convicts at once: the trace does not have the model's shape;
 * 4. keccak256(xPrev) = hashes[ℓ-1] and keccak256(x) = hashes[ℓ];
 * 5. a vector whose length differs from the leaf's nIn or nOut convicts; else the recomputed neuron must differ
 *    from x[j].
 */
export function judge(
  commitment: string,
  root: string,
  p: FraudProof,
): { proven: true; expected?: number } | { proven: false; refusal: JudgeRefusal } {
  if (traceCommitment(p.hashes) !== commitment.toLowerCase()) return { proven: false, refusal: "HashListMismatch" };
  if (!verifyNeuronProof(root, p.leaf, p.proof)) return { proven: false, refusal: "LeafNotInModel" };
  const leaf = decodeNeuronLeaf(p.leaf);
  if (leaf.layer !== p.layer || leaf.index !== p.index) return { proven: false, refusal: "LeafPositionMismatch" };
  if (p.hashes.length !== leaf.layerCount + 1) return { proven: true };
  if (vectorHash(p.xPrev) !== p.hashes[p.layer - 1]) return { proven: false, refusal: "PreviousVectorMismatch" };
  if (vectorHash(p.x) !== p.hashes[p.layer]) return { proven: false, refusal: "VectorMismatch" };
  if (p.xPrev.length !== leaf.nIn || p.x.length !== leaf.nOut) return { proven: true };
  const { expected, wrong } = checkPostedNeuron(p.xPrev, leaf, p.x[p.index]);
  return wrong ? { proven: true, expected } : { proven: false, refusal: "NeuronCorrect" };
}
