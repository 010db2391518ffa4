import { expect } from "chai";
import { onnx } from "onnx-proto";
import {
  CodecError,
  compareOutputs,
  encodeTensors,
  hashTensors,
  type ElementType,
  type Tensor,
  type TensorData,
} from "../packages/sdk/src/codec";
import { MLP_WEIGHTS, buildIdentityModel, buildMlpClassifier, buildTwoInputModel } from "../src/models/build";
import { ModelInputError, ModelLoadError, loadModel, runModel, type LoadedModel } from "../packages/sdk/src/onnx";
import { modelLoader } from "./fixtures/onnx";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

async function expectInputError(model: LoadedModel, inputs: Tensor[], message: RegExp, input?: string) {
  const e = await rejection(runModel(model, inputs));
  expect(e).to.be.instanceOf(ModelInputError);
  expect(e.message).to.match(message);
  if (input !== undefined) expect((e as ModelInputError).input).to.equal(input);
  return e as ModelInputError;
}

/** The MLP in plain float64 JS: matmul, ReLU, matmul, softmax, argmax. */
function mlpReference(rows: number[][]): { probabilities: number[][]; labels: number[] } {
  const { w1, b1, w2, b2 } = MLP_WEIGHTS;
  const probabilities: number[][] = [];
  const labels: number[] = [];
  for (const x of rows) {
    const hidden = b1.map((b, j) => Math.max(0, b + x.reduce((s, xi, i) => s + xi * w1[i][j], 0)));
    const logits = b2.map((b, k) => b + hidden.reduce((s, h, j) => s + h * w2[j][k], 0));
    const max = Math.max(...logits);
    const exps = logits.map((l) => Math.exp(l - max));
    const sum = exps.reduce((s, e) => s + e, 0);
    probabilities.push(exps.map((e) => e / sum));
    labels.push(logits.indexOf(max));
  }
  return { probabilities, labels };
}

const FEATURES = [
  [1, 2, 3, 4],
  [-1, 0.5, 2, -3],
  [0, 0, 0, 0],
  [3.5, -2.25, 0.75, 1],
  [-4, -3, -2, -1],
  [0.1, 0.2, 0.3, 0.4],
];

function features(rows: number[][]): Tensor {
  return { name: "features", type: "float32", shape: [rows.length, 4], data: new Float32Array(rows.flat()) };
}

const x = (shape: number[], values: number[]): Tensor => ({
  name: "x",
  type: "float32",
  shape,
  data: new Float32Array(values),
});
const scale = (v: bigint, shape = [1]): Tensor => ({
  name: "scale",
  type: "int64",
  shape,
  data: new BigInt64Array(shape.length === 0 || shape[0] === 1 ? [v] : [v, v]),
});

