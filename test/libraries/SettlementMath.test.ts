import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { PANIC_CODES } from "@nomicfoundation/hardhat-chai-matchers/panic";
import { settlement } from "../fixtures/escrow";
import type { SettlementMathHarness } from "../../typechain-types";

/** An odd fee, so that every share rounds. */
const FEE = 10_001n;

async function harnessFixture(): Promise<{ math: SettlementMathHarness }> {
  const math = await ethers.deployContract("SettlementMathHarness");
  return { math: math as unknown as SettlementMathHarness };
}

/** A returned Settlement as the ordered tuple `settlement()` builds. */
function fields(s: readonly bigint[]): bigint[] {
  return [...s];
}

describe("SettlementMath", function () {
  describe("#accepted", function () {
    it("takes royalty and protocol fee off the top, rounded down, and leaves the rest to the worker", async function () {
      const { math } = await loadFixture(harnessFixture);
      // 10,001 * 3.33% = 333.03, 10,001 * 0.77% = 77.0077: the worker gets the rounding.
      expect(fields(await math.accepted(FEE, 333, 77))).to.deep.equal(
        settlement({ workerPayment: 9591n, royalty: 333n, treasuryPayment: 77n }),
      );
    });

    it("pays the worker the whole fee when both shares are zero", async function () {
      const { math } = await loadFixture(harnessFixture);
      expect(fields(await math.accepted(FEE, 0, 0))).to.deep.equal(settlement({ workerPayment: FEE }));
    });

    it("splits a zero fee into zeros", async function () {
      const { math } = await loadFixture(harnessFixture);
      expect(fields(await math.accepted(0, 2000, 1000))).to.deep.equal(settlement({}));
    });
  });

  describe("#acceptedByCommittee", function () {
    describe("when unchallenged", function () {
      it("splits the verifier share equally and sends the split's remainder to the treasury", async function () {
        const { math } = await loadFixture(harnessFixture);
        // pool 10,001 * 19.99% = 1,999 → 666 each to 3, remainder 1 to the treasury (77 + 1).
        expect(fields(await math.acceptedByCommittee(FEE, 333, 77, 1999, 3, 0, 2500, 4000))).to.deep.equal(
          settlement({
            workerPayment: 7592n,
            royalty: 333n,
            treasuryPayment: 78n,
            verifierReward: 666n,
            rewardedVerifiers: 3n,
          }),
        );
      });

      it("ignores the bond shares when there is no bond", async function () {
        const { math } = await loadFixture(harnessFixture);
        expect(fields(await math.acceptedByCommittee(FEE, 333, 77, 1999, 3, 0, 0, 0))).to.deep.equal(
          fields(await math.acceptedByCommittee(FEE, 333, 77, 1999, 3, 0, 9000, 1000)),
        );
      });

      it("rewards nothing but still counts the voters when the verifier share is zero", async function () {
        const { math } = await loadFixture(harnessFixture);
        expect(fields(await math.acceptedByCommittee(FEE, 333, 77, 0, 15, 0, 0, 0))).to.deep.equal(
          settlement({ workerPayment: 9591n, royalty: 333n, treasuryPayment: 77n, rewardedVerifiers: 15n }),
        );
      });
    });

    describe("when a challenger forfeited its bond", function () {
      it("splits the bond between worker, verifiers and treasury, rounding into the treasury", async function () {
        const { math } = await loadFixture(harnessFixture);
        // bond 1,000,003: 250,000 (25%) to the worker, 400,001 (40%) to the pool, 350,002 to the treasury;
        // pool 1,999 + 400,001 = 402,000 over 7 = 57,428 each, remainder 4 to the treasury.
        expect(fields(await math.acceptedByCommittee(FEE, 333, 77, 1999, 7, 1_000_003, 2500, 4000))).to.deep.equal(
          settlement({
            workerPayment: 257_592n,
            royalty: 333n,
            treasuryPayment: 350_083n,
            verifierReward: 57_428n,
            rewardedVerifiers: 7n,
          }),
        );
      });
    });

    it("reverts with a division by zero when nobody agreed", async function () {
      const { math } = await loadFixture(harnessFixture);
      await expect(math.acceptedByCommittee(FEE, 333, 77, 1999, 0, 0, 0, 0)).to.be.revertedWithPanic(
        PANIC_CODES.DIVISION_BY_ZERO,
      );
    });
  });

  describe("#rejected", function () {
    it("shares the reward with a winning challenger and returns its bond, rounding into the treasury", async function () {
      const { math } = await loadFixture(harnessFixture);
      // slash 20,003: compensation 10,001 (50%, rounded down), pool 6,002 (30.01%) over 2 + 1 = 2,000 each;
      // the treasury keeps 20,003 - 10,001 - 6,000 = 4,002 (the pool's remainder 2 included).
      expect(fields(await math.rejected(FEE, 20_003, 5000, 3001, 2, true, 777))).to.deep.equal(
        settlement({
          treasuryPayment: 4002n,
          verifierReward: 2000n,
          rewardedVerifiers: 2n,
          requesterRefund: 20_002n,
          challengerPayment: 2777n,
          slashed: 20_003n,
        }),
      );
    });

    it("splits among the verifiers alone when unchallenged, and pays no challenger", async function () {
      const { math } = await loadFixture(harnessFixture);
      expect(fields(await math.rejected(FEE, 20_003, 5000, 3001, 2, false, 0))).to.deep.equal(
        settlement({
          treasuryPayment: 4000n,
          verifierReward: 3001n,
          rewardedVerifiers: 2n,
          requesterRefund: 20_002n,
          slashed: 20_003n,
        }),
      );
    });

    it("gives the whole slash to requester and treasury when the reward share is zero", async function () {
      const { math } = await loadFixture(harnessFixture);
      expect(fields(await math.rejected(FEE, 20_003, 5000, 0, 8, true, 777))).to.deep.equal(
        settlement({
          treasuryPayment: 10_002n,
          rewardedVerifiers: 8n,
          requesterRefund: 20_002n,
          challengerPayment: 777n,
          slashed: 20_003n,
        }),
      );
    });

    it("refunds the fee alone when nothing could be slashed", async function () {
      const { math } = await loadFixture(harnessFixture);
      expect(fields(await math.rejected(FEE, 0, 5000, 3000, 15, false, 0))).to.deep.equal(
        settlement({ rewardedVerifiers: 15n, requesterRefund: FEE }),
      );
    });
  });

  describe("#abandoned", function () {
    it("compensates the requester from the slash, rounded down, and gives the treasury the rest", async function () {
      const { math } = await loadFixture(harnessFixture);
      expect(fields(await math.abandoned(FEE, 1999, 5000))).to.deep.equal(
        settlement({ treasuryPayment: 1000n, requesterRefund: 11_000n, slashed: 1999n }),
      );
    });

    it("gives the treasury the whole slash when compensation is zero", async function () {
      const { math } = await loadFixture(harnessFixture);
      expect(fields(await math.abandoned(FEE, 1999, 0))).to.deep.equal(
        settlement({ treasuryPayment: 1999n, requesterRefund: FEE, slashed: 1999n }),
      );
    });
  });

  describe("#abandonSlash", function () {
    it("rounds the slashed share of the collateral down", async function () {
      const { math } = await loadFixture(harnessFixture);
      expect(await math.abandonSlash(30_001, 500)).to.equal(1500n);
      expect(await math.abandonSlash(30_001, 10_000)).to.equal(30_001n);
    });
  });

  describe("#inconclusive and #expired", function () {
    it("refund the fee and return a challenger's bond", async function () {
      const { math } = await loadFixture(harnessFixture);
      expect(fields(await math.inconclusive(FEE, 777))).to.deep.equal(
        settlement({ requesterRefund: FEE, challengerPayment: 777n }),
      );
      expect(fields(await math.inconclusive(FEE, 0))).to.deep.equal(settlement({ requesterRefund: FEE }));
      expect(fields(await math.expired(FEE))).to.deep.equal(settlement({ requesterRefund: FEE }));
    });
  });

  describe("#unresolvedChallenge", function () {
    it("refunds the fee, pays the worker its accepted share out of the bond and returns the rest", async function () {
      const { math } = await loadFixture(harnessFixture);
      const bond = FEE + 777n;
      // 10,001 * 12.34% = 1,234.12 and 10,001 * 2.5% = 250.03 round down; the worker gets 8,517.
      expect(fields(await math.unresolvedChallenge(FEE, 1234, 250, bond))).to.deep.equal(
        settlement({
          workerPayment: 8517n,
          royalty: 1234n,
          treasuryPayment: 250n,
          requesterRefund: FEE,
          challengerPayment: 777n,
        }),
      );
    });

    it("returns nothing of a bond equal to the fee", async function () {
      const { math } = await loadFixture(harnessFixture);
      const s = fields(await math.unresolvedChallenge(FEE, 0, 0, FEE));
      expect(s).to.deep.equal(settlement({ workerPayment: FEE, requesterRefund: FEE }));
    });

    it("reverts when the bond is smaller than the fee (the escrow never posts one)", async function () {
      const { math } = await loadFixture(harnessFixture);
      await expect(math.unresolvedChallenge(FEE, 0, 0, FEE - 1n)).to.be.revertedWithPanic(
        PANIC_CODES.ARITHMETIC_OVERFLOW,
      );
    });
  });
});
