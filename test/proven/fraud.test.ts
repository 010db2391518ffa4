import { expect } from "chai";
import { concat, keccak256 } from "ethers";
import {
  LEAF_HEADER_BYTES,
  LeafError,
  WeightsTree,
  buildFraudProof,
  checkPostedNeuron,
  commitTrace,
  decodeNeuronLeaf,
  encodeNeuronLeaf,
  findFirstFraud,
  hashPair,
  judge,
  leafHash,
  merkleProof,
  merkleRoot,
  neuronLeaf,
  recomputeNeuron,
  runReference,
  verifyMerkleProof,
  verifyNeuronProof,
  weightsRoot,
} from "../../src/proven";
import { randomInt8, randomProfileModel, seededRandom } from "../fixtures/proven";

const h = (n: number): string => keccak256(new Uint8Array([n]));
const sorted = (a: string, b: string): string =>
  BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]));

describe("weightsRoot's Merkle tree", function () {
  it("inner nodes hash their children sorted; an odd last node is carried up unchanged", function () {
    const [a, b, c, d, e] = [h(1), h(2), h(3), h(4), h(5)];
    expect(merkleRoot([a])).to.equal(a);
    expect(merkleRoot([a, b])).to.equal(sorted(a, b));
    expect(hashPair(a, b)).to.equal(hashPair(b, a));
    expect(merkleRoot([a, b, c])).to.equal(sorted(sorted(a, b), c));
    expect(merkleRoot([a, b, c, d, e])).to.equal(sorted(sorted(sorted(a, b), sorted(c, d)), e));
    // e is carried up twice: its proof has one sibling only.
    expect(merkleProof([a, b, c, d, e], 4)).to.deep.equal([sorted(sorted(a, b), sorted(c, d))]);
    expect(merkleProof([a], 0)).to.deep.equal([]);
  });

  it("every leaf's proof verifies, for every tree size up to 17; a changed sibling or leaf does not", function () {
    for (let n = 1; n <= 17; n++) {
      const leaves = Array.from({ length: n }, (_, i) => h(i));
      const root = merkleRoot(leaves);
      leaves.forEach((leaf, i) => {
        const proof = merkleProof(leaves, i);
        expect(verifyMerkleProof(root, leaf, proof), `${i} of ${n}`).to.equal(true);
        expect(verifyMerkleProof(root, h(100), proof)).to.equal(false);
        if (proof.length > 0) expect(verifyMerkleProof(root, leaf, [h(101), ...proof.slice(1)])).to.equal(false);
      });
    }
    expect(() => merkleRoot([])).to.throw(RangeError);
    expect(() => merkleProof([h(1)], 1)).to.throw(RangeError, /leaf index 1 is not in 0\.\.0/);
  });
});

describe("neuron leaves", function () {
  const model = randomProfileModel(seededRandom(3));
  const layers = model.layers;

  it("encode, decode and double-hash", function () {
    const leaf = neuronLeaf(layers, 1, 0);
    const bytes = encodeNeuronLeaf(leaf);
    expect(bytes.length).to.equal(LEAF_HEADER_BYTES + layers[0].nIn);
    expect(decodeNeuronLeaf(bytes)).to.deep.equal(leaf);
    expect(leafHash(bytes)).to.equal(keccak256(keccak256(bytes)));
    expect(leaf.layerCount).to.equal(layers.length);
  });

  it("refuses malformed leaves", function () {
    const bytes = encodeNeuronLeaf(neuronLeaf(layers, 1, 0));
    expect(() => decodeNeuronLeaf(bytes.subarray(0, 25))).to.throw(LeafError, /at least 26 bytes, got 25/);
    expect(() => decodeNeuronLeaf(new Uint8Array([...bytes, 0]))).to.throw(LeafError, /has \d+ bytes, got \d+/);
    const relu = Uint8Array.from(bytes);
    relu[21] = 2;
    expect(() => decodeNeuronLeaf(relu)).to.throw(LeafError, /the relu byte is 2/);
    expect(() => neuronLeaf(layers, layers.length + 1, 0)).to.throw(RangeError);
  });

  it("WeightsTree's root is weightsRoot, and each neuron's proof verifies against it", function () {
    const tree = new WeightsTree(layers);
    expect(tree.root).to.equal(weightsRoot(layers));
    layers.forEach((l, k) => {
      for (let j = 0; j < l.nOut; j++) {
        const { leaf, proof } = tree.proof(k + 1, j);
        expect(verifyNeuronProof(tree.root, leaf, proof)).to.equal(true);
        expect(decodeNeuronLeaf(leaf)).to.deep.include({ layer: k + 1, index: j });
      }
    });
  });
});

