/**
 * `--verify`: submits each deployed contract's sources to the network's block explorer through hardhat-verify
 * (`verify:verify`), with its constructor arguments and, for JobEscrow, its linked libraries. A failure
 * is reported per contract and does not stop the others; the deployment itself is already done.
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types";

/** One contract to verify: as deployed, with the arguments its constructor got. */
export interface VerifyTarget {
  /** Fully qualified name, e.g. contracts/JobEscrow.sol:JobEscrow. */
  contract: string;
  address: string;
  constructorArguments: unknown[];
  libraries?: Record<string, string>;
}

export interface VerifyResult {
  contract: string;
  address: string;
  ok: boolean;
  error?: string;
}

export async function verifyProtocol(
  hre: HardhatRuntimeEnvironment,
  targets: VerifyTarget[],
  log: (line: string) => void,
): Promise<VerifyResult[]> {
  const results: VerifyResult[] = [];
  for (const target of targets) {
    const name = target.contract.split(":")[1];
    try {
      await hre.run("verify:verify", {
        address: target.address,
        contract: target.contract,
        constructorArguments: target.constructorArguments,
        libraries: target.libraries ?? {},
      });
      log(`verified ${name} at ${target.address}`);
      results.push({ contract: target.contract, address: target.address, ok: true });
    } catch (err) {
      const message = (err as Error).message?.split("\n")[0] ?? String(err);
      log(`could not verify ${name} at ${target.address}: ${message}`);
      results.push({ contract: target.contract, address: target.address, ok: false, error: message });
    }
  }
  const failed = results.filter((r) => !r.ok).length;
  if (failed > 0) {
    log(
      `${failed} of ${results.length} contracts not verified (check ETHERSCAN_API_KEY and network access); ` +
        `re-run with --verify to retry: Ignition reuses the deployment`,
    );
  }
  return results;
}
