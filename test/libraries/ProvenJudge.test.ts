import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { readFileSync } from "node:fs";
import { hexlify, keccak256 } from "ethers";
import type { ProvenJudge, ProvenJudgeHarness } from "../../typechain-types";
import { encodeTensors } from "../../packages/sdk/src/codec";
import {
  FRAUD_KINDS,
  WeightsTree,
  buildFraudProof,
  encodeNeuronLeaf,
  encodeProvenInput,
  encodeProvenOutput,
  findFirstFraud,
  judge as judgeInTypeScript,
  leafHash,
  merkleProof,
  merkleRoot,
  neuronLeaf,
  proofOf,
  recomputeNeuron,
  runReference,
  vectorTensor,
  type DenseLayer,
  type FraudProof,
  type Verdict,
} from "../../src/proven";
import { GOLDEN_FILE, postedFor, randomInt8, randomProfileModel, seededRandom } from "../fixtures/proven";

/** ProvenJudge.Fraud. */
const Fraud = { OutputEncoding: 0n, InputEncoding: 1n, VectorLength: 2n, Neuron: 3n } as const;

interface GoldenProof {
  layer: number;
  index: number;
  input: string;
  output: string;
  leaf: string;
  proof: string[];
}

/** The parts of test/fixtures/proven-golden.json this test reads. */
interface Golden {
  vectors: { layer: number; hex: string }[];
  input: { encoded: string; hash: string };
  output: { encoded: string; hash: string };
  weightsRoot: string;
  steps: { layer: number; neurons: { index: number; value: number }[] }[];
  leaves: { layer: number; index: number; leaf: string; leafHash: string; proof: string[] }[];
  fraud: { output: { encoded: string; hash: string }; proof: GoldenProof; expected: number };
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

/** Hex of bytes given as hex or as an array. */
function hex(v: string | Int8Array | Uint8Array): string {
  if (typeof v === "string") return v;
  return hexlify(new Uint8Array(v.buffer, v.byteOffset, v.length));
}

/** The arguments of `judge` for a proof, against the job's input and output hashes and a root. */
function args(inputHash: string, outputHash: string, root: string, p: GoldenProof | FraudProof) {
  return [inputHash, outputHash, root, hex(p.input), hex(p.output), hex(p.leaf), p.proof] as const;
}

/** The Solidity judge's verdict in the TypeScript judge's terms: how it convicted, or the name of its revert. */
async function verdictOnChain(
  harness: ProvenJudgeHarness,
  library: ProvenJudge,
  call: ReturnType<typeof args>,
): Promise<{ proven: true; fraud: string } | { proven: false; refusal: string }> {
  try {
    const [fraud] = await harness.judge(...call);
    return { proven: true, fraud: FRAUD_KINDS[Number(fraud)] };
  } catch (e) {
    const data = (e as { data?: string }).data;
    const parsed = data === undefined ? null : library.interface.parseError(data);
    if (parsed === null) throw e;
    return { proven: false, refusal: parsed.name.replace(/^Proven/, "") };
  }
}

/** The TypeScript verdict without the values the Solidity verdict does not carry. */
const bare = (v: Verdict) => (v.proven ? { proven: true, fraud: v.fraud } : { proven: false, refusal: v.refusal });

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

    it("reads the golden input and output as the profile lays them out", async function () {
      const { harness } = await loadFixture(judgeFixture);
      expect(await harness.readInput(golden.input.encoded)).to.deep.equal([true, 4n]);
      // Positions: x3 (the output) first, then x1 and x2.
      expect(await harness.readOutput(golden.output.encoded, 3, 2, 0)).to.deep.equal([true, 3n, 2n]);
      expect(await harness.readOutput(golden.output.encoded, 3, 1, 2)).to.deep.equal([true, 3n, 3n]);
      expect(await harness.readOutput(golden.output.encoded, 2, 1, 0)).to.deep.equal([false, 0n, 0n]);
    });

    it("convicts the golden cheat through the neuron it posted wrong", async function () {
      const { harness } = await loadFixture(judgeFixture);
      const { proof, output } = golden.fraud;
      expect(await harness.judge(...args(golden.input.hash, output.hash, golden.weightsRoot, proof))).to.deep.equal([
        Fraud.Neuron,
        BigInt(proof.layer),
        BigInt(proof.index),
      ]);
    });

