import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { deployProtocolFixture, OUTPUT, WRONG_OUTPUT } from "./fixtures/protocol";
import { JobStatus } from "../src/params";

describe("smoke", function () {
  it("runs a job in each mode", async function () {
    const p = await loadFixture(deployProtocolFixture);
    const j1 = await p.request(p.models.none);
    let tx = await (await p.escrow.connect(p.worker).claim(j1)).wait();
    console.log("claim", tx!.gasUsed);
    tx = await (await p.escrow.connect(p.worker).submitResult(j1, OUTPUT)).wait();
    console.log("submit none", tx!.gasUsed);
    expect((await p.escrow.jobState(j1.id)).status).to.equal(JobStatus.Settled);

    const j2 = await p.request(p.models.committee);
    tx = await (await p.escrow.connect(p.worker).submitResult(j2, WRONG_OUTPUT)).wait();
    console.log("submit committee", tx!.gasUsed);
    const seats = await p.escrow.committee(j2.id);
    const salt = ethers.id("salt");
    for (const seat of seats) {
      const v = p.verifiers.find((s) => s.address === seat.verifier)!;
      const c = await p.escrow.voteCommitment(j2.id, v.address, false, salt);
      const r = await (await p.escrow.connect(v).commitVote(j2.id, c)).wait();
      console.log("commit", r!.gasUsed);
    }
    for (const seat of seats) {
      const v = p.verifiers.find((s) => s.address === seat.verifier)!;
      const r = await (await p.escrow.connect(v).revealVote(j2.id, false, salt)).wait();
      console.log("reveal", r!.gasUsed);
    }
    tx = await (await p.escrow.settle(j2, "0x")).wait();
    console.log("settle", tx!.gasUsed);
    expect((await p.escrow.jobState(j2.id)).status).to.equal(JobStatus.Rejected);

    const j3 = await p.request(p.models.optimistic);
    await p.escrow.connect(p.worker).submitResult(j3, OUTPUT);
    await time.increase(3601);
    await p.escrow.settle(j3, "0x");
    expect((await p.escrow.jobState(j3.id)).status).to.equal(JobStatus.Settled);
  });
});
