import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { ZeroAddress } from "ethers";
import { deployProtocolFixture, OUTPUT } from "./fixtures/protocol";
import { DAY, expectConservation } from "./fixtures/escrow";
import { JobOutcome, JobStatus } from "../src/params";
import { challengeBondFor, inconclusiveSettlement } from "../src/settlement";
import { settlementArgs } from "./fixtures/verification";
import type { FaultyRandomness } from "../typechain-types";

/** FaultyRandomness.Fault. */
const Fault = { None: 0, Revert: 1, BurnGas: 2, ShortReturn: 3 } as const;
const FAULTS: [string, number][] = [
  ["reverts", Fault.Revert],
  ["burns all the gas it is given", Fault.BurnGas],
  ["returns nothing", Fault.ShortReturn],
];
/** JobEscrow's RANDOMNESS_GAS: what a source gets for randomSeed. */
const RANDOMNESS_GAS = 100_000n;

async function faultySource(fault: number = Fault.None): Promise<FaultyRandomness> {
  const source = (await ethers.deployContract("FaultyRandomness")) as unknown as FaultyRandomness;
  await source.setFault(fault);
  return source;
}

/** The protocol with a FaultyRandomness (still healthy) announced and activated as its source. */
async function faultyProtocolFixture() {
  const p = await deployProtocolFixture();
  const source = await faultySource();
  await p.escrow.connect(p.governance).announceRandomnessSource(source);
  await time.increaseTo((await p.escrow.nextRandomnessSource()).readyAt);
  await p.escrow.connect(p.governance).activateRandomnessSource();
  return { ...p, source };
}

