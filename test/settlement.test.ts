/**
 * The reference settlement split (packages/sdk/src/settlement.ts) against the contract: real jobs driven to every outcome
 * under parameters whose every share leaves a remainder, with odd fees (1 wei, 10^18 + 7), both royalty bounds
 * (0 and 2000 bps), committees of 1, 3 and 15 with various vote counts, a forfeited and a won challenge bond,
 * and slashes cut short by the worker's stake. Each emitted `JobSettled` must equal the reference's settlement.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, setBalance, time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse, Signer } from "ethers";
import { FUNDS, STAKE, OUTPUT, TEST_PARAMS, type Job } from "./fixtures/protocol";
import { drawCommittee, seedWithMember, verificationFixture, type Verification } from "./fixtures/verification";
import { toSettlement, type Settlement } from "../packages/sdk/src/job";
import { JobOutcome, VerificationMode, type EscrowParams } from "../packages/sdk/src/params";
import { sealedCommitments } from "../packages/sdk/src/votes";
import {
  abandonedSettlement,
  abandonmentSlash,
  acceptedSettlement,
  expiredSettlement,
  challengeBondFor,
  collateralFor,
  inconclusiveSettlement,
  rejectedSettlement,
  rejectionSlash,
  tallyOutcome,
} from "../packages/sdk/src/settlement";

/** Parameters whose shares of odd amounts all round: every remainder has to land where the contract puts it. */
const ODD_PARAMS: EscrowParams = {
  ...TEST_PARAMS,
  protocolFeeBps: 333,
  verifierShareBps: 2999,
  collateralRatioBps: 15_001,
  timeoutSlashBps: 777,
  compensationBps: 3333,
  verifierRewardBps: 4321,
  minFee: 0n,
  minCollateral: 0n,
  challengeBond: 10n ** 18n + 3n,
};

const ONE_WEI = 1n;
const ODD_FEE = 10n ** 18n + 7n;
const MAX_ROYALTY = 2000;

type Vote = "agree" | "disagree" | "silent";

/** Votes by seat: `agree` agreeing, then `disagree` disagreeing, then `silent` seats that never commit. */
function votes(agree: number, disagree: number, silent = 0): Vote[] {
  return [...Array(agree).fill("agree"), ...Array(disagree).fill("disagree"), ...Array(silent).fill("silent")];
}

const count = (vs: Vote[], v: Vote): bigint => BigInt(vs.filter((x) => x === v).length);

interface Settings extends Verification {
  /** Every account that may hold a seat, by lower-case address. */
  signers: Map<string, Signer>;
}

/** The verification fixture under ODD_PARAMS, with 15 more verifiers (20 in all): enough for a committee of 15
 * even with a challenger excluded. */
async function settlementFixture(): Promise<Settings> {
  const v = await verificationFixture();
  await v.escrow.connect(v.governance).setParams(ODD_PARAMS);
  const signers = new Map<string, Signer>(v.actors.map((s) => [s.address.toLowerCase(), s]));
  for (let i = 0; i < 15; i++) {
    const wallet = ethers.Wallet.createRandom().connect(ethers.provider);
    await setBalance(wallet.address, ethers.parseEther("10"));
    await v.token.connect(v.governance).mint(wallet.address, FUNDS);
    await v.token.connect(wallet).approve(v.staking, ethers.MaxUint256);
    await v.staking.connect(wallet).stake(STAKE);
    await v.staking.connect(wallet).setVerifier(true);
    signers.set(wallet.address.toLowerCase(), wallet);
  }
  return { ...v, params: await v.escrow.params(), signers };
}

let models = 0;

/** Registers a model with these terms (the fixture's tolerances) and requests a job on it. */
async function requestJob(f: Settings, mode: number, fee: bigint, royaltyBps: number, committeeSize = 1): Promise<Job> {
  const hash = ethers.id(`settlement model ${++models}`);
  const terms = { price: fee, mode, committeeSize, royaltyBps, relTolerance: 10_000, absTolerance: 1000 };
  await f.registry.connect(f.modelOwner).registerModel(hash, "ipfs://settlement", terms, ethers.ZeroHash, "0x");
  return f.request(await f.registry.modelCount());
}

