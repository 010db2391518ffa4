import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { hexlify } from "ethers";
import { deployProtocolFixture, MODEL_URI, termsFor } from "../fixtures/protocol";
import { randomInt8, randomProfileModel, seededRandom } from "../fixtures/proven";
import { JobStatus, VerificationMode } from "../../src/params";
import {
  FRAUD_KINDS,
  WeightsTree,
  buildFraudProof,
  encodeEvidence,
  encodeProvenInput,
  findFirstFraud,
  judge,
  proofOf,
  runReference,
  traceOf,
  type ProfileModel,
} from "../../src/proven";

/**
 * The random-corruption property of docs/FRAUD-PROOFS.md, on a real chain through the escrow: for random profile
 * models (seeds of randomProfileModel, widths up to 8) and random single-value corruptions of what a worker posts,
 * the verifier's search (findFirstFraud) finds the fraud and its proveFraud transaction convicts; for honest traces
 * every proof attempt, at every neuron, reverts ProvenNeuronCorrect.
 *
 * The corruptions: the input the worker computed from (one value of x0 changed: the trace of another input), one
 * hidden neuron (later layers computed from the lie, or left as they were), one output value, and one byte of the
 * posted encoding. Whether a posting is wrong is decided without the judge: "input" is wrong exactly when its bytes
 * differ from the honest trace's (the changed value may not reach layer 1's output), a flipped byte always is except
 * in the name of a one-layer model's output (a one-layer output's name is the worker's to choose: only its values
 * are judged).
 *
 * Reproducible: fast-check's seed is fixed (PROPERTY_SEED overrides it); a failure prints the seed and path that
 * replay it, and each model and input comes from a seed in the counterexample.
 */

const MAX_WIDTH = 8;
const RUNS = 30;
const SEED = process.env.PROPERTY_SEED ? Number(process.env.PROPERTY_SEED) : 0x5eed;

type Corruption =
  | { kind: "none" }
  | { kind: "input"; at: number; delta: number }
  | { kind: "hidden"; layer: number; index: number; delta: number; carry: boolean }
  | { kind: "output"; index: number; delta: number }
  | { kind: "byte"; at: number; mask: number };

