/**
 * The Merkle tree of weightsRoot (docs/FRAUD-PROOFS.md, "weightsRoot"): an inner node is keccak256 of its two
 * children sorted ascending, so a proof needs no left/right flags and OpenZeppelin 5's MerkleProof.verify and
 * verifyCalldata check it as is; at each level an odd last node is carried up unchanged. Leaves are hashes given by
 * the caller (src/proven/leaves.ts double-hashes them, so no leaf can pose as an inner node).
 */
import { concat, keccak256 } from "ethers";

/** keccak256 of the two hashes in ascending order (as OpenZeppelin's Hashes.commutativeKeccak256). */
export function hashPair(a: string, b: string): string {
  return BigInt(a) <= BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]));
}

/** Every level of the tree, leaves first, root last (a one-element level). Throws RangeError for no leaves. */
export function merkleLevels(leaves: readonly string[]): string[][] {
  if (leaves.length === 0) throw new RangeError("a Merkle tree needs at least one leaf");
  const levels = [[...leaves]];
  while (levels[levels.length - 1].length > 1) {
    const level = levels[levels.length - 1];
    const next: string[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(hashPair(level[i], level[i + 1]));
    if (level.length % 2 === 1) next.push(level[level.length - 1]);
    levels.push(next);
  }
  return levels;
}

/** The root over the leaves, in their order. */
export function merkleRoot(leaves: readonly string[]): string {
  const levels = merkleLevels(leaves);
  return levels[levels.length - 1][0];
}

/** The proof of leaf `index`: its siblings from the leaf up, skipping the levels where it is carried up alone. */
export function merkleProof(leaves: readonly string[], index: number): string[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
    throw new RangeError(`leaf index ${index} is not in 0..${leaves.length - 1}`);
  }
  return proofFromLevels(merkleLevels(leaves), index);
}

/** merkleProof on levels already built (merkleLevels), for many proofs over one tree. */
export function proofFromLevels(levels: readonly string[][], index: number): string[] {
  const proof: string[] = [];
  for (const level of levels.slice(0, -1)) {
    const sibling = index ^ 1;
    if (sibling < level.length) proof.push(level[sibling]);
    index >>= 1;
  }
  return proof;
}

/** The root a leaf and a proof lead to (OpenZeppelin's MerkleProof.processProof). */
export function processProof(leaf: string, proof: readonly string[]): string {
  return proof.reduce((node, sibling) => hashPair(node, sibling), leaf);
}

/** Whether the proof leads from the leaf to the root. */
export function verifyMerkleProof(root: string, leaf: string, proof: readonly string[]): boolean {
  return processProof(leaf, proof).toLowerCase() === root.toLowerCase();
}
