import { expect } from "chai";
import { artifacts, ethers, network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { CommitteeDrawBatch__factory, type VerifierStaking } from "../typechain-types";
import {
  MAX_COMMITTEE_SIZE,
  MIN_STAKE,
  deployStakingFixture,
  exitVerifiers,
  tokens,
  verifiersWithPartiesFixture,
  weightedVerifiersFixture,
  type StakingSetup,
} from "./fixtures/staking";
import { statisticalDraws, underCoverage } from "./fixtures/coverage";
import { view } from "./fixtures/views";

/** One draw, as a raw eth_call (`view`: several times faster than going through the contract object). */
async function drawOne(
  staking: VerifierStaking,
  seed: bigint,
  size: number,
  excluded: string[] = [],
): Promise<string[]> {
  return [...(await view(staking, "drawCommittee", seed, size, excluded))];
}

/** Where drawMany installs CommitteeDrawBatch's code (hardhat_setCode: no transaction, so no block or nonce moves). */
const BATCH_ADDRESS = "0x00000000000000000000000000000000000c0de5";
const batch = CommitteeDrawBatch__factory.connect(BATCH_ADDRESS, ethers.provider);

/**
 * Draws per eth_call for committees of `size`: about 100 addresses per call. A call's cost grows faster than its
 * length (Hardhat records every EVM step, and the committees pile up in memory): measured, a batch of 400 draws took
 * 17 times as long as one of 100.
 */
const drawsPerCall = (size: number): number => Math.max(1, Math.floor(100 / size));

/**
 * Draws with seeds `first`, `first + 1`, … (`count` of them), each by the real `drawCommittee`, batched in
 * CommitteeDrawBatch: one eth_call per batch instead of one per draw saves each draw's round trip and encoding
 * (measured: 2,000 draws in 2.0 s instead of 2.7 s; the rest is the EVM's). The batches are sent at once.
 */
async function drawMany(
  staking: VerifierStaking,
  count: number,
  size: number,
  excluded: string[] = [],
  first = 0,
): Promise<string[][]> {
  // Under coverage, Hardhat hands every EVM step of a call to solidity-coverage in JavaScript, at a cost that grows
  // with the call's memory, so a batch costs the square of its length (measured: 200 draws of 3 in one test took
  // 119 s): one call per draw there.
  if (underCoverage()) {
    return Promise.all(Array.from({ length: count }, (_, i) => drawOne(staking, BigInt(first + i), size, excluded)));
  }
  // Installed anew on every call: a fixture's snapshot revert takes the code away again.
  const { deployedBytecode } = await artifacts.readArtifact("CommitteeDrawBatch");
  await network.provider.send("hardhat_setCode", [BATCH_ADDRESS, deployedBytecode]);
  const target = await staking.getAddress();
  const per = drawsPerCall(size);
  const batches = await Promise.all(
    Array.from({ length: Math.ceil(count / per) }, (_, b) =>
      view(batch, "drawCommittees", target, BigInt(first + b * per), Math.min(per, count - b * per), size, excluded),
    ),
  );
  return batches.flatMap((committees) => committees.map((committee) => [...committee]));
}

/** Five binomial standard deviations of a frequency estimated from `n` trials of probability `p`. */
const fiveSigma = (p: number, n: number): number => 5 * Math.sqrt((p * (1 - p)) / n);

/** Checks every observed frequency `counts[i] / n` is within 5σ of `probabilities[i]`. */
function expectFrequencies(counts: number[], probabilities: number[], n: number): void {
  counts.forEach((count, i) => {
    const frequency = count / n;
    const bound = fiveSigma(probabilities[i], n);
    expect(
      Math.abs(frequency - probabilities[i]),
      `account ${i}: frequency ${frequency.toFixed(4)}, expected ${probabilities[i].toFixed(4)} ± ${bound.toFixed(4)}`,
    ).to.be.at.most(bound);
  });
}

/** Exact probability that each account is in a committee of `size` drawn successively without replacement. */
function inclusionProbabilities(weights: number[], size: number): number[] {
  const inclusion = weights.map(() => 0);
  const removed = weights.map(() => false);
  const walk = (depth: number, probability: number): void => {
    if (depth === size) return;
    const remaining = weights.reduce((sum, w, i) => (removed[i] ? sum : sum + w), 0);
    weights.forEach((w, i) => {
      if (removed[i] || w === 0) return;
      const p = (probability * w) / remaining;
      inclusion[i] += p;
      removed[i] = true;
      walk(depth + 1, p);
      removed[i] = false;
    });
  };
  walk(0, 1);
  return inclusion;
}

const shares = (weights: bigint[]): number[] => {
  const total = weights.reduce((a, b) => a + b, 0n);
  return weights.map((w) => Number(w) / Number(total));
};

/** Counts of each address of `accounts` over all committees' seat `seat` (or any seat when undefined). */
function countSeats(committees: string[][], accounts: string[], seat?: number): number[] {
  const index = new Map(accounts.map((a, i) => [a, i]));
  const counts = accounts.map(() => 0);
  for (const committee of committees) {
    for (const member of seat === undefined ? committee : [committee[seat]]) {
      const i = index.get(member);
      if (i === undefined) expect.fail(`drew ${member}, not one of the expected accounts`);
      counts[i]++;
    }
  }
  return counts;
}

/** mulberry32: a small seeded PRNG, enough to pick operations reproducibly. */
function prng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniform-enough bigint in [0, max] from three 32-bit draws. */
function randomBelowOrEqual(random: () => number, max: bigint): bigint {
  if (max <= 0n) return 0n;
  let x = 0n;
  for (let i = 0; i < 3; i++) x = (x << 32n) | BigInt(Math.floor(random() * 4294967296));
  return x % (max + 1n);
}

interface ModelAccount {
  active: bigint;
  locked: bigint;
  unbonding: bigint;
  verifier: boolean;
  /** Opted out, still in the draw until its exit is completed. */
  leaving: boolean;
}

/**
 * A model of the staking contract's accounts and of the documented sortition: leaves in order of an account's
 * first non-zero weight, draw i picks the leaf holding keccak256(abi.encode(seed, i)) mod the remaining weight.
 */
class StakingModel {
  accounts = new Map<string, ModelAccount>();
  leaves: string[] = [];
  weights = new Map<string, bigint>();

  get(address: string): ModelAccount {
    let account = this.accounts.get(address);
    if (!account) {
      account = { active: 0n, locked: 0n, unbonding: 0n, verifier: false, leaving: false };
      this.accounts.set(address, account);
    }
    return account;
  }

  free(address: string): bigint {
    const a = this.get(address);
    return a.active - a.locked;
  }

  private setWeight(address: string, weight: bigint): void {
    if (!this.weights.has(address)) {
      if (weight === 0n) return;
      this.leaves.push(address);
    }
    this.weights.set(address, weight);
  }

  /** A verifier weighs its free stake while that is at least the verifier minimum, and nothing below it. */
  eligibleWeight(address: string): bigint {
    const free = this.free(address);
    return free < MIN_STAKE ? 0n : free;
  }

  sync(address: string): void {
    if (this.get(address).verifier) this.setWeight(address, this.eligibleWeight(address));
  }

  setVerifier(address: string, verifier: boolean): void {
    this.get(address).verifier = verifier;
    this.setWeight(address, verifier ? this.free(address) : 0n);
  }

  /**
   * Whether a change the account makes itself (stake, unstake, collateral it locks), leaving it `free` free stake,
   * is refused for taking a verifier out of the draw without notice (VerifierStakingExitNoticeRequired).
   */
  refusesExit(address: string, free: bigint): boolean {
    return this.get(address).verifier && this.weightOf(address) > 0n && free < MIN_STAKE;
  }

  /** Leaving verifiers that still have a weight: the ones eligibleVerifiersExcluding subtracts. */
  leaving(): number {
    return [...this.accounts.entries()].filter(([address, a]) => a.leaving && this.weightOf(address) > 0n).length;
  }

  slash(address: string, unlockAmount: bigint, amount: bigint): bigint {
    const a = this.get(address);
    a.locked -= unlockAmount < a.locked ? unlockAmount : a.locked;
    const min = (x: bigint, y: bigint) => (x < y ? x : y);
    const fromFree = min(amount, a.active - a.locked);
    const fromUnbonding = min(amount - fromFree, a.unbonding);
    const fromLocked = min(amount - fromFree - fromUnbonding, a.locked);
    a.active -= fromFree + fromLocked;
    a.locked -= fromLocked;
    a.unbonding -= fromUnbonding;
    this.sync(address);
    return fromFree + fromUnbonding + fromLocked;
  }

  weightOf(address: string): bigint {
    return this.weights.get(address) ?? 0n;
  }

  total(): bigint {
    return [...this.weights.values()].reduce((a, b) => a + b, 0n);
  }

  eligible(): number {
    return [...this.weights.values()].filter((w) => w > 0n).length;
  }

  draw(seed: bigint, size: number, excluded: string[]): string[] {
    const removed = new Set(excluded.filter((a) => this.weightOf(a) > 0n));
    let remaining = this.total() - [...removed].reduce((sum, a) => sum + this.weightOf(a), 0n);
    const drawn: string[] = [];
    for (let i = 0; i < size; i++) {
      let target =
        BigInt(ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["uint256", "uint256"], [seed, i]))) %
        remaining;
      for (const leaf of this.leaves) {
        if (removed.has(leaf)) continue;
        const weight = this.weightOf(leaf);
        if (target < weight) {
          drawn.push(leaf);
          removed.add(leaf);
          remaining -= weight;
          break;
        }
        target -= weight;
      }
    }
    return drawn;
  }
}

