/**
 * What the page reads from the server that serves it: `/trustml.json` = `{ rpcUrl, deployment, maxBlockRange? }`, the
 * node to read, the deployment record to read there and the largest block range of one log read (scripts/explorer.ts writes it from its options).
 */
import { parseDeployment, type Deployment } from "./sdk";

export interface ExplorerConfig {
  rpcUrl: string;
  deployment: Deployment;
  /** The largest block range of one eth_getLogs (absent: the SDK's default). */
  maxBlockRange?: number;
}

export const CONFIG_PATH = "/trustml.json";

/** Fetches and validates the configuration; throws a message that says which part is wrong. */
export async function loadConfig(): Promise<ExplorerConfig> {
  let res: Response;
  try {
    res = await fetch(CONFIG_PATH, { cache: "no-store" });
  } catch (e) {
    throw new Error(`cannot fetch ${CONFIG_PATH} from the server: ${(e as Error).message}`);
  }
  if (!res.ok) throw new Error(`the server answered ${res.status} ${res.statusText} for ${CONFIG_PATH}`);
  let raw: { rpcUrl?: unknown; deployment?: unknown; maxBlockRange?: unknown };
  try {
    raw = (await res.json()) as typeof raw;
  } catch {
    throw new Error(`${CONFIG_PATH} is not JSON`);
  }
  if (typeof raw.rpcUrl !== "string" || !/^https?:\/\//.test(raw.rpcUrl)) {
    throw new Error(`${CONFIG_PATH}: rpcUrl must be an http(s) URL, got ${JSON.stringify(raw.rpcUrl)}`);
  }
  const { maxBlockRange } = raw;
  if (maxBlockRange !== undefined && !(Number.isInteger(maxBlockRange) && (maxBlockRange as number) > 0)) {
    throw new Error(
      `${CONFIG_PATH}: maxBlockRange must be a positive whole number, got ${JSON.stringify(maxBlockRange)}`,
    );
  }
  return {
    rpcUrl: raw.rpcUrl,
    deployment: parseDeployment(raw.deployment, `${CONFIG_PATH} (deployment)`),
    maxBlockRange: maxBlockRange as number | undefined,
  };
}
