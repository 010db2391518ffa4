/**
 * Deploys and wires the TrustML suite with Hardhat Ignition and writes its record (`deployments/<network>.json`,
 * schema in packages/sdk/src/deployment.ts). Used by the `deploy-protocol` task, scripts/deploy.ts, the demo and the tests.
 *
 * Ignition runs through `deploy` of @nomicfoundation/ignition-core, the function `hre.ignition.deploy` wraps,
 * with Hardhat's artifact resolver and the network's Ignition settings. Calling it directly lets us choose the
 * journal directory on every network, the in-process one included, so that a re-run resumes (reuses what is
 * deployed) and so that transaction hashes can be read back from the journal. On networks other than the
 * in-process one the journal is `ignition/deployments/chain-<chainId>/`, where `npx hardhat ignition ...`
 * (status, verify, transactions) finds it too.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  DeploymentResultType,
  TransactionStatus,
  deploy as ignitionDeploy,
  listTransactions,
  status as ignitionStatus,
  type DeploymentParameters,
} from "@nomicfoundation/ignition-core";
import {
  HardhatArtifactResolver,
  PrettyEventHandler,
  errorDeploymentResultToExceptionMessage,
} from "@nomicfoundation/hardhat-ignition/helpers";
import { getAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { MODULE_ID, trustMLModule } from "../../ignition/modules/TrustML";
import { type Deployment, deploymentPath, writeDeployment } from "../../packages/sdk/src/deployment";
import { DEFAULT_ESCROW_PARAMS, DEFAULT_MIN_VERIFIER_STAKE, type EscrowParams } from "../../packages/sdk/src/params";
import {
  canonicalSolcVersion,
  checkTokenGiven,
  isLocalNetwork,
  resolveDeployOptions,
  type ResolvedDeployOptions,
} from "./options";
import {
  escrowLibraryAddresses,
  escrowLibraryEntries,
  escrowLibraryKey,
  escrowLibrarySource,
} from "../../packages/sdk/src/libraries";
import { verifyProtocol, type VerifyResult, type VerifyTarget } from "./verify";

export interface DeployOptions {
  /** Address of an existing ERC-20, or "test" for a TestToken; default: TestToken on hardhat/localhost only. */
  token?: string;
  /** Default: the deployer. Must be an account of the network (it signs the ESCROW_ROLE grant). */
  governance?: string;
  /** Default: governance. */
  treasury?: string;
  /** Default DEFAULT_MIN_VERIFIER_STAKE. */
  minVerifierStake?: bigint;
  /** Default DEFAULT_ESCROW_PARAMS. */
  escrowParams?: EscrowParams;
  /** Submit the sources to the block explorer (hardhat-verify) after deploying. */
  verify?: boolean;
  /** Forget the Ignition journal and deploy afresh. */
  reset?: boolean;
  /** Where to write the record. Default: `<outDir>/<network>.json`. */
  deploymentFile?: string;
  /** Directory of the record when `deploymentFile` is not given. Default: `deployments/` of the project. */
  outDir?: string;
  /**
   * The Ignition journal directory. Default: `ignition/deployments/chain-<chainId>`; on the in-process network
   * a temporary directory removed afterwards (give one to resume on the same in-process chain).
   */
  ignitionDir?: string;
  /** Show Ignition's progress display. */
  displayUi?: boolean;
  /** Progress lines; default: none. */
  log?: (line: string) => void;
}

export interface DeployResult {
  deployment: Deployment;
  /** Where the record was written. */
  file: string;
  /** The Ignition journal directory (removed already when it was a temporary one). */
  ignitionDir: string;
  /** Whether every transaction was already in the journal: nothing was sent. */
  reused: boolean;
  /** Outcome per contract when `verify` was asked. */
  verification?: VerifyResult[];
}

/** The record's name for each contract, as the module's results are named. */
type ContractKey = keyof Deployment["contracts"];

