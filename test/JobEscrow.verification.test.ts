import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse } from "ethers";
import { OUTPUT, STAKE, TEST_PARAMS, type Job } from "./fixtures/protocol";
import {
  activeOf,
  commitAll,
  commitmentOf,
  committeeVotingFixture,
  creditsOf,
  drawCommittee,
  expectConservation,
  membersOf,
  optimisticChallengedFixture,
  optimisticSubmittedFixture,
  predictCommittee,
  revealAll,
  saltOf,
  seatOf,
  settlementArgs,
  sharedVerifierFixture,
  slasherFixture,
  timestampOf,
  verificationFixture,
  voteAll,
  votingJob,
  type Verification,
} from "./fixtures/verification";
import { exitVerifiers } from "./fixtures/staking";
import { JobOutcome, JobStatus, VoteState } from "../packages/sdk/src/params";
import { sealCommitment, sealedCommitments, voteCommitment } from "../packages/sdk/src/votes";
import {
  acceptedSettlement,
  challengeBondFor,
  inconclusiveSettlement,
  rejectedSettlement,
} from "../packages/sdk/src/settlement";

/** The seats of a job's committee as [verifier, vote] pairs. */
async function seatsOf(v: Verification, jobId: bigint | number): Promise<[string, number][]> {
  return (await v.escrow.committee(jobId)).map((seat) => [seat.verifier, Number(seat.vote)]);
}

/** The escrow events named `name` that `tx` emitted, decoded. */
async function escrowEvents(v: Verification, tx: ContractTransactionResponse, name: string) {
  const receipt = await tx.wait();
  return receipt!.logs
    .map((log) => {
      try {
        return v.escrow.interface.parseLog(log);
      } catch {
        return null;
      }
    })
    .filter((parsed) => parsed?.name === name)
    .map((parsed) => parsed!.args);
}

/** `member` commits `agree` on `jobId` from its own seat. */
async function commitAs(
  v: Verification,
  jobId: bigint,
  member: HardhatEthersSigner,
  agree: boolean,
): Promise<ContractTransactionResponse> {
  const commitment = await commitmentOf(v, jobId, member.address, agree);
  return v.escrow.connect(member).commitVote(jobId, await seatOf(v, jobId, member.address), commitment);
}

/** `member` reveals `agree` on `jobId` from its own seat, passing `sealed` (by default the job's sealed
 * commitments as its VoteCommitted events list them). */
async function revealAs(
  v: Verification,
  jobId: bigint,
  member: HardhatEthersSigner,
  agree: boolean,
  salt = saltOf(jobId, member.address),
  sealed?: string[],
): Promise<ContractTransactionResponse> {
  const seat = await seatOf(v, jobId, member.address);
  return v.escrow
    .connect(member)
    .revealVote(jobId, seat, agree, salt, sealed ?? (await sealedCommitments(v.escrow, jobId)));
}

function idOf(job: Job): bigint {
  return BigInt(job.id);
}

function addressesOf(signers: HardhatEthersSigner[]): string[] {
  return signers.map((s) => s.address);
}

