import { expect } from "chai";
import { network } from "hardhat";
import { formatStats, revealedShare, runFuzz, summary, uncovered } from "./fuzz/run";
import { statisticalDraws, underCoverage } from "./fixtures/coverage";

/**
 * Invariant fuzzing, bounded for CI: fast-check drives random sequences of every external action against the
 * real contracts and a TypeScript model (test/fuzz). `npm run fuzz -- --runs N --seed S` runs more.
 * The seed is fixed so that the coverage asserted here is reproducible: 19 runs of up to 80 steps, with which this
 * seed has every action kind succeed and revert (drawCommittees with each of its three reasons), 4 of 10 committee
 * votes end fully revealed, and of 15 Proven results posted, 8 cheats are convicted by the verifier's proof and 8
 * proofs against honest ones revert ProvenNeuronCorrect. Since the Proven mode joined the actions, seeds 1 to 8 each
 * miss one of these (seed 2, the seed before, never sees a challenge succeed; seed 1 opens 4 committees). FUZZ_SEED
 * overrides it.
 */
describe("Invariant fuzzing", function () {
  this.timeout(600_000);

  it("keeps the model, the four invariants and the Proven mode's two through random action sequences, exercising every action", async function () {
    const before = await network.provider.send("evm_snapshot", []);
    const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 9;
    // Under coverage, a tenth of the runs (the first of the same sequence): every step still checks the model and
    // the invariants, but so few runs need not exercise every action or finish enough committee votes.
    const runs = statisticalDraws(19);
    const stats = await runFuzz({ runs, seed, maxSteps: 80, log: () => undefined });
    await network.provider.send("evm_revert", [before]);
    console.log(`      ${summary(stats)}`);
    if (stats.failure) {
      const f = stats.failure;
      expect.fail(`${f.error}\nreplay: npm run fuzz -- --runs ${runs} --steps 80 --seed ${f.seed} --path "${f.path}"`);
    }
    if (underCoverage()) return;
    const gaps = uncovered(stats);
    expect(gaps, `action kinds not exercised:\n${formatStats(stats)}`).to.deep.equal([]);
    // Committee votes must mostly run to the end, or rejection, minority penalties and non-reveals go untested.
    expect(stats.committees.drawn, "committee votes opened").to.be.at.least(10);
    expect(revealedShare(stats), "share of committee votes settled with every vote revealed").to.be.at.least(1 / 3);
    // Proven jobs must meet both verdicts: a cheat convicted by the verifier's proof, an honest result's proof refused.
    const proven = `Proven outcomes:\n${formatStats(stats)}`;
    expect(stats.proven["proof on cheat: convicted"] ?? 0, `cheats convicted; ${proven}`).to.be.at.least(1);
    expect(
      stats.proven["proof on honest: ProvenNeuronCorrect"] ?? 0,
      `honest proofs refused; ${proven}`,
    ).to.be.at.least(1);
  });
});
