import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { JobOutcome, JobStatus } from "../packages/sdk/src/params";
import { currentTerms } from "../packages/sdk/src/terms";
import { deployProtocolFixture, INPUT, OUTPUT, PRICE, type Protocol } from "./fixtures/protocol";
import { consumerFixture, DAY, expectConservation, feeOnTransferFixture, settlement } from "./fixtures/escrow";

/** The protocol with the requester's deposit of three fees. */
async function depositedFixture(): Promise<Protocol> {
  const p = await deployProtocolFixture();
  await p.escrow.connect(p.requester).deposit(3n * PRICE);
  return p;
}

// Prepaid requests: a requester deposits once, and each request takes its fee from the balance the escrow keeps for
// it (the one withdraw pays out) whenever that balance covers the fee, without a token transfer.
describe("JobEscrow (deposits and prepaid requests)", function () {
  describe("#deposit", function () {
    it("moves the tokens into the escrow, credits the caller's balance and emits Deposited", async function () {
      const p = await loadFixture(deployProtocolFixture);
      const tx = p.escrow.connect(p.requester).deposit(5n * PRICE);
      await expect(tx)
        .to.emit(p.escrow, "Deposited")
        .withArgs(p.requester.address, 5n * PRICE);
      await expect(tx).to.changeTokenBalances(p.token, [p.requester, p.escrow], [-5n * PRICE, 5n * PRICE]);
      expect(await p.escrow.balanceOf(p.requester)).to.equal(5n * PRICE);
      await p.escrow.connect(p.requester).deposit(1n);
      expect(await p.escrow.balanceOf(p.requester)).to.equal(5n * PRICE + 1n);
      await expectConservation(p);
    });

    it("works while the escrow is paused (a deposit opens no job)", async function () {
      const p = await loadFixture(deployProtocolFixture);
      await p.escrow.connect(p.governance).pause();
      await expect(p.escrow.connect(p.requester).deposit(PRICE)).to.emit(p.escrow, "Deposited");
    });

    it("reverts with JobEscrowZeroDeposit for zero", async function () {
      const p = await loadFixture(deployProtocolFixture);
      await expect(p.escrow.connect(p.requester).deposit(0)).to.be.revertedWithCustomError(
        p.escrow,
        "JobEscrowZeroDeposit",
      );
    });

    it("reverts with the token's error without allowance, and credits nothing", async function () {
      const p = await loadFixture(deployProtocolFixture);
      await p.token.connect(p.requester).approve(p.escrow, 0);
      await expect(p.escrow.connect(p.requester).deposit(PRICE))
        .to.be.revertedWithCustomError(p.token, "ERC20InsufficientAllowance")
        .withArgs(await p.escrow.getAddress(), 0, PRICE);
      expect(await p.escrow.balanceOf(p.requester)).to.equal(0n);
    });

    it("reverts with JobEscrowTransferShortfall when the token delivers less than sent", async function () {
      const f = await loadFixture(feeOnTransferFixture);
      const [, , , requester] = await ethers.getSigners();
      await expect(f.escrow.connect(requester).deposit(PRICE))
        .to.be.revertedWithCustomError(f.escrow, "JobEscrowTransferShortfall")
        .withArgs(PRICE, PRICE - PRICE / 100n);
    });
  });

  describe("#requestInference paid from the balance", function () {
    it("takes the fee from the deposit, with no token transfer", async function () {
      const p = await loadFixture(depositedFixture);
      const tx = p.requestTx(p.models.none);
      await expect(tx).to.emit(p.escrow, "JobRequested");
      await expect(tx).to.changeTokenBalances(p.token, [p.requester, p.escrow], [0, 0]);
      await expect(tx).not.to.emit(p.token, "Transfer");
      expect(await p.escrow.balanceOf(p.requester)).to.equal(2n * PRICE);
      await expectConservation(p);
    });

    it("draws fee after fee until the balance no longer covers one, then pulls the whole fee", async function () {
      const p = await loadFixture(deployProtocolFixture);
      await p.escrow.connect(p.requester).deposit(PRICE + PRICE / 2n);
      await expect(p.requestTx(p.models.none)).to.changeTokenBalances(p.token, [p.requester, p.escrow], [0, 0]);
      expect(await p.escrow.balanceOf(p.requester)).to.equal(PRICE / 2n);
      // Half a fee left: the request pulls the fee in full and leaves the half untouched.
      await expect(p.requestTx(p.models.none)).to.changeTokenBalances(
        p.token,
        [p.requester, p.escrow],
        [-PRICE, PRICE],
      );
      expect(await p.escrow.balanceOf(p.requester)).to.equal(PRICE / 2n);
      await expectConservation(p);
    });

    it("draws a fee from an exactly equal balance", async function () {
      const p = await loadFixture(deployProtocolFixture);
      await p.escrow.connect(p.requester).deposit(PRICE);
      await expect(p.requestTx(p.models.none)).to.changeTokenBalances(p.token, [p.requester, p.escrow], [0, 0]);
      expect(await p.escrow.balanceOf(p.requester)).to.equal(0n);
    });

    it("spends refunds and earnings the same way: an expired job's refund pays the next request", async function () {
      const p = await loadFixture(deployProtocolFixture);
      // A restored snapshot's latest block can be minutes old, and the request's block takes the clock's time: a
      // deadline a minute after that latest block may have passed already. A block mined now is of the clock's time.
      await mine();
      const expired = await p.request(p.models.none, { deadline: BigInt(await time.latest()) + 60n });
      await time.increase(61);
      await expect(p.escrow.settle(expired, "0x"))
        .to.emit(p.escrow, "JobSettled")
        .withArgs(expired.id, JobOutcome.Expired, settlement({ requesterRefund: PRICE }));
      await expect(p.requestTx(p.models.none)).to.changeTokenBalances(p.token, [p.requester, p.escrow], [0, 0]);
      expect(await p.escrow.balanceOf(p.requester)).to.equal(0n);
      await expectConservation(p);
    });

    it("pays from the deposit by URI too", async function () {
      const p = await loadFixture(depositedFixture);
      const terms = await currentTerms(p.registry, p.models.none);
      const deadline = BigInt(await time.latest()) + DAY;
      const tx = p.escrow
        .connect(p.requester)
        .requestInferenceByUri(p.models.none, terms, "ipfs://input", ethers.keccak256(INPUT), deadline, 0);
      await expect(tx).to.changeTokenBalances(p.token, [p.requester, p.escrow], [0, 0]);
      expect(await p.escrow.balanceOf(p.requester)).to.equal(2n * PRICE);
    });

    it("leaves the deposit whole when the request reverts", async function () {
      const p = await loadFixture(depositedFixture);
      await expect(p.requestTx(p.models.none, { input: "0x" })).to.be.revertedWithCustomError(
        p.escrow,
        "JobEscrowEmptyInput",
      );
      expect(await p.escrow.balanceOf(p.requester)).to.equal(3n * PRICE);
    });
  });

  describe("a job paid from a deposit", function () {
    it("settles like any other: the worker, owner and treasury are paid, and an expired one refunds the balance", async function () {
      const p = await loadFixture(depositedFixture);
      const job = await p.request(p.models.none);
      await expect(p.escrow.connect(p.worker).submitResult(job, OUTPUT)).to.emit(p.escrow, "JobSettled");
      expect((await p.escrow.jobState(job.id)).status).to.equal(JobStatus.Settled);
      const expired = await p.request(p.models.none, { deadline: BigInt(await time.latest()) + 60n });
      expect(await p.escrow.balanceOf(p.requester)).to.equal(PRICE);
      await time.increase(61);
      await p.escrow.settle(expired, "0x");
      expect(await p.escrow.balanceOf(p.requester)).to.equal(2n * PRICE);
      await expectConservation(p);
    });

    it("withdraw pays out what is left of the deposit", async function () {
      const p = await loadFixture(depositedFixture);
      await p.request(p.models.none);
      const tx = p.escrow.connect(p.requester).withdraw();
      await expect(tx)
        .to.emit(p.escrow, "Withdrawn")
        .withArgs(p.requester.address, 2n * PRICE);
      await expect(tx).to.changeTokenBalances(p.token, [p.requester, p.escrow], [2n * PRICE, -2n * PRICE]);
      await expectConservation(p);
    });
  });

  describe("output hashes of None jobs", function () {
    it("are kept for a job with a callback, so a consumer can accept the output after a failed callback", async function () {
      const f = await loadFixture(consumerFixture);
      const terms = await currentTerms(f.registry, f.models.none);
      const tx = await f.consumer
        .connect(f.requester)
        .requestInference(f.models.none, terms, INPUT, BigInt(await time.latest()) + DAY, 200_000);
      const job = await f.jobFrom(tx);
      await f.escrow.connect(f.worker).submitResult(job, OUTPUT);
      expect(await f.escrow.outputHash(job.id)).to.equal(ethers.keccak256(OUTPUT));
    });

    it("are carried by ResultSubmitted only for a job without one", async function () {
      const p = await loadFixture(deployProtocolFixture);
      const job = await p.request(p.models.none);
      await expect(p.escrow.connect(p.worker).submitResult(job, OUTPUT))
        .to.emit(p.escrow, "ResultSubmitted")
        .withArgs(job.id, p.worker.address, ethers.keccak256(OUTPUT), OUTPUT, 0);
      expect(await p.escrow.outputHash(job.id)).to.equal(ethers.ZeroHash);
    });
  });
});
