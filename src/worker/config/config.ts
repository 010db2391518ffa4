/**
 * Worker configuration: environment variables (TRUSTML_*), overridden by command-line flags, validated by one
 * zod schema at start-up. A bad value fails with one line naming the variable (or flag) and the problem.
 */
import { z } from "zod";

export const ROLES = ["worker", "verifier", "both"] as const;
export type Role = (typeof ROLES)[number];

/**
 * Fault injection, for demos and tests only (faults.ts): `wrong-output` makes a worker post wrong results (for a
 * Proven job, one wrong output value); `wrong-trace` makes it post Proven traces with one wrong hidden neuron,
 * carried through to a consistent output (other jobs it serves honestly).
 */
export const FAULTS = ["none", "wrong-output", "wrong-trace"] as const;
export type Fault = (typeof FAULTS)[number];

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const intFrom = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: "must be a number" })
    .int("must be an integer")
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

const bool = z
  .union([z.boolean(), z.enum(["true", "false", "1", "0", "yes", "no"])])
  .transform((v) => v === true || v === "true" || v === "1" || v === "yes");

/** The schema; keys are the config fields, each documented by its environment variable in ENV_NAMES. */
export const ConfigSchema = z.object({
  rpcUrl: z.string().regex(/^https?:\/\/\S+$/, "must be an http(s):// URL"),
  privateKey: z.string().regex(/^(0x)?[0-9a-fA-F]{64}$/, "must be a 32-byte hex private key"),
  deployment: z.string().min(1, "must be the path of a deployments/<network>.json file"),
  role: z.enum(ROLES, { error: `must be one of ${ROLES.join(", ")}` }),
  cacheDir: z.string().min(1),
  stateDir: z.string().min(1),
  confirmations: intFrom(0, 1000),
  concurrency: intFrom(1, 64),
  pollMs: intFrom(10, 3_600_000),
  /** Health and metrics port; 0 picks a free port; -1 disables the server. */
  port: intFrom(-1, 65535),
  ipfsGateway: z.string().regex(/^https?:\/\/\S+$/, "must be an http(s):// URL"),
  fault: z.enum(FAULTS, { error: `must be one of ${FAULTS.join(", ")}` }),
  logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }),
  /** Largest block range of one eth_getLogs. */
  maxBlockRange: intFrom(1, 1_000_000),
  /** Bounded retries of RPC calls and transactions on transient errors. */
  retries: intFrom(0, 20),
  /** Withdraw the escrow balance once it reaches this many base units (empty: never withdraw). */
  withdrawAt: z
    .string()
    .regex(/^[0-9]*$/, "must be an amount in base units")
    .transform((v) => (v === "" ? undefined : BigInt(v))),
  /** Also settle due jobs this account has no part in (a keeper). */
  settleAll: bool,
  /** Model and input downloads: timeout (ms) and largest size (bytes). */
  fetchTimeoutMs: intFrom(100, 3_600_000),
  maxModelBytes: intFrom(1, 4 * 1024 * 1024 * 1024),
});

export type WorkerConfig = z.infer<typeof ConfigSchema>;
export type ConfigInput = { [K in keyof WorkerConfig]?: unknown };

/** Each field's environment variable. */
export const ENV_NAMES: Record<keyof WorkerConfig, string> = {
  rpcUrl: "TRUSTML_RPC_URL",
  privateKey: "TRUSTML_PRIVATE_KEY",
  deployment: "TRUSTML_DEPLOYMENT",
  role: "TRUSTML_ROLE",
  cacheDir: "TRUSTML_CACHE_DIR",
  stateDir: "TRUSTML_STATE_DIR",
  confirmations: "TRUSTML_CONFIRMATIONS",
  concurrency: "TRUSTML_CONCURRENCY",
  pollMs: "TRUSTML_POLL_MS",
  port: "TRUSTML_PORT",
  ipfsGateway: "TRUSTML_IPFS_GATEWAY",
  fault: "TRUSTML_FAULT",
  logLevel: "TRUSTML_LOG_LEVEL",
  maxBlockRange: "TRUSTML_MAX_BLOCK_RANGE",
  retries: "TRUSTML_RETRIES",
  withdrawAt: "TRUSTML_WITHDRAW_AT",
  settleAll: "TRUSTML_SETTLE_ALL",
  fetchTimeoutMs: "TRUSTML_FETCH_TIMEOUT_MS",
  maxModelBytes: "TRUSTML_MAX_MODEL_BYTES",
};

/** Each field's command-line flag, for error messages. */
export const FLAG_NAMES: Partial<Record<keyof WorkerConfig, string>> = {
  rpcUrl: "--rpc-url",
  deployment: "--deployment",
  role: "--role",
  cacheDir: "--cache-dir",
  stateDir: "--state-dir",
  confirmations: "--confirmations",
  concurrency: "--concurrency",
  pollMs: "--poll-ms",
  port: "--port",
  ipfsGateway: "--ipfs-gateway",
  fault: "--fault",
  logLevel: "--log-level",
  withdrawAt: "--withdraw-at",
  settleAll: "--settle-all",
};

/** Defaults for everything but the RPC URL, the key and the deployment file. */
export const DEFAULTS: ConfigInput = {
  role: "worker",
  cacheDir: ".trustml/cache",
  stateDir: ".trustml/state",
  confirmations: 1,
  concurrency: 2,
  pollMs: 2000,
  port: 9464,
  ipfsGateway: "https://ipfs.io",
  fault: "none",
  logLevel: "info",
  maxBlockRange: 2000,
  retries: 5,
  withdrawAt: "",
  settleAll: false,
  fetchTimeoutMs: 60_000,
  maxModelBytes: 512 * 1024 * 1024,
};

/** A configuration that does not validate; `message` is one line naming the variable and the problem. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Builds the configuration from defaults, then the environment, then `overrides` (CLI flags). */
export function parseConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigInput = {}): WorkerConfig {
  const input: Record<string, unknown> = { ...DEFAULTS };
  const source: Record<string, string> = {};
  for (const [key, name] of Object.entries(ENV_NAMES)) {
    const v = env[name];
    if (v !== undefined && v !== "") {
      input[key] = v;
      source[key] = name;
    }
  }
  for (const [key, v] of Object.entries(overrides)) {
    if (v !== undefined) {
      input[key] = v;
      source[key] = FLAG_NAMES[key as keyof WorkerConfig] ?? key;
    }
  }
  const parsed = ConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue.path[0] ?? "");
    const name = source[key] ?? ENV_NAMES[key as keyof WorkerConfig] ?? key;
    const missing = input[key] === undefined;
    throw new ConfigError(`invalid configuration: ${name} ${missing ? "is required" : issue.message}`);
  }
  return parsed.data;
}
