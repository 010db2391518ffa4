import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, setBalance } from "@nomicfoundation/hardhat-network-helpers";
import type { HDNodeWallet } from "ethers";
import { deployProtocolFixture, FUNDS, OUTPUT, STAKE, termsFor, type Protocol } from "./fixtures/protocol";
import { JobOutcome, JobStatus, VerificationMode, VoteState } from "../packages/sdk/src/params";
import { sealCommitment, sealedCommitments } from "../packages/sdk/src/votes";

/** The protocol with 15 more verifiers (20 in all), enough for the largest committee. */
async function twentyVerifiersFixture(): Promise<Protocol & { extra: HDNodeWallet[] }> {
  const p = await deployProtocolFixture();
  const extra: HDNodeWallet[] = [];
  for (let i = 0; i < 15; i++) {
    const wallet = ethers.Wallet.createRandom().connect(ethers.provider);
    await setBalance(wallet.address, ethers.parseEther("10"));
    await p.token.connect(p.governance).mint(wallet.address, FUNDS);
    await p.token.connect(wallet).approve(p.staking, ethers.MaxUint256);
    await p.staking.connect(wallet).stake(STAKE + BigInt(i) * ethers.parseEther("7"));
    await p.staking.connect(wallet).setVerifier(true);
    extra.push(wallet);
  }
  return { ...p, extra };
}

// The committee is stored packed (20-byte addresses back to back, 2-bit vote states in the last word's low
// 32 bits); every odd size from 1 to 15 puts the word boundaries and the vote bits in a different place.
describe("committee storage for every committee size", function () {
  for (let size = 1; size <= 15; size += 2) {
    it(`keeps ${size} seats' addresses and votes apart through commit, reveal and settle`, async function () {
      const p = await loadFixture(twentyVerifiersFixture);
      const signers = new Map<string, { address: string }>();
      for (const s of [...p.verifiers, ...p.extra]) signers.set(s.address, s);
      const seed = `committee of ${size}`;
      await p.registry
        .connect(p.modelOwner)
        .registerModel(
          ethers.sha256(ethers.toUtf8Bytes(seed)),
          "file:///m.onnx",
          termsFor(VerificationMode.Committee, size),
          ethers.ZeroHash,
          "0x",
        );
      const job = await p.request(await p.registry.modelCount());
      await p.escrow.connect(p.worker).submitResult(job, OUTPUT);
      await p.escrow.drawCommittees([job]);

      const drawn = (await p.escrow.committee(job.id)).map((seat) => seat.verifier);
      expect(drawn).to.have.length(size);
      expect(new Set(drawn).size).to.equal(size);
      for (const member of drawn) expect(signers.has(member), `${member} is a staked verifier`).to.equal(true);
      expect((await p.escrow.committee(job.id)).map((seat) => Number(seat.vote))).to.deep.equal(
        Array(size).fill(VoteState.Drawn),
      );

      // Seat i votes agree when i is even: a majority of (size + 1) / 2 agrees.
      const salt = (i: number) => ethers.id(`salt ${size} ${i}`);
      const expected: number[] = Array(size).fill(VoteState.Drawn);
      const sealed: string[] = [];
      for (let i = 0; i < size; i++) {
        const member = signers.get(drawn[i]) as unknown as Parameters<typeof p.escrow.connect>[0];
        const commitment = await p.escrow.voteCommitment(job.id, drawn[i], i % 2 === 0, salt(i));
        // The seat is checked against the packed address at that index: another seat's, or one past the end, fails.
        for (const wrong of size > 1 ? [(i + 1) % size, size] : [size]) {
          await expect(p.escrow.connect(member).commitVote(job.id, wrong, commitment))
            .to.be.revertedWithCustomError(p.escrow, "JobEscrowNotCommitteeMember")
            .withArgs(job.id, drawn[i], wrong);
        }
        await expect(p.escrow.connect(member).commitVote(job.id, i, commitment))
          .to.emit(p.escrow, "VoteCommitted")
          .withArgs(job.id, drawn[i], i, commitment);
        sealed.push(sealCommitment(i, commitment));
        expected[i] = VoteState.Committed;
        const seats = await p.escrow.committee(job.id);
        expect(seats.map((seat) => seat.verifier)).to.deep.equal(drawn);
        expect(seats.map((seat) => Number(seat.vote))).to.deep.equal(expected);
      }
      // The sealed commitments a reveal passes are the VoteCommitted events', in commit order.
      expect(await sealedCommitments(p.escrow, job.id)).to.deep.equal(sealed);
      const last = signers.get(drawn[size - 1]) as unknown as Parameters<typeof p.escrow.connect>[0];
      const reveal = (list: string[], s = salt(size - 1)) =>
        p.escrow.connect(last).revealVote(job.id, size - 1, (size - 1) % 2 === 0, s, list);
      const wrongLists = [sealed.slice(0, -1), [...sealed, sealed[0]], ...(size > 1 ? [[...sealed].reverse()] : [])];
      for (const list of wrongLists) {
        await expect(reveal(list))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowCommitmentsMismatch")
          .withArgs(job.id);
      }
      await expect(reveal(sealed, ethers.id("wrong salt")))
        .to.be.revertedWithCustomError(p.escrow, "JobEscrowCommitmentMismatch")
        .withArgs(job.id, drawn[size - 1]);
      for (let i = size - 1; i >= 0; i--) {
        const member = signers.get(drawn[i]) as unknown as Parameters<typeof p.escrow.connect>[0];
        await p.escrow.connect(member).revealVote(job.id, i, i % 2 === 0, salt(i), sealed);
        expected[i] = i % 2 === 0 ? VoteState.Agreed : VoteState.Disagreed;
        const seats = await p.escrow.committee(job.id);
        expect(seats.map((seat) => seat.verifier)).to.deep.equal(drawn);
        expect(seats.map((seat) => Number(seat.vote))).to.deep.equal(expected);
      }

      // Every seat revealed, so the job settles before the reveal window ends.
      expect(await p.escrow.isSettleable(job)).to.equal(true);
      await expect(p.escrow.settle(job, "0x"))
        .to.emit(p.escrow, "JobSettled")
        .withArgs(
          job.id,
          JobOutcome.Accepted,
          (s: { rewardedVerifiers: bigint }) => s.rewardedVerifiers === BigInt((size + 1) / 2),
        );
      expect((await p.escrow.jobState(job.id)).status).to.equal(JobStatus.Settled);
    });
  }
});
