import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { readFileSync } from "node:fs";
import { hexlify, keccak256 } from "ethers";
import type { ProvenJudge, ProvenJudgeHarness } from "../../typechain-types";
import {
  WeightsTree,
  buildFraudProof,
  commitTrace,
  encodeNeuronLeaf,
  findFirstFraud,
  judge as judgeInTypeScript,
  leafHash,
  merkleProof,
  merkleRoot,
  neuronLeaf,
  recomputeNeuron,
  runReference,
  type DenseLayer,
  type FraudProof,
} from "../../src/proven";
import { GOLDEN_FILE, randomInt8, randomProfileModel, seededRandom } from "../fixtures/proven";

/** ProvenJudge.Fraud. */
const Fraud = { TraceShape: 0n, VectorLength: 1n, Neuron: 2n } as const;

interface GoldenProof {
  layer: number;
  index: number;
  hashes: string[];
  xPrev: string;
  x: string;
  leaf: string;
  proof: string[];
}

/** The parts of test/fixtures/proven-golden.json this test reads. */
interface Golden {
  vectors: { layer: number; hex: string; hash: string }[];
  commitment: string;
  weightsRoot: string;
  steps: { layer: number; neurons: { index: number; value: number }[] }[];
  leaves: { layer: number; index: number; leaf: string; leafHash: string; proof: string[] }[];
  fraud: { commitment: string; proof: GoldenProof; expected: number };
  honestAttempt: { proof: GoldenProof };
}

const golden = JSON.parse(readFileSync(GOLDEN_FILE, "utf8")) as Golden;

async function judgeFixture(): Promise<{ harness: ProvenJudgeHarness; library: ProvenJudge }> {
  const library = (await ethers.deployContract("ProvenJudge")) as unknown as ProvenJudge;
  const harness = await ethers.deployContract("ProvenJudgeHarness", {
    libraries: { ProvenJudge: await library.getAddress() },
  });
  return { harness: harness as unknown as ProvenJudgeHarness, library };
}

/** Hex of a vector or leaf as calldata bytes (an int8 vector as its two's complement bytes). */
function hex(v: string | Int8Array | Uint8Array): string {
  if (typeof v === "string") return v;
  return hexlify(new Uint8Array(v.buffer, v.byteOffset, v.length));
}

/** The arguments of `judge` for a proof, against a commitment and a root. */
function args(commitment: string, root: string, p: GoldenProof | FraudProof) {
  return [commitment, root, p.hashes, hex(p.xPrev), hex(p.x), hex(p.leaf), p.proof] as const;
}

