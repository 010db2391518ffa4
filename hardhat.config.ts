import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { subtask } from "hardhat/config";
import {
  TASK_COMPILE_SOLIDITY_COMPILE_JOBS,
  TASK_COMPILE_SOLIDITY_GET_COMPILATION_JOB_FOR_FILE,
  TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD,
  TASK_TEST_GET_TEST_FILES,
} from "hardhat/builtin-tasks/task-names";
import { CompilationJob } from "hardhat/internal/solidity/compilation-job";
import type { HardhatUserConfig } from "hardhat/config";
import type { HttpNetworkUserConfig, SolcConfig } from "hardhat/types";
import type { CompilationJob as Job } from "hardhat/types/builtin-tasks";
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
 * solc-js compiles a job in one single-threaded process, and Hardhat puts every file with the same settings into
 * one job: the whole build ran on one core. These files compile as a second job with the same settings, beside
 * the rest on the other core; they are about half the work (the escrow alone is a third). A contract's bytecode
 * depends only on its own sources and the settings, not on what else is in its job (checked: every artifact is
 * byte for byte the same as from one job).
 */
const SECOND_COMPILATION_JOB = [
  "contracts/JobEscrow.sol",
  "contracts/ModelRegistry.sol",
  "contracts/libraries/CommitteeDrawLib.sol",
  "contracts/libraries/EscrowParamsLib.sol",
  "contracts/mocks/CommitteeDrawHarness.sol",
  "contracts/mocks/PackedCommitteeHarness.sol",
  "contracts/mocks/SettlementMathHarness.sol",
  "contracts/mocks/VoteWordHarness.sol",
];

/** The second job's settings: equal to the first's, but another object, which Hardhat does not merge with it. */
const secondJobConfigs = new WeakMap<SolcConfig, SolcConfig>();

subtask(
  TASK_COMPILE_SOLIDITY_GET_COMPILATION_JOB_FOR_FILE,
  async (args: { file: { sourceName: string } }, _hre, runSuper) => {
    const job: Job | { reason: string } = await runSuper(args);
    if (!("getSolcConfig" in job) || !SECOND_COMPILATION_JOB.includes(args.file.sourceName)) return job;
    const config = job.getSolcConfig();
    if (!secondJobConfigs.has(config)) secondJobConfigs.set(config, { ...config });
    const second = new CompilationJob(secondJobConfigs.get(config)!);
    for (const file of job.getResolvedFiles()) second.addFileToCompile(file, job.emitsArtifacts(file));
    return second;
  },
);

// Hardhat runs one job at a time on a two-core machine (its default is one fewer than the cores, but solc-js
// works in child processes while this one waits): run as many jobs at once as there are cores.
subtask(TASK_COMPILE_SOLIDITY_COMPILE_JOBS, async (args: { concurrency: number }, _hre, runSuper) =>
  runSuper({ ...args, concurrency: Math.max(args.concurrency, os.cpus().length) }),
);

/**
 * TypeChain runs every file it generates through Prettier: about 10 s of one core (measured: `hardhat typechain`
 * 13.3 s of CPU with it, 3.6 s without) after every compilation, before the first test can start, for files that
 * nobody reads or commits (typechain-types is ignored by git and by `prettier --check`; tsc checks them just as
 * well unformatted). TypeChain has no option for it, so the step leaves its list of output transformers.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const typechainOutput: { name: string }[] = require("typechain/dist/codegen/outputTransformers").outputTransformers;
const typechainPrettier = typechainOutput.findIndex((transformer) => transformer.name === "prettierOutputTransformer");
if (typechainPrettier >= 0) typechainOutput.splice(typechainPrettier, 1);

/**
 * The slowest test files, slowest first: seconds of CPU for `npx hardhat test --no-compile <file>` alone, each
 * including about 2 s of start-up (measured at a quiet moment of the shared two-core machine, after the fuzzer's
 * batched state reads). `npm test` runs the files on three mocha workers (`--parallel`, see `mocha.jobs`), each
 * taking the next file once it is free: longest first, the long ones run beside the many short ones instead of
 * alone at the end, and the last files to start are a few seconds each, so the workers finish together. The
 * end-to-end test goes first for its wall time. Files not listed (under 4 s each) follow in their usual order.
 */