/** Lets time run to `t` unless it already has. */
async function passTo(t: bigint): Promise<void> {
  if (BigInt(await time.latest()) < t) await time.increaseTo(t);
}

/** The committee of a job in Voting casts `vs` seat by seat; silent seats let the windows run out. */
async function vote(f: Settings, job: Job, vs: Vote[]): Promise<void> {
  const seats = await f.escrow.committee(job.id);
  expect(seats.length, "committee size").to.equal(vs.length);
  const voters = seats
    .map((seat, i) => ({ i, signer: f.signers.get(seat.verifier.toLowerCase())!, agree: vs[i] === "agree" }))
    .filter((s) => vs[s.i] !== "silent");
  const salt = (i: number) => ethers.id(`salt ${job.id} ${i}`);
  for (const s of voters) {
    const verifier = await s.signer.getAddress();
    const commitment = await f.escrow.voteCommitment(job.id, verifier, s.agree, salt(s.i));
    await f.escrow.connect(s.signer).commitVote(job.id, s.i, commitment);
  }
  const state = await f.escrow.jobState(job.id);
  if (voters.length < vs.length) await time.increaseTo(state.windowEnd); // reveals open once commits close
  const sealed = await sealedCommitments(f.escrow, BigInt(job.id));
  for (const s of voters) await f.escrow.connect(s.signer).revealVote(job.id, s.i, s.agree, salt(s.i), sealed);
  if (voters.length < vs.length) await time.increaseTo(state.revealEnd);
}

/** The outcome and settlement `tx` emitted in `JobSettled` for `job`. */
async function settledBy(f: Settings, tx: ContractTransactionResponse, job: Job) {
  const receipt = await tx.wait();
  for (const log of receipt!.logs) {
    const parsed = f.escrow.interface.parseLog(log);
    if (parsed?.name === "JobSettled" && parsed.args.jobId === BigInt(job.id)) {
      return { outcome: Number(parsed.args.outcome), settlement: toSettlement(parsed.args.settlement) };
    }
  }
  throw new Error(`no JobSettled for job ${job.id}`);
}

/** Settles `job` and checks the chain's JobSettled against the reference's outcome and settlement. */
async function expectSettled(f: Settings, job: Job, outcome: number, expected: Settlement): Promise<Settlement> {
  const settled = await settledBy(f, await f.escrow.connect(f.other).settle(job, "0x"), job);
  expect(settled.outcome, "outcome").to.equal(outcome);
  expect(settled.settlement).to.deep.equal(expected);
  return settled.settlement;
}

/** A committee job submitted and voted on as `vs`, its committee of `vs.length` drawn after the submission. */
async function committeeJob(f: Settings, fee: bigint, royaltyBps: number, vs: Vote[]): Promise<Job> {
  const job = await requestJob(f, VerificationMode.Committee, fee, royaltyBps, vs.length);
  await f.escrow.connect(f.worker).submitResult(job, OUTPUT);
  await drawCommittee(f, job);
  await vote(f, job, vs);
  return job;
}

/** An optimistic job challenged by verifiers[0], its committee of `vs.length` voting as `vs`. */
async function challengedJob(f: Settings, fee: bigint, royaltyBps: number, vs: Vote[]) {
  const job = await requestJob(f, VerificationMode.Optimistic, fee, royaltyBps, vs.length);
  await f.escrow.connect(f.worker).submitResult(job, OUTPUT);
  await f.escrow.connect(f.verifiers[0]).challenge(job);
  await drawCommittee(f, job);
  const { challenger, bond } = await f.escrow.challengeOf(job.id);
  expect(challenger).to.equal(f.verifiers[0].address);
  await vote(f, job, vs);
  return { job, challenge: { bond } };
}

/**
 * Takes all but `left` of the worker's stake, the collateral it has locked included, through a vote penalty:
 * the worker opts in as a verifier, is drawn as the only member of a job `other` works on, requested under a
 * parameters version whose vote penalty is STAKE - left, and never reveals.
 */
