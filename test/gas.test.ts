import { expect } from "chai";
import hre from "hardhat";
import { measureGasFigures, type Figures } from "./gas/scenarios";
import {
  CODE_SIZE_LIMIT,
  FIGURES_FILE,
  MIN_ESCROW_HEADROOM,
  checkLimits,
  codeSizeTable,
  codeSizes,
  compare,
  comparisonTable,
  limitsTable,
  readFigures,
} from "./gas/figures";
import { underCoverage } from "./fixtures/coverage";

// Measures every named figure once (test/gas/scenarios.ts, some 10 s) and compares it with the committed
// gas/figures.json. After a deliberate gas change, run `npm run gas` and commit the file.
describe("gas figures", function () {
  let measured: Figures;

  before(async function () {
    // Instrumented bytecode costs far more gas: the figures mean nothing under solidity-coverage.
    if (underCoverage()) this.skip();
    this.timeout(300_000);
    measured = await measureGasFigures();
  });

  it(`every figure is within 2% of ${FIGURES_FILE}, none missing, none stale`, function () {
    const committed = readFigures();
    expect(committed, `${FIGURES_FILE} does not exist: run npm run gas`).to.not.equal(undefined);
    const offenders = compare(committed, measured).filter((row) => row.problem !== undefined);
    expect(offenders.length).to.equal(
      0,
      `${offenders.length} gas figure(s) differ from ${FIGURES_FILE}; if the change is intended, run ` +
        `\`npm run gas\` and commit the file:\n\n${comparisonTable(offenders)}\n`,
    );
  });

  it("job totals are under their limits (None 250,000, 200,000 claimed by its submission; committee of 3 715,000, 436,290 batched; Proven 220,000; proveFraud 300,000 at width 256, 1,000,000 at 1,024)", function () {
    const checks = checkLimits(measured);
    expect(
      checks.every((c) => c.ok),
      `a job total is over its limit:\n\n${limitsTable(checks)}\n`,
    ).to.equal(true);
  });

  it(`every deployed contract fits under ${CODE_SIZE_LIMIT} bytes, the escrow with ${MIN_ESCROW_HEADROOM} to spare`, async function () {
    const sizes = await codeSizes(hre.artifacts);
    const table = codeSizeTable(sizes);
    for (const s of sizes) expect(s.headroom, `${s.name} is over the limit:\n\n${table}\n`).to.be.at.least(0);
    const escrow = sizes.find((s) => s.name === "JobEscrow")!;
    expect(escrow.headroom, `JobEscrow has too little headroom:\n\n${table}\n`).to.be.at.least(MIN_ESCROW_HEADROOM);
  });
});
