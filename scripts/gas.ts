/**
 * `npm run gas`: measures the named gas figures (test/gas/scenarios.ts), rewrites gas/figures.json and prints
 * each figure with its change against the previous file, then the job totals against their limits, then each
 * deployed contract's code size and its headroom under the 24,576-byte limit.
 * Exits 0 even when a total is over its limit (test/gas.test.ts is what fails); the table says OVER.
 */
import hre from "hardhat";
import { measureGasFigures } from "../test/gas/scenarios";
import {
  codeSizeTable,
  codeSizes,
  FIGURES_FILE,
  checkLimits,
  compare,
  comparisonTable,
  limitsTable,
  readFigures,
  writeFigures,
} from "../test/gas/figures";

async function main() {
  const previous = readFigures();
  const started = Date.now();
  const measured = await measureGasFigures();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  writeFigures(measured);

  const rows = compare(previous, measured);
  const current = rows
    .filter((r) => r.measured !== undefined)
    .map((r) => ({ ...r, problem: previous !== undefined && r.committed === undefined ? "new" : "" }));
  const dropped = rows.filter((r) => r.measured === undefined).map((r) => `  ${r.name}`);
  console.log(comparisonTable(current, "previous"));
  if (dropped.length > 0) console.log(`\nDropped from ${FIGURES_FILE} (no longer measured):\n${dropped.join("\n")}`);
  console.log("\n" + limitsTable(checkLimits(measured)));
  console.log("\n" + codeSizeTable(await codeSizes(hre.artifacts)));
  console.log(`\nWrote ${FIGURES_FILE}: ${Object.keys(measured).length} figures, measured in ${seconds} s.`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