/** The contract's weights, total and eligible count equal the model's. */
async function expectMatchesModel(staking: VerifierStaking, model: StakingModel, addresses: string[]): Promise<void> {
  let sumOfFreeStakeOfVerifiers = 0n;
  for (const address of addresses) {
    const account = await staking.accountOf(address);
    const expected = model.get(address);
    expect(account.active, `active of ${address}`).to.equal(expected.active);
    expect(account.locked, `locked of ${address}`).to.equal(expected.locked);
    expect(account.unbonding, `unbonding of ${address}`).to.equal(expected.unbonding);
    expect(account.verifier, `verifier of ${address}`).to.equal(expected.verifier);
    expect(account.leaving, `leaving of ${address}`).to.equal(expected.leaving);
    expect(await staking.verifierWeightOf(address), `weight of ${address}`).to.equal(model.weightOf(address));
    const free = await staking.freeStakeOf(address);
    if (account.verifier && free >= MIN_STAKE) sumOfFreeStakeOfVerifiers += free;
  }
  expect(await staking.totalVerifierWeight(), "totalVerifierWeight").to.equal(sumOfFreeStakeOfVerifiers);
  expect(await staking.totalVerifierWeight(), "totalVerifierWeight (model)").to.equal(model.total());
  expect(await staking.leavingVerifierCount(), "leavingVerifierCount").to.equal(model.leaving());
  expect(await staking.eligibleVerifiersExcluding([]), "eligibleVerifiersExcluding([])").to.equal(
    Math.max(0, model.eligible() - model.leaving()),
  );
  expect(await staking.eligibleVerifierCount(), "eligibleVerifierCount").to.equal(model.eligible());
}

