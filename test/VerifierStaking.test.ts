import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, setCode, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import type { AddressLike } from "ethers";
import type { EscrowStub, VerifierStaking } from "../typechain-types";
import {
  DAY,
  DEFAULT_UNBONDING_PERIOD,
  HOUR,
  MAX_COMMITTEE_SIZE,
  MAX_MIN_VERIFIER_STAKE,
  MAX_UNBONDING_PERIOD,
  MIN_STAKE,
  MIN_UNBONDING_PERIOD,
  STAKE,
  STUB_WINDOW,
  deployStakingFixture,
  exitVerifiers,
  falseReturningFixture,
  feeOnTransferFixture,
  reentrantTokenFixture,
  stakedFixture,
  tokens,
  verifiersStakedFixture,
} from "./fixtures/staking";

const UNBONDING_PERIOD_NAME = ethers.encodeBytes32String("unbondingPeriod");
const MIN_VERIFIER_STAKE_NAME = ethers.encodeBytes32String("minVerifierStake");

interface ExpectedAccount {
  active: bigint;
  locked: bigint;
  unbonding: bigint;
  unbondingEnd?: bigint;
  verifier?: boolean;
}

/** Checks an account's stake field by field, by name (the struct's layout is not part of the interface). */
async function expectAccount(staking: VerifierStaking, account: AddressLike, expected: ExpectedAccount): Promise<void> {
  const address = await ethers.resolveAddress(account);
  const actual = await staking.accountOf(address);
  expect(actual.active, "active").to.equal(expected.active);
  expect(actual.locked, "locked").to.equal(expected.locked);
  expect(actual.unbonding, "unbonding").to.equal(expected.unbonding);
  if (expected.unbondingEnd !== undefined) expect(actual.unbondingEnd, "unbondingEnd").to.equal(expected.unbondingEnd);
  if (expected.verifier !== undefined) expect(actual.verifier, "verifier").to.equal(expected.verifier);
  expect(await staking.freeStakeOf(address), "freeStakeOf").to.equal(expected.active - expected.locked);
}

/** VerifierStaking.ESCROW_NOTICE_MARGIN and ESCROW_NOTICE_VALIDITY. */
const ESCROW_NOTICE_MARGIN = DAY;
const ESCROW_NOTICE_VALIDITY = 30n * DAY;

/** A contract escrow to announce: an EscrowStub whose dispute window fits the default unbonding period. */
async function newEscrow(staking: VerifierStaking): Promise<EscrowStub> {
  return ethers.deployContract("EscrowStub", [staking, STUB_WINDOW]);
}

/** The EXTCODEHASH of a contract. */
async function codeHashOf(contract: AddressLike): Promise<string> {
  return ethers.keccak256(await ethers.provider.getCode(await ethers.resolveAddress(contract)));
}

/** Sets the timestamp of the next transaction and returns it. */
async function nextTimestamp(delta = 10n): Promise<bigint> {
  const t = BigInt(await time.latest()) + delta;
  await time.setNextBlockTimestamp(t);
  return t;
}

