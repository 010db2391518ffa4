/**
 * `npm run simulate`: the cheating-economics simulation (src/sim/economics.ts) on the real contracts, in
 * Hardhat's in-process network. See docs/ECONOMICS.md for the model and a run's output.
 *
 * Options:
 *   --jobs N          jobs per row of the collusion sweep (default 200)
 *   --seed S          PRNG seed (default "trustml")
 *   --float-jobs N    honest float-path jobs on chain (default 1000); --control-jobs N beyond tolerance (default 100)
 *   --compute-cost c  tokens an honestly computed job costs the worker (default 0)
 *   --no-k5           skip the committee-of-5 sweep
 *   --batch N         jobs per batch of transactions (default 40)
 *   --griefing-jobs N challenged optimistic jobs per row of the challenge-griefing table (default 60)
 */
// Loads the Hardhat runtime (config, artifacts, the in-process network) for this plain ts-node process.
import "hardhat";
import {
  breakEven,
  deployWorld,
  formatTable,
  offChainDisagreement,
  runFloatJobs,
  runSweep,
  type Row,
} from "../src/sim/economics";
import { formatGriefingTable, griefingPaid, runGriefing } from "../src/sim/griefing";

const args = process.argv.slice(2);
function option(name: string, fallback: string): string {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const value = args[i + 1];
  if (value === undefined) throw new Error(`${name} needs a value`);
  return value;
}
function count(name: string, fallback: number): number {
  const n = Number(option(name, String(fallback)));
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer`);
  return n;
}

async function main(): Promise<void> {
  const started = Date.now();
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const jobs = count("--jobs", 200);
  const seed = option("--seed", "trustml");
  const floatJobs = count("--float-jobs", 1000);
  const controlJobs = count("--control-jobs", 100);
  const batch = Math.max(1, count("--batch", 40));
  const computeCost = Number(option("--compute-cost", "0"));
  const withK5 = !args.includes("--no-k5");
  const griefingJobs = count("--griefing-jobs", 60);
  const log = (line: string): void => console.log(line);

  log(`TrustML cheating economics: ${jobs} jobs per row, seed "${seed}", compute cost c = ${computeCost}`);
  const world = await deployWorld([3, 5]);
  log(`deployed on Hardhat's in-process network: 10 verifiers of equal stake, default parameters (${elapsed()})`);

  const shares = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
  const rows: Row[] = await runSweep(world, {
    jobs,
    seed,
    shares,
    ps: [0.1, 0.5, 1],
    committeeSize: 3,
    computeCost,
    batch,
    log,
  });
  if (withK5) {
    rows.push(...(await runSweep(world, { jobs, seed, shares, ps: [1], committeeSize: 5, computeCost, batch, log })));
  }

  const m = rows[0].money;
  log("");
  log(
    `Per job: fee ${m.fee}, collateral ${m.collateral}, worker's net on acceptance ${m.workerNet}, ` +
      `verifier pool ${m.acceptPool} (accepted) / ${m.rejectPool} (rejected), vote penalty ${m.votePenalty} (tokens)`,
  );
  log(
    "Simulated on chain; (exp) = analytic expectation (hypergeometric committee draw). Money per job of the row, tokens.",
  );
  log("");
  log(formatTable(rows));
  log("");
  for (const b of breakEven(rows)) {
    const fmt = (s?: number): string => (s === undefined ? "none up to 60%" : `${Math.round(s * 100)}%`);
    log(
      `committee of ${b.committeeSize}: cheating first nets money at collusion share ${fmt(b.simulated)} (simulated), ${fmt(b.expected)} (expected)`,
    );
  }
  const violations = rows.filter((r) => r.share < 0.5 && r.cheated > 0 && r.cheatPnl >= 0);
  log(
    violations.length === 0
      ? "every honest-majority row (collusion < 50%): cheating loses money"
      : `HONEST-MAJORITY ROWS WHERE CHEATING DID NOT LOSE: ${violations.map((r) => `k=${r.committeeSize} ${r.share} p=${r.p}`).join(", ")}`,
  );
  const honestHarmed = rows.reduce((a, r) => a + r.honestSlashed, 0);
  log(`honest outputs rejected or slashed over the sweep: ${honestHarmed}`);
  log(`(${elapsed()})`);

  log("");
  log(
    `Float paths, on chain, committee of 3, no colluders, every verifier votes by compareOutputs on the posted bytes:`,
  );
  const honest = await runFloatJobs(world, floatJobs, true, { seed, batch });
  const control = await runFloatJobs(world, controlJobs, false, { seed, batch });
  for (const f of [honest, control]) {
    log(
      `  ${f.label}: ${f.jobs} jobs, accepted ${f.accepted}, rejected ${f.rejected}, other ${f.other}; ` +
        `votes agree ${f.agreeVotes} / disagree ${f.disagreeVotes}; worker slashed ${f.workerSlashes} times, ` +
        `verifier penalties ${f.verifierPenalties}; max |posted − re-executed| / bound ${f.maxRatio.toFixed(3)}`,
    );
  }
  const half = offChainDisagreement(10_000, 0.45, seed);
  const full = offChainDisagreement(10_000, 1.0, seed);
  log(
    `  off chain, 10,000 pairs of honest paths: each within 0.45 of the bound of the truth: ${half.disagree} disagree; ` +
      `each within the whole bound of the truth: ${full.disagree} disagree`,
  );
  log(`(${elapsed()})`);

  log("");
  log(
    `Challenge griefing, on chain: the requester challenges its own correct optimistic results through a staked ` +
      `second identity, with allies who stay silent when drawn (${griefingJobs} jobs per row; the earlier rule's ` +
      `columns are the same outcomes settled as before issue 8: requester refunded, bond returned, worker unpaid):`,
  );
  const griefing = await runGriefing(world, { jobs: griefingJobs, colluders: [0, 3, 6, 9], batch, log });
  log(formatGriefingTable(griefing));
  const paid = griefing.filter(griefingPaid);
  log(
    paid.length === 0
      ? `griefing never paid: the coalition spent at least the fee (${griefing[0].fee}) per output and the worker ` +
          `earned at least an unchallenged job's ${griefing[0].unchallengedIncome}`
      : `GRIEFING PAID in rows with ${paid.map((r) => r.colluders).join(", ")} silent verifiers`,
  );
  log(`(${elapsed()})`);

  const ok =
    paid.length === 0 &&
    violations.length === 0 &&
    honestHarmed === 0 &&
    honest.workerSlashes === 0 &&
    honest.verifierPenalties === 0 &&
    honest.accepted === honest.jobs &&
    control.rejected === control.jobs;
  log(ok ? "simulate OK" : "simulate FAILED: see above");
  process.exitCode = ok ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