/** Source and name of each contract (the token's when it is a TestToken), in the record's order. */
const SOURCES: Record<ContractKey, string> = {
  token: "contracts/tokens/TestToken.sol:TestToken",
  registry: "contracts/ModelRegistry.sol:ModelRegistry",
  staking: "contracts/VerifierStaking.sol:VerifierStaking",
  escrow: "contracts/JobEscrow.sol:JobEscrow",
  randomness: "contracts/randomness/BlockhashRandomness.sol:BlockhashRandomness",
  ...escrowLibraryEntries(escrowLibrarySource),
};

const CONTRACT_KEYS = Object.keys(SOURCES) as ContractKey[];

const contractName = (key: ContractKey): string => SOURCES[key].split(":")[1];

type JournalTransactions = Awaited<ReturnType<typeof listTransactions>>;

/** Deploys (or resumes) the suite, writes and returns its record. */
export async function deployProtocol(hre: HardhatRuntimeEnvironment, options: DeployOptions = {}): Promise<Deployment> {
  return (await deployProtocolDetailed(hre, options)).deployment;
}

/** `deployProtocol` with where things went and what was verified. */
export async function deployProtocolDetailed(
  hre: HardhatRuntimeEnvironment,
  options: DeployOptions = {},
): Promise<DeployResult> {
  const log = options.log ?? (() => {});
  const network = hre.network.name;
  const provider = hre.network.provider;
  checkTokenGiven(network, hre.network.config.chainId, options.token);
  const chainId = Number(await provider.request({ method: "eth_chainId" }));
  const accounts = (await provider.request({ method: "eth_accounts" })) as string[];
  const resolved = resolveDeployOptions({
    network,
    chainId,
    accounts,
    token: options.token,
    governance: options.governance,
    treasury: options.treasury,
  });
  if (resolved.token !== undefined && (await hre.ethers.provider.getCode(resolved.token)) === "0x") {
    throw new Error(
      `--token ${resolved.token}: no contract at this address on network "${network}" (chain ${chainId})`,
    );
  }
  const minVerifierStake = options.minVerifierStake ?? DEFAULT_MIN_VERIFIER_STAKE;
  const escrowParams = options.escrowParams ?? DEFAULT_ESCROW_PARAMS;

  const temporaryJournal = options.ignitionDir === undefined && network === "hardhat";
  const ignitionDir =
    options.ignitionDir ??
    (temporaryJournal
      ? mkdtempSync(path.join(os.tmpdir(), "trustml-ignition-"))
      : path.join(hre.config.paths.ignition, "deployments", `chain-${chainId}`));
  const file =
    options.deploymentFile ??
    path.join(options.outDir ?? path.dirname(deploymentPath(network, hre.config.paths.root)), `${network}.json`);

  try {
    if (options.reset) {
      log(`--reset: removing the Ignition journal ${ignitionDir}`);
      rmSync(ignitionDir, { recursive: true, force: true });
    } else {
      await checkJournal(hre, ignitionDir, chainId, log);
    }
    const sentBefore = await countTransactions(hre, ignitionDir);

    await hre.run("compile", { quiet: true });
    const ignitionModule = trustMLModule({ testToken: resolved.testToken, governanceSender: resolved.governance });
    const parameters: DeploymentParameters = {
      [MODULE_ID]: {
        governance: resolved.governance,
        treasury: resolved.treasury,
        minVerifierStake,
        escrowParams: { ...escrowParams },
        ...(resolved.token !== undefined ? { token: resolved.token } : {}),
      },
    };
    log(`Deploying TrustML to "${network}" (chain ${chainId}) from ${resolved.deployer}; journal ${ignitionDir}`);
    const networkConfig = hre.config.networks[network];
    const result = await ignitionDeploy({
      config: {
        ...hre.config.ignition,
        // Local chains mine on every transaction: poll for receipts often instead of once a second.
        ...(chainId === 31337 ? { blockPollingInterval: 50 } : {}),
      },
      provider,
      executionEventListener: options.displayUi ? new PrettyEventHandler(parameters) : undefined,
      artifactResolver: new HardhatArtifactResolver(hre),
      deploymentDir: ignitionDir,
      ignitionModule,
      deploymentParameters: parameters,
      accounts,
      defaultSender: resolved.deployer,
      maxFeePerGasLimit: networkConfig?.ignition.maxFeePerGasLimit,
      maxFeePerGas: networkConfig?.ignition.maxFeePerGas,
      maxPriorityFeePerGas: networkConfig?.ignition.maxPriorityFeePerGas,
      gasPrice: networkConfig?.ignition.gasPrice,
      disableFeeBumping: hre.config.ignition.disableFeeBumping ?? networkConfig?.ignition.disableFeeBumping,
      maxRetries: hre.config.ignition.maxRetries ?? networkConfig?.ignition.maxRetries,
      retryInterval: hre.config.ignition.retryInterval ?? networkConfig?.ignition.retryInterval,
    });
    if (result.type !== DeploymentResultType.SUCCESSFUL_DEPLOYMENT) {
      throw new Error(
        `Ignition could not deploy TrustML on "${network}": ${errorDeploymentResultToExceptionMessage(result)}\n` +
          `(journal ${ignitionDir}; if it belongs to an older deployment you want to replace, re-run with --reset)`,
      );
    }
    const addresses = Object.fromEntries(
      CONTRACT_KEYS.map((key) => [key, result.contracts[ignitionModule.results[key].id].address]),
    ) as Record<ContractKey, string>;

    const transactions = await listTransactions(ignitionDir, new HardhatArtifactResolver(hre));
    const reused = transactions.length === sentBefore;
    const deployment = await buildRecord(hre, { network, chainId, resolved, addresses, transactions });
    writeDeployment(file, deployment);
    log(`${reused ? "Reused the deployment" : "Deployed"}; wrote ${file}`);

    let verification: VerifyResult[] | undefined;
    if (options.verify) {
      if (isLocalNetwork(network)) {
        log(`--verify: skipped on the local network "${network}" (no block explorer)`);
      } else {
        verification = await verifyProtocol(hre, verifyTargets(resolved, addresses, transactions), log);
      }
    }
    return { deployment, file, ignitionDir, reused, verification };
  } finally {
    if (temporaryJournal) rmSync(ignitionDir, { recursive: true, force: true });
  }
}

