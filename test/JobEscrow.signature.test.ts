import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { MODEL_URI, PRICE, TEST_PARAMS, signedModelProtocolFixture, termsFor } from "./fixtures/protocol";
import { SIGNATURE, SIGNATURE_INPUT_SIZE } from "./fixtures/registry";
import { DAY, requestedEvent } from "./fixtures/escrow";
import { encodeTensors, type Tensor } from "../packages/sdk/src/codec";
import { VerificationMode } from "../packages/sdk/src/params";
import { checkInputBytes, encodeSignature, signatureInputSize, type IoSignature } from "../packages/sdk/src/signature";
import { currentTerms, jobTermsHash } from "../packages/sdk/src/terms";

/**
 * The escrow's input size check (`JobEscrowInputSizeMismatch`): a request's inline input must be as long as the
 * inputs of the signature the model's latest version declares (`JobTerms.inputSize`); a request by URI, and a
 * model without a signature, are not checked.
 */

/** Bytes of every input that conforms to SIGNATURE. */
const INPUT_SIZE = Number(SIGNATURE_INPUT_SIZE);

const features = (shape: number[]): Tensor => ({
  name: "features",
  type: "float32",
  shape,
  data: new Float32Array(shape.reduce((n, d) => n * d, 1)).map((_, i) => i / 2 - 1),
});
const scale: Tensor = { name: "scale", type: "int64", shape: [], data: new BigInt64Array([7n]) };
/** An input that conforms to SIGNATURE. */
const CONFORMING = ethers.hexlify(encodeTensors([features([1, 4]), scale]));

async function deadline(): Promise<bigint> {
  return BigInt(await time.latest()) + DAY;
}

