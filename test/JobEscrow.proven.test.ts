import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { hexlify, keccak256, type ContractTransactionResponse } from "ethers";
import { deployProtocolFixture, termsFor, MODEL_URI, OUTPUT, type Job, type Protocol } from "./fixtures/protocol";
import { expectConservation } from "./fixtures/escrow";
import { GOLDEN_INPUT, GOLDEN_MODEL } from "./fixtures/proven";
import { JobOutcome, JobStatus, VerificationMode } from "../packages/sdk/src/params";
import { acceptedSettlement, provenSettlement } from "../packages/sdk/src/settlement";

type Settlement = ReturnType<typeof acceptedSettlement>;
import { currentTerms } from "../packages/sdk/src/terms";
import { toSettlement } from "../packages/sdk/src/job";
import { encodeTensors } from "../packages/sdk/src/codec";
import {
  WeightsTree,
  buildFraudProof,
  buildProfileModel,
  encodeEvidence,
  encodeProvenInput,
  encodeProvenOutput,
  findFirstFraud,
  proofOf,
  runReference,
  traceOf,
  vectorTensor,
  type PostedResult,
} from "../src/proven";

const { layers, inputName, outputName } = GOLDEN_MODEL;
const INPUT = hexlify(encodeProvenInput(inputName, GOLDEN_INPUT));
const HONEST = runReference(layers, GOLDEN_INPUT).vectors;
const TREE = new WeightsTree(layers);

/** The protocol with a Proven model: the golden profile model, registered with its weightsRoot. */
async function provenFixture() {
  const p = await deployProtocolFixture();
  const file = buildProfileModel(GOLDEN_MODEL);
  await p.registry
    .connect(p.modelOwner)
    .registerModel(ethers.sha256(file), MODEL_URI, termsFor(VerificationMode.Proven, 1), TREE.root, "0x");
  const model = await p.registry.modelCount();
  return { ...p, model };
}

type Proven = Awaited<ReturnType<typeof provenFixture>>;

/** A Proven job requested and submitted (claimed by its submission) with the trace `vectors` posted. */
async function submitted(p: Proven, vectors: readonly Int8Array[] = HONEST, output?: Uint8Array) {
  const job = await p.request(p.model, { input: INPUT });
  const posted = output ?? traceOf(outputName, vectors).output;
  const tx = await p.escrow.connect(p.worker).submitResult(job, posted);
  const posting: PostedResult = { input: ethers.getBytes(INPUT), output: posted };
  return { job, tx, posting };
}

/** The trace with neuron `index` of layer `layer` one off, later layers computed from it honestly. */
function cheatAt(layer: number, index: number): Int8Array[] {
  const vectors: Int8Array[] = HONEST.map((v) => Int8Array.from(v));
  vectors[layer][index] = vectors[layer][index] === 127 ? 126 : vectors[layer][index] + 1;
  for (let k = layer; k < layers.length; k++) vectors[k + 1] = runReference(layers.slice(k), vectors[k]).vectors[1];
  return vectors;
}

async function settlementOf(p: Protocol, tx: ContractTransactionResponse): Promise<[number, Settlement]> {
  const receipt = await tx.wait();
  for (const log of receipt!.logs) {
    const parsed = p.escrow.interface.parseLog(log);
    if (parsed?.name === "JobSettled") return [Number(parsed.args.outcome), toSettlement(parsed.args.settlement)];
  }
  throw new Error("no JobSettled");
}

