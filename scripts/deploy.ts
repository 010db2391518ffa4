/**
 * `npx hardhat run --network <name> scripts/deploy.ts`: the `deploy-protocol` task for those who prefer
 * `hardhat run`, which passes no arguments: options come from the environment instead.
 *
 *   TOKEN=<address|test>   the ERC-20 (required except on hardhat/localhost, where a TestToken is deployed)
 *   GOVERNANCE, TREASURY   addresses (default: the deployer, then governance)
 *   VERIFY=1               submit the sources to the block explorer
 *   RESET=1                forget the Ignition journal and deploy afresh
 *   TRUSTML_DEPLOYMENT     where to write the record (default: deployments/<network>.json)
 *
 * Same as `npx hardhat deploy-protocol --network <name> --token ... --verify` (see tasks/deploy.ts).
 */
import hre from "hardhat";

const flag = (name: string): boolean => ["1", "true", "yes"].includes((process.env[name] ?? "").toLowerCase());

async function main(): Promise<void> {
  await hre.run("deploy-protocol", {
    token: process.env.TOKEN || undefined,
    governance: process.env.GOVERNANCE || undefined,
    treasury: process.env.TREASURY || undefined,
    verify: flag("VERIFY"),
    reset: flag("RESET"),
  });
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