describe("JobEscrow verification", function () {
  // ================================================================ Optimistic
  describe("Optimistic mode", function () {
    describe("#submitResult", function () {
      describe("when the job is optimistic", function () {
        it("moves the job to Submitted with the challenge window open for challengeWindow seconds", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          const at = await timestampOf(s.submitTx);
          const state = await s.escrow.jobState(s.job.id);
          expect(state.status).to.equal(JobStatus.Submitted);
          expect(state.worker).to.equal(s.worker.address);
          expect(state.windowEnd).to.equal(at + s.params.challengeWindow);
          expect(state.seats).to.equal(0);
          expect(await s.escrow.outputHash(s.job.id)).to.equal(ethers.keccak256(OUTPUT));
          expect(await s.escrow.committee(s.job.id)).to.have.lengthOf(0);
        });

        it("emits ResultSubmitted with windowEnd = now + challengeWindow", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          const at = await timestampOf(s.submitTx);
          await expect(s.submitTx)
            .to.emit(s.escrow, "ResultSubmitted")
            .withArgs(s.job.id, s.worker.address, ethers.keccak256(OUTPUT), OUTPUT, at + s.params.challengeWindow);
          await expect(s.submitTx).not.to.emit(s.escrow, "JobSettled");
        });

        it("keeps the worker's collateral locked and credits nobody", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          expect((await s.staking.accountOf(s.worker.address)).locked).to.equal(s.job.collateral);
          expect(await s.escrow.balanceOf(s.worker.address)).to.equal(0);
          await expectConservation(s);
        });
      });
    });

    describe("#settle", function () {
      describe("when the challenge window is still open", function () {
        it("reverts with JobEscrowNotSettleable", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          await time.increaseTo(s.windowEnd - 1n); // the settle runs at windowEnd, still inside the window
          expect(await s.escrow.isSettleable(s.job)).to.equal(false);
          await expect(s.escrow.settle(s.job, "0x"))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowNotSettleable")
            .withArgs(s.job.id, JobStatus.Submitted, s.windowEnd + 1n);
        });
      });

      describe("when the challenge window has closed without a challenge", function () {
        it("accepts the result and pays the fee less royalty and protocol fee, with no verifier share", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          await time.increaseTo(s.windowEnd + 1n); // views run at the latest block's timestamp
          expect(await s.escrow.isSettleable(s.job)).to.equal(true);
          const expected = acceptedSettlement(s.job, s.params, 0n);
          expect(expected.workerPayment + expected.royalty + expected.treasuryPayment).to.equal(s.job.fee);

          const tx = await s.escrow.connect(s.other).settle(s.job, "0x");
          await expect(tx)
            .to.emit(s.escrow, "JobSettled")
            .withArgs(s.job.id, JobOutcome.Accepted, settlementArgs(expected));
          expect((await s.escrow.jobState(s.job.id)).status).to.equal(JobStatus.Settled);
          expect(await creditsOf(s, [s.worker, s.modelOwner, s.treasury, s.requester, ...s.verifiers])).to.deep.equal([
            expected.workerPayment,
            expected.royalty,
            expected.treasuryPayment,
            0n,
            ...s.verifiers.map(() => 0n),
          ]);
          await expectConservation(s);
        });

        it("unlocks the worker's collateral without slashing it", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          await time.increaseTo(s.windowEnd);
          const before = await s.staking.accountOf(s.worker.address);
          await expect(s.escrow.settle(s.job, "0x"))
            .to.emit(s.staking, "StakeUnlocked")
            .withArgs(s.worker.address, s.job.collateral);
          const after = await s.staking.accountOf(s.worker.address);
          expect(after.active).to.equal(before.active);
          expect(after.locked).to.equal(0);
          expect(await s.staking.freeStakeOf(s.worker.address)).to.equal(STAKE);
        });
      });
    });

    describe("#challenge", function () {
      describe("when the job is not optimistic", function () {
        it("reverts with JobEscrowNotOptimistic for a committee job", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const outsider = s.verifiers.find((x) => !s.members.includes(x))!;
          await expect(s.escrow.connect(outsider).challenge(s.job))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowNotOptimistic")
            .withArgs(s.job.id);
        });

        it("reverts with JobEscrowNotOptimistic for a None job", async function () {
          const v = await loadFixture(verificationFixture);
          const job = await v.request(v.models.none);
          await v.escrow.connect(v.worker).submitResult(job, OUTPUT);
          await expect(v.escrow.connect(v.verifiers[0]).challenge(job))
            .to.be.revertedWithCustomError(v.escrow, "JobEscrowNotOptimistic")
            .withArgs(job.id);
        });
      });

      describe("when the result has not been submitted", function () {
        it("reverts with JobEscrowInvalidStatus for a requested job", async function () {
          const v = await loadFixture(verificationFixture);
          const job = await v.request(v.models.optimistic);
          await expect(v.escrow.connect(v.verifiers[0]).challenge(job))
            .to.be.revertedWithCustomError(v.escrow, "JobEscrowInvalidStatus")
            .withArgs(job.id, JobStatus.Requested);
        });

        it("reverts with JobEscrowInvalidStatus for a claimed job", async function () {
          const v = await loadFixture(verificationFixture);
          const job = await v.request(v.models.optimistic);
          await v.escrow.connect(v.worker).claim(job);
          await expect(v.escrow.connect(v.verifiers[0]).challenge(job))
            .to.be.revertedWithCustomError(v.escrow, "JobEscrowInvalidStatus")
            .withArgs(job.id, JobStatus.Claimed);
        });
      });

      describe("when the result was already challenged", function () {
        it("reverts with JobEscrowInvalidStatus", async function () {
          const s = await loadFixture(optimisticChallengedFixture);
          const second = s.verifiers.find((x) => x !== s.challenger && !s.members.includes(x))!;
          await expect(s.escrow.connect(second).challenge(s.job))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidStatus")
            .withArgs(s.job.id, JobStatus.Voting);
        });
      });

      describe("when the job was settled", function () {
        it("reverts with JobEscrowInvalidStatus", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          await time.increaseTo(s.windowEnd);
          await s.escrow.settle(s.job, "0x");
          await expect(s.escrow.connect(s.verifiers[0]).challenge(s.job))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidStatus")
            .withArgs(s.job.id, JobStatus.Settled);
        });
      });

      describe("when the challenge window has closed", function () {
        it("reverts with JobEscrowChallengeWindowClosed", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          await time.increaseTo(s.windowEnd); // the challenge runs at windowEnd + 1
          await expect(s.escrow.connect(s.verifiers[0]).challenge(s.job))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowChallengeWindowClosed")
            .withArgs(s.job.id, s.windowEnd);
        });
      });

      describe("when the challenge comes in the window's last second", function () {
        it("accepts the challenge", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          await time.increaseTo(s.windowEnd - 1n); // the challenge runs at windowEnd
          await expect(s.escrow.connect(s.verifiers[0]).challenge(s.job)).to.emit(s.escrow, "ResultChallenged");
        });
      });

      describe("when the caller is the worker", function () {
        it("reverts with JobEscrowInvalidChallenger even though the worker is a staked verifier", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          await s.staking.connect(s.worker).setVerifier(true);
          expect(await s.staking.verifierWeightOf(s.worker.address)).to.be.greaterThan(0);
          await expect(s.escrow.connect(s.worker).challenge(s.job))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidChallenger")
            .withArgs(s.job.id, s.worker.address);
        });
      });

      describe("when the caller is the requester", function () {
        it("reverts with JobEscrowInvalidChallenger even though the requester is a staked verifier", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          await s.staking.connect(s.requester).stake(STAKE);
          await s.staking.connect(s.requester).setVerifier(true);
          expect(await s.staking.verifierWeightOf(s.requester.address)).to.be.greaterThan(0);
          await expect(s.escrow.connect(s.requester).challenge(s.job))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidChallenger")
            .withArgs(s.job.id, s.requester.address);
        });
      });

      describe("when the caller is not a verifier", function () {
        it("reverts with JobEscrowInvalidChallenger for an account without stake", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          await expect(s.escrow.connect(s.other).challenge(s.job))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidChallenger")
            .withArgs(s.job.id, s.other.address);
        });

        it("reverts with JobEscrowInvalidChallenger for a staker whose exit has completed", async function () {
          const v = await loadFixture(verificationFixture);
          await exitVerifiers(v.staking, [v.verifiers[0]]);
          const job = await v.request(v.models.optimistic);
          await v.escrow.connect(v.worker).submitResult(job, OUTPUT);
          await expect(v.escrow.connect(v.verifiers[0]).challenge(job))
            .to.be.revertedWithCustomError(v.escrow, "JobEscrowInvalidChallenger")
            .withArgs(job.id, v.verifiers[0].address);
        });

        it("accepts the challenge of a verifier that is leaving: it is still in the draw", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          await s.staking.connect(s.verifiers[0]).setVerifier(false);
          await expect(s.escrow.connect(s.verifiers[0]).challenge(s.job)).to.emit(s.escrow, "ResultChallenged");
          await expect(drawCommittee(s, s.job)).to.emit(s.escrow, "CommitteeDrawn");
        });
      });

      describe("when the job record does not match", function () {
        it("reverts with JobEscrowJobMismatch", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          const forged = { ...s.job, fee: BigInt(s.job.fee) + 1n };
          await expect(s.escrow.connect(s.verifiers[0]).challenge(forged))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowJobMismatch")
            .withArgs(s.job.id);
        });

        it("reverts with JobEscrowUnknownJob for an id never requested", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          await expect(s.escrow.connect(s.verifiers[0]).challenge({ ...s.job, id: 99n }))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowUnknownJob")
            .withArgs(99n);
        });
      });

      describe("when fewer than a committee of verifiers remain besides the challenger", function () {
        it("judges the challenge anyway: the draw ends the job Inconclusive, the requester refunded, the bond returned", async function () {
          const v = await loadFixture(slasherFixture);
          const job = await v.request(v.models.optimistic);
          await v.escrow.connect(v.worker).submitResult(job, OUTPUT);
          const s = { ...v, job };
          // Only slashes take verifiers out of the draw without notice.
          await s.slashOut([s.verifiers[3], s.verifiers[4]]);
          // Three verifiers are left; excluding the challenger leaves two.
          expect(await s.staking.eligibleVerifierCount()).to.equal(3);
          const challenger = s.verifiers[0];
          const bond = challengeBondFor(s.job, s.params);
          const challengeTx = await s.escrow.connect(challenger).challenge(s.job);
          await expect(challengeTx).to.emit(s.escrow, "ResultChallenged").withArgs(s.job.id, challenger.address, bond);
          await expect(challengeTx).not.to.emit(s.escrow, "JobSettled");
          const tx = await drawCommittee(s, s.job);
          await expect(tx)
            .to.emit(s.escrow, "JobSettled")
            .withArgs(
              s.job.id,
              JobOutcome.Inconclusive,
              settlementArgs(inconclusiveSettlement(s.job, { bond }, false)),
            );
          await expect(tx).not.to.emit(s.escrow, "CommitteeDrawn");
          expect((await s.escrow.jobState(s.job.id)).status).to.equal(JobStatus.Refunded);
          expect(await s.escrow.balanceOf(challenger)).to.equal(bond);
          expect((await s.staking.accountOf(s.worker.address)).locked).to.equal(0n);
          await expectConservation(s);
        });
      });

      describe("when exactly a committee of verifiers remains besides the challenger", function () {
        it("draws exactly those verifiers", async function () {
          const s = await loadFixture(slasherFixture);
          const job = await s.request(s.models.optimistic);
          await s.escrow.connect(s.worker).submitResult(job, OUTPUT);
          await s.slashOut([s.verifiers[4]]);
          await s.escrow.connect(s.verifiers[0]).challenge(job);
          await drawCommittee(s, job);
          expect(addressesOf(await membersOf(s, idOf(job)))).to.have.members(addressesOf(s.verifiers.slice(1, 4)));
        });

        it("keeps a verifier that opted out after the submission in the draw", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          await s.staking.connect(s.verifiers[3]).setVerifier(false);
          await s.staking.connect(s.verifiers[4]).setVerifier(false);
          await s.escrow.connect(s.verifiers[0]).challenge(s.job);
          await drawCommittee(s, s.job);
          expect(await membersOf(s, idOf(s.job))).to.have.lengthOf(3);
        });
      });

      describe("when a staked verifier challenges in time", function () {
        it("emits ResultChallenged with the challenger and the bond", async function () {
          const s = await loadFixture(optimisticChallengedFixture);
          await expect(s.challengeTx)
            .to.emit(s.escrow, "ResultChallenged")
            .withArgs(s.job.id, s.challenger.address, s.params.challengeBond);
        });

        it("pulls the challenge bond into the escrow", async function () {
          const s = await loadFixture(optimisticChallengedFixture);
          const bond = s.params.challengeBond;
          await expect(s.challengeTx).to.changeTokenBalances(s.token, [s.challenger, s.escrow], [-bond, bond]);
          expect(await s.escrow.challengeOf(s.job.id)).to.deep.equal([s.challenger.address, bond]);
          await expectConservation(s);
        });

        it("takes the fee as the bond when challengeBond is smaller than the fee", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          await s.escrow.connect(s.governance).setParams({ ...TEST_PARAMS, challengeBond: 1n });
          const job = await s.request(s.models.optimistic);
          await s.escrow.connect(s.worker).submitResult(job, OUTPUT);
          const fee = BigInt(job.fee);
          expect(fee).to.be.greaterThan(1n);
          const tx = await s.escrow.connect(s.verifiers[0]).challenge(job);
          await expect(tx).to.emit(s.escrow, "ResultChallenged").withArgs(job.id, s.verifiers[0].address, fee);
          await expect(tx).to.changeTokenBalances(s.token, [s.verifiers[0], s.escrow], [-fee, fee]);
          expect(await s.escrow.challengeOf(job.id)).to.deep.equal([s.verifiers[0].address, fee]);
          await expectConservation(s);
        });

        it("asks for the committee's seed: Drawing until commitWindow from now, with the source's ticket, no committee yet", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          const tx = await s.escrow.connect(s.verifiers[2]).challenge(s.job);
          const receipt = (await tx.wait())!;
          const state = await s.escrow.jobState(s.job.id);
          expect(state.status).to.equal(JobStatus.Drawing);
          expect(state.windowEnd).to.equal((await timestampOf(tx)) + s.params.commitWindow);
          expect(state.revealEnd).to.equal(receipt.blockNumber); // MockRandomness's ticket: the request's block
          expect(state.seats).to.equal(0);
          await expect(tx).not.to.emit(s.escrow, "CommitteeDrawn");
        });

        it("is drawn later, by anyone, from the seed: CommitteeDrawn with the committee, commitEnd and revealEnd", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          const challenger = s.verifiers[2];
          await s.escrow.connect(challenger).challenge(s.job);
          const predicted = await predictCommittee(s, s.job);
          expect(predicted).to.not.include(challenger.address);
          const tx = await drawCommittee(s, s.job);
          const commitEnd = (await timestampOf(tx)) + s.params.commitWindow;
          await expect(tx)
            .to.emit(s.escrow, "CommitteeDrawn")
            .withArgs(s.job.id, predicted, commitEnd, commitEnd + s.params.revealWindow);
          expect((await seatsOf(s, idOf(s.job))).map(([a]) => a)).to.deep.equal(predicted);
        });

        it("the draw moves the job to Voting with the committee's windows, every seat Drawn", async function () {
          const s = await loadFixture(optimisticChallengedFixture);
          const at = await timestampOf(s.drawTx);
          const state = await s.escrow.jobState(s.job.id);
          expect(state.status).to.equal(JobStatus.Voting);
          expect(state.windowEnd).to.equal(at + s.params.commitWindow);
          expect(state.revealEnd).to.equal(at + s.params.commitWindow + s.params.revealWindow);
          expect(state.seats).to.equal(s.job.committeeSize);
          const seats = await seatsOf(s, idOf(s.job));
          expect(seats).to.have.lengthOf(Number(s.job.committeeSize));
          expect(seats.map(([, vote]) => vote)).to.deep.equal([VoteState.Drawn, VoteState.Drawn, VoteState.Drawn]);
          expect(new Set(seats.map(([a]) => a)).size).to.equal(seats.length);
          expect(seats.map(([a]) => a)).not.to.include(s.challenger.address);
        });
      });

      describe("when the worker, the requester and the challenger are all verifiers", function () {
        it("draws the committee from everyone else", async function () {
          const v = await loadFixture(verificationFixture);
          await v.staking.connect(v.other).stake(STAKE);
          await v.staking.connect(v.other).setVerifier(true);
          const [requester, worker, challenger] = v.verifiers;
          const job = await v.request(v.models.optimistic, { from: requester });
          await v.escrow.connect(worker).submitResult(job, OUTPUT);
          await v.escrow.connect(challenger).challenge(job);
          await drawCommittee(v, job);
          expect(addressesOf(await membersOf(v, idOf(job)))).to.have.members([
            v.verifiers[3].address,
            v.verifiers[4].address,
            v.other.address,
          ]);
        });
      });
    });

    describe("#settle after a challenge", function () {
      describe("when the reveal window is open and votes are missing", function () {
        it("reverts with JobEscrowNotSettleable until revealEnd has passed", async function () {
          const s = await loadFixture(optimisticChallengedFixture);
          await expect(s.escrow.settle(s.job, "0x"))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowNotSettleable")
            .withArgs(s.job.id, JobStatus.Voting, s.revealEnd + 1n);
        });
      });

      describe("when the committee disagrees with the result (the challenger wins)", function () {
        it("rejects the job, slashes the whole collateral, refunds and compensates the requester, rewards challenger and verifiers", async function () {
          const s = await loadFixture(optimisticChallengedFixture);
          const bond = s.params.challengeBond;
          const collateral = BigInt(s.job.collateral);
          const accounts = [s.requester, s.challenger, ...s.members, s.treasury, s.worker, s.modelOwner];
          const creditsBefore = await creditsOf(s, accounts);
          const workerBefore = await s.staking.accountOf(s.worker.address);
          const expected = rejectedSettlement(s.job, s.params, 3n, collateral, { bond });

          await voteAll(s, idOf(s.job), s.members, [false, false, false]);
          const tx = await s.escrow.settle(s.job, "0x");

          await expect(tx)
            .to.emit(s.escrow, "JobSettled")
            .withArgs(s.job.id, JobOutcome.Rejected, settlementArgs(expected));
          await expect(tx)
            .to.emit(s.staking, "StakeSlashed")
            .withArgs(s.worker.address, await s.escrow.getAddress(), collateral);
          await expect(tx).not.to.emit(s.escrow, "VerifierPenalized");
          expect((await s.escrow.jobState(s.job.id)).status).to.equal(JobStatus.Rejected);

          const creditsAfter = await creditsOf(s, accounts);
          expect(creditsAfter.map((c, i) => c - creditsBefore[i])).to.deep.equal([
            BigInt(s.job.fee) + (collateral * s.params.compensationBps) / 10_000n,
            bond + expected.verifierReward,
            expected.verifierReward,
            expected.verifierReward,
            expected.verifierReward,
            expected.treasuryPayment,
            0n,
            0n,
          ]);
          const workerAfter = await s.staking.accountOf(s.worker.address);
          expect(workerAfter.active).to.equal(workerBefore.active - collateral);
          expect(workerAfter.locked).to.equal(workerBefore.locked - collateral);
          await expectConservation(s);
        });
      });

      describe("when the committee agrees with the result (the challenger loses)", function () {
        it("accepts the job and splits the forfeited bond between the worker, the agreeing verifiers and the treasury", async function () {
          const s = await loadFixture(optimisticChallengedFixture);
          const bond = s.params.challengeBond;
          const accounts = [s.worker, s.challenger, ...s.members, s.treasury, s.modelOwner, s.requester];
          const creditsBefore = await creditsOf(s, accounts);
          const expected = acceptedSettlement(s.job, s.params, 3n, { bond });
          const fee = BigInt(s.job.fee);
          // The worker gets its fee share plus the compensation share of the bond.
          expect(expected.workerPayment).to.equal(
            fee -
              (fee * BigInt(s.job.royaltyBps)) / 10_000n -
              (fee * BigInt(s.job.protocolFeeBps)) / 10_000n -
              (fee * BigInt(s.job.verifierShareBps)) / 10_000n +
              (bond * s.params.compensationBps) / 10_000n,
          );

          await voteAll(s, idOf(s.job), s.members, [true, true, true]);
          const tx = await s.escrow.settle(s.job, "0x");

          await expect(tx)
            .to.emit(s.escrow, "JobSettled")
            .withArgs(s.job.id, JobOutcome.Accepted, settlementArgs(expected));
          await expect(tx).not.to.emit(s.staking, "StakeSlashed");
          expect((await s.escrow.jobState(s.job.id)).status).to.equal(JobStatus.Settled);
          const creditsAfter = await creditsOf(s, accounts);
          expect(creditsAfter.map((c, i) => c - creditsBefore[i])).to.deep.equal([
            expected.workerPayment,
            0n,
            expected.verifierReward,
            expected.verifierReward,
            expected.verifierReward,
            expected.treasuryPayment,
            expected.royalty,
            0n,
          ]);
          expect(await s.staking.freeStakeOf(s.worker.address)).to.equal(STAKE);
          // Nothing is created or lost: fee and bond are fully distributed.
          expect(
            expected.workerPayment + expected.royalty + expected.treasuryPayment + 3n * expected.verifierReward,
          ).to.equal(fee + bond);
          await expectConservation(s);
        });
      });

      describe("when nobody on the committee reveals", function () {
        it("refunds the requester, pays the worker out of the bond, returns the rest of it and penalises every member", async function () {
          const s = await loadFixture(optimisticChallengedFixture);
          const fee = BigInt(s.job.fee);
          const bond = s.bond;
          expect(bond).to.equal(s.params.challengeBond > fee ? s.params.challengeBond : fee);
          const royalty = (fee * BigInt(s.job.royaltyBps)) / 10_000n;
          const protocolFee = (fee * BigInt(s.job.protocolFeeBps)) / 10_000n;
          const penalty = s.params.votePenalty;
          const accounts = [s.requester, s.challenger, s.worker, s.treasury, s.modelOwner, ...s.members];
          const creditsBefore = await creditsOf(s, accounts);
          const membersBefore = await activeOf(s, s.members);
          const workerBefore = await s.staking.accountOf(s.worker.address);

          await time.increaseTo(s.revealEnd);
          const tx = await s.escrow.settle(s.job, "0x");

          await expect(tx)
            .to.emit(s.escrow, "JobSettled")
            .withArgs(s.job.id, JobOutcome.Inconclusive, settlementArgs(inconclusiveSettlement(s.job, { bond })));
          for (const member of s.members) {
            await expect(tx).to.emit(s.escrow, "VerifierPenalized").withArgs(s.job.id, member.address, penalty, false);
          }
          expect((await s.escrow.jobState(s.job.id)).status).to.equal(JobStatus.Refunded);
          const creditsAfter = await creditsOf(s, accounts);
          expect(creditsAfter.map((c, i) => c - creditsBefore[i])).to.deep.equal([
            fee,
            bond - fee,
            fee - royalty - protocolFee,
            protocolFee + 3n * penalty,
            royalty,
            0n,
            0n,
            0n,
          ]);
          expect(await activeOf(s, s.members)).to.deep.equal(membersBefore.map((a) => a - penalty));
          const workerAfter = await s.staking.accountOf(s.worker.address);
          expect(workerAfter.active).to.equal(workerBefore.active);
          expect(workerAfter.locked).to.equal(0);
          await expectConservation(s);
        });
      });

      describe("when the committee splits without a majority", function () {
        it("refunds the requester, pays the worker out of the bond and penalises only the member that never revealed", async function () {
          const s = await loadFixture(optimisticChallengedFixture);
          const [agreeing, disagreeing, silent] = s.members;
          const penalty = s.params.votePenalty;
          const fee = BigInt(s.job.fee);
          const royalty = (fee * BigInt(s.job.royaltyBps)) / 10_000n;
          const protocolFee = (fee * BigInt(s.job.protocolFeeBps)) / 10_000n;
          const creditsBefore = await creditsOf(s, [s.requester, s.challenger, s.treasury, s.worker]);
          const activeBefore = await activeOf(s, s.members);

          await commitAll(s, idOf(s.job), [agreeing, disagreeing], [true, false]);
          await time.increaseTo(s.commitEnd);
          await revealAll(s, idOf(s.job), [agreeing, disagreeing], [true, false]);
          await time.increaseTo(s.revealEnd);
          const tx = await s.escrow.settle(s.job, "0x");

          await expect(tx)
            .to.emit(s.escrow, "JobSettled")
            .withArgs(
              s.job.id,
              JobOutcome.Inconclusive,
              settlementArgs(inconclusiveSettlement(s.job, { bond: s.bond })),
            );
          const penalized = await escrowEvents(s, tx, "VerifierPenalized");
          expect(penalized.map((e) => [e.verifier, e.amount, e.revealed])).to.deep.equal([
            [silent.address, penalty, false],
          ]);
          expect(await activeOf(s, s.members)).to.deep.equal([
            activeBefore[0],
            activeBefore[1],
            activeBefore[2] - penalty,
          ]);
          const creditsAfter = await creditsOf(s, [s.requester, s.challenger, s.treasury, s.worker]);
          expect(creditsAfter.map((c, i) => c - creditsBefore[i])).to.deep.equal([
            fee,
            s.bond - fee,
            protocolFee + penalty,
            fee - royalty - protocolFee,
          ]);
          expect((await s.staking.accountOf(s.worker.address)).locked).to.equal(0);
          await expectConservation(s);
        });
      });
    });
  });

  // ================================================================ Committee
  describe("Committee mode", function () {
    describe("#submitResult", function () {
      describe("when enough verifiers are eligible", function () {
        it("asks for the committee's seed: ResultSubmitted with the draw-by, status Drawing, no committee yet", async function () {
          const v = await loadFixture(verificationFixture);
          const job = await v.request(v.models.committee);
          const tx = await v.escrow.connect(v.worker).submitResult(job, OUTPUT);
          const drawBy = (await timestampOf(tx)) + v.params.commitWindow;
          await expect(tx)
            .to.emit(v.escrow, "ResultSubmitted")
            .withArgs(job.id, v.worker.address, ethers.keccak256(OUTPUT), OUTPUT, drawBy);
          await expect(tx).not.to.emit(v.escrow, "CommitteeDrawn");
          await expect(tx).not.to.emit(v.escrow, "JobSettled");
          const state = await v.escrow.jobState(job.id);
          expect([state.status, state.windowEnd, state.revealEnd, state.seats]).to.deep.equal([
            BigInt(JobStatus.Drawing),
            drawBy,
            BigInt((await tx.wait())!.blockNumber),
            0n,
          ]);
        });

        it("is drawn later, by anyone, from the seed: CommitteeDrawn with the committee, commitEnd and revealEnd", async function () {
          const v = await loadFixture(verificationFixture);
          const job = await v.request(v.models.committee);
          await v.escrow.connect(v.worker).submitResult(job, OUTPUT);
          const predicted = await predictCommittee(v, job);
          const tx = await drawCommittee(v, job);
          const commitEnd = (await timestampOf(tx)) + v.params.commitWindow;
          await expect(tx)
            .to.emit(v.escrow, "CommitteeDrawn")
            .withArgs(job.id, predicted, commitEnd, commitEnd + v.params.revealWindow);
          await expect(tx).not.to.emit(v.escrow, "JobSettled");
        });

        it("the draw opens voting: status Voting, commit and reveal windows, three seats all Drawn", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const at = await timestampOf(s.drawTx);
          const state = await s.escrow.jobState(s.job.id);
          expect(state.status).to.equal(JobStatus.Voting);
          expect(state.windowEnd).to.equal(at + s.params.commitWindow);
          expect(state.revealEnd).to.equal(at + s.params.commitWindow + s.params.revealWindow);
          expect(state.seats).to.equal(3);
          const seats = await seatsOf(s, idOf(s.job));
          expect(seats).to.have.lengthOf(3);
          expect(seats.map(([, vote]) => vote)).to.deep.equal([VoteState.Drawn, VoteState.Drawn, VoteState.Drawn]);
          expect(new Set(seats.map(([a]) => a)).size).to.equal(3);
          expect(addressesOf(s.verifiers)).to.include.members(seats.map(([a]) => a));
          expect((await s.staking.accountOf(s.worker.address)).locked).to.equal(s.job.collateral);
        });

        it("draws three distinct verifiers, never the worker or the requester, whatever the seed", async function () {
          const v = await loadFixture(verificationFixture);
          await v.staking.connect(v.other).stake(STAKE);
          await v.staking.connect(v.other).setVerifier(true);
          const [requester, worker] = v.verifiers;
          for (let seed = 1; seed <= 10; ++seed) {
            await v.randomness.setSeed(seed);
            const job = await v.request(v.models.committee, { from: requester });
            await v.escrow.connect(worker).submitResult(job, OUTPUT);
            await drawCommittee(v, job);
            const drawn = (await seatsOf(v, idOf(job))).map(([a]) => a);
            expect(drawn).to.have.lengthOf(3);
            expect(new Set(drawn).size).to.equal(3);
            expect(drawn).not.to.include(requester.address);
            expect(drawn).not.to.include(worker.address);
          }
        });

        it("never draws the model's owner, who earns a royalty when the output is accepted, whatever the seed", async function () {
          const v = await loadFixture(verificationFixture);
          // The owner stakes and opts in: with the worker excluded, five verifiers and the owner are eligible.
          await v.token.connect(v.other).transfer(v.modelOwner, STAKE);
          await v.token.connect(v.modelOwner).approve(v.staking, STAKE);
          await v.staking.connect(v.modelOwner).stake(STAKE);
          await v.staking.connect(v.modelOwner).setVerifier(true);
          const seen = new Set<string>();
          for (let seed = 1; seed <= 12; ++seed) {
            await v.randomness.setSeed(seed);
            const job = await v.request(v.models.committee);
            await v.escrow.connect(v.worker).submitResult(job, OUTPUT);
            await drawCommittee(v, job);
            const drawn = (await seatsOf(v, idOf(job))).map(([a]) => a);
            drawn.forEach((a) => seen.add(a));
            expect(drawn).not.to.include(v.modelOwner.address);
          }
          // Everyone else eligible was drawn at some point, so the owner's absence is the exclusion, not luck.
          expect([...seen]).to.have.members(addressesOf(v.verifiers));
          // Excluded from a challenge's committee too.
          await v.randomness.setSeed(99);
          const job = await v.request(v.models.optimistic);
          await v.escrow.connect(v.worker).submitResult(job, OUTPUT);
          await v.escrow.connect(v.verifiers[0]).challenge(job);
          await drawCommittee(v, job);
          expect(addressesOf(await membersOf(v, idOf(job)))).not.to.include(v.modelOwner.address);
        });
      });

      describe("when fewer verifiers than the committee size are eligible", function () {
        it("refuses a submission that claims the job: JobEscrowNotEnoughVerifiers, the job stays Requested", async function () {
          const v = await loadFixture(verificationFixture);
          await exitVerifiers(v.staking, v.verifiers.slice(2));
          const job = await v.request(v.models.committee);
          await expect(v.escrow.connect(v.worker).submitResult(job, OUTPUT))
            .to.be.revertedWithCustomError(v.escrow, "JobEscrowNotEnoughVerifiers")
            .withArgs(job.id, 2, 3);
          expect((await v.escrow.jobState(job.id)).status).to.equal(JobStatus.Requested);
          expect(await v.escrow.outputHash(job.id)).to.equal(ethers.ZeroHash);
        });

        it("refuses the claim: JobEscrowNotEnoughVerifiers with how many are eligible and needed", async function () {
          const v = await loadFixture(verificationFixture);
          await exitVerifiers(v.staking, v.verifiers.slice(2));
          const job = await v.request(v.models.committee);
          await expect(v.escrow.connect(v.worker).claim(job))
            .to.be.revertedWithCustomError(v.escrow, "JobEscrowNotEnoughVerifiers")
            .withArgs(job.id, 2, 3);
        });

        it("refuses the claim when verifiers that would make up the committee are leaving: they are not counted", async function () {
          const v = await loadFixture(verificationFixture);
          for (const verifier of v.verifiers.slice(2)) await v.staking.connect(verifier).setVerifier(false);
          expect(await v.staking.eligibleVerifierCount()).to.equal(5);
          const job = await v.request(v.models.committee);
          await expect(v.escrow.connect(v.worker).claim(job))
            .to.be.revertedWithCustomError(v.escrow, "JobEscrowNotEnoughVerifiers")
            .withArgs(job.id, 2, 3);
        });

        it("keeps verifiers that opt out after the claim in the draw: the committee is drawn", async function () {
          const v = await loadFixture(verificationFixture);
          const job = await v.request(v.models.committee);
          await v.escrow.connect(v.worker).claim(job);
          for (const verifier of v.verifiers.slice(2)) await v.staking.connect(verifier).setVerifier(false);
          await v.escrow.connect(v.worker).submitResult(job, OUTPUT);
          await expect(drawCommittee(v, job)).to.emit(v.escrow, "CommitteeDrawn");
          expect((await v.escrow.jobState(job.id)).status).to.equal(JobStatus.Voting);
        });

        it("refunds a job claimed before verifiers were slashed out of the draw as Inconclusive at the draw and unlocks the collateral", async function () {
          const v = await loadFixture(slasherFixture);
          const job = await v.request(v.models.committee);
          await v.escrow.connect(v.worker).claim(job);
          await v.slashOut(v.verifiers.slice(2));
          await expect(v.escrow.connect(v.worker).submitResult(job, OUTPUT)).not.to.emit(v.escrow, "JobSettled");
          const tx = await drawCommittee(v, job);

          await expect(tx)
            .to.emit(v.escrow, "JobSettled")
            .withArgs(job.id, JobOutcome.Inconclusive, settlementArgs(inconclusiveSettlement(job)));
          await expect(tx).not.to.emit(v.escrow, "CommitteeDrawn");
          await expect(tx).not.to.emit(v.escrow, "VerifierPenalized");
          await expect(tx).to.emit(v.staking, "StakeUnlocked").withArgs(v.worker.address, job.collateral);
          expect((await v.escrow.jobState(job.id)).status).to.equal(JobStatus.Refunded);
          expect(await v.escrow.committee(job.id)).to.have.lengthOf(0);
          expect(await v.escrow.balanceOf(v.requester.address)).to.equal(job.fee);
          expect(await v.escrow.balanceOf(v.worker.address)).to.equal(0);
          expect(await v.staking.freeStakeOf(v.worker.address)).to.equal(STAKE);
          await expectConservation(v);
        });
      });

      describe("when the worker, requester and model owner are verifiers too", function () {
        it("counts only the others: a claim needs the committee size besides them, one more for Optimistic", async function () {
          const v = await loadFixture(verificationFixture);
          // Five verifiers; the three parties of the job become verifiers as well and must not be counted.
          for (const party of [v.worker, v.requester, v.modelOwner]) {
            if ((await v.staking.accountOf(party.address)).active === 0n) {
              await v.token.connect(v.governance).mint(party.address, STAKE);
              await v.token.connect(party).approve(v.staking, STAKE);
              await v.staking.connect(party).stake(STAKE);
            }
            await v.staking.connect(party).setVerifier(true);
          }
          expect(await v.staking.eligibleVerifierCount()).to.equal(8);
          const parties = [v.worker.address, v.requester.address, v.modelOwner.address];
          expect(await v.staking.eligibleVerifiersExcluding(parties)).to.equal(5);
          // Repeated or unknown addresses are not subtracted twice.
          expect(await v.staking.eligibleVerifiersExcluding([...parties, v.worker.address, v.other.address])).to.equal(
            5,
          );
          await exitVerifiers(v.staking, v.verifiers.slice(3));
          const committeeJob = await v.request(v.models.committee);
          await v.escrow.connect(v.worker).claim(committeeJob); // 3 besides them: enough
          const optimisticJob = await v.request(v.models.optimistic);
          await expect(v.escrow.connect(v.worker).claim(optimisticJob))
            .to.be.revertedWithCustomError(v.escrow, "JobEscrowNotEnoughVerifiers")
            .withArgs(optimisticJob.id, 3, 4);
          await expect(v.escrow.connect(v.worker).submitResult(optimisticJob, OUTPUT))
            .to.be.revertedWithCustomError(v.escrow, "JobEscrowNotEnoughVerifiers")
            .withArgs(optimisticJob.id, 3, 4);
          await v.staking.connect(v.verifiers[3]).setVerifier(true);
          await v.escrow.connect(v.worker).submitResult(optimisticJob, OUTPUT);
          expect((await v.escrow.jobState(optimisticJob.id)).status).to.equal(JobStatus.Submitted);
        });
      });

      describe("when exactly the committee size of verifiers is eligible", function () {
        it("draws all of them", async function () {
          const v = await loadFixture(verificationFixture);
          await exitVerifiers(v.staking, v.verifiers.slice(3));
          const job = await v.request(v.models.committee);
          await v.escrow.connect(v.worker).submitResult(job, OUTPUT);
          await drawCommittee(v, job);
          expect((await v.escrow.jobState(job.id)).status).to.equal(JobStatus.Voting);
          expect(addressesOf(await membersOf(v, idOf(job)))).to.have.members(addressesOf(v.verifiers.slice(0, 3)));
        });
      });
    });

    describe("#voteCommitment and #sealCommitment", function () {
      it("match the off-chain helpers in packages/sdk/src/votes.ts", async function () {
        const s = await loadFixture(committeeVotingFixture);
        const member = s.members[1].address;
        const salt = saltOf(idOf(s.job), member);
        const c = voteCommitment(s.job.id, member, false, salt);
        expect(await s.escrow.voteCommitment(s.job.id, member, false, salt)).to.equal(c);
        expect(await s.escrow.voteCommitment(s.job.id, member, true, salt)).not.to.equal(c);
        expect(await s.escrow.sealCommitment(2, c)).to.equal(sealCommitment(2, c));
        expect(sealCommitment(1, c)).not.to.equal(sealCommitment(2, c));
      });
    });

    describe("#commitVote", function () {
      describe("when the commitment is zero", function () {
        it("reverts with JobEscrowZeroCommitment", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const seat = await seatOf(s, idOf(s.job), s.members[0].address);
          await expect(
            s.escrow.connect(s.members[0]).commitVote(s.job.id, seat, ethers.ZeroHash),
          ).to.be.revertedWithCustomError(s.escrow, "JobEscrowZeroCommitment");
        });
      });

      describe("when the job does not exist", function () {
        it("reverts with JobEscrowUnknownJob", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await expect(s.escrow.connect(s.members[0]).commitVote(99n, 0, ethers.id("c")))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowUnknownJob")
            .withArgs(99n);
        });
      });

      describe("when the job is not being voted on", function () {
        it("reverts with JobEscrowInvalidStatus for a requested committee job", async function () {
          const v = await loadFixture(verificationFixture);
          const job = await v.request(v.models.committee);
          await expect(v.escrow.connect(v.verifiers[0]).commitVote(job.id, 0, ethers.id("c")))
            .to.be.revertedWithCustomError(v.escrow, "JobEscrowInvalidStatus")
            .withArgs(job.id, JobStatus.Requested);
        });

        it("reverts with JobEscrowInvalidStatus for an unchallenged optimistic job", async function () {
          const s = await loadFixture(optimisticSubmittedFixture);
          await expect(s.escrow.connect(s.verifiers[0]).commitVote(s.job.id, 0, ethers.id("c")))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidStatus")
            .withArgs(s.job.id, JobStatus.Submitted);
        });

        it("reverts with JobEscrowInvalidStatus for a settled job", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const seat = await seatOf(s, idOf(s.job), s.members[0].address);
          await time.increaseTo(s.revealEnd);
          await s.escrow.settle(s.job, "0x");
          await expect(s.escrow.connect(s.members[0]).commitVote(s.job.id, seat, ethers.id("c")))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidStatus")
            .withArgs(s.job.id, JobStatus.Refunded);
        });
      });

      describe("when the commit window has closed", function () {
        it("reverts with JobEscrowCommitWindowClosed", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await time.increaseTo(s.commitEnd); // the commit runs at commitEnd + 1
          await expect(commitAs(s, idOf(s.job), s.members[0], true))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowCommitWindowClosed")
            .withArgs(s.job.id, s.commitEnd);
        });

        it("still accepts a commit in the window's last second", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const seat = await seatOf(s, idOf(s.job), s.members[0].address);
          const c = await commitmentOf(s, idOf(s.job), s.members[0].address, true);
          await time.increaseTo(s.commitEnd - 1n);
          await expect(s.escrow.connect(s.members[0]).commitVote(s.job.id, seat, c)).to.emit(s.escrow, "VoteCommitted");
        });
      });

      describe("when the caller holds no seat", function () {
        it("reverts with JobEscrowNotCommitteeMember for a verifier left out of the draw", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const outsider = s.verifiers.find((x) => !s.members.includes(x))!;
          await expect(s.escrow.connect(outsider).commitVote(s.job.id, 0, ethers.id("c")))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowNotCommitteeMember")
            .withArgs(s.job.id, outsider.address, 0);
        });

        it("reverts with JobEscrowNotCommitteeMember for the worker", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await expect(s.escrow.connect(s.worker).commitVote(s.job.id, 1, ethers.id("c")))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowNotCommitteeMember")
            .withArgs(s.job.id, s.worker.address, 1);
        });
      });

      describe("when the seat index is not the caller's", function () {
        it("reverts with JobEscrowNotCommitteeMember for another member's seat and leaves that seat Drawn", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const [member, other] = s.members;
          const otherSeat = await seatOf(s, idOf(s.job), other.address);
          const c = await commitmentOf(s, idOf(s.job), member.address, true);
          await expect(s.escrow.connect(member).commitVote(s.job.id, otherSeat, c))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowNotCommitteeMember")
            .withArgs(s.job.id, member.address, otherSeat);
          expect((await seatsOf(s, idOf(s.job))).map(([, vote]) => vote)).to.deep.equal([
            VoteState.Drawn,
            VoteState.Drawn,
            VoteState.Drawn,
          ]);
        });

        it("reverts with JobEscrowNotCommitteeMember for a seat past the committee", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const member = s.members[0];
          const c = await commitmentOf(s, idOf(s.job), member.address, true);
          const size = BigInt(s.job.committeeSize);
          await expect(s.escrow.connect(member).commitVote(s.job.id, size, c))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowNotCommitteeMember")
            .withArgs(s.job.id, member.address, size);
        });
      });

      describe("when the seat has already committed", function () {
        it("reverts with JobEscrowInvalidVoteState", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const member = s.members[1];
          await commitAll(s, idOf(s.job), [member], [true]);
          await expect(commitAs(s, idOf(s.job), member, false))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidVoteState")
            .withArgs(s.job.id, member.address, VoteState.Committed);
        });

        it("reverts with JobEscrowInvalidVoteState after the seat revealed", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await commitAll(s, idOf(s.job), s.members, [true, true, true]);
          await revealAll(s, idOf(s.job), [s.members[0]], [true]);
          await expect(commitAs(s, idOf(s.job), s.members[0], false))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidVoteState")
            .withArgs(s.job.id, s.members[0].address, VoteState.Agreed);
        });
      });

      describe("when a member commits in time", function () {
        it("emits VoteCommitted with its seat and the commitment", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const member = s.members[0];
          const seat = await seatOf(s, idOf(s.job), member.address);
          const c = await commitmentOf(s, idOf(s.job), member.address, true);
          await expect(s.escrow.connect(member).commitVote(s.job.id, seat, c))
            .to.emit(s.escrow, "VoteCommitted")
            .withArgs(s.job.id, member.address, seat, c);
          expect(await sealedCommitments(s.escrow, s.job.id)).to.deep.equal([sealCommitment(seat, c)]);
        });

        it("seals the commitments in commit order, which a reveal must pass back", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const order = [s.members[2], s.members[0], s.members[1]];
          const agrees = [false, true, true];
          await commitAll(s, idOf(s.job), order, agrees);
          const expected = [];
          for (let i = 0; i < order.length; ++i) {
            const seat = await seatOf(s, idOf(s.job), order[i].address);
            expected.push(sealCommitment(seat, await commitmentOf(s, idOf(s.job), order[i].address, agrees[i])));
          }
          expect(await sealedCommitments(s.escrow, s.job.id)).to.deep.equal(expected);
          await expect(revealAs(s, idOf(s.job), order[0], false, undefined, expected))
            .to.emit(s.escrow, "VoteRevealed")
            .withArgs(s.job.id, order[0].address, false);
        });

        it("marks only that seat Committed, for every seat position", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const addresses = addressesOf(s.members);
          const expected: number[] = [VoteState.Drawn, VoteState.Drawn, VoteState.Drawn];
          for (const i of [2, 0, 1]) {
            await commitAll(s, idOf(s.job), [s.members[i]], [i !== 1]);
            expected[i] = VoteState.Committed;
            expect(await seatsOf(s, idOf(s.job))).to.deep.equal(addresses.map((a, k) => [a, expected[k]]));
          }
        });
      });
    });

    describe("#revealVote", function () {
      describe("when the commit window is open and a seat has not committed", function () {
        it("reverts with JobEscrowRevealNotOpen", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await commitAll(s, idOf(s.job), s.members.slice(0, 2), [true, true]);
          await expect(revealAs(s, idOf(s.job), s.members[0], true))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowRevealNotOpen")
            .withArgs(s.job.id, s.commitEnd);
        });
      });

      describe("when the commit window has closed", function () {
        it("accepts a reveal although a seat never committed", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await commitAll(s, idOf(s.job), s.members.slice(0, 2), [true, true]);
          await time.increaseTo(s.commitEnd);
          await expect(revealAs(s, idOf(s.job), s.members[0], true))
            .to.emit(s.escrow, "VoteRevealed")
            .withArgs(s.job.id, s.members[0].address, true);
        });
      });

      describe("when every seat has committed before the commit window closes", function () {
        it("opens reveals early", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await commitAll(s, idOf(s.job), s.members, [true, false, true]);
          const tx = await revealAs(s, idOf(s.job), s.members[1], false);
          expect(await timestampOf(tx)).to.be.lessThanOrEqual(s.commitEnd);
          await expect(tx).to.emit(s.escrow, "VoteRevealed").withArgs(s.job.id, s.members[1].address, false);
        });
      });

      describe("when the reveal does not match the commitment", function () {
        it("reverts with JobEscrowCommitmentMismatch for a wrong salt", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await commitAll(s, idOf(s.job), s.members, [true, true, true]);
          await expect(revealAs(s, idOf(s.job), s.members[0], true, ethers.id("wrong salt")))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowCommitmentMismatch")
            .withArgs(s.job.id, s.members[0].address);
        });

        it("reverts with JobEscrowCommitmentMismatch for a flipped vote", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await commitAll(s, idOf(s.job), s.members, [true, true, true]);
          await expect(revealAs(s, idOf(s.job), s.members[0], false))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowCommitmentMismatch")
            .withArgs(s.job.id, s.members[0].address);
        });

        it("reverts with JobEscrowCommitmentMismatch when a member replays another member's commitment", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const [copier, original, third] = s.members;
          await commitAll(s, idOf(s.job), [original, third], [true, true]);
          const [committed] = await s.escrow.queryFilter(s.escrow.filters.VoteCommitted(s.job.id, original.address));
          const copied = committed.args.commitment;
          await s.escrow.connect(copier).commitVote(s.job.id, await seatOf(s, idOf(s.job), copier.address), copied);
          // The copier learns the original's vote and salt, yet the commitment binds the original's address.
          await expect(revealAs(s, idOf(s.job), copier, true, saltOf(idOf(s.job), original.address)))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowCommitmentMismatch")
            .withArgs(s.job.id, copier.address);
        });

        it("reverts with JobEscrowCommitmentMismatch when a seat opens a commitment another seat made for it", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const [member, accomplice, third] = s.members;
          const hedge = ethers.id("hedge");
          // The accomplice commits, in its own seat, the opposite vote bound to the member's address, so that the
          // member could pick either vote once the others have revealed: the seal binds each commitment to a seat.
          const forMember = voteCommitment(s.job.id, member.address, false, hedge);
          await s.escrow
            .connect(accomplice)
            .commitVote(s.job.id, await seatOf(s, idOf(s.job), accomplice.address), forMember);
          await commitAll(s, idOf(s.job), [member, third], [true, true]);
          await expect(revealAs(s, idOf(s.job), member, false, hedge))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowCommitmentMismatch")
            .withArgs(s.job.id, member.address);
          await expect(revealAs(s, idOf(s.job), member, true))
            .to.emit(s.escrow, "VoteRevealed")
            .withArgs(s.job.id, member.address, true);
        });

        it("reverts with JobEscrowCommitmentMismatch when a commitment from another job is replayed", async function () {
          const s = await loadFixture(sharedVerifierFixture);
          const [a, b] = s.jobs;
          const salt = saltOf(idOf(a.job), s.shared.address);
          const fromJobA = await commitmentOf(s, idOf(a.job), s.shared.address, true, salt);
          await s.escrow
            .connect(s.shared)
            .commitVote(b.job.id, await seatOf(s, idOf(b.job), s.shared.address), fromJobA);
          const others = b.members.filter((m) => m !== s.shared);
          await commitAll(s, idOf(b.job), others, [true, true]);
          await expect(revealAs(s, idOf(b.job), s.shared, true, salt))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowCommitmentMismatch")
            .withArgs(b.job.id, s.shared.address);
        });
      });

      describe("when the sealed commitments are not exactly the job's, in commit order", function () {
        /** Every member commits to agree; returns the job's sealed commitments. */
        async function committed(s: Awaited<ReturnType<typeof committeeVotingFixture>>): Promise<string[]> {
          await commitAll(s, idOf(s.job), s.members, [true, true, true]);
          const sealed = await sealedCommitments(s.escrow, s.job.id);
          expect(sealed).to.have.lengthOf(3);
          return sealed;
        }

        const cases: [string, (sealed: string[]) => string[]][] = [
          ["one of them is wrong", (sealed) => [sealed[0], ethers.id("forged"), sealed[2]]],
          ["the last is missing", (sealed) => sealed.slice(0, 2)],
          ["only the caller's own is given", (sealed) => [sealed[0]]],
          ["they are reordered", (sealed) => [sealed[1], sealed[0], sealed[2]]],
          ["one is repeated", (sealed) => [...sealed, sealed[0]]],
          ["none are given", () => []],
        ];
        for (const [when, tamper] of cases) {
          it(`reverts with JobEscrowCommitmentsMismatch when ${when}`, async function () {
            const s = await loadFixture(committeeVotingFixture);
            const sealed = await committed(s);
            await expect(revealAs(s, idOf(s.job), s.members[0], true, undefined, tamper(sealed)))
              .to.be.revertedWithCustomError(s.escrow, "JobEscrowCommitmentsMismatch")
              .withArgs(s.job.id);
          });
        }

        it("reverts with JobEscrowCommitmentsMismatch for the unsealed commitments", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await committed(s);
          const events = await s.escrow.queryFilter(s.escrow.filters.VoteCommitted(s.job.id));
          const unsealed = events.map((e) => e.args.commitment);
          await expect(revealAs(s, idOf(s.job), s.members[0], true, undefined, unsealed))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowCommitmentsMismatch")
            .withArgs(s.job.id);
        });

        it("reverts with JobEscrowCommitmentsMismatch for another job's sealed commitments", async function () {
          const s = await loadFixture(sharedVerifierFixture);
          const [a, b] = s.jobs;
          await commitAll(s, idOf(a.job), a.members, [true, true, true]);
          await commitAll(s, idOf(b.job), b.members, [true, true, true]);
          const fromJobA = await sealedCommitments(s.escrow, a.job.id);
          await expect(revealAs(s, idOf(b.job), s.shared, true, undefined, fromJobA))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowCommitmentsMismatch")
            .withArgs(b.job.id);
        });

        it("leaves the seat Committed so that the right list still reveals", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const sealed = await committed(s);
          await expect(
            revealAs(s, idOf(s.job), s.members[0], true, undefined, sealed.slice(1)),
          ).to.be.revertedWithCustomError(s.escrow, "JobEscrowCommitmentsMismatch");
          expect((await seatsOf(s, idOf(s.job)))[0][1]).to.equal(VoteState.Committed);
          await expect(revealAs(s, idOf(s.job), s.members[0], true, undefined, sealed))
            .to.emit(s.escrow, "VoteRevealed")
            .withArgs(s.job.id, s.members[0].address, true);
        });
      });

      describe("when the reveal window has closed", function () {
        it("reverts with JobEscrowRevealWindowClosed", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await commitAll(s, idOf(s.job), s.members, [true, true, true]);
          await time.increaseTo(s.revealEnd); // the reveal runs at revealEnd + 1
          await expect(revealAs(s, idOf(s.job), s.members[0], true))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowRevealWindowClosed")
            .withArgs(s.job.id, s.revealEnd);
        });

        it("still accepts a reveal in the window's last second", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await commitAll(s, idOf(s.job), s.members, [true, true, true]);
          const seat = await seatOf(s, idOf(s.job), s.members[0].address);
          const sealed = await sealedCommitments(s.escrow, s.job.id);
          await time.increaseTo(s.revealEnd - 1n);
          await expect(
            s.escrow
              .connect(s.members[0])
              .revealVote(s.job.id, seat, true, saltOf(idOf(s.job), s.members[0].address), sealed),
          ).to.emit(s.escrow, "VoteRevealed");
        });
      });

      describe("when the seat never committed", function () {
        it("reverts with JobEscrowInvalidVoteState", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await commitAll(s, idOf(s.job), s.members.slice(0, 2), [true, true]);
          await time.increaseTo(s.commitEnd);
          const silent = s.members[2];
          await expect(revealAs(s, idOf(s.job), silent, true))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidVoteState")
            .withArgs(s.job.id, silent.address, VoteState.Drawn);
        });
      });

      describe("when the seat already revealed", function () {
        it("reverts with JobEscrowInvalidVoteState", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await commitAll(s, idOf(s.job), s.members, [true, false, true]);
          await revealAll(s, idOf(s.job), [s.members[1]], [false]);
          await expect(revealAs(s, idOf(s.job), s.members[1], false))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidVoteState")
            .withArgs(s.job.id, s.members[1].address, VoteState.Disagreed);
        });
      });

      describe("when the caller holds no seat", function () {
        it("reverts with JobEscrowNotCommitteeMember", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await commitAll(s, idOf(s.job), s.members, [true, true, true]);
          const outsider = s.verifiers.find((x) => !s.members.includes(x))!;
          const sealed = await sealedCommitments(s.escrow, s.job.id);
          await expect(s.escrow.connect(outsider).revealVote(s.job.id, 0, true, ethers.id("salt"), sealed))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowNotCommitteeMember")
            .withArgs(s.job.id, outsider.address, 0);
        });
      });

      describe("when the seat index is not the caller's", function () {
        it("reverts with JobEscrowNotCommitteeMember for another member's seat", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await commitAll(s, idOf(s.job), s.members, [true, true, true]);
          const [member, other] = s.members;
          const otherSeat = await seatOf(s, idOf(s.job), other.address);
          const sealed = await sealedCommitments(s.escrow, s.job.id);
          const salt = saltOf(idOf(s.job), member.address);
          await expect(s.escrow.connect(member).revealVote(s.job.id, otherSeat, true, salt, sealed))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowNotCommitteeMember")
            .withArgs(s.job.id, member.address, otherSeat);
        });

        it("reverts with JobEscrowNotCommitteeMember for a seat past the committee", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await commitAll(s, idOf(s.job), s.members, [true, true, true]);
          const member = s.members[0];
          const size = BigInt(s.job.committeeSize);
          const sealed = await sealedCommitments(s.escrow, s.job.id);
          const salt = saltOf(idOf(s.job), member.address);
          await expect(s.escrow.connect(member).revealVote(s.job.id, size, true, salt, sealed))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowNotCommitteeMember")
            .withArgs(s.job.id, member.address, size);
        });
      });

      describe("when a member reveals what it committed", function () {
        it("emits VoteRevealed, records the vote and leaves the sealed commitments valid for the others", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const addresses = addressesOf(s.members);
          await commitAll(s, idOf(s.job), s.members, [true, false, true]);
          expect(await seatsOf(s, idOf(s.job))).to.deep.equal(addresses.map((a) => [a, VoteState.Committed]));
          const sealed = await sealedCommitments(s.escrow, s.job.id);

          await expect(revealAs(s, idOf(s.job), s.members[0], true, undefined, sealed))
            .to.emit(s.escrow, "VoteRevealed")
            .withArgs(s.job.id, s.members[0].address, true);
          await expect(revealAs(s, idOf(s.job), s.members[1], false, undefined, sealed))
            .to.emit(s.escrow, "VoteRevealed")
            .withArgs(s.job.id, s.members[1].address, false);

          expect(await seatsOf(s, idOf(s.job))).to.deep.equal([
            [addresses[0], VoteState.Agreed],
            [addresses[1], VoteState.Disagreed],
            [addresses[2], VoteState.Committed],
          ]);
          // Reveals do not touch the running hash: the list read before them still opens the last seat.
          await expect(revealAs(s, idOf(s.job), s.members[2], true, undefined, sealed))
            .to.emit(s.escrow, "VoteRevealed")
            .withArgs(s.job.id, s.members[2].address, true);
          expect((await seatsOf(s, idOf(s.job)))[2]).to.deep.equal([addresses[2], VoteState.Agreed]);
        });

        it("shows Agreed, Disagreed and Drawn side by side once the commit window closed", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const addresses = addressesOf(s.members);
          await commitAll(s, idOf(s.job), [s.members[2], s.members[0]], [false, true]);
          await time.increaseTo(s.commitEnd);
          await revealAll(s, idOf(s.job), [s.members[2], s.members[0]], [false, true]);
          expect(await seatsOf(s, idOf(s.job))).to.deep.equal([
            [addresses[0], VoteState.Agreed],
            [addresses[1], VoteState.Drawn],
            [addresses[2], VoteState.Disagreed],
          ]);
        });
      });
    });

    describe("#commitVotes", function () {
      /** The seats `shared` holds on each of the fixture's jobs. */
      async function sharedSeats(s: Awaited<ReturnType<typeof sharedVerifierFixture>>, ids: bigint[]) {
        return Promise.all(ids.map((id) => seatOf(s, id, s.shared.address)));
      }

      describe("when the arrays are empty", function () {
        it("reverts with JobEscrowInvalidBatch", async function () {
          const s = await loadFixture(sharedVerifierFixture);
          await expect(s.escrow.connect(s.shared).commitVotes([], [], []))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidBatch")
            .withArgs(0, 0);
        });
      });

      describe("when the arrays differ in length", function () {
        it("reverts with JobEscrowInvalidBatch for too few commitments", async function () {
          const s = await loadFixture(sharedVerifierFixture);
          const ids = s.jobs.slice(0, 2).map((j) => idOf(j.job));
          const seats = await sharedSeats(s, ids);
          const c = await commitmentOf(s, ids[0], s.shared.address, true);
          await expect(s.escrow.connect(s.shared).commitVotes(ids, seats, [c]))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidBatch")
            .withArgs(2, 1);
        });

        it("reverts with JobEscrowInvalidBatch for too few seats", async function () {
          const s = await loadFixture(sharedVerifierFixture);
          const ids = s.jobs.slice(0, 2).map((j) => idOf(j.job));
          const seats = await sharedSeats(s, ids);
          const commitments = await Promise.all(ids.map((id) => commitmentOf(s, id, s.shared.address, true)));
          await expect(s.escrow.connect(s.shared).commitVotes(ids, seats.slice(1), commitments))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidBatch")
            .withArgs(2, 1);
        });
      });

      describe("when one item is invalid", function () {
        it("reverts the whole batch", async function () {
          const s = await loadFixture(sharedVerifierFixture);
          const ids = s.jobs.map((j) => idOf(j.job));
          const seats = await sharedSeats(s, ids);
          const commitments = await Promise.all(ids.map((id) => commitmentOf(s, id, s.shared.address, true)));
          commitments[2] = ethers.ZeroHash;
          await expect(s.escrow.connect(s.shared).commitVotes(ids, seats, commitments)).to.be.revertedWithCustomError(
            s.escrow,
            "JobEscrowZeroCommitment",
          );
          for (const id of ids) {
            expect(await sealedCommitments(s.escrow, id)).to.deep.equal([]);
            const seat = (await seatsOf(s, id)).find(([a]) => a === s.shared.address)!;
            expect(seat[1]).to.equal(VoteState.Drawn);
          }
        });

        it("reverts with JobEscrowNotCommitteeMember for a seat that is not the caller's", async function () {
          const s = await loadFixture(sharedVerifierFixture);
          const ids = s.jobs.map((j) => idOf(j.job));
          const seats = await sharedSeats(s, ids);
          const commitments = await Promise.all(ids.map((id) => commitmentOf(s, id, s.shared.address, true)));
          const wrong = (seats[1] + 1) % Number(s.jobs[1].job.committeeSize);
          seats[1] = wrong;
          await expect(s.escrow.connect(s.shared).commitVotes(ids, seats, commitments))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowNotCommitteeMember")
            .withArgs(ids[1], s.shared.address, wrong);
          expect(await sealedCommitments(s.escrow, ids[0])).to.deep.equal([]);
        });
      });

      describe("when a verifier commits on every committee it sits on", function () {
        it("commits each vote in its seat and emits VoteCommitted for each job", async function () {
          const s = await loadFixture(sharedVerifierFixture);
          const ids = s.jobs.map((j) => idOf(j.job));
          const seats = await sharedSeats(s, ids);
          const agrees = [true, false, true];
          const commitments = await Promise.all(ids.map((id, i) => commitmentOf(s, id, s.shared.address, agrees[i])));
          const tx = await s.escrow.connect(s.shared).commitVotes(ids, seats, commitments);
          for (let i = 0; i < ids.length; ++i) {
            await expect(tx)
              .to.emit(s.escrow, "VoteCommitted")
              .withArgs(ids[i], s.shared.address, seats[i], commitments[i]);
            expect(await sealedCommitments(s.escrow, ids[i])).to.deep.equal([sealCommitment(seats[i], commitments[i])]);
            const seat = (await seatsOf(s, ids[i])).find(([a]) => a === s.shared.address)!;
            expect(seat[1]).to.equal(VoteState.Committed);
          }
        });
      });
    });

    describe("#revealVotes", function () {
      type Shared = Awaited<ReturnType<typeof sharedVerifierFixture>>;

      /** Every seat of every job commits; `shared` commits `agrees[i]` on job i, the others agree. */
      async function commitEverywhere(s: Shared, agrees: boolean[]) {
        for (let i = 0; i < s.jobs.length; ++i) {
          const { job, members } = s.jobs[i];
          await commitAll(
            s,
            idOf(job),
            members,
            members.map((m) => (m === s.shared ? agrees[i] : true)),
          );
        }
      }

      /** The arguments of `shared`'s reveal on every job, in `revealVotes` order. */
      async function revealArgs(s: Shared, agrees: boolean[]) {
        const ids = s.jobs.map((j) => idOf(j.job));
        const seats = await Promise.all(ids.map((id) => seatOf(s, id, s.shared.address)));
        const salts = ids.map((id) => saltOf(id, s.shared.address));
        const sealed = await Promise.all(ids.map((id) => sealedCommitments(s.escrow, id)));
        return { ids, seats, agrees, salts, sealed };
      }

      describe("when the arrays are empty", function () {
        it("reverts with JobEscrowInvalidBatch", async function () {
          const s = await loadFixture(sharedVerifierFixture);
          await expect(s.escrow.connect(s.shared).revealVotes([], [], [], [], []))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidBatch")
            .withArgs(0, 0);
        });
      });

      describe("when the arrays differ in length", function () {
        it("reverts with JobEscrowInvalidBatch for too few seats", async function () {
          const s = await loadFixture(sharedVerifierFixture);
          const r = await revealArgs(s, [true, true, true]);
          await expect(s.escrow.connect(s.shared).revealVotes(r.ids, r.seats.slice(1), r.agrees, r.salts, r.sealed))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidBatch")
            .withArgs(3, 2);
        });

        it("reverts with JobEscrowInvalidBatch for too few votes", async function () {
          const s = await loadFixture(sharedVerifierFixture);
          const r = await revealArgs(s, [true, true, true]);
          await expect(s.escrow.connect(s.shared).revealVotes(r.ids, r.seats, [true, true], r.salts, r.sealed))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidBatch")
            .withArgs(3, 2);
        });

        it("reverts with JobEscrowInvalidBatch for too few salts", async function () {
          const s = await loadFixture(sharedVerifierFixture);
          const r = await revealArgs(s, [true, true, true]);
          await expect(s.escrow.connect(s.shared).revealVotes(r.ids, r.seats, r.agrees, r.salts.slice(1), r.sealed))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidBatch")
            .withArgs(3, 2);
        });

        it("reverts with JobEscrowInvalidBatch for too few sealed lists", async function () {
          const s = await loadFixture(sharedVerifierFixture);
          const r = await revealArgs(s, [true, true, true]);
          await expect(s.escrow.connect(s.shared).revealVotes(r.ids, r.seats, r.agrees, r.salts, r.sealed.slice(1)))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidBatch")
            .withArgs(3, 2);
        });
      });

      describe("when one item is invalid", function () {
        it("reverts the whole batch, after which the right salts still reveal", async function () {
          const s = await loadFixture(sharedVerifierFixture);
          const agrees = [true, false, true];
          await commitEverywhere(s, agrees);
          const r = await revealArgs(s, agrees);
          const salts = [...r.salts];
          salts[2] = ethers.id("wrong salt");
          await expect(s.escrow.connect(s.shared).revealVotes(r.ids, r.seats, r.agrees, salts, r.sealed))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowCommitmentMismatch")
            .withArgs(r.ids[2], s.shared.address);
          for (const id of r.ids) {
            const seat = (await seatsOf(s, id)).find(([a]) => a === s.shared.address)!;
            expect(seat[1]).to.equal(VoteState.Committed);
          }
          await expect(s.escrow.connect(s.shared).revealVotes(r.ids, r.seats, r.agrees, r.salts, r.sealed)).to.emit(
            s.escrow,
            "VoteRevealed",
          );
        });

        it("reverts with JobEscrowCommitmentsMismatch for one job's sealed list swapped with another's", async function () {
          const s = await loadFixture(sharedVerifierFixture);
          const agrees = [true, false, true];
          await commitEverywhere(s, agrees);
          const r = await revealArgs(s, agrees);
          const sealed = [r.sealed[0], r.sealed[2], r.sealed[1]];
          await expect(s.escrow.connect(s.shared).revealVotes(r.ids, r.seats, r.agrees, r.salts, sealed))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowCommitmentsMismatch")
            .withArgs(r.ids[1]);
        });
      });

      describe("when a verifier reveals on every committee it sits on", function () {
        it("reveals each vote and emits VoteRevealed for each job, once", async function () {
          const s = await loadFixture(sharedVerifierFixture);
          const agrees = [true, false, true];
          await commitEverywhere(s, agrees);
          const r = await revealArgs(s, agrees);
          const tx = await s.escrow.connect(s.shared).revealVotes(r.ids, r.seats, r.agrees, r.salts, r.sealed);
          for (let i = 0; i < r.ids.length; ++i) {
            await expect(tx).to.emit(s.escrow, "VoteRevealed").withArgs(r.ids[i], s.shared.address, agrees[i]);
            const seat = (await seatsOf(s, r.ids[i])).find(([a]) => a === s.shared.address)!;
            expect(seat[1]).to.equal(agrees[i] ? VoteState.Agreed : VoteState.Disagreed);
          }
          await expect(s.escrow.connect(s.shared).revealVotes(r.ids, r.seats, r.agrees, r.salts, r.sealed))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidVoteState")
            .withArgs(r.ids[0], s.shared.address, VoteState.Agreed);
        });
      });
    });

    describe("#settle", function () {
      describe("when all three members agree", function () {
        it("accepts: the worker gets fee less royalty, protocol fee and verifier pool; each member a third of the pool", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const expected = acceptedSettlement(s.job, s.params, 3n);
          const fee = BigInt(s.job.fee);
          const pool = (fee * BigInt(s.job.verifierShareBps)) / 10_000n;
          expect(expected.verifierReward).to.equal(pool / 3n);
          // The pool does not divide by three: the dust goes to the treasury with the protocol fee.
          expect(expected.treasuryPayment).to.equal(
            (fee * BigInt(s.job.protocolFeeBps)) / 10_000n + pool - 3n * (pool / 3n),
          );
          const accounts = [s.worker, s.modelOwner, s.treasury, s.requester, ...s.members];
          const activeBefore = await activeOf(s, s.members);

          await voteAll(s, idOf(s.job), s.members, [true, true, true]);
          const tx = await s.escrow.settle(s.job, "0x");

          await expect(tx)
            .to.emit(s.escrow, "JobSettled")
            .withArgs(s.job.id, JobOutcome.Accepted, settlementArgs(expected));
          await expect(tx).not.to.emit(s.escrow, "VerifierPenalized");
          await expect(tx).to.emit(s.staking, "StakeUnlocked").withArgs(s.worker.address, s.job.collateral);
          expect((await s.escrow.jobState(s.job.id)).status).to.equal(JobStatus.Settled);
          expect(await creditsOf(s, accounts)).to.deep.equal([
            expected.workerPayment,
            expected.royalty,
            expected.treasuryPayment,
            0n,
            expected.verifierReward,
            expected.verifierReward,
            expected.verifierReward,
          ]);
          expect(await activeOf(s, s.members)).to.deep.equal(activeBefore);
          expect(await s.staking.freeStakeOf(s.worker.address)).to.equal(STAKE);
          await expectConservation(s);
        });
      });

      describe("when all three members disagree", function () {
        it("rejects: slashes the whole collateral, refunds and compensates the requester, rewards the members", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const collateral = BigInt(s.job.collateral);
          const expected = rejectedSettlement(s.job, s.params, 3n, collateral);
          const accounts = [s.requester, s.worker, s.modelOwner, s.treasury, ...s.members];

          await voteAll(s, idOf(s.job), s.members, [false, false, false]);
          const tx = await s.escrow.settle(s.job, "0x");

          await expect(tx)
            .to.emit(s.escrow, "JobSettled")
            .withArgs(s.job.id, JobOutcome.Rejected, settlementArgs(expected));
          await expect(tx)
            .to.emit(s.staking, "StakeSlashed")
            .withArgs(s.worker.address, await s.escrow.getAddress(), collateral);
          expect(expected.challengerPayment).to.equal(0);
          expect((await s.escrow.jobState(s.job.id)).status).to.equal(JobStatus.Rejected);
          expect(await creditsOf(s, accounts)).to.deep.equal([
            BigInt(s.job.fee) + (collateral * s.params.compensationBps) / 10_000n,
            0n,
            0n,
            expected.treasuryPayment,
            expected.verifierReward,
            expected.verifierReward,
            expected.verifierReward,
          ]);
          const worker = await s.staking.accountOf(s.worker.address);
          expect(worker.active).to.equal(STAKE - collateral);
          expect(worker.locked).to.equal(0);
          await expectConservation(s);
        });
      });

      describe("when two agree and one disagrees", function () {
        it("accepts, rewards the two and penalises the dissenter votePenalty as a revealed vote", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const penalty = s.params.votePenalty;
          const [a, b, dissenter] = s.members;
          const expected = acceptedSettlement(s.job, s.params, 2n);
          const activeBefore = await activeOf(s, s.members);

          await voteAll(s, idOf(s.job), s.members, [true, true, false]);
          const tx = await s.escrow.settle(s.job, "0x");

          await expect(tx)
            .to.emit(s.escrow, "JobSettled")
            .withArgs(s.job.id, JobOutcome.Accepted, settlementArgs(expected));
          await expect(tx).to.emit(s.escrow, "VerifierPenalized").withArgs(s.job.id, dissenter.address, penalty, true);
          await expect(tx)
            .to.emit(s.staking, "StakeSlashed")
            .withArgs(dissenter.address, await s.escrow.getAddress(), penalty);
          expect(await escrowEvents(s, tx, "VerifierPenalized")).to.have.lengthOf(1);
          expect(await creditsOf(s, [a, b, dissenter, s.treasury])).to.deep.equal([
            expected.verifierReward,
            expected.verifierReward,
            0n,
            expected.treasuryPayment + penalty,
          ]);
          expect(await activeOf(s, s.members)).to.deep.equal([
            activeBefore[0],
            activeBefore[1],
            activeBefore[2] - penalty,
          ]);
          await expectConservation(s);
        });
      });

      describe("when two disagree and one agrees", function () {
        it("rejects, rewards the two and penalises the member that agreed", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const penalty = s.params.votePenalty;
          const [dissenter, a, b] = s.members;
          const expected = rejectedSettlement(s.job, s.params, 2n, BigInt(s.job.collateral));

          await voteAll(s, idOf(s.job), s.members, [true, false, false]);
          const tx = await s.escrow.settle(s.job, "0x");

          await expect(tx)
            .to.emit(s.escrow, "JobSettled")
            .withArgs(s.job.id, JobOutcome.Rejected, settlementArgs(expected));
          await expect(tx).to.emit(s.escrow, "VerifierPenalized").withArgs(s.job.id, dissenter.address, penalty, true);
          expect(await creditsOf(s, [a, b, dissenter, s.treasury])).to.deep.equal([
            expected.verifierReward,
            expected.verifierReward,
            0n,
            expected.treasuryPayment + penalty,
          ]);
          await expectConservation(s);
        });
      });

      describe("when a member never reveals", function () {
        it("is not settleable before revealEnd and reverts with JobEscrowNotSettleable", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await commitAll(s, idOf(s.job), s.members, [true, true, true]);
          await revealAll(s, idOf(s.job), s.members.slice(0, 2), [true, true]);
          expect(await s.escrow.isSettleable(s.job)).to.equal(false);
          await time.increaseTo(s.revealEnd - 1n); // the settle runs at revealEnd
          await expect(s.escrow.settle(s.job, "0x"))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowNotSettleable")
            .withArgs(s.job.id, JobStatus.Voting, s.revealEnd + 1n);
        });

        it("settles by the revealed majority after revealEnd and penalises it as unrevealed", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const penalty = s.params.votePenalty;
          const silent = s.members[2];
          await commitAll(s, idOf(s.job), s.members, [true, true, true]);
          await revealAll(s, idOf(s.job), s.members.slice(0, 2), [true, true]);
          await time.increaseTo(s.revealEnd + 1n); // views run at the latest block's timestamp
          expect(await s.escrow.isSettleable(s.job)).to.equal(true);
          const before = (await s.staking.accountOf(silent.address)).active;
          const tx = await s.escrow.settle(s.job, "0x");

          const expected = acceptedSettlement(s.job, s.params, 2n);
          await expect(tx)
            .to.emit(s.escrow, "JobSettled")
            .withArgs(s.job.id, JobOutcome.Accepted, settlementArgs(expected));
          await expect(tx).to.emit(s.escrow, "VerifierPenalized").withArgs(s.job.id, silent.address, penalty, false);
          expect(await escrowEvents(s, tx, "VerifierPenalized")).to.have.lengthOf(1);
          expect((await s.staking.accountOf(silent.address)).active).to.equal(before - penalty);
          expect(await s.escrow.balanceOf(silent.address)).to.equal(0);
          expect(await s.escrow.balanceOf(s.treasury.address)).to.equal(expected.treasuryPayment + penalty);
          await expectConservation(s);
        });
      });

      describe("when a member never commits", function () {
        it("penalises it as unrevealed", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const silent = s.members[0];
          const voters = s.members.slice(1);
          await commitAll(s, idOf(s.job), voters, [false, false]);
          await time.increaseTo(s.commitEnd);
          await revealAll(s, idOf(s.job), voters, [false, false]);
          await time.increaseTo(s.revealEnd);
          const tx = await s.escrow.settle(s.job, "0x");
          await expect(tx)
            .to.emit(s.escrow, "JobSettled")
            .withArgs(
              s.job.id,
              JobOutcome.Rejected,
              settlementArgs(rejectedSettlement(s.job, s.params, 2n, BigInt(s.job.collateral))),
            );
          await expect(tx)
            .to.emit(s.escrow, "VerifierPenalized")
            .withArgs(s.job.id, silent.address, s.params.votePenalty, false);
          await expectConservation(s);
        });
      });

      describe("when nobody reveals", function () {
        it("refunds the requester as Inconclusive and penalises all three members", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const penalty = s.params.votePenalty;
          await commitAll(s, idOf(s.job), s.members.slice(0, 2), [true, false]);
          const activeBefore = await activeOf(s, s.members);
          const workerBefore = await s.staking.accountOf(s.worker.address);
          await time.increaseTo(s.revealEnd);
          const tx = await s.escrow.settle(s.job, "0x");

          await expect(tx)
            .to.emit(s.escrow, "JobSettled")
            .withArgs(s.job.id, JobOutcome.Inconclusive, settlementArgs(inconclusiveSettlement(s.job)));
          const penalized = await escrowEvents(s, tx, "VerifierPenalized");
          expect(penalized.map((e) => [e.verifier, e.amount, e.revealed])).to.deep.equal(
            s.members.map((m) => [m.address, penalty, false]),
          );
          expect((await s.escrow.jobState(s.job.id)).status).to.equal(JobStatus.Refunded);
          expect(await activeOf(s, s.members)).to.deep.equal(activeBefore.map((a) => a - penalty));
          expect(await creditsOf(s, [s.requester, s.worker, s.treasury, ...s.members])).to.deep.equal([
            BigInt(s.job.fee),
            0n,
            3n * penalty,
            0n,
            0n,
            0n,
          ]);
          const workerAfter = await s.staking.accountOf(s.worker.address);
          expect(workerAfter.active).to.equal(workerBefore.active);
          expect(workerAfter.locked).to.equal(0);
          await expectConservation(s);
        });
      });

      describe("when every member has revealed", function () {
        it("is settleable before revealEnd", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await commitAll(s, idOf(s.job), s.members, [true, true, true]);
          await revealAll(s, idOf(s.job), s.members.slice(0, 2), [true, true]);
          expect(await s.escrow.isSettleable(s.job)).to.equal(false);
          await revealAll(s, idOf(s.job), s.members.slice(2), [true]);
          expect(await s.escrow.isSettleable(s.job)).to.equal(true);
          const tx = await s.escrow.settle(s.job, "0x");
          expect(await timestampOf(tx)).to.be.lessThan(s.revealEnd);
          await expect(tx).to.emit(s.escrow, "JobSettled");
        });
      });

      describe("when the job is already settled", function () {
        it("reverts with JobEscrowInvalidStatus and is not settleable", async function () {
          const s = await loadFixture(committeeVotingFixture);
          await voteAll(s, idOf(s.job), s.members, [true, true, true]);
          await s.escrow.settle(s.job, "0x");
          expect(await s.escrow.isSettleable(s.job)).to.equal(false);
          await expect(s.escrow.settle(s.job, "0x"))
            .to.be.revertedWithCustomError(s.escrow, "JobEscrowInvalidStatus")
            .withArgs(s.job.id, JobStatus.Settled);
        });
      });
    });

    describe("#settleBatch", function () {
      describe("when some committee jobs are due and one is still voting", function () {
        it("settles the due jobs by their votes and skips the other", async function () {
          const v = await loadFixture(verificationFixture);
          const jobs = [];
          for (let i = 0; i < 3; ++i) {
            const job = await v.request(v.models.committee);
            await v.escrow.connect(v.worker).submitResult(job, OUTPUT);
            await drawCommittee(v, job);
            jobs.push(await votingJob(v, job));
          }
          const [accepted, rejected, pending] = jobs;
          await voteAll(v, idOf(accepted.job), accepted.members, [true, true, true]);
          await voteAll(v, idOf(rejected.job), rejected.members, [false, false, false]);
          await commitAll(v, idOf(pending.job), pending.members, [true, true, true]);

          const all = jobs.map((j) => j.job);
          const outputs = all.map(() => "0x");
          expect(await v.escrow.settleBatch.staticCall(all, outputs)).to.equal(2);
          const tx = await v.escrow.settleBatch(all, outputs);
          await expect(tx)
            .to.emit(v.escrow, "JobSettled")
            .withArgs(
              accepted.job.id,
              JobOutcome.Accepted,
              settlementArgs(acceptedSettlement(accepted.job, v.params, 3n)),
            );
          await expect(tx)
            .to.emit(v.escrow, "JobSettled")
            .withArgs(
              rejected.job.id,
              JobOutcome.Rejected,
              settlementArgs(rejectedSettlement(rejected.job, v.params, 3n, BigInt(rejected.job.collateral))),
            );
          expect(await escrowEvents(v, tx, "JobSettled")).to.have.lengthOf(2);
          expect((await v.escrow.jobState(accepted.job.id)).status).to.equal(JobStatus.Settled);
          expect((await v.escrow.jobState(rejected.job.id)).status).to.equal(JobStatus.Rejected);
          expect((await v.escrow.jobState(pending.job.id)).status).to.equal(JobStatus.Voting);
          await expectConservation(v);
        });
      });
    });

    describe("vote penalties", function () {
      describe("when the penalised member has moved all it may to unbonding", function () {
        it("slashes the penalty from the minimum it had to keep, and it cannot unbond that without notice", async function () {
          const s = await loadFixture(committeeVotingFixture);
          const penalty = s.params.votePenalty;
          const runaway = s.members[2];
          const minimum = await s.staking.minVerifierStake();
          await commitAll(s, idOf(s.job), s.members, [true, true, true]);
          await expect(s.staking.connect(runaway).requestUnstake(STAKE))
            .to.be.revertedWithCustomError(s.staking, "VerifierStakingExitNoticeRequired")
            .withArgs(runaway.address, 0, minimum);
          await s.staking.connect(runaway).requestUnstake(STAKE - minimum);
          await revealAll(s, idOf(s.job), s.members.slice(0, 2), [true, true]);
          await time.increaseTo(s.revealEnd);
          const tx = await s.escrow.settle(s.job, "0x");

          await expect(tx).to.emit(s.escrow, "VerifierPenalized").withArgs(s.job.id, runaway.address, penalty, false);
          const account = await s.staking.accountOf(runaway.address);
          expect(account.active).to.equal(minimum - penalty);
          expect(account.unbonding).to.equal(STAKE - minimum);
          await expectConservation(s);
        });
      });

      // Finding 10: a member that never revealed used to keep its stake by leaving and withdrawing before anyone
      // settled (the penalty then found only what it left behind). Its withdrawal now waits for the committee.
      describe("when the silent member leaves and unbonds before anyone settles", function () {
        it("cannot withdraw until its committee settles, and the penalty is taken in full", async function () {
          const v = await loadFixture(verificationFixture);
          const penalty = v.params.votePenalty;
          const runaway = v.verifiers[2];
          await exitVerifiers(v.staking, v.verifiers.slice(3));

          const job = await v.request(v.models.committee);
          await v.escrow.connect(v.worker).submitResult(job, OUTPUT);
          await drawCommittee(v, job);
          const { members, commitEnd, revealEnd } = await votingJob(v, job);
          expect(addressesOf(members)).to.include(runaway.address);
          const voters = members.filter((m) => m !== runaway);
          await commitAll(v, idOf(job), voters, [true, true]);
          await time.increaseTo(commitEnd);
          await revealAll(v, idOf(job), voters, [true, true]);
          // Drawn with its full stake, it opts out, completes its exit after the notice and unbonds everything;
          // nobody settles for the whole unbonding period.
          await exitVerifiers(v.staking, [runaway]);
          await v.staking.connect(runaway).requestUnstake(STAKE);
          await time.increase(await v.staking.unbondingPeriod());
          const day = revealEnd / 86_400n;
          expect(await v.staking.unsettledCommitteesFor(runaway.address)).to.deep.equal([day, 1n]);
          await expect(v.staking.connect(runaway).withdraw())
            .to.be.revertedWithCustomError(v.staking, "VerifierStakingCommitteesUnsettled")
            .withArgs(day, 1);

          // Anyone may settle, the runaway too: the penalty comes out of its unbonding stake, then it withdraws.
          const tx = await v.escrow.connect(runaway).settle(job, "0x");
          await expect(tx).to.emit(v.escrow, "VerifierPenalized").withArgs(job.id, runaway.address, penalty, false);
          expect(await v.staking.openCommittees(day)).to.equal(0);
          expect(await v.staking.unsettledCommitteesFor(runaway.address)).to.deep.equal([0n, 0n]);
          await expect(v.staking.connect(runaway).withdraw()).to.changeTokenBalance(v.token, runaway, STAKE - penalty);
          await expectConservation(v);
        });
      });
    });
  });
});
