/**
 * Deployment options: what the caller gave (flags, environment) resolved against the network into what the
 * Ignition module needs. Pure, so the rules are unit-tested without a chain.
 */
import { getAddress, isAddress } from "ethers";

/** Networks whose chains are throw-away: a TestToken is deployed unless a token is given. */
export const LOCAL_NETWORKS: readonly string[] = ["hardhat", "localhost"];

/** `--token test`: deploy a TestToken on any network (testnets, for its faucet). */
export const TEST_TOKEN = "test";

export interface DeployOptionsInput {
  network: string;
  chainId: number;
  /** The network's accounts (eth_accounts); the first deploys. */
  accounts: readonly string[];
  /** Address of an existing ERC-20, or "test" to deploy a TestToken; default: TestToken on local networks. */
  token?: string;
  /** Default: the deployer. Must be one of `accounts`: it sends VerifierStaking.grantRole(ESCROW_ROLE, escrow). */
  governance?: string;
  /** Default: governance. */
  treasury?: string;
}

export interface ResolvedDeployOptions {
  deployer: string;
  governance: string;
  treasury: string;
  /** True: deploy a TestToken owned by governance. False: use `token`. */
  testToken: boolean;
  /** The existing token (checksummed) when `testToken` is false. */
  token?: string;
}

export function isLocalNetwork(network: string): boolean {
  return LOCAL_NETWORKS.includes(network);
}

function checkAddress(flag: string, value: string): string {
  if (!isAddress(value)) throw new Error(`${flag} ${value} is not an address (0x + 40 hex digits)`);
  return getAddress(value);
}

/** Outside local networks a token must be chosen: throws a message saying how. Needs no chain access. */
export function checkTokenGiven(network: string, chainId: number | undefined, token: string | undefined): void {
  if ((token === undefined || token === "") && !isLocalNetwork(network)) {
    throw new Error(
      `--token <address> is required on network "${network}"${chainId === undefined ? "" : ` (chain ${chainId})`}: ` +
        `a TestToken is deployed by default only on local networks (${LOCAL_NETWORKS.join(", ")}). Pass the ` +
        `ERC-20 to use, or --token ${TEST_TOKEN} to deploy a TestToken anyway.`,
    );
  }
}

/** Resolves the options or throws a message that says which flag to give. */
export function resolveDeployOptions(input: DeployOptionsInput): ResolvedDeployOptions {
  const { network, chainId, accounts } = input;
  if (accounts.length === 0) {
    throw new Error(`network "${network}" has no account to deploy from: set DEPLOYER_PRIVATE_KEY (see .env.example)`);
  }
  const deployer = getAddress(accounts[0]);

  checkTokenGiven(network, chainId, input.token);
  let testToken: boolean;
  let token: string | undefined;
  if (input.token === undefined || input.token === "" || input.token.toLowerCase() === TEST_TOKEN) {
    testToken = true;
  } else {
    testToken = false;
    token = checkAddress("--token", input.token);
  }

  const governance = input.governance ? checkAddress("--governance", input.governance) : deployer;
  if (!accounts.some((a) => a.toLowerCase() === governance.toLowerCase())) {
    throw new Error(
      `--governance ${governance} is not an account of network "${network}": governance must sign ` +
        `VerifierStaking.grantRole(ESCROW_ROLE, escrow) during the deployment. Deploy with a governance key ` +
        `you hold, then hand the roles over (grantRole/renounceRole, transferOwnership).`,
    );
  }
  const treasury = input.treasury ? checkAddress("--treasury", input.treasury) : governance;
  return { deployer, governance, treasury, testToken, token };
}

/** A solc long version without the platform suffix of solc-js builds (".Emscripten.clang"). */
export function canonicalSolcVersion(longVersion: string): string {
  return longVersion.replace(/\.Emscripten\.clang$/, "");
}
