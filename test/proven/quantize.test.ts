import { expect } from "chai";
import hre from "hardhat";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { onnx } from "onnx-proto";
import { buildFloatMlp, randomFloatMlp, sparseImageRows, type FloatDenseLayer } from "../../src/models/build";
import { ProfileRuntime, computeTrace, parseProfileModel, runReference, weightsRoot } from "../../src/proven";
import {
  QuantizeError,
  fixedPoint,
  measureAgreement,
  parseFloatMlp,
  quantizeInput,
  quantizeMlp,
  readCalibration,
  type FloatLayer,
} from "../../src/proven/quantize";
import { QUIET_ENV } from "../../tasks/common";
import type { QuantizeResult } from "../../tasks/model";
import { seededRandom } from "../fixtures/proven";

/** A 784 → 128 → 64 → 10 MLP with seeded weights. */
const floatLayers = (random: () => number): FloatDenseLayer[] => randomFloatMlp([784, 128, 64, 10], random);

/** Image-like calibration rows. */
const calibrationRows = (random: () => number, count: number): number[][] => sparseImageRows(random, count, 784);

/** A .npy file (format 1.0) of float32 rows. */
function npy(rows: number[][]): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows.length}, ${rows[0].length}), }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const prefix = Buffer.concat([Buffer.from("\x93NUMPY", "latin1"), Buffer.from([1, 0]), Buffer.alloc(2)]);
  prefix.writeUInt16LE(header.length, 8);
  return new Uint8Array(
    Buffer.concat([prefix, Buffer.from(header, "latin1"), Buffer.from(new Float32Array(rows.flat()).buffer)]),
  );
}

describe("model:quantize (float MLP → integer profile)", function () {
  const random = seededRandom(784);
  const layers = floatLayers(random);
  const gemm = buildFloatMlp(layers, "gemm");
  const rows = calibrationRows(random, 64);

  it("reads Gemm and MatMul + Add files alike, with their ReLUs", function () {
    const a = parseFloatMlp(gemm);
    const b = parseFloatMlp(Buffer.from(buildFloatMlp(layers, "matmul")));
    const bytes = (l: FloatLayer) => Buffer.concat([Buffer.from(l.weights.buffer), Buffer.from(l.bias.buffer)]);
    expect(a.layers.map((l) => [l.nIn, l.nOut, l.relu])).to.deep.equal([
      [784, 128, true],
      [128, 64, true],
      [64, 10, false],
    ]);
    a.layers.forEach((l, k) => expect(bytes(l).equals(bytes(b.layers[k])), `layer ${k + 1}`).to.equal(true));
    expect(a.layers[0].weights[5 * 128 + 7]).to.equal(Math.fround(layers[0].weights[5][7]));
  });

  it("refuses anything else, naming the node", function () {
    const one = buildFloatMlp([{ weights: [[1, 2]], bias: [0, 1], relu: false }]);
    const edited = (change: (g: onnx.GraphProto) => void) => {
      const m = onnx.ModelProto.decode(one);
      change(m.graph as onnx.GraphProto);
      return onnx.ModelProto.encode(m).finish();
    };
    expect(() => parseFloatMlp(new Uint8Array([1, 2, 3]))).to.throw(QuantizeError, /not an ONNX model/);
    const softmax = edited((g) => {
      g.node.push({ name: "soft", opType: "Softmax", input: ["y"], output: ["p"] });
      g.output[0].name = "p";
    });
    expect(() => parseFloatMlp(softmax)).to.throw(QuantizeError, /^node #1 "soft" \(Softmax\): a float MLP has only/);
    const alpha = edited((g) => {
      g.node[0].attribute!.push({ name: "alpha", type: onnx.AttributeProto.AttributeType.FLOAT, f: 2 });
    });
    expect(() => parseFloatMlp(alpha)).to.throw(QuantizeError, /only alpha = beta = 1 and transA = 0/);
  });

  it("fixedPoint: the largest s that keeps M within 31 bits", function () {
    expect(fixedPoint(0.5)).to.deep.equal({ multiplier: 2 ** 30, shift: 31 });
    expect(fixedPoint(1e-12)).to.deep.equal({ multiplier: Math.round(1e-12 * 2 ** 62), shift: 62 });
    expect(fixedPoint(1e12)).to.deep.equal({ multiplier: 2 ** 31 - 1, shift: 1 });
    const { multiplier, shift } = fixedPoint(0.0123456789);
    expect(Math.abs(multiplier / 2 ** shift - 0.0123456789)).to.be.below(1e-11);
  });

  it("a 784-128-64-10 MLP: profile file, int8 weights in -127..127, agreement with the float model", async function () {
    const quantized = quantizeMlp(parseFloatMlp(gemm), rows);
    for (const l of quantized.model.layers) expect(Math.min(...l.weights)).to.be.at.least(-127);
    expect(quantized.model.layers.map((l) => l.activation)).to.deep.equal(["relu", "relu", "none"]);
    const agreement = await measureAgreement(gemm, quantized, rows);
    expect(agreement.rows).to.equal(64);
    expect(agreement.top1).to.equal(63); // docs/FRAUD-PROOFS.md quotes this run
    expect(agreement.maxAbsError).to.be.below(0.1 * agreement.maxAbsOutput);
  });

  it("the task writes a file the checker accepts and ONNX Runtime runs exactly as the reference", async function () {
    const dir = mkdtempSync(path.join(os.tmpdir(), "trustml-quantize-"));
    const quiet = process.env[QUIET_ENV];
    process.env[QUIET_ENV] = "1";
    try {
      writeFileSync(path.join(dir, "float.onnx"), gemm);
      writeFileSync(path.join(dir, "calibration.npy"), npy(rows));
      const out = path.join(dir, "profile.onnx");
      const result = (await hre.run("model:quantize", {
        file: path.join(dir, "float.onnx"),
        calibration: path.join(dir, "calibration.npy"),
        out,
      })) as QuantizeResult;
      const bytes = new Uint8Array(readFileSync(out));
      const parsed = parseProfileModel(bytes);
      expect(parsed.model).to.deep.equal(result.quantized.model);
      expect(weightsRoot(parsed.model.layers)).to.equal(result.weightsRoot);
      expect(result.agreement.top1).to.be.at.least(58);
      const runtime = await ProfileRuntime.load(bytes);
      try {
        const x0 = quantizeInput(rows[0], result.quantized.inputScale);
        expect((await computeTrace(runtime, x0)).vectors).to.deep.equal(runReference(parsed.model.layers, x0).vectors);
      } finally {
        await runtime.release();
      }
    } finally {
      if (quiet === undefined) delete process.env[QUIET_ENV];
      else process.env[QUIET_ENV] = quiet;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads calibration rows from .npy and JSON, and refuses other shapes", function () {
    const small = [
      [0.5, -1],
      [2, 0.25],
    ];
    expect(readCalibration(npy(small), "c.npy")).to.deep.equal(small);
    expect(readCalibration(Buffer.from(JSON.stringify({ rows: small })), "c.json")).to.deep.equal(small);
    expect(readCalibration(Buffer.from(JSON.stringify(small)), "c.json")).to.deep.equal(small);
    expect(() => readCalibration(Buffer.from('{"rows": [[1, "a"]]}'), "c.json")).to.throw(QuantizeError, /expected/);
    expect(() => quantizeMlp(parseFloatMlp(gemm), [[1, 2]])).to.throw(
      QuantizeError,
      /row 0 has 2 values, the model takes 784/,
    );
  });
});
