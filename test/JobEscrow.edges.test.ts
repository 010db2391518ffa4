import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { deployProtocolFixture, OUTPUT, TEST_PARAMS, termsFor, toJob } from "./fixtures/protocol";
import { consumerFixture, escrowFactory, expectConservation } from "./fixtures/escrow";
import {
  commitAll,
  drawCommittee,
  membersOf,
  revealAll,
  verificationFixture,
  voteAll,
  type Verification,
} from "./fixtures/verification";
import { JobStatus, VerificationMode } from "../packages/sdk/src/params";
import { currentTerms } from "../packages/sdk/src/terms";
import { acceptedSettlement } from "../packages/sdk/src/settlement";

const MAX_UINT96 = 2n ** 96n - 1n;

describe("JobEscrow edges", function () {
  describe("a Committee job's submission and draw sent with too little gas for the randomness source", function () {
    // A worker who could make the randomness source fail by starving it of gas would turn a checked job into an
    // "inconclusive" refund and skip verification. Only a failing source or a shortage of verifiers may end a job
    // that way.
    it("never ends the job Refunded: below the gas the seed request needs, the whole submission reverts", async function () {
      const p = await loadFixture(deployProtocolFixture);
      const job = await p.request(p.models.committee);
      const needed = await p.escrow.connect(p.worker).submitResult.estimateGas(job, OUTPUT);
      let reverted = 0;
      let drawing = 0;
      // The source gets 250,000 gas for requestSeed: the range reaches below what the submission then needs.
      for (let gasLimit = needed + 30_000n; gasLimit > needed - 300_000n; gasLimit -= 10_000n) {
        const snapshot = await network.provider.send("evm_snapshot");
        try {
          await (await p.escrow.connect(p.worker).submitResult(job, OUTPUT, { gasLimit })).wait();
        } catch {
          reverted++;
        }
        const status = Number((await p.escrow.jobState(job.id)).status);
        expect([JobStatus.Requested, JobStatus.Drawing], `status with gas limit ${gasLimit}`).to.include(status);
        if (status === JobStatus.Drawing) drawing++;
        await network.provider.send("evm_revert", [snapshot]);
      }
      // Both outcomes occurred, so the range straddled the request's cost.
      expect(drawing).to.be.greaterThan(0);
      expect(reverted).to.be.greaterThan(0);
    });

    it("never ends the job Refunded at the draw: below the gas the seed and the draw need, the draw reverts", async function () {
      const p = await loadFixture(deployProtocolFixture);
      const job = await p.request(p.models.committee);
      await p.escrow.connect(p.worker).submitResult(job, OUTPUT);
      const needed = await p.escrow.connect(p.other).drawCommittees.estimateGas([job]);
      let reverted = 0;
      let voting = 0;
      for (let gasLimit = needed + 30_000n; gasLimit > needed - 150_000n; gasLimit -= 6_000n) {
        const snapshot = await network.provider.send("evm_snapshot");
        try {
          await (await p.escrow.connect(p.other).drawCommittees([job], { gasLimit })).wait();
        } catch {
          reverted++;
        }
        const status = Number((await p.escrow.jobState(job.id)).status);
        expect([JobStatus.Drawing, JobStatus.Voting], `status with gas limit ${gasLimit}`).to.include(status);
        if (status === JobStatus.Voting) voting++;
        await network.provider.send("evm_revert", [snapshot]);
      }
      expect(voting).to.be.greaterThan(0);
      expect(reverted).to.be.greaterThan(0);
    });
  });

  describe("treasury income beyond the treasury word's 96 bits", function () {
    it("moves the accrued income to the treasury's balance instead of overflowing, losing nothing", async function () {
      const p = await loadFixture(deployProtocolFixture);
      // Collateral 1x the fee, so a worker can hold a job of the largest price the registry takes.
      await p.escrow
        .connect(p.governance)
        .setParams({ ...TEST_PARAMS, protocolFeeBps: 1000, collateralRatioBps: 10_000 });
      const price = MAX_UINT96;
      await p.registry.connect(p.modelOwner).registerModel(
        ethers.sha256(ethers.toUtf8Bytes("large price")),
        "file:///large.onnx",
        {
          ...termsFor(VerificationMode.None),
          price,
        },
        ethers.ZeroHash,
        "0x",
      );
      const modelId = await p.registry.modelCount();
      await p.token.connect(p.governance).mint(p.worker.address, price);
      await p.staking.connect(p.worker).stake(price - (await p.staking.freeStakeOf(p.worker.address)));
      const fee = price / 10n; // protocol fee per job
      let expected = 0n;
      for (let i = 0; i < 11; i++) {
        await p.token.connect(p.governance).mint(p.requester.address, price);
        const job = await p.request(modelId);
        await p.escrow.connect(p.worker).submitResult(job, OUTPUT);
        expected += fee;
        expect(await p.escrow.balanceOf(p.treasury.address), `treasury after job ${i + 1}`).to.equal(expected);
      }
      expect(expected).to.be.greaterThan(MAX_UINT96);
      await expect(p.escrow.connect(p.treasury).withdraw()).to.changeTokenBalances(
        p.token,
        [p.treasury, p.escrow],
        [expected, -expected],
      );
      await expectConservation(p);
    });
  });

  describe("BlockhashRandomness", function () {
    it("draws a real escrow's committee from the hash of the block after the submission's, not before it exists", async function () {
      const p = await loadFixture(deployProtocolFixture);
      const randomness = await ethers.deployContract("BlockhashRandomness");
      const escrow = await (
        await escrowFactory()
      ).deploy(p.token, p.registry, p.staking, randomness, p.treasury.address, p.governance.address, TEST_PARAMS);
      // A second escrow on a staking contract that holds stake needs its notice period first.
      await p.staking.connect(p.governance).announceEscrow(escrow);
      await time.increaseTo(await p.staking.escrowReadyAt(escrow));
      await p.staking.connect(p.governance).grantRole(await p.staking.ESCROW_ROLE(), escrow);
      await p.token.connect(p.requester).approve(escrow, ethers.MaxUint256);
      const deadline = BigInt(await time.latest()) + 86_400n;
      const tx = await escrow
        .connect(p.requester)
        .requestInference(p.models.committee, await currentTerms(p.registry, p.models.committee), OUTPUT, deadline, 0);
      const receipt = await tx.wait();
      const parsed = receipt!.logs.map((log) => escrow.interface.parseLog(log)).find((e) => e?.name === "JobRequested");
      const job = toJob(parsed!.args.job);
      const submitted = await (await escrow.connect(p.worker).submitResult(job, OUTPUT)).wait();
      const ticket = BigInt(submitted!.blockNumber) + 1n;
      expect((await escrow.jobState(job.id)).revealEnd).to.equal(ticket);
      // The next transaction is mined in the ticket's own block, whose hash does not exist yet.
      await expect(escrow.connect(p.other).drawCommittees([job]))
        .to.be.revertedWithCustomError(escrow, "JobEscrowSeedPending")
        .withArgs(job.id, ticket);
      await mine(1);
      const drawn = await (await escrow.connect(p.other).drawCommittees([job])).wait();
      expect(BigInt(drawn!.blockNumber)).to.be.greaterThan(ticket);
      expect((await escrow.jobState(job.id)).status).to.equal(JobStatus.Voting);
      const members = (await escrow.committee(job.id)).map((seat) => seat.verifier);
      expect(new Set(members).size).to.equal(3);
      // The committee is the draw from the ticket block's hash, mixed as BlockhashRandomness and the escrow mix it.
      const coder = ethers.AbiCoder.defaultAbiCoder();
      const hash = (await ethers.provider.getBlock(Number(ticket)))!.hash!;
      const sourceSeed = ethers.keccak256(
        coder.encode(["bytes32", "uint64", "address"], [hash, ticket, await randomness.getAddress()]),
      );
      const seed = ethers.keccak256(coder.encode(["uint256", "uint256"], [sourceSeed, job.id]));
      const parties = [p.worker.address, p.requester.address, p.modelOwner.address];
      expect(members).to.deep.equal([...(await p.staking.drawCommittee(seed, 3, parties))]);
    });
  });
});