async function countTransactions(hre: HardhatRuntimeEnvironment, ignitionDir: string): Promise<number> {
  if (!existsSync(path.join(ignitionDir, "journal.jsonl"))) return 0;
  return (await listTransactions(ignitionDir, new HardhatArtifactResolver(hre))).length;
}

/**
 * A journal left by a chain that no longer exists (a restarted `npx hardhat node`) would make Ignition "reuse"
 * contracts that are not there. On a local chain it is removed; elsewhere the deployment stops.
 */
async function checkJournal(
  hre: HardhatRuntimeEnvironment,
  ignitionDir: string,
  chainId: number,
  log: (line: string) => void,
): Promise<void> {
  if (!existsSync(path.join(ignitionDir, "journal.jsonl"))) return;
  const previous = await ignitionStatus(ignitionDir);
  const missing: string[] = [];
  if (previous.chainId === chainId) {
    for (const contract of Object.values(previous.contracts)) {
      if ((await hre.ethers.provider.getCode(contract.address)) === "0x") missing.push(contract.id);
    }
  }
  if (previous.chainId === chainId && missing.length === 0) return;
  const why =
    previous.chainId !== chainId
      ? `it is for chain ${previous.chainId}, this network is chain ${chainId}`
      : `no code at the addresses of ${missing.join(", ")}: the chain was reset`;
  if (chainId === 31337) {
    log(`The Ignition journal ${ignitionDir} is stale (${why}); deploying afresh`);
    rmSync(ignitionDir, { recursive: true, force: true });
    return;
  }
  throw new Error(`The Ignition journal ${ignitionDir} does not match this chain (${why}). Re-run with --reset.`);
}

interface RecordInput {
  network: string;
  chainId: number;
  resolved: ResolvedDeployOptions;
  addresses: Record<ContractKey, string>;
  transactions: JournalTransactions;
}

/** The successful journal transaction named `name` (a contract name, or `Contract#function` for a call). */
function journalTransaction(transactions: JournalTransactions, name: string) {
  const tx = transactions.find((t) => t.name === name && t.status === TransactionStatus.SUCCESS);
  if (tx === undefined) throw new Error(`the Ignition journal has no successful transaction for ${name}`);
  return tx;
}

