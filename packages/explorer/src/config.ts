/**
 * What the page reads from the server that serves it: `/trustml.json` = `{ rpcUrl, deployment }`, the node to read
 * and the deployment record to read there (scripts/explorer.ts writes it from its options).
 */
import { parseDeployment, type Deployment } from "./sdk";

export interface ExplorerConfig {
  rpcUrl: string;
  deployment: Deployment;
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
  let raw: { rpcUrl?: unknown; deployment?: unknown };
  try {
    raw = (await res.json()) as typeof raw;
  } catch {
    throw new Error(`${CONFIG_PATH} is not JSON`);
  }
  if (typeof raw.rpcUrl !== "string" || !/^https?:\/\//.test(raw.rpcUrl)) {
    throw new Error(`${CONFIG_PATH}: rpcUrl must be an http(s) URL, got ${JSON.stringify(raw.rpcUrl)}`);
  }
  return { rpcUrl: raw.rpcUrl, deployment: parseDeployment(raw.deployment, `${CONFIG_PATH} (deployment)`) };
}