describe("JobEscrow zero shares and penalties", function () {
  async function committeeJob(v: Verification) {
    const job = await v.request(v.models.committee);
    await v.escrow.connect(v.worker).submitResult(job, OUTPUT);
    await drawCommittee(v, job);
    return { job, members: await membersOf(v, BigInt(job.id)) };
  }

  it("credits no verifier reward when the verifier share is zero, and pays the worker the rest", async function () {
    const v = await loadFixture(verificationFixture);
    await v.escrow.connect(v.governance).setParams({ ...TEST_PARAMS, verifierShareBps: 0 });
    const { job, members } = await committeeJob(v);
    await voteAll(v, BigInt(job.id), members, [true, true, true]);
    const before = await Promise.all(members.map((m) => v.escrow.balanceOf(m.address)));
    await v.escrow.settle(job, "0x");
    expect(await Promise.all(members.map((m) => v.escrow.balanceOf(m.address)))).to.deep.equal(before);
    const { workerPayment, royalty, treasuryPayment } = acceptedSettlement(job, v.params, 3n);
    expect(await v.escrow.balanceOf(v.worker.address)).to.equal(workerPayment);
    expect(workerPayment).to.equal(BigInt(job.fee) - royalty - treasuryPayment);
  });

  it("penalises nobody when the vote penalty is zero, even a member that never revealed", async function () {
    const v = await loadFixture(verificationFixture);
    await v.escrow.connect(v.governance).setParams({ ...TEST_PARAMS, votePenalty: 0 });
    const { job, members } = await committeeJob(v);
    await commitAll(v, BigInt(job.id), members, [true, true, true]);
    await revealAll(v, BigInt(job.id), members.slice(0, 2), [true, true]);
    const state = await v.escrow.jobState(job.id);
    await time.increaseTo(state.revealEnd + 1n);
    const stakes = await Promise.all(members.map((m) => v.staking.accountOf(m.address)));
    await expect(v.escrow.settle(job, "0x")).to.not.emit(v.escrow, "VerifierPenalized");
    const after = await Promise.all(members.map((m) => v.staking.accountOf(m.address)));
    expect(after.map((a) => a.active)).to.deep.equal(stakes.map((a) => a.active));
  });

  it("ExampleConsumer refuses an output for a job it never requested", async function () {
    const c = await loadFixture(consumerFixture);
    // An Optimistic job: its output hash is stored (a None job's is not, without a callback).
    const job = await c.request(c.models.optimistic);
    await c.escrow.connect(c.worker).submitResult(job, OUTPUT);
    await time.increase(TEST_PARAMS.challengeWindow + 1);
    await c.escrow.settle(job, OUTPUT);
    await expect(c.consumer.acceptOutput(job.id, OUTPUT))
      .to.be.revertedWithCustomError(c.consumer, "ExampleConsumerUnknownJob")
      .withArgs(job.id);
  });
});
