import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { keccak256, sha256 } from "ethers";
import { decodeTensors } from "../../packages/sdk/src/codec";
import {
  ProfileRuntime,
  buildProfileModel,
  decodeNeuronLeaf,
  parseProfileModel,
  requantize,
  vectorTensor,
  verifyNeuronProof,
} from "../../src/proven";
import { GOLDEN_FILE, GOLDEN_INPUT, GOLDEN_MODEL, goldenJson } from "../fixtures/proven";

const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.slice(2), "hex"));

interface GoldenFile {
  model: { onnxSha256: string };
  input: { encoded: string; hash: string };
  output: { encoded: string; hash: string };
  steps: { layer: number; neurons: { index: number; quotient: string; value: number }[] }[];
  vectors: { layer: number; values: number[]; hex: string }[];
  leaves: { layer: number; index: number; leaf: string; leafHash: string; proof: string[] }[];
  weightsRoot: string;
  fraud: { verdict: { proven: boolean; expected?: number }; proof: { layer: number; index: number } };
  honestAttempt: { verdict: { proven: boolean; refusal?: string; value?: number } };
}

describe("Proven mode golden vectors (test/fixtures/proven-golden.json)", function () {
  const text = readFileSync(GOLDEN_FILE, "utf8");
  const golden = JSON.parse(text) as GoldenFile;

  it("the file is exactly what scripts/proven-golden.ts writes today", function () {
    expect(text === goldenJson(), "test/fixtures/proven-golden.json is stale: run scripts/proven-golden.ts").to.equal(
      true,
    );
  });

  it("pins the documented cases: exact halves, truncation toward zero, both clamps, ReLU, M and s at bounds", function () {
    const values = golden.steps.map((l) => l.neurons.map((n) => [n.quotient, n.value]));
    expect(values).to.deep.equal([
      [
        ["3", 3], // 2.5 rounds up
        ["164", 127], // clamped high
        ["-39", 0], // ReLU
      ],
      [
        ["-1", -1], // -1.5 rounds up
        ["-2", -2], // -3 exactly, truncated toward zero from -2.5
        ["-12479", -128], // clamped low
      ],
      [
        ["1", 1],
        ["0", 0], // -0.99998 + 0.5 truncates to 0
      ],
    ]);
  });

  it("the rounding table in docs/FRAUD-PROOFS.md (M = 1, s = 2) is what the reference computes", function () {
    const doc = readFileSync(path.join(__dirname, "..", "..", "docs", "FRAUD-PROOFS.md"), "utf8");
    const minus = (cell: string) => Number(cell.replace(/\*/g, "").replace("−", "-"));
    const rows = [...doc.matchAll(/^\| (−?\d+) +\| [^|]+\| [^|]+\| ([^|]+?) +\| (−?\d+) +\|$/gm)];
    expect(rows).to.have.length(8);
    for (const [, acc, v, nearest] of rows) {
      expect(requantize(minus(acc), 1, 2, "none").value, `acc ${acc}`).to.equal(minus(v));
      expect(Math.floor(minus(acc) / 4 + 0.5), `acc ${acc}`).to.equal(minus(nearest));
    }
  });

  it("the input is one int8 [1, n0] tensor; the posted output is xL, then x1 .. x(L-1) named <output>/<layer>", function () {
    const { inputName, outputName } = GOLDEN_MODEL;
    for (const v of golden.vectors) {
      expect(v.hex).to.equal("0x" + Buffer.from(Int8Array.from(v.values).buffer).toString("hex"));
    }
    const input = unhex(golden.input.encoded);
    expect(decodeTensors(input)).to.deep.equal([vectorTensor(inputName, GOLDEN_INPUT)]);
    expect(keccak256(input)).to.equal(golden.input.hash);
    const output = unhex(golden.output.encoded);
    const values = (k: number) => Int8Array.from(golden.vectors[k].values);
    expect(decodeTensors(output)).to.deep.equal([
      vectorTensor("scores", values(3)),
      vectorTensor("scores/00001", values(1)),
      vectorTensor("scores/00002", values(2)),
    ]);
    expect(outputName).to.equal("scores");
    expect(keccak256(output)).to.equal(golden.output.hash);
    // Byte for byte, as docs/FRAUD-PROOFS.md lays it out.
    const tensor = (name: string, hex: string) =>
      Buffer.from([name.length, 0]).toString("hex") +
      Buffer.from(name).toString("hex") +
      "0302" +
      "0100000000000000" +
      Buffer.from([hex.length / 2 - 1, 0, 0, 0, 0, 0, 0, 0]).toString("hex") +
      hex.slice(2);
    expect(golden.output.encoded).to.equal(
      "0x544d4c31" +
        "03000000" +
        tensor("scores", golden.vectors[3].hex) +
        tensor("scores/00001", golden.vectors[1].hex) +
        tensor("scores/00002", golden.vectors[2].hex),
    );
  });

  it("every leaf decodes to its neuron, double-hashes to its leaf hash, and its proof verifies", function () {
    expect(golden.leaves).to.have.length(8);
    for (const l of golden.leaves) {
      const leaf = unhex(l.leaf);
      const decoded = decodeNeuronLeaf(leaf);
      expect([decoded.layer, decoded.index, decoded.layerCount]).to.deep.equal([l.layer, l.index, 3]);
      expect(keccak256(keccak256(leaf))).to.equal(l.leafHash);
      expect(verifyNeuronProof(golden.weightsRoot, leaf, l.proof)).to.equal(true);
    }
    // Layer 1, neuron 0: layer 1, j 0, L 3, nIn 4, nOut 3, M 5, s 4, relu, bias 6, column [1, 1, 0, 0].
    expect(golden.leaves[0].leaf).to.equal(
      "0x" +
        "0001" +
        "00000000" +
        "0003" +
        "00000004" +
        "00000003" +
        "00000005" +
        "04" +
        "01" +
        "00000006" +
        "01010000",
    );
  });

  it("the fraud example convicts and the honest attempt is refused", function () {
    expect(golden.fraud.verdict).to.deep.equal({ proven: true, fraud: "neuron", expected: -2 });
    expect([golden.fraud.proof.layer, golden.fraud.proof.index]).to.deep.equal([2, 1]);
    expect(golden.honestAttempt.verdict).to.deep.equal({ proven: false, refusal: "NeuronCorrect", value: -2 });
  });

  it("the ONNX file parses back to the model, and ONNX Runtime computes the same vectors", async function () {
    const bytes = buildProfileModel(GOLDEN_MODEL);
    expect(sha256(bytes)).to.equal(golden.model.onnxSha256);
    expect(parseProfileModel(bytes).model).to.deep.equal(GOLDEN_MODEL);
    const runtime = await ProfileRuntime.load(bytes);
    try {
      const { vectors } = await runtime.run(GOLDEN_INPUT);
      expect(vectors.map((v) => Array.from(v))).to.deep.equal(golden.vectors.map((v) => v.values));
    } finally {
      await runtime.release();
    }
  });
});
