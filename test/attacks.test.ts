import { jobFromTx } from "../packages/sdk/src/job";
/**
 * Hostile actors: each `describe` is an attack, each `it` the defence that makes it fail. Attacks already covered
 * elsewhere in the suite are not repeated here; docs/THREAT-MODEL.md maps every attack to its test.
 */
import { expect } from "chai";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { ethers, network } from "hardhat";
import { loadFixture, setCode, time } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther, parseUnits, type AddressLike, type ContractTransactionResponse } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { HookToken, JobEscrow, VerifierStaking } from "../typechain-types";
import {
  deployProtocol,
  deployProtocolFixture,
  FUNDS,
  INPUT,
  OUTPUT,
  PRICE,
  STAKE,
  TEST_PARAMS,
  termsFor,
  type Job,
  type Protocol,
} from "./fixtures/protocol";
import { DAY, settlement, type Deployed } from "./fixtures/escrow";
import {
  commitAll,
  commitmentOf,
  drawCommittee,
  committeeVotingFixture,
  expectConservation,
  revealAll,
  saltOf,
  seatOf,
  verificationFixture,
  voteAll,
  votingJob,
  type Verification,
} from "./fixtures/verification";
import { exitVerifiers } from "./fixtures/staking";
import { JobOutcome, JobStatus, VerificationMode, VoteState } from "../packages/sdk/src/params";
import { sealCommitment, sealedCommitments, voteCommitment } from "../packages/sdk/src/votes";
import { currentTerms } from "../packages/sdk/src/terms";
import {
  abandonedSettlement,
  abandonmentSlash,
  acceptedSettlement,
  BPS,
  collateralFor,
} from "../packages/sdk/src/settlement";

const COLLATERAL = collateralFor(PRICE, TEST_PARAMS);
const CALLBACK_GAS = 300_000;

/** The 4-byte selector of an error of the escrow's ABI (its own, or inherited such as ReentrancyGuardReentrantCall). */
function selectorOf(escrow: JobEscrow, name: string): string {
  return escrow.interface.getError(name)!.selector;
}

/** The custom error a mined, reverted transaction reverted with, as [name, args], read from its trace. */
async function revertOf(escrow: JobEscrow, tx: ContractTransactionResponse): Promise<[string, unknown[]]> {
  const trace = await network.provider.send("debug_traceTransaction", [
    tx.hash,
    { disableMemory: true, disableStack: true, disableStorage: true },
  ]);
  expect(trace.failed, "the transaction reverted").to.equal(true);
  const data = String(trace.returnValue);
  const parsed = escrow.interface.parseError(data.startsWith("0x") ? data : `0x${data}`);
  return [parsed!.name, [...parsed!.args]];
}

/** Everything that holds or is owed money: token balances of both contracts, every credit and every stake. */
async function moneySnapshot(c: Deployed, accounts: AddressLike[]): Promise<string[]> {
  const rows = [
    `escrow holds ${await c.token.balanceOf(c.escrow)}`,
    `staking holds ${await c.token.balanceOf(c.staking)}`,
  ];
  for (const a of accounts) {
    const address = await ethers.resolveAddress(a);
    const s = await c.staking.accountOf(address);
    rows.push(
      `${address}: tokens ${await c.token.balanceOf(address)}, credited ${await c.escrow.balanceOf(address)}, ` +
        `active ${s.active}, locked ${s.locked}, unbonding ${s.unbonding}`,
    );
  }
  return rows;
}

// ---------------------------------------------------------------- a protocol whose token has transfer hooks

/** The protocol deployed on a HookToken (which anyone may mint): a worker and five verifiers staked. */
type HookProtocol = Protocol<HookToken>;

async function hookTokenFixture(): Promise<HookProtocol> {
  return deployProtocol(await ethers.deployContract("HookToken"));
}