describe("fraud proofs (property: random models, random single-value corruptions)", function () {
  const random = seededRandom(0xf4a0d);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));

  it("an honest trace: no neuron mismatches, and the judge refuses every neuron", function () {
    for (let m = 0; m < 15; m++) {
      const { layers } = randomProfileModel(random);
      const vectors = runReference(layers, randomInt8(random, layers[0].nIn)).vectors;
      const tree = new WeightsTree(layers);
      const { commitment } = commitTrace(vectors);
      expect(findFirstFraud(layers, vectors)).to.equal(undefined);
      layers.forEach((l, k) => {
        for (let j = 0; j < l.nOut; j++) {
          const { leaf } = tree.proof(k + 1, j);
          expect(checkPostedNeuron(vectors[k], leaf, vectors[k + 1][j]).wrong).to.equal(false);
          const p = buildFraudProof(tree, vectors, { kind: "neuron", layer: k + 1, index: j, posted: 0, expected: 0 });
          expect(judge(commitment, tree.root, p)).to.deep.equal({ proven: false, refusal: "NeuronCorrect" });
        }
      });
    }
  });

  it("a corrupted hidden or output value: the first wrong neuron is found, its proof verifies and convicts", function () {
    for (let m = 0; m < 60; m++) {
      const { layers } = randomProfileModel(random);
      const honest = runReference(layers, randomInt8(random, layers[0].nIn)).vectors;
      const layer = int(1, layers.length);
      const index = int(0, layers[layer - 1].nOut - 1);
      const posted: Int8Array[] = honest.map((v) => Int8Array.from(v));
      let value = honest[layer][index];
      while (value === honest[layer][index]) value = int(-128, 127);
      posted[layer][index] = value;
      // Half the cheats carry the lie on through the later layers, so only one neuron anywhere is wrong.
      if (random() < 0.5) {
        for (let k = layer; k < layers.length; k++) posted[k + 1] = runReference(layers.slice(k), posted[k]).vectors[1];
      }
      const fraud = findFirstFraud(layers, posted);
      expect(fraud).to.deep.equal({ kind: "neuron", layer, index, posted: value, expected: honest[layer][index] });
      const tree = new WeightsTree(layers);
      const proof = buildFraudProof(tree, posted, fraud!);
      expect(verifyNeuronProof(tree.root, proof.leaf, proof.proof)).to.equal(true);
      expect(recomputeNeuron(proof.xPrev, proof.leaf).value).to.equal(honest[layer][index]);
      expect(checkPostedNeuron(proof.xPrev, proof.leaf, proof.x[index])).to.deep.equal({
        expected: honest[layer][index],
        wrong: true,
      });
      expect(judge(commitTrace(posted).commitment, tree.root, proof)).to.deep.equal({
        proven: true,
        expected: honest[layer][index],
      });
    }
  });

  it("a corrupted input is no neuron fraud: the input hash check catches it", function () {
    const { layers } = randomProfileModel(random);
    const x0 = randomInt8(random, layers[0].nIn);
    const wrong = Int8Array.from(x0);
    wrong[0] = wrong[0] === 0 ? 1 : 0;
    const posted = runReference(layers, wrong).vectors;
    expect(findFirstFraud(layers, posted)).to.equal(undefined);
    expect(commitTrace(posted).hashes[0]).to.not.equal(commitTrace([x0]).hashes[0]);
  });

  it("a posted vector of the wrong length convicts through any neuron of its layer", function () {
    const { layers } = randomProfileModel(random);
    const posted: Int8Array[] = runReference(layers, randomInt8(random, layers[0].nIn)).vectors;
    posted[1] = Int8Array.from([...posted[1], 0]);
    const fraud = findFirstFraud(layers, posted);
    expect(fraud).to.deep.equal({ kind: "length", layer: 1, length: layers[0].nOut + 1, expected: layers[0].nOut });
    const tree = new WeightsTree(layers);
    expect(judge(commitTrace(posted).commitment, tree.root, buildFraudProof(tree, posted, fraud!))).to.deep.equal({
      proven: true,
    });
  });

  it("a trace with too few or too many vectors convicts through any leaf, without its vectors", function () {
    const { layers } = randomProfileModel(random);
    const honest = runReference(layers, randomInt8(random, layers[0].nIn)).vectors;
    const tree = new WeightsTree(layers);
    for (const posted of [honest.slice(0, 1), honest.slice(0, -1), [...honest, honest[honest.length - 1]]]) {
      const fraud = findFirstFraud(layers, posted);
      expect(fraud).to.deep.equal({ kind: "count", count: posted.length, expected: layers.length + 1 });
      const proof = buildFraudProof(tree, posted, fraud!);
      expect(judge(commitTrace(posted).commitment, tree.root, proof)).to.deep.equal({ proven: true });
    }
  });

  it("the judge's refusals: wrong hash list, wrong vectors, a leaf not in the model, a leaf of another neuron", function () {
    const { layers } = randomProfileModel(random, 8);
    const honest = runReference(layers, randomInt8(random, layers[0].nIn)).vectors;
    const posted: Int8Array[] = honest.map((v) => Int8Array.from(v));
    posted[1][0] = honest[1][0] === 0 ? 1 : 0;
    const tree = new WeightsTree(layers);
    const { commitment } = commitTrace(posted);
    const proof = buildFraudProof(tree, posted, findFirstFraud(layers, posted)!);
    expect(judge(commitment, tree.root, proof).proven).to.equal(true);
    const refusal = (p: typeof proof, root = tree.root) => (judge(commitment, root, p) as { refusal?: string }).refusal;
    expect(refusal({ ...proof, hashes: [...proof.hashes].reverse() })).to.equal("HashListMismatch");
    expect(refusal({ ...proof, xPrev: Int8Array.from(proof.xPrev).fill(1) })).to.equal("PreviousVectorMismatch");
    expect(refusal({ ...proof, x: honest[1] })).to.equal("VectorMismatch");
    expect(refusal(proof, weightsRoot(randomProfileModel(random).layers))).to.equal("LeafNotInModel");
    if (layers[0].nOut > 1) {
      const other = tree.proof(1, 1);
      expect(refusal({ ...proof, leaf: other.leaf, proof: other.proof })).to.equal("LeafPositionMismatch");
    }
  });
});
