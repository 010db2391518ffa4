import { existsSync } from "node:fs";
import path from "node:path";
import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/config";
import type { HttpNetworkUserConfig } from "hardhat/types";
import "@nomicfoundation/hardhat-toolbox";
import "./tasks";

// Variables from .env (see .env.example), without a dependency; the shell's own environment wins.
const envFile = path.join(__dirname, ".env");
if (existsSync(envFile)) process.loadEnvFile(envFile);

/** The compiler version; `solc` in package.json is pinned to exactly this version. */
const SOLC_VERSION = "0.8.28";

// The machines that build TrustML have no route to binaries.soliditylang.org, so the compiler comes from
// the npm `solc` package (solc-js) instead of Hardhat's download.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc");
  const installed: string = solc.version();
  if (!installed.startsWith(`${SOLC_VERSION}+`)) {
    throw new Error(`npm package solc is ${installed}, but hardhat.config.ts needs ${SOLC_VERSION}: run npm ci`);
  }
  return {
    compilerPath: path.join(path.dirname(require.resolve("solc/package.json")), "soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: installed,
  };
});

/**
 * A public test network, present only when its RPC URL is set (so the config loads without any of them);
 * transactions are signed with DEPLOYER_PRIVATE_KEY.
 */
function testnet(urlVariable: string, chainId: number): HttpNetworkUserConfig | undefined {
  const url = process.env[urlVariable];
  if (!url) return undefined;
  const key = process.env.DEPLOYER_PRIVATE_KEY;
  return { url, chainId, accounts: key ? [key] : [] };
}

const testnets = Object.fromEntries(
  Object.entries({
    sepolia: testnet("RPC_URL_SEPOLIA", 11_155_111),
    baseSepolia: testnet("RPC_URL_BASE_SEPOLIA", 84_532),
    arbitrumSepolia: testnet("RPC_URL_ARBITRUM_SEPOLIA", 421_614),
  }).filter(([, network]) => network !== undefined),
) as Record<string, HttpNetworkUserConfig>;

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      evmVersion: "cancun",
      optimizer: { enabled: true, runs: 200 },
    },
  },
  networks: {
    hardhat: { hardfork: "cancun" },
    localhost: { url: "http://127.0.0.1:8545" },
    ...testnets,
  },
  etherscan: {
    // One Etherscan (API v2) key serves every chain above.
    apiKey: process.env.ETHERSCAN_API_KEY ?? "",
  },
  gasReporter: {
    enabled: process.env.REPORT_GAS === "true",
    offline: true,
  },
  mocha: {
    timeout: 120_000,
  },
};

export default config;
