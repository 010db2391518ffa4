import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { PackedCommitteeHarness } from "../../typechain-types";

const SEATS = 15; // MAX_COMMITTEE_SIZE

/** 15 distinct addresses with no zero byte, so a byte lost or shifted at a word boundary shows. */
const MEMBERS = Array.from({ length: SEATS }, (_, i) =>
  ethers.getAddress(
    "0x" +
      ethers
        .keccak256(ethers.toBeHex(i + 1, 32))
        .slice(2, 42)
        .replace(/00/g, "a5"),
  ),
);

async function harnessFixture(): Promise<{ committee: PackedCommitteeHarness }> {
  const committee = await ethers.deployContract("PackedCommitteeHarness");
  return { committee: committee as unknown as PackedCommitteeHarness };
}

describe("PackedCommittee", function () {
  describe("#wordCount", function () {
    it("is ceil(20 * size / 32)", async function () {
      const { committee } = await loadFixture(harnessFixture);
      const expected = [0, 1, 2, 2, 3, 4, 4, 5, 5, 6, 7, 7, 8, 9, 9, 10];
      for (let size = 0; size <= SEATS; size++) expect(await committee.wordCount(size)).to.equal(expected[size]);
    });
  });

  for (const size of [1, 2, 3, 8, 13, 15]) {
    describe(`with a committee of ${size}`, function () {
      async function storedFixture() {
        const f = await harnessFixture();
        await f.committee.store(MEMBERS.slice(0, size));
        return f;
      }

      it("packs the addresses 20 bytes each, back to back, zero after the last", async function () {
        const { committee } = await loadFixture(storedFixture);
        const packed = ethers
          .concat(MEMBERS.slice(0, size))
          .slice(2)
          .padEnd(Math.ceil((size * 20) / 32) * 64, "0");
        const words = size === 0 ? 0 : Math.ceil((size * 20) / 32);
        for (let w = 0; w < words; w++) {
          expect(await committee.wordAt(w), `word ${w}`).to.equal(BigInt("0x" + packed.slice(w * 64, w * 64 + 64)));
        }
        expect(await committee.wordAt(words)).to.equal(0n);
      });

      it("reads every seat back, including those that span two words", async function () {
        const { committee } = await loadFixture(storedFixture);
        for (let seat = 0; seat < size; seat++)
          expect(await committee.memberAt(seat), `seat ${seat}`).to.equal(MEMBERS[seat]);
        expect(await committee.load(size)).to.deep.equal(MEMBERS.slice(0, size));
      });

      it("reads the zero address beyond the last seat", async function () {
        const { committee } = await loadFixture(storedFixture);
        if (size < SEATS) expect(await committee.memberAt(size)).to.equal(ethers.ZeroAddress);
      });
    });
  }

  it("loads every prefix of a full committee", async function () {
    const { committee } = await loadFixture(harnessFixture);
    await committee.store(MEMBERS);
    for (let size = 0; size <= SEATS; size++) expect(await committee.load(size)).to.deep.equal(MEMBERS.slice(0, size));
  });
});
