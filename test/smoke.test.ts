import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { deployProtocolFixture, OUTPUT, WRONG_OUTPUT } from "./fixtures/protocol";
import { DEFAULT_ESCROW_PARAMS, JobStatus } from "../packages/sdk/src/params";
import { sealedCommitments } from "../packages/sdk/src/votes";

// One job through each verification mode, end to end; the per-function suites cover every branch.
describe("a job in each verification mode", function () {
  it("None settles on submission, Committee (drawn after the submission) rejects a wrong output, Optimistic settles after its window", async function () {
    const p = await loadFixture(deployProtocolFixture);
    const none = await p.request(p.models.none);
    await p.escrow.connect(p.worker).claim(none);
    await p.escrow.connect(p.worker).submitResult(none, OUTPUT);
    expect((await p.escrow.jobState(none.id)).status).to.equal(JobStatus.Settled);
    // A None job without a callback keeps its output hash in ResultSubmitted only.
    expect(await p.escrow.outputHash(none.id)).to.equal(ethers.ZeroHash);

    const committee = await p.request(p.models.committee);
    await p.escrow.connect(p.worker).submitResult(committee, WRONG_OUTPUT);
    // The submission asked for a seed that exists from the next block; then anyone draws the committee.
    expect((await p.escrow.jobState(committee.id)).status).to.equal(JobStatus.Drawing);
    await expect(p.escrow.drawCommittees([committee])).to.emit(p.escrow, "CommitteeDrawn");
    expect((await p.escrow.jobState(committee.id)).status).to.equal(JobStatus.Voting);
    const salt = ethers.id("salt");
    const members = (await p.escrow.committee(committee.id)).map((seat) =>
      p.verifiers.find((v) => v.address === seat.verifier)!,
    );
    for (const [seat, member] of members.entries()) {
      const commitment = await p.escrow.voteCommitment(committee.id, member.address, false, salt);
      await p.escrow.connect(member).commitVote(committee.id, seat, commitment);
    }
    const sealed = await sealedCommitments(p.escrow, committee.id);
    for (const [seat, member] of members.entries()) {
      await p.escrow.connect(member).revealVote(committee.id, seat, false, salt, sealed);
    }
    await p.escrow.settle(committee, "0x");
    expect((await p.escrow.jobState(committee.id)).status).to.equal(JobStatus.Rejected);

    const optimistic = await p.request(p.models.optimistic);
    await p.escrow.connect(p.worker).submitResult(optimistic, OUTPUT);
    await time.increase(DEFAULT_ESCROW_PARAMS.challengeWindow + 1);
    await p.escrow.settle(optimistic, "0x");
    expect((await p.escrow.jobState(optimistic.id)).status).to.equal(JobStatus.Settled);
  });
});
