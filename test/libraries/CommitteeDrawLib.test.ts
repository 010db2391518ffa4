import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { AddressLike } from "ethers";
import type {
  CommitteeDrawHarness,
  CommitteeDrawLib,
  FaultyRandomness,
  IJobEscrow,
  MockRandomness,
} from "../../typechain-types";
import { deployStakingFixture, STAKE, type StakingSetup } from "../fixtures/staking";
import { JobStatus } from "../../packages/sdk/src/params";

const COMMIT_WINDOW = 3600n;
const REVEAL_WINDOW = 1800n;
const JOB_ID = 42n;
const SEED = 7n;

/** CommitteeDrawLib.Drawn. */
const Drawn = { Committee: 0n, Pending: 1n, TooFew: 2n } as const;
/** FaultyRandomness.Fault. */
const Fault = { None: 0, Revert: 1, BurnGas: 2, ShortReturn: 3, NeverReady: 4, HugeTicket: 5 } as const;
/** CommitteeDrawLib's allowances and what a call must have left to give one (allowance + allowance / 63 + 10,000). */
const REQUEST_GAS = 250_000n;
const SEED_GAS = 100_000n;
const needed = (allowance: bigint): bigint => allowance + allowance / 63n + 10_000n;

const coder = ethers.AbiCoder.defaultAbiCoder();

/** `harness.draw`'s arguments: source, staking, job id, size, requester, model owner, challenger, refuse. */
type DrawArgs = [AddressLike, AddressLike, bigint, number, AddressLike, AddressLike, AddressLike, boolean];

interface DrawSetup extends StakingSetup {
  library: CommitteeDrawLib;
  harness: CommitteeDrawHarness;
  /** The harness read through the escrow's interface: the library's event and errors are the caller's. */
  asEscrow: IJobEscrow;
  randomness: MockRandomness;
  /** A source that answers like MockRandomness with seed 0 until a test sets its faults. */
  faulty: FaultyRandomness;
  modelOwner: HardhatEthersSigner;
  challenger: HardhatEthersSigner;
  /** Opted-in verifiers that are none of the job's parties. */
  eligible: string[];
  /**
   * Arguments of `harness.draw` for a job: the fixture's staking, requester and model owner; the MockRandomness
   * unless `source` is given; `refuse` false (Pending, not a revert, when the seed is not there) unless given.
   */
  drawArgs(jobId: bigint, size: number, challenger?: string, refuse?: boolean, source?: AddressLike): DrawArgs;
}

/**
 * Seven opted-in verifiers of equal stake: the job's worker, requester, model owner and a would-be challenger,
 * and three others. A harness holding one Submitted job claimed by the worker, linked to CommitteeDrawLib; a
 * MockRandomness with seed 7 and a healthy FaultyRandomness.
 */
async function drawFixture(): Promise<DrawSetup> {
  const s = await deployStakingFixture();
  const [modelOwner, challenger] = [s.alice, s.bob];
  const others = s.verifiers.slice(0, 3);
  const library = await ethers.deployContract("CommitteeDrawLib");
  const harness = (await ethers.deployContract("CommitteeDrawHarness", [s.worker, COMMIT_WINDOW, REVEAL_WINDOW], {
    libraries: { CommitteeDrawLib: await library.getAddress() },
  })) as unknown as CommitteeDrawHarness;
  // The harness seats committees as an escrow does; granted before anything is staked, it needs no notice.
  await s.staking.connect(s.admin).grantRole(s.ESCROW_ROLE, harness);
  for (const account of [s.worker, s.requester, modelOwner, challenger, ...others])
    await s.stakeAs(account, STAKE, true);
  const randomness = await ethers.deployContract("MockRandomness");
  await randomness.setSeed(SEED);
  const faulty = await ethers.deployContract("FaultyRandomness");
  const asEscrow = (await ethers.getContractAt("IJobEscrow", await harness.getAddress())) as unknown as IJobEscrow;
  const drawArgs = (
    jobId: bigint,
    size: number,
    challengerAddress = ethers.ZeroAddress,
    refuse = false,
    source: AddressLike = randomness,
  ): DrawArgs => [source, s.staking, jobId, size, s.requester, modelOwner, challengerAddress, refuse];
  return {
    ...s,
    library,
    harness,
    asEscrow,
    randomness,
    faulty,
    modelOwner,
    challenger,
    eligible: others.map((a) => a.address),
    drawArgs,
  };
}

/**
 * drawFixture with JOB_ID requested from the MockRandomness (in Drawing, its ticket the request's block) and one
 * block mined after it, so that its seed exists.
 */
