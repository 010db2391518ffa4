/**
 * `npx hardhat deploy-protocol [--network <name>] [--token <address|test>] [--governance <address>]
 *   [--treasury <address>] [--verify] [--reset] [--deployment <file>]`
 * (also `npm run deploy -- ...`). See src/deploy/deploy.ts.
 */
import { subtask, task, types } from "hardhat/config";
import type { Deployment } from "../packages/sdk/src/deployment";
import type { DeployOptions } from "../src/deploy/deploy";
import { canonicalSolcVersion } from "../src/deploy/options";
import { DEPLOYMENT_ENV, deploymentFileFor, fail, say } from "./common";

interface DeployArgs {
  token?: string;
  governance?: string;
  treasury?: string;
  verify: boolean;
  reset: boolean;
  deployment?: string;
}

task("deploy-protocol", "Deploys and wires the TrustML contracts with Ignition, or resumes a deployment")
  .addOptionalParam(
    "token",
    "ERC-20 for fees and stake; 'test' deploys a TestToken (default on hardhat/localhost, required elsewhere)",
  )
  .addOptionalParam("governance", "admin of VerifierStaking, owner of JobEscrow and TestToken (default: deployer)")
  .addOptionalParam("treasury", "receives the protocol fee (default: governance)")
  .addFlag("verify", "submit the sources to the block explorer (hardhat-verify, needs ETHERSCAN_API_KEY)")
  .addFlag("reset", "forget the Ignition journal ignition/deployments/chain-<id> and deploy afresh")
  .addOptionalParam(
    "deployment",
    `where to write the record (default: $${DEPLOYMENT_ENV} or deployments/<network>.json)`,
    undefined,
    types.string,
  )
  .setAction(async (args: DeployArgs, hre): Promise<Deployment> => {
    const { deployProtocolDetailed } = await import("../src/deploy/deploy");
    const options: DeployOptions = {
      token: args.token,
      governance: args.governance,
      treasury: args.treasury,
      verify: args.verify,
      reset: args.reset,
      deploymentFile: deploymentFileFor(hre, args.deployment),
      log: say,
    };
    let result;
    try {
      result = await deployProtocolDetailed(hre, options);
    } catch (err) {
      fail((err as Error).message);
    }
    const { deployment, file } = result;
    say("");
    for (const [name, c] of Object.entries(deployment.contracts)) {
      say(`  ${name.padEnd(16)} ${c.address}${c.block === undefined ? "  (given)" : `  block ${c.block}`}`);
    }
    say(`  chain ${deployment.chainId}, compiler ${deployment.compiler}, record ${file}`);
    if (result.verification?.some((v) => !v.ok)) process.exitCode = 1;
    return deployment;
  });

/**
 * The compiler is solc-js (hardhat.config.ts), whose long version carries a platform suffix
 * ("0.8.28+commit.7893614a.Emscripten.clang"); block explorers list compilers by release and commit only, and
 * the bytecode is the same. hardhat-verify sends the version from this subtask, so drop the suffix there.
 */
subtask("verify:get-contract-information").setAction(async (args, _hre, runSuper) => {
  const info = (await runSuper(args)) as { solcLongVersion: string };
  return { ...info, solcLongVersion: canonicalSolcVersion(info.solcLongVersion) };
});
