import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { SortitionSumTreeHarness } from "../../typechain-types";
import { deployStakingFixture, STAKE } from "../fixtures/staking";

const MAX_LEAVES = 2n ** 32n;

async function treeFixture(): Promise<{ tree: SortitionSumTreeHarness }> {
  return { tree: (await ethers.deployContract("SortitionSumTreeHarness")) as unknown as SortitionSumTreeHarness };
}

describe("SortitionSumTree leaves", function () {
  it("gives each account its leaf for good, in order, and reads it back; zero for a leaf never given", async function () {
    const { tree } = await loadFixture(treeFixture);
    const [a, b] = [ethers.Wallet.createRandom().address, ethers.Wallet.createRandom().address];
    await tree.set(a, 5);
    await tree.set(b, 7);
    await tree.set(a, 0); // a zero weight keeps the leaf
    await tree.set(a, 9);
    expect([await tree.accountAt(0), await tree.accountAt(1)]).to.deep.equal([a, b]);
    expect(await tree.accountAt(2)).to.equal(ethers.ZeroAddress);
    expect(await tree.leafCount()).to.equal(2n);
  });

  it("allocates up to MAX_LEAVES (2^32) leaves, so a leaf fits the 32 bits an escrow stores, then reverts with SortitionSumTreeFull", async function () {
    const { tree } = await loadFixture(treeFixture);
    await tree.skipLeaves(MAX_LEAVES - 1n);
    const last = ethers.Wallet.createRandom().address;
    await tree.set(last, 1);
    expect(await tree.accountAt(MAX_LEAVES - 1n)).to.equal(last);
    await expect(tree.set(ethers.Wallet.createRandom().address, 1)).to.be.revertedWithCustomError(
      tree,
      "SortitionSumTreeFull",
    );
    // An account that has its leaf can still change its weight.
    await tree.set(last, 2);
  });
});

describe("VerifierStaking committee leaves", function () {
  it("drawCommitteeLeaves draws drawCommittee's committee, with leaves that verifierAtLeaf and verifiersAtLeaves resolve", async function () {
    const s = await loadFixture(deployStakingFixture);
    for (const v of s.verifiers.slice(0, 5)) await s.stakeAs(v, STAKE, true);
    for (let seed = 1n; seed <= 5n; seed++) {
      const committee = await s.staking.drawCommittee(seed, 3, [s.verifiers[0].address]);
      const [members, leaves] = await s.staking.drawCommitteeLeaves(seed, 3, [s.verifiers[0].address]);
      expect([...members]).to.deep.equal([...committee]);
      expect(leaves).to.have.lengthOf(3);
      for (const [i, leaf] of leaves.entries()) {
        expect(leaf).to.be.lessThan(MAX_LEAVES);
        expect(await s.staking.verifierAtLeaf(leaf)).to.equal(members[i]);
      }
      expect([...(await s.staking.verifiersAtLeaves([...leaves]))]).to.deep.equal([...members]);
    }
    expect(await s.staking.verifierAtLeaf(1000)).to.equal(ethers.ZeroAddress);
  });

  it("drawCommitteeLeaves refuses what drawCommittee refuses", async function () {
    const s = await loadFixture(deployStakingFixture);
    await s.stakeAs(s.verifiers[0], STAKE, true);
    await expect(s.staking.drawCommitteeLeaves(1, 2, []))
      .to.be.revertedWithCustomError(s.staking, "VerifierStakingInsufficientVerifiers")
      .withArgs(1, 2);
    await expect(s.staking.drawCommitteeLeaves(1, 0, []))
      .to.be.revertedWithCustomError(s.staking, "VerifierStakingInvalidCommitteeSize")
      .withArgs(0);
  });
});
