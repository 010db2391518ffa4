/**
 * What the judge does, in TypeScript (docs/FRAUD-PROOFS.md, "The judge"): read the posted output (and, for a neuron
 * of layer 1, the job's input) as the profile lays them out, recompute one neuron from the posted x(ℓ-1) and its
 * leaf, and compare with the posted xℓ[j]. Also the verifier's side: find the first fault of a posted result that a
 * proof can convict, and assemble that proof. The Solidity judge (contracts/libraries/ProvenJudge.sol) is written
 * from this file and the document; test/fixtures/proven-golden.json holds vectors both check.
 */
import { AbiCoder, keccak256 } from "ethers";
import { layerSteps, neuronSteps, type NeuronSteps } from "./reference";
import { decodeNeuronLeaf, LeafError, verifyNeuronProof, WeightsTree, type NeuronLeaf } from "./leaves";
import { checkLayers, MAX_MULTIPLIER, MAX_SHIFT, MIN_SHIFT, widths, type DenseLayer } from "./profile";
import { postedVectors, readPostedOutput, readProvenInput } from "./trace";
import { FRAUD_KINDS } from "../../packages/sdk/src/params";

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

export { FRAUD_KINDS };
export type FraudKind = (typeof FRAUD_KINDS)[number];

/** What is wrong with a posted result, as a judge can be shown it. */
export type Fraud =
  /** The posted output is not the model's L vectors laid out as the profile says (any neuron's proof convicts). */
  | { kind: "output-encoding"; reason: string }
  /** The worker served an input that is not one int8 [1, n] vector (a proof of a layer-1 neuron convicts). */
  | { kind: "input-encoding"; reason: string }
  /** Vector `layer` (0: the input) does not have the model's width for it. */
  | { kind: "length"; layer: number; length: number; expected: number }
  /** Neuron `index` of layer `layer` is not what the posted x(layer-1) and the leaf give. */
  | { kind: "neuron"; layer: number; index: number; posted: number; expected: number };

/** What a worker posted for a job: the job's input and the posted output, as bytes. */
export interface PostedResult {
  input: Uint8Array;
  output: Uint8Array;
}

/**
 * The first fault of a posted result, in the order a judge can convict it: the output's encoding, the input's, a
 * vector of the wrong width, then layer by layer the first wrong neuron, each layer recomputed from the posted
 * previous vector (not from the verifier's own), so the neuron found is one a judge can convict. undefined when
 * every neuron follows from the vector before it: no proof can succeed.
 */
export function findFirstFraud(layers: readonly DenseLayer[], posted: PostedResult): Fraud | undefined {
  checkLayers(layers);
  const n = widths(layers);
  const output = readPostedOutput(posted.output, layers.length);
  if (!output.ok) return { kind: "output-encoding", reason: output.reason };
  const input = readProvenInput(posted.input);
  if (!input.ok) return { kind: "input-encoding", reason: input.reason };
  const vectors = [input.x0, ...postedVectors(output.positions)];
  const short = vectors.findIndex((v, k) => v.length !== n[k]);
  if (short >= 0) return { kind: "length", layer: short, length: vectors[short].length, expected: n[short] };
  for (let k = 0; k < layers.length; k++) {
    const [xPrev, x] = [vectors[k], vectors[k + 1]];
    const expected = layerSteps(layers[k], xPrev).value;
    const j = expected.findIndex((v, i) => v !== x[i]);
    if (j >= 0) return { kind: "neuron", layer: k + 1, index: j, posted: x[j], expected: expected[j] };
  }
  return undefined;
}

/** A fraud in words, for logs and reports: "layer 2, neuron 1: posted 5, the model gives 4". */
export function describeFraud(fraud: Fraud): string {
  switch (fraud.kind) {
    case "neuron":
      return `layer ${fraud.layer}, neuron ${fraud.index}: posted ${fraud.posted}, the model gives ${fraud.expected}`;
    case "length": {
      const what = fraud.layer === 0 ? "the input x0" : `vector x${fraud.layer}`;
      return `${what} has ${fraud.length} values, the model's width there is ${fraud.expected}`;
    }
    case "output-encoding":
      return `the posted output is not the model's trace encoding: ${fraud.reason}`;
    case "input-encoding":
      return `the input the worker served is not one int8 [1, n] vector: ${fraud.reason}`;
  }
}

/** The arguments of proveFraud after the job (docs/FRAUD-PROOFS.md, "The judge"). */
export interface FraudProof {
  /** The neuron named (read by the judge from the leaf). */
  layer: number;
  index: number;
  /** The job's input: given for a neuron of layer 1, empty otherwise. */
  input: Uint8Array;
  /** The posted output. */
  output: Uint8Array;
  leaf: Uint8Array;
  proof: string[];
}