/** Which contracts were deployed (not given) by this deployment. */
function deployedKeys(resolved: ResolvedDeployOptions): ContractKey[] {
  return CONTRACT_KEYS.filter((key) => key !== "token" || resolved.testToken);
}

async function buildRecord(hre: HardhatRuntimeEnvironment, input: RecordInput): Promise<Deployment> {
  const { resolved, addresses, transactions } = input;
  const provider = hre.ethers.provider;
  const located = async (name: string): Promise<{ transactionHash: string; block: number }> => {
    const tx = journalTransaction(transactions, name);
    const receipt = await provider.getTransactionReceipt(tx.txHash);
    if (receipt === null) throw new Error(`no receipt for ${name}'s transaction ${tx.txHash}`);
    return { transactionHash: tx.txHash, block: receipt.blockNumber };
  };

  const contracts = Object.fromEntries(
    CONTRACT_KEYS.map((key) => [key, { address: addresses[key] }]),
  ) as Deployment["contracts"];
  for (const key of deployedKeys(resolved)) {
    contracts[key] = { address: addresses[key], ...(await located(contractName(key))) };
  }
  const grantEscrowRole = await located("VerifierStaking#grantRole");
  const blocks = Object.values(contracts).flatMap((c) => (c.block === undefined ? [] : [c.block]));
  const startBlock = Math.min(...blocks);
  const startTimestamp = (await provider.getBlock(startBlock))?.timestamp;

  // Parameters as the constructors got them (the journal keeps the arguments), not as governance may have
  // changed them since: a re-run rewrites the same record.
  const escrowTx = journalTransaction(transactions, "JobEscrow");
  const escrowArgs = escrowTx.params as unknown[];
  const initialParams = escrowArgs[6] as Record<string, bigint | number | string>;
  const params: Record<string, number | string> = {};
  for (const [field, defaultValue] of Object.entries(DEFAULT_ESCROW_PARAMS)) {
    const value = initialParams[field];
    if (value === undefined) throw new Error(`the journal's JobEscrow arguments lack escrow parameter ${field}`);
    params[field] = typeof defaultValue === "bigint" ? BigInt(value).toString() : Number(value);
  }
  const stakingArgs = journalTransaction(transactions, "VerifierStaking").params as unknown[];
  const staking = await hre.ethers.getContractAt("VerifierStaking", addresses.staking);

  return {
    network: input.network,
    chainId: input.chainId,
    compiler: await compilerVersion(hre),
    deployer: getAddress(escrowTx.from),
    governance: resolved.governance,
    treasury: getAddress(String(escrowArgs[4])),
    startBlock,
    testToken: resolved.testToken,
    contracts,
    wiring: { grantEscrowRole },
    params,
    minVerifierStake: BigInt(stakingArgs[2] as bigint).toString(),
    unbondingPeriod: Number(await staking.unbondingPeriod()),
    deployedAt: new Date((startTimestamp ?? Math.floor(Date.now() / 1000)) * 1000).toISOString(),
  };
}

/** Each deployed contract with the constructor arguments the journal recorded. */
function verifyTargets(
  resolved: ResolvedDeployOptions,
  addresses: Record<ContractKey, string>,
  transactions: JournalTransactions,
): VerifyTarget[] {
  return deployedKeys(resolved).map((key) => ({
    contract: SOURCES[key],
    address: addresses[key],
    constructorArguments: (journalTransaction(transactions, contractName(key)).params ?? []) as unknown[],
    ...(key === "escrow" ? { libraries: escrowLibraryAddresses((name) => addresses[escrowLibraryKey(name)]) } : {}),
  }));
}

/**
 * The solc long version JobEscrow was compiled with, without the platform suffix solc-js adds
 * (".Emscripten.clang"): 0.8.28+commit.7893614a, the release and commit block explorers know.
 */
export async function compilerVersion(hre: HardhatRuntimeEnvironment): Promise<string> {
  const buildInfo = await hre.artifacts.getBuildInfo("contracts/JobEscrow.sol:JobEscrow");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const longVersion = buildInfo?.solcLongVersion ?? (require("solc") as { version(): string }).version();
  return canonicalSolcVersion(longVersion);
}
