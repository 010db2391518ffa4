import { expect } from "chai";
import { concat, keccak256 } from "ethers";
import {
  LEAF_HEADER_BYTES,
  LeafError,
  WeightsTree,
  buildFraudProof,
  checkPostedNeuron,
  decodeNeuronLeaf,
  encodeProvenInput,
  encodeProvenOutput,
  encodeNeuronLeaf,
  findFirstFraud,
  hashPair,
  judge,
  leafHash,
  merkleProof,
  merkleRoot,
  neuronLeaf,
  proofOf,
  recomputeNeuron,
  runReference,
  verifyMerkleProof,
  vectorTensor,
  verifyNeuronProof,
  weightsRoot,
} from "../../src/proven";
import { encodeTensors } from "../../packages/sdk/src/codec";
import { postedFor, randomInt8, randomProfileModel, seededRandom } from "../fixtures/proven";

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

  it("an honest result: no fault is found, and the judge refuses every neuron", function () {
    for (let m = 0; m < 15; m++) {
      const model = randomProfileModel(random);
      const { layers } = model;
      const vectors = runReference(layers, randomInt8(random, layers[0].nIn)).vectors;
      const tree = new WeightsTree(layers);
      const posted = postedFor(model, vectors);
      expect(findFirstFraud(layers, posted)).to.equal(undefined);
      layers.forEach((l, k) => {
        for (let j = 0; j < l.nOut; j++) {
          const { leaf } = tree.proof(k + 1, j);
          expect(checkPostedNeuron(vectors[k], leaf, vectors[k + 1][j]).wrong).to.equal(false);
          const p = proofOf(tree, posted, k + 1, j);
          expect(judge(posted.inputHash, posted.outputHash, tree.root, p)).to.deep.equal({
            proven: false,
            refusal: "NeuronCorrect",
            value: vectors[k + 1][j],
          });
        }
      });
    }
  });

  it("a corrupted hidden or output value: the first wrong neuron is found, its proof verifies and convicts", function () {
    for (let m = 0; m < 60; m++) {
      const model = randomProfileModel(random);
      const { layers } = model;
      const honest = runReference(layers, randomInt8(random, layers[0].nIn)).vectors;
      const layer = int(1, layers.length);
      const index = int(0, layers[layer - 1].nOut - 1);
      const vectors: Int8Array[] = honest.map((v) => Int8Array.from(v));
      let value = honest[layer][index];
      while (value === honest[layer][index]) value = int(-128, 127);
      vectors[layer][index] = value;
      // Half the cheats carry the lie on through the later layers, so only one neuron anywhere is wrong.
      if (random() < 0.5) {
        for (let k = layer; k < layers.length; k++)
          vectors[k + 1] = runReference(layers.slice(k), vectors[k]).vectors[1];
      }
      const posted = postedFor(model, vectors);
      const fraud = findFirstFraud(layers, posted);
      expect(fraud).to.deep.equal({ kind: "neuron", layer, index, posted: value, expected: honest[layer][index] });
      const tree = new WeightsTree(layers);
      const proof = buildFraudProof(tree, posted, fraud!);
      expect([proof.layer, proof.index]).to.deep.equal([layer, index]);
      expect(verifyNeuronProof(tree.root, proof.leaf, proof.proof)).to.equal(true);
      expect(proof.input.length).to.equal(layer === 1 ? posted.input.length : 0);
      expect(recomputeNeuron(vectors[layer - 1], proof.leaf).value).to.equal(honest[layer][index]);
      expect(judge(posted.inputHash, posted.outputHash, tree.root, proof)).to.deep.equal({
        proven: true,
        fraud: "neuron",
        expected: honest[layer][index],
      });
    }
  });

  it("a result computed from another input is found at layer 1, where the job's input is read", function () {
    const model = randomProfileModel(random);
    const { layers } = model;
    const x0 = randomInt8(random, layers[0].nIn);
    const other = Int8Array.from(x0);
    other[0] = other[0] === 0 ? 1 : 0;
    const vectors = runReference(layers, other).vectors;
    // The worker posts the trace of `other` for a job whose input is x0.
    const posted = { ...postedFor(model, vectors), input: encodeProvenInput(model.inputName, x0) };
    const inputHash = keccak256(posted.input);
    const fraud = findFirstFraud(layers, posted);
    const honestFirst = runReference(layers, x0).vectors[1];
    if (honestFirst.every((v, i) => v === vectors[1][i])) {
      // The changed value made no difference to layer 1: the posted result is the model's on x0 too.
      expect(fraud).to.equal(undefined);
      return;
    }
    expect(fraud).to.deep.include({ kind: "neuron", layer: 1 });
    const tree = new WeightsTree(layers);
    expect(judge(inputHash, posted.outputHash, tree.root, buildFraudProof(tree, posted, fraud!)).proven).to.equal(true);
  });

  it("a posted vector of the wrong length convicts through neuron 0 of the layer that produced it", function () {
    const model = randomProfileModel(random);
    const { layers } = model;
    const vectors: Int8Array[] = runReference(layers, randomInt8(random, layers[0].nIn)).vectors;
    vectors[1] = Int8Array.from([...vectors[1], 0]);
    const posted = postedFor(model, vectors);
    const fraud = findFirstFraud(layers, posted);
    expect(fraud).to.deep.equal({ kind: "length", layer: 1, length: layers[0].nOut + 1, expected: layers[0].nOut });
    const tree = new WeightsTree(layers);
    const proof = buildFraudProof(tree, posted, fraud!);
    expect(judge(posted.inputHash, posted.outputHash, tree.root, proof)).to.deep.equal({
      proven: true,
      fraud: "length",
    });
  });

  it("an output with too few or too many vectors, or misnamed, convicts through any neuron", function () {
    const model = randomProfileModel(random);
    const { layers } = model;
    const honest = runReference(layers, randomInt8(random, layers[0].nIn)).vectors;
    const tree = new WeightsTree(layers);
    const outputs = [
      encodeProvenOutput(model.outputName, honest.slice(1, -1).length ? honest.slice(1, -1) : [honest[1], honest[1]]),
      encodeProvenOutput(model.outputName, [...honest.slice(1), honest[1]]),
      encodeTensors([vectorTensor("renamed", honest[honest.length - 1])]),
    ];
    for (const output of outputs) {
      const posted = { input: encodeProvenInput(model.inputName, honest[0]), output };
      const fraud = findFirstFraud(layers, posted);
      if (layers.length === 1 && output === outputs[2]) {
        // One layer: the output's name is the worker's to choose; only the values are judged.
        expect(fraud).to.equal(undefined);
        continue;
      }
      expect(fraud, new TextDecoder().decode(output)).to.deep.include({ kind: "output-encoding" });
      for (let layer = 1; layer <= layers.length; layer++) {
        const proof = proofOf(tree, posted, layer, 0);
        expect(judge(keccak256(posted.input), keccak256(output), tree.root, proof)).to.deep.equal({
          proven: true,
          fraud: "output-encoding",
        });
      }
    }
  });

  it("the judge's refusals: another output, another input, a leaf not in the model, a leaf outside the profile", function () {
    const model = randomProfileModel(random, 8);
    const { layers } = model;
    const honest = runReference(layers, randomInt8(random, layers[0].nIn)).vectors;
    const vectors: Int8Array[] = honest.map((v) => Int8Array.from(v));
    vectors[1][0] = honest[1][0] === 0 ? 1 : 0;
    const tree = new WeightsTree(layers);
    const posted = postedFor(model, vectors);
    const proof = buildFraudProof(tree, posted, findFirstFraud(layers, posted)!);
    const verdict = (p: typeof proof, root = tree.root) => judge(posted.inputHash, posted.outputHash, root, p);
    expect(verdict(proof).proven).to.equal(true);
    const refusal = (p: typeof proof, root = tree.root) => (verdict(p, root) as { refusal?: string }).refusal;
    expect(refusal({ ...proof, output: postedFor(model, honest).output })).to.equal("OutputMismatch");
    expect(refusal({ ...proof, input: encodeProvenInput("other", honest[0]) })).to.equal("InputMismatch");
    expect(refusal(proof, weightsRoot(randomProfileModel(random).layers))).to.equal("LeafNotInModel");
    const outside = Uint8Array.from(proof.leaf);
    outside[20] = 63; // s past its bound
    const root = merkleRoot([leafHash(outside)]);
    expect(refusal({ ...proof, leaf: outside, proof: [] }, root)).to.equal("LeafMalformed");
  });
});