/** The neuron whose proof convicts `fraud`: the wrong neuron itself, else neuron 0 of a layer that reads the fault. */
export function convictingNeuron(fraud: Fraud): [layer: number, index: number] {
  if (fraud.kind === "neuron") return [fraud.layer, fraud.index];
  // A vector of the wrong width is read by the layer that produced it (x0: by layer 1).
  if (fraud.kind === "length") return [Math.max(fraud.layer, 1), 0];
  // The output's encoding convicts with any neuron; the input's only with one of layer 1.
  return [1, 0];
}

/** The proof of `fraud` in a posted result (findFirstFraud's answer). */
export function buildFraudProof(tree: WeightsTree, posted: PostedResult, fraud: Fraud): FraudProof {
  const [layer, index] = convictingNeuron(fraud);
  return proofOf(tree, posted, layer, index);
}

/** A proof naming neuron (layer, index) against a posted result, whether or not it would convict. */
export function proofOf(tree: WeightsTree, posted: PostedResult, layer: number, index: number): FraudProof {
  const { leaf, proof } = tree.proof(layer, index);
  const input = layer === 1 ? posted.input : new Uint8Array(0);
  return { layer, index, input, output: posted.output, leaf, proof };
}

/** Why a judge refuses a fraud proof (each a named revert of the Solidity judge, without its "Proven" prefix). */
export type JudgeRefusal = "OutputMismatch" | "InputMismatch" | "LeafNotInModel" | "LeafMalformed" | "NeuronCorrect";

/** A judge's verdict: convicted (how, and the neuron's recomputed value when it was recomputed), or refused. */
export type Verdict =
  { proven: true; fraud: FraudKind; expected?: number } | { proven: false; refusal: JudgeRefusal; value?: number };

/** The bounds ProvenJudge.decode holds a leaf to (besides its length): a layer in 1..L, an index inside it, M and s
 * in the profile's ranges. */
export function leafInProfile(leaf: NeuronLeaf): boolean {
  return (
    leaf.layer >= 1 &&
    leaf.layer <= leaf.layerCount &&
    leaf.index < leaf.nOut &&
    leaf.multiplier >= 1 &&
    leaf.multiplier <= MAX_MULTIPLIER &&
    leaf.shift >= MIN_SHIFT &&
    leaf.shift <= MAX_SHIFT
  );
}

/**
 * The judge, in TypeScript: given the job's input and output hashes and the version's weightsRoot, whether the
 * proof convicts the worker. Steps, in the order ProvenJudge.judge takes them:
 * 1. keccak256(output) = outputHash, else OutputMismatch;
 * 2. the leaf is in weightsRoot (LeafNotInModel) and is a profile leaf (LeafMalformed);
 * 3. an output not laid out as L int8 [1, n] vectors (L from the leaf) convicts (output-encoding);
 * 4. for a neuron of layer 1: keccak256(input) = inputHash (InputMismatch), and an input that is not one int8
 *    [1, n] vector convicts (input-encoding);
 * 5. x(ℓ-1) or xℓ of another width than the leaf's nIn or nOut convicts (length); else the recomputed neuron must
 *    differ from xℓ[j] (neuron), else NeuronCorrect.
 */
export function judge(inputHash: string, outputHash: string, root: string, p: FraudProof): Verdict {
  if (keccak256(p.output) !== outputHash.toLowerCase()) return { proven: false, refusal: "OutputMismatch" };
  if (!verifyNeuronProof(root, p.leaf, p.proof)) return { proven: false, refusal: "LeafNotInModel" };
  let leaf: NeuronLeaf;
  try {
    leaf = decodeNeuronLeaf(p.leaf);
  } catch (e) {
    if (e instanceof LeafError) return { proven: false, refusal: "LeafMalformed" };
    throw e;
  }
  if (!leafInProfile(leaf)) return { proven: false, refusal: "LeafMalformed" };
  const output = readPostedOutput(p.output, leaf.layerCount);
  if (!output.ok) return { proven: true, fraud: "output-encoding" };
  const vectors = postedVectors(output.positions);
  let xPrev = vectors[leaf.layer - 2];
  if (leaf.layer === 1) {
    if (keccak256(p.input) !== inputHash.toLowerCase()) return { proven: false, refusal: "InputMismatch" };
    const input = readProvenInput(p.input);
    if (!input.ok) return { proven: true, fraud: "input-encoding" };
    xPrev = input.x0;
  }
  const x = vectors[leaf.layer - 1];
  if (xPrev.length !== leaf.nIn || x.length !== leaf.nOut) return { proven: true, fraud: "length" };
  const { expected, wrong } = checkPostedNeuron(xPrev, leaf, x[leaf.index]);
  return wrong
    ? { proven: true, fraud: "neuron", expected }
    : { proven: false, refusal: "NeuronCorrect", value: expected };
}

/** The `evidence` argument of JobEscrow.proveFraud: abi.encode(bytes input, bytes output, bytes leaf, bytes32[] proof). */
export function encodeEvidence(p: Pick<FraudProof, "input" | "output" | "leaf" | "proof">): string {
  return AbiCoder.defaultAbiCoder().encode(
    ["bytes", "bytes", "bytes", "bytes32[]"],
    [p.input, p.output, p.leaf, p.proof],
  );
}
