import { expect } from "chai";
import {
  WeightsTree,
  buildFraudProof,
  clampRange,
  findFirstFraud,
  judge,
  runReference,
  type ProfileModel,
} from "../../src/proven";
import { corruptTrace, type TraceFault } from "../../src/worker/compute/faults";
import {
  GOLDEN_INPUT,
  GOLDEN_MODEL,
  postedFor,
  randomInt8,
  randomProfileModel,
  seededRandom,
} from "../fixtures/proven";

/** Random profile models (1 to 4 layers) with a random input and a random job id each, and the golden model. */
interface Case {
  model: ProfileModel;
  x0: Int8Array;
  seed: bigint;
}

function cases(count: number): Case[] {
  const random = seededRandom(2024);
  const out: Case[] = [{ model: GOLDEN_MODEL, x0: GOLDEN_INPUT, seed: 12345678901234567890123456789n }];
  for (let i = 0; i < count; i++) {
    const model = randomProfileModel(random, 16);
    const seed = BigInt(Math.floor(random() * 2 ** 48)) * 2n ** 200n + BigInt(Math.floor(random() * 2 ** 48));
    out.push({ model, x0: randomInt8(random, model.layers[0].nIn), seed });
  }
  return out;
}

describe("worker fault injection: Proven traces", function () {
  for (const fault of ["wrong-trace", "wrong-output"] as TraceFault[]) {
    it(`${fault}: one neuron one step off within its range, caught by findFirstFraud at that neuron, convicted by the judge`, function () {
      let hidden = 0;
      for (const { model, x0, seed } of cases(40)) {
        const { layers } = model;
        const L = layers.length;
        const honest = runReference(layers, x0).vectors;
        const c = corruptTrace(model, honest, fault, seed);
        const v = c.trace.vectors;
        if (fault === "wrong-output" || L === 1) expect(c.layer).to.equal(L);
        else expect(c.layer).to.be.within(1, L - 1);
        if (c.layer < L) hidden++;
        expect(c.index).to.be.within(0, layers[c.layer - 1].nOut - 1);
        // One step off, still a value the layer's activation can give.
        expect(c.honest).to.equal(honest[c.layer][c.index]);
        expect(Math.abs(c.posted - c.honest)).to.equal(1);
        const [lo, hi] = clampRange(layers[c.layer - 1].activation);
        expect(c.posted).to.be.within(lo, hi);
        expect(v[c.layer][c.index]).to.equal(c.posted);
        // Everything before the neuron honest; everything after it follows from it (wrong-trace) or is honest.
        for (let k = 0; k < c.layer; k++) expect(v[k]).to.deep.equal(honest[k]);
        expect(Array.from(v[c.layer]).filter((x, j) => x !== honest[c.layer][j])).to.have.length(1);
        for (let k = c.layer + 1; k <= L; k++) {
          const next = fault === "wrong-trace" ? runReference(layers.slice(k - 1), v[k - 1]).vectors[1] : honest[k];
          expect(v[k]).to.deep.equal(next);
        }
        const posted = postedFor(model, v);
        expect(Buffer.from(posted.output).equals(Buffer.from(c.trace.output))).to.equal(true);
        const fraud = findFirstFraud(layers, posted);
        expect(fraud).to.deep.equal({
          kind: "neuron",
          layer: c.layer,
          index: c.index,
          posted: c.posted,
          expected: c.honest,
        });
        const tree = new WeightsTree(layers);
        const verdict = judge(posted.inputHash, posted.outputHash, tree.root, buildFraudProof(tree, posted, fraud!));
        expect(verdict).to.deep.equal({ proven: true, fraud: "neuron", expected: c.honest });
      }
      if (fault === "wrong-trace") expect(hidden).to.be.greaterThan(20, "most models have a hidden layer to corrupt");
    });
  }

  it("picks the neuron from the job id: different jobs are wrong in different places", function () {
    const honest = runReference(GOLDEN_MODEL.layers, GOLDEN_INPUT).vectors;
    const places = new Set<string>();
    for (let i = 0n; i < 32n; i++) {
      const c = corruptTrace(GOLDEN_MODEL, honest, "wrong-trace", i * 7919n + (i << 64n));
      places.add(`${c.layer}:${c.index}`);
    }
    // Two hidden layers of three neurons each.
    expect([...places].sort()).to.deep.equal(["1:0", "1:1", "1:2", "2:0", "2:1", "2:2"]);
  });
});
