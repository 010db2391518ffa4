import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther } from "ethers";
import { deployTokenFixture } from "./fixtures/token";

const FAUCET_AMOUNT = parseEther("1000");

describe("TestToken", function () {
  describe("deployment", function () {
    it("sets the name, symbol, decimals and owner, with no supply", async function () {
      const { token, owner } = await loadFixture(deployTokenFixture);
      expect(await token.name()).to.equal("TrustML Test Token");
      expect(await token.symbol()).to.equal("TML");
      expect(await token.decimals()).to.equal(18n);
      expect(await token.owner()).to.equal(owner.address);
      expect(await token.totalSupply()).to.equal(0n);
    });

    it("exposes FAUCET_AMOUNT of 1000 tokens", async function () {
      const { token } = await loadFixture(deployTokenFixture);
      expect(await token.FAUCET_AMOUNT()).to.equal(FAUCET_AMOUNT);
    });
  });

  describe("#mint", function () {
    describe("when the owner mints", function () {
      it("credits the recipient and the supply", async function () {
        const { token, owner, holder } = await loadFixture(deployTokenFixture);
        const amount = parseEther("123.5");
        await expect(token.connect(owner).mint(holder.address, amount)).to.changeTokenBalances(
          token,
          [holder, owner],
          [amount, 0n],
        );
        expect(await token.totalSupply()).to.equal(amount);
      });

      it("emits Transfer from the zero address", async function () {
        const { token, owner, holder } = await loadFixture(deployTokenFixture);
        await expect(token.connect(owner).mint(holder.address, 42n))
          .to.emit(token, "Transfer")
          .withArgs(ethers.ZeroAddress, holder.address, 42n);
      });
    });

    describe("when the caller is not the owner", function () {
      it("reverts with OwnableUnauthorizedAccount", async function () {
        const { token, holder, other } = await loadFixture(deployTokenFixture);
        await expect(token.connect(other).mint(holder.address, 1n))
          .to.be.revertedWithCustomError(token, "OwnableUnauthorizedAccount")
          .withArgs(other.address);
        await expect(token.connect(other).mint(other.address, 1n))
          .to.be.revertedWithCustomError(token, "OwnableUnauthorizedAccount")
          .withArgs(other.address);
        expect(await token.totalSupply()).to.equal(0n);
      });
    });
  });

  describe("#faucet", function () {
    describe("when any account calls it", function () {
      it("mints FAUCET_AMOUNT to the caller", async function () {
        const { token, other } = await loadFixture(deployTokenFixture);
        await expect(token.connect(other).faucet()).to.changeTokenBalance(token, other, FAUCET_AMOUNT);
        expect(await token.totalSupply()).to.equal(FAUCET_AMOUNT);
      });

      it("emits Transfer from the zero address to the caller", async function () {
        const { token, holder } = await loadFixture(deployTokenFixture);
        await expect(token.connect(holder).faucet())
          .to.emit(token, "Transfer")
          .withArgs(ethers.ZeroAddress, holder.address, FAUCET_AMOUNT);
      });

      it("mints again on every call", async function () {
        const { token, owner, holder } = await loadFixture(deployTokenFixture);
        await token.connect(holder).faucet();
        await token.connect(holder).faucet();
        await token.connect(owner).faucet();
        expect(await token.balanceOf(holder.address)).to.equal(FAUCET_AMOUNT * 2n);
        expect(await token.balanceOf(owner.address)).to.equal(FAUCET_AMOUNT);
        expect(await token.totalSupply()).to.equal(FAUCET_AMOUNT * 3n);
      });
    });
  });
});