const delta = fc.integer({ min: 1, max: 255 });
const corruptionArb: fc.Arbitrary<Corruption> = fc.oneof(
  fc.record({ kind: fc.constant("none" as const) }),
  fc.record({ kind: fc.constant("input" as const), at: fc.nat(), delta }),
  fc.record({ kind: fc.constant("hidden" as const), layer: fc.nat(), index: fc.nat(), delta, carry: fc.boolean() }),
  fc.record({ kind: fc.constant("output" as const), index: fc.nat(), delta }),
  fc.record({ kind: fc.constant("byte" as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
);

/** `v + d` wrapped into int8, for d in 1..255: never `v`. */
const shifted = (v: number, d: number): number => ((((v + 128 + d) % 256) + 256) % 256) - 128;

/** The bytes before a TML1 list's first tensor's name: magic, count, the name's length. */
const FIRST_NAME_AT = 4 + 4 + 2;

interface Posting {
  output: Uint8Array;
  /** Whether the posting is not the model's trace of the job's input (decided without the judge). */
  wrong: boolean;
  /** For a corrupted neuron: the neuron the verifier must name (the first wrong one). */
  neuron?: [layer: number, index: number];
  /** The corruption done ("hidden" on a one-layer model is "output"), and in detail, for messages. */
  kind: Corruption["kind"];
  what: string;
}

/** What the worker posts for x0 under `c`. */
function posting(model: ProfileModel, x0: Int8Array, c: Corruption): Posting {
  const { layers, outputName } = model;
  const L = layers.length;
  const honest = runReference(layers, x0).vectors;
  const honestOutput = traceOf(outputName, honest).output;
  const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);
  if (c.kind === "none") return { output: honestOutput, wrong: false, kind: "none", what: "the honest trace" };
  if (c.kind === "input") {
    const other = Int8Array.from(x0);
    const i = c.at % other.length;
    other[i] = shifted(other[i], c.delta);
    const output = traceOf(outputName, runReference(layers, other).vectors).output;
    const what = `the trace of x0 with x0[${i}] = ${other[i]}`;
    return { output, wrong: !same(output, honestOutput), kind: "input", what };
  }
  if (c.kind === "byte") {
    const output = Uint8Array.from(honestOutput);
    const at = c.at % output.length;
    output[at] ^= c.mask;
    const inName = at >= FIRST_NAME_AT && at < FIRST_NAME_AT + new TextEncoder().encode(outputName).length;
    return { output, wrong: !(L === 1 && inName), kind: "byte", what: `byte ${at} of ${output.length} xor ${c.mask}` };
  }
  // A one-layer model has no hidden neuron: its "hidden" corruption is an output value.
  const layer = c.kind === "hidden" && L > 1 ? 1 + (c.layer % (L - 1)) : L;
  const vectors: Int8Array[] = honest.map((v) => Int8Array.from(v));
  const index = c.index % vectors[layer].length;
  vectors[layer][index] = shifted(vectors[layer][index], c.delta);
  const carry = c.kind === "hidden" && c.carry;
  if (carry) for (let k = layer; k < L; k++) vectors[k + 1] = runReference(layers.slice(k), vectors[k]).vectors[1];
  return {
    output: traceOf(outputName, vectors).output,
    wrong: true,
    neuron: [layer, index],
    kind: layer < L ? "hidden" : "output",
    what: `neuron ${layer}.${index} = ${vectors[layer][index]}${carry ? ", later layers carried on from it" : ""}`,
  };
}

describe("Proven fraud proofs on chain (property: random models, random single-value corruptions)", function () {
  it(`every corruption is found and convicted by proveFraud; every proof against an honest trace reverts (${RUNS} runs, seed ${SEED})`, async function () {
    const seen: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), corruptionArb, async (modelSeed, inputSeed, corruption) => {
        // One deployment for every run (shared with the other files that load this fixture), reverted to each time.
        const p = await loadFixture(deployProtocolFixture);
        // The judge's errors are the escrow's: it delegates to the ProvenJudge library.
        const judgeErrors = await ethers.getContractAt("ProvenJudge", await p.escrow.getAddress());
        const model = randomProfileModel(seededRandom(modelSeed), MAX_WIDTH);
        const { layers } = model;
        const tree = new WeightsTree(layers);
        await p.registry
          .connect(p.modelOwner)
          .registerModel(
            ethers.id(`property model ${modelSeed}`),
            MODEL_URI,
            termsFor(VerificationMode.Proven, 1),
            tree.root,
            "0x",
          );
        const x0 = randomInt8(seededRandom(inputSeed), layers[0].nIn);
        const input = encodeProvenInput(model.inputName, x0);
        const job = await p.request(await p.registry.modelCount(), { input: hexlify(input) });
        const posted = posting(model, x0, corruption);
        await p.escrow.connect(p.worker).submitResult(job, posted.output);
        const result = { input, output: posted.output };
        const fraud = findFirstFraud(layers, result);
        const context = `model seed ${modelSeed} (${layers.length} layers), input seed ${inputSeed}, ${posted.what}`;

        if (!posted.wrong) {
          expect(fraud, `a fraud found in a right result: ${context}`).to.equal(undefined);
          const honest = runReference(layers, x0).vectors;
          // Every neuron's proof as a call (views of the same state, sent at once): each must revert.
          const attempts = layers.flatMap((l, k) =>
            Array.from({ length: l.nOut }, (_, index) => {
              const layer = k + 1;
              const evidence = encodeEvidence(proofOf(tree, result, layer, index));
              return expect(
                p.escrow.connect(p.other).proveFraud.staticCall(job, evidence),
                `neuron ${layer}.${index} of a right result: ${context}`,
              )
                .to.be.revertedWithCustomError(judgeErrors, "ProvenNeuronCorrect")
                .withArgs(layer, index, honest[layer][index]);
            }),
          );
          await Promise.all(attempts);
          expect((await p.escrow.jobState(job.id)).status).to.equal(JobStatus.Submitted);
          seen[`right (${posted.kind})`] = (seen[`right (${posted.kind})`] ?? 0) + 1;
          return;
        }

        expect(fraud, `no fraud found in a wrong result: ${context}`).to.not.equal(undefined);
        if (posted.neuron) {
          expect(fraud, `the first wrong neuron: ${context}`).to.deep.include({
            kind: "neuron",
            layer: posted.neuron[0],
            index: posted.neuron[1],
          });
        }
        if (corruption.kind === "input") expect(fraud, context).to.deep.include({ kind: "neuron", layer: 1 });
        const proof = buildFraudProof(tree, result, fraud!);
        const verdict = judge(hexlify(job.inputHash), ethers.keccak256(posted.output), tree.root, proof);
        expect(verdict.proven, `the TypeScript judge refuses the verifier's proof: ${context}`).to.equal(true);
        const kind = verdict.proven ? FRAUD_KINDS.indexOf(verdict.fraud) : -1;
        await expect(p.escrow.connect(p.other).proveFraud(job, encodeEvidence(proof)), `proveFraud: ${context}`)
          .to.emit(p.escrow, "FraudProven")
          .withArgs(job.id, p.other.address, kind, proof.layer, proof.index);
        expect((await p.escrow.jobState(job.id)).status, `status after the proof: ${context}`).to.equal(
          JobStatus.Rejected,
        );
        const key = `${posted.kind} ${fraud!.kind}`;
        seen[key] = (seen[key] ?? 0) + 1;
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // The runs must exercise every corruption and the honest case, or the property holds vacuously.
    const kinds = Object.keys(seen).map((k) => k.split(" ")[0]);
    for (const kind of ["right", "input", "hidden", "output", "byte"]) {
      const what = kind === "right" ? "a right result" : `a wrong result by a ${kind} corruption`;
      expect(kinds, `no run posted ${what}: ${JSON.stringify(seen)}`).to.include(kind);
    }
  });
});
