/**
 * `npm run explorer`: the provenance explorer for a deployment, in the browser, read straight from the chain.
 *
 *   npm run explorer -- [--rpc <url>] [--deployment <file>] [--port <n>] [--host <address>] [--max-block-range <n>]
 *
 * Validates the deployment record, builds the browser app once per version of its sources (packages/explorer,
 * about 3 s; cached in packages/explorer/dist/builds), serves it and prints its address; Ctrl-C stops it. The browser
 * reads the node at --rpc itself: give an address the browser can reach.
 */
import { Command, InvalidArgumentError } from "commander";
import { loadDeployment, type Deployment } from "../packages/sdk/src/deployment";
import { DEFAULT_HOST, DEFAULT_PORT, startExplorer } from "../src/explorer/serve";

const DEFAULT_RPC = "http://127.0.0.1:8545";
const DEFAULT_DEPLOYMENT = "deployments/localhost.json";

function portOf(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535)
    throw new InvalidArgumentError("a port number from 0 to 65535 (0: any free port)");
  return port;
}

function blocksOf(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError("a positive whole number of blocks");
  return n;
}

function urlOf(value: string): string {
  if (!/^https?:\/\/[^\s]+$/.test(value)) throw new InvalidArgumentError("an http(s) URL, as http://127.0.0.1:8545");
  return value;
}

/** The chain id the node reports, or why it cannot be read (the page retries on its own; this only warns). */
async function chainIdAt(url: string): Promise<bigint | string> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(3000),
    });
    const body = (await res.json()) as { result?: string; error?: { message: string } };
    return body.result ? BigInt(body.result) : (body.error?.message ?? `HTTP ${res.status}`);
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    return cause ?? (e as Error).message;
  }
}

async function main(): Promise<void> {
  const opts = new Command("explorer")
    .description("serve TrustML's provenance explorer for a deployment")
    .option("--rpc <url>", "the JSON-RPC node the browser reads", urlOf, DEFAULT_RPC)
    .option("--deployment <file>", "the deployment record", DEFAULT_DEPLOYMENT)
    .option("--port <n>", "the port to serve on (0: any free port)", portOf, DEFAULT_PORT)
    .option("--host <address>", "the address to listen on", DEFAULT_HOST)
    .option(
      "--max-block-range <n>",
      "the largest block range of one eth_getLogs the page asks for (default 10000; a range the node refuses is halved)",
      blocksOf,
    )
    .parse()
    .opts<{ rpc: string; deployment: string; port: number; host: string; maxBlockRange?: number }>();

  let deployment: Deployment;
  try {
    deployment = loadDeployment(opts.deployment);
  } catch (e) {
    process.stderr.write(
      `${(e as Error).message}\n` +
        `The explorer needs the record of a deployment: deploy to a local node with \`npm run deploy -- --network localhost\` ` +
        `(with \`npx hardhat node\` running), or pass --deployment <file>.\n`,
    );
    process.exit(2);
  }

  const chainId = await chainIdAt(opts.rpc);
  if (typeof chainId === "string") {
    console.warn(`warning: the RPC node at ${opts.rpc} is not answering (${chainId}); the page will keep retrying`);
  } else if (chainId !== BigInt(deployment.chainId)) {
    console.warn(
      `warning: ${opts.deployment} is for chain ${deployment.chainId} (${deployment.network}), but the node at ` +
        `${opts.rpc} is on chain ${chainId}: the page will say so`,
    );
  }

  const started = Date.now();
  let explorer;
  try {
    explorer = await startExplorer({
      rpcUrl: opts.rpc,
      deployment,
      port: opts.port,
      host: opts.host,
      maxBlockRange: opts.maxBlockRange,
      log: (line) => console.log(line),
    });
  } catch (e) {
    const message = (e as Error).message;
    const hint = /in use/.test(message) ? " (choose another with --port <n>; --port 0 takes any free port)" : "";
    process.stderr.write(`cannot start the explorer: ${message}${hint}\n`);
    process.exit(1);
  }
  console.log(
    `TrustML explorer for ${deployment.network} (chain ${deployment.chainId}, escrow ${deployment.contracts.escrow.address}) ` +
      `reading ${opts.rpc}, ready in ${((Date.now() - started) / 1000).toFixed(1)} s:\n\n  ${explorer.url}\n\nCtrl-C stops it.`,
  );
  const stop = () => {
    void explorer.close().finally(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((e: Error) => {
  process.stderr.write(`explorer: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
