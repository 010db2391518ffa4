import { expect } from "chai";
import {
  LAYER_STEPS,
  MAX_WIDTH,
  ProfileRuntime,
  TraceMismatchError,
  buildProfileModel,
  readPostedOutput,
  traceOf,
  computeTrace,
  maxAbsBias,
  runReference,
  type DenseLayer,
  type LayerSteps,
  type ProfileModel,
  type RuntimeSteps,
} from "../../src/proven";
import { randomInt8, randomProfileModel, seededRandom } from "../fixtures/proven";

/** Each ONNX step's tensor as the reference computes it (the Casts change the type, not the value). */
function referenceStep(steps: LayerSteps, step: (typeof LAYER_STEPS)[number]): bigint[] {
  const big = (a: ArrayLike<number | bigint>) => Array.from(a, (v) => BigInt(v));
  switch (step) {
    case "acc64":
      return big(steps.acc);
    case "clipped":
      return big(steps.value);
    default:
      return big(steps[step]);
  }
}

/** Runs the model in ONNX Runtime with every step exposed and expects each step bit-identical to the reference. */
async function expectIdentical(model: ProfileModel, inputs: Int8Array[]): Promise<void> {
  const runtime = await ProfileRuntime.load(buildProfileModel(model), { steps: true });
  try {
    for (const x0 of inputs) {
      const reference = runReference(model.layers, x0);
      const ort = await runtime.run(x0);
      ort.steps!.forEach((steps: RuntimeSteps, k) => {
        for (const step of LAYER_STEPS) {
          const got = steps[step];
          expect(got.constructor.name, `layer ${k + 1} ${step}`).to.equal(
            step === "sum" || step === "acc" ? "Int32Array" : step === "value" ? "Int8Array" : "BigInt64Array",
          );
          const ours = referenceStep(reference.steps[k], step);
          const theirs = Array.from(got as ArrayLike<number | bigint>, (v) => BigInt(v));
          if (theirs.some((v, j) => v !== ours[j])) {
            const j = theirs.findIndex((v, i) => v !== ours[i]);
            expect.fail(`layer ${k + 1} step ${step} neuron ${j}: ONNX Runtime ${theirs[j]}, reference ${ours[j]}`);
          }
        }
      });
      expect(ort.vectors).to.deep.equal(reference.vectors);
    }
  } finally {
    await runtime.release();
  }
}

const layer = (nIn: number, columns: number[], bias: number[], multiplier: number, shift: number): DenseLayer => ({
  nIn,
  nOut: columns.length,
  // Column j is nIn copies of columns[j].
  weights: Int8Array.from({ length: nIn * columns.length }, (_, k) => columns[k % columns.length]),
  bias: Int32Array.from(bias),
  multiplier,
  shift,
  activation: "none",
});

describe("reference executor vs ONNX Runtime, every step bit-identical", function () {
  it("40 random profile models, 3 inputs each (seeded)", async function () {
    const random = seededRandom(0x7275);
    for (let m = 0; m < 40; m++) {
      const model = randomProfileModel(random);
      const n0 = model.layers[0].nIn;
      await expectIdentical(model, [randomInt8(random, n0), randomInt8(random, n0), new Int8Array(n0).fill(-128)]);
    }
  });

  it("-128·-128 (and 127·-128) sums at the largest allowed width, accumulators at their extremes", async function () {
    const n = MAX_WIDTH; // 131071: n·16384 + |b| ≤ 2^31 - 1
    const bound = maxAbsBias(n);
    // Per column: weight, bias. With x all -128, column 0's acc is exactly 2^31 - 1, the largest any input reaches,
    // and column 1's is -16256·n - bound, the smallest (a sum of int8 products is at least -128·127·n).
    const columns = [-128, 127, -128, 127, 0];
    const bias = [bound, -bound, -bound, bound, bound];
    const inputs = [
      new Int8Array(n).fill(-128),
      new Int8Array(n).fill(127),
      Int8Array.from({ length: n }, (_, i) => (i % 2 === 0 ? -128 : 127)),
    ];
    for (const [multiplier, shift] of [
      [2 ** 31 - 1, 62],
      [2 ** 31 - 1, 1],
      [1, 1],
      [1, 62],
      [12345, 31],
    ]) {
      const model = { inputName: "x", outputName: "y", layers: [layer(n, columns, bias, multiplier, shift)] };
      await expectIdentical(model, inputs);
      if (multiplier === 2 ** 31 - 1 && shift === 62) {
        expect(Array.from(runReference(model.layers, inputs[0]).steps[0].acc.subarray(0, 2))).to.deep.equal([
          2 ** 31 - 1,
          -16256 * n - bound,
        ]);
      }
    }
  });

  it("every accumulator in -600..600 at small M and s: all exact halves, negative and positive", async function () {
    // One input fixed at 1, weight 1: neuron j's acc is its bias, -600 + j.
    const bias = Array.from({ length: 1201 }, (_, j) => -601 + j);
    for (const [multiplier, shift] of [
      [1, 1],
      [1, 2],
      [3, 2],
      [5, 4],
      [7, 3],
    ]) {
      const model = {
        inputName: "x",
        outputName: "y",
        layers: [layer(1, new Array(1201).fill(1), bias, multiplier, shift)],
      };
      await expectIdentical(model, [Int8Array.from([1])]);
    }
  });
});

describe("computeTrace (the worker's trace: reference first, ONNX Runtime as a cross-check)", function () {
  const random = seededRandom(9);
  const model = randomProfileModel(random);
  const x0 = randomInt8(random, model.layers[0].nIn);

  it("returns the reference's vectors and the output to post for them when ONNX Runtime agrees", async function () {
    const runtime = await ProfileRuntime.load(buildProfileModel(model));
    try {
      const trace = await computeTrace(runtime, x0);
      const vectors = runReference(model.layers, x0).vectors;
      expect(trace).to.deep.equal(traceOf(model.outputName, vectors));
      expect(readPostedOutput(trace.output, model.layers.length)).to.deep.equal({
        ok: true,
        positions: [vectors[vectors.length - 1], ...vectors.slice(1, -1)],
      });
    } finally {
      await runtime.release();
    }
  });

  it("refuses with TraceMismatchError naming the first disagreeing layer and neuron", async function () {
    const runtime = await ProfileRuntime.load(buildProfileModel(model));
    try {
      const run = runtime.run.bind(runtime);
      // A kernel that gets one hidden value wrong (as a saturating int8 GEMM would).
      runtime.run = async (x: Int8Array) => {
        const result = await run(x);
        result.vectors[1][0] = result.vectors[1][0] === 0 ? 1 : 0;
        return result;
      };
      const expected = runReference(model.layers, x0).vectors[1][0];
      let error: unknown;
      await computeTrace(runtime, x0).catch((e) => (error = e));
      expect(error).to.be.instanceOf(TraceMismatchError);
      expect(error).to.include({ layer: 1, index: 0, reference: expected });
      expect((error as Error).message).to.match(
        /^ONNX Runtime disagrees with the reference executor at layer 1, neuron 0/,
      );
    } finally {
      await runtime.release();
    }
  });
});
