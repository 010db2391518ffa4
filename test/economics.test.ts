import { expect } from "chai";
import { network } from "hardhat";
import {
  cheatPnlPerJob,
  committeeDistribution,
  deployWorld,
  expectation,
  gainPerJob,
  runFloatJobs,
  runSweep,
  workerPnlPerJob,
  type Row,
} from "../src/sim/economics";
import type { World } from "../src/sim/chain";
import { griefingPaid, runGriefing } from "../src/sim/griefing";
import { underCoverage } from "./fixtures/coverage";

// A small run of `npm run simulate` (docs/ECONOMICS.md): the real contracts, default parameters.
describe("cheating economics (small simulation)", function () {
  this.timeout(60_000);
  let world: World;
  let base: string;

  before(async function () {
    // Hundreds of jobs on instrumented bytecode take minutes and measure nothing the other suites do not.
    if (underCoverage()) this.skip();
    base = await network.provider.send("evm_snapshot", []);
    world = await deployWorld([3]);
  });

  after(async function () {
    if (base !== undefined) await network.provider.send("evm_revert", [base]);
  });

  it("the committee distribution is hypergeometric (3 of 10, 4 colluding: a colluding majority is 1/3)", function () {
    const dist = committeeDistribution(10, 4, 3);
    expect(dist.reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-12);
    expect(dist[2] + dist[3]).to.be.closeTo(40 / 120, 1e-12);
    const money = { fee: 2, collateral: 3, workerNet: 1.66, acceptPool: 0.2, rejectPool: 0.9, votePenalty: 1 };
    expect(expectation(money, 10, 0, 3, 1, 0).cheatPnl).to.equal(-3);
    expect(expectation(money, 10, 6, 3, 1, 0).cheatPnl).to.be.greaterThan(0);
  });

  it("with 0% and 20% collusion, cheating loses money for p = 0.5 and p = 1; honest outputs are never slashed", async function () {
    const rows: Row[] = await runSweep(world, {
      jobs: 60,
      seed: "economics test",
      shares: [0, 0.2],
      ps: [0.5, 1],
      committeeSize: 3,
      computeCost: 0,
      batch: 30,
    });
    expect(rows).to.have.length(4);
    for (const row of rows) {
      const where = `collusion ${row.share}, p ${row.p}`;
      expect(row.jobs, where).to.equal(60);
      expect(row.cheated, where).to.be.greaterThan(0);
      expect(cheatPnlPerJob(row), `cheated jobs' P&L, ${where}`).to.be.lessThan(0);
      expect(workerPnlPerJob(row), `worker's P&L, ${where}`).to.be.lessThan(0);
      expect(gainPerJob(row), `gain over honesty, ${where}`).to.be.lessThan(0);
      expect(row.honestSlashed, where).to.equal(0);
      expect(row.inconclusive, where).to.equal(0);
    }
    // Without colluders no wrong output is ever accepted and every cheat is slashed.
    for (const row of rows.filter((r) => r.share === 0)) {
      expect(row.wrongAccepted).to.equal(0);
      expect(row.cheatPnl).to.equal(-row.cheated * row.money.collateral);
    }
  });

  it("honest float paths within tolerance: 100 jobs, all accepted, nobody slashed or penalised", async function () {
    const r = await runFloatJobs(world, 100, true, { seed: "economics test", batch: 50 });
    expect(r.jobs).to.equal(100);
    expect(r.accepted).to.equal(100);
    expect(r.workerSlashes).to.equal(0);
    expect(r.verifierPenalties).to.equal(0);
    expect(r.disagreeVotes).to.equal(0);
    expect(r.maxRatio).to.be.greaterThan(0).and.lessThan(1);
  });

  it("outputs perturbed beyond tolerance are rejected and the worker slashed", async function () {
    const r = await runFloatJobs(world, 20, false, { seed: "economics test", batch: 20 });
    expect(r.rejected).to.equal(20);
    expect(r.workerSlashes).to.equal(20);
    expect(r.verifierPenalties).to.equal(0);
    expect(r.maxRatio).to.be.greaterThan(1);
  });

  it("challenge griefing never pays: the coalition pays at least the fee per output, the worker earns at least an unchallenged job's pay", async function () {
    const [honest, someSilent, allSilent] = await runGriefing(world, { jobs: 10, colluders: [0, 3, 9], batch: 10 });
    expect(honest.unresolved, "an honest committee votes every challenge down").to.equal(0);
    expect(honest.accepted).to.equal(10);
    expect(allSilent.unresolved, "an all-silent committee resolves nothing").to.equal(10);
    for (const row of [honest, someSilent, allSilent]) {
      const where = `${row.colluders} silent`;
      expect(row.accepted + row.unresolved, where).to.equal(row.jobs);
      expect(griefingPaid(row), where).to.equal(false);
      expect(row.coalitionCost, where).to.be.at.least(row.fee);
      expect(row.workerIncome, where).to.be.at.least(row.unchallengedIncome);
    }
    // Every challenge unresolved: the worker earns exactly an unchallenged job's pay, out of the bonds; under the
    // earlier rule it would have earned nothing.
    expect(allSilent.workerIncome).to.be.closeTo(allSilent.unchallengedIncome, 1e-9);
    expect(allSilent.earlierWorkerIncome).to.be.closeTo(0, 1e-9);
  });
});
