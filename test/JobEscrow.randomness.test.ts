import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { ZeroAddress } from "ethers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { deployProtocolFixture, OUTPUT, WRONG_OUTPUT } from "./fixtures/protocol";
import { DAY, expectConservation } from "./fixtures/escrow";
import { JobOutcome, JobStatus } from "../packages/sdk/src/params";
import { challengeBondFor, inconclusiveSettlement } from "../packages/sdk/src/settlement";
import { settlementArgs } from "./fixtures/verification";
import type { FaultyRandomness } from "../typechain-types";

/** FaultyRandomness.Fault. */
const Fault = { None: 0, Revert: 1, BurnGas: 2, ShortReturn: 3, NeverReady: 4, HugeTicket: 5 } as const;
/** Ways any call to a source can fail. */
const FAULTS: [string, number][] = [
  ["reverts", Fault.Revert],
  ["burns all the gas it is given", Fault.BurnGas],
  ["returns nothing", Fault.ShortReturn],
];
/** Ways `requestSeed` can fail. */
const REQUEST_FAULTS: [string, number][] = [...FAULTS, ["returns a ticket of more than 40 bits", Fault.HugeTicket]];
/** Ways `seedOf` can fail. */
const SEED_FAULTS: [string, number][] = [...FAULTS, ["never has the seed", Fault.NeverReady]];
/** CommitteeDrawLib.REQUEST_GAS: what a source gets for requestSeed. */
const REQUEST_GAS = 250_000n;