async function requestedFixture(): Promise<DrawSetup & { ticket: bigint }> {
  const d = await drawFixture();
  const tx = await d.harness.request(d.randomness, JOB_ID, false);
  await mine();
  return { ...d, ticket: BigInt((await tx.wait())!.blockNumber) };
}

/** The seed MockRandomness gives `ticket`, mixed with `jobId` as the library mixes it. */
function jobSeed(ticket: bigint, jobId: bigint): bigint {
  const seed = ethers.keccak256(coder.encode(["uint256", "uint64"], [SEED, ticket]));
  return BigInt(ethers.keccak256(coder.encode(["uint256", "uint256"], [seed, jobId])));
}

/** Expects the harness's job untouched since the request: Drawing, its draw-by and ticket, no seats, no members. */
async function expectStillDrawing(d: DrawSetup, windowEnd: bigint, ticket: bigint, seats = 3): Promise<void> {
  const state = await d.harness.state();
  expect(state.status).to.equal(JobStatus.Drawing);
  expect(state.windowEnd).to.equal(windowEnd);
  expect(state.revealEnd).to.equal(ticket);
  expect(state.seats).to.equal(0n);
  expect(await d.harness.members(seats)).to.deep.equal(Array(seats).fill(ethers.ZeroAddress));
}

/** Expects the harness's job as the fixture left it: Submitted, no windows. */
async function expectUntouched(d: DrawSetup): Promise<void> {
  const state = await d.harness.state();
  expect(state.status).to.equal(JobStatus.Submitted);
  expect(state.worker).to.equal(d.worker.address);
  expect(state.windowEnd).to.equal(0n);
  expect(state.revealEnd).to.equal(0n);
  expect(state.seats).to.equal(0n);
}

