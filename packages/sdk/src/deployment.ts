/**
 * Deployment records on disk: `deployments/<network>.json`, written by scripts/deploy.ts and read by the worker, the
 * tasks, the demo and the tests. The schema is in ./deployment-record.ts.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { DeploymentSchema, parseDeployment, type Deployment } from "./deployment-record";

export * from "./deployment-record";

/** `deployments/<network>.json` under a project's root (by default the current directory). */
export function deploymentPath(network: string, root = process.cwd()): string {
  return path.join(root, "deployments", `${network}.json`);
}

/** Validates a deployment record and writes it (pretty JSON), creating the directory; throws on a bad field. */
export function writeDeployment(file: string, deployment: Deployment): void {
  const parsed = DeploymentSchema.safeParse(deployment);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `refusing to write deployment record ${file}: ${issue.path.join(".") || "(root)"}: ${issue.message}`,
    );
  }
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(parsed.data, null, 2) + "\n");
}

/** Reads and validates a deployment record; throws naming the file and the first bad field. */
export function loadDeployment(file: string): Deployment {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (cause) {
    throw new Error(`cannot read deployment record ${file}: ${(cause as Error).message}`, { cause });
  }
  return parseDeployment(raw, file);
}
