import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, keccak256 } from "ethers";
import type { VoteWordHarness } from "../../typechain-types";

const VoteState = { Drawn: 0n, Committed: 1n, Agreed: 2n, Disagreed: 3n } as const;
const SEATS = 15; // MAX_COMMITTEE_SIZE
/** Every bit of the first three members and of the commitment chain set: the vote-state checks must not see them. */
const FULL_CHAIN = ((1n << 224n) - 1n) << 32n;
/** The members' bits (32 to 127) and the chain's (128 to 255). */
const MEMBER_BITS = ((1n << 96n) - 1n) << 32n;
const CHAIN_BITS = ((1n << 128n) - 1n) << 128n;

async function harnessFixture(): Promise<{ votes: VoteWordHarness }> {
  return { votes: (await ethers.deployContract("VoteWordHarness")) as unknown as VoteWordHarness };
}

/** A word with `states[i]` in seat i. */
function wordOf(states: readonly bigint[], chain = 0n): bigint {
  return states.reduce((word, state, seat) => word | (state << BigInt(2 * seat)), chain);
}

/** The chain step as the escrow's reveal replays it: the high 128 bits of keccak256(abi.encode(prev, sealed)). */
function fold(previous: bigint, sealed: string): bigint {
  return BigInt(keccak256(AbiCoder.defaultAbiCoder().encode(["uint256", "bytes32"], [previous, sealed]))) >> 128n;
}