async function drainWorker(f: Settings, left: bigint): Promise<void> {
  await f.escrow.connect(f.governance).setParams({ ...ODD_PARAMS, votePenalty: STAKE - left });
  await f.staking.connect(f.worker).setVerifier(true);
  await f.staking.connect(f.other).stake(STAKE);
  const job = await requestJob(f, VerificationMode.Committee, ODD_FEE, 0, 1);
  await f.escrow.connect(f.other).submitResult(job, OUTPUT);
  await seedWithMember(f, job, f.worker.address);
  await drawCommittee(f, job);
  await time.increaseTo((await f.escrow.jobState(job.id)).revealEnd);
  await expect(f.escrow.settle(job, "0x"))
    .to.emit(f.escrow, "VerifierPenalized")
    .withArgs(job.id, f.worker.address, STAKE - left, false);
  const account = await f.staking.accountOf(f.worker.address);
  expect([account.active, account.locked]).to.deep.equal([left, left]);
}

const FEES_AND_ROYALTIES: [bigint, number][] = [
  [ONE_WEI, 0],
  [ONE_WEI, MAX_ROYALTY],
  [ODD_FEE, 0],
  [ODD_FEE, MAX_ROYALTY],
];

describe("settlement reference (packages/sdk/src/settlement.ts) against JobEscrow", function () {
  describe("#collateralFor", function () {
    it("is the collateral the escrow snapshots: the ratio of the fee above the floor, the floor below it", async function () {
      const f = await loadFixture(settlementFixture);
      const p = await f.escrow.paramsOf(await f.escrow.paramsId());
      for (const fee of [ODD_FEE, ONE_WEI]) {
        const job = await requestJob(f, VerificationMode.None, fee, 0);
        expect(collateralFor(fee, p), `fee ${fee}`).to.equal(BigInt(job.collateral));
      }
      expect(collateralFor(ODD_FEE, p)).to.equal((ODD_FEE * p.collateralRatioBps) / 10_000n);
      expect(collateralFor(ONE_WEI, { collateralRatioBps: 15_001, minCollateral: 5n })).to.equal(5n);
    });
  });

  describe("#expiredSettlement", function () {
    for (const [fee, royalty] of FEES_AND_ROYALTIES) {
      it(`refunds a fee of ${fee} wei (royalty ${royalty} bps) never claimed`, async function () {
        const f = await loadFixture(settlementFixture);
        const job = await requestJob(f, VerificationMode.None, fee, royalty);
        await time.increaseTo(job.deadline);
        await expectSettled(f, job, JobOutcome.Expired, expiredSettlement(job));
      });
    }
  });

  describe("#abandonedSettlement", function () {
    for (const [fee, royalty] of FEES_AND_ROYALTIES) {
      it(`slashes timeoutSlashBps of the collateral of a fee of ${fee} wei (royalty ${royalty} bps)`, async function () {
        const f = await loadFixture(settlementFixture);
        const job = await requestJob(f, VerificationMode.None, fee, royalty);
        await f.escrow.connect(f.worker).claim(job);
        await time.increaseTo((await f.escrow.jobState(job.id)).windowEnd);
        const p = await f.escrow.paramsOf(job.paramsId);
        await expectSettled(f, job, JobOutcome.Abandoned, abandonedSettlement(job, p, abandonmentSlash(job, p)));
      });
    }

    describe("when the worker's stake no longer covers the slash", function () {
      it("splits what the slash took, not what it asked for", async function () {
        const f = await loadFixture(settlementFixture);
        const job = await requestJob(f, VerificationMode.None, ODD_FEE, MAX_ROYALTY);
        await f.escrow.connect(f.worker).claim(job);
        const p = await f.escrow.paramsOf(job.paramsId);
        const asked = abandonmentSlash(job, p);
        const left = asked / 3n;
        await drainWorker(f, left);
        await passTo((await f.escrow.jobState(job.id)).windowEnd);
        const settled = await expectSettled(f, job, JobOutcome.Abandoned, abandonedSettlement(job, p, left));
        expect(settled.slashed).to.be.lessThan(asked);
      });
    });
  });

  describe("#acceptedSettlement", function () {
    describe("without a committee", function () {
      for (const [fee, royalty] of FEES_AND_ROYALTIES) {
        it(`pays out a None-mode fee of ${fee} wei (royalty ${royalty} bps) on submission`, async function () {
          const f = await loadFixture(settlementFixture);
          const job = await requestJob(f, VerificationMode.None, fee, royalty);
          const p = await f.escrow.paramsOf(job.paramsId);
          const settled = await settledBy(f, await f.escrow.connect(f.worker).submitResult(job, OUTPUT), job);
          expect(settled.outcome).to.equal(JobOutcome.Accepted);
          expect(settled.settlement).to.deep.equal(acceptedSettlement(job, p, 0n));
        });
      }

      it("pays out an unchallenged optimistic fee once its window closes", async function () {
        const f = await loadFixture(settlementFixture);
        const job = await requestJob(f, VerificationMode.Optimistic, ODD_FEE, MAX_ROYALTY, 3);
        await f.escrow.connect(f.worker).submitResult(job, OUTPUT);
        await time.increaseTo((await f.escrow.jobState(job.id)).windowEnd);
        const p = await f.escrow.paramsOf(job.paramsId);
        await expectSettled(f, job, JobOutcome.Accepted, acceptedSettlement(job, p, 0n));
      });
    });

    const committees: [bigint, number, Vote[]][] = [
      [ONE_WEI, MAX_ROYALTY, votes(1, 0)],
      [ODD_FEE, 0, votes(1, 0)],
      [ODD_FEE, MAX_ROYALTY, votes(3, 0)],
      [ODD_FEE, 0, votes(2, 1)],
      [ONE_WEI, 0, votes(2, 0, 1)],
      [ODD_FEE, MAX_ROYALTY, votes(8, 7)],
      [ODD_FEE, 0, votes(11, 2, 2)],
      [ONE_WEI, MAX_ROYALTY, votes(15, 0)],
    ];
    for (const [fee, royalty, vs] of committees) {
      it(`shares the pool of a fee of ${fee} wei (royalty ${royalty} bps) among ${count(vs, "agree")} of ${vs.length} agreeing`, async function () {
        const f = await loadFixture(settlementFixture);
        const job = await committeeJob(f, fee, royalty, vs);
        const p = await f.escrow.paramsOf(job.paramsId);
        expect(tallyOutcome(vs.length, count(vs, "agree"), count(vs, "disagree"))).to.equal(JobOutcome.Accepted);
        await expectSettled(f, job, JobOutcome.Accepted, acceptedSettlement(job, p, count(vs, "agree")));
      });
    }

    const forfeits: [bigint, number, Vote[]][] = [
      [ODD_FEE, MAX_ROYALTY, votes(1, 0)],
      [ONE_WEI, 0, votes(2, 1)],
      [ODD_FEE, 0, votes(3, 0)],
      [ODD_FEE, MAX_ROYALTY, votes(8, 6, 1)],
    ];
    for (const [fee, royalty, vs] of forfeits) {
      it(`splits a forfeited bond with a fee of ${fee} wei (royalty ${royalty} bps), ${count(vs, "agree")} of ${vs.length} agreeing`, async function () {
        const f = await loadFixture(settlementFixture);
        const { job, challenge } = await challengedJob(f, fee, royalty, vs);
        const p = await f.escrow.paramsOf(job.paramsId);
        await expectSettled(f, job, JobOutcome.Accepted, acceptedSettlement(job, p, count(vs, "agree"), challenge));
      });
    }
  });

  describe("#rejectedSettlement", function () {
    const committees: [bigint, number, Vote[]][] = [
      [ONE_WEI, 0, votes(0, 1)],
      [ODD_FEE, MAX_ROYALTY, votes(0, 1)],
      [ODD_FEE, 0, votes(0, 3)],
      [ODD_FEE, MAX_ROYALTY, votes(1, 2)],
      [ONE_WEI, MAX_ROYALTY, votes(0, 2, 1)],
      [ODD_FEE, 0, votes(7, 8)],
      [ODD_FEE, MAX_ROYALTY, votes(0, 9, 6)],
      [ONE_WEI, 0, votes(2, 13)],
    ];
    for (const [fee, royalty, vs] of committees) {
      it(`slashes the collateral of a fee of ${fee} wei (royalty ${royalty} bps), ${count(vs, "disagree")} of ${vs.length} disagreeing`, async function () {
        const f = await loadFixture(settlementFixture);
        const job = await committeeJob(f, fee, royalty, vs);
        const p = await f.escrow.paramsOf(job.paramsId);
        expect(tallyOutcome(vs.length, count(vs, "agree"), count(vs, "disagree"))).to.equal(JobOutcome.Rejected);
        const expected = rejectedSettlement(job, p, count(vs, "disagree"), rejectionSlash(job));
        await expectSettled(f, job, JobOutcome.Rejected, expected);
      });
    }

    const won: [bigint, number, Vote[]][] = [
      [ONE_WEI, MAX_ROYALTY, votes(0, 1)],
      [ODD_FEE, 0, votes(0, 1)],
      [ODD_FEE, MAX_ROYALTY, votes(1, 2)],
      [ODD_FEE, 0, votes(0, 3)],
      [ONE_WEI, 0, votes(5, 10)],
    ];
    for (const [fee, royalty, vs] of won) {
      it(`returns a won bond and shares the pool with the challenger: fee ${fee} wei (royalty ${royalty} bps), ${count(vs, "disagree")} of ${vs.length} disagreeing`, async function () {
        const f = await loadFixture(settlementFixture);
        const { job, challenge } = await challengedJob(f, fee, royalty, vs);
        const p = await f.escrow.paramsOf(job.paramsId);
        const expected = rejectedSettlement(job, p, count(vs, "disagree"), rejectionSlash(job), challenge);
        await expectSettled(f, job, JobOutcome.Rejected, expected);
      });
    }

    describe("when the worker's stake no longer covers the collateral", function () {
      it("splits what the slash took, not the whole collateral", async function () {
        const f = await loadFixture(settlementFixture);
        const job = await committeeJob(f, ODD_FEE, MAX_ROYALTY, votes(0, 3));
        const p = await f.escrow.paramsOf(job.paramsId);
        const left = rejectionSlash(job) / 3n;
        await drainWorker(f, left);
        const settled = await expectSettled(f, job, JobOutcome.Rejected, rejectedSettlement(job, p, 3n, left));
        expect(settled.slashed).to.be.lessThan(rejectionSlash(job));
      });
    });
  });

  describe("#inconclusiveSettlement", function () {
    const committees: [bigint, number, Vote[]][] = [
      [ODD_FEE, MAX_ROYALTY, votes(0, 0, 1)],
      [ONE_WEI, 0, votes(1, 1, 1)],
      [ODD_FEE, 0, votes(7, 7, 1)],
    ];
    for (const [fee, royalty, vs] of committees) {
      it(`refunds a fee of ${fee} wei (royalty ${royalty} bps) when ${vs.length} seats reach no majority`, async function () {
        const f = await loadFixture(settlementFixture);
        const job = await committeeJob(f, fee, royalty, vs);
        expect(tallyOutcome(vs.length, count(vs, "agree"), count(vs, "disagree"))).to.equal(JobOutcome.Inconclusive);
        await expectSettled(f, job, JobOutcome.Inconclusive, inconclusiveSettlement(job));
      });
    }

    for (const fee of [ODD_FEE, 10n ** 17n + 1n]) {
      it(`pays the worker out of the challenger's bond when a challenge reaches no majority (fee ${fee} wei)`, async function () {
        const f = await loadFixture(settlementFixture);
        const { job, challenge } = await challengedJob(f, fee, MAX_ROYALTY, votes(1, 1, 1));
        const params = await f.escrow.paramsOf(job.paramsId);
        expect(challenge.bond).to.equal(challengeBondFor(job, params));
        const settled = await expectSettled(f, job, JobOutcome.Inconclusive, inconclusiveSettlement(job, challenge));
        expect(settled.workerPayment + settled.royalty + settled.treasuryPayment).to.equal(fee);
        expect(settled.challengerPayment).to.equal(challenge.bond - fee);
      });
    }
  });
});