describe("JobEscrow (input/output signatures)", function () {
  describe("#requestInference", function () {
    describe("when the model's latest version declares a signature", function () {
      it("accepts a conforming input, takes the fee, and emits JobRequested with the input", async function () {
        const p = await loadFixture(signedModelProtocolFixture);
        expect(ethers.dataLength(CONFORMING)).to.equal(INPUT_SIZE);
        expect(signatureInputSize(SIGNATURE)).to.equal(BigInt(INPUT_SIZE));
        checkInputBytes(SIGNATURE, ethers.getBytes(CONFORMING));
        expect((await currentTerms(p.registry, p.signedModel)).inputSize).to.equal(BigInt(INPUT_SIZE));

        const tx = await p.requestTx(p.signedModel, { input: CONFORMING });
        const terms = termsFor(VerificationMode.None);
        await expect(tx)
          .to.emit(p.escrow, "JobRequested")
          .withArgs(
            anyValue,
            p.requester.address,
            p.signedModel,
            anyValue,
            CONFORMING,
            "",
            terms.relTolerance,
            terms.absTolerance,
          );
        await expect(tx).to.changeTokenBalances(p.token, [p.requester, p.escrow], [-PRICE, PRICE]);
        const event = await requestedEvent(tx, p.escrow);
        expect(event.input).to.equal(CONFORMING);
        expect(event.job.inputHash).to.equal(ethers.keccak256(CONFORMING));
        expect(event.job.modelId).to.equal(p.signedModel);
      });

      it("reverts with JobEscrowInputSizeMismatch for an input one byte shorter or longer", async function () {
        const p = await loadFixture(signedModelProtocolFixture);
        const shorter = ethers.dataSlice(CONFORMING, 0, INPUT_SIZE - 1);
        const longer = ethers.concat([CONFORMING, "0x00"]);
        for (const input of [shorter, longer]) {
          await expect(p.requestTx(p.signedModel, { input }))
            .to.be.revertedWithCustomError(p.escrow, "JobEscrowInputSizeMismatch")
            .withArgs(p.signedModel, ethers.dataLength(input), INPUT_SIZE);
        }
      });

      it("reverts with JobEscrowInputSizeMismatch for a well-formed input of another shape", async function () {
        const p = await loadFixture(signedModelProtocolFixture);
        // features [1,5]: one float32 more, 73 bytes.
        const input = ethers.hexlify(encodeTensors([features([1, 5]), scale]));
        await expect(p.requestTx(p.signedModel, { input }))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowInputSizeMismatch")
          .withArgs(p.signedModel, INPUT_SIZE + 4, INPUT_SIZE);
      });

      it("checks the size only: any 69 bytes are taken (workers check the tensors against the signature)", async function () {
        const p = await loadFixture(signedModelProtocolFixture);
        const input = ethers.hexlify(new Uint8Array(INPUT_SIZE).fill(7));
        expect(() => checkInputBytes(SIGNATURE, ethers.getBytes(input))).to.throw(/not a TML1 encoding/);
        await expect(p.requestTx(p.signedModel, { input })).to.emit(p.escrow, "JobRequested");
      });

      it("cannot be skipped by agreeing to an input size of 0: reverts with JobEscrowTermsChanged", async function () {
        const p = await loadFixture(signedModelProtocolFixture);
        const current = await currentTerms(p.registry, p.signedModel);
        const agreed = { ...current, inputSize: 0n };
        await expect(p.escrow.connect(p.requester).requestInference(p.signedModel, agreed, "0x01", await deadline(), 0))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowTermsChanged")
          .withArgs(p.signedModel, jobTermsHash(agreed), jobTermsHash(current));
      });

      it("follows the latest version: another signature's size, then any size once a version declares none", async function () {
        const p = await loadFixture(signedModelProtocolFixture);
        const other: IoSignature = { ...SIGNATURE, inputs: [SIGNATURE.inputs[1]] }; // "scale" alone
        const scaleOnly = ethers.hexlify(encodeTensors([scale]));
        expect(ethers.dataLength(scaleOnly)).to.equal(signatureInputSize(other)).and.to.equal(25);
        await p.registry
          .connect(p.modelOwner)
          .publishVersion(p.signedModel, ethers.id("v2"), MODEL_URI, ethers.ZeroHash, encodeSignature(other));
        await expect(p.requestTx(p.signedModel, { input: CONFORMING }))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowInputSizeMismatch")
          .withArgs(p.signedModel, INPUT_SIZE, ethers.dataLength(scaleOnly));
        await expect(p.requestTx(p.signedModel, { input: scaleOnly })).to.emit(p.escrow, "JobRequested");

        await p.registry
          .connect(p.modelOwner)
          .publishVersion(p.signedModel, ethers.id("v3"), MODEL_URI, ethers.ZeroHash, "0x");
        for (const input of ["0x01", CONFORMING, scaleOnly]) {
          await expect(p.requestTx(p.signedModel, { input })).to.emit(p.escrow, "JobRequested");
        }
      });

      describe("when the declared size is over maxInputBytes", function () {
        it("reverts with JobEscrowInputTooLarge before comparing sizes; a request by URI is the way", async function () {
          const p = await loadFixture(signedModelProtocolFixture);
          const max = TEST_PARAMS.maxInputBytes;
          const big: IoSignature = { ...SIGNATURE, inputs: [{ name: "x", type: "uint8", shape: [max] }] };
          await p.registry
            .connect(p.modelOwner)
            .publishVersion(p.signedModel, ethers.id("big"), MODEL_URI, ethers.ZeroHash, encodeSignature(big));
          const size = signatureInputSize(big);
          expect(size).to.be.above(max);
          await expect(p.requestTx(p.signedModel, { input: ethers.hexlify(new Uint8Array(Number(size))) }))
            .to.be.revertedWithCustomError(p.escrow, "JobEscrowInputTooLarge")
            .withArgs(size, max);
          const terms = await currentTerms(p.registry, p.signedModel);
          await expect(
            p.escrow
              .connect(p.requester)
              .requestInferenceByUri(p.signedModel, terms, "ipfs://big-input", ethers.id("input"), await deadline(), 0),
          ).to.emit(p.escrow, "JobRequested");
        });
      });
    });

    describe("when the model declares no signature", function () {
      it("takes an input of any size", async function () {
        const p = await loadFixture(signedModelProtocolFixture);
        expect((await currentTerms(p.registry, p.models.none)).inputSize).to.equal(0n);
        for (const size of [1, INPUT_SIZE - 1, INPUT_SIZE, INPUT_SIZE + 1, TEST_PARAMS.maxInputBytes]) {
          const input = ethers.hexlify(new Uint8Array(size).fill(1));
          await expect(p.requestTx(p.models.none, { input }), `${size} bytes`).to.emit(p.escrow, "JobRequested");
        }
      });
    });
  });

  describe("#requestInferenceByUri", function () {
    describe("when the model's latest version declares a signature", function () {
      it("does not check the input's size: it emits JobRequested with the URI and the hash", async function () {
        const p = await loadFixture(signedModelProtocolFixture);
        const terms = await currentTerms(p.registry, p.signedModel);
        const hash = ethers.keccak256(ethers.concat([CONFORMING, "0x00"]));
        const tx = await p.escrow
          .connect(p.requester)
          .requestInferenceByUri(p.signedModel, terms, "ipfs://input", hash, await deadline(), 0);
        const event = await requestedEvent(tx, p.escrow);
        expect(event.modelId).to.equal(p.signedModel);
        expect(event.input).to.equal("0x");
        expect(event.inputUri).to.equal("ipfs://input");
        expect(event.job.inputHash).to.equal(hash);
      });
    });
  });
});