describe("VoteWord", function () {
  describe("#seated and #leafAt", function () {
    it("seats the first three leaves above the states, 32 bits each; every seat Drawn, no chain", async function () {
      const { votes } = await loadFixture(harnessFixture);
      const leaves = [0x11223344n, 0xffffffffn, 0x01000001n, 0xabcdef01n];
      for (let n = 0; n <= leaves.length; n++) {
        const expected = leaves
          .slice(0, Math.min(n, 3))
          .reduce((word, leaf, i) => word | (leaf << BigInt(32 + 32 * i)), 0n);
        const word = await votes.seated(leaves.slice(0, n));
        expect(word, `${n} leaves`).to.equal(expected);
        for (let seat = 0; seat < Math.min(n, 3); seat++) expect(await votes.leafAt(word, seat)).to.equal(leaves[seat]);
        expect(await votes.chain(word)).to.equal(0n);
        for (let seat = 0; seat < SEATS; seat++) expect(await votes.voteAt(word, seat)).to.equal(VoteState.Drawn);
      }
    });

    it("keeps the members when votes and commitments are written", async function () {
      const { votes } = await loadFixture(harnessFixture);
      const leaves = [7n, 0xffffffffn, 0n];
      let word = await votes.seated(leaves);
      word = await votes.withVote(word, 1, VoteState.Committed);
      word = await votes.withCommitment(word, ethers.id("sealed"));
      word = await votes.withVote(word, 2, VoteState.Disagreed);
      for (let seat = 0; seat < 3; seat++) expect(await votes.leafAt(word, seat)).to.equal(leaves[seat]);
      expect(word & CHAIN_BITS).to.not.equal(0n);
    });
  });

  describe("#voteAt and #withVote", function () {
    it("write and read each of seats 0..14 in its own two bits, leaving the others and the chain alone", async function () {
      const { votes } = await loadFixture(harnessFixture);
      // Neighbours hold Disagreed (0b11), so a write that spilled over would show.
      const base = wordOf(Array(SEATS).fill(VoteState.Disagreed), FULL_CHAIN);
      for (let seat = 0; seat < SEATS; seat++) {
        for (const state of Object.values(VoteState)) {
          const shift = BigInt(2 * seat);
          const expected = (base & ~(3n << shift)) | (state << shift);
          const written = await votes.withVote(base, seat, state);
          expect(written, `seat ${seat} state ${state}`).to.equal(expected);
          expect(await votes.voteAt(written, seat)).to.equal(state);
          expect(await votes.withVote(0, seat, state)).to.equal(state << shift);
        }
      }
    });

    it("reads Drawn from every seat of a fresh word", async function () {
      const { votes } = await loadFixture(harnessFixture);
      for (let seat = 0; seat < SEATS; seat++) expect(await votes.voteAt(0, seat)).to.equal(VoteState.Drawn);
    });
  });

  describe("#allCommitted", function () {
    it("is true exactly when each of the first `size` seats has left Drawn, for every size 1..15", async function () {
      const { votes } = await loadFixture(harnessFixture);
      const mixed = [VoteState.Committed, VoteState.Agreed, VoteState.Disagreed];
      for (let size = 1; size <= SEATS; size++) {
        const states = Array.from({ length: size }, (_, i) => mixed[i % 3]);
        expect(await votes.allCommitted(wordOf(states, FULL_CHAIN), size), `size ${size}`).to.equal(true);
        // The last seat still Drawn, and seats beyond the committee (Drawn) do not count.
        const lastDrawn = [...states.slice(0, -1), VoteState.Drawn];
        expect(await votes.allCommitted(wordOf(lastDrawn, FULL_CHAIN), size), `size ${size} last`).to.equal(false);
        const firstDrawn = [VoteState.Drawn, ...states.slice(1)];
        expect(await votes.allCommitted(wordOf(firstDrawn), size), `size ${size} first`).to.equal(false);
      }
    });

    it("ignores the chain: a word of Drawn seats under a full chain is not committed", async function () {
      const { votes } = await loadFixture(harnessFixture);
      expect(await votes.allCommitted(FULL_CHAIN, SEATS)).to.equal(false);
      expect(await votes.allCommitted(FULL_CHAIN, 1)).to.equal(false);
    });

    it("is true for an empty committee", async function () {
      const { votes } = await loadFixture(harnessFixture);
      expect(await votes.allCommitted(0, 0)).to.equal(true);
    });
  });

  describe("#allRevealed", function () {
    it("is true exactly when each of the first `size` seats is Agreed or Disagreed, for every size 1..15", async function () {
      const { votes } = await loadFixture(harnessFixture);
      for (let size = 1; size <= SEATS; size++) {
        const states = Array.from({ length: size }, (_, i) => (i % 2 ? VoteState.Agreed : VoteState.Disagreed));
        expect(await votes.allRevealed(wordOf(states, FULL_CHAIN), size), `size ${size}`).to.equal(true);
        const lastCommitted = [...states.slice(0, -1), VoteState.Committed];
        expect(await votes.allRevealed(wordOf(lastCommitted, FULL_CHAIN), size), `size ${size} last`).to.equal(false);
        const lastDrawn = [...states.slice(0, -1), VoteState.Drawn];
        expect(await votes.allRevealed(wordOf(lastDrawn), size), `size ${size} drawn`).to.equal(false);
      }
    });

    it("ignores the chain and the seats beyond the committee", async function () {
      const { votes } = await loadFixture(harnessFixture);
      expect(await votes.allRevealed(FULL_CHAIN, SEATS)).to.equal(false);
      expect(await votes.allRevealed(wordOf([VoteState.Agreed, VoteState.Drawn]), 1)).to.equal(true);
    });
  });

  describe("#withCommitment, #chain and #fold", function () {
    it("fold is the high 128 bits of keccak256(abi.encode(previous, sealed))", async function () {
      const { votes } = await loadFixture(harnessFixture);
      const sealed = ethers.id("sealed");
      expect(await votes.fold(0, sealed)).to.equal(fold(0n, sealed));
      expect(await votes.fold((1n << 128n) - 1n, sealed)).to.equal(fold((1n << 128n) - 1n, sealed));
    });

    it("folds commitments in order into the chain, keeping the vote states and the members", async function () {
      const { votes } = await loadFixture(harnessFixture);
      const states = wordOf(Array(SEATS).fill(VoteState.Committed)) | MEMBER_BITS;
      let word = states;
      let expected = 0n;
      for (let i = 0; i < 4; i++) {
        const sealed = ethers.id(`sealed ${i}`);
        word = await votes.withCommitment(word, sealed);
        expected = fold(expected, sealed);
        expect(await votes.chain(word)).to.equal(expected);
        expect(word).to.equal((expected << 128n) | states);
      }
      expect(await votes.chain(states)).to.equal(0n);
    });
  });
});