async function faultySource(onRequest: number = Fault.None, onSeed: number = Fault.None): Promise<FaultyRandomness> {
  const source = (await ethers.deployContract("FaultyRandomness")) as unknown as FaultyRandomness;
  await source.setFaults(onRequest, onSeed);
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
      it(`reverts with JobEscrowRandomnessSourceUnusable for a source whose seedOf ${what}`, async function () {
        const p = await loadFixture(deployProtocolFixture);
        const source = await faultySource(Fault.None, fault);
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
      await next.setFaults(Fault.None, Fault.Revert);
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

  describe("when the source in use fails to take a request", function () {
    for (const [what, fault] of REQUEST_FAULTS) {
      describe(`(its requestSeed ${what})`, function () {
        it("a claimed Committee job's submission ends it Inconclusive: the requester refunded, the worker released, not slashed", async function () {
          const p = await loadFixture(faultyProtocolFixture);
          const job = await p.request(p.models.committee);
          await p.escrow.connect(p.worker).claim(job);
          const stakeBefore = await p.staking.accountOf(p.worker.address);
          await p.source.setFaults(fault, Fault.None);
          const tx = await p.escrow.connect(p.worker).submitResult(job, OUTPUT);
          await expect(tx)
            .to.emit(p.escrow, "JobSettled")
            .withArgs(job.id, JobOutcome.Inconclusive, settlementArgs(inconclusiveSettlement(job)));
          await expect(tx).to.emit(p.escrow, "ResultSubmitted").withArgs(job.id, p.worker.address, anyValue, OUTPUT, 0);
          expect((await p.escrow.jobState(job.id)).status).to.equal(JobStatus.Refunded);
          const stakeAfter = await p.staking.accountOf(p.worker.address);
          expect(stakeAfter.active).to.equal(stakeBefore.active);
          expect(stakeAfter.locked).to.equal(stakeBefore.locked - BigInt(job.collateral));
          expect(await p.escrow.balanceOf(p.requester)).to.equal(BigInt(job.fee));
          await expectConservation(p);
        });

        it("a submission that would claim the job is refused with JobEscrowRandomnessSourceUnusable", async function () {
          const p = await loadFixture(faultyProtocolFixture);
          const job = await p.request(p.models.committee);
          await p.source.setFaults(fault, Fault.None);
          await expect(p.escrow.connect(p.worker).submitResult(job, OUTPUT))
            .to.be.revertedWithCustomError(p.escrow, "JobEscrowRandomnessSourceUnusable")
            .withArgs(await p.source.getAddress());
          expect((await p.escrow.jobState(job.id)).status).to.equal(JobStatus.Requested);
        });

        it("a challenge is still judged: the job ends Inconclusive at once, the bond returned, nobody slashed", async function () {
          const p = await loadFixture(faultyProtocolFixture);
          const job = await p.request(p.models.optimistic);
          await p.escrow.connect(p.worker).submitResult(job, OUTPUT);
          await p.source.setFaults(fault, Fault.None);
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
      await p.source.setFaults(Fault.BurnGas, Fault.None);
      let reverted = 0;
      let refunded = 0;
      let namedError = 0;
      for (let gasLimit = 150_000n; gasLimit <= 450_000n; gasLimit += 15_000n) {
        const snapshot = await network.provider.send("evm_snapshot");
        try {
          const receipt = await (await p.escrow.connect(p.worker).submitResult(job, OUTPUT, { gasLimit })).wait();
          // Refunded only after the source had its whole allowance (and burnt it).
          expect(receipt!.gasUsed, `gas used with limit ${gasLimit}`).to.be.greaterThan(REQUEST_GAS);
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

  describe("when the source in use never gives the seed", function () {
    for (const [what, fault] of SEED_FAULTS) {
      describe(`(its seedOf ${what})`, function () {
        it("a Committee job waits in Drawing, then settles Inconclusive after its draw window: nobody slashed", async function () {
          const p = await loadFixture(faultyProtocolFixture);
          const job = await p.request(p.models.committee);
          await p.source.setFaults(Fault.None, fault);
          await p.escrow.connect(p.worker).submitResult(job, OUTPUT);
          const { status, windowEnd: drawBy, revealEnd: ticket } = await p.escrow.jobState(job.id);
          expect(status).to.equal(JobStatus.Drawing);
          await expect(p.escrow.connect(p.other).drawCommittees([job]))
            .to.be.revertedWithCustomError(p.escrow, "JobEscrowSeedPending")
            .withArgs(job.id, ticket);
          await expect(p.escrow.settle(job, "0x"))
            .to.be.revertedWithCustomError(p.escrow, "JobEscrowNotSettleable")
            .withArgs(job.id, JobStatus.Drawing, drawBy + 1n);
          await time.increaseTo(drawBy + 1n);
          await expect(p.escrow.connect(p.other).drawCommittees([job]))
            .to.be.revertedWithCustomError(p.escrow, "JobEscrowSeedPending")
            .withArgs(job.id, ticket);
          const stakeBefore = await p.staking.accountOf(p.worker.address);
          await expect(p.escrow.connect(p.other).settle(job, "0x"))
            .to.emit(p.escrow, "JobSettled")
            .withArgs(job.id, JobOutcome.Inconclusive, settlementArgs(inconclusiveSettlement(job)));
          const stakeAfter = await p.staking.accountOf(p.worker.address);
          expect(stakeAfter.active).to.equal(stakeBefore.active);
          expect(stakeAfter.locked).to.equal(stakeBefore.locked - BigInt(job.collateral));
          expect(await p.escrow.balanceOf(p.requester)).to.equal(BigInt(job.fee));
          await expectConservation(p);
        });

        it("a challenged job settles Inconclusive after its draw window: the bond returned, nobody slashed", async function () {
          const p = await loadFixture(faultyProtocolFixture);
          const job = await p.request(p.models.optimistic);
          await p.escrow.connect(p.worker).submitResult(job, OUTPUT);
          await p.source.setFaults(Fault.None, fault);
          const challenger = p.verifiers[0];
          const bond = challengeBondFor(job, await p.escrow.paramsOf(job.paramsId));
          await p.escrow.connect(challenger).challenge(job);
          await time.increaseTo((await p.escrow.jobState(job.id)).windowEnd + 1n);
          await expect(p.escrow.connect(p.other).settle(job, "0x"))
            .to.emit(p.escrow, "JobSettled")
            .withArgs(job.id, JobOutcome.Inconclusive, settlementArgs(inconclusiveSettlement(job, { bond }, false)));
          expect(await p.escrow.balanceOf(challenger)).to.equal(bond);
          expect((await p.staking.accountOf(p.worker.address)).locked).to.equal(0n);
          await expectConservation(p);
        });
      });
    }
  });

  describe("two-step draws", function () {
    it("draws nothing in the requesting transaction, even with a seed that exists at once", async function () {
      const p = await loadFixture(deployProtocolFixture);
      const job = await p.request(p.models.committee);
      const tx = await p.escrow.connect(p.worker).submitResult(job, OUTPUT);
      await expect(tx).not.to.emit(p.escrow, "CommitteeDrawn");
      expect(await p.escrow.committee(job.id)).to.have.lengthOf(0);
    });

    it("lets anyone draw, and only once: a second draw reverts with JobEscrowInvalidStatus", async function () {
      const p = await loadFixture(deployProtocolFixture);
      const job = await p.request(p.models.committee);
      await p.escrow.connect(p.worker).submitResult(job, OUTPUT);
      await expect(p.escrow.connect(p.requester).drawCommittees([job])).to.emit(p.escrow, "CommitteeDrawn");
      await expect(p.escrow.connect(p.other).drawCommittees([job]))
        .to.be.revertedWithCustomError(p.escrow, "JobEscrowInvalidStatus")
        .withArgs(job.id, JobStatus.Voting);
    });

    it("batches: draws every job it can, skips the others and returns how many it drew", async function () {
      const p = await loadFixture(deployProtocolFixture);
      const jobs = [];
      for (let i = 0; i < 3; ++i) {
        const job = await p.request(p.models.committee);
        await p.escrow.connect(p.worker).submitResult(job, OUTPUT);
        jobs.push(job);
      }
      const requested = await p.request(p.models.committee); // not in Drawing: skipped
      await p.escrow.connect(p.other).drawCommittees([jobs[0]]);
      const batch = [jobs[0], requested, jobs[1], jobs[2]];
      expect(await p.escrow.connect(p.other).drawCommittees.staticCall(batch)).to.equal(2n);
      const tx = await p.escrow.connect(p.other).drawCommittees(batch);
      for (const job of jobs.slice(1))
        await expect(tx).to.emit(p.escrow, "CommitteeDrawn").withArgs(job.id, anyValue, anyValue, anyValue);
      expect((await p.escrow.jobState(requested.id)).status).to.equal(JobStatus.Requested);
    });

    it("refuses a forged job record (JobEscrowJobMismatch) and an empty batch (JobEscrowInvalidBatch)", async function () {
      const p = await loadFixture(deployProtocolFixture);
      const job = await p.request(p.models.committee);
      await p.escrow.connect(p.worker).submitResult(job, OUTPUT);
      await expect(p.escrow.drawCommittees([{ ...job, requester: p.other.address }]))
        .to.be.revertedWithCustomError(p.escrow, "JobEscrowJobMismatch")
        .withArgs(job.id);
      await expect(p.escrow.drawCommittees([]))
        .to.be.revertedWithCustomError(p.escrow, "JobEscrowInvalidBatch")
        .withArgs(0, 0);
    });

    it("draws a job whose seed exists even after its draw window, and settling it then draws it: nobody escapes the vote by not drawing", async function () {
      const p = await loadFixture(deployProtocolFixture);
      const jobs = [];
      for (let i = 0; i < 2; ++i) {
        const job = await p.request(p.models.committee);
        await p.escrow.connect(p.worker).submitResult(job, WRONG_OUTPUT);
        jobs.push(job);
      }
      // The worker, whose output is wrong, does not draw; the draw window closes.
      await time.increaseTo((await p.escrow.jobState(jobs[1].id)).windowEnd + 1n);
      expect(await p.escrow.isSettleable(jobs[0])).to.equal(true);
      // Settling does not end it undrawn: it draws the committee, and the job goes to a vote.
      const settled = await p.escrow.connect(p.requester).settle(jobs[0], "0x");
      await expect(settled).to.emit(p.escrow, "CommitteeDrawn");
      await expect(settled).not.to.emit(p.escrow, "JobSettled");
      expect((await p.escrow.jobState(jobs[0].id)).status).to.equal(JobStatus.Voting);
      // And anyone can still draw the other.
      await expect(p.escrow.connect(p.other).drawCommittees([jobs[1]])).to.emit(p.escrow, "CommitteeDrawn");
      expect((await p.escrow.jobState(jobs[1].id)).status).to.equal(JobStatus.Voting);
      expect((await p.staking.accountOf(p.worker.address)).locked).to.equal(BigInt(jobs[0].collateral) * 2n);
    });

    it("cannot draw in the ticket's own block, where the seed does not exist yet: the draw reverts, the job stays in Drawing", async function () {
      const p = await loadFixture(deployProtocolFixture);
      const job = await p.request(p.models.committee);
      await network.provider.send("evm_setAutomine", [false]);
      try {
        const submit = await p.escrow.connect(p.worker).submitResult(job, OUTPUT, { gasLimit: 1_000_000 });
        const draw = await p.escrow.connect(p.other).drawCommittees([job], { gasLimit: 1_000_000 });
        await network.provider.send("evm_mine");
        const [submitted, drawn] = [await submit.wait(), await draw.wait().catch((e: unknown) => e)];
        expect(submitted!.status).to.equal(1);
        expect(String(drawn)).to.include("reverted");
      } finally {
        await network.provider.send("evm_setAutomine", [true]);
      }
      expect((await p.escrow.jobState(job.id)).status).to.equal(JobStatus.Drawing);
      await expect(p.escrow.connect(p.other).drawCommittees([job])).to.emit(p.escrow, "CommitteeDrawn");
    });
  });
});