const SLOW_TEST_FILES = [
  "test/e2e.test.ts", // 25 with its child processes, but 47 s of wall time, mostly waiting on its chain's windows
  // About 25 with its child processes (npm pack and install, tsc twice, a hardhat node, the deploy, a worker, the
  // script), scaled: 47 s (44 s of wall time) measured beside the end-to-end test's 44 and ModelRegistry's 8.5 on
  // the machine busy with other work.
  "test/sdk/pack.test.ts",
  // Two worker processes SIGKILLed and restarted on a hardhat node it mines by hand: 33 s of wall time, most of it
  // waiting for the processes to start.
  "test/crash.test.ts",
  // Headless Chromium on the explorer's chain (its fixture 8 s, a Vite build of the app on a clean clone 3.5 s): 34 s
  // of wall time, about 7 s of it waiting for a job to move and an outage to end.
  "test/explorer/browser.test.ts",
  "test/CommitteeDraw.test.ts", // 25
  "test/fuzz.test.ts", // 28 (one test; 24 s of it the run, Proven jobs included)
  // 13 with headless Chromium (15 s of wall time): the explorer's chain, an Ignition deployment and 11 jobs, is 8 s.
  "test/explorer/fixture.test.ts",
  "test/economics.test.ts", // 13
  "test/gas.test.ts", // 10
  "test/JobEscrow.core.test.ts", // 10
  "test/JobEscrow.verification.test.ts", // 9
  "test/deploy.test.ts", // 8
  "test/settlement.test.ts", // 7
  "test/worker/service.test.ts", // 6 (11 s of wall time)
  "test/worker/outage.test.ts", // 13 s of wall time, mostly an RPC outage being waited out
  "test/attacks.test.ts", // 6
  "test/CommitteeSizes.test.ts", // 5
  "test/tasks.test.ts", // 5
  "test/tasks.models.test.ts", // 5 (with one `hardhat` child process)
  "test/worker/cli.test.ts", // 5
  "test/VerifierStaking.test.ts", // 5
  "test/JobEscrow.randomness.test.ts", // 4
  "test/ModelRegistry.test.ts", // 4
];

subtask(TASK_TEST_GET_TEST_FILES, async (args, _hre, runSuper) => {
  const files: string[] = await runSuper(args);
  const rank = (file: string) => {
    const i = SLOW_TEST_FILES.indexOf(path.relative(__dirname, file).split(path.sep).join("/"));
    return i < 0 ? SLOW_TEST_FILES.length : i;
  };
  return [...files].sort((a, b) => rank(a) - rank(b));
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
      // The IR pipeline: about 2,000 gas less per escrow transaction and a smaller escrow (it must stay under
      // 24 KiB, which rules out more optimizer runs). Hardhat's stack traces are less precise on IR bytecode
      // (a revert may not be named in Hardhat's own message); tests and tools decode custom errors from the ABI.
      viaIR: true,
    },
  },
  networks: {
    hardhat: {
      hardfork: "cancun",
      // For a `hardhat node` serving live processes (the demo, the end-to-end test), a chain whose clock is the
      // wall clock: a block every second besides one per transaction, so that time moves on when nobody sends
      // (services read the time from the latest block), and blocks that may share a second, so that a burst of
      // transactions does not run the chain's clock ahead of real time (by default each block is at least a
      // second after the previous one).
      ...(process.env.TRUSTML_WALL_CLOCK_BLOCKS === "1"
        ? { allowBlocksWithSameTimestamp: true, mining: { auto: true, interval: 1000 } }
        : {}),
    },
    // TRUSTML_LOCAL_RPC_URL: a node on another port (the demo and the end-to-end test pick a free one).
    localhost: { url: process.env.TRUSTML_LOCAL_RPC_URL || "http://127.0.0.1:8545" },
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
    // For `npm test`, which runs with --parallel: one worker more than the two cores of the machines the suite runs
    // on. The end-to-end test holds a worker for some 45 s while it mostly waits on its services and the wall-clock
    // windows of its chain; a third worker runs other files on the core it leaves idle (measured, test phase on two
    // cores: 88 and 95 s with two workers, 74 and 72 s with three).
    jobs: 3,
  },
};

export default config;