    it("refuses the same neuron against the honest result: ProvenNeuronCorrect(layer, index, value)", async function () {
      const { harness, library } = await loadFixture(judgeFixture);
      const { proof } = golden.honestAttempt;
      const value = golden.steps[proof.layer - 1].neurons[proof.index].value;
      await expect(harness.judge(...args(golden.input.hash, golden.output.hash, golden.weightsRoot, proof)))
        .to.be.revertedWithCustomError(library, "ProvenNeuronCorrect")
        .withArgs(proof.layer, proof.index, value);
    });
  });

  describe("refusals", function () {
    const proof = golden.fraud.proof;
    const outputHash = golden.fraud.output.hash;

    it("ProvenOutputMismatch when the output is not the job's posted output", async function () {
      const { harness, library } = await loadFixture(judgeFixture);
      await expect(harness.judge(...args(golden.input.hash, golden.output.hash, golden.weightsRoot, proof)))
        .to.be.revertedWithCustomError(library, "ProvenOutputMismatch")
        .withArgs(golden.output.hash, outputHash);
    });

    it("ProvenInputMismatch for a neuron of layer 1 when the input is not the job's", async function () {
      const { harness, library } = await loadFixture(judgeFixture);
      const leaf = golden.leaves[0];
      const p = { ...proof, input: golden.input.encoded, leaf: leaf.leaf, proof: leaf.proof };
      const otherHash = keccak256("0x01");
      await expect(harness.judge(...args(otherHash, outputHash, golden.weightsRoot, p)))
        .to.be.revertedWithCustomError(library, "ProvenInputMismatch")
        .withArgs(otherHash, golden.input.hash);
      // A neuron of a later layer never reads the input: any input (here an empty one) is ignored.
      await expect(harness.judge(...args(otherHash, outputHash, golden.weightsRoot, { ...proof, input: "0x" }))).to.not
        .be.reverted;
    });

    it("ProvenLeafNotInModel for a changed leaf or a changed proof", async function () {
      const { harness, library } = await loadFixture(judgeFixture);
      const bytes = ethers.getBytes(proof.leaf);
      bytes[bytes.length - 1] ^= 1; // one weight changed
      await expect(
        harness.judge(...args(golden.input.hash, outputHash, golden.weightsRoot, { ...proof, leaf: hexlify(bytes) })),
      )
        .to.be.revertedWithCustomError(library, "ProvenLeafNotInModel")
        .withArgs(leafHash(bytes));
      const badProof = [ethers.ZeroHash, ...proof.proof.slice(1)];
      await expect(
        harness.judge(...args(golden.input.hash, outputHash, golden.weightsRoot, { ...proof, proof: badProof })),
      ).to.be.revertedWithCustomError(library, "ProvenLeafNotInModel");
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
        const p = { ...proof, leaf: hexlify(bad), proof: merkleProof(leaves, 0) };
        await expect(harness.judge(...args(golden.input.hash, outputHash, root, p)), name)
          .to.be.revertedWithCustomError(library, "ProvenLeafMalformed")
          .withArgs(bad.length);
      }
    });
  });

  describe("convictions without a wrong neuron", function () {
    const model = randomProfileModel(seededRandom(3), 6);
    const layers = (): DenseLayer[] => model.layers;

    it("OutputEncoding: each way an output can leave the layout convicts through any neuron", async function () {
      const { harness, library } = await loadFixture(judgeFixture);
      const tree = new WeightsTree(layers());
      const vectors = runReference(layers(), new Int8Array(layers()[0].nIn).fill(2)).vectors;
      const honest = postedFor(model, vectors);
      const L = layers().length;
      const out = vectors[L];
      const hidden = vectors.slice(1, L);
      const named = (name: string, v: Int8Array) => vectorTensor(name, v);
      const outputs: [string, Uint8Array][] = [
        ["empty", new Uint8Array(0)],
        ["wrong magic", Uint8Array.from([0x54, 0x4d, 0x4c, 0x32, ...honest.output.slice(4)])],
        ["one vector too many", encodeProvenOutput(model.outputName, [...vectors.slice(1), out])],
        ["int32 output", encodeTensors([{ name: "output", type: "int32", shape: [1, 1], data: Int32Array.of(1) }])],
        ["rank 1", encodeTensors([{ name: "output", type: "int8", shape: [out.length], data: out }])],
        ["trailing byte", Uint8Array.from([...honest.output, 0])],
        ["truncated", honest.output.slice(0, honest.output.length - 1)],
      ];
      // The count of L tensors kept, the last tensor's bytes dropped: the list ends where a tensor should start.
      const last = vectors.length - 1;
      // The last tensor in the list: x(L-1) named "output/0000k" (12 bytes), or for one layer the output itself.
      const lastTensorBytes = L === 1 ? 2 + 6 + 18 + vectors[last].length : 2 + 12 + 18 + vectors[last - 1].length;
      outputs.push([
        "a tensor missing after a whole one",
        honest.output.slice(0, honest.output.length - lastTensorBytes),
      ]);
      outputs.push([
        "an empty name",
        Uint8Array.from([...honest.output.slice(0, 8), 0, 0, ...honest.output.slice(10)]),
      ]);
      outputs.push(["cut inside the first tensor's header", honest.output.slice(0, 20)]);
      if (L > 1) {
        outputs.push(["a hidden vector misnamed", encodeTensors([named("output", out), named("output/1", hidden[0])])]);
        outputs.push(["the output alone", encodeTensors([named("output", out)])]);
        // The last hidden vector misnamed with a name of the right length: another prefix, or another number.
        const rest = hidden.slice(0, -1).map((v, k) => named(`output/${String(k + 1).padStart(5, "0")}`, v));
        const lastNumber = String(L - 1).padStart(5, "0");
        outputs.push([
          "a hidden vector under another name of the same length",
          encodeTensors([named("output", out), ...rest, named(`outpuz/${lastNumber}`, hidden[L - 2])]),
        ]);
        outputs.push([
          "a hidden vector with another layer's number",
          encodeTensors([named("output", out), ...rest, named("output/99999", hidden[L - 2])]),
        ]);
      }
      for (const [name, output] of outputs) {
        const posted = { input: honest.input, output };
        expect(findFirstFraud(layers(), posted), name).to.deep.include({ kind: "output-encoding" });
        for (let layer = 1; layer <= L; layer++) {
          const p = proofOf(tree, posted, layer, 0);
          const call = args(honest.inputHash, keccak256(output), tree.root, p);
          expect(await harness.judge(...call), `${name}, layer ${layer}`).to.deep.equal([
            Fraud.OutputEncoding,
            BigInt(layer),
            0n,
          ]);
          expect(bare(judgeInTypeScript(honest.inputHash, keccak256(output), tree.root, p))).to.deep.equal(
            await verdictOnChain(harness, library, call),
          );
        }
      }
    });

    it("InputEncoding: a served input that is not one int8 [1, n] vector convicts through a neuron of layer 1", async function () {
      const { harness } = await loadFixture(judgeFixture);
      const tree = new WeightsTree(layers());
      const vectors = runReference(layers(), new Int8Array(layers()[0].nIn).fill(1)).vectors;
      const honest = postedFor(model, vectors);
      const x0 = vectors[0];
      const inputs: Uint8Array[] = [
        honest.input.slice(0, 6),
        Uint8Array.from([0x54, 0x4d, 0x4c, 0x32, ...honest.input.slice(4)]),
        encodeTensors([vectorTensor("a", x0), vectorTensor("b", x0)]),
        encodeTensors([{ name: "input", type: "uint8", shape: [1, x0.length], data: new Uint8Array(x0.length) }]),
        Uint8Array.from([...honest.input, 7]),
      ];
      for (const input of inputs) {
        const posted = { input, output: honest.output };
        expect(findFirstFraud(layers(), posted)).to.deep.include({ kind: "input-encoding" });
        const p = proofOf(tree, posted, 1, 0);
        expect(await harness.judge(...args(keccak256(input), honest.outputHash, tree.root, p))).to.deep.equal([
          Fraud.InputEncoding,
          1n,
          0n,
        ]);
      }
    });

    it("VectorLength: a hidden vector one value short, or an input of another width", async function () {
      const { harness } = await loadFixture(judgeFixture);
      const tree = new WeightsTree(layers());
      const vectors = runReference(layers(), new Int8Array(layers()[0].nIn).fill(3)).vectors;
      vectors[1] = vectors[1].slice(0, vectors[1].length - 1);
      const posted = postedFor(model, vectors);
      const fraud = findFirstFraud(layers(), posted)!;
      expect(fraud).to.deep.include({ kind: "length", layer: 1 });
      const p = buildFraudProof(tree, posted, fraud);
      expect(await harness.judge(...args(posted.inputHash, posted.outputHash, tree.root, p))).to.deep.equal([
        Fraud.VectorLength,
        1n,
        0n,
      ]);
      const wide = encodeProvenInput(model.inputName, new Int8Array(layers()[0].nIn + 1));
      const honest = postedFor(model, runReference(layers(), new Int8Array(layers()[0].nIn)).vectors);
      const q = proofOf(tree, { input: wide, output: honest.output }, 1, 0);
      expect(await harness.judge(...args(keccak256(wide), honest.outputHash, tree.root, q))).to.deep.equal([
        Fraud.VectorLength,
        1n,
        0n,
      ]);
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
        const model = randomProfileModel(random, 12);
        const layers = model.layers;
        const tree = new WeightsTree(layers);
        const honest = runReference(layers, randomInt8(random, layers[0].nIn)).vectors;
        const posted = postedFor(model, honest);
        // Every neuron of the honest result is refused.
        for (let layer = 1; layer <= layers.length; layer++) {
          for (let index = 0; index < layers[layer - 1].nOut; index++) {
            const p = proofOf(tree, posted, layer, index);
            await expect(
              harness.judge(...args(posted.inputHash, posted.outputHash, tree.root, p)),
            ).to.be.revertedWithCustomError(library, "ProvenNeuronCorrect");
          }
        }
        // One value of one vector after the input changed: the first fraud found is proven.
        const vectors = honest.map((v) => v.slice());
        const k = 1 + Math.floor(random() * layers.length);
        const i = Math.floor(random() * vectors[k].length);
        vectors[k][i] = vectors[k][i] === 127 ? -128 : vectors[k][i] + 1;
        const cheat = postedFor(model, vectors);
        const fraud = findFirstFraud(layers, cheat)!;
        expect(fraud, `model ${m}`).to.not.equal(undefined);
        const p = buildFraudProof(tree, cheat, fraud);
        expect(judgeInTypeScript(cheat.inputHash, cheat.outputHash, tree.root, p).proven).to.equal(true);
        const [kind, layer, index] = await harness.judge(...args(cheat.inputHash, cheat.outputHash, tree.root, p));
        expect([kind, layer, index]).to.deep.equal([Fraud.Neuron, BigInt(p.layer), BigInt(p.index)]);
      }
    });

    it("on random byte changes of a posted output: the Solidity and TypeScript judges give the same verdict", async function () {
      const { harness, library } = await loadFixture(judgeFixture);
      const random = seededRandom(29);
      const model = randomProfileModel(random, 5);
      const layers = model.layers;
      const tree = new WeightsTree(layers);
      const honest = postedFor(model, runReference(layers, randomInt8(random, layers[0].nIn)).vectors);
      const seen = new Set<string>();
      for (let t = 0; t < 40; t++) {
        const output = Uint8Array.from(honest.output);
        const at = Math.floor(random() * output.length);
        output[at] = random() < 0.5 ? output[at] ^ (1 << Math.floor(random() * 8)) : Math.floor(random() * 256);
        const layer = 1 + Math.floor(random() * layers.length);
        const p = proofOf(tree, { input: honest.input, output }, layer, 0);
        const call = args(honest.inputHash, keccak256(output), tree.root, p);
        const onChain = await verdictOnChain(harness, library, call);
        expect(onChain, `byte ${at}, layer ${layer}`).to.deep.equal(
          bare(judgeInTypeScript(honest.inputHash, keccak256(output), tree.root, p)),
        );
        seen.add(JSON.stringify(onChain));
      }
      // Both convictions and refusals came up.
      expect([...seen].some((s) => s.includes('"proven":true'))).to.equal(true);
      expect([...seen].some((s) => s.includes('"proven":false'))).to.equal(true);
    });
  });
});
