/** `npm run sdk:abi`: rewrites packages/sdk/src/abi.ts from the compiled contracts (src/sdk/abi.ts). */
import { writeFileSync } from "node:fs";
import hre from "hardhat";
import { renderSdkAbi, SDK_ABI_FILE } from "../src/sdk/abi";

async function main() {
  writeFileSync(SDK_ABI_FILE, await renderSdkAbi(hre.artifacts));
  console.log(`wrote ${SDK_ABI_FILE}`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
