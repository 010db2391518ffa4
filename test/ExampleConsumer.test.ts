import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, takeSnapshot, time } from "@nomicfoundation/hardhat-network-helpers";
import { hexlify } from "ethers";
import { encodeTensors, TYPE_CODES, type ElementType } from "../packages/sdk/src/codec";
import { JobOutcome, JobStatus, VerificationMode } from "../packages/sdk/src/params";
import {
  abandonedSettlement,
  abandonmentSlash,
  rejectedSettlement,
  rejectionSlash,
} from "../packages/sdk/src/settlement";
import { currentTerms, jobTermsHash } from "../packages/sdk/src/terms";
import { CLASS_COUNT, DAY, expectConservation, SCORES_TENSOR, settlement } from "./fixtures/escrow";
import { INPUT, OUTPUT, PRICE, TEST_PARAMS, termsFor, type Job } from "./fixtures/protocol";
import {
  argmax,
  CALLBACK_GAS,
  consumerUsersFixture,
  dataOf,
  SCORES_SHAPE,
  scoresOutput,
  type ConsumerUsers,
} from "./fixtures/consumer";
import { underCoverage } from "./fixtures/coverage";
import { drawCommittee, voteAll, votingJob } from "./fixtures/verification";

/**
 * The least callback gas the consumer needs to record and read a 10-class output in shape [1, 10] (float32: 74
 * bytes; int8: 44 bytes), and to record a refund (the first: every slot it writes still empty), as measured below
 * (±2%); ExampleConsumer's NatSpec quotes them.
 */
const CLASSIFIER_CALLBACK_GAS = 131_500;
const INT8_CLASSIFIER_CALLBACK_GAS = 107_500;
const REFUND_GAS = 64_500;

/** Ten float32 scores whose largest is at index 7. */
const LOGITS = [-1.25, 0.5, 2.75, -3, 0.125, 1.5, -0.75, 3.5, 0.25, -2];

/**
 * The least `callbackGasLimit` with which the consumer's callback succeeds for a None job that `respond` ends
 * (answers or settles), by bisection in [lo, hi]; the chain is left as it was.
 */
