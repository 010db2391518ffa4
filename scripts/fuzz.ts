/**
 * Runs the invariant fuzzer (test/fuzz) for longer than `npm test` does.
 *
 *   npm run fuzz -- --runs 200 --seed 42 [--steps 80] [--path "3:1:0"] [--shrink] [--verbose]
 *   npm run fuzz -- --help
 *
 * `npm run fuzz` runs this file with ts-node, which loads Hardhat in-process (on its built-in network), so that it
 * can take arguments; `hardhat run scripts/fuzz.ts` works too, with the settings in FUZZ_RUNS, FUZZ_SEED,
 * FUZZ_STEPS, FUZZ_PATH, FUZZ_SHRINK=1, FUZZ_VERBOSE=1 (arguments win over them).
 * Prints runs, steps, the actions covered, the share of committee votes that settled with every member's vote
 * revealed, the Proven results posted, convicted and refused and, on failure, the seed and path that replay it
 * exactly.
 */
import hre from "hardhat";
import { formatStats, runFuzz, summary, uncovered } from "../test/fuzz/run";

const USAGE = `Usage: npm run fuzz -- [options]

Runs the invariant fuzzer (test/fuzz): random action sequences against the contracts and a TypeScript model of
them, every protocol and Proven invariant checked after each step.

Options (each also read from FUZZ_<NAME>, e.g. FUZZ_RUNS=200; arguments win):
  --runs N      action sequences to run (default 50)
  --seed S      fast-check seed (default: a random one, printed)
  --steps N     at most N actions per sequence (default 80)
  --path P      replay one counterexample: the path printed with its seed
  --shrink      shrink a failing sequence (slow on a real chain)
  --verbose     print every step of every run
  --help        this text

Prints the actions exercised (successes, reverts by error), the draws without a committee, the Proven jobs'
outcomes (results posted, proofs convicted or refused, results settled Accepted), a summary line and, on failure,
the counterexample and the command that replays it.`;

function option(name: string): string | undefined {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  if (i >= 0) return args[i + 1] !== undefined && !args[i + 1].startsWith("--") ? args[i + 1] : "1";
  const inline = args.find((a) => a.startsWith(`--${name}=`));
  if (inline) return inline.slice(name.length + 3);
  return process.env[`FUZZ_${name.toUpperCase()}`];
}

function integer(name: string, fallback?: number): number | undefined {
  const value = option(name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer, got ${value}`);
  return n;
}

async function main(): Promise<void> {
  if (process.argv.slice(2).some((a) => a === "--help" || a === "-h")) {
    console.log(USAGE);
    return;
  }
  await hre.run("compile", { quiet: true });
  const runs = integer("runs", 50)!;
  const seed = integer("seed");
  const steps = integer("steps", 80)!;
  const path = option("path");
  const stats = await runFuzz({
    runs,
    seed,
    path,
    maxSteps: steps,
    shrink: option("shrink") !== undefined,
    verbose: option("verbose") !== undefined,
  });
  console.log(formatStats(stats));
  console.log(summary(stats));
  const gaps = uncovered(stats);
  if (gaps.length > 0) console.log(`not exercised: ${gaps.join(", ")}`);
  if (stats.failure) {
    const f = stats.failure;
    console.log(`\nFAILURE: ${f.error}`);
    console.log(
      `counterexample (${f.counterexample.length} actions): ${JSON.stringify(f.counterexample, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}`,
    );
    console.log(`replay: npm run fuzz -- --runs ${runs} --steps ${steps} --seed ${f.seed} --path "${f.path}"`);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