describe("CommitteeDrawLib", function () {
  describe("#request", function () {
    describe("when the source answers", function () {
      it("returns true and moves the job to Drawing: draw by now + commit window, the ticket kept", async function () {
        const d = await loadFixture(drawFixture);
        expect(await d.harness.request.staticCall(d.randomness, JOB_ID, false)).to.equal(true);
        const tx = await d.harness.request(d.randomness, JOB_ID, true);
        const ticket = BigInt((await tx.wait())!.blockNumber); // MockRandomness: the request's block
        const now = BigInt(await time.latest());
        const state = await d.harness.state();
        expect(state.status).to.equal(JobStatus.Drawing);
        expect(state.worker).to.equal(d.worker.address);
        expect(state.windowEnd).to.equal(now + COMMIT_WINDOW);
        expect(state.revealEnd).to.equal(ticket);
        expect(state.seats).to.equal(0n);
        await expect(tx).not.to.emit(d.asEscrow, "CommitteeDrawn");
      });

      it("keeps the ticket of another source as it comes (BlockhashRandomness: the next block)", async function () {
        const d = await loadFixture(drawFixture);
        const source = await ethers.deployContract("BlockhashRandomness");
        const tx = await d.harness.request(source, JOB_ID, true);
        expect((await d.harness.state()).revealEnd).to.equal(BigInt((await tx.wait())!.blockNumber) + 1n);
      });
    });

    const REQUEST_FAULTS: [string, number][] = [
      ["reverts", Fault.Revert],
      ["burns all the gas it is given", Fault.BurnGas],
      ["returns nothing", Fault.ShortReturn],
      ["returns a ticket of 2^40", Fault.HugeTicket],
    ];
    for (const [what, fault] of REQUEST_FAULTS) {
      describe(`when the source ${what}`, function () {
        it("returns false and writes nothing", async function () {
          const d = await loadFixture(drawFixture);
          await d.faulty.setFaults(fault, Fault.None);
          expect(await d.harness.request.staticCall(d.faulty, JOB_ID, false)).to.equal(false);
          await d.harness.request(d.faulty, JOB_ID, false);
          await expectUntouched(d);
        });

        it("reverts with JobEscrowRandomnessSourceUnusable when refusing (a submission that claims)", async function () {
          const d = await loadFixture(drawFixture);
          await d.faulty.setFaults(fault, Fault.None);
          await expect(d.harness.request(d.faulty, JOB_ID, true))
            .to.be.revertedWithCustomError(d.asEscrow, "JobEscrowRandomnessSourceUnusable")
            .withArgs(await d.faulty.getAddress());
        });
      });
    }

    it("reverts with JobEscrowInsufficientGasForDraw when the sender leaves the source less than REQUEST_GAS", async function () {
      const d = await loadFixture(drawFixture);
      // A gas-burning source would fail with any allowance: the sender must not be able to starve a healthy one.
      await expect(d.harness.request(d.randomness, JOB_ID, false, { gasLimit: needed(REQUEST_GAS) }))
        .to.be.revertedWithCustomError(d.asEscrow, "JobEscrowInsufficientGasForDraw")
        .withArgs(JOB_ID, anyValue, needed(REQUEST_GAS));
      await d.harness.request(d.randomness, JOB_ID, false, { gasLimit: needed(REQUEST_GAS) + 60_000n });
      expect((await d.harness.state()).status).to.equal(JobStatus.Drawing);
    });
  });

  describe("#draw", function () {
    describe("when enough verifiers are eligible", function () {
      it("stores the committee the staking contract draws with the ticket's seed mixed with the job id, none of the job's parties", async function () {
        const d = await loadFixture(drawFixture);
        const excluded = [d.worker.address, d.requester.address, d.modelOwner.address];
        // Several jobs, so that the seed (which mixes in the job id) visibly decides the committee.
        const committees = new Set<string>();
        for (const jobId of [JOB_ID, JOB_ID + 1n, JOB_ID + 2n]) {
          const ticket = BigInt((await (await d.harness.request(d.randomness, jobId, true)).wait())!.blockNumber);
          const expected = await d.staking.drawCommittee(jobSeed(ticket, jobId), 3, excluded);
          await d.harness.draw(...d.drawArgs(jobId, 3));
          const members = await d.harness.members(3);
          expect(members, `job ${jobId}`).to.deep.equal(expected);
          for (const party of excluded) expect(members).not.to.include(party);
          committees.add(members.join());
        }
        expect(committees.size, "three jobs, three committees").to.be.greaterThan(1);
      });

      it("returns Committee, moves the job to Voting with its windows and seats, and emits CommitteeDrawn as the caller", async function () {
        const d = await loadFixture(requestedFixture);
        expect(await d.harness.draw.staticCall(...d.drawArgs(JOB_ID, 3))).to.equal(Drawn.Committee);
        const tx = await d.harness.draw(...d.drawArgs(JOB_ID, 3, ethers.ZeroAddress, true));
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
        // Seated: the staking contract counts it open on the day its vote ends, holding its members' stake.
        expect(await d.staking.openCommittees(state.revealEnd / 86_400n)).to.equal(1);
      });

      it("excludes no one else when there is no challenger", async function () {
        const d = await loadFixture(requestedFixture);
        // Four seats: the would-be challenger is the fourth eligible verifier.
        await d.harness.draw(...d.drawArgs(JOB_ID, 4));
        expect([...(await d.harness.members(4))].sort()).to.deep.equal([...d.eligible, d.challenger.address].sort());
      });

      it("excludes a challenger", async function () {
        const d = await loadFixture(requestedFixture);
        await d.harness.draw(...d.drawArgs(JOB_ID, 3, d.challenger.address));
        expect([...(await d.harness.members(3))].sort()).to.deep.equal([...d.eligible].sort());
      });
    });

    describe("when the seed does not exist yet", function () {
      it("returns Pending in the request's own block and writes nothing", async function () {
        const d = await loadFixture(drawFixture);
        await network.provider.send("evm_setAutomine", [false]);
        let request, draw;
        try {
          request = await d.harness.request(d.randomness, JOB_ID, true);
          draw = await d.harness.draw(...d.drawArgs(JOB_ID, 3));
          await mine();
        } finally {
          await network.provider.send("evm_setAutomine", [true]);
        }
        const ticket = BigInt((await request.wait())!.blockNumber);
        expect((await draw.wait())!.blockNumber).to.equal(Number(ticket));
        await expect(draw).not.to.emit(d.asEscrow, "CommitteeDrawn");
        await expectStillDrawing(d, BigInt(await time.latest()) + COMMIT_WINDOW, ticket);
        // Pending is what it returned: the same draw from the next block on draws.
        await mine();
        expect(await d.harness.draw.staticCall(...d.drawArgs(JOB_ID, 3))).to.equal(Drawn.Committee);
      });

      it("reverts with JobEscrowSeedPending(jobId, ticket) when refusing (drawCommittee)", async function () {
        const d = await loadFixture(requestedFixture);
        await d.faulty.setFaults(Fault.None, Fault.NeverReady);
        const args = d.drawArgs(JOB_ID, 3, ethers.ZeroAddress, true, d.faulty);
        await expect(d.harness.draw(...args))
          .to.be.revertedWithCustomError(d.asEscrow, "JobEscrowSeedPending")
          .withArgs(JOB_ID, d.ticket);
      });
    });

    const SEED_FAULTS: [string, number][] = [
      ["never has the seed", Fault.NeverReady],
      ["reverts", Fault.Revert],
      ["burns all the gas it is given", Fault.BurnGas],
      ["returns nothing", Fault.ShortReturn],
    ];
    for (const [what, fault] of SEED_FAULTS) {
      it(`returns Pending and writes nothing when the source ${what}`, async function () {
        const d = await loadFixture(requestedFixture);
        const drawBy = (await d.harness.state()).windowEnd;
        await d.faulty.setFaults(Fault.None, fault);
        const args = d.drawArgs(JOB_ID, 3, ethers.ZeroAddress, false, d.faulty);
        expect(await d.harness.draw.staticCall(...args)).to.equal(Drawn.Pending);
        await expect(d.harness.draw(...args)).not.to.emit(d.asEscrow, "CommitteeDrawn");
        await expectStillDrawing(d, drawBy, d.ticket);
      });
    }

    it("reverts with JobEscrowInsufficientGasForDraw when the sender leaves the source less than SEED_GAS", async function () {
      const d = await loadFixture(requestedFixture);
      await expect(d.harness.draw(...d.drawArgs(JOB_ID, 3), { gasLimit: needed(SEED_GAS) }))
        .to.be.revertedWithCustomError(d.asEscrow, "JobEscrowInsufficientGasForDraw")
        .withArgs(JOB_ID, anyValue, needed(SEED_GAS));
    });

    describe("when too few verifiers are eligible", function () {
      it("returns TooFew and writes nothing: no state change, no members, no event", async function () {
        const d = await loadFixture(requestedFixture);
        const drawBy = (await d.harness.state()).windowEnd;
        // Four seats, but with the challenger excluded only three verifiers are eligible.
        expect(await d.harness.draw.staticCall(...d.drawArgs(JOB_ID, 4, d.challenger.address))).to.equal(Drawn.TooFew);
        const tx = await d.harness.draw(...d.drawArgs(JOB_ID, 4, d.challenger.address));
        await expect(tx).not.to.emit(d.asEscrow, "CommitteeDrawn");
        await expectStillDrawing(d, drawBy, d.ticket, 4);
        // Nothing seated: no committee counted open on the day its vote would have ended, nor the next.
        const day = (BigInt(await time.latest()) + COMMIT_WINDOW + REVEAL_WINDOW) / 86_400n;
        for (const d_ of [day, day + 1n]) expect(await d.staking.openCommittees(d_)).to.equal(0);
      });

      it("returns TooFew when refusing too: the escrow then settles the job Inconclusive", async function () {
        const d = await loadFixture(requestedFixture);
        expect(await d.harness.draw.staticCall(...d.drawArgs(JOB_ID, 4, d.challenger.address, true))).to.equal(
          Drawn.TooFew,
        );
      });
    });

    describe("when the draw fails otherwise", function () {
      it("reverts with the staking contract's own error (VerifierStakingInvalidCommitteeSize for 0 seats)", async function () {
        const d = await loadFixture(requestedFixture);
        await expect(d.harness.draw(...d.drawArgs(JOB_ID, 0)))
          .to.be.revertedWithCustomError(d.staking, "VerifierStakingInvalidCommitteeSize")
          .withArgs(0);
      });
    });
  });

  describe("#answers", function () {
    it("is true for a source that answers seedOf with two words, ready or not", async function () {
      const d = await loadFixture(drawFixture);
      const blockhash = await ethers.deployContract("BlockhashRandomness");
      await d.faulty.setFaults(Fault.None, Fault.NeverReady);
      for (const source of [d.randomness, blockhash, d.faulty]) {
        expect(await d.library.answers(source), await source.getAddress()).to.equal(true);
      }
    });

    const ANSWER_FAULTS: [string, number][] = [
      ["reverts", Fault.Revert],
      ["burns all the gas it is given", Fault.BurnGas],
      ["returns nothing", Fault.ShortReturn],
    ];
    for (const [what, fault] of ANSWER_FAULTS) {
      it(`is false for a source that ${what}`, async function () {
        const d = await loadFixture(drawFixture);
        await d.faulty.setFaults(Fault.None, fault);
        expect(await d.library.answers(d.faulty)).to.equal(false);
      });
    }

    it("is false for an account without code and for zero", async function () {
      const d = await loadFixture(drawFixture);
      for (const source of [d.other.address, ethers.ZeroAddress]) {
        expect(await d.library.answers(source), source).to.equal(false);
      }
    });
  });
});