async function leastCallbackGas(
  f: ConsumerUsers,
  respond: (job: Job) => Promise<Awaited<ReturnType<ConsumerUsers["answer"]>>>,
  lo: number,
  hi: number,
): Promise<number> {
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const snapshot = await takeSnapshot();
    const job = await f.consumerJob(f.models.none, mid);
    const ok = await f.callbackSucceeded(await respond(job));
    await snapshot.restore();
    if (ok) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Has the worker claim `job` and let its submission window pass; returns the settlement that follows (Abandoned:
 * the fee back with compensation) and its transaction, sent.
 */
async function abandon(f: ConsumerUsers, job: Job) {
  await f.escrow.connect(f.worker).claim(job);
  await time.increase(TEST_PARAMS.submissionWindow + 1);
  const refund = abandonedSettlement(job, TEST_PARAMS, abandonmentSlash(job, TEST_PARAMS));
  return { tx: f.escrow.connect(f.other).settle(job, "0x"), refund, compensation: refund.requesterRefund - PRICE };
}

describe("ExampleConsumer", function () {
  describe("#constructor", function () {
    it("keeps the escrow, its token, the scores tensor's name and the class count", async function () {
      const f = await loadFixture(consumerUsersFixture);
      expect(await f.consumer.ESCROW()).to.equal(await f.escrow.getAddress());
      expect(await f.consumer.TOKEN()).to.equal(await f.token.getAddress());
      expect(await f.consumer.scoresTensor()).to.equal(SCORES_TENSOR);
      expect(await f.consumer.CLASS_COUNT()).to.equal(CLASS_COUNT);
      expect(await f.consumer.owner()).to.equal(f.governance.address);
    });

    it("keeps a name of 32 bytes or more in storage and reads outputs by it", async function () {
      const f = await loadFixture(consumerUsersFixture);
      const name = "classifier/head/softmax_probabilities";
      const consumer = await ethers.deployContract("ExampleConsumer", [f.escrow, f.governance.address, name, 3]);
      expect(await consumer.scoresTensor()).to.equal(name);
      const output = encodeTensors([{ name, type: "float32", shape: [3], data: Float32Array.from([0.1, 0.7, 0.2]) }]);
      expect(await consumer.classify(output)).to.equal(1n);
    });

    for (const [name, classes] of [
      ["", CLASS_COUNT],
      [SCORES_TENSOR, 0],
    ] as const) {
      it(`reverts with ExampleConsumerInvalidClassifier for name ${JSON.stringify(name)} and ${classes} classes`, async function () {
        const f = await loadFixture(consumerUsersFixture);
        const factory = await ethers.getContractFactory("ExampleConsumer");
        await expect(factory.deploy(f.escrow, f.governance.address, name, classes))
          .to.be.revertedWithCustomError(f.consumer, "ExampleConsumerInvalidClassifier")
          .withArgs(name, classes);
      });
    }
  });

  describe("#requestInference", function () {
    it("passes the terms its user agreed to through to the escrow, and takes the fee from the user", async function () {
      const f = await loadFixture(consumerUsersFixture);
      const agreed = await currentTerms(f.registry, f.models.optimistic);
      const deadline = BigInt(await time.latest()) + DAY;
      const tx = f.consumer
        .connect(f.requester)
        .requestInference(f.models.optimistic, agreed, INPUT, deadline, CALLBACK_GAS);
      await expect(tx).to.changeTokenBalances(f.token, [f.requester, f.consumer, f.escrow], [-PRICE, 0, PRICE]);
      const job = await f.jobFrom(await tx);
      await expect(tx).to.emit(f.consumer, "InferenceRequested").withArgs(job.id, f.requester.address);
      expect([job.requester, job.modelOwner, job.version, job.mode, job.fee, job.callbackGasLimit]).to.deep.equal([
        await f.consumer.getAddress(),
        agreed.owner,
        agreed.version,
        BigInt(agreed.terms.mode),
        agreed.terms.price,
        BigInt(CALLBACK_GAS),
      ]);
      const request = await f.consumer.requestOf(job.id);
      expect([request.requestedBy, request.fee, request.done, request.feeReserved]).to.deep.equal([
        f.requester.address,
        PRICE,
        false,
        false,
      ]);
      expect(await f.token.allowance(f.consumer, f.escrow)).to.equal(0n);
      await expectConservation(f, [f.consumer]);
    });

    it("reverts with JobEscrowTermsChanged when the terms changed after the user read them, and takes nothing", async function () {
      const f = await loadFixture(consumerUsersFixture);
      const agreed = await currentTerms(f.registry, f.models.none);
      await f.registry
        .connect(f.modelOwner)
        .setTerms(f.models.none, { ...termsFor(VerificationMode.None), price: 2n * PRICE });
      const current = await currentTerms(f.registry, f.models.none);
      const deadline = BigInt(await time.latest()) + DAY;
      const tx = f.consumer.connect(f.requester).requestInference(f.models.none, agreed, INPUT, deadline, CALLBACK_GAS);
      await expect(tx)
        .to.be.revertedWithCustomError(f.escrow, "JobEscrowTermsChanged")
        .withArgs(f.models.none, jobTermsHash(agreed), jobTermsHash(current));
      expect(await f.token.balanceOf(f.consumer)).to.equal(0n);
    });

    it("reserves the fee of a job asked with less than REFUND_CALLBACK_GAS until it is recorded", async function () {
      const f = await loadFixture(consumerUsersFixture);
      const refundGas = Number(await f.consumer.REFUND_CALLBACK_GAS());
      const low = await f.consumerJob(f.models.none, refundGas - 1);
      const enough = await f.consumerJob(f.models.none, refundGas);
      const none = await f.consumerJob(f.models.none, 0);
      expect((await f.consumer.requestOf(low.id)).feeReserved).to.equal(true);
      expect((await f.consumer.requestOf(enough.id)).feeReserved).to.equal(false);
      expect((await f.consumer.requestOf(none.id)).feeReserved).to.equal(true);
    });
  });

  describe("#onInferenceResult", function () {
    describe("when the accepted output holds the scores", function () {
      const cases: { title: string; type: ElementType; scores: number[]; shape?: number[]; extra?: boolean }[] = [
        { title: "ten float32 logits", type: "float32", scores: LOGITS },
        {
          title: "ten float32 probabilities in shape [10]",
          type: "float32",
          scores: [0.01, 0.02, 0.05, 0.1, 0.3, 0.2, 0.1, 0.1, 0.07, 0.05],
          shape: [10],
        },
        {
          title: "float32 scores with a tie (the first index wins)",
          type: "float32",
          scores: [0, 4, 1, 4, 2, 0, 0, 0, 0, 0],
        },
        {
          title: "float32 scores with NaNs and infinities (a NaN never wins)",
          type: "float32",
          scores: [NaN, -Infinity, 1, NaN, 0, -0, 2.5, NaN, -1, 0],
        },
        { title: "float32 scores beside other tensors", type: "float32", scores: LOGITS.map((v) => -v), extra: true },
        { title: "ten int8 scores", type: "int8", scores: [-128, -5, 17, 90, -90, 3, 127, 0, 126, -1] },
        { title: "ten negative int8 scores", type: "int8", scores: [-9, -7, -8, -100, -3, -128, -4, -3, -50, -20] },
        { title: "ten float64 scores", type: "float64", scores: [1e-300, 2e-300, 0, -1, 5e-301, 0, 0, 0, 0, 1.5e-300] },
        { title: "ten uint8 scores", type: "uint8", scores: [0, 255, 3, 254, 255, 0, 0, 0, 0, 1] },
      ];
      for (const c of cases) {
        const expected = argmax(Array.from(dataOf(c.type, c.scores), Number))!;
        it(`${c.title}: stores class ${expected} next to the output and emits ClassPredicted`, async function () {
          const f = await loadFixture(consumerUsersFixture);
          const others = c.extra
            ? [
                { name: "embedding", type: "float32" as const, shape: [1, 4], data: Float32Array.from([1, 2, 3, 4]) },
                { name: "top", type: "int64" as const, shape: [1], data: BigInt64Array.from([9n]) },
              ]
            : [];
          const output = scoresOutput(c.type, c.scores, others, c.shape ?? SCORES_SHAPE);
          const job = await f.consumerJob(f.models.none, CALLBACK_GAS);
          const tx = f.answer(job, output);
          await expect(tx)
            .to.emit(f.escrow, "CallbackDelivered")
            .withArgs(job.id, await f.consumer.getAddress(), true);
          await expect(tx)
            .to.emit(f.consumer, "InferenceReceived")
            .withArgs(job.id, JobOutcome.Accepted, hexlify(output));
          await expect(tx).to.emit(f.consumer, "ClassPredicted").withArgs(job.id, f.requester.address, expected);
          await expect(tx).not.to.emit(f.consumer, "PredictionUnavailable");
          expect(await f.consumer.predictionOf(job.id)).to.deep.equal([true, BigInt(expected)]);
          expect(await f.consumer.classify(output)).to.equal(BigInt(expected));
          const request = await f.consumer.requestOf(job.id);
          expect([request.done, request.outcome, request.output]).to.deep.equal([
            true,
            BigInt(JobOutcome.Accepted),
            hexlify(output),
          ]);
          await expectConservation(f, [f.consumer]);
        });
      }
    });

    describe("when the accepted output cannot be read", function () {
      const scores = scoresOutput("float32", LOGITS);
      // Byte offsets in `scores`: 8 (name length), 10 (name "scores"), 16 (type), 17 (rank), 18 (dims), 34 (data).
      const unknownType = Uint8Array.from(scores);
      unknownType[16] = 4; // uint16 in ONNX, not a TML1 type
      const twice = new Uint8Array(2 * scores.length - 8);
      twice.set(scores);
      twice.set(scores.subarray(8), scores.length);
      twice[4] = 2; // two tensors, both named "scores": not canonical
      const cases: { title: string; output: Uint8Array | string; error: string; args: unknown[] }[] = [
        { title: "bytes that are not TML1", output: OUTPUT, error: "TensorReaderMalformed", args: [0] },
        {
          title: "a list cut inside the scores",
          output: scores.subarray(0, scores.length - 1),
          error: "TensorReaderMalformed",
          args: [34],
        },
        {
          title: "a list with a trailing byte",
          output: Uint8Array.from([...scores, 0]),
          error: "TensorReaderMalformed",
          args: [scores.length],
        },
        {
          title: "two tensors named as the scores",
          output: twice,
          error: "TensorReaderMalformed",
          args: [scores.length + 2],
        },
        { title: "a type code TML1 does not define", output: unknownType, error: "TensorReaderMalformed", args: [16] },
        {
          title: "no tensor of that name",
          output: encodeTensors([
            { name: "logits", type: "float32", shape: SCORES_SHAPE, data: Float32Array.from(LOGITS) },
          ]),
          error: "TensorReaderNotFound",
          args: [SCORES_TENSOR],
        },
        {
          title: "bool scores",
          output: scoresOutput("bool", [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]),
          error: "ExampleConsumerInvalidScoresType",
          args: [TYPE_CODES.bool],
        },
        {
          title: "nine scores for ten classes",
          output: scoresOutput("float32", LOGITS.slice(0, 9)),
          error: "ExampleConsumerClassCountMismatch",
          args: [9, CLASS_COUNT],
        },
        {
          title: "ten NaN scores",
          output: scoresOutput("float32", new Array<number>(CLASS_COUNT).fill(NaN)),
          error: "TensorReaderNoArgmax",
          args: [CLASS_COUNT],
        },
      ];
      for (const c of cases) {
        it(`${c.title}: records the output with no prediction and PredictionUnavailable(${c.error})`, async function () {
          const f = await loadFixture(consumerUsersFixture);
          const reason = f.consumer.interface.encodeErrorResult(c.error, c.args);
          await expect(f.consumer.classify(c.output))
            .to.be.revertedWithCustomError(f.consumer, c.error)
            .withArgs(...c.args);
          const job = await f.consumerJob(f.models.none, CALLBACK_GAS);
          const tx = f.answer(job, c.output);
          await expect(tx)
            .to.emit(f.escrow, "CallbackDelivered")
            .withArgs(job.id, await f.consumer.getAddress(), true);
          await expect(tx)
            .to.emit(f.consumer, "InferenceReceived")
            .withArgs(job.id, JobOutcome.Accepted, hexlify(c.output));
          await expect(tx).to.emit(f.consumer, "PredictionUnavailable").withArgs(job.id, reason);
          await expect(tx).not.to.emit(f.consumer, "ClassPredicted");
          expect(await f.consumer.predictionOf(job.id)).to.deep.equal([false, 0n]);
          const request = await f.consumer.requestOf(job.id);
          expect([request.done, request.outcome, request.output]).to.deep.equal([
            true,
            BigInt(JobOutcome.Accepted),
            hexlify(c.output),
          ]);
          expect(await f.consumer.refundOf(f.requester)).to.equal(0n);
          await expectConservation(f, [f.consumer]);
        });
      }
    });

    it("reverts with ExampleConsumerNotEscrow for any caller but the escrow", async function () {
      const f = await loadFixture(consumerUsersFixture);
      const job = await f.consumerJob(f.models.none, CALLBACK_GAS);
      await expect(
        f.consumer.connect(f.requester).onInferenceResult(job.id, JobOutcome.Accepted, scoresOutput("float32", LOGITS)),
      )
        .to.be.revertedWithCustomError(f.consumer, "ExampleConsumerNotEscrow")
        .withArgs(f.requester.address);
    });

    describe("callback gas", function () {
      before(function () {
        // Instrumented bytecode costs far more gas: the figures mean nothing under solidity-coverage.
        if (underCoverage()) this.skip();
      });

      for (const [type, scores, gas] of [
        ["float32", LOGITS, CLASSIFIER_CALLBACK_GAS],
        ["int8", [3, -2, 40, 41, 0, 0, -128, 41, 7, 1], INT8_CLASSIFIER_CALLBACK_GAS],
      ] as const) {
        it(`records a 10-class ${type} prediction with ${gas.toLocaleString("en")} gas (±2%), and fails with less`, async function () {
          const f = await loadFixture(consumerUsersFixture);
          const output = scoresOutput(type, scores);
          const least = await leastCallbackGas(f, (job) => f.answer(job, output), 50_000, CALLBACK_GAS);
          expect(least).to.be.closeTo(gas, gas * 0.02);
          expect(CALLBACK_GAS, "the tests' callback gas has a margin").to.be.greaterThan(least * 1.3);

          // One gas less and the callback fails without recording anything; the output can still be accepted.
          const job = await f.consumerJob(f.models.none, least - 1);
          expect(await f.callbackSucceeded(await f.answer(job, output))).to.equal(false);
          expect((await f.consumer.requestOf(job.id)).done).to.equal(false);
          await expect(f.consumer.acceptOutput(job.id, output))
            .to.emit(f.consumer, "ClassPredicted")
            .withArgs(job.id, f.requester.address, argmax(Array.from(dataOf(type, scores), Number)));
        });
      }

      it(`records the first refund with ${REFUND_GAS.toLocaleString("en")} gas (±2%), well under REFUND_CALLBACK_GAS`, async function () {
        const f = await loadFixture(consumerUsersFixture);
        const refundGas = Number(await f.consumer.REFUND_CALLBACK_GAS());
        const expire = async (job: Job) => {
          await time.increaseTo(BigInt(job.deadline) + 1n);
          return f.escrow.connect(f.other).settle(job, "0x");
        };
        const least = await leastCallbackGas(f, expire, 5_000, refundGas);
        expect(least).to.be.closeTo(REFUND_GAS, REFUND_GAS * 0.02);
        expect(least).to.be.lessThan(refundGas * 0.8);
        const job = await f.consumerJob(f.models.none, refundGas);
        await expect(expire(job)).to.emit(f.consumer, "RefundCredited").withArgs(job.id, f.requester.address, PRICE);
      });
    });

    describe("when the callback runs out of gas reading the output", function () {
      it("records nothing, so that the output can be accepted later with its prediction", async function () {
        const f = await loadFixture(consumerUsersFixture);
        // 300 small tensors after the scores: reading them costs more than the callback's gas.
        const padding = Array.from({ length: 300 }, (_, i) => ({
          name: `z${String(i).padStart(3, "0")}`,
          type: "uint8" as const,
          shape: [1],
          data: Uint8Array.from([i % 256]),
        }));
        const output = scoresOutput("float32", LOGITS, padding);
        const job = await f.consumerJob(f.models.none, 150_000);
        const tx = f.answer(job, output);
        await expect(tx)
          .to.emit(f.escrow, "CallbackDelivered")
          .withArgs(job.id, await f.consumer.getAddress(), false);
        await expect(tx).not.to.emit(f.consumer, "PredictionUnavailable");
        expect((await f.consumer.requestOf(job.id)).done).to.equal(false);

        // Sent with gas enough to reach the reading but not to finish it, acceptOutput reverts too.
        await expect(f.consumer.connect(f.other).acceptOutput(job.id, output, { gasLimit: 300_000 }))
          .to.be.revertedWithCustomError(f.consumer, "ExampleConsumerOutOfGas")
          .withArgs(job.id);
        await expect(f.consumer.connect(f.other).acceptOutput(job.id, output))
          .to.emit(f.consumer, "ClassPredicted")
          .withArgs(job.id, f.requester.address, argmax(LOGITS));
        expect(await f.consumer.predictionOf(job.id)).to.deep.equal([true, BigInt(argmax(LOGITS)!)]);
      });
    });
  });

  describe("#acceptOutput", function () {
    async function failedCallbackFixture() {
      const f = await consumerUsersFixture();
      const job = await f.consumerJob(f.models.optimistic, 5_000);
      return { ...f, job };
    }

    async function settled(f: ConsumerUsers, job: Job, output: Uint8Array | string) {
      await f.escrow.connect(f.worker).submitResult(job, output);
      await time.increase(TEST_PARAMS.challengeWindow + 1);
      const tx = await f.escrow.connect(f.other).settle(job, output);
      expect(await f.callbackSucceeded(tx)).to.equal(false);
    }

    it("reads the prediction of an output whose callback failed, as the callback would have", async function () {
      const f = await loadFixture(failedCallbackFixture);
      const output = scoresOutput("int8", [3, -2, 40, 41, 0, 0, -128, 41, 7, 1]);
      await settled(f, f.job, output);
      const tx = f.consumer.connect(f.other).acceptOutput(f.job.id, output);
      await expect(tx)
        .to.emit(f.consumer, "InferenceReceived")
        .withArgs(f.job.id, JobOutcome.Accepted, hexlify(output));
      await expect(tx).to.emit(f.consumer, "ClassPredicted").withArgs(f.job.id, f.requester.address, 3);
      expect(await f.consumer.predictionOf(f.job.id)).to.deep.equal([true, 3n]);
      await expect(f.consumer.acceptOutput(f.job.id, output))
        .to.be.revertedWithCustomError(f.consumer, "ExampleConsumerAlreadyDone")
        .withArgs(f.job.id);
    });

    it("records an output it cannot read with no prediction, without reverting", async function () {
      const f = await loadFixture(failedCallbackFixture);
      const output = scoresOutput("float32", new Array<number>(CLASS_COUNT).fill(NaN));
      await settled(f, f.job, output);
      const tx = f.consumer.connect(f.other).acceptOutput(f.job.id, output);
      await expect(tx)
        .to.emit(f.consumer, "InferenceReceived")
        .withArgs(f.job.id, JobOutcome.Accepted, hexlify(output));
      await expect(tx)
        .to.emit(f.consumer, "PredictionUnavailable")
        .withArgs(f.job.id, f.consumer.interface.encodeErrorResult("TensorReaderNoArgmax", [CLASS_COUNT]));
      expect(await f.consumer.predictionOf(f.job.id)).to.deep.equal([false, 0n]);
      expect((await f.consumer.requestOf(f.job.id)).done).to.equal(true);
    });

    it("reverts with ExampleConsumerNotSettled before settlement", async function () {
      const f = await loadFixture(failedCallbackFixture);
      const output = scoresOutput("float32", LOGITS);
      await f.escrow.connect(f.worker).submitResult(f.job, output);
      await expect(f.consumer.acceptOutput(f.job.id, output))
        .to.be.revertedWithCustomError(f.consumer, "ExampleConsumerNotSettled")
        .withArgs(f.job.id, JobStatus.Submitted);
    });
  });

  describe("refunds", function () {
    it("stay exact when the escrow spends a credited refund on another user's request", async function () {
      const f = await loadFixture(consumerUsersFixture);
      const consumer = await f.consumer.getAddress();

      // 1. The requester's job is abandoned: the escrow credits the consumer its fee and compensation, and the
      //    callback credits the requester its fee.
      const first = await f.consumerJob(f.models.none, CALLBACK_GAS);
      const { tx: settle, refund, compensation } = await abandon(f, first);
      expect(compensation).to.be.greaterThan(0n);
      await expect(settle).to.emit(f.escrow, "JobSettled").withArgs(first.id, JobOutcome.Abandoned, settlement(refund));
      await expect(settle).to.emit(f.consumer, "RefundCredited").withArgs(first.id, f.requester.address, PRICE);
      expect(await f.escrow.balanceOf(consumer)).to.equal(PRICE + compensation);
      expect(await f.consumer.refundOf(f.requester)).to.equal(PRICE);
      expect(await f.consumer.surplus()).to.equal(compensation);

      // 2. The second user's request takes its fee from that credit: the user's tokens stay in the consumer.
      const request = f.consumerRequestTx(f.models.none, CALLBACK_GAS, { from: f.secondUser });
      await expect(request).to.changeTokenBalances(f.token, [f.secondUser, f.consumer, f.escrow], [-PRICE, PRICE, 0]);
      const second = await f.jobFrom(await request);
      expect(await f.escrow.balanceOf(consumer)).to.equal(compensation);
      expect(await f.token.allowance(consumer, f.escrow)).to.equal(0n);
      expect(await f.consumer.surplus()).to.equal(compensation);
      await expectConservation(f, [f.consumer]);

      // 3. The requester claims exactly its fee, paid from the second user's tokens held here.
      const claim = f.consumer.connect(f.requester).claimRefund();
      await expect(claim).to.changeTokenBalances(f.token, [f.requester, f.consumer, f.escrow], [PRICE, -PRICE, 0]);
      await expect(claim).to.emit(f.consumer, "RefundClaimed").withArgs(f.requester.address, PRICE);
      await expect(claim).not.to.emit(f.escrow, "Withdrawn");

      // 4. The owner sweeps exactly the compensation, withdrawn from the escrow, while the second job is open.
      expect(await f.consumer.surplus()).to.equal(compensation);
      const sweep = f.consumer.connect(f.governance).sweepSurplus(f.treasury);
      await expect(sweep).to.changeTokenBalances(
        f.token,
        [f.consumer, f.escrow, f.treasury],
        [0, -compensation, compensation],
      );
      await expect(sweep).to.emit(f.consumer, "SurplusSwept").withArgs(f.treasury.address, compensation);
      await expect(sweep).to.emit(f.escrow, "Withdrawn").withArgs(consumer, compensation);
      await expect(f.consumer.connect(f.governance).sweepSurplus(f.treasury))
        .to.be.revertedWithCustomError(f.consumer, "ExampleConsumerNothingToClaim")
        .withArgs(consumer);
      await expectConservation(f, [f.consumer]);

      // 5. The second job expires: its user gets exactly its fee back, and nothing is left over.
      await time.increaseTo(BigInt(second.deadline) + 1n);
      await expect(f.escrow.connect(f.other).settle(second, "0x"))
        .to.emit(f.consumer, "RefundCredited")
        .withArgs(second.id, f.secondUser.address, PRICE);
      await expect(f.consumer.connect(f.secondUser).claimRefund()).to.changeTokenBalances(
        f.token,
        [f.secondUser, f.consumer, f.escrow],
        [PRICE, 0, -PRICE],
      );
      expect(await f.consumer.surplus()).to.equal(0n);
      expect(await f.token.balanceOf(consumer)).to.equal(0n);
      expect(await f.escrow.balanceOf(consumer)).to.equal(0n);
      await expectConservation(f, [f.consumer]);
    });

    it("keep the fee of a refund its callback did not record out of the surplus until it is recorded", async function () {
      const f = await loadFixture(consumerUsersFixture);
      const consumer = await f.consumer.getAddress();
      const job = await f.consumerJob(f.models.none, 0); // no callback at all
      const { tx: settle, compensation } = await abandon(f, job);
      await expect(settle).not.to.emit(f.consumer, "RefundCredited");
      expect(await f.escrow.balanceOf(consumer)).to.equal(PRICE + compensation);

      // The owner can take the compensation, never the requester's fee.
      expect(await f.consumer.surplus()).to.equal(compensation);
      await expect(f.consumer.connect(f.governance).sweepSurplus(f.treasury)).to.changeTokenBalances(
        f.token,
        [f.consumer, f.escrow, f.treasury],
        [PRICE, -(PRICE + compensation), compensation],
      );
      expect(await f.consumer.surplus()).to.equal(0n);

      await expect(f.consumer.connect(f.other).recordRefund(job.id))
        .to.emit(f.consumer, "RefundCredited")
        .withArgs(job.id, f.requester.address, PRICE);
      expect(await f.consumer.surplus()).to.equal(0n);
      await expect(f.consumer.connect(f.requester).claimRefund()).to.changeTokenBalances(
        f.token,
        [f.requester, f.consumer],
        [PRICE, -PRICE],
      );
      await expectConservation(f, [f.consumer]);
    });

    it("record a rejected job whose callback failed (recordRefund): the user gets its fee, the owner the compensation", async function () {
      const f = await loadFixture(consumerUsersFixture);
      const v = { ...f, params: await f.escrow.params(), actors: await ethers.getSigners() };
      const job = await f.consumerJob(f.models.committee, 5_000);
      await f.escrow.connect(f.worker).submitResult(job, OUTPUT);
      await drawCommittee(v, job);
      const { members } = await votingJob(v, job);
      await voteAll(v, BigInt(job.id), members, [false, false, false]);
      await expect(f.consumer.recordRefund(job.id))
        .to.be.revertedWithCustomError(f.consumer, "ExampleConsumerNotRefunded")
        .withArgs(job.id, JobStatus.Voting);
      const refund = rejectedSettlement(job, TEST_PARAMS, 3, rejectionSlash(job));
      const compensation = refund.requesterRefund - PRICE;
      const settle = f.escrow.connect(f.other).settle(job, "0x");
      await expect(settle).to.emit(f.escrow, "JobSettled").withArgs(job.id, JobOutcome.Rejected, settlement(refund));
      await expect(settle)
        .to.emit(f.escrow, "CallbackDelivered")
        .withArgs(job.id, await f.consumer.getAddress(), false);
      expect(await f.consumer.surplus()).to.equal(compensation);

      await expect(f.consumer.connect(f.other).recordRefund(job.id))
        .to.emit(f.consumer, "RefundCredited")
        .withArgs(job.id, f.requester.address, PRICE);
      const request = await f.consumer.requestOf(job.id);
      expect([request.done, request.outcome, request.predicted]).to.deep.equal([
        true,
        BigInt(JobOutcome.Rejected),
        false,
      ]);
      await expect(f.consumer.connect(f.requester).claimRefund()).to.changeTokenBalances(
        f.token,
        [f.requester, f.consumer, f.escrow],
        [PRICE, compensation, -(PRICE + compensation)],
      );
      await expect(f.consumer.connect(f.governance).sweepSurplus(f.treasury)).to.changeTokenBalances(
        f.token,
        [f.consumer, f.treasury],
        [-compensation, compensation],
      );
      await expectConservation(f, [f.consumer]);
    });

    it("come from the owner's deposit too, which pays requests and returns through sweepSurplus", async function () {
      const f = await loadFixture(consumerUsersFixture);
      const consumer = await f.consumer.getAddress();
      const amount = 3n * PRICE;
      await expect(f.consumer.connect(f.requester).depositToEscrow(amount))
        .to.be.revertedWithCustomError(f.consumer, "OwnableUnauthorizedAccount")
        .withArgs(f.requester.address);
      const deposit = f.consumer.connect(f.governance).depositToEscrow(amount);
      await expect(deposit).to.changeTokenBalances(f.token, [f.governance, f.consumer, f.escrow], [-amount, 0, amount]);
      await expect(deposit).to.emit(f.escrow, "Deposited").withArgs(consumer, amount);

      // A request draws its fee from the deposit; its user's tokens stay here.
      const request = f.consumerRequestTx(f.models.none, CALLBACK_GAS);
      await expect(request).to.changeTokenBalances(f.token, [f.requester, f.consumer, f.escrow], [-PRICE, PRICE, 0]);
      const job = await f.jobFrom(await request);
      await f.answer(job, scoresOutput("float32", LOGITS));
      expect(await f.consumer.predictionOf(job.id)).to.deep.equal([true, BigInt(argmax(LOGITS)!)]);
      expect(await f.escrow.balanceOf(consumer)).to.equal(amount - PRICE);
      await expectConservation(f, [f.consumer]);

      expect(await f.consumer.surplus()).to.equal(amount);
      await expect(f.consumer.connect(f.governance).sweepSurplus(f.governance)).to.changeTokenBalances(
        f.token,
        [f.governance, f.consumer, f.escrow],
        [amount, -PRICE, -(amount - PRICE)],
      );
      await expectConservation(f, [f.consumer]);
    });
  });
});
