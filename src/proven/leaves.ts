/**
 * Neuron leaves and weightsRoot (docs/FRAUD-PROOFS.md, "Neuron leaf" and "weightsRoot"). A leaf carries everything
 * the judge needs to recompute one neuron, packed big-endian as Solidity's abi.encodePacked would:
 *
 *   layer u16 ‖ j u32 ‖ L u16 ‖ nIn u32 ‖ nOut u32 ‖ M u32 ‖ s u8 ‖ relu u8 ‖ bias int32 ‖ W[0][j] .. W[nIn-1][j]
 *
 * (26 bytes of header, then nIn int8 weights). Its hash is keccak256(keccak256(leaf)), and weightsRoot is the
 * Merkle root (src/proven/merkle.ts) over the leaf hashes in (layer, j) order.
 */
import { keccak256 } from "ethers";
import { merkleLevels, merkleRoot, proofFromLevels, verifyMerkleProof } from "./merkle";
import { checkLayers, weightColumn, type DenseLayer } from "./profile";

/** The bytes before the weights. */
export const LEAF_HEADER_BYTES = 26;

/** One neuron's leaf, decoded. */
export interface NeuronLeaf {
  /** ℓ, counted from 1. */
  layer: number;
  /** j, counted from 0. */
  index: number;
  /** L, the number of layers of the model. */
  layerCount: number;
  nIn: number;
  nOut: number;
  multiplier: number;
  shift: number;
  relu: boolean;
  bias: number;
  /** The weight column W[·][j], nIn values. */
  weights: Int8Array;
}

/** Bytes that are not a well-formed leaf. */
export class LeafError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LeafError";
  }
}

/** The leaf of neuron j of layer ℓ (from 1). Checks the layers (LayerError) and the position (RangeError). */
export function neuronLeaf(layers: readonly DenseLayer[], layer: number, index: number): NeuronLeaf {
  checkLayers(layers);
  return leafOf(layers, layer, index);
}

function leafOf(layers: readonly DenseLayer[], layer: number, index: number): NeuronLeaf {
  if (!Number.isInteger(layer) || layer < 1 || layer > layers.length) {
    throw new RangeError(`layer ${layer} is not in 1..${layers.length}`);
  }
  const l = layers[layer - 1];
  if (!Number.isInteger(index) || index < 0 || index >= l.nOut) {
    throw new RangeError(`neuron ${index} is not in 0..${l.nOut - 1} (layer ${layer})`);
  }
  return {
    layer,
    index,
    layerCount: layers.length,
    nIn: l.nIn,
    nOut: l.nOut,
    multiplier: l.multiplier,
    shift: l.shift,
    relu: l.activation === "relu",
    bias: l.bias[index],
    weights: weightColumn(l, index),
  };
}

/** The leaf's bytes. */
export function encodeNeuronLeaf(leaf: NeuronLeaf): Uint8Array {
  const out = new Uint8Array(LEAF_HEADER_BYTES + leaf.weights.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, leaf.layer);
  view.setUint32(2, leaf.index);
  view.setUint16(6, leaf.layerCount);
  view.setUint32(8, leaf.nIn);
  view.setUint32(12, leaf.nOut);
  view.setUint32(16, leaf.multiplier);
  view.setUint8(20, leaf.shift);
  view.setUint8(21, leaf.relu ? 1 : 0);
  view.setInt32(22, leaf.bias);
  out.set(new Uint8Array(leaf.weights.buffer, leaf.weights.byteOffset, leaf.weights.length), LEAF_HEADER_BYTES);
  return out;
}

/**
 * Decodes a leaf. Throws LeafError when the bytes are shorter than the header, their length is not 26 + nIn, or
 * the relu byte is not 0 or 1. It does not check the values against the profile: a leaf is trusted because its
 * hash is in a weightsRoot, which the model's file fixes.
 */
export function decodeNeuronLeaf(bytes: Uint8Array): NeuronLeaf {
  if (bytes.length < LEAF_HEADER_BYTES)
    throw new LeafError(`a leaf has at least ${LEAF_HEADER_BYTES} bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nIn = view.getUint32(8);
  if (bytes.length !== LEAF_HEADER_BYTES + nIn) {
    throw new LeafError(`a leaf with nIn = ${nIn} has ${LEAF_HEADER_BYTES + nIn} bytes, got ${bytes.length}`);
  }
  const relu = view.getUint8(21);
  if (relu > 1) throw new LeafError(`the relu byte is ${relu}, not 0 or 1`);
  return {
    layer: view.getUint16(0),
    index: view.getUint32(2),
    layerCount: view.getUint16(6),
    nIn,
    nOut: view.getUint32(12),
    multiplier: view.getUint32(16),
    shift: view.getUint8(20),
    relu: relu === 1,
    bias: view.getInt32(22),
    weights: new Int8Array(bytes.slice(LEAF_HEADER_BYTES)),
  };
}

/** keccak256(keccak256(leaf bytes)). */
export function leafHash(leaf: Uint8Array): string {
  return keccak256(keccak256(leaf));
}

/** The position of neuron j of layer ℓ in (layer, j) order. */
export function leafPosition(layers: readonly DenseLayer[], layer: number, index: number): number {
  let position = index;
  for (let k = 0; k < layer - 1; k++) position += layers[k].nOut;
  return position;
}

/** Every neuron's leaf bytes, in (layer, j) order. Checks the layers (LayerError). */
export function neuronLeaves(layers: readonly DenseLayer[]): Uint8Array[] {
  checkLayers(layers);
  return layers.flatMap((l, k) => Array.from({ length: l.nOut }, (_, j) => encodeNeuronLeaf(leafOf(layers, k + 1, j))));
}

/** The model's weightsRoot. */
export function weightsRoot(layers: readonly DenseLayer[]): string {
  return merkleRoot(neuronLeaves(layers).map(leafHash));
}

/** A neuron's leaf with its Merkle proof. */
export interface NeuronProof {
  leaf: Uint8Array;
  leafHash: string;
  proof: string[];
}

/**
 * The Merkle tree of a model's leaves, built once, for its root and any number of neuron proofs.
 */
export class WeightsTree {
  readonly root: string;
  private readonly levels: string[][];
  private readonly leaves: Uint8Array[];

  constructor(private readonly layers: readonly DenseLayer[]) {
    this.leaves = neuronLeaves(layers);
    this.levels = merkleLevels(this.leaves.map(leafHash));
    this.root = this.levels[this.levels.length - 1][0];
  }

  /** The leaf and proof of neuron j of layer ℓ (from 1); RangeError when there is no such neuron. */
  proof(layer: number, index: number): NeuronProof {
    leafOf(this.layers, layer, index);
    const position = leafPosition(this.layers, layer, index);
    return {
      leaf: this.leaves[position],
      leafHash: this.levels[0][position],
      proof: proofFromLevels(this.levels, position),
    };
  }
}

/** Whether a leaf (its bytes) and a proof lead to the root. */
export function verifyNeuronProof(root: string, leaf: Uint8Array, proof: readonly string[]): boolean {
  return verifyMerkleProof(root, leafHash(leaf), proof);
}