describe("JobEscrow: Proven mode", function () {
  describe("an honest result", function () {
    it("is claimed by its submission with no committee needed and opens the challenge window", async function () {
      const p = await loadFixture(provenFixture);
      const { job, tx } = await submitted(p);
      const state = await p.escrow.jobState(job.id);
      expect(state.status).to.equal(JobStatus.Submitted);
      const windowEnd = BigInt(await time.latest()) + BigInt((await p.escrow.params()).challengeWindow);
      expect(state.windowEnd).to.equal(windowEnd);
      await expect(tx)
        .to.emit(p.escrow, "ResultSubmitted")
        .withArgs(job.id, p.worker.address, traceOf(outputName, HONEST).outputHash, anyBytes, windowEnd);
      expect((await p.staking.accountOf(p.worker.address)).locked).to.equal(job.collateral);
    });

    it("resists every proof: each neuron reverts ProvenNeuronCorrect, and the job stays Submitted", async function () {
      const p = await loadFixture(provenFixture);
      const { job, posting } = await submitted(p);
      const judge = await ethers.getContractAt("ProvenJudge", await p.escrow.getAddress());
      for (let layer = 1; layer <= layers.length; layer++) {
        for (let index = 0; index < layers[layer - 1].nOut; index++) {
          const evidence = encodeEvidence(proofOf(TREE, posting, layer, index));
          await expect(p.escrow.connect(p.other).proveFraud(job, evidence))
            .to.be.revertedWithCustomError(judge, "ProvenNeuronCorrect")
            .withArgs(layer, index, HONEST[layer][index]);
        }
      }
      expect((await p.escrow.jobState(job.id)).status).to.equal(JobStatus.Submitted);
    });

    it("settles Accepted after the window, alone or batched, paying the worker as an Optimistic job", async function () {
      const p = await loadFixture(provenFixture);
      const a = await submitted(p);
      const b = await submitted(p);
      const params = await p.escrow.params();
      await time.increase(Number(params.challengeWindow) + 1);
      const output = traceOf(outputName, HONEST).output;
      const tx = await p.escrow.settleBatch([a.job, b.job], [output, "0x"]);
      for (const job of [a.job, b.job]) {
        expect((await p.escrow.jobState(job.id)).status).to.equal(JobStatus.Settled);
      }
      const [outcome, settlement] = await settlementOf(p, tx);
      expect(outcome).to.equal(JobOutcome.Accepted);
      expect(settlement).to.deep.equal(acceptedSettlement(a.job, params, 0));
      expect((await p.staking.accountOf(p.worker.address)).locked).to.equal(0n);
      await expect(p.escrow.proveFraud(a.job, encodeEvidence(proofOf(TREE, a.posting, 1, 0))))
        .to.be.revertedWithCustomError(p.escrow, "JobEscrowInvalidStatus")
        .withArgs(a.job.id, JobStatus.Settled);
      await expectConservation(p);
    });
  });

  describe("a wrong result is proven in one transaction by anyone", function () {
    const cases: [string, () => { vectors?: Int8Array[]; output?: Uint8Array }, number][] = [
      ["a wrong hidden neuron (output kept consistent with it)", () => ({ vectors: cheatAt(2, 1) }), 3],
      ["a wrong output neuron", () => ({ vectors: cheatAt(3, 0) }), 3],
      ["a wrong first-layer neuron (the proof reads the job's input)", () => ({ vectors: cheatAt(1, 0) }), 3],
      [
        "an output without its hidden vectors",
        () => ({ output: encodeTensors([vectorTensor(outputName, HONEST[layers.length])]) }),
        0,
      ],
      ["a hidden vector one value short", () => ({ output: shortHidden() }), 2],
    ];
    for (const [name, make, fraudKind] of cases) {
      it(`${name}: Rejected, the worker slashed, the requester refunded and compensated, the prover paid`, async function () {
        const p = await loadFixture(provenFixture);
        const { vectors, output } = make();
        const { job, posting } = await submitted(p, vectors, output);
        const fraud = findFirstFraud(layers, posting)!;
        expect(fraud).to.not.equal(undefined);
        const proof = buildFraudProof(TREE, posting, fraud);
        const stakeBefore = (await p.staking.accountOf(p.worker.address)).active;
        const tx = await p.escrow.connect(p.other).proveFraud(job, encodeEvidence(proof));
        await expect(tx)
          .to.emit(p.escrow, "FraudProven")
          .withArgs(job.id, p.other.address, fraudKind, proof.layer, proof.index);
        const [outcome, settlement] = await settlementOf(p, tx);
        expect(outcome).to.equal(JobOutcome.Rejected);
        const params = await p.escrow.params();
        expect(settlement).to.deep.equal(provenSettlement(job, params, BigInt(job.collateral)));
        expect((await p.escrow.jobState(job.id)).status).to.equal(JobStatus.Rejected);
        expect((await p.staking.accountOf(p.worker.address)).active).to.equal(stakeBefore - BigInt(job.collateral));
        expect(await p.escrow.balanceOf(p.requester.address)).to.equal(settlement.requesterRefund);
        expect(await p.escrow.balanceOf(p.other.address)).to.equal(settlement.challengerPayment);
        expect(settlement.challengerPayment).to.be.greaterThan(0n);
        expect(settlement.requesterRefund).to.be.greaterThan(job.fee);
        await expectConservation(p);
      });
    }

    it("a result that is not a profile output at all (another mode's bytes) is proven too", async function () {
      const p = await loadFixture(provenFixture);
      const { job, posting } = await submitted(p, undefined, ethers.getBytes(OUTPUT));
      const proof = proofOf(TREE, posting, 2, 0);
      await expect(p.escrow.connect(p.other).proveFraud(job, encodeEvidence(proof)))
        .to.emit(p.escrow, "FraudProven")
        .withArgs(job.id, p.other.address, 0, 2, 0);
    });
  });

  describe("refusals: a failed proof is a named revert and changes nothing", function () {
    it("JobEscrowNotProven for a job of another mode; JobEscrowNotOptimistic for a challenge of a Proven job", async function () {
      const p = await loadFixture(provenFixture);
      const optimistic = await p.request(p.models.optimistic);
      await p.escrow.connect(p.worker).submitResult(optimistic, OUTPUT);
      await expect(p.escrow.proveFraud(optimistic, encodeEvidence(proofOf(TREE, dummy(), 1, 0))))
        .to.be.revertedWithCustomError(p.escrow, "JobEscrowNotProven")
        .withArgs(optimistic.id);
      const { job } = await submitted(p);
      await expect(p.escrow.connect(p.verifiers[0]).challenge(job))
        .to.be.revertedWithCustomError(p.escrow, "JobEscrowNotOptimistic")
        .withArgs(job.id);
    });

    it("JobEscrowInvalidStatus before submission; JobEscrowChallengeWindowClosed after the window", async function () {
      const p = await loadFixture(provenFixture);
      const job = await p.request(p.model, { input: INPUT });
      const evidence = encodeEvidence(proofOf(TREE, dummy(), 1, 0));
      await expect(p.escrow.proveFraud(job, evidence))
        .to.be.revertedWithCustomError(p.escrow, "JobEscrowInvalidStatus")
        .withArgs(job.id, JobStatus.Requested);
      const cheat = await submitted(p, cheatAt(2, 1));
      const proof = encodeEvidence(buildFraudProof(TREE, cheat.posting, findFirstFraud(layers, cheat.posting)!));
      const windowEnd = (await p.escrow.jobState(cheat.job.id)).windowEnd;
      await time.increaseTo(windowEnd + 1n);
      await expect(p.escrow.proveFraud(cheat.job, proof))
        .to.be.revertedWithCustomError(p.escrow, "JobEscrowChallengeWindowClosed")
        .withArgs(cheat.job.id, windowEnd);
    });

    it("the judge's errors: evidence malformed, another output, a leaf not in the model, another input", async function () {
      const p = await loadFixture(provenFixture);
      const judge = await ethers.getContractAt("ProvenJudge", await p.escrow.getAddress());
      const { job, posting } = await submitted(p, cheatAt(1, 0));
      const proof = buildFraudProof(TREE, posting, findFirstFraud(layers, posting)!);
      expect(proof.layer).to.equal(1);
      await expect(p.escrow.proveFraud(job, "0x1234"))
        .to.be.revertedWithCustomError(judge, "ProvenEvidenceMalformed")
        .withArgs(0);
      // An offset past the end (the output's), and a length past it (the proof's).
      const words = ethers.getBytes(encodeEvidence(proof));
      const offsetPast = Uint8Array.from(words);
      offsetPast.set(ethers.getBytes(ethers.toBeHex(words.length + 32, 32)), 32);
      await expect(p.escrow.proveFraud(job, offsetPast))
        .to.be.revertedWithCustomError(judge, "ProvenEvidenceMalformed")
        .withArgs(1);
      const offsetNearEnd = Uint8Array.from(words);
      offsetNearEnd.set(ethers.getBytes(ethers.toBeHex(words.length - 16, 32)), 32);
      await expect(p.escrow.proveFraud(job, offsetNearEnd))
        .to.be.revertedWithCustomError(judge, "ProvenEvidenceMalformed")
        .withArgs(1);
      const proofAt = Number(ethers.toBigInt(words.slice(96, 128)));
      const lengthPast = Uint8Array.from(words);
      lengthPast.set(ethers.getBytes(ethers.toBeHex(1000, 32)), proofAt);
      await expect(p.escrow.proveFraud(job, lengthPast))
        .to.be.revertedWithCustomError(judge, "ProvenEvidenceMalformed")
        .withArgs(3);
      const honestOutput = traceOf(outputName, HONEST);
      await expect(p.escrow.proveFraud(job, encodeEvidence({ ...proof, output: honestOutput.output })))
        .to.be.revertedWithCustomError(judge, "ProvenOutputMismatch")
        .withArgs(keccak256(posting.output), honestOutput.outputHash);
      const otherTree = new WeightsTree([{ ...layers[0], bias: Int32Array.from(layers[0].bias, (b) => b + 1) }]);
      const foreign = otherTree.proof(1, 0);
      await expect(
        p.escrow.proveFraud(job, encodeEvidence({ ...proof, leaf: foreign.leaf, proof: foreign.proof })),
      ).to.be.revertedWithCustomError(judge, "ProvenLeafNotInModel");
      const otherInput = encodeProvenInput(
        inputName,
        Int8Array.from(GOLDEN_INPUT, (v) => (v === 0 ? 1 : 0)),
      );
      await expect(p.escrow.proveFraud(job, encodeEvidence({ ...proof, input: otherInput })))
        .to.be.revertedWithCustomError(judge, "ProvenInputMismatch")
        .withArgs(job.inputHash, keccak256(otherInput));
      // Nothing moved: the job is still open to the right proof.
      expect((await p.escrow.jobState(job.id)).status).to.equal(JobStatus.Submitted);
      await expect(p.escrow.proveFraud(job, encodeEvidence(proof))).to.emit(p.escrow, "FraudProven");
    });

    it("a job record that is not the job's (JobEscrowJobMismatch), and a second proof of a settled job", async function () {
      const p = await loadFixture(provenFixture);
      const { job, posting } = await submitted(p, cheatAt(2, 1));
      const evidence = encodeEvidence(buildFraudProof(TREE, posting, findFirstFraud(layers, posting)!));
      const tampered: Job = { ...job, fee: BigInt(job.fee) + 1n };
      await expect(p.escrow.proveFraud(tampered, evidence))
        .to.be.revertedWithCustomError(p.escrow, "JobEscrowJobMismatch")
        .withArgs(job.id);
      await p.escrow.proveFraud(job, evidence);
      await expect(p.escrow.proveFraud(job, evidence))
        .to.be.revertedWithCustomError(p.escrow, "JobEscrowInvalidStatus")
        .withArgs(job.id, JobStatus.Rejected);
    });
  });

  it("a Proven request by URI: the proof of a layer-1 neuron brings the input the URI serves", async function () {
    const p = await loadFixture(provenFixture);
    const terms = await currentTerms(p.registry, p.model);
    const deadline = BigInt(await time.latest()) + 86_400n;
    const tx = await p.escrow
      .connect(p.requester)
      .requestInferenceByUri(p.model, terms, "ipfs://input", keccak256(INPUT), deadline, 0);
    const job = await p.jobFrom(tx);
    const output = traceOf(outputName, cheatAt(1, 2)).output;
    await p.escrow.connect(p.worker).submitResult(job, output);
    const posting = { input: ethers.getBytes(INPUT), output };
    const proof = buildFraudProof(TREE, posting, findFirstFraud(layers, posting)!);
    expect([proof.layer, proof.index]).to.deep.equal([1, 2]);
    await expect(p.escrow.connect(p.other).proveFraud(job, encodeEvidence(proof))).to.emit(p.escrow, "FraudProven");
  });
});

/** Matches any bytes argument of an event. */
function anyBytes(): boolean {
  return true;
}

/** An output whose hidden vector x1 is one value short. */
function shortHidden(): Uint8Array {
  const vectors = HONEST.slice(1).map((v) => Int8Array.from(v));
  vectors[0] = vectors[0].slice(0, vectors[0].length - 1);
  return encodeProvenOutput(outputName, vectors);
}

/** A posting for proofs that never reach the judge. */
function dummy(): PostedResult {
  return { input: ethers.getBytes(INPUT), output: traceOf(outputName, HONEST).output };
}