describe("ONNX Runtime adapter", function () {
  const load = modelLoader();

  describe("MLP classifier", function () {
    it("declares its inputs and outputs", async function () {
      const m = await load(buildMlpClassifier());
      expect(m.inputs).to.deep.equal([{ name: "features", type: "float32", shape: ["N", 4] }]);
      expect(m.outputs).to.deep.equal([
        { name: "probabilities", type: "float32", shape: ["N", 3] },
        { name: "label", type: "int64", shape: ["N"] },
      ]);
    });

    it("matches matmul/ReLU/softmax computed in plain JS", async function () {
      const m = await load(buildMlpClassifier());
      const out = await runModel(m, [features(FEATURES)]);
      expect(out.map((t) => [t.name, t.type, t.shape])).to.deep.equal([
        ["probabilities", "float32", [6, 3]],
        ["label", "int64", [6]],
      ]);
      const ref = mlpReference(FEATURES);
      const probs = out[0].data as Float32Array;
      ref.probabilities.flat().forEach((p, i) => expect(probs[i], `probability ${i}`).to.be.closeTo(p, 1e-6));
      for (let r = 0; r < FEATURES.length; r++) {
        expect(probs[3 * r] + probs[3 * r + 1] + probs[3 * r + 2]).to.be.closeTo(1, 1e-6);
      }
      expect([...(out[1].data as BigInt64Array)]).to.deep.equal(ref.labels.map(BigInt));
      expect(new Set(ref.labels).size, "the rows exercise every class").to.equal(3);

      // The same check through compareOutputs, as a verifier would do it: 1e-6 absolute floor, 1e-5 relative.
      const expected: Tensor[] = [
        { name: "probabilities", type: "float32", shape: [6, 3], data: new Float32Array(ref.probabilities.flat()) },
        { name: "label", type: "int64", shape: [6], data: new BigInt64Array(ref.labels.map(BigInt)) },
      ];
      const r = compareOutputs(out, expected, { relTolerance: 10_000, absTolerance: 1_000 });
      expect(r.agree, r.reason).to.equal(true);
      expect(r.maxAbsDiff).to.be.below(1e-6);
    });

    it("runs a batch of one and an empty batch", async function () {
      const m = await load(buildMlpClassifier());
      const [p1, l1] = await runModel(m, [features([FEATURES[3]])]);
      expect(p1.shape).to.deep.equal([1, 3]);
      expect([...(l1.data as BigInt64Array)]).to.deep.equal([BigInt(mlpReference([FEATURES[3]]).labels[0])]);
      const [p0, l0] = await runModel(m, [features([])]);
      expect(p0.shape).to.deep.equal([0, 3]);
      expect(l0.shape).to.deep.equal([0]);
      expect(p0.data.length + l0.data.length).to.equal(0);
    });

    it("encode(run(x)) is identical across two sessions", async function () {
      const bytes = buildMlpClassifier();
      expect(hex(buildMlpClassifier())).to.equal(hex(bytes));
      const a = await load(bytes);
      const b = await load(bytes);
      const input = [features(FEATURES)];
      const first = encodeTensors(await runModel(a, input));
      const second = encodeTensors(await runModel(b, input));
      const again = encodeTensors(await runModel(a, input));
      expect(hex(second)).to.equal(hex(first));
      expect(hex(again)).to.equal(hex(first));
      expect(hashTensors(await runModel(b, input))).to.equal(hashTensors(await runModel(a, input)));
    });
  });

  describe("two-input model", function () {
    it("declares int64 and float32 inputs, float32/bool/int32 outputs", async function () {
      const m = await load(buildTwoInputModel());
      expect(m.inputs).to.deep.equal([
        { name: "x", type: "float32", shape: ["N", 3] },
        { name: "scale", type: "int64", shape: [1] },
      ]);
      expect(m.outputs.map((o) => [o.name, o.type])).to.deep.equal([
        ["y", "float32"],
        ["positive", "bool"],
        ["count", "int32"],
      ]);
    });

    it("computes y = x * scale, positive = y > 0, count per row, bit for bit", async function () {
      const m = await load(buildTwoInputModel());
      const values = [1, -2, 0, 4.5, 5, -6, 0.1, -0.3, 1e30];
      for (const s of [-3n, 2n, 0n]) {
        const out = await runModel(m, [scale(s), x([3, 3], values)]);
        const y = values.map((v) => Math.fround(Math.fround(v) * Number(s)));
        const positive = y.map((v): number => (v > 0 ? 1 : 0));
        const count = [0, 1, 2].map((r) => positive.slice(3 * r, 3 * r + 3).reduce((a, b) => a + b, 0));
        const expected: Tensor[] = [
          { name: "y", type: "float32", shape: [3, 3], data: new Float32Array(y) },
          { name: "positive", type: "bool", shape: [3, 3], data: new Uint8Array(positive) },
          { name: "count", type: "int32", shape: [3], data: new Int32Array(count) },
        ];
        expect(out.map((t) => t.name)).to.deep.equal(["y", "positive", "count"]);
        expect(hex(encodeTensors(out)), `scale ${s}`).to.equal(hex(encodeTensors(expected)));
      }
      // 0 * -3 is -0 in float32, and the encoding keeps it.
      const [y] = await runModel(m, [x([1, 3], [0, 0, 0]), scale(-3n)]);
      expect(Object.is((y.data as Float32Array)[0], -0)).to.equal(true);
    });
  });

  describe("identity model, every element type", function () {
    const cases: Record<ElementType, TensorData> = {
      float32: new Float32Array(new Uint32Array([0x3fc00000, 0x7fc00001, 0xff800000, 0x80000000]).buffer),
      float64: new Float64Array([Math.PI, NaN, -Infinity, -0]),
      int32: new Int32Array([0, -1, 2147483647, -2147483648]),
      int64: new BigInt64Array([0n, -1n, -(2n ** 63n), 2n ** 63n - 1n]),
      uint8: new Uint8Array([0, 1, 128, 255]),
      int8: new Int8Array([0, -1, -128, 127]),
      bool: new Uint8Array([1, 0, 0, 1]),
    };
    for (const [type, data] of Object.entries(cases) as [ElementType, TensorData][]) {
      it(`${type} passes through unchanged`, async function () {
        const m = await load(buildIdentityModel(type));
        expect(m.inputs).to.deep.equal([{ name: "x", type, shape: ["N"] }]);
        const [y] = await runModel(m, [{ name: "x", type, shape: [4], data }]);
        expect(y.name).to.equal("y");
        expect(y.data.constructor).to.equal(data.constructor);
        expect(hex(encodeTensors([y]))).to.equal(hex(encodeTensors([{ name: "y", type, shape: [4], data }])));
      });
    }

    it("a declared scalar takes rank 0 only; an undeclared shape takes any rank", async function () {
      const scalar = await load(buildIdentityModel("int32", []));
      expect(scalar.inputs[0].shape).to.deep.equal([]);
      const [y] = await runModel(scalar, [{ name: "x", type: "int32", shape: [], data: new Int32Array([7]) }]);
      expect(y.shape).to.deep.equal([]);
      await expectInputError(
        scalar,
        [{ name: "x", type: "int32", shape: [1], data: new Int32Array([7]) }],
        /^input "x": rank 1 \(shape \[1\]\), the model expects rank 0 \(\[\]\)$/,
        "x",
      );
      const any = await load(buildIdentityModel("uint8", null));
      expect(any.inputs[0].shape).to.equal(null);
      for (const shape of [[], [2], [1, 2, 1]]) {
        const data = new Uint8Array(shape.reduce((a, b) => a * b, 1)).fill(3);
        const [out] = await runModel(any, [{ name: "x", type: "uint8", shape, data }]);
        expect(out.shape).to.deep.equal(shape);
      }
    });

    it("fixed dimensions must match; symbolic ones take any size", async function () {
      const m = await load(buildIdentityModel("float32", ["batch", 2]));
      expect(m.inputs[0].shape).to.deep.equal(["batch", 2]);
      await runModel(m, [x([5, 2], new Array(10).fill(1))]);
      await expectInputError(
        m,
        [x([2, 3], new Array(6).fill(1))],
        /^input "x": dimension 1 is 3, the model expects 2 \(shape \[2,3\], model \[batch,2\]\)$/,
      );
    });
  });

  describe("input mismatches (ModelInputError before running)", function () {
    let m: LoadedModel;
    before(async function () {
      m = await load(buildTwoInputModel());
    });
    const good = (): Tensor[] => [x([2, 3], [1, 2, 3, 4, 5, 6]), scale(2n)];

    it("accepts the good inputs in any order", async function () {
      await runModel(m, good());
      await runModel(m, good().reverse());
    });

    it("missing input", async function () {
      await expectInputError(m, [x([2, 3], [1, 2, 3, 4, 5, 6])], /^missing input "scale" \(int64 \[1\]\)$/, "scale");
      await expectInputError(m, [], /^missing input "x" \(float32 \[N,3\]\)$/, "x");
    });

    it("extra input", async function () {
      const extra: Tensor = { name: "bias", type: "float32", shape: [1], data: new Float32Array([1]) };
      await expectInputError(
        m,
        [...good(), extra],
        /^unexpected input "bias"; the model's inputs are "x", "scale"$/,
        "bias",
      );
    });

    it("the same input twice", async function () {
      await expectInputError(m, [...good(), scale(3n)], /^input "scale" is given twice$/, "scale");
    });

    it("wrong element type", async function () {
      const asInt: Tensor = { name: "x", type: "int32", shape: [2, 3], data: new Int32Array(6) };
      await expectInputError(m, [asInt, scale(2n)], /^input "x": element type int32, the model expects float32$/, "x");
      const asF64: Tensor = { name: "x", type: "float64", shape: [2, 3], data: new Float64Array(6) };
      await expectInputError(m, [asF64, scale(2n)], /^input "x": element type float64, the model expects float32$/);
      const scale32: Tensor = { name: "scale", type: "int32", shape: [1], data: new Int32Array([2]) };
      await expectInputError(m, [good()[0], scale32], /^input "scale": element type int32, the model expects int64$/);
    });

    it("wrong rank", async function () {
      await expectInputError(
        m,
        [x([6], [1, 2, 3, 4, 5, 6]), scale(2n)],
        /^input "x": rank 1 \(shape \[6\]\), the model expects rank 2 \(\[N,3\]\)$/,
        "x",
      );
      await expectInputError(
        m,
        [good()[0], scale(2n, [])],
        /^input "scale": rank 0 \(shape \[\]\), the model expects rank 1 \(\[1\]\)$/,
      );
    });

    it("wrong fixed dimension", async function () {
      await expectInputError(
        m,
        [x([3, 2], [1, 2, 3, 4, 5, 6]), scale(2n)],
        /^input "x": dimension 1 is 2, the model expects 3 \(shape \[3,2\], model \[N,3\]\)$/,
        "x",
      );
      await expectInputError(m, [good()[0], scale(2n, [2])], /^input "scale": dimension 0 is 2, the model expects 1/);
    });

    it("a malformed tensor (CodecError as the cause)", async function () {
      const e = await expectInputError(
        m,
        [x([2, 3], [1, 2, 3]), scale(2n)],
        /^invalid input: tensor "x": data has 3 elements but shape \[2,3\] needs 6$/,
        "x",
      );
      expect(e.cause).to.be.instanceOf(CodecError);
    });
  });

  describe("loading", function () {
    it("bytes that are not ONNX throw ModelLoadError with the runtime's error as cause", async function () {
      const notOnnx = [
        new Uint8Array([1, 2, 3, 4, 5]),
        new TextEncoder().encode('{"not": "a model"}'),
        encodeTensors([]),
        new Uint8Array(),
        buildMlpClassifier().subarray(0, 100),
      ];
      for (const bytes of notOnnx) {
        const e = await rejection(loadModel(bytes));
        expect(e, hex(bytes.subarray(0, 8))).to.be.instanceOf(ModelLoadError);
        expect(e.message).to.match(new RegExp(`^cannot load the model \\(${bytes.length} bytes\\) as ONNX: .+`));
        expect(e.cause).to.be.instanceOf(Error);
        expect(e.message).to.contain((e.cause as Error).message);
      }
      const e = await rejection(loadModel("model.onnx" as unknown as Uint8Array));
      expect(e).to.be.instanceOf(ModelLoadError);
      expect(e.message).to.equal("model bytes must be a Uint8Array");
    });

    it("a model whose input type the codec cannot carry throws ModelLoadError", async function () {
      const float16 = (name: string) => ({
        name,
        type: { tensorType: { elemType: 10, shape: { dim: [{ dimValue: 2 }] } } },
      });
      const bytes = onnx.ModelProto.encode({
        irVersion: 8,
        opsetImport: [{ domain: "", version: 17 }],
        graph: {
          name: "half",
          node: [{ opType: "Identity", input: ["h"], output: ["o"] }],
          input: [float16("h")],
          output: [float16("o")],
        },
      }).finish();
      const e = await rejection(loadModel(bytes));
      expect(e).to.be.instanceOf(ModelLoadError);
      expect(e.message).to.equal('model input "h" has element type float16, which the codec cannot carry');
    });
  });
});
