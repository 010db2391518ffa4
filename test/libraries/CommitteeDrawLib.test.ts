import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { CommitteeDrawHarness, IJobEscrow, MockRandomness } from "../../typechain-types";
import { JobStatus } from "../../src/params";
import { deployStakingFixture, STAKE, type StakingSetup } from "../fixtures/staking";

const COMMIT_WINDOW = 3600n;
const REVEAL_WINDOW = 1800n;
const JOB_ID = 42n;

interface DrawSetup extends StakingSetup {
  harness: CommitteeDrawHarness;
  /** The harness read through the escrow's interface: the library's event is the caller's. */
  asEscrow: IJobEscrow;
  randomness: MockRandomness;
  modelOwner: HardhatEthersSigner;
  challenger: HardhatEthersSigner;
  /** Opted-in verifiers that are none of the job's parties. */
  eligible: string[];
  /**
   * Arguments of `harness.draw` for a job: the fixture's randomness, staking, requester and model owner; `refuse`
   * false (an ending, not a revert, when no committee can be drawn) unless given.
   */
  drawArgs(
    jobId: bigint,
    size: number,
    challenger?: string,
    refuse?: boolean,
  ): Parameters<CommitteeDrawHarness["draw"]>;
}

/**
 * Seven opted-in verifiers of equal stake: the job's worker, requester, model owner and a would-be challenger,
 * and three others. A harness holding one Submitted job claimed by the worker, linked to CommitteeDrawLib.
 */
async function drawFixture(): Promise<DrawSetup> {
  const s = await deployStakingFixture();
  const [modelOwner, challenger] = [s.alice, s.bob];
  const others = s.verifiers.slice(0, 3);
  for (const account of [s.worker, s.requester, modelOwner, challenger, ...others])
    await s.stakeAs(account, STAKE, true);
  const randomness = (await ethers.deployContract("MockRandomness")) as unknown as MockRandomness;
  await randomness.setSeed(7);
  const library = await ethers.deployContract("CommitteeDrawLib");
  const harness = (await ethers.deployContract("CommitteeDrawHarness", [s.worker, COMMIT_WINDOW, REVEAL_WINDOW], {
    libraries: { CommitteeDrawLib: await library.getAddress() },
  })) as unknown as CommitteeDrawHarness;
  const asEscrow = (await ethers.getContractAt("IJobEscrow", await harness.getAddress())) as unknown as IJobEscrow;
  const drawArgs = (
    jobId: bigint,
    size: number,
    challengerAddress = ethers.ZeroAddress,
    refuse = false,
  ): Parameters<CommitteeDrawHarness["draw"]> => [
    randomness,
    s.staking,
    jobId,
    size,
    s.requester,
    modelOwner,
    challengerAddress,
    refuse,
  ];
  return {
    ...s,
    harness,
    asEscrow,
    randomness,
    modelOwner,
    challenger,
    eligible: others.map((a) => a.address),
    drawArgs,
  };
}

describe("CommitteeDrawLib", function () {
  describe("#draw", function () {
    describe("when enough verifiers are eligible", function () {
      it("stores the committee the staking contract draws with the job's seed, none of the job's parties", async function () {
        const d = await loadFixture(drawFixture);
        const excluded = [d.worker.address, d.requester.address, d.modelOwner.address];
        // Several jobs, so that the seed (which mixes in the job id) visibly decides the committee.
        for (const jobId of [JOB_ID, JOB_ID + 1n, JOB_ID + 2n]) {
          const expected = await d.staking.drawCommittee(await d.randomness.randomSeed(jobId), 3, excluded);
          await d.harness.draw(...d.drawArgs(jobId, 3));
          const members = await d.harness.members(3);
          expect(members, `job ${jobId}`).to.deep.equal(expected);
          for (const party of excluded) expect(members).not.to.include(party);
        }
      });

      it("returns true, moves the job to Voting with its windows and seats, and emits CommitteeDrawn as the caller", async function () {
        const d = await loadFixture(drawFixture);
        expect(await d.harness.draw.staticCall(...d.drawArgs(JOB_ID, 3))).to.equal(true);
        const tx = await d.harness.draw(...d.drawArgs(JOB_ID, 3));
        const now = BigInt(await time.latest());
        const members = await d.harness.members(3);
        await expect(tx)
          .to.emit(d.asEscrow, "CommitteeDrawn")
          .withArgs(JOB_ID, members, now + COMMIT_WINDOW, now + COMMIT_WINDOW + REVEAL_WINDOW);
        const state = await d.harness.state();
        expect(state.status).to.equal(JobStatus.Voting);
        expect(state.worker).to.equal(d.worker.address);
        expect(state.windowEnd).to.equal(now + COMMIT_WINDOW);
        expect(state.revealEnd).to.equal(now + COMMIT_WINDOW + REVEAL_WINDOW);
        expect(state.seats).to.equal(3);
      });

      it("excludes no one else when there is no challenger", async function () {
        const d = await loadFixture(drawFixture);
        // Four seats: the would-be challenger is the fourth eligible verifier.
        await d.harness.draw(...d.drawArgs(JOB_ID, 4));
        expect([...(await d.harness.members(4))].sort()).to.deep.equal([...d.eligible, d.challenger.address].sort());
      });

      it("excludes a challenger", async function () {
        const d = await loadFixture(drawFixture);
        await d.harness.draw(...d.drawArgs(JOB_ID, 3, d.challenger.address));
        expect([...(await d.harness.members(3))].sort()).to.deep.equal([...d.eligible].sort());
      });
    });

    describe("when too few verifiers are eligible", function () {
      it("returns false and writes nothing: no state change, no members, no event", async function () {
        const d = await loadFixture(drawFixture);
        // Four seats, but with the challenger excluded only three verifiers are eligible.
        expect(await d.harness.draw.staticCall(...d.drawArgs(JOB_ID, 4, d.challenger.address))).to.equal(false);
        const tx = await d.harness.draw(...d.drawArgs(JOB_ID, 4, d.challenger.address));
        await expect(tx).not.to.emit(d.asEscrow, "CommitteeDrawn");
        const state = await d.harness.state();
        expect(state.status).to.equal(JobStatus.Submitted);
        expect(state.windowEnd).to.equal(0n);
        expect(state.revealEnd).to.equal(0n);
        expect(state.seats).to.equal(0n);
        expect(await d.harness.members(4)).to.deep.equal(Array(4).fill(ethers.ZeroAddress));
      });

      it("reverts with VerifierStakingInsufficientVerifiers instead when refusing (a submission that claims)", async function () {
        const d = await loadFixture(drawFixture);
        await expect(d.harness.draw(...d.drawArgs(JOB_ID, 4, d.challenger.address, true)))
          .to.be.revertedWithCustomError(d.staking, "VerifierStakingInsufficientVerifiers")
          .withArgs(3, 4);
        expect((await d.harness.state()).status).to.equal(JobStatus.Submitted);
      });
    });

    describe("when the draw fails otherwise", function () {
      it("reverts with the staking contract's own error (VerifierStakingInvalidCommitteeSize for 0 seats)", async function () {
        const d = await loadFixture(drawFixture);
        await expect(d.harness.draw(...d.drawArgs(JOB_ID, 0)))
          .to.be.revertedWithCustomError(d.staking, "VerifierStakingInvalidCommitteeSize")
          .withArgs(0);
      });
    });
  });
});
