import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { hexlify } from "ethers";
import { EventReader } from "../../src/worker/clients/events";
import type { JobRecord } from "../../src/worker/clients/chain";
import { reduce, jobKey, type JobEvent } from "../../src/worker/loop/reducer";
import { OUTPUT } from "../fixtures/protocol";
import { optimisticChallengedFixture, voteAll } from "../fixtures/verification";

/** An optimistic job challenged, voted on by its committee and settled: every job event once or more. */
async function challengedAndSettledFixture() {
  const s = await optimisticChallengedFixture();
  const jobId = BigInt(s.job.id);
  await voteAll(
    s,
    jobId,
    s.members,
    s.members.map(() => true),
  );
  await s.escrow.connect(s.other).settle(s.job, "0x");
  const reader = new EventReader(ethers.provider, s.escrow, await s.escrow.getAddress(), 5, {
    retries: 0,
    baseDelayMs: 1,
  });
  const events = await reader.jobEvents(0, await ethers.provider.getBlockNumber());
  return { ...s, jobId, events };
}

/** Folds `events` in order, keeping every intermediate record. */
function fold(events: JobEvent[]): (JobRecord | undefined)[] {
  const out: (JobRecord | undefined)[] = [];
  let rec: JobRecord | undefined;
  for (const e of events) out.push((rec = reduce(rec, e)));
  return out;
}

describe("worker event reducer", function () {
  it("reads a job's events in chain order, typed, across chunks of the block range", async function () {
    const { events, jobId } = await loadFixture(challengedAndSettledFixture);
    const mine = events.filter((e) => jobKey(e) === jobId.toString());
    expect(mine.map((e) => e.name)).to.deep.equal([
      "JobRequested",
      "JobClaimed",
      "ResultSubmitted",
      "ResultChallenged",
      "CommitteeDrawn",
      "VoteCommitted",
      "VoteCommitted",
      "VoteCommitted",
      "JobSettled",
    ]);
    for (let i = 1; i < events.length; i++) {
      const [a, b] = [events[i - 1].log, events[i].log];
      expect(a.blockNumber < b.blockNumber || (a.blockNumber === b.blockNumber && a.index < b.index)).to.equal(true);
    }
  });

  it("folds them into the job's record, one field per event, and ends it at JobSettled", async function () {
    const s = await loadFixture(challengedAndSettledFixture);
    const mine = s.events.filter((e) => jobKey(e) === s.jobId.toString());
    const states = fold(mine);
    const requested = states[0]!;
    expect(requested.job.id).to.equal(s.jobId.toString());
    expect(requested.job.nonce).to.equal(s.job.nonce.toString());
    expect(requested.block).to.equal(mine[0].log.blockNumber);
    expect(requested.output).to.equal(undefined);
    expect(states[1]!.worker).to.equal(s.worker.address);
    expect(states[1]!.output).to.equal(undefined);
    expect(states[2]!.output).to.equal(hexlify(OUTPUT));
    expect(states[3]!.challenger).to.equal(s.challenger.address);
    expect(states[4]!.committee).to.deep.equal(s.members.map((m) => m.address));
    const voted = states[7]!;
    expect(voted.votes!.map((v) => v.seat).sort()).to.deep.equal([0, 1, 2]);
    expect(voted.votes!.map((v) => v.blockNumber)).to.deep.equal(mine.slice(5, 8).map((e) => e.log.blockNumber));
    expect(states[8]).to.equal(undefined);
  });

  it("is pure: the record given is never changed, and a request seen twice keeps the record it has", async function () {
    const { events, jobId } = await loadFixture(challengedAndSettledFixture);
    const mine = events.filter((e) => jobKey(e) === jobId.toString());
    const requested = reduce(undefined, mine[0])!;
    const frozen = JSON.stringify(requested);
    const submitted = reduce(requested, mine[2])!;
    expect(JSON.stringify(requested)).to.equal(frozen);
    expect(submitted).to.not.equal(requested);
    expect(reduce(submitted, mine[0])).to.equal(submitted);
    // A job whose request the service never read (before its start block) gets no record from later events.
    expect(reduce(undefined, mine[2])).to.equal(undefined);
    expect(reduce(undefined, mine[5])).to.equal(undefined);
  });
});