describe("JobEscrow randomness source", function () {
  describe("#announceRandomnessSource", function () {
    it("records the source with a notice of the exit notice and unbonding period plus a day, without changing the source in use", async function () {
      const p = await loadFixture(deployProtocolFixture);
      const next = await faultySource();
      const tx = await p.escrow.connect(p.governance).announceRandomnessSource(next);
      const readyAt =
        BigInt(await time.latest()) + (await p.staking.exitNotice()) + (await p.staking.unbondingPeriod()) + DAY;
      await expect(tx)
        .to.emit(p.escrow, "RandomnessSourceAnnounced")
        .withArgs(await next.getAddress(), readyAt);
      await expect(tx).not.to.emit(p.escrow, "RandomnessSourceUpdated");
      expect(await p.escrow.nextRandomnessSource()).to.deep.equal([await next.getAddress(), readyAt]);
      expect(await p.escrow.randomnessSource()).to.equal(await p.randomness.getAddress());
    });

    it("reverts with JobEscrowRandomnessSourceUnusable for an account without code and for zero", async function () {
      const p = await loadFixture(deployProtocolFixture);
      for (const source of [p.other.address, ZeroAddress]) {
        await expect(p.escrow.connect(p.governance).announceRandomnessSource(source))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowRandomnessSourceUnusable")
          .withArgs(source);
      }
    });

    for (const [what, fault] of FAULTS) {
      it(`reverts with JobEscrowRandomnessSourceUnusable for a source that ${what}`, async function () {
        const p = await loadFixture(deployProtocolFixture);
        const source = await faultySource(fault);
        await expect(p.escrow.connect(p.governance).announceRandomnessSource(source))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowRandomnessSourceUnusable")
          .withArgs(await source.getAddress());
      });
    }

    it("reverts with OwnableUnauthorizedAccount for anyone but the owner", async function () {
      const p = await loadFixture(deployProtocolFixture);
      await expect(p.escrow.connect(p.other).announceRandomnessSource(await faultySource()))
        .to.be.revertedWithCustomError(p.escrow, "OwnableUnauthorizedAccount")
        .withArgs(p.other.address);
    });
  });

  describe("#activateRandomnessSource", function () {
    it("reverts with JobEscrowRandomnessNotAnnounced when nothing was announced", async function () {
      const p = await loadFixture(deployProtocolFixture);
      await expect(p.escrow.connect(p.governance).activateRandomnessSource()).to.be.revertedWithCustomError(
        p.escrow,
        "JobEscrowRandomnessNotAnnounced",
      );
    });

    it("reverts with JobEscrowRandomnessNoticePending until the notice has run, then switches the source", async function () {
      const p = await loadFixture(deployProtocolFixture);
      const next = await faultySource();
      await p.escrow.connect(p.governance).announceRandomnessSource(next);
      const [, readyAt] = await p.escrow.nextRandomnessSource();
      await time.setNextBlockTimestamp(readyAt - 1n);
      await expect(p.escrow.connect(p.governance).activateRandomnessSource())
        .to.be.revertedWithCustomError(p.escrow, "JobEscrowRandomnessNoticePending")
        .withArgs(await next.getAddress(), readyAt);
      await time.setNextBlockTimestamp(readyAt);
      await expect(p.escrow.connect(p.governance).activateRandomnessSource())
        .to.emit(p.escrow, "RandomnessSourceUpdated")
        .withArgs(await p.randomness.getAddress(), await next.getAddress());
      expect(await p.escrow.randomnessSource()).to.equal(await next.getAddress());
      expect(await p.escrow.nextRandomnessSource()).to.deep.equal([ZeroAddress, 0n]);
      await expect(p.escrow.connect(p.governance).activateRandomnessSource()).to.be.revertedWithCustomError(
        p.escrow,
        "JobEscrowRandomnessNotAnnounced",
      );
    });

    it("a second announcement replaces the first and restarts the notice", async function () {
      const p = await loadFixture(deployProtocolFixture);
      await p.escrow.connect(p.governance).announceRandomnessSource(await faultySource());
      await time.increase(DAY);
      const second = await faultySource();
      await p.escrow.connect(p.governance).announceRandomnessSource(second);
      const [source, readyAt] = await p.escrow.nextRandomnessSource();
      expect(source).to.equal(await second.getAddress());
      expect(readyAt).to.equal(
        BigInt(await time.latest()) + (await p.staking.exitNotice()) + (await p.staking.unbondingPeriod()) + DAY,
      );
    });

    it("reverts with JobEscrowRandomnessSourceUnusable when the source broke during the notice", async function () {
      const p = await loadFixture(deployProtocolFixture);
      const next = await faultySource();
      await p.escrow.connect(p.governance).announceRandomnessSource(next);
      await time.increaseTo((await p.escrow.nextRandomnessSource()).readyAt);
      await next.setFault(Fault.Revert);
      await expect(p.escrow.connect(p.governance).activateRandomnessSource())
        .to.be.revertedWithCustomError(p.escrow, "JobEscrowRandomnessSourceUnusable")
        .withArgs(await next.getAddress());
    });

    it("reverts with OwnableUnauthorizedAccount for anyone but the owner", async function () {
      const p = await loadFixture(deployProtocolFixture);
      await expect(p.escrow.connect(p.other).activateRandomnessSource())
        .to.be.revertedWithCustomError(p.escrow, "OwnableUnauthorizedAccount")
        .withArgs(p.other.address);
    });
  });

  describe("when the source in use fails", function () {
    for (const [what, fault] of FAULTS) {
      describe(`(it ${what})`, function () {
        it("a claimed Committee job's submission ends it Inconclusive: the requester refunded, the worker released, not slashed", async function () {
          const p = await loadFixture(faultyProtocolFixture);
          const job = await p.request(p.models.committee);
          await p.escrow.connect(p.worker).claim(job);
          const stakeBefore = await p.staking.accountOf(p.worker.address);
          await p.source.setFault(fault);
          const tx = await p.escrow.connect(p.worker).submitResult(job, OUTPUT);
          await expect(tx)
            .to.emit(p.escrow, "JobSettled")
            .withArgs(job.id, JobOutcome.Inconclusive, settlementArgs(inconclusiveSettlement(job)));
          await expect(tx).not.to.emit(p.escrow, "CommitteeDrawn");
          expect((await p.escrow.jobState(job.id)).status).to.equal(JobStatus.Refunded);
          const stakeAfter = await p.staking.accountOf(p.worker.address);
          expect(stakeAfter.active).to.equal(stakeBefore.active);
          expect(stakeAfter.locked).to.equal(stakeBefore.locked - BigInt(job.collateral));
          expect(await p.escrow.balanceOf(p.requester)).to.equal(BigInt(job.fee));
          await expectConservation(p);
        });

        it("a challenge is still judged: the job ends Inconclusive at once, the bond returned, nobody slashed", async function () {
          const p = await loadFixture(faultyProtocolFixture);
          const job = await p.request(p.models.optimistic);
          await p.escrow.connect(p.worker).submitResult(job, OUTPUT);
          await p.source.setFault(fault);
          const challenger = p.verifiers[0];
          const bond = challengeBondFor(job, await p.escrow.paramsOf(job.paramsId));
          const tx = await p.escrow.connect(challenger).challenge(job);
          await expect(tx)
            .to.emit(p.escrow, "JobSettled")
            .withArgs(job.id, JobOutcome.Inconclusive, settlementArgs(inconclusiveSettlement(job, { bond }, false)));
          await expect(tx).to.changeTokenBalances(p.token, [challenger, p.escrow], [-bond, bond]);
          expect(await p.escrow.balanceOf(challenger)).to.equal(bond);
          expect(await p.escrow.balanceOf(p.requester)).to.equal(BigInt(job.fee));
          expect((await p.escrow.jobState(job.id)).status).to.equal(JobStatus.Refunded);
          expect((await p.staking.accountOf(p.worker.address)).locked).to.equal(0n);
          await expectConservation(p);
        });
      });
    }

    it("a submission that leaves the source less than its gas allowance reverts instead of ending the job", async function () {
      // Otherwise a worker could starve a healthy source of gas and turn a checked job into a refund.
      const p = await loadFixture(faultyProtocolFixture);
      const job = await p.request(p.models.committee);
      await p.escrow.connect(p.worker).claim(job);
      await p.source.setFault(Fault.BurnGas);
      let reverted = 0;
      let refunded = 0;
      let namedError = 0;
      for (let gasLimit = 100_000n; gasLimit <= 300_000n; gasLimit += 10_000n) {
        const snapshot = await network.provider.send("evm_snapshot");
        try {
          const receipt = await (await p.escrow.connect(p.worker).submitResult(job, OUTPUT, { gasLimit })).wait();
          // Refunded only after the source had its whole allowance (and burnt it).
          expect(receipt!.gasUsed, `gas used with limit ${gasLimit}`).to.be.greaterThan(RANDOMNESS_GAS);
          expect((await p.escrow.jobState(job.id)).status).to.equal(JobStatus.Refunded);
          refunded++;
        } catch (error) {
          expect((await p.escrow.jobState(job.id)).status, `status with limit ${gasLimit}`).to.equal(JobStatus.Claimed);
          if (String(error).includes("JobEscrowInsufficientGasForDraw")) namedError++;
          reverted++;
        }
        await network.provider.send("evm_revert", [snapshot]);
      }
      expect(reverted).to.be.greaterThan(0);
      expect(refunded).to.be.greaterThan(0);
      expect(namedError, "some attempts reach the check and name it").to.be.greaterThan(0);
    });
  });
});
