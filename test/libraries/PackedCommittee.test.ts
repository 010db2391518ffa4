import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { PackedCommitteeHarness } from "../../typechain-types";

const SEATS = 15; // MAX_COMMITTEE_SIZE
const IN_VOTE_WORD = 3; // VoteWordLib.SEATS_IN_WORD

/** 15 distinct 32-bit leaves with every byte non-zero, so a bit lost or shifted at a boundary shows. */
const LEAVES = Array.from(
  { length: SEATS },
  (_, i) => BigInt(ethers.keccak256(ethers.toBeHex(i + 1, 32)).slice(0, 10)) | 0x01010101n,
);

/** The vote word of a committee just drawn: every seat Drawn, the first three leaves above the 32 state bits. */
function voteWordOf(leaves: bigint[]): bigint {
  return leaves.slice(0, IN_VOTE_WORD).reduce((word, leaf, i) => word | (leaf << BigInt(32 + 32 * i)), 0n);
}

async function harnessFixture(): Promise<{ committee: PackedCommitteeHarness }> {
  const committee = await ethers.deployContract("PackedCommitteeHarness");
  return { committee: committee as unknown as PackedCommitteeHarness };
}

describe("PackedCommittee", function () {
  describe("#wordCount", function () {
    it("is 0 up to three seats (the vote word holds them), then ceil((size - 3) / 8)", async function () {
      const { committee } = await loadFixture(harnessFixture);
      const expected = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2];
      for (let size = 0; size <= SEATS; size++) expect(await committee.wordCount(size)).to.equal(expected[size]);
    });
  });

  for (const size of [1, 2, 3, 4, 11, 12, 15]) {
    describe(`with a committee of ${size}`, function () {
      async function storedFixture() {
        const f = await harnessFixture();
        await f.committee.store(LEAVES.slice(0, size));
        return f;
      }

      it("puts the first three leaves in the vote word and the rest eight to a word, zero after the last", async function () {
        const { committee } = await loadFixture(storedFixture);
        expect(await committee.votes()).to.equal(voteWordOf(LEAVES.slice(0, size)));
        const rest = LEAVES.slice(IN_VOTE_WORD, size);
        const words = Math.ceil(rest.length / 8);
        for (let w = 0; w < words; w++) {
          const expected = rest.slice(w * 8, w * 8 + 8).reduce((word, leaf, i) => word | (leaf << BigInt(32 * i)), 0n);
          expect(await committee.wordAt(w), `word ${w}`).to.equal(expected);
        }
        expect(await committee.wordAt(words)).to.equal(0n);
      });

      it("reads every seat back, one at a time and all together", async function () {
        const { committee } = await loadFixture(storedFixture);
        for (let seat = 0; seat < size; seat++)
          expect(await committee.leafAt(seat), `seat ${seat}`).to.equal(LEAVES[seat]);
        expect(await committee.leaves(size)).to.deep.equal(LEAVES.slice(0, size));
      });
    });
  }

  it("reads every prefix of a full committee", async function () {
    const { committee } = await loadFixture(harnessFixture);
    await committee.store(LEAVES);
    for (let size = 0; size <= SEATS; size++) expect(await committee.leaves(size)).to.deep.equal(LEAVES.slice(0, size));
  });

  it("keeps leaf 0 and the largest leaf, 2^32 - 1, apart from their neighbours", async function () {
    const { committee } = await loadFixture(harnessFixture);
    const edges = [0n, 2n ** 32n - 1n, 0n, 2n ** 32n - 1n, 0n, 2n ** 32n - 1n];
    await committee.store(edges);
    expect(await committee.leaves(edges.length)).to.deep.equal(edges);
  });
});
