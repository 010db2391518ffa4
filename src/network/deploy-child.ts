/**
 * Deploys TrustML to a `hardhat node` with deployProtocol, in a process of its own: the Hardhat runtime of a
 * test run or of the demo is not on that network. Started by `deployLocal` (./local.ts) as
 *
 *   HARDHAT_NETWORK=localhost TRUSTML_LOCAL_RPC_URL=http://127.0.0.1:<port> \
 *   TRUSTML_DEPLOY_REQUEST='{"deploymentFile": …, "ignitionDir": …, "escrowParams": {…}, "minVerifierStake": "…"}' \
 *   ts-node src/network/deploy-child.ts
 *
 * Amounts travel as decimal strings. The record is written to `deploymentFile`.
 */
import hre from "hardhat";
import { deployProtocol } from "../deploy/deploy";
import { DEFAULT_ESCROW_PARAMS, type EscrowParams } from "../../packages/sdk/src/params";

export interface DeployRequest {
  deploymentFile: string;
  ignitionDir: string;
  escrowParams: Record<keyof EscrowParams, string | number>;
  minVerifierStake: string;
}

async function main(): Promise<void> {
  const raw = process.env.TRUSTML_DEPLOY_REQUEST;
  if (!raw) throw new Error("TRUSTML_DEPLOY_REQUEST is not set");
  const request = JSON.parse(raw) as DeployRequest;
  const escrowParams = Object.fromEntries(
    Object.entries(DEFAULT_ESCROW_PARAMS).map(([field, defaultValue]) => {
      const value = request.escrowParams[field as keyof EscrowParams];
      if (value === undefined) throw new Error(`TRUSTML_DEPLOY_REQUEST lacks escrow parameter ${field}`);
      return [field, typeof defaultValue === "bigint" ? BigInt(value) : Number(value)];
    }),
  ) as unknown as EscrowParams;
  await deployProtocol(hre, {
    deploymentFile: request.deploymentFile,
    ignitionDir: request.ignitionDir,
    escrowParams,
    minVerifierStake: BigInt(request.minVerifierStake),
    log: (line) => console.log(line),
  });
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