describe("VerifierStaking", function () {
  describe("#constructor", function () {
    describe("when the token is the zero address", function () {
      it("reverts with VerifierStakingZeroAddress", async function () {
        const [admin] = await ethers.getSigners();
        const factory = await ethers.getContractFactory("VerifierStaking");
        await expect(factory.deploy(ethers.ZeroAddress, admin.address, MIN_STAKE)).to.be.revertedWithCustomError(
          factory,
          "VerifierStakingZeroAddress",
        );
      });
    });

    describe("when the admin is the zero address", function () {
      it("reverts with VerifierStakingZeroAddress", async function () {
        const { token } = await loadFixture(deployStakingFixture);
        const factory = await ethers.getContractFactory("VerifierStaking");
        await expect(factory.deploy(token, ethers.ZeroAddress, MIN_STAKE)).to.be.revertedWithCustomError(
          factory,
          "VerifierStakingZeroAddress",
        );
      });
    });

    describe("when the minimum verifier stake is above MAX_MIN_VERIFIER_STAKE", function () {
      it("reverts with VerifierStakingInvalidParam", async function () {
        const { token, admin } = await loadFixture(deployStakingFixture);
        const factory = await ethers.getContractFactory("VerifierStaking");
        await expect(factory.deploy(token, admin.address, MAX_MIN_VERIFIER_STAKE + 1n))
          .to.be.revertedWithCustomError(factory, "VerifierStakingInvalidParam")
          .withArgs(MIN_VERIFIER_STAKE_NAME, MAX_MIN_VERIFIER_STAKE + 1n, 0, MAX_MIN_VERIFIER_STAKE);
      });
    });

    describe("when the arguments are valid", function () {
      it("sets the token, the parameters and the admin (not the deployer), and emits MinVerifierStakeUpdated", async function () {
        const { token, admin, other } = await loadFixture(deployStakingFixture);
        const staking = await ethers.deployContract("VerifierStaking", [token, admin.address, tokens(5)], other);
        await expect(staking.deploymentTransaction())
          .to.emit(staking, "MinVerifierStakeUpdated")
          .withArgs(0, tokens(5));
        expect(await staking.token()).to.equal(await token.getAddress());
        expect(await staking.minVerifierStake()).to.equal(tokens(5));
        expect(await staking.unbondingPeriod()).to.equal(DEFAULT_UNBONDING_PERIOD);
        const adminRole = await staking.DEFAULT_ADMIN_ROLE();
        expect(await staking.hasRole(adminRole, admin.address)).to.equal(true);
        expect(await staking.hasRole(adminRole, other.address)).to.equal(false);
        expect(await staking.getRoleMemberCount(await staking.ESCROW_ROLE())).to.equal(0);
        expect(await staking.totalVerifierWeight()).to.equal(0);
        expect(await staking.eligibleVerifierCount()).to.equal(0);
        expect(await staking.totalStake()).to.equal(0);
      });

      it("exposes the documented constants", async function () {
        const { staking } = await loadFixture(deployStakingFixture);
        expect(await staking.ESCROW_ROLE()).to.equal(ethers.id("ESCROW_ROLE"));
        expect(await staking.MIN_UNBONDING_PERIOD()).to.equal(MIN_UNBONDING_PERIOD);
        expect(await staking.MAX_UNBONDING_PERIOD()).to.equal(MAX_UNBONDING_PERIOD);
        expect(await staking.DEFAULT_UNBONDING_PERIOD()).to.equal(DEFAULT_UNBONDING_PERIOD);
        expect(await staking.MAX_MIN_VERIFIER_STAKE()).to.equal(MAX_MIN_VERIFIER_STAKE);
        expect(await staking.MAX_COMMITTEE_SIZE()).to.equal(MAX_COMMITTEE_SIZE);
        expect(await staking.ESCROW_NOTICE_MARGIN()).to.equal(ESCROW_NOTICE_MARGIN);
        expect(await staking.ESCROW_NOTICE_VALIDITY()).to.equal(ESCROW_NOTICE_VALIDITY);
      });
    });
  });

  describe("#stake", function () {
    describe("when the amount is zero", function () {
      it("reverts with VerifierStakingZeroAmount", async function () {
        const { staking, alice } = await loadFixture(deployStakingFixture);
        await expect(staking.connect(alice).stake(0)).to.be.revertedWithCustomError(
          staking,
          "VerifierStakingZeroAmount",
        );
      });
    });

    describe("when the token takes a fee on transfer", function () {
      it("reverts with VerifierStakingTransferShortfall(expected, received)", async function () {
        const { staking, alice } = await loadFixture(feeOnTransferFixture);
        const amount = tokens(100);
        await expect(staking.connect(alice).stake(amount))
          .to.be.revertedWithCustomError(staking, "VerifierStakingTransferShortfall")
          .withArgs(amount, amount - amount / 100n);
      });
    });

    describe("when the token returns false", function () {
      it("reverts with SafeERC20FailedOperation(token)", async function () {
        const { staking, token, alice } = await loadFixture(falseReturningFixture);
        await token.setFailing(true);
        await expect(staking.connect(alice).stake(tokens(1)))
          .to.be.revertedWithCustomError(staking, "SafeERC20FailedOperation")
          .withArgs(await token.getAddress());
      });

      it("stakes normally while the token behaves", async function () {
        const { staking, token, alice } = await loadFixture(falseReturningFixture);
        await expect(staking.connect(alice).stake(tokens(1))).to.changeTokenBalances(
          token,
          [alice, staking],
          [-tokens(1), tokens(1)],
        );
      });
    });

    describe("when the staker has not approved the staking contract", function () {
      it("reverts with the token's ERC20InsufficientAllowance", async function () {
        const { staking, token, alice } = await loadFixture(deployStakingFixture);
        await token.connect(alice).approve(staking, 0);
        await expect(staking.connect(alice).stake(1))
          .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
          .withArgs(await staking.getAddress(), 0, 1);
      });
    });

    describe("when the amount is valid", function () {
      it("pulls the tokens from the staker", async function () {
        const { staking, token, alice } = await loadFixture(deployStakingFixture);
        await expect(staking.connect(alice).stake(STAKE)).to.changeTokenBalances(
          token,
          [alice, staking],
          [-STAKE, STAKE],
        );
      });

      it("emits Staked(account, amount)", async function () {
        const { staking, alice } = await loadFixture(deployStakingFixture);
        await expect(staking.connect(alice).stake(STAKE)).to.emit(staking, "Staked").withArgs(alice.address, STAKE);
      });

      it("adds to the active stake, cumulatively", async function () {
        const { staking, alice } = await loadFixture(deployStakingFixture);
        await staking.connect(alice).stake(STAKE);
        await staking.connect(alice).stake(7n);
        await expectAccount(staking, alice, {
          active: STAKE + 7n,
          locked: 0n,
          unbonding: 0n,
          unbondingEnd: 0n,
          verifier: false,
        });
      });

      it("gives no draw weight to an account that is not a verifier", async function () {
        const { staking, alice } = await loadFixture(deployStakingFixture);
        await staking.connect(alice).stake(STAKE);
        expect(await staking.verifierWeightOf(alice.address)).to.equal(0);
        expect(await staking.totalVerifierWeight()).to.equal(0);
        expect(await staking.eligibleVerifierCount()).to.equal(0);
      });
    });

    describe("when the staker is a verifier", function () {
      it("raises its weight and the total weight by the amount", async function () {
        const { staking, alice } = await loadFixture(verifiersStakedFixture);
        await staking.connect(alice).stake(tokens(5));
        expect(await staking.verifierWeightOf(alice.address)).to.equal(STAKE + tokens(5));
        expect(await staking.totalVerifierWeight()).to.equal(3n * STAKE + tokens(5));
        expect(await staking.eligibleVerifierCount()).to.equal(3);
      });

      it("makes a verifier slashed below the minimum eligible again once its free stake reaches the minimum", async function () {
        const { staking, escrow, alice, recipient } = await loadFixture(verifiersStakedFixture);
        await staking.connect(escrow).slash(alice.address, 0, STAKE, recipient.address);
        expect(await staking.eligibleVerifierCount()).to.equal(2);
        await staking.connect(alice).stake(MIN_STAKE - 1n);
        expect(await staking.verifierWeightOf(alice.address)).to.equal(0n);
        expect(await staking.eligibleVerifierCount()).to.equal(2);
        await staking.connect(alice).stake(1n);
        expect(await staking.verifierWeightOf(alice.address)).to.equal(MIN_STAKE);
        expect(await staking.eligibleVerifierCount()).to.equal(3);
      });
    });
  });

  describe("#requestUnstake", function () {
    describe("when the amount is zero", function () {
      it("reverts with VerifierStakingZeroAmount", async function () {
        const { staking, alice } = await loadFixture(stakedFixture);
        await expect(staking.connect(alice).requestUnstake(0)).to.be.revertedWithCustomError(
          staking,
          "VerifierStakingZeroAmount",
        );
      });
    });

    describe("when the account has no stake", function () {
      it("reverts with VerifierStakingInsufficientStake(account, 0, amount)", async function () {
        const { staking, other } = await loadFixture(stakedFixture);
        await expect(staking.connect(other).requestUnstake(1))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInsufficientStake")
          .withArgs(other.address, 0, 1);
      });
    });

    describe("when the amount exceeds the active stake", function () {
      it("reverts with VerifierStakingInsufficientStake(account, free, amount)", async function () {
        const { staking, alice } = await loadFixture(stakedFixture);
        await expect(staking.connect(alice).requestUnstake(STAKE + 1n))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInsufficientStake")
          .withArgs(alice.address, STAKE, STAKE + 1n);
      });
    });

    describe("when the amount exceeds the free stake because part is locked", function () {
      it("reverts with VerifierStakingInsufficientStake(account, free, amount)", async function () {
        const { staking, escrow, alice } = await loadFixture(stakedFixture);
        await staking.connect(escrow).lock(alice.address, tokens(40));
        await expect(staking.connect(alice).requestUnstake(tokens(60) + 1n))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInsufficientStake")
          .withArgs(alice.address, tokens(60), tokens(60) + 1n);
      });

      it("allows exactly the free stake", async function () {
        const { staking, escrow, alice } = await loadFixture(stakedFixture);
        await staking.connect(escrow).lock(alice.address, tokens(40));
        await staking.connect(alice).requestUnstake(tokens(60));
        await expectAccount(staking, alice, { active: tokens(40), locked: tokens(40), unbonding: tokens(60) });
      });
    });

    describe("when the amount is within the free stake", function () {
      it("emits UnstakeRequested(account, amount, now + unbondingPeriod)", async function () {
        const { staking, alice } = await loadFixture(stakedFixture);
        const t = await nextTimestamp();
        await expect(staking.connect(alice).requestUnstake(tokens(30)))
          .to.emit(staking, "UnstakeRequested")
          .withArgs(alice.address, tokens(30), t + DEFAULT_UNBONDING_PERIOD);
      });

      it("moves the amount from active to unbonding and moves no tokens", async function () {
        const { staking, token, alice } = await loadFixture(stakedFixture);
        const t = await nextTimestamp();
        await expect(staking.connect(alice).requestUnstake(tokens(30))).to.changeTokenBalances(
          token,
          [alice, staking],
          [0, 0],
        );
        await expectAccount(staking, alice, {
          active: tokens(70),
          locked: 0n,
          unbonding: tokens(30),
          unbondingEnd: t + DEFAULT_UNBONDING_PERIOD,
        });
      });

      it("restarts the unbonding end of all the unbonding stake", async function () {
        const { staking, alice } = await loadFixture(stakedFixture);
        await staking.connect(alice).requestUnstake(tokens(30));
        await time.increase(3n * DAY);
        const t = await nextTimestamp();
        await expect(staking.connect(alice).requestUnstake(tokens(20)))
          .to.emit(staking, "UnstakeRequested")
          .withArgs(alice.address, tokens(20), t + DEFAULT_UNBONDING_PERIOD);
        await expectAccount(staking, alice, {
          active: tokens(50),
          locked: 0n,
          unbonding: tokens(50),
          unbondingEnd: t + DEFAULT_UNBONDING_PERIOD,
        });
      });

      it("uses the current unbonding period", async function () {
        const { staking, admin, alice } = await loadFixture(stakedFixture);
        await staking.connect(admin).setUnbondingPeriod(30n * DAY);
        const t = await nextTimestamp();
        await staking.connect(alice).requestUnstake(1n);
        expect((await staking.accountOf(alice.address)).unbondingEnd).to.equal(t + 30n * DAY);
      });
    });

    describe("when the account is a verifier", function () {
      it("lowers its weight and the total weight by the amount", async function () {
        const { staking, alice } = await loadFixture(verifiersStakedFixture);
        await staking.connect(alice).requestUnstake(tokens(30));
        expect(await staking.verifierWeightOf(alice.address)).to.equal(tokens(70));
        expect(await staking.totalVerifierWeight()).to.equal(3n * STAKE - tokens(30));
        expect(await staking.eligibleVerifierCount()).to.equal(3);
      });

      it("allows unstaking down to exactly the minimum", async function () {
        const { staking, alice } = await loadFixture(verifiersStakedFixture);
        await staking.connect(alice).requestUnstake(STAKE - MIN_STAKE);
        expect(await staking.verifierWeightOf(alice.address)).to.equal(MIN_STAKE);
        expect(await staking.eligibleVerifierCount()).to.equal(3);
      });

      it("reverts with VerifierStakingExitNoticeRequired(account, freeAfter, minimum) below the minimum, also while leaving", async function () {
        const { staking, alice } = await loadFixture(verifiersStakedFixture);
        await expect(staking.connect(alice).requestUnstake(STAKE))
          .to.be.revertedWithCustomError(staking, "VerifierStakingExitNoticeRequired")
          .withArgs(alice.address, 0, MIN_STAKE);
        await staking.connect(alice).setVerifier(false);
        await expect(staking.connect(alice).requestUnstake(STAKE - MIN_STAKE + 1n))
          .to.be.revertedWithCustomError(staking, "VerifierStakingExitNoticeRequired")
          .withArgs(alice.address, MIN_STAKE - 1n, MIN_STAKE);
        expect(await staking.verifierWeightOf(alice.address)).to.equal(STAKE);
      });

      it("allows unstaking everything once its exit has completed", async function () {
        const { staking, alice } = await loadFixture(verifiersStakedFixture);
        await exitVerifiers(staking, [alice]);
        await staking.connect(alice).requestUnstake(STAKE);
        await expectAccount(staking, alice, { active: 0n, locked: 0n, unbonding: STAKE, verifier: false });
      });

      it("allows unstaking everything when a slash already took it out of the draw", async function () {
        const { staking, escrow, alice, recipient } = await loadFixture(verifiersStakedFixture);
        await staking.connect(escrow).slash(alice.address, 0, STAKE - MIN_STAKE + 1n, recipient.address);
        await staking.connect(alice).requestUnstake(MIN_STAKE - 1n);
        expect(await staking.verifierWeightOf(alice.address)).to.equal(0);
      });
    });
  });

  describe("#withdraw", function () {
    describe("when nothing is unbonding", function () {
      it("reverts with VerifierStakingNothingToWithdraw(account) for an account without stake", async function () {
        const { staking, other } = await loadFixture(stakedFixture);
        await expect(staking.connect(other).withdraw())
          .to.be.revertedWithCustomError(staking, "VerifierStakingNothingToWithdraw")
          .withArgs(other.address);
      });

      it("reverts with VerifierStakingNothingToWithdraw(account) for active stake", async function () {
        const { staking, alice } = await loadFixture(stakedFixture);
        await expect(staking.connect(alice).withdraw())
          .to.be.revertedWithCustomError(staking, "VerifierStakingNothingToWithdraw")
          .withArgs(alice.address);
      });
    });

    describe("when the unbonding period has not ended", function () {
      it("reverts with VerifierStakingStillUnbonding(account, unbondingEnd) one second before the end", async function () {
        const { staking, alice } = await loadFixture(stakedFixture);
        const t = await nextTimestamp();
        await staking.connect(alice).requestUnstake(tokens(30));
        const end = t + DEFAULT_UNBONDING_PERIOD;
        await time.setNextBlockTimestamp(end - 1n);
        await expect(staking.connect(alice).withdraw())
          .to.be.revertedWithCustomError(staking, "VerifierStakingStillUnbonding")
          .withArgs(alice.address, end);
      });

      it("reverts with the restarted end after a second request", async function () {
        const { staking, alice } = await loadFixture(stakedFixture);
        await staking.connect(alice).requestUnstake(tokens(30));
        await time.increase(DEFAULT_UNBONDING_PERIOD - DAY);
        const t = await nextTimestamp();
        await staking.connect(alice).requestUnstake(tokens(1));
        await time.increase(2n * DAY);
        await expect(staking.connect(alice).withdraw())
          .to.be.revertedWithCustomError(staking, "VerifierStakingStillUnbonding")
          .withArgs(alice.address, t + DEFAULT_UNBONDING_PERIOD);
      });
    });

    describe("when the unbonding period has ended", function () {
      async function unbondedFixture() {
        const s = await stakedFixture();
        const t = await nextTimestamp();
        await s.staking.connect(s.alice).requestUnstake(tokens(30));
        return { ...s, end: t + DEFAULT_UNBONDING_PERIOD };
      }

      it("pays the unbonding stake to the account at exactly the unbonding end", async function () {
        const { staking, token, alice, end } = await loadFixture(unbondedFixture);
        await time.setNextBlockTimestamp(end);
        await expect(staking.connect(alice).withdraw()).to.changeTokenBalances(
          token,
          [alice, staking],
          [tokens(30), -tokens(30)],
        );
      });

      it("emits Withdrawn(account, amount) and returns the amount", async function () {
        const { staking, alice, end } = await loadFixture(unbondedFixture);
        await time.increaseTo(end);
        expect(await staking.connect(alice).withdraw.staticCall()).to.equal(tokens(30));
        await expect(staking.connect(alice).withdraw())
          .to.emit(staking, "Withdrawn")
          .withArgs(alice.address, tokens(30));
      });

      it("clears the unbonding stake and end, keeps the active stake, and cannot be repeated", async function () {
        const { staking, alice, end } = await loadFixture(unbondedFixture);
        await time.increaseTo(end);
        await staking.connect(alice).withdraw();
        await expectAccount(staking, alice, { active: tokens(70), locked: 0n, unbonding: 0n, unbondingEnd: 0n });
        await expect(staking.connect(alice).withdraw())
          .to.be.revertedWithCustomError(staking, "VerifierStakingNothingToWithdraw")
          .withArgs(alice.address);
      });

      it("pays only what a slash left of the unbonding stake", async function () {
        const { staking, token, escrow, recipient, alice } = await loadFixture(unbondedFixture);
        await staking.connect(alice).requestUnstake(tokens(70));
        await staking.connect(escrow).slash(alice.address, 0, tokens(80), recipient.address);
        await time.increase(DEFAULT_UNBONDING_PERIOD);
        await expect(staking.connect(alice).withdraw()).to.changeTokenBalances(
          token,
          [alice, staking],
          [tokens(20), -tokens(20)],
        );
      });
    });
  });

  describe("#seatCommittee and #committeeSettled", function () {
    describe("when the caller lacks ESCROW_ROLE", function () {
      it("reverts with AccessControlUnauthorizedAccount(caller, ESCROW_ROLE)", async function () {
        const { staking, alice, ESCROW_ROLE } = await loadFixture(verifiersStakedFixture);
        const voteEnd = BigInt(await time.latest()) + DAY;
        await expect(staking.connect(alice).seatCommittee(1, 1, [], voteEnd))
          .to.be.revertedWithCustomError(staking, "AccessControlUnauthorizedAccount")
          .withArgs(alice.address, ESCROW_ROLE);
        await expect(staking.connect(alice).committeeSettled(voteEnd))
          .to.be.revertedWithCustomError(staking, "AccessControlUnauthorizedAccount")
          .withArgs(alice.address, ESCROW_ROLE);
      });
    });

    describe("when the vote would end in the past or too far ahead", function () {
      it("reverts with VerifierStakingInvalidParam('voteEnd', voteEnd, now, 2^48 - 1)", async function () {
        const { staking, escrow } = await loadFixture(verifiersStakedFixture);
        const t = await nextTimestamp();
        await expect(staking.connect(escrow).seatCommittee(1, 1, [], t - 1n))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInvalidParam")
          .withArgs(ethers.encodeBytes32String("voteEnd"), t - 1n, t, 2n ** 48n - 1n);
      });

      it("reverts with the same error for a vote end beyond 2^48 - 1 (no day could hold it)", async function () {
        const { staking, escrow } = await loadFixture(verifiersStakedFixture);
        const t = await nextTimestamp();
        await expect(staking.connect(escrow).seatCommittee(1, 1, [], 2n ** 48n))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInvalidParam")
          .withArgs(ethers.encodeBytes32String("voteEnd"), 2n ** 48n, t, 2n ** 48n - 1n);
      });
    });

    describe("when the committee is seated", function () {
      it("draws what drawCommitteeLeaves draws and counts the committee open on the day its vote ends", async function () {
        const { staking, escrow, carol } = await loadFixture(verifiersStakedFixture);
        const voteEnd = BigInt(await time.latest()) + 3n * DAY;
        const drawn = await staking.drawCommitteeLeaves(7, 2, [carol.address]);
        const seated = await staking.connect(escrow).seatCommittee.staticCall(7, 2, [carol.address], voteEnd);
        expect(seated.committee).to.deep.equal(drawn.committee);
        expect(seated.leaves).to.deep.equal(drawn.leaves);
        await staking.connect(escrow).seatCommittee(7, 2, [carol.address], voteEnd);
        await staking.connect(escrow).seatCommittee(8, 2, [], voteEnd + 1n);
        expect(await staking.openCommittees(voteEnd / DAY)).to.equal(voteEnd % DAY === DAY - 1n ? 1n : 2n);
      });

      it("counts nothing when too few verifiers are eligible (VerifierStakingInsufficientVerifiers)", async function () {
        const { staking, escrow, alice } = await loadFixture(verifiersStakedFixture);
        const voteEnd = BigInt(await time.latest()) + DAY;
        await expect(staking.connect(escrow).seatCommittee(1, 3, [alice.address], voteEnd))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInsufficientVerifiers")
          .withArgs(2, 3);
        expect(await staking.openCommittees(voteEnd / DAY)).to.equal(0);
      });
    });

    describe("when a committee is settled", function () {
      it("counts it settled, and refuses a day with none open (VerifierStakingNoOpenCommittee(day))", async function () {
        const { staking, escrow } = await loadFixture(verifiersStakedFixture);
        const voteEnd = BigInt(await time.latest()) + DAY;
        await expect(staking.connect(escrow).committeeSettled(voteEnd))
          .to.be.revertedWithCustomError(staking, "VerifierStakingNoOpenCommittee")
          .withArgs(voteEnd / DAY);
        await staking.connect(escrow).seatCommittee(1, 1, [], voteEnd);
        await staking.connect(escrow).committeeSettled(voteEnd);
        expect(await staking.openCommittees(voteEnd / DAY)).to.equal(0);
        await expect(staking.connect(escrow).committeeSettled(voteEnd))
          .to.be.revertedWithCustomError(staking, "VerifierStakingNoOpenCommittee")
          .withArgs(voteEnd / DAY);
      });
    });

    // A penalty a committee member owes is taken when its committee settles; the stake it could sit on waits for
    // that, so leaving and unbonding before anyone settles dodges nothing (finding 10 of the hardening review).
    describe("a withdrawal of stake that could sit on open committees", function () {
      // The fixture's longest dispute window is STUB_WINDOW (two days); a vote ends within it of its draw.
      async function seatedFixture() {
        const s = await verifiersStakedFixture();
        const voteEnd = BigInt(await time.latest()) + STUB_WINDOW;
        await s.staking.connect(s.escrow).seatCommittee(1, 2, [], voteEnd);
        return { ...s, voteEnd, day: voteEnd / DAY };
      }

      it("waits for them after an exit, names the day, and goes ahead once they settle", async function () {
        const { staking, token, escrow, alice, voteEnd, day } = await loadFixture(seatedFixture);
        await exitVerifiers(staking, [alice]);
        expect((await staking.accountOf(alice.address)).drawableUntil).to.equal(await time.latest());
        await staking.connect(alice).requestUnstake(STAKE);
        await time.increase(DEFAULT_UNBONDING_PERIOD);
        expect(await staking.unsettledCommitteesFor(alice.address)).to.deep.equal([day, 1n]);
        await expect(staking.connect(alice).withdraw())
          .to.be.revertedWithCustomError(staking, "VerifierStakingCommitteesUnsettled")
          .withArgs(day, 1);

        await staking.connect(escrow).committeeSettled(voteEnd);
        expect(await staking.unsettledCommitteesFor(alice.address)).to.deep.equal([0n, 0n]);
        await expect(staking.connect(alice).withdraw()).to.changeTokenBalance(token, alice, STAKE);
        expect((await staking.accountOf(alice.address)).drawableUntil).to.equal(0);
      });

      it("waits for them after a verifier unstakes part of its stake and stays in the draw", async function () {
        const { staking, escrow, alice, voteEnd, day } = await loadFixture(seatedFixture);
        await staking.connect(alice).requestUnstake(tokens(10));
        await time.increase(DEFAULT_UNBONDING_PERIOD);
        await expect(staking.connect(alice).withdraw())
          .to.be.revertedWithCustomError(staking, "VerifierStakingCommitteesUnsettled")
          .withArgs(day, 1);
        await staking.connect(escrow).committeeSettled(voteEnd);
        await staking.connect(alice).withdraw();
      });

      it("waits for them after a verifier slashed out of the draw opts out at once", async function () {
        const { staking, escrow, recipient, alice, day } = await loadFixture(seatedFixture);
        await staking.connect(escrow).slash(alice.address, 0, STAKE - MIN_STAKE + 1n, recipient.address);
        expect(await staking.verifierWeightOf(alice.address)).to.equal(0);
        await staking.connect(alice).setVerifier(false);
        await staking.connect(alice).requestUnstake(MIN_STAKE - 1n);
        await time.increase(DEFAULT_UNBONDING_PERIOD);
        await expect(staking.connect(alice).withdraw())
          .to.be.revertedWithCustomError(staking, "VerifierStakingCommitteesUnsettled")
          .withArgs(day, 1);
      });

      it("does not wait for committees whose votes end after its stake left the draw and the longest window", async function () {
        const { staking, escrow, alice, voteEnd } = await loadFixture(seatedFixture);
        await staking.connect(escrow).committeeSettled(voteEnd);
        await exitVerifiers(staking, [alice]);
        await staking.connect(alice).requestUnstake(STAKE);
        const drawableUntil = (await staking.accountOf(alice.address)).drawableUntil;
        // Seated after alice left, with a vote ending on a day after its drawable time plus the longest window.
        const later = ((drawableUntil + STUB_WINDOW) / DAY + 1n) * DAY;
        await staking.connect(escrow).seatCommittee(2, 2, [], later);
        await time.increase(DEFAULT_UNBONDING_PERIOD);
        await staking.connect(alice).withdraw();
      });

      it("never waits when the stake was never drawable", async function () {
        const { staking, token, other, stakeAs } = await loadFixture(seatedFixture);
        await stakeAs(other, STAKE);
        await staking.connect(other).requestUnstake(STAKE);
        await time.increase(DEFAULT_UNBONDING_PERIOD);
        expect(await staking.unsettledCommitteesFor(other.address)).to.deep.equal([0n, 0n]);
        await expect(staking.connect(other).withdraw()).to.changeTokenBalance(token, other, STAKE);
      });

      it("checks again a day that can still get committees, however far earlier withdrawals checked", async function () {
        const { staking, escrow, alice, bob, admin, voteEnd } = await loadFixture(seatedFixture);
        await staking.connect(escrow).committeeSettled(voteEnd);
        // An unbonding period as long as the window, so that a withdrawal checks up to the day it is made.
        await staking.connect(admin).setUnbondingPeriod(STUB_WINDOW);
        const start = (BigInt(await time.latest()) / DAY + 1n) * DAY + HOUR; // 01:00 on the next day
        await time.setNextBlockTimestamp(start);
        await staking.connect(alice).requestUnstake(tokens(10));
        await time.setNextBlockTimestamp(start + 1n);
        await staking.connect(bob).requestUnstake(tokens(10));
        const today = (start + STUB_WINDOW) / DAY;
        await time.setNextBlockTimestamp(start + STUB_WINDOW + 1n);
        await staking.connect(alice).withdraw(); // checked every day up to today
        // Seated after that check, with its vote ending later today: the check did not move past today, so bob's
        // withdrawal, which covers today too, sees it.
        await staking.connect(escrow).seatCommittee(3, 2, [], today * DAY + 23n * HOUR);
        await time.setNextBlockTimestamp(start + STUB_WINDOW + 3n);
        await expect(staking.connect(bob).withdraw())
          .to.be.revertedWithCustomError(staking, "VerifierStakingCommitteesUnsettled")
          .withArgs(today, 1);
      });
    });
  });

  describe("#setVerifier", function () {
    describe("when the account is already a verifier", function () {
      it("reverts with VerifierStakingVerifierStatusUnchanged(account, true)", async function () {
        const { staking, alice } = await loadFixture(verifiersStakedFixture);
        await expect(staking.connect(alice).setVerifier(true))
          .to.be.revertedWithCustomError(staking, "VerifierStakingVerifierStatusUnchanged")
          .withArgs(alice.address, true);
      });
    });

    describe("when the account is not a verifier and opts out", function () {
      it("reverts with VerifierStakingVerifierStatusUnchanged(account, false)", async function () {
        const { staking, alice } = await loadFixture(stakedFixture);
        await expect(staking.connect(alice).setVerifier(false))
          .to.be.revertedWithCustomError(staking, "VerifierStakingVerifierStatusUnchanged")
          .withArgs(alice.address, false);
      });
    });

    describe("when the active stake is below minVerifierStake", function () {
      it("reverts with VerifierStakingInsufficientStake(account, active, minVerifierStake)", async function () {
        const { staking, alice } = await loadFixture(deployStakingFixture);
        await staking.connect(alice).stake(MIN_STAKE - 1n);
        await expect(staking.connect(alice).setVerifier(true))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInsufficientStake")
          .withArgs(alice.address, MIN_STAKE - 1n, MIN_STAKE);
      });

      it("does not count unbonding stake", async function () {
        const { staking, alice } = await loadFixture(stakedFixture);
        await staking.connect(alice).requestUnstake(STAKE - MIN_STAKE + 1n);
        await expect(staking.connect(alice).setVerifier(true))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInsufficientStake")
          .withArgs(alice.address, MIN_STAKE - 1n, MIN_STAKE);
      });
    });

    describe("when the account opts in with enough stake", function () {
      it("accepts an active stake of exactly minVerifierStake", async function () {
        const { staking, alice } = await loadFixture(deployStakingFixture);
        await staking.connect(alice).stake(MIN_STAKE);
        await staking.connect(alice).setVerifier(true);
        expect(await staking.verifierWeightOf(alice.address)).to.equal(MIN_STAKE);
      });

      it("emits VerifierStatusChanged(account, true)", async function () {
        const { staking, alice } = await loadFixture(stakedFixture);
        await expect(staking.connect(alice).setVerifier(true))
          .to.emit(staking, "VerifierStatusChanged")
          .withArgs(alice.address, true);
      });

      it("adds its free stake to the draw weights", async function () {
        const { staking, alice, bob } = await loadFixture(stakedFixture);
        await staking.connect(alice).setVerifier(true);
        expect((await staking.accountOf(alice.address)).verifier).to.equal(true);
        expect(await staking.verifierWeightOf(alice.address)).to.equal(STAKE);
        expect(await staking.totalVerifierWeight()).to.equal(STAKE);
        expect(await staking.eligibleVerifierCount()).to.equal(1);
        await staking.connect(bob).setVerifier(true);
        expect(await staking.totalVerifierWeight()).to.equal(2n * STAKE);
        expect(await staking.eligibleVerifierCount()).to.equal(2);
      });

      it("weighs only the free stake", async function () {
        const { staking, escrow, alice } = await loadFixture(stakedFixture);
        await staking.connect(escrow).lock(alice.address, STAKE - MIN_STAKE);
        await staking.connect(alice).setVerifier(true);
        expect(await staking.verifierWeightOf(alice.address)).to.equal(MIN_STAKE);
        expect(await staking.totalVerifierWeight()).to.equal(MIN_STAKE);
      });
    });

    describe("when its locked stake leaves less than the minimum free", function () {
      it("reverts with VerifierStakingInsufficientStake naming the free stake", async function () {
        const { staking, escrow, alice } = await loadFixture(stakedFixture);
        await staking.connect(escrow).lock(alice.address, STAKE - tokens(1));
        await expect(staking.connect(alice).setVerifier(true))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInsufficientStake")
          .withArgs(alice.address, tokens(1), MIN_STAKE);
      });
    });

    describe("when an opted-in verifier's free stake falls below the minimum", function () {
      it("keeps it opted in with zero weight until it has enough again", async function () {
        const { staking, escrow, alice, recipient } = await loadFixture(verifiersStakedFixture);
        await staking.connect(escrow).slash(alice.address, 0, STAKE - MIN_STAKE + 1n, recipient.address);
        expect((await staking.accountOf(alice.address)).verifier).to.equal(true);
        expect(await staking.verifierWeightOf(alice.address)).to.equal(0n);
        expect(await staking.eligibleVerifierCount()).to.equal(2);
        await staking.connect(alice).stake(1n);
        expect(await staking.verifierWeightOf(alice.address)).to.equal(MIN_STAKE);
      });
    });

    describe("when a verifier in the draw opts out", function () {
      it("emits VerifierExitRequested(account, now + exitNotice) and keeps it in the draw with its weight", async function () {
        const { staking, alice } = await loadFixture(verifiersStakedFixture);
        // The longest dispute window of the escrows: the stub's (an EOA escrow reports none).
        expect(await staking.exitNotice()).to.equal(STUB_WINDOW);
        const t = await nextTimestamp();
        await expect(staking.connect(alice).setVerifier(false))
          .to.emit(staking, "VerifierExitRequested")
          .withArgs(alice.address, t + STUB_WINDOW)
          .and.not.to.emit(staking, "VerifierStatusChanged");
        const account = await staking.accountOf(alice.address);
        expect([account.verifier, account.leaving, account.exitAt]).to.deep.equal([true, true, t + STUB_WINDOW]);
        expect(await staking.verifierWeightOf(alice.address)).to.equal(STAKE);
        expect(await staking.eligibleVerifierCount()).to.equal(3);
        expect(await staking.leavingVerifierCount()).to.equal(1);
      });

      it("gives the notice of the longest dispute window of the escrows at the time of the opt-out", async function () {
        const { staking, escrowStub, alice, bob } = await loadFixture(verifiersStakedFixture);
        await escrowStub.setMaxDisputeWindow(5n * DAY);
        expect(await staking.exitNotice()).to.equal(5n * DAY);
        const t = await nextTimestamp();
        await staking.connect(alice).setVerifier(false);
        expect((await staking.accountOf(alice.address)).exitAt).to.equal(t + 5n * DAY);
        await escrowStub.setMaxDisputeWindow(HOUR);
        const t2 = await nextTimestamp();
        await staking.connect(bob).setVerifier(false);
        expect((await staking.accountOf(bob.address)).exitAt).to.equal(t2 + HOUR);
        expect((await staking.accountOf(alice.address)).exitAt).to.equal(t + 5n * DAY);
      });

      it("no longer counts it in eligibleVerifiersExcluding, excluded or not", async function () {
        const { staking, alice, bob } = await loadFixture(verifiersStakedFixture);
        expect(await staking.eligibleVerifiersExcluding([])).to.equal(3);
        await staking.connect(alice).setVerifier(false);
        expect(await staking.eligibleVerifiersExcluding([])).to.equal(2);
        expect(await staking.eligibleVerifiersExcluding([bob.address])).to.equal(1);
        // Conservative: a leaving verifier that is also excluded is taken off twice.
        expect(await staking.eligibleVerifiersExcluding([alice.address])).to.equal(1);
        await staking.connect(bob).setVerifier(false);
        await staking.connect(alice).requestUnstake(tokens(1));
        expect(await staking.eligibleVerifiersExcluding([alice.address, bob.address])).to.equal(0);
      });

      it("reverts with VerifierStakingExitPending(account, exitAt) when it opts out again", async function () {
        const { staking, alice } = await loadFixture(verifiersStakedFixture);
        await staking.connect(alice).setVerifier(false);
        const { exitAt } = await staking.accountOf(alice.address);
        await expect(staking.connect(alice).setVerifier(false))
          .to.be.revertedWithCustomError(staking, "VerifierStakingExitPending")
          .withArgs(alice.address, exitAt);
      });

      it("cancels the exit when it opts in again (VerifierExitCancelled), keeping its weight", async function () {
        const { staking, alice } = await loadFixture(verifiersStakedFixture);
        await staking.connect(alice).setVerifier(false);
        await expect(staking.connect(alice).setVerifier(true))
          .to.emit(staking, "VerifierExitCancelled")
          .withArgs(alice.address);
        const account = await staking.accountOf(alice.address);
        expect([account.verifier, account.leaving, account.exitAt]).to.deep.equal([true, false, 0n]);
        expect(await staking.leavingVerifierCount()).to.equal(0);
        expect(await staking.eligibleVerifiersExcluding([])).to.equal(3);
        await expect(staking.completeExit(alice.address))
          .to.be.revertedWithCustomError(staking, "VerifierStakingNoExitPending")
          .withArgs(alice.address);
      });

      it("counts it as leaving only while it has weight: a slash below the minimum and a new stake move the count", async function () {
        const { staking, escrow, alice, recipient } = await loadFixture(verifiersStakedFixture);
        await staking.connect(alice).setVerifier(false);
        await staking.connect(escrow).slash(alice.address, 0, STAKE - MIN_STAKE + 1n, recipient.address);
        expect(await staking.leavingVerifierCount()).to.equal(0);
        expect(await staking.eligibleVerifiersExcluding([])).to.equal(2);
        await staking.connect(alice).stake(tokens(1));
        expect(await staking.leavingVerifierCount()).to.equal(1);
        expect(await staking.eligibleVerifiersExcluding([])).to.equal(2);
        expect(await staking.eligibleVerifierCount()).to.equal(3);
      });
    });

    describe("when a verifier with no weight in the draw opts out", function () {
      it("opts out at once with VerifierStatusChanged(account, false)", async function () {
        const { staking, escrow, alice, recipient } = await loadFixture(verifiersStakedFixture);
        await staking.connect(escrow).slash(alice.address, 0, STAKE - MIN_STAKE + 1n, recipient.address);
        await expect(staking.connect(alice).setVerifier(false))
          .to.emit(staking, "VerifierStatusChanged")
          .withArgs(alice.address, false);
        const account = await staking.accountOf(alice.address);
        expect([account.verifier, account.leaving]).to.deep.equal([false, false]);
        expect(await staking.leavingVerifierCount()).to.equal(0);
      });
    });

    describe("when a verifier has completed its exit", function () {
      it("gets no weight from later stake changes, and its free stake back when it opts in again", async function () {
        const { staking, escrow, alice } = await loadFixture(verifiersStakedFixture);
        await exitVerifiers(staking, [alice]);
        await staking.connect(alice).stake(tokens(10));
        await staking.connect(escrow).lock(alice.address, tokens(30));
        await staking.connect(escrow).unlock(alice.address, tokens(5));
        expect(await staking.verifierWeightOf(alice.address)).to.equal(0);
        expect(await staking.totalVerifierWeight()).to.equal(2n * STAKE);
        await staking.connect(alice).setVerifier(true);
        expect(await staking.verifierWeightOf(alice.address)).to.equal(tokens(85));
        expect(await staking.totalVerifierWeight()).to.equal(2n * STAKE + tokens(85));
        expect(await staking.eligibleVerifierCount()).to.equal(3);
      });
    });
  });

  describe("#completeExit", function () {
    describe("when the account has not opted out", function () {
      it("reverts with VerifierStakingNoExitPending(account)", async function () {
        const { staking, alice, other } = await loadFixture(verifiersStakedFixture);
        for (const account of [alice, other]) {
          await expect(staking.completeExit(account.address))
            .to.be.revertedWithCustomError(staking, "VerifierStakingNoExitPending")
            .withArgs(account.address);
        }
      });
    });

    describe("when the notice has not run", function () {
      it("reverts with VerifierStakingExitPending(account, exitAt) one second before exitAt", async function () {
        const { staking, alice, other } = await loadFixture(verifiersStakedFixture);
        await staking.connect(alice).setVerifier(false);
        const { exitAt } = await staking.accountOf(alice.address);
        await time.setNextBlockTimestamp(exitAt - 1n);
        await expect(staking.connect(other).completeExit(alice.address))
          .to.be.revertedWithCustomError(staking, "VerifierStakingExitPending")
          .withArgs(alice.address, exitAt);
      });
    });

    describe("when the notice has run", function () {
      it("lets anyone take the verifier out of the draw at exactly exitAt, with VerifierStatusChanged(account, false)", async function () {
        const { staking, token, alice, other } = await loadFixture(verifiersStakedFixture);
        await staking.connect(alice).setVerifier(false);
        await time.setNextBlockTimestamp((await staking.accountOf(alice.address)).exitAt);
        const tx = staking.connect(other).completeExit(alice.address);
        await expect(tx).to.emit(staking, "VerifierStatusChanged").withArgs(alice.address, false);
        await expect(tx).to.changeTokenBalances(token, [alice, staking], [0, 0]);
        await expectAccount(staking, alice, { active: STAKE, locked: 0n, unbonding: 0n, verifier: false });
        const account = await staking.accountOf(alice.address);
        expect([account.leaving, account.exitAt]).to.deep.equal([false, 0n]);
        expect(await staking.verifierWeightOf(alice.address)).to.equal(0);
        expect(await staking.totalVerifierWeight()).to.equal(2n * STAKE);
        expect(await staking.eligibleVerifierCount()).to.equal(2);
        expect(await staking.leavingVerifierCount()).to.equal(0);
        expect(await staking.eligibleVerifiersExcluding([])).to.equal(2);
        await expect(staking.completeExit(alice.address))
          .to.be.revertedWithCustomError(staking, "VerifierStakingNoExitPending")
          .withArgs(alice.address);
      });

      it("completes the exit of a verifier a slash already took out of the draw without moving the leaving count", async function () {
        const { staking, escrow, alice, bob, recipient } = await loadFixture(verifiersStakedFixture);
        await staking.connect(alice).setVerifier(false);
        await staking.connect(bob).setVerifier(false);
        await staking.connect(escrow).slash(alice.address, 0, STAKE, recipient.address);
        expect(await staking.leavingVerifierCount()).to.equal(1);
        await time.increase(STUB_WINDOW);
        await staking.completeExit(alice.address);
        expect(await staking.leavingVerifierCount()).to.equal(1);
        await staking.completeExit(bob.address);
        expect(await staking.leavingVerifierCount()).to.equal(0);
        expect(await staking.eligibleVerifierCount()).to.equal(1);
      });
    });
  });

  describe("#lock", function () {
    describe("when the caller lacks ESCROW_ROLE", function () {
      it("reverts with AccessControlUnauthorizedAccount(caller, ESCROW_ROLE)", async function () {
        const { staking, admin, alice, ESCROW_ROLE } = await loadFixture(stakedFixture);
        for (const caller of [alice, admin]) {
          await expect(staking.connect(caller).lock(alice.address, 1))
            .to.be.revertedWithCustomError(staking, "AccessControlUnauthorizedAccount")
            .withArgs(caller.address, ESCROW_ROLE);
        }
      });
    });

    describe("when the amount exceeds the free stake", function () {
      it("reverts with VerifierStakingInsufficientStake(account, free, amount)", async function () {
        const { staking, escrow, alice } = await loadFixture(stakedFixture);
        await expect(staking.connect(escrow).lock(alice.address, STAKE + 1n))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInsufficientStake")
          .withArgs(alice.address, STAKE, STAKE + 1n);
      });

      it("counts stake already locked and stake unbonding as not free", async function () {
        const { staking, escrow, alice } = await loadFixture(stakedFixture);
        await staking.connect(escrow).lock(alice.address, tokens(40));
        await staking.connect(alice).requestUnstake(tokens(10));
        await expect(staking.connect(escrow).lock(alice.address, tokens(50) + 1n))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInsufficientStake")
          .withArgs(alice.address, tokens(50), tokens(50) + 1n);
      });
    });

    describe("when the amount is within the free stake", function () {
      it("emits StakeLocked(account, amount) and moves no tokens", async function () {
        const { staking, token, escrow, alice } = await loadFixture(stakedFixture);
        const tx = staking.connect(escrow).lock(alice.address, tokens(40));
        await expect(tx).to.emit(staking, "StakeLocked").withArgs(alice.address, tokens(40));
        await expect(tx).to.changeTokenBalances(token, [alice, staking], [0, 0]);
      });

      it("adds to the locked stake, cumulatively up to all of the active stake", async function () {
        const { staking, escrow, alice } = await loadFixture(stakedFixture);
        await staking.connect(escrow).lock(alice.address, tokens(40));
        await expectAccount(staking, alice, { active: STAKE, locked: tokens(40), unbonding: 0n });
        await staking.connect(escrow).lock(alice.address, tokens(60));
        await expectAccount(staking, alice, { active: STAKE, locked: STAKE, unbonding: 0n });
      });

      it("works when called through an escrow contract", async function () {
        const { staking, escrowStub, alice } = await loadFixture(stakedFixture);
        await expect(escrowStub.lock(alice.address, tokens(40)))
          .to.emit(staking, "StakeLocked")
          .withArgs(alice.address, tokens(40));
        await expectAccount(staking, alice, { active: STAKE, locked: tokens(40), unbonding: 0n });
      });
    });

    describe("when the account is a verifier", function () {
      it("lowers its weight by the amount, down to exactly the minimum", async function () {
        const { staking, escrow, alice } = await loadFixture(verifiersStakedFixture);
        await staking.connect(escrow).lock(alice.address, tokens(40));
        expect(await staking.verifierWeightOf(alice.address)).to.equal(tokens(60));
        expect(await staking.totalVerifierWeight()).to.equal(3n * STAKE - tokens(40));
        expect(await staking.eligibleVerifierCount()).to.equal(3);
        await staking.connect(escrow).lock(alice.address, tokens(60) - MIN_STAKE);
        expect(await staking.verifierWeightOf(alice.address)).to.equal(MIN_STAKE);
      });

      it("reverts with VerifierStakingExitNoticeRequired(account, freeAfter, minimum) below the minimum", async function () {
        const { staking, escrow, escrowStub, alice } = await loadFixture(verifiersStakedFixture);
        await expect(staking.connect(escrow).lock(alice.address, STAKE))
          .to.be.revertedWithCustomError(staking, "VerifierStakingExitNoticeRequired")
          .withArgs(alice.address, 0, MIN_STAKE);
        await expect(escrowStub.lock(alice.address, STAKE - MIN_STAKE + 1n))
          .to.be.revertedWithCustomError(staking, "VerifierStakingExitNoticeRequired")
          .withArgs(alice.address, MIN_STAKE - 1n, MIN_STAKE);
        await exitVerifiers(staking, [alice]);
        await staking.connect(escrow).lock(alice.address, STAKE);
        await expectAccount(staking, alice, { active: STAKE, locked: STAKE, unbonding: 0n });
      });
    });
  });

  describe("#unlock", function () {
    async function lockedFixture() {
      const s = await verifiersStakedFixture();
      await s.staking.connect(s.escrow).lock(s.alice.address, tokens(40));
      return s;
    }

    describe("when the caller lacks ESCROW_ROLE", function () {
      it("reverts with AccessControlUnauthorizedAccount(caller, ESCROW_ROLE)", async function () {
        const { staking, alice, ESCROW_ROLE } = await loadFixture(lockedFixture);
        await expect(staking.connect(alice).unlock(alice.address, 1))
          .to.be.revertedWithCustomError(staking, "AccessControlUnauthorizedAccount")
          .withArgs(alice.address, ESCROW_ROLE);
      });
    });

    describe("when the amount is within the locked stake", function () {
      it("emits StakeUnlocked(account, amount) and moves no tokens", async function () {
        const { staking, token, escrow, alice } = await loadFixture(lockedFixture);
        const tx = staking.connect(escrow).unlock(alice.address, tokens(30));
        await expect(tx).to.emit(staking, "StakeUnlocked").withArgs(alice.address, tokens(30));
        await expect(tx).to.changeTokenBalances(token, [alice, staking], [0, 0]);
      });

      it("releases the amount and restores the verifier's weight", async function () {
        const { staking, escrow, alice } = await loadFixture(lockedFixture);
        await staking.connect(escrow).unlock(alice.address, tokens(30));
        await expectAccount(staking, alice, { active: STAKE, locked: tokens(10), unbonding: 0n });
        expect(await staking.verifierWeightOf(alice.address)).to.equal(tokens(90));
        expect(await staking.totalVerifierWeight()).to.equal(3n * STAKE - tokens(10));
      });

      it("works when called through an escrow contract", async function () {
        const { staking, escrowStub, alice } = await loadFixture(lockedFixture);
        await expect(escrowStub.unlock(alice.address, tokens(40)))
          .to.emit(staking, "StakeUnlocked")
          .withArgs(alice.address, tokens(40));
        await expectAccount(staking, alice, { active: STAKE, locked: 0n, unbonding: 0n });
      });
    });

    describe("when the amount exceeds the locked stake", function () {
      it("releases only what is locked and emits that amount", async function () {
        const { staking, escrow, alice } = await loadFixture(lockedFixture);
        await expect(staking.connect(escrow).unlock(alice.address, STAKE))
          .to.emit(staking, "StakeUnlocked")
          .withArgs(alice.address, tokens(40));
        await expectAccount(staking, alice, { active: STAKE, locked: 0n, unbonding: 0n });
        expect(await staking.verifierWeightOf(alice.address)).to.equal(STAKE);
      });

      it("releases nothing, and emits zero, when nothing is locked", async function () {
        const { staking, escrow, bob } = await loadFixture(lockedFixture);
        await expect(staking.connect(escrow).unlock(bob.address, tokens(1)))
          .to.emit(staking, "StakeUnlocked")
          .withArgs(bob.address, 0);
        await expectAccount(staking, bob, { active: STAKE, locked: 0n, unbonding: 0n });
      });
    });
  });

  describe("#slash", function () {
    /** alice: active 100 of which 40 locked, plus 30 unbonding (free 30). */
    async function mixedFixture() {
      const s = await stakedFixture();
      await s.staking.connect(s.alice).stake(tokens(30));
      await s.staking.connect(s.alice).requestUnstake(tokens(30));
      await s.staking.connect(s.escrow).lock(s.alice.address, tokens(70));
      // active 100, locked 70, free 30, unbonding 30
      return s;
    }

    describe("when the caller lacks ESCROW_ROLE", function () {
      it("reverts with AccessControlUnauthorizedAccount(caller, ESCROW_ROLE)", async function () {
        const { staking, admin, alice, recipient, ESCROW_ROLE } = await loadFixture(stakedFixture);
        await expect(staking.connect(admin).slash(alice.address, 0, 1, recipient.address))
          .to.be.revertedWithCustomError(staking, "AccessControlUnauthorizedAccount")
          .withArgs(admin.address, ESCROW_ROLE);
      });
    });

    describe("when the recipient is the zero address", function () {
      it("reverts with VerifierStakingZeroAddress", async function () {
        const { staking, escrow, alice } = await loadFixture(stakedFixture);
        await expect(
          staking.connect(escrow).slash(alice.address, 0, 1, ethers.ZeroAddress),
        ).to.be.revertedWithCustomError(staking, "VerifierStakingZeroAddress");
      });
    });

    describe("when the account has free stake", function () {
      it("sends the amount to the recipient", async function () {
        const { staking, token, escrow, alice, recipient } = await loadFixture(stakedFixture);
        await expect(
          staking.connect(escrow).slash(alice.address, 0, tokens(30), recipient.address),
        ).to.changeTokenBalances(token, [staking, recipient, alice], [-tokens(30), tokens(30), 0]);
      });

      it("emits StakeSlashed(account, recipient, amount), no StakeUnlocked, and returns the amount", async function () {
        const { staking, escrow, alice, recipient } = await loadFixture(stakedFixture);
        expect(
          await staking.connect(escrow).slash.staticCall(alice.address, 0, tokens(30), recipient.address),
        ).to.equal(tokens(30));
        const tx = staking.connect(escrow).slash(alice.address, 0, tokens(30), recipient.address);
        await expect(tx).to.emit(staking, "StakeSlashed").withArgs(alice.address, recipient.address, tokens(30));
        await expect(tx).not.to.emit(staking, "StakeUnlocked");
      });

      it("takes it from the active stake and lowers a verifier's weight", async function () {
        const { staking, escrow, alice, recipient } = await loadFixture(verifiersStakedFixture);
        await staking.connect(escrow).slash(alice.address, 0, tokens(30), recipient.address);
        await expectAccount(staking, alice, { active: tokens(70), locked: 0n, unbonding: 0n });
        expect(await staking.verifierWeightOf(alice.address)).to.equal(tokens(70));
        expect(await staking.totalVerifierWeight()).to.equal(3n * STAKE - tokens(30));
      });

      it("works when called through an escrow contract, which gets the return value", async function () {
        const { staking, token, escrowStub, alice, recipient } = await loadFixture(stakedFixture);
        expect(await escrowStub.slash.staticCall(alice.address, 0, tokens(30), recipient.address)).to.equal(tokens(30));
        const tx = escrowStub.slash(alice.address, 0, tokens(30), recipient.address);
        await expect(tx).to.emit(staking, "StakeSlashed").withArgs(alice.address, recipient.address, tokens(30));
        await expect(tx).to.changeTokenBalances(token, [staking, recipient], [-tokens(30), tokens(30)]);
      });
    });

    describe("when the account has free, unbonding and locked stake", function () {
      it("takes free stake first", async function () {
        const { staking, escrow, alice, recipient } = await loadFixture(mixedFixture);
        await staking.connect(escrow).slash(alice.address, 0, tokens(20), recipient.address);
        await expectAccount(staking, alice, { active: tokens(80), locked: tokens(70), unbonding: tokens(30) });
      });

      it("then unbonding stake", async function () {
        const { staking, escrow, alice, recipient } = await loadFixture(mixedFixture);
        await staking.connect(escrow).slash(alice.address, 0, tokens(50), recipient.address);
        await expectAccount(staking, alice, { active: tokens(70), locked: tokens(70), unbonding: tokens(10) });
      });

      it("then locked stake", async function () {
        const { staking, token, escrow, alice, recipient } = await loadFixture(mixedFixture);
        const tx = staking.connect(escrow).slash(alice.address, 0, tokens(100), recipient.address);
        await expect(tx).to.emit(staking, "StakeSlashed").withArgs(alice.address, recipient.address, tokens(100));
        await expect(tx).to.changeTokenBalances(token, [staking, recipient], [-tokens(100), tokens(100)]);
        await expectAccount(staking, alice, { active: tokens(30), locked: tokens(30), unbonding: 0n });
      });

      it("never takes more than the account holds, and returns what it took", async function () {
        const { staking, token, escrow, alice, recipient } = await loadFixture(mixedFixture);
        const held = tokens(130);
        expect(
          await staking.connect(escrow).slash.staticCall(alice.address, 0, tokens(1000), recipient.address),
        ).to.equal(held);
        const tx = staking.connect(escrow).slash(alice.address, 0, tokens(1000), recipient.address);
        await expect(tx).to.emit(staking, "StakeSlashed").withArgs(alice.address, recipient.address, held);
        await expect(tx).to.changeTokenBalances(token, [staking, recipient], [-held, held]);
        await expectAccount(staking, alice, { active: 0n, locked: 0n, unbonding: 0n });
      });
    });

    describe("when the stake is unbonding (nobody escapes a slash by unbonding)", function () {
      it("takes it from the unbonding stake, and only the rest can be withdrawn", async function () {
        const { staking, token, escrow, alice, recipient } = await loadFixture(stakedFixture);
        const t = await nextTimestamp();
        await staking.connect(alice).requestUnstake(STAKE);
        await expect(
          staking.connect(escrow).slash(alice.address, 0, tokens(40), recipient.address),
        ).to.changeTokenBalances(token, [staking, recipient], [-tokens(40), tokens(40)]);
        await expectAccount(staking, alice, {
          active: 0n,
          locked: 0n,
          unbonding: tokens(60),
          unbondingEnd: t + DEFAULT_UNBONDING_PERIOD,
        });
        await time.increaseTo(t + DEFAULT_UNBONDING_PERIOD);
        await expect(staking.connect(alice).withdraw())
          .to.emit(staking, "Withdrawn")
          .withArgs(alice.address, tokens(60));
      });

      it("leaves nothing to withdraw when all of it is slashed", async function () {
        const { staking, escrow, alice, recipient } = await loadFixture(stakedFixture);
        await staking.connect(alice).requestUnstake(STAKE);
        await staking.connect(escrow).slash(alice.address, 0, STAKE, recipient.address);
        await time.increase(DEFAULT_UNBONDING_PERIOD);
        await expect(staking.connect(alice).withdraw())
          .to.be.revertedWithCustomError(staking, "VerifierStakingNothingToWithdraw")
          .withArgs(alice.address);
      });
    });

    describe("when the account holds nothing", function () {
      it("takes nothing, returns zero, emits no StakeSlashed and moves no tokens", async function () {
        const { staking, token, escrow, other, recipient } = await loadFixture(stakedFixture);
        expect(await staking.connect(escrow).slash.staticCall(other.address, 0, tokens(1), recipient.address)).to.equal(
          0,
        );
        const tx = staking.connect(escrow).slash(other.address, 0, tokens(1), recipient.address);
        await expect(tx).not.to.emit(staking, "StakeSlashed");
        await expect(tx).to.changeTokenBalances(token, [staking, recipient], [0, 0]);
      });
    });

    describe("when an unlock amount is given", function () {
      it("emits StakeUnlocked(account, released) before StakeSlashed", async function () {
        const { staking, escrow, alice, recipient } = await loadFixture(mixedFixture);
        const tx = staking.connect(escrow).slash(alice.address, tokens(40), tokens(50), recipient.address);
        await expect(tx).to.emit(staking, "StakeUnlocked").withArgs(alice.address, tokens(40));
        await expect(tx).to.emit(staking, "StakeSlashed").withArgs(alice.address, recipient.address, tokens(50));
        const receipt = await (await tx).wait();
        const stakingAddress = await staking.getAddress();
        const names = receipt!.logs
          .filter((log) => log.address === stakingAddress)
          .map((log) => staking.interface.parseLog(log)?.name);
        expect(names).to.deep.equal(["StakeUnlocked", "StakeSlashed"]);
      });

      it("releases the lock first, so the released stake is slashed as free stake before unbonding stake", async function () {
        const { staking, escrow, alice, recipient } = await loadFixture(mixedFixture);
        // free 30 + released 40 = 70 free; the slash of 50 takes only free stake.
        await staking.connect(escrow).slash(alice.address, tokens(40), tokens(50), recipient.address);
        await expectAccount(staking, alice, { active: tokens(50), locked: tokens(30), unbonding: tokens(30) });
      });

      it("releases at most what is locked", async function () {
        const { staking, escrow, alice, recipient } = await loadFixture(mixedFixture);
        await expect(staking.connect(escrow).slash(alice.address, tokens(500), tokens(10), recipient.address))
          .to.emit(staking, "StakeUnlocked")
          .withArgs(alice.address, tokens(70));
        await expectAccount(staking, alice, { active: tokens(90), locked: 0n, unbonding: tokens(30) });
      });

      it("only unlocks when the slash amount is zero", async function () {
        const { staking, token, escrow, alice, recipient } = await loadFixture(mixedFixture);
        expect(
          await staking.connect(escrow).slash.staticCall(alice.address, tokens(40), 0, recipient.address),
        ).to.equal(0);
        const tx = staking.connect(escrow).slash(alice.address, tokens(40), 0, recipient.address);
        await expect(tx).to.emit(staking, "StakeUnlocked").withArgs(alice.address, tokens(40));
        await expect(tx).not.to.emit(staking, "StakeSlashed");
        await expect(tx).to.changeTokenBalances(token, [staking, recipient], [0, 0]);
        await expectAccount(staking, alice, { active: STAKE, locked: tokens(30), unbonding: tokens(30) });
      });

      it("emits StakeUnlocked(account, 0) for an unlock of 1 wei when nothing is locked", async function () {
        const { staking, escrow, alice, recipient } = await loadFixture(stakedFixture);
        await expect(staking.connect(escrow).slash(alice.address, 1, tokens(1), recipient.address))
          .to.emit(staking, "StakeUnlocked")
          .withArgs(alice.address, 0);
      });

      it("gives a verifier the weight of its free stake after the unlock and the slash", async function () {
        const { staking, escrow, alice, recipient } = await loadFixture(verifiersStakedFixture);
        await staking.connect(escrow).lock(alice.address, tokens(60));
        await staking.connect(escrow).slash(alice.address, tokens(60), tokens(25), recipient.address);
        expect(await staking.verifierWeightOf(alice.address)).to.equal(tokens(75));
        expect(await staking.totalVerifierWeight()).to.equal(3n * STAKE - tokens(25));
      });
    });
  });

  describe("#setUnbondingPeriod", function () {
    describe("when the caller lacks DEFAULT_ADMIN_ROLE", function () {
      it("reverts with AccessControlUnauthorizedAccount(caller, DEFAULT_ADMIN_ROLE)", async function () {
        const { staking, escrow, alice, DEFAULT_ADMIN_ROLE } = await loadFixture(deployStakingFixture);
        for (const caller of [alice, escrow]) {
          await expect(staking.connect(caller).setUnbondingPeriod(10n * DAY))
            .to.be.revertedWithCustomError(staking, "AccessControlUnauthorizedAccount")
            .withArgs(caller.address, DEFAULT_ADMIN_ROLE);
        }
      });
    });

    describe("when the period is out of bounds", function () {
      it("reverts with VerifierStakingInvalidParam below MIN_UNBONDING_PERIOD", async function () {
        const { staking, admin } = await loadFixture(deployStakingFixture);
        await expect(staking.connect(admin).setUnbondingPeriod(HOUR - 1n))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInvalidParam")
          .withArgs(UNBONDING_PERIOD_NAME, HOUR - 1n, MIN_UNBONDING_PERIOD, MAX_UNBONDING_PERIOD);
      });

      it("reverts with VerifierStakingInvalidParam above MAX_UNBONDING_PERIOD", async function () {
        const { staking, admin } = await loadFixture(deployStakingFixture);
        await expect(staking.connect(admin).setUnbondingPeriod(90n * DAY + 1n))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInvalidParam")
          .withArgs(UNBONDING_PERIOD_NAME, 90n * DAY + 1n, MIN_UNBONDING_PERIOD, MAX_UNBONDING_PERIOD);
      });
    });

    describe("when the period is shorter than an escrow's dispute window", function () {
      it("reverts with VerifierStakingUnbondingShorterThanDisputeWindow(period, window)", async function () {
        const { staking, admin } = await loadFixture(deployStakingFixture);
        await expect(staking.connect(admin).setUnbondingPeriod(STUB_WINDOW - 1n))
          .to.be.revertedWithCustomError(staking, "VerifierStakingUnbondingShorterThanDisputeWindow")
          .withArgs(STUB_WINDOW - 1n, STUB_WINDOW);
      });

      it("reads the escrow's window when the period is set, not when the role was granted", async function () {
        const { staking, admin, escrowStub } = await loadFixture(deployStakingFixture);
        await escrowStub.setMaxDisputeWindow(10n * DAY);
        await expect(staking.connect(admin).setUnbondingPeriod(8n * DAY))
          .to.be.revertedWithCustomError(staking, "VerifierStakingUnbondingShorterThanDisputeWindow")
          .withArgs(8n * DAY, 10n * DAY);
      });

      it("checks every ESCROW_ROLE holder", async function () {
        const { staking, admin, ESCROW_ROLE } = await loadFixture(deployStakingFixture);
        const second = await ethers.deployContract("EscrowStub", [staking, 3n * DAY]);
        await staking.connect(admin).grantRole(ESCROW_ROLE, second);
        expect(await staking.getRoleMemberCount(ESCROW_ROLE)).to.equal(3);
        await expect(staking.connect(admin).setUnbondingPeriod(3n * DAY - 1n))
          .to.be.revertedWithCustomError(staking, "VerifierStakingUnbondingShorterThanDisputeWindow")
          .withArgs(3n * DAY - 1n, 3n * DAY);
      });
    });

    describe("when the period is valid", function () {
      it("emits UnbondingPeriodUpdated(previous, new) and sets it", async function () {
        const { staking, admin } = await loadFixture(deployStakingFixture);
        await expect(staking.connect(admin).setUnbondingPeriod(14n * DAY))
          .to.emit(staking, "UnbondingPeriodUpdated")
          .withArgs(DEFAULT_UNBONDING_PERIOD, 14n * DAY);
        expect(await staking.unbondingPeriod()).to.equal(14n * DAY);
        await expect(staking.connect(admin).setUnbondingPeriod(STUB_WINDOW))
          .to.emit(staking, "UnbondingPeriodUpdated")
          .withArgs(14n * DAY, STUB_WINDOW);
      });

      it("accepts a period equal to the longest dispute window", async function () {
        const { staking, admin } = await loadFixture(deployStakingFixture);
        await staking.connect(admin).setUnbondingPeriod(STUB_WINDOW);
        expect(await staking.unbondingPeriod()).to.equal(STUB_WINDOW);
      });

      it("accepts MAX_UNBONDING_PERIOD", async function () {
        const { staking, admin } = await loadFixture(deployStakingFixture);
        await staking.connect(admin).setUnbondingPeriod(MAX_UNBONDING_PERIOD);
        expect(await staking.unbondingPeriod()).to.equal(MAX_UNBONDING_PERIOD);
      });

      it("accepts MIN_UNBONDING_PERIOD when no escrow's window is longer (EOAs and contracts without a window count as zero)", async function () {
        const { staking, admin, token, ESCROW_ROLE } = await loadFixture(deployStakingFixture);
        await expect(staking.connect(admin).setUnbondingPeriod(MIN_UNBONDING_PERIOD)).to.be.revertedWithCustomError(
          staking,
          "VerifierStakingUnbondingShorterThanDisputeWindow",
        );
        // A fresh staking contract whose escrows are an EOA and a contract without maxDisputeWindow (it reverts).
        const fresh = await ethers.deployContract("VerifierStaking", [token, admin.address, MIN_STAKE]);
        await fresh.connect(admin).grantRole(ESCROW_ROLE, admin.address);
        await fresh.connect(admin).grantRole(ESCROW_ROLE, token);
        await fresh.connect(admin).setUnbondingPeriod(MIN_UNBONDING_PERIOD);
        expect(await fresh.unbondingPeriod()).to.equal(MIN_UNBONDING_PERIOD);
      });
    });
  });

  describe("#announceEscrow", function () {
    describe("when the caller lacks DEFAULT_ADMIN_ROLE", function () {
      it("reverts with AccessControlUnauthorizedAccount(caller, DEFAULT_ADMIN_ROLE)", async function () {
        const { staking, alice, DEFAULT_ADMIN_ROLE } = await loadFixture(stakedFixture);
        const candidate = await newEscrow(staking);
        await expect(staking.connect(alice).announceEscrow(candidate))
          .to.be.revertedWithCustomError(staking, "AccessControlUnauthorizedAccount")
          .withArgs(alice.address, DEFAULT_ADMIN_ROLE);
      });
    });

    describe("when the escrow is the zero address", function () {
      it("reverts with VerifierStakingZeroAddress", async function () {
        const { staking, admin } = await loadFixture(stakedFixture);
        await expect(staking.connect(admin).announceEscrow(ethers.ZeroAddress)).to.be.revertedWithCustomError(
          staking,
          "VerifierStakingZeroAddress",
        );
      });
    });

    describe("when the escrow has no code (an EOA, or a contract not deployed yet)", function () {
      it("reverts with VerifierStakingEscrowWithoutCode(escrow)", async function () {
        const { staking, admin, other } = await loadFixture(stakedFixture);
        await expect(staking.connect(admin).announceEscrow(other.address))
          .to.be.revertedWithCustomError(staking, "VerifierStakingEscrowWithoutCode")
          .withArgs(other.address);
        expect(await staking.escrowReadyAt(other.address)).to.equal(0n);
        expect(await staking.escrowNoticeExpiresAt(other.address)).to.equal(0n);
      });
    });

    describe("when the escrow is a contract", function () {
      it("emits EscrowAnnounced(escrow, codeHash, readyAt, expiresAt) and reports both times", async function () {
        const { staking, admin } = await loadFixture(stakedFixture);
        const candidate = await newEscrow(staking);
        expect(await staking.escrowReadyAt(candidate)).to.equal(0n);
        expect(await staking.escrowNoticeExpiresAt(candidate)).to.equal(0n);
        const at = await nextTimestamp();
        const readyAt = at + DEFAULT_UNBONDING_PERIOD + STUB_WINDOW + ESCROW_NOTICE_MARGIN;
        await expect(staking.connect(admin).announceEscrow(candidate))
          .to.emit(staking, "EscrowAnnounced")
          .withArgs(
            await candidate.getAddress(),
            await codeHashOf(candidate),
            readyAt,
            readyAt + ESCROW_NOTICE_VALIDITY,
          );
        expect(await staking.escrowReadyAt(candidate)).to.equal(readyAt);
        expect(await staking.escrowNoticeExpiresAt(candidate)).to.equal(readyAt + ESCROW_NOTICE_VALIDITY);
      });

      it("waits the exit notice in force at the grant: a longer dispute window moves readyAt later", async function () {
        const { staking, escrowStub, admin } = await loadFixture(stakedFixture);
        const candidate = await newEscrow(staking);
        await staking.connect(admin).announceEscrow(candidate);
        const announcedReadyAt = await staking.escrowReadyAt(candidate);
        await escrowStub.setMaxDisputeWindow(STUB_WINDOW + DAY);
        expect(await staking.escrowReadyAt(candidate)).to.equal(announcedReadyAt + DAY);
        await time.setNextBlockTimestamp(announcedReadyAt);
        await expect(staking.connect(admin).grantRole(await staking.ESCROW_ROLE(), candidate))
          .to.be.revertedWithCustomError(staking, "VerifierStakingEscrowNoticePending")
          .withArgs(await candidate.getAddress(), announcedReadyAt + DAY);
      });

      it("waits the longer unbonding period when governance shortens it after the announcement", async function () {
        const { staking, admin } = await loadFixture(stakedFixture);
        const candidate = await newEscrow(staking);
        await staking.connect(admin).setUnbondingPeriod(MAX_UNBONDING_PERIOD);
        const at = await nextTimestamp();
        await staking.connect(admin).announceEscrow(candidate);
        await staking.connect(admin).setUnbondingPeriod(7n * DAY);
        const readyAt = at + MAX_UNBONDING_PERIOD + STUB_WINDOW + ESCROW_NOTICE_MARGIN;
        expect(await staking.escrowReadyAt(candidate)).to.equal(readyAt);
        expect(await staking.escrowNoticeExpiresAt(candidate)).to.equal(readyAt + ESCROW_NOTICE_VALIDITY);
      });
    });

    describe("when the escrow was announced before", function () {
      it("restarts the notice and its validity from the new announcement", async function () {
        const { staking, admin, ESCROW_ROLE } = await loadFixture(stakedFixture);
        const candidate = await newEscrow(staking);
        await staking.connect(admin).announceEscrow(candidate);
        const firstExpiry = await staking.escrowNoticeExpiresAt(candidate);
        await time.increaseTo(firstExpiry);
        const at = await nextTimestamp();
        const readyAt = at + DEFAULT_UNBONDING_PERIOD + STUB_WINDOW + ESCROW_NOTICE_MARGIN;
        await expect(staking.connect(admin).announceEscrow(candidate))
          .to.emit(staking, "EscrowAnnounced")
          .withArgs(
            await candidate.getAddress(),
            await codeHashOf(candidate),
            readyAt,
            readyAt + ESCROW_NOTICE_VALIDITY,
          );
        await time.setNextBlockTimestamp(readyAt - 1n);
        await expect(staking.connect(admin).grantRole(ESCROW_ROLE, candidate))
          .to.be.revertedWithCustomError(staking, "VerifierStakingEscrowNoticePending")
          .withArgs(await candidate.getAddress(), readyAt);
        await staking.connect(admin).grantRole(ESCROW_ROLE, candidate);
        expect(await staking.hasRole(ESCROW_ROLE, candidate)).to.equal(true);
      });
    });
  });

  describe("#grantRole", function () {
    describe("when ESCROW_ROLE goes to an escrow whose dispute window exceeds the unbonding period", function () {
      it("reverts with VerifierStakingUnbondingShorterThanDisputeWindow(period, window)", async function () {
        const { staking, admin, ESCROW_ROLE } = await loadFixture(deployStakingFixture);
        const stub = await ethers.deployContract("EscrowStub", [staking, DEFAULT_UNBONDING_PERIOD + 1n]);
        await expect(staking.connect(admin).grantRole(ESCROW_ROLE, stub))
          .to.be.revertedWithCustomError(staking, "VerifierStakingUnbondingShorterThanDisputeWindow")
          .withArgs(DEFAULT_UNBONDING_PERIOD, DEFAULT_UNBONDING_PERIOD + 1n);
      });
    });

    describe("when ESCROW_ROLE goes to an escrow whose window fits", function () {
      it("grants it at a window equal to the unbonding period and emits RoleGranted", async function () {
        const { staking, admin, ESCROW_ROLE } = await loadFixture(deployStakingFixture);
        const stub = await ethers.deployContract("EscrowStub", [staking, DEFAULT_UNBONDING_PERIOD]);
        await expect(staking.connect(admin).grantRole(ESCROW_ROLE, stub))
          .to.emit(staking, "RoleGranted")
          .withArgs(ESCROW_ROLE, await stub.getAddress(), admin.address);
        expect(await staking.hasRole(ESCROW_ROLE, stub)).to.equal(true);
      });

      it("grants it to an EOA", async function () {
        const { staking, admin, other, ESCROW_ROLE } = await loadFixture(deployStakingFixture);
        await staking.connect(admin).grantRole(ESCROW_ROLE, other.address);
        expect(await staking.hasRole(ESCROW_ROLE, other.address)).to.equal(true);
      });
    });

    describe("when tokens were sent to staking directly and nothing is staked (the deployment's grant)", function () {
      it("grants ESCROW_ROLE at once: one wei sent by anyone is not stake and does not force the notice", async function () {
        const { token, staking, admin, other, ESCROW_ROLE } = await loadFixture(deployStakingFixture);
        const candidate = await newEscrow(staking);
        // The attack: a transfer straight to the staking contract, ahead of the deployment's grant.
        await token.connect(other).transfer(staking, 1n);
        await expect(staking.connect(admin).grantRole(ESCROW_ROLE, candidate))
          .to.emit(staking, "RoleGranted")
          .withArgs(ESCROW_ROLE, await candidate.getAddress(), admin.address);
        expect(await token.balanceOf(staking)).to.equal(1n);
        expect(await staking.totalStake()).to.equal(0n);
      });
    });

    describe("when everything staked has been withdrawn", function () {
      it("grants ESCROW_ROLE at once again: nobody has stake to protect", async function () {
        const { staking, admin, alice, ESCROW_ROLE } = await loadFixture(deployStakingFixture);
        await staking.connect(alice).stake(STAKE);
        await staking.connect(alice).requestUnstake(STAKE);
        await time.increase(DEFAULT_UNBONDING_PERIOD);
        await staking.connect(alice).withdraw();
        const candidate = await newEscrow(staking);
        await staking.connect(admin).grantRole(ESCROW_ROLE, candidate);
        expect(await staking.hasRole(ESCROW_ROLE, candidate)).to.equal(true);
      });
    });

    describe("when anything is staked and the escrow was not announced", function () {
      it("reverts with VerifierStakingEscrowNotAnnounced(escrow)", async function () {
        const { staking, admin, ESCROW_ROLE } = await loadFixture(stakedFixture);
        const candidate = await newEscrow(staking);
        await expect(staking.connect(admin).grantRole(ESCROW_ROLE, candidate))
          .to.be.revertedWithCustomError(staking, "VerifierStakingEscrowNotAnnounced")
          .withArgs(await candidate.getAddress());
      });
    });

    describe("when anything is staked and the notice has not run out", function () {
      it("reverts with VerifierStakingEscrowNoticePending(escrow, readyAt) until the last second", async function () {
        const { staking, admin, ESCROW_ROLE } = await loadFixture(stakedFixture);
        const candidate = await newEscrow(staking);
        await staking.connect(admin).announceEscrow(candidate);
        const readyAt = await staking.escrowReadyAt(candidate);
        await time.setNextBlockTimestamp(readyAt - 1n);
        await expect(staking.connect(admin).grantRole(ESCROW_ROLE, candidate))
          .to.be.revertedWithCustomError(staking, "VerifierStakingEscrowNoticePending")
          .withArgs(await candidate.getAddress(), readyAt);
      });
    });

    describe("when anything is staked and the announcement is within its validity", function () {
      it("grants ESCROW_ROLE from readyAt and emits RoleGranted", async function () {
        const { staking, admin, ESCROW_ROLE } = await loadFixture(stakedFixture);
        const candidate = await newEscrow(staking);
        await staking.connect(admin).announceEscrow(candidate);
        await time.setNextBlockTimestamp(await staking.escrowReadyAt(candidate));
        await expect(staking.connect(admin).grantRole(ESCROW_ROLE, candidate))
          .to.emit(staking, "RoleGranted")
          .withArgs(ESCROW_ROLE, await candidate.getAddress(), admin.address);
      });

      it("grants ESCROW_ROLE up to the second before the announcement expires", async function () {
        const { staking, admin, ESCROW_ROLE } = await loadFixture(stakedFixture);
        const candidate = await newEscrow(staking);
        await staking.connect(admin).announceEscrow(candidate);
        await time.setNextBlockTimestamp((await staking.escrowNoticeExpiresAt(candidate)) - 1n);
        await staking.connect(admin).grantRole(ESCROW_ROLE, candidate);
        expect(await staking.hasRole(ESCROW_ROLE, candidate)).to.equal(true);
      });
    });

    describe("when anything is staked and the announcement has expired", function () {
      it("reverts with VerifierStakingEscrowNoticeExpired(escrow, expiredAt): a staker who came after it gets no surprise", async function () {
        const { staking, admin, carol, ESCROW_ROLE } = await loadFixture(stakedFixture);
        const candidate = await newEscrow(staking);
        await staking.connect(admin).announceEscrow(candidate);
        const readyAt = await staking.escrowReadyAt(candidate);
        const expiredAt = readyAt + ESCROW_NOTICE_VALIDITY;
        // The attack: the announcement is left standing; months later a newcomer stakes and governance grants.
        await time.increaseTo(readyAt + 90n * DAY);
        await staking.connect(carol).stake(STAKE);
        await expect(staking.connect(admin).grantRole(ESCROW_ROLE, candidate))
          .to.be.revertedWithCustomError(staking, "VerifierStakingEscrowNoticeExpired")
          .withArgs(await candidate.getAddress(), expiredAt);
        expect(await staking.hasRole(ESCROW_ROLE, candidate)).to.equal(false);
      });

      it("reverts with VerifierStakingEscrowNoticeExpired from the very second it expires", async function () {
        const { staking, admin, ESCROW_ROLE } = await loadFixture(stakedFixture);
        const candidate = await newEscrow(staking);
        await staking.connect(admin).announceEscrow(candidate);
        const expiredAt = await staking.escrowNoticeExpiresAt(candidate);
        await time.setNextBlockTimestamp(expiredAt);
        await expect(staking.connect(admin).grantRole(ESCROW_ROLE, candidate))
          .to.be.revertedWithCustomError(staking, "VerifierStakingEscrowNoticeExpired")
          .withArgs(await candidate.getAddress(), expiredAt);
      });
    });

    describe("when anything is staked and the escrow's code changed since the announcement", function () {
      it("reverts with VerifierStakingEscrowCodeChanged(escrow, announced, current) until announced again", async function () {
        const { token, staking, admin, ESCROW_ROLE } = await loadFixture(stakedFixture);
        const candidate = await newEscrow(staking);
        const announced = await codeHashOf(candidate);
        await staking.connect(admin).announceEscrow(candidate);
        // The attack: stakers were shown one contract, another one sits at the address by the grant.
        await setCode(await candidate.getAddress(), await ethers.provider.getCode(token));
        const current = await codeHashOf(candidate);
        expect(current).to.not.equal(announced);
        await time.increaseTo(await staking.escrowReadyAt(candidate));
        await expect(staking.connect(admin).grantRole(ESCROW_ROLE, candidate))
          .to.be.revertedWithCustomError(staking, "VerifierStakingEscrowCodeChanged")
          .withArgs(await candidate.getAddress(), announced, current);

        await expect(staking.connect(admin).announceEscrow(candidate))
          .to.emit(staking, "EscrowAnnounced")
          .withArgs(await candidate.getAddress(), current, anyValue, anyValue);
        await time.increaseTo(await staking.escrowReadyAt(candidate));
        await staking.connect(admin).grantRole(ESCROW_ROLE, candidate);
        expect(await staking.hasRole(ESCROW_ROLE, candidate)).to.equal(true);
      });
    });

    describe("when another role goes to a contract with a long window", function () {
      it("grants it without checking the window", async function () {
        const { staking, admin, DEFAULT_ADMIN_ROLE } = await loadFixture(deployStakingFixture);
        const stub = await ethers.deployContract("EscrowStub", [staking, 365n * DAY]);
        await staking.connect(admin).grantRole(DEFAULT_ADMIN_ROLE, stub);
        expect(await staking.hasRole(DEFAULT_ADMIN_ROLE, stub)).to.equal(true);
      });
    });

    describe("when the caller lacks DEFAULT_ADMIN_ROLE", function () {
      it("reverts with AccessControlUnauthorizedAccount(caller, DEFAULT_ADMIN_ROLE)", async function () {
        const { staking, alice, ESCROW_ROLE, DEFAULT_ADMIN_ROLE } = await loadFixture(deployStakingFixture);
        await expect(staking.connect(alice).grantRole(ESCROW_ROLE, alice.address))
          .to.be.revertedWithCustomError(staking, "AccessControlUnauthorizedAccount")
          .withArgs(alice.address, DEFAULT_ADMIN_ROLE);
      });
    });
  });

  describe("#revokeRole and #renounceRole", function () {
    describe("when the role is ESCROW_ROLE", function () {
      it("never revokes ESCROW_ROLE, nor lets an escrow renounce it: VerifierStakingEscrowPermanent", async function () {
        const { staking, admin, escrow, ESCROW_ROLE } = await loadFixture(stakedFixture);
        await expect(staking.connect(admin).revokeRole(ESCROW_ROLE, escrow.address))
          .to.be.revertedWithCustomError(staking, "VerifierStakingEscrowPermanent")
          .withArgs(escrow.address);
        await expect(staking.connect(escrow).renounceRole(ESCROW_ROLE, escrow.address))
          .to.be.revertedWithCustomError(staking, "VerifierStakingEscrowPermanent")
          .withArgs(escrow.address);
      });
    });
  });

  describe("#setMinVerifierStake", function () {
    describe("when the caller lacks DEFAULT_ADMIN_ROLE", function () {
      it("reverts with AccessControlUnauthorizedAccount(caller, DEFAULT_ADMIN_ROLE)", async function () {
        const { staking, alice, DEFAULT_ADMIN_ROLE } = await loadFixture(deployStakingFixture);
        await expect(staking.connect(alice).setMinVerifierStake(1))
          .to.be.revertedWithCustomError(staking, "AccessControlUnauthorizedAccount")
          .withArgs(alice.address, DEFAULT_ADMIN_ROLE);
      });
    });

    describe("when the amount is above MAX_MIN_VERIFIER_STAKE", function () {
      it("reverts with VerifierStakingInvalidParam", async function () {
        const { staking, admin } = await loadFixture(deployStakingFixture);
        await expect(staking.connect(admin).setMinVerifierStake(MAX_MIN_VERIFIER_STAKE + 1n))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInvalidParam")
          .withArgs(MIN_VERIFIER_STAKE_NAME, MAX_MIN_VERIFIER_STAKE + 1n, 0, MAX_MIN_VERIFIER_STAKE);
      });
    });

    describe("when the amount is within bounds", function () {
      it("emits MinVerifierStakeUpdated(previous, new) and sets it, up to MAX_MIN_VERIFIER_STAKE", async function () {
        const { staking, admin } = await loadFixture(deployStakingFixture);
        await expect(staking.connect(admin).setMinVerifierStake(MAX_MIN_VERIFIER_STAKE))
          .to.emit(staking, "MinVerifierStakeUpdated")
          .withArgs(MIN_STAKE, MAX_MIN_VERIFIER_STAKE);
        expect(await staking.minVerifierStake()).to.equal(MAX_MIN_VERIFIER_STAKE);
        await expect(staking.connect(admin).setMinVerifierStake(0))
          .to.emit(staking, "MinVerifierStakeUpdated")
          .withArgs(MAX_MIN_VERIFIER_STAKE, 0);
        expect(await staking.minVerifierStake()).to.equal(0);
      });

      it("applies to later opt-ins", async function () {
        const { staking, admin, alice } = await loadFixture(stakedFixture);
        await staking.connect(admin).setMinVerifierStake(STAKE + 1n);
        await expect(staking.connect(alice).setVerifier(true))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInsufficientStake")
          .withArgs(alice.address, STAKE, STAKE + 1n);
        await staking.connect(admin).setMinVerifierStake(STAKE);
        await expect(staking.connect(alice).setVerifier(true))
          .to.emit(staking, "VerifierStatusChanged")
          .withArgs(alice.address, true);
      });
    });
  });

  describe("reentrancy", function () {
    describe("when the token calls back into #stake during a stake", function () {
      it("reverts with ReentrancyGuardReentrantCall", async function () {
        const { staking, token, alice } = await loadFixture(reentrantTokenFixture);
        await token.setHook(staking, staking.interface.encodeFunctionData("stake", [1]), true);
        await expect(staking.connect(alice).stake(tokens(1))).to.be.revertedWithCustomError(
          staking,
          "ReentrancyGuardReentrantCall",
        );
      });
    });

    describe("when the token calls back into #withdraw during a withdrawal", function () {
      it("reverts with ReentrancyGuardReentrantCall", async function () {
        const { staking, token, alice } = await loadFixture(reentrantTokenFixture);
        await staking.connect(alice).requestUnstake(tokens(10));
        await time.increase(DEFAULT_UNBONDING_PERIOD);
        await token.setHook(staking, staking.interface.encodeFunctionData("withdraw"), true);
        await expect(staking.connect(alice).withdraw()).to.be.revertedWithCustomError(
          staking,
          "ReentrancyGuardReentrantCall",
        );
      });
    });

    describe("when the token calls back into #slash during a slash", function () {
      it("reverts with ReentrancyGuardReentrantCall", async function () {
        const { staking, token, escrow, alice, recipient } = await loadFixture(reentrantTokenFixture);
        const reenter = staking.interface.encodeFunctionData("slash", [alice.address, 0, 1, recipient.address]);
        await token.setHook(staking, reenter, true);
        await expect(
          staking.connect(escrow).slash(alice.address, 0, tokens(1), recipient.address),
        ).to.be.revertedWithCustomError(staking, "ReentrancyGuardReentrantCall");
      });

      it("slashes normally when the hook is not armed", async function () {
        const { staking, token, escrow, alice, recipient } = await loadFixture(reentrantTokenFixture);
        await expect(
          staking.connect(escrow).slash(alice.address, 0, tokens(1), recipient.address),
        ).to.changeTokenBalances(token, [staking, recipient], [-tokens(1), tokens(1)]);
      });
    });
  });

  describe("#totalStake", function () {
    describe("when accounts stake, request to unstake, are slashed and withdraw", function () {
      it("is the sum of every account's active and unbonding stake after each step; a direct transfer does not count", async function () {
        const { token, staking, alice, bob, other, escrow, recipient } = await loadFixture(deployStakingFixture);
        const expectTotal = async (expected: bigint, step: string): Promise<void> => {
          expect(await staking.totalStake(), step).to.equal(expected);
          let sum = 0n;
          for (const account of [alice, bob, other]) {
            const a = await staking.accountOf(account.address);
            sum += a.active + a.unbonding;
          }
          expect(sum, `${step}: sum of the accounts`).to.equal(expected);
        };
        await expectTotal(0n, "at deployment");
        await staking.connect(alice).stake(tokens(100));
        await staking.connect(bob).stake(tokens(30));
        await expectTotal(tokens(130), "after two stakes");
        await token.connect(other).transfer(staking, tokens(5));
        await expectTotal(tokens(130), "after a direct transfer");
        await staking.connect(alice).requestUnstake(tokens(40));
        await expectTotal(tokens(130), "after a request to unstake (active to unbonding)");
        await staking.connect(escrow).lock(bob.address, tokens(10));
        await expectTotal(tokens(130), "after a lock");
        // 60 of alice's free stake, then 10 of her unbonding stake.
        await staking.connect(escrow).slash(alice.address, 0, tokens(70), recipient.address);
        await expectTotal(tokens(60), "after a slash of free and unbonding stake");
        // More than bob holds: his 20 free and 10 locked.
        await staking.connect(escrow).slash(bob.address, 0, tokens(1000), recipient.address);
        await expectTotal(tokens(30), "after a slash of everything an account holds");
        await staking.connect(escrow).slash(other.address, 0, tokens(1), recipient.address);
        await expectTotal(tokens(30), "after a slash of an account that holds nothing");
        await time.increase(DEFAULT_UNBONDING_PERIOD);
        await expect(staking.connect(alice).withdraw()).to.changeTokenBalances(
          token,
          [alice, staking],
          [tokens(30), -tokens(30)],
        );
        await expectTotal(0n, "after the last withdrawal");
        expect(await token.balanceOf(staking)).to.equal(tokens(5));
      });
    });
  });

  describe("views", function () {
    it("report zeros for an account that never staked", async function () {
      const { staking, other } = await loadFixture(verifiersStakedFixture);
      await expectAccount(staking, other, {
        active: 0n,
        locked: 0n,
        unbonding: 0n,
        unbondingEnd: 0n,
        verifier: false,
      });
      expect(await staking.verifierWeightOf(other.address)).to.equal(0);
    });
  });
});