describe("Hostile actors", function () {
  describe("Re-entrancy through a token with transfer hooks (the protocol token calls back during transfers)", function () {
    it("re-entering requestInference during the fee pull reverts with ReentrancyGuardReentrantCall and opens no job", async function () {
      const h = await loadFixture(hookTokenFixture);
      const deadline = BigInt(await time.latest()) + DAY;
      const inner = h.escrow.interface.encodeFunctionData("requestInference", [
        h.models.none,
        await currentTerms(h.registry, h.models.none),
        INPUT,
        deadline,
        0,
      ]);
      await h.token.setHook(h.escrow, inner, true);
      const tx = h.escrow
        .connect(h.requester)
        .requestInference(h.models.none, await currentTerms(h.registry, h.models.none), INPUT, deadline, 0);
      await expect(tx).to.be.revertedWithCustomError(h.escrow, "ReentrancyGuardReentrantCall");
      expect(await h.escrow.jobCount()).to.equal(0n);
      expect(await h.token.balanceOf(h.escrow)).to.equal(0n);
    });

    it("re-entering claim during a request is refused; the request completes and the other job stays open", async function () {
      const h = await loadFixture(hookTokenFixture);
      const first = await h.request(h.models.none);
      await h.token.setHook(h.escrow, h.escrow.interface.encodeFunctionData("claim", [first]), false);
      const second = await h.request(h.models.none);
      expect(await h.token.hookCalls()).to.equal(1n);
      expect(await h.token.lastOk()).to.equal(false);
      expect(await h.token.lastReturn()).to.equal(selectorOf(h.escrow, "ReentrancyGuardReentrantCall"));
      expect((await h.escrow.jobState(first.id)).status).to.equal(JobStatus.Requested);
      expect((await h.escrow.jobState(second.id)).status).to.equal(JobStatus.Requested);
      await expectConservation(h);
    });

    it("re-entering settle from the slash transfer is refused: the abandoned job settles once, the other due job later, once", async function () {
      const h = await loadFixture(hookTokenFixture);
      const abandoned = await h.request(h.models.none);
      await h.escrow.connect(h.worker).claim(abandoned);
      const expiring = await h.request(h.models.none, { deadline: BigInt(await time.latest()) + 60n });
      await time.increase(TEST_PARAMS.submissionWindow + 1);
      // The abandonment slash moves tokens from staking to the escrow: the hook fires inside settle.
      await h.token.setHook(h.escrow, h.escrow.interface.encodeFunctionData("settle", [expiring, "0x"]), false);
      await expect(h.escrow.settle(abandoned, "0x"))
        .to.emit(h.escrow, "JobSettled")
        .withArgs(abandoned.id, JobOutcome.Abandoned, (s: unknown) => s !== undefined);
      expect(await h.token.hookCalls()).to.equal(1n);
      expect(await h.token.lastReturn()).to.equal(selectorOf(h.escrow, "ReentrancyGuardReentrantCall"));
      expect((await h.escrow.jobState(expiring.id)).status).to.equal(JobStatus.Requested);
      await expect(h.escrow.settle(expiring, "0x"))
        .to.emit(h.escrow, "JobSettled")
        .withArgs(expiring.id, JobOutcome.Expired, settlement({ requesterRefund: PRICE }));
      await expect(h.escrow.settle(expiring, "0x")).to.be.revertedWithCustomError(h.escrow, "JobEscrowInvalidStatus");
      await expectConservation(h);
    });

    it("re-entering withdraw from the payout transfer is refused: the account is paid exactly once", async function () {
      const h = await loadFixture(hookTokenFixture);
      const consumer = await ethers.deployContract("ReenteringConsumer", [h.escrow]);
      await h.token.mint(consumer, FUNDS);
      const tx = await consumer.request(h.models.none, INPUT, PRICE, BigInt(await time.latest()) + 60n, 0);
      const job = await jobFromTx(h.escrow, tx);
      await time.increase(61);
      await h.escrow.settle(job, "0x");
      expect(await h.escrow.balanceOf(consumer)).to.equal(PRICE);

      // While the escrow pays the consumer, the token calls the consumer, which calls withdraw again.
      await consumer.setReentry(h.escrow.interface.encodeFunctionData("withdraw"));
      await h.token.setHook(consumer, consumer.interface.encodeFunctionData("reenter"), false);
      await expect(consumer.withdrawFromEscrow()).to.changeTokenBalances(
        h.token,
        [h.escrow, consumer],
        [-PRICE, PRICE],
      );
      expect(await consumer.reentries()).to.equal(1n);
      expect(await consumer.lastReentryOk()).to.equal(false);
      expect(await consumer.lastReentryReturn()).to.equal(selectorOf(h.escrow, "ReentrancyGuardReentrantCall"));
      expect(await h.escrow.balanceOf(consumer)).to.equal(0n);
      await expectConservation(h, [consumer]);
    });

    it("re-entering settle from a challenge's bond pull is refused; the challenge goes on and the job waits for its committee", async function () {
      const h = await loadFixture(hookTokenFixture);
      const job = await h.request(h.models.optimistic);
      await h.escrow.connect(h.worker).submitResult(job, OUTPUT);
      await h.token.setHook(h.escrow, h.escrow.interface.encodeFunctionData("settle", [job, OUTPUT]), false);
      await expect(h.escrow.connect(h.verifiers[0]).challenge(job)).to.emit(h.escrow, "ResultChallenged");
      expect(await h.token.lastReturn()).to.equal(selectorOf(h.escrow, "ReentrancyGuardReentrantCall"));
      expect((await h.escrow.jobState(job.id)).status).to.equal(JobStatus.Drawing);
      await expectConservation(h);
    });
  });

  describe("Re-entrancy through the consumer callback (ReenteringConsumer re-enters and swallows the revert)", function () {
    async function reenteringConsumerFixture() {
      const p = await deployProtocolFixture();
      const consumer = await ethers.deployContract("ReenteringConsumer", [p.escrow]);
      await p.token.connect(p.governance).mint(consumer, FUNDS);
      // A due job of someone else, for the callback to try to settle, and a credit for it to try to withdraw: two
      // refunds, as the consumer's next request takes its fee from the credit.
      const due = await p.request(p.models.none, { deadline: BigInt(await time.latest()) + 60n });
      const refunded = [];
      for (let i = 0; i < 2; i++) {
        const tx = await consumer.request(p.models.none, INPUT, PRICE, BigInt(await time.latest()) + 60n, 0);
        refunded.push(await jobFromTx(p.escrow, tx));
      }
      await time.increase(61);
      for (const job of refunded) await p.escrow.settle(job, "0x");
      const open = await p.request(p.models.none);
      return { ...p, consumer, due, open };
    }
    type Fixture = Awaited<ReturnType<typeof reenteringConsumerFixture>>;

    const reentries: Array<[string, (f: Fixture) => Promise<string>]> = [
      ["settle of another due job", async (f) => f.escrow.interface.encodeFunctionData("settle", [f.due, "0x"])],
      ["withdraw", async (f) => f.escrow.interface.encodeFunctionData("withdraw")],
      ["submitResult", async (f) => f.escrow.interface.encodeFunctionData("submitResult", [f.open, OUTPUT])],
      ["claim", async (f) => f.escrow.interface.encodeFunctionData("claim", [f.open])],
      [
        "requestInference",
        async (f) =>
          f.escrow.interface.encodeFunctionData("requestInference", [
            f.models.none,
            await currentTerms(f.registry, f.models.none),
            INPUT,
            BigInt(await time.latest()) + DAY,
            0,
          ]),
      ],
    ];

    for (const [name, data] of reentries) {
      it(`re-entering ${name} from the callback gets ReentrancyGuardReentrantCall; settlement completes and pays`, async function () {
        const f = await loadFixture(reenteringConsumerFixture);
        await f.consumer.setReentry(await data(f));
        const job = await jobFromTx(
          f.escrow,
          await f.consumer.request(f.models.optimistic, INPUT, PRICE, BigInt(await time.latest()) + DAY, CALLBACK_GAS),
        );
        await f.escrow.connect(f.worker).submitResult(job, OUTPUT);
        await time.increase(TEST_PARAMS.challengeWindow + 1);
        const jobsBefore = await f.escrow.jobCount();
        const tx = f.escrow.connect(f.other).settle(job, OUTPUT);
        await expect(tx)
          .to.emit(f.escrow, "JobSettled")
          .withArgs(job.id, JobOutcome.Accepted, settlement(acceptedSettlement(job, TEST_PARAMS, 0)));
        await expect(tx)
          .to.emit(f.escrow, "CallbackDelivered")
          .withArgs(job.id, await f.consumer.getAddress(), true);
        await expect(tx).to.changeTokenBalances(f.token, [f.escrow, f.consumer], [0, 0]);

        expect(await f.consumer.reentries()).to.equal(1n);
        expect(await f.consumer.lastReentryOk()).to.equal(false);
        expect(await f.consumer.lastReentryReturn()).to.equal(selectorOf(f.escrow, "ReentrancyGuardReentrantCall"));
        // Nothing the re-entry aimed at happened: the consumer's credit, the other jobs and the job count stand.
        expect(await f.escrow.balanceOf(f.consumer)).to.equal(PRICE);
        expect((await f.escrow.jobState(f.due.id)).status).to.equal(JobStatus.Requested);
        expect((await f.escrow.jobState(f.open.id)).status).to.equal(JobStatus.Requested);
        expect(await f.escrow.jobCount()).to.equal(jobsBefore);
        expect(await f.escrow.balanceOf(f.worker)).to.equal(acceptedSettlement(job, TEST_PARAMS, 0).workerPayment);
        await expectConservation(f, [f.consumer]);
      });
    }
  });

  describe("Front-running: a second worker races a claim or a submission in the same block", function () {
    /** The protocol with `other` staked as a second worker. */
    async function twoWorkersFixture() {
      const v = await verificationFixture();
      await v.staking.connect(v.other).stake(STAKE);
      return v;
    }
    const HONEST = { gasLimit: 1_000_000, maxFeePerGas: parseUnits("100", "gwei"), maxPriorityFeePerGas: 1n };
    const RACER = {
      gasLimit: 1_000_000,
      maxFeePerGas: parseUnits("200", "gwei"),
      maxPriorityFeePerGas: parseUnits("50", "gwei"),
    };

    /** Sends both transactions without mining, then mines them in one block; returns their receipts' statuses. */
    async function inOneBlock(
      send: () => Promise<ContractTransactionResponse[]>,
    ): Promise<ContractTransactionResponse[]> {
      await network.provider.send("evm_setAutomine", [false]);
      try {
        const txs = await send();
        await network.provider.send("evm_mine");
        return txs;
      } finally {
        await network.provider.send("evm_setAutomine", [true]);
      }
    }

    async function expectSameBlockRacerFirst(
      racer: ContractTransactionResponse,
      honest: ContractTransactionResponse,
    ): Promise<void> {
      const r = await ethers.provider.getTransactionReceipt(racer.hash);
      const h = await ethers.provider.getTransactionReceipt(honest.hash);
      expect(r!.blockNumber).to.equal(h!.blockNumber);
      expect(r!.index).to.be.lessThan(h!.index);
      expect(r!.status).to.equal(1);
      expect(h!.status).to.equal(0);
    }

    it("an owner switching a pending Committee request to None on a new version in the same block: the request reverts with JobEscrowTermsChanged and pays nothing", async function () {
      const v = await loadFixture(twoWorkersFixture);
      const model = v.models.committee;
      const agreed = await currentTerms(v.registry, model);
      const deadline = BigInt(await time.latest()) + DAY;
      const balance = await v.token.balanceOf(v.requester);
      // Before the fix the owner's two transactions, placed ahead of the request, made it a None job on bytes the
      // requester never saw, paid at once for any output.
      const [honest, ...owner] = await inOneBlock(async () => [
        await v.escrow.connect(v.requester).requestInference(model, agreed, INPUT, deadline, 0, HONEST),
        await v.registry.connect(v.modelOwner).setTerms(model, termsFor(VerificationMode.None), RACER),
        await v.registry
          .connect(v.modelOwner)
          .publishVersion(model, ethers.id("other bytes"), "ipfs://other", ethers.ZeroHash, "0x", RACER),
      ]);
      for (const tx of owner) expect((await ethers.provider.getTransactionReceipt(tx.hash))!.status).to.equal(1);
      const h = (await ethers.provider.getTransactionReceipt(honest.hash))!;
      expect(h.status).to.equal(0);
      const [name, args] = await revertOf(v.escrow, honest);
      expect(name).to.equal("JobEscrowTermsChanged");
      expect(args).to.deep.equal([model, await v.registry.hashJobTerms(agreed), await v.registry.jobTermsHash(model)]);
      expect(await v.escrow.jobCount()).to.equal(0n);
      expect(await v.token.balanceOf(v.requester)).to.equal(balance);
    });

    it("racing claims: the first mined wins, the second reverts with JobEscrowInvalidStatus(Claimed) and locks nothing", async function () {
      const v = await loadFixture(twoWorkersFixture);
      const job = await v.request(v.models.none);
      const [honest, racer] = await inOneBlock(async () => [
        await v.escrow.connect(v.worker).claim(job, HONEST),
        await v.escrow.connect(v.other).claim(job, RACER),
      ]);
      await expectSameBlockRacerFirst(racer, honest);
      expect(await revertOf(v.escrow, honest)).to.deep.equal(["JobEscrowInvalidStatus", [job.id, JobStatus.Claimed]]);
      expect((await v.escrow.jobState(job.id)).worker).to.equal(v.other.address);
      // The winner is bound like any worker (collateral locked); the loser lost only gas.
      expect((await v.staking.accountOf(v.other.address)).locked).to.equal(COLLATERAL);
      expect((await v.staking.accountOf(v.worker.address)).locked).to.equal(0n);
    });

    it("racing submissions of an open job: the first mined is paid, the second reverts with JobEscrowInvalidStatus and its stake is untouched", async function () {
      const v = await loadFixture(twoWorkersFixture);
      const job = await v.request(v.models.none);
      const [honest, racer] = await inOneBlock(async () => [
        await v.escrow.connect(v.worker).submitResult(job, OUTPUT, HONEST),
        await v.escrow.connect(v.other).submitResult(job, OUTPUT, RACER), // copied from the mempool
      ]);
      await expectSameBlockRacerFirst(racer, honest);
      expect(await revertOf(v.escrow, honest)).to.deep.equal(["JobEscrowInvalidStatus", [job.id, JobStatus.Settled]]);
      expect(await v.escrow.balanceOf(v.other)).to.equal(acceptedSettlement(job, TEST_PARAMS, 0).workerPayment);
      expect(await v.escrow.balanceOf(v.worker)).to.equal(0n);
      const account = await v.staking.accountOf(v.worker.address);
      expect([account.active, account.locked, account.unbonding]).to.deep.equal([STAKE, 0n, 0n]);
      await expectConservation(v);
    });

    it("a worker that claims first cannot have its output copied: a copier's submission reverts with JobEscrowNotWorker", async function () {
      const v = await loadFixture(twoWorkersFixture);
      const job = await v.request(v.models.none);
      await v.escrow.connect(v.worker).claim(job);
      const [honest, racer] = await inOneBlock(async () => [
        await v.escrow.connect(v.worker).submitResult(job, OUTPUT, HONEST),
        await v.escrow.connect(v.other).submitResult(job, OUTPUT, RACER),
      ]);
      const r = await ethers.provider.getTransactionReceipt(racer.hash);
      const h = await ethers.provider.getTransactionReceipt(honest.hash);
      expect(r!.index).to.be.lessThan(h!.index);
      expect([r!.status, h!.status]).to.deep.equal([0, 1]);
      expect(await revertOf(v.escrow, racer)).to.deep.equal(["JobEscrowNotWorker", [job.id, v.other.address]]);
      expect(await v.escrow.balanceOf(v.worker)).to.equal(acceptedSettlement(job, TEST_PARAMS, 0).workerPayment);
      expect(await v.escrow.balanceOf(v.other)).to.equal(0n);
      expect((await v.staking.accountOf(v.other.address)).active).to.equal(STAKE);
      await expectConservation(v);
    });
  });

  describe("Vote copying: a lazy committee member waits for the others' votes", function () {
    /** The commitments posted on `jobId` so far, read from its VoteCommitted events: verifier → seat, commitment. */
    async function postedCommitments(
      s: Verification,
      jobId: bigint,
    ): Promise<Map<string, { seat: bigint; commitment: string }>> {
      const events = await s.escrow.queryFilter(s.escrow.filters.VoteCommitted(jobId));
      return new Map(events.map((e) => [e.args.verifier, { seat: e.args.seat, commitment: e.args.commitment }]));
    }

    it("a member that committed agree cannot switch to disagree after seeing the others reveal disagree (JobEscrowCommitmentMismatch)", async function () {
      const s = await loadFixture(committeeVotingFixture);
      const [a, b, lazy] = s.members;
      const id = BigInt(s.job.id);
      await commitAll(s, id, [a, b, lazy], [false, false, true]); // the lazy one guessed "agree" without running
      await revealAll(s, id, [a, b], [false, false]);
      const seat = await seatOf(s, id, lazy.address);
      const sealed = await sealedCommitments(s.escrow, id);
      await expect(s.escrow.connect(lazy).revealVote(id, seat, false, saltOf(id, lazy.address), sealed))
        .to.be.revertedWithCustomError(s.escrow, "JobEscrowCommitmentMismatch")
        .withArgs(id, lazy.address);
      // Its only choices left are to reveal its guess or not at all: either way it loses the vote penalty.
      await time.increaseTo(s.revealEnd + 1n);
      await expect(s.escrow.settle(s.job, "0x"))
        .to.emit(s.escrow, "VerifierPenalized")
        .withArgs(id, lazy.address, s.params.votePenalty, false);
      expect((await s.escrow.jobState(id)).status).to.equal(JobStatus.Rejected);
      await expectConservation(s);
    });

    it("a member cannot slip a new commitment into the sealed list at reveal time (JobEscrowCommitmentsMismatch)", async function () {
      const s = await loadFixture(committeeVotingFixture);
      const [a, b, lazy] = s.members;
      const id = BigInt(s.job.id);
      await commitAll(s, id, [a, b, lazy], [false, false, true]);
      await revealAll(s, id, [a, b], [false, false]);
      const seat = await seatOf(s, id, lazy.address);
      const sealed = await sealedCommitments(s.escrow, id);
      // The vote it now wants, under a fresh salt, sealed with its own seat: it opens, but was never committed.
      const salt = ethers.id("a salt chosen after the others revealed");
      const forged = sealCommitment(seat, voteCommitment(id, lazy.address, false, salt));
      const own = sealed.indexOf(sealCommitment(seat, await commitmentOf(s, id, lazy.address, true)));
      expect(own, "the lazy member's sealed commitment is in the list").to.be.greaterThanOrEqual(0);
      const replaced = sealed.map((c, i) => (i === own ? forged : c));
      for (const list of [replaced, [...sealed, forged], [forged]]) {
        await expect(s.escrow.connect(lazy).revealVote(id, seat, false, salt, list))
          .to.be.revertedWithCustomError(s.escrow, "JobEscrowCommitmentsMismatch")
          .withArgs(id);
      }
      // The true list, out of order, is refused as well: the escrow replays the commits in the order they were made.
      await expect(s.escrow.connect(lazy).revealVote(id, seat, true, saltOf(id, lazy.address), [...sealed].reverse()))
        .to.be.revertedWithCustomError(s.escrow, "JobEscrowCommitmentsMismatch")
        .withArgs(id);
      expect((await s.escrow.committee(id))[seat].vote).to.equal(VoteState.Committed);
    });

    it("a member that copies another member's commitment into its own seat cannot reveal it: the commitment binds the address (JobEscrowCommitmentMismatch)", async function () {
      const s = await loadFixture(committeeVotingFixture);
      const [a, copier, c] = s.members;
      const id = BigInt(s.job.id);
      await commitAll(s, id, [a], [true]);
      const copied = (await postedCommitments(s, id)).get(a.address)!.commitment;
      const copierSeat = await seatOf(s, id, copier.address);
      await s.escrow.connect(copier).commitVote(id, copierSeat, copied); // accepted: it is just 32 bytes
      await commitAll(s, id, [c], [true]);
      await revealAll(s, id, [a, c], [true, true]); // a's salt is now public in its reveal's calldata
      const sealed = await sealedCommitments(s.escrow, id);
      expect(sealed).to.include(sealCommitment(copierSeat, copied));
      // Neither a's vote nor its opposite opens the copy from the copier's address, not even with a's own salt.
      for (const agree of [true, false]) {
        await expect(s.escrow.connect(copier).revealVote(id, copierSeat, agree, saltOf(id, a.address), sealed))
          .to.be.revertedWithCustomError(s.escrow, "JobEscrowCommitmentMismatch")
          .withArgs(id, copier.address);
      }
      // Nor can it reveal from a's seat, which it does not hold.
      const aSeat = await seatOf(s, id, a.address);
      await expect(s.escrow.connect(copier).revealVote(id, aSeat, true, saltOf(id, a.address), sealed))
        .to.be.revertedWithCustomError(s.escrow, "JobEscrowNotCommitteeMember")
        .withArgs(id, copier.address, aSeat);
      // So it never reveals, and pays the vote penalty while the honest majority is paid.
      await time.increaseTo(s.revealEnd + 1n);
      const tx = s.escrow.settle(s.job, "0x");
      await expect(tx).to.emit(s.escrow, "VerifierPenalized").withArgs(id, copier.address, s.params.votePenalty, false);
      await expect(tx)
        .to.emit(s.escrow, "JobSettled")
        .withArgs(id, JobOutcome.Accepted, (x: { rewardedVerifiers: bigint }) => x.rewardedVerifiers === 2n);
      expect(await s.escrow.balanceOf(copier)).to.equal(0n);
      await expectConservation(s);
    });

    it("a colluder's commitment cannot be opened from another seat: a member cannot keep a second vote in a colluder's seat (JobEscrowCommitmentMismatch)", async function () {
      const s = await loadFixture(committeeVotingFixture);
      const [colluder, hedger, c] = s.members;
      const id = BigInt(s.job.id);
      const [colluderSeat, hedgerSeat] = [await seatOf(s, id, colluder.address), await seatOf(s, id, hedger.address)];
      // The hedger commits "agree" in its own seat and has the colluder post its "disagree", made for the hedger's
      // address, so that it could reveal whichever vote the others' reveals make the winning one.
      const hedgeSalt = ethers.id("the hedger's second salt");
      const hedge = voteCommitment(id, hedger.address, false, hedgeSalt);
      await commitAll(s, id, [hedger], [true]);
      await s.escrow.connect(colluder).commitVote(id, colluderSeat, hedge);
      await commitAll(s, id, [c], [false]);
      await revealAll(s, id, [c], [false]);
      const sealed = await sealedCommitments(s.escrow, id);
      // The list holds the hedge sealed with the colluder's seat, not with the hedger's.
      expect(sealed).to.include(sealCommitment(colluderSeat, hedge));
      expect(sealed).to.not.include(sealCommitment(hedgerSeat, hedge));
      await expect(s.escrow.connect(hedger).revealVote(id, hedgerSeat, false, hedgeSalt, sealed))
        .to.be.revertedWithCustomError(s.escrow, "JobEscrowCommitmentMismatch")
        .withArgs(id, hedger.address);
      // The colluder cannot open it either: the commitment names the hedger's address.
      await expect(s.escrow.connect(colluder).revealVote(id, colluderSeat, false, hedgeSalt, sealed))
        .to.be.revertedWithCustomError(s.escrow, "JobEscrowCommitmentMismatch")
        .withArgs(id, colluder.address);
      // Only the vote committed in the hedger's own seat opens.
      await expect(s.escrow.connect(hedger).revealVote(id, hedgerSeat, true, saltOf(id, hedger.address), sealed))
        .to.emit(s.escrow, "VoteRevealed")
        .withArgs(id, hedger.address, true);
    });

    it("a member that waits for the others' reveals before committing finds the commit window closed and is penalised", async function () {
      const s = await loadFixture(committeeVotingFixture);
      const [a, b, lazy] = s.members;
      const id = BigInt(s.job.id);
      await commitAll(s, id, [a, b], [true, true]);
      await time.increaseTo(s.commitEnd + 1n); // reveals open only because the commit window closed
      await revealAll(s, id, [a, b], [true, true]);
      const seat = await seatOf(s, id, lazy.address);
      await expect(s.escrow.connect(lazy).commitVote(id, seat, await commitmentOf(s, id, lazy.address, true)))
        .to.be.revertedWithCustomError(s.escrow, "JobEscrowCommitWindowClosed")
        .withArgs(id, s.commitEnd);
      await time.increaseTo(s.revealEnd + 1n);
      const tx = s.escrow.settle(s.job, "0x");
      await expect(tx).to.emit(s.escrow, "VerifierPenalized").withArgs(id, lazy.address, s.params.votePenalty, false);
      await expect(tx)
        .to.emit(s.escrow, "JobSettled")
        .withArgs(id, JobOutcome.Accepted, (x: unknown) => x !== undefined);
      expect(await s.escrow.balanceOf(lazy)).to.equal(0n);
      expect(await s.escrow.balanceOf(a)).to.be.greaterThan(0n);
      await expectConservation(s);
    });

    it("commitments reveal nothing: two members voting the same way post different commitments", async function () {
      const s = await loadFixture(committeeVotingFixture);
      const [a, b] = s.members;
      const id = BigInt(s.job.id);
      await commitAll(s, id, [a, b], [true, true]);
      // All a copier sees is in the VoteCommitted events (the escrow stores no commitment).
      const posted = await postedCommitments(s, id);
      const [ca, cb] = [posted.get(a.address)!.commitment, posted.get(b.address)!.commitment];
      expect(ca).to.not.equal(cb);
      // Without the salt a copier cannot tell agree from disagree: both candidates differ from the commitment.
      const ZERO_SALT = ethers.ZeroHash;
      expect(ca).to.not.equal(await s.escrow.voteCommitment(id, a.address, true, ZERO_SALT));
      expect(ca).to.not.equal(await s.escrow.voteCommitment(id, a.address, false, ZERO_SALT));
    });
  });

  describe("Griefing: claim-and-abandon loop", function () {
    it("each abandoned claim slashes timeoutSlashBps of the collateral and refunds and compensates the requester: after 3 rounds the attacker lost 3 slashes, the requester gained", async function () {
      const v = await loadFixture(verificationFixture);
      const attacker = v.worker;
      const slashed = abandonmentSlash({ collateral: COLLATERAL }, TEST_PARAMS);
      const abandoned = abandonedSettlement({ fee: PRICE }, TEST_PARAMS, slashed);
      const requesterTokens = await v.token.balanceOf(v.requester);
      for (let round = 0; round < 3; ++round) {
        const job = await v.request(v.models.none);
        await v.escrow.connect(attacker).claim(job);
        await time.increase(TEST_PARAMS.submissionWindow + 1);
        await expect(v.escrow.connect(v.other).settle(job, "0x"))
          .to.emit(v.escrow, "JobSettled")
          .withArgs(job.id, JobOutcome.Abandoned, settlement(abandoned));
      }
      const account = await v.staking.accountOf(attacker.address);
      expect([account.active, account.locked]).to.deep.equal([STAKE - 3n * abandoned.slashed, 0n]);
      await v.escrow.connect(v.requester).withdraw();
      expect(await v.token.balanceOf(v.requester)).to.equal(requesterTokens + 3n * (abandoned.requesterRefund - PRICE));
      await expectConservation(v);
    });

    it("the loop stops when the attacker's free stake no longer covers a collateral (VerifierStakingInsufficientStake)", async function () {
      const v = await loadFixture(verificationFixture);
      // 100 tokens of stake, 3 of collateral per claim: 33 claims at most can be held open at once.
      const jobs: Job[] = [];
      for (let i = 0; i < 33; ++i) jobs.push(await v.request(v.models.none));
      for (const job of jobs) await v.escrow.connect(v.worker).claim(job);
      // 33 claims locked 99 tokens: the 34th job cannot be taken.
      const extra = await v.request(v.models.none);
      await expect(v.escrow.connect(v.worker).claim(extra)).to.be.revertedWithCustomError(
        v.staking,
        "VerifierStakingInsufficientStake",
      );
    });
  });

  describe("Griefing: challenge spam on correct results", function () {
    it("every challenge a committee rejects forfeits its whole bond: two spam challenges cost two bonds, the workers are compensated", async function () {
      const v = await loadFixture(verificationFixture);
      const spammer = v.verifiers[0];
      const bond = v.params.challengeBond;
      const spammerTokens = await v.token.balanceOf(spammer);
      let paid = 0n;
      let paidUnchallenged = 0n;
      for (let i = 0; i < 2; ++i) {
        const job = await v.request(v.models.optimistic);
        await v.escrow.connect(v.worker).submitResult(job, OUTPUT);
        await v.escrow.connect(spammer).challenge(job);
        await expect(v.escrow.connect(spammer).challenge(job))
          .to.be.revertedWithCustomError(v.escrow, "JobEscrowInvalidStatus")
          .withArgs(job.id, JobStatus.Drawing);
        await drawCommittee(v, job);
        await expect(v.escrow.connect(spammer).challenge(job))
          .to.be.revertedWithCustomError(v.escrow, "JobEscrowInvalidStatus")
          .withArgs(job.id, JobStatus.Voting);
        const voting = await votingJob(v, job);
        await voteAll(v, BigInt(job.id), voting.members, [true, true, true]);
        await v.escrow.settle(job, "0x");
        paid += acceptedSettlement(job, v.params, 3n, { bond }).workerPayment;
        paidUnchallenged += acceptedSettlement(job, v.params, 3n).workerPayment;
      }
      expect(await v.token.balanceOf(spammer)).to.equal(spammerTokens - 2n * bond);
      expect(await v.escrow.balanceOf(spammer)).to.equal(0n);
      expect(await v.escrow.balanceOf(v.worker)).to.equal(paid);
      expect(paid - paidUnchallenged).to.equal(2n * ((bond * v.params.compensationBps) / BPS));
      await expectConservation(v);
    });
  });

  describe("Griefing: a requester challenges its own correct result and its allies keep the committee from a majority", function () {
    it("the unresolved challenge is paid for by the challenger: the worker earns its pay, the coalition still pays the fee", async function () {
      const v = await loadFixture(verificationFixture);
      const wealthOf = async (a: HardhatEthersSigner): Promise<bigint> =>
        (await v.token.balanceOf(a)) + (await v.escrow.balanceOf(a)) + (await v.staking.accountOf(a)).active;
      const everyone = [v.requester, v.worker, ...v.verifiers];
      const before = await Promise.all(everyone.map(wealthOf));

      const job = await v.request(v.models.optimistic);
      await v.escrow.connect(v.worker).submitResult(job, OUTPUT);
      const puppet = v.verifiers[0]; // the requester's second identity, a staked verifier
      await v.escrow.connect(puppet).challenge(job);
      await drawCommittee(v, job);
      const voting = await votingJob(v, job);
      const [honest, ally, silentAlly] = voting.members;
      await commitAll(v, BigInt(job.id), [honest, ally], [true, false]);
      await time.increaseTo(voting.commitEnd);
      await revealAll(v, BigInt(job.id), [honest, ally], [true, false]);
      await time.increaseTo(voting.revealEnd);
      const fee = BigInt(job.fee);
      await expect(v.escrow.settle(job, "0x"))
        .to.emit(v.escrow, "JobSettled")
        .withArgs(job.id, JobOutcome.Inconclusive, (x: { requesterRefund: bigint }) => x.requesterRefund === fee);

      const after = await Promise.all(everyone.map(wealthOf));
      const delta = (a: HardhatEthersSigner): bigint => after[everyone.indexOf(a)] - before[everyone.indexOf(a)];
      const royalty = (fee * BigInt(job.royaltyBps)) / BPS;
      const protocolFee = (fee * BigInt(job.protocolFeeBps)) / BPS;
      expect(delta(v.worker), "the worker is paid as if unchallenged").to.equal(fee - royalty - protocolFee);
      // The coalition was refunded the fee but paid it again out of the bond, plus the silent ally's vote penalty.
      const coalition = [v.requester, puppet, ally, silentAlly];
      expect(coalition.reduce((sum, a) => sum + delta(a), 0n)).to.equal(-fee - v.params.votePenalty);
      expect(delta(honest), "the honest member neither gains nor loses").to.equal(0n);
      await expectConservation(v);
    });
  });

  describe("Leaving the verifier set mid-job: a coalition opts out between the claim and the draw", function () {
    // Before exits took notice, a requester whose sock-puppets were among the few verifiers opted them out after
    // the claim: the submission drew no committee, the job ended Inconclusive and the requester had the output
    // for free. Opting out now keeps a verifier in the draw for the longest dispute window.
    it("a Committee job claimed before the opt-outs still draws its committee, with them in it; silence then costs each its penalty", async function () {
      const v = await loadFixture(verificationFixture);
      await exitVerifiers(v.staking, v.verifiers.slice(3)); // a network of exactly three verifiers
      const job = await v.request(v.models.committee);
      await v.escrow.connect(v.worker).claim(job);
      const puppets = v.verifiers.slice(0, 2);
      for (const puppet of puppets) {
        await expect(v.staking.connect(puppet).setVerifier(false)).to.emit(v.staking, "VerifierExitRequested");
        await expect(v.staking.connect(puppet).requestUnstake(STAKE))
          .to.be.revertedWithCustomError(v.staking, "VerifierStakingExitNoticeRequired")
          .withArgs(puppet.address, 0, await v.staking.minVerifierStake());
      }
      await v.escrow.connect(v.worker).submitResult(job, OUTPUT);
      await expect(drawCommittee(v, job)).to.emit(v.escrow, "CommitteeDrawn");
      const voting = await votingJob(v, job);
      expect(voting.members.map((m) => m.address)).to.include.members(puppets.map((p) => p.address));
      // Seated, the puppets can only vote or stay silent. Silent, they leave the honest member's reveal the only
      // one: no majority of three, and each pays the vote penalty (README, Known limits: a penalty below the fee
      // leaves silence cheaper than paying).
      await commitAll(v, BigInt(job.id), [v.verifiers[2]], [true]);
      await time.increaseTo(voting.commitEnd);
      await revealAll(v, BigInt(job.id), [v.verifiers[2]], [true]);
      await time.increaseTo(voting.revealEnd);
      const tx = await v.escrow.settle(job, "0x");
      for (const puppet of puppets) {
        await expect(tx).to.emit(v.escrow, "VerifierPenalized").withArgs(job.id, puppet.address, anyValue, false);
      }
      await expectConservation(v);
    });

    it("a claim after the opt-outs counts the leaving verifiers out: it is refused instead of being left without a committee", async function () {
      const v = await loadFixture(verificationFixture);
      await exitVerifiers(v.staking, v.verifiers.slice(3));
      for (const puppet of v.verifiers.slice(0, 2)) await v.staking.connect(puppet).setVerifier(false);
      const job = await v.request(v.models.optimistic);
      await expect(v.escrow.connect(v.worker).claim(job))
        .to.be.revertedWithCustomError(v.escrow, "JobEscrowNotEnoughVerifiers")
        .withArgs(job.id, 1, 4);
    });

    it("a verifier cannot leave the draw by locking its stake as collateral: the claim is refused", async function () {
      const v = await loadFixture(verificationFixture);
      const puppet = v.verifiers[0];
      const job = await v.request(v.models.none);
      const minimum = await v.staking.minVerifierStake();
      // Its free stake covers the collateral, but not the collateral and the minimum a verifier keeps.
      await v.staking.connect(puppet).requestUnstake(STAKE - minimum - BigInt(job.collateral) + 1n);
      await expect(v.escrow.connect(puppet).claim(job))
        .to.be.revertedWithCustomError(v.staking, "VerifierStakingExitNoticeRequired")
        .withArgs(puppet.address, minimum - 1n, minimum);
    });
  });

  describe("Unstaking to dodge a pending slash", function () {
    it("a worker whose result is under a committee vote cannot unstake its locked collateral, and the rejection slashes all of it", async function () {
      const s = await loadFixture(committeeVotingFixture);
      const id = BigInt(s.job.id);
      await expect(s.staking.connect(s.worker).requestUnstake(STAKE))
        .to.be.revertedWithCustomError(s.staking, "VerifierStakingInsufficientStake")
        .withArgs(s.worker.address, STAKE - COLLATERAL, STAKE);
      await s.staking.connect(s.worker).requestUnstake(STAKE - COLLATERAL); // everything it may take out
      await voteAll(s, id, s.members, [false, false, false]);
      await expect(s.escrow.settle(s.job, "0x"))
        .to.emit(s.escrow, "JobSettled")
        .withArgs(id, JobOutcome.Rejected, (x: { slashed: bigint }) => x.slashed === COLLATERAL);
      const account = await s.staking.accountOf(s.worker.address);
      expect([account.active, account.locked, account.unbonding]).to.deep.equal([0n, 0n, STAKE - COLLATERAL]);
      await expectConservation(s);
    });

    it("a worker that claimed cannot unstake its collateral to dodge the abandonment slash", async function () {
      const v = await loadFixture(verificationFixture);
      const job = await v.request(v.models.none);
      await v.escrow.connect(v.worker).claim(job);
      await expect(v.staking.connect(v.worker).requestUnstake(STAKE - COLLATERAL + 1n)).to.be.revertedWithCustomError(
        v.staking,
        "VerifierStakingInsufficientStake",
      );
      await v.staking.connect(v.worker).requestUnstake(STAKE - COLLATERAL);
      await time.increase(TEST_PARAMS.submissionWindow + 1);
      const slash = abandonmentSlash(job, TEST_PARAMS);
      await expect(v.escrow.settle(job, "0x"))
        .to.emit(v.escrow, "JobSettled")
        .withArgs(job.id, JobOutcome.Abandoned, (x: { slashed: bigint }) => x.slashed === slash);
      await expectConservation(v);
    });
  });

  describe("Governance abuse: no governance function moves escrowed or staked funds", function () {
    /** Money everywhere: an open fee, a bond under vote, credits, accrued treasury income, locked and unbonding stake. */
    async function fundsEverywhereFixture() {
      const v = await verificationFixture();
      // A randomness source announced a notice ago, so that its activation below needs no time to pass while
      // the challenged job is under vote.
      const newSource = await ethers.deployContract("MockRandomness");
      await v.escrow.connect(v.governance).announceRandomnessSource(newSource);
      await time.increaseTo((await v.escrow.nextRandomnessSource()).readyAt);
      await v.request(v.models.none); // open fee
      await v.escrow.connect(v.worker).submitResult(await v.request(v.models.none), OUTPUT); // credits, treasury income
      const challenged = await v.request(v.models.optimistic);
      await v.escrow.connect(v.worker).submitResult(challenged, OUTPUT); // locked collateral
      await v.escrow.connect(v.verifiers[0]).challenge(challenged); // a bond under vote
      await drawCommittee(v, challenged);
      await v.staking.connect(v.verifiers[4]).requestUnstake(parseEther("40")); // unbonding stake
      const stub = await ethers.deployContract("EscrowStub", [v.staking, 0]);
      return { ...v, challenged, stub, newSource };
    }
    type Fixture = Awaited<ReturnType<typeof fundsEverywhereFixture>>;

    // Every governance function of the three contracts (ModelRegistry has none: its functions belong to each
    // model's owner, and jobs snapshot their terms), with what it can change and valid arguments.
    const ESCROW_ROLE = ethers.id("ESCROW_ROLE");
    const ADMIN = ethers.ZeroHash;
    const governanceCalls: Array<[string, string, (f: Fixture) => Promise<unknown>]> = [
      [
        "JobEscrow.setParams",
        "fee shares, windows, slashes, bond, limits of jobs requested from now on",
        async (f) =>
          f.escrow.connect(f.governance).setParams({
            ...TEST_PARAMS,
            protocolFeeBps: 1000,
            timeoutSlashBps: 10_000,
            votePenalty: parseEther("1000000"),
            challengeBond: 1n,
          }),
      ],
      [
        "JobEscrow.setTreasury",
        "where future treasury income is credited",
        async (f) => f.escrow.connect(f.governance).setTreasury(f.governance.address),
      ],
      [
        "JobEscrow.announceRandomnessSource + activateRandomnessSource",
        "the seed of future committee draws, after a notice of the unbonding period plus a day",
        async (f) => {
          await f.escrow.connect(f.governance).activateRandomnessSource(); // announced by the fixture
          return f.escrow.connect(f.governance).announceRandomnessSource(f.randomness);
        },
      ],
      ["JobEscrow.pause", "stops new requests and claims", async (f) => f.escrow.connect(f.governance).pause()],
      ["JobEscrow.unpause", "lifts the pause", async (f) => f.escrow.connect(f.governance).unpause()],
      [
        "JobEscrow.transferOwnership + acceptOwnership",
        "who governs the escrow",
        async (f) => {
          await f.escrow.connect(f.governance).transferOwnership(f.other.address);
          await f.escrow.connect(f.other).acceptOwnership();
          await f.escrow.connect(f.other).transferOwnership(f.governance.address);
          return f.escrow.connect(f.governance).acceptOwnership();
        },
      ],
      [
        "VerifierStaking.setUnbondingPeriod",
        "how long future unstakes wait",
        async (f) => f.staking.connect(f.governance).setUnbondingPeriod(90 * 86_400),
      ],
      [
        "VerifierStaking.setMinVerifierStake",
        "the stake needed to be drawn",
        async (f) => f.staking.connect(f.governance).setMinVerifierStake(parseEther("1000")),
      ],
      [
        "VerifierStaking.announceEscrow",
        "which escrow may be granted ESCROW_ROLE, after the notice period (see below)",
        async (f) => f.staking.connect(f.governance).announceEscrow(f.stub),
      ],
      [
        "VerifierStaking.grantRole(DEFAULT_ADMIN_ROLE) + renounceRole",
        "who governs staking",
        async (f) => {
          await f.staking.connect(f.governance).grantRole(ADMIN, f.other.address);
          return f.staking.connect(f.other).renounceRole(ADMIN, f.other.address);
        },
      ],
      [
        "JobEscrow.renounceOwnership",
        "ends governance of the escrow",
        async (f) => f.escrow.connect(f.governance).renounceOwnership(),
      ],
      [
        "VerifierStaking.renounceRole(DEFAULT_ADMIN_ROLE)",
        "ends governance of staking",
        async (f) => f.staking.connect(f.governance).renounceRole(ADMIN, f.governance.address),
      ],
    ];

    it("calling every governance function in turn leaves every token balance, credit and stake unchanged", async function () {
      const f = await loadFixture(fundsEverywhereFixture);
      const accounts = [...f.actors.map((a) => a.address), await f.stub.getAddress()];
      const before = await moneySnapshot(f, accounts);
      for (const [name, , call] of governanceCalls) {
        await call(f);
        expect(await moneySnapshot(f, accounts), `${name} moved funds`).to.deep.equal(before);
      }
      // The job in flight still runs to its end under the terms it was requested with.
      const voting = await votingJob(f, f.challenged);
      await voteAll(f, BigInt(f.challenged.id), voting.members, [true, true, true]);
      await expect(f.escrow.settle(f.challenged, "0x"))
        .to.emit(f.escrow, "JobSettled")
        .withArgs(f.challenged.id, JobOutcome.Accepted, (x: unknown) => x !== undefined);
      await expectConservation(f);
    });

    // ESCROW_ROLE can slash anyone, so it is the one governance grant that could reach staked funds. Once anything
    // is staked it goes only to a contract announced an exit notice and an unbonding period (plus a margin) ahead,
    // and never away.
    it("governance cannot take staked funds by granting itself ESCROW_ROLE: no grant without notice, and the notice lets stakers leave first", async function () {
      const f = await loadFixture(fundsEverywhereFixture);
      const admin = f.governance;
      await expect(f.staking.connect(admin).grantRole(ESCROW_ROLE, admin.address))
        .to.be.revertedWithCustomError(f.staking, "VerifierStakingEscrowNotAnnounced")
        .withArgs(admin.address);
      // Nor can it announce its own key: only a contract, whose code stakers can read, is announced.
      await expect(f.staking.connect(admin).announceEscrow(admin.address))
        .to.be.revertedWithCustomError(f.staking, "VerifierStakingEscrowWithoutCode")
        .withArgs(admin.address);

      // A contract that slashes for whoever calls it (EscrowStub) stands in for a malicious escrow.
      const drain = await f.stub.getAddress();
      await f.staking.connect(admin).announceEscrow(drain);
      const readyAt = await f.staking.escrowReadyAt(drain);
      await expect(f.staking.connect(admin).grantRole(ESCROW_ROLE, drain))
        .to.be.revertedWithCustomError(f.staking, "VerifierStakingEscrowNoticePending")
        .withArgs(drain, readyAt);

      // A verifier that distrusts the announced escrow opts out at once, completes its exit after the exit notice,
      // unbonds everything and has withdrawn before the escrow gets power.
      const leaver = f.verifiers[1];
      await f.staking.connect(leaver).setVerifier(false);
      await time.increaseTo((await f.staking.accountOf(leaver.address)).exitAt);
      await f.staking.connect(leaver).completeExit(leaver.address);
      const free = await f.staking.freeStakeOf(leaver.address);
      await f.staking.connect(leaver).requestUnstake(free);
      const { unbondingEnd } = await f.staking.accountOf(leaver.address);
      expect(unbondingEnd).to.be.lessThan(readyAt);
      await time.increaseTo(unbondingEnd);
      // Its stake waits for the committee it could sit on (the challenged job's), which anyone can settle by now.
      await f.escrow.connect(leaver).settle(f.challenged, "0x");
      await f.staking.connect(leaver).withdraw();
      await time.increaseTo(readyAt);
      await f.staking.connect(admin).grantRole(ESCROW_ROLE, drain);
      const left = await f.staking.accountOf(leaver.address);
      expect(left.active + left.unbonding).to.equal(0n);
    });

    // A staker who joins after an announcement gets no notice of its own, so an announcement allows the grant only
    // for ESCROW_NOTICE_VALIDITY, and only to the code it announced.
    it("governance cannot surprise a later staker with an old announcement, nor swap the announced contract's code", async function () {
      const f = await loadFixture(fundsEverywhereFixture);
      const admin = f.governance;
      const drain = await f.stub.getAddress();
      await f.staking.connect(admin).announceEscrow(drain);
      const announced = ethers.keccak256(await ethers.provider.getCode(drain));
      const expiredAt = await f.staking.escrowNoticeExpiresAt(drain);

      // Months later a newcomer stakes, seeing no announcement of the last weeks; the old one is spent.
      await time.increaseTo(expiredAt + 60n * DAY);
      const newcomer = f.verifiers[1];
      await f.staking.connect(newcomer).stake(parseEther("10"));
      await expect(f.staking.connect(admin).grantRole(ESCROW_ROLE, drain))
        .to.be.revertedWithCustomError(f.staking, "VerifierStakingEscrowNoticeExpired")
        .withArgs(drain, expiredAt);

      // Announced afresh, then another contract's code put at the address before the grant (as an EIP-7702
      // re-delegation or a metamorphic contract would): the grant is refused.
      await f.staking.connect(admin).announceEscrow(drain);
      await setCode(drain, await ethers.provider.getCode(f.newSource));
      const current = ethers.keccak256(await ethers.provider.getCode(drain));
      await time.increaseTo(await f.staking.escrowReadyAt(drain));
      await expect(f.staking.connect(admin).grantRole(ESCROW_ROLE, drain))
        .to.be.revertedWithCustomError(f.staking, "VerifierStakingEscrowCodeChanged")
        .withArgs(drain, announced, current);
      expect(await f.staking.hasRole(ESCROW_ROLE, drain)).to.equal(false);
    });

    it("governance cannot cut an escrow off from its locked stake: ESCROW_ROLE is never revoked or renounced", async function () {
      const f = await loadFixture(fundsEverywhereFixture);
      await expect(f.staking.connect(f.governance).revokeRole(ESCROW_ROLE, f.escrow))
        .to.be.revertedWithCustomError(f.staking, "VerifierStakingEscrowPermanent")
        .withArgs(await f.escrow.getAddress());
    });
  });

  describe("Governance abuse: pause used to trap funds", function () {
    it("while the escrow is paused, votes, challenges, settlement, unstaking and both withdrawals go on; only requests and claims stop", async function () {
      const s = await loadFixture(committeeVotingFixture);
      const optimistic = await s.request(s.models.optimistic);
      await s.escrow.connect(s.worker).submitResult(optimistic, OUTPUT);
      const open = await s.request(s.models.none);
      await s.escrow.connect(s.governance).pause();

      await expect(s.request(s.models.none)).to.be.revertedWithCustomError(s.escrow, "EnforcedPause");
      await expect(s.escrow.connect(s.worker).claim(open)).to.be.revertedWithCustomError(s.escrow, "EnforcedPause");

      await voteAll(s, BigInt(s.job.id), s.members, [true, true, true]);
      await expect(s.escrow.settle(s.job, "0x"))
        .to.emit(s.escrow, "JobSettled")
        .withArgs(s.job.id, JobOutcome.Accepted, (x: unknown) => x !== undefined);
      const challenger = s.verifiers.find((x) => !s.members.includes(x))!;
      await expect(s.escrow.connect(challenger).challenge(optimistic)).to.emit(s.escrow, "ResultChallenged");
      await expect(s.escrow.connect(s.worker).withdraw()).to.emit(s.escrow, "Withdrawn");

      const free = await s.staking.freeStakeOf(s.worker);
      await s.staking.connect(s.worker).requestUnstake(free);
      await time.increase(await s.staking.unbondingPeriod());
      await expect(s.staking.connect(s.worker).withdraw()).to.changeTokenBalances(
        s.token,
        [s.staking, s.worker],
        [-free, free],
      );
      expect(await s.escrow.paused()).to.equal(true);
      await expectConservation(s);
    });
  });
});