describe("ProvenJudge", function () {
  describe("on the golden vectors (test/fixtures/proven-golden.json)", function () {
    it("recomputes every neuron of every layer as the TypeScript reference does", async function () {
      const { harness } = await loadFixture(judgeFixture);
      for (const step of golden.steps) {
        const xPrev = golden.vectors[step.layer - 1].hex;
        for (const neuron of step.neurons) {
          const leaf = golden.leaves.find((l) => l.layer === step.layer && l.index === neuron.index)!;
          expect(await harness.evaluate(leaf.leaf, xPrev), `layer ${step.layer} neuron ${neuron.index}`).to.equal(
            neuron.value,
          );
        }
      }
    });

    it("convicts the golden cheat through the neuron it posted wrong", async function () {
      const { harness } = await loadFixture(judgeFixture);
      const { proof, commitment } = golden.fraud;
      expect(await harness.judge(...args(commitment, golden.weightsRoot, proof))).to.deep.equal([
        Fraud.Neuron,
        BigInt(proof.layer),
        BigInt(proof.index),
      ]);
    });

    it("refuses the same neuron against the honest trace: ProvenNeuronCorrect(layer, index, value)", async function () {
      const { harness, library } = await loadFixture(judgeFixture);
      const { proof } = golden.honestAttempt;
      const value = golden.steps[proof.layer - 1].neurons[proof.index].value;
      await expect(harness.judge(...args(golden.commitment, golden.weightsRoot, proof)))
        .to.be.revertedWithCustomError(library, "ProvenNeuronCorrect")
        .withArgs(proof.layer, proof.index, value);
    });
  });

  describe("refusals", function () {
    const proof = golden.fraud.proof;
    const commitment = golden.fraud.commitment;

    it("ProvenHashListMismatch when the hashes are not the job's commitment", async function () {
      const { harness, library } = await loadFixture(judgeFixture);
      const given = keccak256(ethers.concat(proof.hashes));
      await expect(harness.judge(...args(golden.commitment, golden.weightsRoot, proof)))
        .to.be.revertedWithCustomError(library, "ProvenHashListMismatch")
        .withArgs(golden.commitment, given);
    });

    it("ProvenLeafNotInModel for a changed leaf or a changed proof", async function () {
      const { harness, library } = await loadFixture(judgeFixture);
      const bytes = ethers.getBytes(proof.leaf);
      bytes[bytes.length - 1] ^= 1; // one weight changed
      await expect(harness.judge(...args(commitment, golden.weightsRoot, { ...proof, leaf: hexlify(bytes) })))
        .to.be.revertedWithCustomError(library, "ProvenLeafNotInModel")
        .withArgs(leafHash(bytes));
      const badProof = [ethers.ZeroHash, ...proof.proof.slice(1)];
      await expect(
        harness.judge(...args(commitment, golden.weightsRoot, { ...proof, proof: badProof })),
      ).to.be.revertedWithCustomError(library, "ProvenLeafNotInModel");
    });

    it("ProvenPreviousVectorMismatch and ProvenVectorMismatch for vectors that are not the committed ones", async function () {
      const { harness, library } = await loadFixture(judgeFixture);
      await expect(harness.judge(...args(commitment, golden.weightsRoot, { ...proof, xPrev: "0x037f01" })))
        .to.be.revertedWithCustomError(library, "ProvenPreviousVectorMismatch")
        .withArgs(proof.layer);
      await expect(harness.judge(...args(commitment, golden.weightsRoot, { ...proof, x: "0xfffe80" })))
        .to.be.revertedWithCustomError(library, "ProvenVectorMismatch")
        .withArgs(proof.layer);
    });

    it("ProvenLeafMalformed for a leaf in the root that no profile file gives", async function () {
      const { harness, library } = await loadFixture(judgeFixture);
      const good = ethers.getBytes(proof.leaf);
      const variants: [string, (b: Uint8Array) => Uint8Array][] = [
        ["short", (b) => b.slice(0, 20)],
        ["one weight missing", (b) => b.slice(0, b.length - 1)],
        ["layer 0", (b) => Object.assign(b.slice(), { 1: 0 })],
        ["layer past L", (b) => Object.assign(b.slice(), { 1: 4 })],
        ["index past nOut", (b) => Object.assign(b.slice(), { 5: 3 })],
        ["M of zero", (b) => Object.assign(b.slice(), { 19: 0 })],
        ["M of 2^31", (b) => Object.assign(b.slice(), { 16: 0x80, 19: 0 })],
        ["s of zero", (b) => Object.assign(b.slice(), { 20: 0 })],
        ["s of 63", (b) => Object.assign(b.slice(), { 20: 63 })],
        ["relu of 2", (b) => Object.assign(b.slice(), { 21: 2 })],
      ];
      for (const [name, change] of variants) {
        const bad = change(good);
        // A root that holds the bad leaf (a model owner can register any root; workers refuse it).
        const leaves = [leafHash(bad), golden.leaves[0].leafHash];
        const root = merkleRoot(leaves);
        await expect(
          harness.judge(...args(commitment, root, { ...proof, leaf: hexlify(bad), proof: merkleProof(leaves, 0) })),
          name,
        )
          .to.be.revertedWithCustomError(library, "ProvenLeafMalformed")
          .withArgs(bad.length);
      }
    });
  });

  describe("convictions without a neuron", function () {
    const layers = (): DenseLayer[] => {
      const m = randomProfileModel(seededRandom(3), 6);
      return m.layers;
    };

    it("TraceShape: a trace without L + 1 vectors, through any leaf", async function () {
      const { harness } = await loadFixture(judgeFixture);
      const model = layers();
      const tree = new WeightsTree(model);
      const x0 = new Int8Array(model[0].nIn);
      const vectors = runReference(model, x0).vectors.slice(0, 2); // x0 and x1 only
      const { commitment } = commitTrace(vectors);
      const p = buildFraudProof(tree, vectors, findFirstFraud(model, vectors)!);
      expect(judgeInTypeScript(commitment, tree.root, p)).to.deep.equal({ proven: true });
      const [fraud] = await harness.judge(...args(commitment, tree.root, p));
      expect(fraud).to.equal(model.length === 1 ? Fraud.Neuron : Fraud.TraceShape);
    });

    it("VectorLength: a hidden vector one value short", async function () {
      const { harness } = await loadFixture(judgeFixture);
      const model = layers();
      const tree = new WeightsTree(model);
      const vectors = runReference(model, new Int8Array(model[0].nIn).fill(3)).vectors;
      vectors[1] = vectors[1].slice(0, vectors[1].length - 1);
      const { commitment } = commitTrace(vectors);
      const fraud = findFirstFraud(model, vectors)!;
      expect(fraud.kind).to.equal("length");
      const p = buildFraudProof(tree, vectors, fraud);
      expect(await harness.judge(...args(commitment, tree.root, p))).to.deep.equal([Fraud.VectorLength, 1n, 0n]);
    });
  });

  describe("against the TypeScript reference", function () {
    it("agrees on the extremes: 1,024 products of -128·-128 and 127·-128, the bias and M and s at their bounds", async function () {
      const { harness } = await loadFixture(judgeFixture);
      const n = 1024;
      const cases: { x: number; w: number; bias: number; multiplier: number; shift: number; relu: boolean }[] = [
        { x: -128, w: -128, bias: 2 ** 31 - 1 - n * 16384, multiplier: 2 ** 31 - 1, shift: 62, relu: false },
        { x: 127, w: -128, bias: -(2 ** 31 - 1 - n * 16384), multiplier: 2 ** 31 - 1, shift: 62, relu: false },
        { x: -128, w: 127, bias: 0, multiplier: 1, shift: 1, relu: false },
        { x: -128, w: 127, bias: 0, multiplier: 1, shift: 1, relu: true },
        { x: -3, w: 1, bias: 0, multiplier: 1, shift: 2, relu: false },
      ];
      for (const c of cases) {
        const layer: DenseLayer = {
          nIn: n,
          nOut: 1,
          weights: new Int8Array(n).fill(c.w),
          bias: Int32Array.of(c.bias),
          multiplier: c.multiplier,
          shift: c.shift,
          activation: c.relu ? "relu" : "none",
        };
        const leaf = encodeNeuronLeaf(neuronLeaf([layer], 1, 0));
        const xPrev = new Int8Array(n).fill(c.x);
        const expected = recomputeNeuron(xPrev, leaf).value;
        expect(await harness.evaluate(leaf, hex(xPrev)), JSON.stringify(c)).to.equal(expected);
      }
    });

    it("on random models and random single-value corruptions: every corruption is proven, every honest neuron refused", async function () {
      const { harness, library } = await loadFixture(judgeFixture);
      const random = seededRandom(11);
      for (let m = 0; m < 6; m++) {
        const model = randomProfileModel(random, 12).layers;
        const tree = new WeightsTree(model);
        const honest = runReference(model, randomInt8(random, model[0].nIn)).vectors;
        const { commitment, hashes } = commitTrace(honest);
        // Every neuron of the honest trace is refused.
        for (let layer = 1; layer <= model.length; layer++) {
          for (let index = 0; index < model[layer - 1].nOut; index++) {
            const { leaf, proof } = tree.proof(layer, index);
            const p = { layer, index, hashes, xPrev: honest[layer - 1], x: honest[layer], leaf, proof };
            await expect(harness.judge(...args(commitment, tree.root, p))).to.be.revertedWithCustomError(
              library,
              "ProvenNeuronCorrect",
            );
          }
        }
        // One value of one vector after the input changed: the first fraud found is proven.
        const posted = honest.map((v) => v.slice());
        const k = 1 + Math.floor(random() * model.length);
        const i = Math.floor(random() * posted[k].length);
        posted[k][i] = posted[k][i] === 127 ? -128 : posted[k][i] + 1;
        const fraud = findFirstFraud(model, posted)!;
        expect(fraud, `model ${m}`).to.not.equal(undefined);
        const p = buildFraudProof(tree, posted, fraud);
        const c = commitTrace(posted).commitment;
        expect(judgeInTypeScript(c, tree.root, p).proven).to.equal(true);
        const [kind, layer, index] = await harness.judge(...args(c, tree.root, p));
        expect([kind, layer, index]).to.deep.equal([Fraud.Neuron, BigInt(p.layer), BigInt(p.index)]);
      }
    });
  });
});