// Fewer under coverage (statisticalDraws); every bound below is computed from these, so it widens to match.
const N = statisticalDraws(2000);
/** Draws for the secondary frequency checks, whose alternatives differ grossly. */
const N_SMALL = statisticalDraws(1000);
/** Seeds per size for the properties that must hold for every draw (distinctness, exclusions). */
const SEEDS = statisticalDraws(100);

describe("VerifierStaking committee draw", function () {
  describe("weighted frequencies (5 verifiers staking 10, 20, 30, 40, 100 tokens)", function () {
    const p = shares([10n, 20n, 30n, 40n, 100n]);
    const maxBound = Math.max(...p.map((x) => fiveSigma(x, N)));

    it(`draws each verifier alone with a frequency within 5σ of its stake share (n = ${N}, 5σ ≤ ${(100 * maxBound).toFixed(1)} points)`, async function () {
      const { staking, verifiers } = await loadFixture(weightedVerifiersFixture);
      const addresses = verifiers.map((v) => v.address);
      const committees = await drawMany(staking, N, 1);
      committees.forEach((c) => expect(c).to.have.length(1));
      expectFrequencies(countSeats(committees, addresses), p, N);
    });

    describe("with a committee of 3", function () {
      const inclusion = inclusionProbabilities([10, 20, 30, 40, 100], 3);

      async function committeesOf3() {
        const s = await weightedVerifiersFixture();
        return { ...s, committees: await drawMany(s.staking, N, 3) };
      }

      it(`fills the first seat with frequencies within 5σ of the stake shares (n = ${N})`, async function () {
        const { verifiers, committees } = await loadFixture(committeesOf3);
        expectFrequencies(
          countSeats(
            committees,
            verifiers.map((v) => v.address),
            0,
          ),
          p,
          N,
        );
      });

      it(`includes each verifier with a frequency within 5σ of its exact inclusion probability, increasing with stake (n = ${N})`, async function () {
        const { verifiers, committees } = await loadFixture(committeesOf3);
        const counts = countSeats(
          committees,
          verifiers.map((v) => v.address),
        );
        expectFrequencies(counts, inclusion, N);
        for (let i = 1; i < counts.length; i++) expect(counts[i]).to.be.greaterThan(counts[i - 1]);
      });

      it("never repeats a verifier within a committee", async function () {
        const { committees } = await loadFixture(committeesOf3);
        for (const c of committees) expect(new Set(c).size).to.equal(3);
      });
    });

    it(`draws with 1-wei weights exactly in proportion, no off-by-one at node boundaries (n = ${N_SMALL})`, async function () {
      const { staking, admin, verifiers } = await loadFixture(deployStakingFixture);
      await staking.connect(admin).setMinVerifierStake(0);
      const weights = [1n, 1n, 2n, 1n, 3n];
      for (let i = 0; i < weights.length; i++) {
        await staking.connect(verifiers[i]).stake(weights[i]);
        await staking.connect(verifiers[i]).setVerifier(true);
      }
      const committees = await drawMany(staking, N_SMALL, 1);
      expectFrequencies(
        countSeats(
          committees,
          verifiers.map((v) => v.address),
        ),
        shares(weights),
        N_SMALL,
      );
    });

    it("is deterministic in the seed and the state", async function () {
      const { staking } = await loadFixture(weightedVerifiersFixture);
      const first = await drawMany(staking, 20, 3);
      expect(await drawMany(staking, 20, 3)).to.deep.equal(first);
      expect(new Set(first.map((c) => c.join())).size).to.be.greaterThan(1);
    });
  });

  describe("exclusions and distinctness", function () {
    it(`never draws an excluded worker or requester, nor a verifier twice (sizes 1 to 5, ${SEEDS} seeds each)`, async function () {
      const { staking, verifiers, worker, requester } = await loadFixture(verifiersWithPartiesFixture);
      const allowed = new Set(verifiers.map((v) => v.address));
      for (let size = 1; size <= 5; size++) {
        const committees = await drawMany(staking, SEEDS, size, [worker.address, requester.address], size * 1000);
        for (const c of committees) {
          expect(c).to.have.length(size);
          expect(new Set(c).size, `duplicate in ${c}`).to.equal(size);
          for (const member of c) expect(allowed.has(member), `drew excluded ${member}`).to.equal(true);
        }
      }
      // With all five drawn, the committee is exactly the five eligible verifiers.
      const [all] = await drawMany(staking, 1, 5, [worker.address, requester.address]);
      expect([...all].sort()).to.deep.equal([...allowed].sort());
    });

    it("draws the worker and requester often when they are not excluded (so the exclusion test is not vacuous)", async function () {
      const { staking, verifiers, worker, requester } = await loadFixture(verifiersWithPartiesFixture);
      const committees = await drawMany(staking, 150, 1);
      const counts = countSeats(
        committees,
        [...verifiers, worker, requester].map((v) => v.address),
      );
      expect(counts[5]).to.be.greaterThan(20);
      expect(counts[6]).to.be.greaterThan(20);
    });

    it(`never repeats a verifier at any size from 1 to 7 without exclusions (${SEEDS} seeds each)`, async function () {
      const { staking } = await loadFixture(verifiersWithPartiesFixture);
      for (let size = 1; size <= 7; size++) {
        for (const c of await drawMany(staking, SEEDS, size, [], size * 1000)) {
          expect(new Set(c).size, `duplicate in ${c}`).to.equal(size);
        }
      }
    });

    it(`draws the rest in proportion to their stakes when the heaviest verifier is excluded (n = ${N_SMALL})`, async function () {
      const { staking, verifiers } = await loadFixture(weightedVerifiersFixture);
      const rest = verifiers.slice(0, 4).map((v) => v.address);
      const committees = await drawMany(staking, N_SMALL, 1, [verifiers[4].address]);
      expectFrequencies(countSeats(committees, rest), shares([10n, 20n, 30n, 40n]), N_SMALL);
    });

    it("ignores excluded addresses that are not verifiers and repeated exclusions", async function () {
      const { staking, verifiers, other, worker } = await loadFixture(weightedVerifiersFixture);
      const excluded = [other.address, worker.address, verifiers[0].address, verifiers[0].address];
      for (const c of await drawMany(staking, 50, 4, excluded)) {
        expect([...c].sort()).to.deep.equal(
          verifiers
            .slice(1)
            .map((v) => v.address)
            .sort(),
        );
      }
    });
  });

  describe("invalid requests", function () {
    describe("when the size is zero", function () {
      it("reverts with VerifierStakingInvalidCommitteeSize(0)", async function () {
        const { staking } = await loadFixture(weightedVerifiersFixture);
        await expect(staking.drawCommittee(1, 0, []))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInvalidCommitteeSize")
          .withArgs(0);
      });
    });

    describe("when the size is above MAX_COMMITTEE_SIZE", function () {
      it("reverts with VerifierStakingInvalidCommitteeSize(16)", async function () {
        const { staking } = await loadFixture(weightedVerifiersFixture);
        await expect(staking.drawCommittee(1, MAX_COMMITTEE_SIZE + 1n, []))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInvalidCommitteeSize")
          .withArgs(MAX_COMMITTEE_SIZE + 1n);
      });
    });

    describe("when there are no verifiers", function () {
      it("reverts with VerifierStakingInsufficientVerifiers(0, 1)", async function () {
        const { staking, alice } = await loadFixture(deployStakingFixture);
        await staking.connect(alice).stake(tokens(100));
        await expect(staking.drawCommittee(1, 1, []))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInsufficientVerifiers")
          .withArgs(0, 1);
      });
    });

    describe("when fewer verifiers are eligible than the size", function () {
      it("reverts with VerifierStakingInsufficientVerifiers(5, 6) for five verifiers", async function () {
        const { staking } = await loadFixture(weightedVerifiersFixture);
        await expect(staking.drawCommittee(1, 6, []))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInsufficientVerifiers")
          .withArgs(5, 6);
      });

      it("counts excluded verifiers out: (5, 6) with the worker and requester excluded", async function () {
        const { staking, worker, requester } = await loadFixture(verifiersWithPartiesFixture);
        expect(await staking.eligibleVerifierCount()).to.equal(7);
        await expect(staking.drawCommittee(1, 6, [worker.address, requester.address]))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInsufficientVerifiers")
          .withArgs(5, 6);
        expect(await staking.drawCommittee(1, 5, [worker.address, requester.address])).to.have.length(5);
      });

      it("counts a verifier excluded twice once: (4, 5)", async function () {
        const { staking, verifiers } = await loadFixture(weightedVerifiersFixture);
        await expect(staking.drawCommittee(1, 5, [verifiers[2].address, verifiers[2].address]))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInsufficientVerifiers")
          .withArgs(4, 5);
      });

      it("does not count excluded non-verifiers: (5, 6)", async function () {
        const { staking, other, worker } = await loadFixture(weightedVerifiersFixture);
        await expect(staking.drawCommittee(1, 6, [other.address, worker.address]))
          .to.be.revertedWithCustomError(staking, "VerifierStakingInsufficientVerifiers")
          .withArgs(5, 6);
        expect(await staking.drawCommittee(1, 5, [other.address, worker.address])).to.have.length(5);
      });

      const zeroWeightCases: [string, (s: StakingSetup, v: HardhatEthersSigner) => Promise<unknown>][] = [
        [
          "all of whose stake is locked after its exit",
          async (s, v) => {
            await exitVerifiers(s.staking, [v]);
            await s.staking.connect(s.escrow).lock(v.address, tokens(30));
          },
        ],
        ["who opted out and completed its exit", (s, v) => exitVerifiers(s.staking, [v])],
        [
          "who unstaked everything after its exit",
          async (s, v) => {
            await exitVerifiers(s.staking, [v]);
            await s.staking.connect(v).requestUnstake(tokens(30));
          },
        ],
        [
          "who was slashed to zero",
          (s, v) => s.staking.connect(s.escrow).slash(v.address, 0, tokens(30), s.recipient.address),
        ],
      ];
      for (const [label, zero] of zeroWeightCases) {
        describe(`with a verifier ${label}`, function () {
          it("reverts with VerifierStakingInsufficientVerifiers(4, 5), and counts it once when also excluded", async function () {
            const s = await loadFixture(weightedVerifiersFixture);
            const v = s.verifiers[2];
            await zero(s, v);
            expect(await s.staking.verifierWeightOf(v.address)).to.equal(0);
            expect(await s.staking.eligibleVerifierCount()).to.equal(4);
            await expect(s.staking.drawCommittee(1, 5, []))
              .to.be.revertedWithCustomError(s.staking, "VerifierStakingInsufficientVerifiers")
              .withArgs(4, 5);
            await expect(s.staking.drawCommittee(1, 5, [v.address]))
              .to.be.revertedWithCustomError(s.staking, "VerifierStakingInsufficientVerifiers")
              .withArgs(4, 5);
            const others = s.verifiers.filter((x) => x !== v).map((x) => x.address);
            for (const c of await drawMany(s.staking, 30, 4, [v.address])) {
              expect([...c].sort()).to.deep.equal([...others].sort());
            }
          });
        });
      }
    });
  });

  describe("weights follow free stake", function () {
    it(`lowers a verifier's weight and draw frequency when its stake is locked (n = ${N_SMALL})`, async function () {
      const { staking, escrow, verifiers } = await loadFixture(weightedVerifiersFixture);
      await staking.connect(escrow).lock(verifiers[4].address, tokens(90));
      expect(await staking.verifierWeightOf(verifiers[4].address)).to.equal(tokens(10));
      expect(await staking.totalVerifierWeight()).to.equal(tokens(110));
      const committees = await drawMany(staking, N_SMALL, 1);
      expectFrequencies(
        countSeats(
          committees,
          verifiers.map((v) => v.address),
        ),
        shares([10n, 20n, 30n, 40n, 10n]),
        N_SMALL,
      );
    });

    it("never draws a verifier whose free stake is below the minimum, and draws it again once it has enough", async function () {
      const { staking, escrow, verifiers } = await loadFixture(weightedVerifiersFixture);
      const heaviest = verifiers[4].address;
      // Collateral cannot take a verifier below the minimum (that takes notice); a slash can.
      await expect(staking.connect(escrow).lock(heaviest, tokens(100)))
        .to.be.revertedWithCustomError(staking, "VerifierStakingExitNoticeRequired")
        .withArgs(heaviest, 0, MIN_STAKE);
      await staking.connect(escrow).lock(heaviest, tokens(100) - MIN_STAKE);
      await staking.connect(escrow).slash(heaviest, 0, tokens(2), escrow.address);
      for (const size of [1, 2, 4]) {
        for (const c of await drawMany(staking, 2 * SEEDS, size)) expect(c).not.to.include(heaviest);
      }
      // MIN_STAKE - 1 token free is still below the verifier minimum: never drawn.
      await staking.connect(escrow).unlock(heaviest, tokens(1));
      expect(await staking.verifierWeightOf(heaviest)).to.equal(0n);
      for (const c of await drawMany(staking, 2 * SEEDS, 1)) expect(c).not.to.include(heaviest);
      await staking.connect(escrow).unlock(heaviest, tokens(1));
      expect(await staking.verifierWeightOf(heaviest)).to.equal(MIN_STAKE);
      const counts = countSeats(
        await drawMany(staking, 200, 1),
        verifiers.map((v) => v.address),
      );
      expect(counts[4]).to.be.greaterThan(0);
    });
  });

  describe("a tree of many leaves", function () {
    const COUNT = 33;
    const min = (a: bigint, b: bigint) => (a < b ? a : b);

    async function manyVerifiersFixture() {
      const s = await deployStakingFixture();
      const accounts = await s.extraAccounts(COUNT, "sortition");
      const addresses = accounts.map((a) => a.address);
      const model = new StakingModel();
      const random = prng(20240601);
      for (const account of accounts) {
        const amount = MIN_STAKE + randomBelowOrEqual(random, tokens(990));
        await s.staking.connect(account).stake(amount);
        model.get(account.address).active += amount;
      }
      return { ...s, accounts, addresses, model, random };
    }

    it("keeps totals and earlier weights as 33 verifiers opt in and the tree grows past 32 leaves", async function () {
      const { staking, accounts, addresses, model } = await loadFixture(manyVerifiersFixture);
      for (let i = 0; i < COUNT; i++) {
        await staking.connect(accounts[i]).setVerifier(true);
        model.setVerifier(addresses[i], true);
        expect(await staking.totalVerifierWeight()).to.equal(model.total());
        expect(await staking.eligibleVerifierCount()).to.equal(i + 1);
        expect(await staking.verifierWeightOf(addresses[0])).to.equal(model.weightOf(addresses[0]));
        expect(await staking.verifierWeightOf(addresses[i])).to.equal(model.weightOf(addresses[i]));
      }
      await expectMatchesModel(staking, model, addresses);
    });

    async function randomOperationsFixture() {
      const s = await manyVerifiersFixture();
      const { staking, escrow, escrowStub, recipient, accounts, addresses, model, random } = s;
      // Opt in in a shuffled order so leaves are not allocated in account order.
      const order = [...accounts.keys()].sort(() => random() - 0.5);
      for (const i of order) {
        await staking.connect(accounts[i]).setVerifier(true);
        model.setVerifier(addresses[i], true);
      }
      const checks: string[] = [];
      const tally = { refused: 0, notices: 0, exits: 0 };
      for (let step = 0; step < 180; step++) {
        const i = Math.floor(random() * COUNT);
        const account = accounts[i];
        const address = addresses[i];
        const a = model.get(address);
        // Ops 5 and 7 opt in or out (or end an exit), so that opt-outs, which take two steps, reach their end.
        const op = Math.floor(random() * 8);
        const escrowCaller = random() < 0.5 ? escrow : null;
        // A change the account makes itself: refused when it would take a verifier out of the draw at once.
        const voluntary = async (send: () => Promise<unknown>, freeAfter: bigint, apply: () => void) => {
          if (model.refusesExit(address, freeAfter)) {
            await expect(send())
              .to.be.revertedWithCustomError(staking, "VerifierStakingExitNoticeRequired")
              .withArgs(address, freeAfter, MIN_STAKE);
            ++tally.refused;
            return;
          }
          await send();
          apply();
          model.sync(address);
        };
        if (op === 0 || op === 6) {
          // op 6: small amounts, so that a newcomer's first weight allocates a fresh leaf late in the sequence.
          const amount = 1n + randomBelowOrEqual(random, op === 0 ? tokens(200) : tokens(5));
          await voluntary(
            () => staking.connect(account).stake(amount),
            model.free(address) + amount,
            () => (a.active += amount),
          );
        } else if (op === 1) {
          const free = model.free(address);
          if (free === 0n) {
            await expect(staking.connect(account).requestUnstake(1))
              .to.be.revertedWithCustomError(staking, "VerifierStakingInsufficientStake")
              .withArgs(address, 0, 1);
          } else {
            // Often all of it, so that leaves reach zero weight (or the exit notice refuses it).
            const amount = random() < 0.3 ? free : 1n + randomBelowOrEqual(random, free - 1n);
            await voluntary(
              () => staking.connect(account).requestUnstake(amount),
              free - amount,
              () => {
                a.active -= amount;
                a.unbonding += amount;
              },
            );
          }
        } else if (op === 2) {
          const free = model.free(address);
          const amount = random() < 0.3 ? free : randomBelowOrEqual(random, free);
          await voluntary(
            () =>
              escrowCaller ? staking.connect(escrowCaller).lock(address, amount) : escrowStub.lock(address, amount),
            free - amount,
            () => (a.locked += amount),
          );
        } else if (op === 3) {
          const amount = randomBelowOrEqual(random, a.locked + tokens(10));
          if (escrowCaller) await staking.connect(escrowCaller).unlock(address, amount);
          else await escrowStub.unlock(address, amount);
          a.locked -= min(amount, a.locked);
          model.sync(address);
        } else if (op === 4) {
          const unlockAmount = random() < 0.5 ? 0n : randomBelowOrEqual(random, a.locked);
          const amount = randomBelowOrEqual(random, a.active + a.unbonding + tokens(10));
          const expected = model.slash(address, unlockAmount, amount);
          const actual = await staking
            .connect(escrow)
            .slash.staticCall(address, unlockAmount, amount, recipient.address);
          expect(actual, `slash of ${address}`).to.equal(expected);
          await staking.connect(escrow).slash(address, unlockAmount, amount, recipient.address);
        } else if (a.leaving) {
          if (random() < 0.25) {
            await expect(staking.connect(account).setVerifier(true)).to.emit(staking, "VerifierExitCancelled");
          } else {
            const { exitAt } = await staking.accountOf(address);
            if (BigInt(await time.latest()) < exitAt) await time.increaseTo(exitAt);
            await staking.connect(recipient).completeExit(address);
            model.setVerifier(address, false);
            ++tally.exits;
          }
          a.leaving = false;
        } else if (a.verifier) {
          // Opting out takes notice while the account is in the draw: it stays, with its weight, until its exit.
          await staking.connect(account).setVerifier(false);
          if (model.weightOf(address) > 0n) {
            a.leaving = true;
            ++tally.notices;
          } else {
            model.setVerifier(address, false);
          }
        } else if (model.free(address) >= MIN_STAKE) {
          await staking.connect(account).setVerifier(true);
          model.setVerifier(address, true);
        } else {
          await expect(staking.connect(account).setVerifier(true))
            .to.be.revertedWithCustomError(staking, "VerifierStakingInsufficientStake")
            .withArgs(address, model.free(address), MIN_STAKE);
        }
        expect(await staking.verifierWeightOf(address), `weight of ${address} at step ${step}`).to.equal(
          model.weightOf(address),
        );
        if (step % 20 === 19) {
          expect(await staking.totalVerifierWeight(), `total at step ${step}`).to.equal(model.total());
          checks.push(`step ${step}`);
        }
      }
      return { ...s, checks, tally };
    }

    it("keeps totalVerifierWeight equal to the free stake of opted-in accounts holding the minimum, through 180 random operations", async function () {
      const { staking, addresses, model, checks, tally } = await loadFixture(randomOperationsFixture);
      expect(checks).to.have.length(9);
      // The sequence must have produced zero-weight verifiers, leaving and opted-out accounts, completed exits,
      // refused exits without notice and locks to be meaningful.
      const accounts = [...model.accounts.entries()];
      expect(accounts.some(([address, a]) => a.verifier && model.weightOf(address) === 0n)).to.equal(true);
      expect(accounts.some(([, a]) => !a.verifier)).to.equal(true);
      expect(accounts.some(([, a]) => a.locked > 0n)).to.equal(true);
      expect(tally.notices, "exits with notice").to.be.greaterThan(0);
      expect(tally.exits, "completed exits").to.be.greaterThan(0);
      expect(tally.refused, "exits without notice refused").to.be.greaterThan(0);
      await expectMatchesModel(staking, model, addresses);
    });

    it("draws exactly as the documented sortition does, with and without exclusions (sizes 1 to 15)", async function () {
      const { staking, model, addresses } = await loadFixture(randomOperationsFixture);
      const random = prng(7);
      const trials = Array.from({ length: statisticalDraws(150) }, () => {
        const seed = randomBelowOrEqual(random, 2n ** 96n) << 160n;
        const excluded = addresses.filter(() => random() < 0.1);
        const eligible = model.eligible() - excluded.filter((a) => model.weightOf(a) > 0n).length;
        const size = 1 + Math.floor(random() * 15);
        return { seed, excluded, eligible, size };
      });
      // The trials do not depend on each other: sent at once, not one round trip after another.
      await Promise.all(
        trials.map(async ({ seed, excluded, eligible, size }) => {
          if (size > eligible) {
            await expect(staking.drawCommittee(seed, size, excluded))
              .to.be.revertedWithCustomError(staking, "VerifierStakingInsufficientVerifiers")
              .withArgs(eligible, size);
            return;
          }
          const committee = await drawOne(staking, seed, size, excluded);
          expect(committee, `seed ${seed}, size ${size}`).to.deep.equal(model.draw(seed, size, excluded));
          expect(new Set(committee).size).to.equal(size);
          for (const member of committee) {
            expect(excluded).not.to.include(member);
            expect(model.weightOf(member)).to.be.greaterThan(0n);
          }
        }),
      );
    });

    it(`draws each of the 33 leaves with a frequency within 5σ of its weight share (n = ${N_SMALL})`, async function () {
      const { staking, model, addresses } = await loadFixture(randomOperationsFixture);
      const committees = await drawMany(staking, N_SMALL, 1);
      expectFrequencies(countSeats(committees, addresses), shares(addresses.map((a) => model.weightOf(a))), N_SMALL);
    });

    it("accepts MAX_COMMITTEE_SIZE (15) and still rejects 16 with enough verifiers", async function () {
      const { staking, accounts } = await loadFixture(manyVerifiersFixture);
      for (const account of accounts) await staking.connect(account).setVerifier(true);
      expect(await staking.eligibleVerifierCount()).to.be.greaterThan(16);
      // Fewer draws under coverage, where each costs many times as much (statisticalDraws).
      for (const c of await drawMany(staking, statisticalDraws(20), 15)) expect(new Set(c).size).to.equal(15);
      await expect(staking.drawCommittee(1, 16, []))
        .to.be.revertedWithCustomError(staking, "VerifierStakingInvalidCommitteeSize")
        .withArgs(16);
    });
  });
});
