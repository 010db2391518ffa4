/**
 * Rewrites test/fixtures/proven-golden.json, the Proven mode's golden vectors, from test/fixtures/proven.ts:
 * `TS_NODE_TRANSPILE_ONLY=1 npx ts-node scripts/proven-golden.ts`. test/proven/golden.test.ts fails when the file
 * differs from what this would write.
 */
import { writeFileSync } from "node:fs";
import { GOLDEN_FILE, goldenJson } from "../test/fixtures/proven";

writeFileSync(GOLDEN_FILE, goldenJson());
console.log(`wrote ${GOLDEN_FILE}`);
