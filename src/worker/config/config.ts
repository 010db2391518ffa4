/**
 * Worker configuration, one table: every setting's environment variable, command-line flag, help text, default
 * and validation live in `SETTINGS`, and everything else is derived from it: the zod schema, the CLI's options
 * (cli.ts), `.env.example`'s list (checked by a test), and the service's settings (`serviceSettings`). A value
 * comes from the default, then the environment (TRUSTML_*), then the flag; a bad one fails at start-up with one
 * line naming the variable or flag and the problem.
 */
import { z } from "zod";

export const ROLES = ["worker", "verifier", "both"] as const;
export type RoleName = (typeof ROLES)[number];

/**
 * Fault injection, for demos and tests only (compute/faults.ts): `wrong-output` makes a worker post wrong results
 * (for a Proven job, one wrong output value); `wrong-trace` makes it post Proven traces with one wrong hidden
 * neuron, carried through to a consistent output (other jobs it serves honestly).
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

const url = z.string().regex(/^https?:\/\/\S+$/, "must be an http(s):// URL");

interface Setting<S extends z.ZodType> {
  schema: S;
  env: string;
  /** The command-line flag, as commander declares it (`--name <value>`, or `--name` for a switch). */
  flag?: string;
  /** Which commands take the flag: `run` (the service) and/or `verify-job`. */
  commands?: readonly ("run" | "verify-job")[];
  /** commander's fixed choices, when the flag has them. */
  choices?: readonly string[];
  help: string;
  /** Absent: required. */
  default?: z.input<S>;
}

const setting = <S extends z.ZodType>(s: Setting<S>): Setting<S> => s;
const RUN = ["run"] as const;
const BOTH = ["run", "verify-job"] as const;

/** Every setting, in the order `--help` and `.env.example` list them. */
export const SETTINGS = {
  rpcUrl: setting({
    schema: url,
    env: "TRUSTML_RPC_URL",
    flag: "--rpc-url <url>",
    commands: BOTH,
    help: "JSON-RPC endpoint of the chain",
  }),
  privateKey: setting({
    schema: z.string().regex(/^(0x)?[0-9a-fA-F]{64}$/, "must be a 32-byte hex private key"),
    env: "TRUSTML_PRIVATE_KEY",
    help: "private key of the worker/verifier account (environment only, never a flag)",
  }),
  deployment: setting({
    schema: z.string().min(1, "must be the path of a deployments/<network>.json file"),
    env: "TRUSTML_DEPLOYMENT",
    flag: "--deployment <file>",
    commands: BOTH,
    help: "deployment record (deployments/<network>.json)",
  }),
  role: setting({
    schema: z.enum(ROLES, { error: `must be one of ${ROLES.join(", ")}` }),
    env: "TRUSTML_ROLE",
    flag: "--role <role>",
    commands: RUN,
    choices: ROLES,
    help: "what this process does",
    default: "worker",
  }),
  fault: setting({
    schema: z.enum(FAULTS, { error: `must be one of ${FAULTS.join(", ")}` }),
    env: "TRUSTML_FAULT",
    flag: "--fault <fault>",
    commands: RUN,
    choices: FAULTS,
    help: "FAULT INJECTION for demos and tests: make this worker dishonest",
    default: "none",
  }),
  cacheDir: setting({
    schema: z.string().min(1),
    env: "TRUSTML_CACHE_DIR",
    flag: "--cache-dir <dir>",
    commands: BOTH,
    help: "model cache, by sha256 content hash",
    default: ".trustml/cache",
  }),
  stateDir: setting({
    schema: z.string().min(1),
    env: "TRUSTML_STATE_DIR",
    flag: "--state-dir <dir>",
    commands: RUN,
    help: "block cursor, open jobs and verifier salts (keep it across restarts)",
    default: ".trustml/state",
  }),
  confirmations: setting({
    schema: intFrom(0, 1000),
    env: "TRUSTML_CONFIRMATIONS",
    flag: "--confirmations <n>",
    commands: RUN,
    help: "blocks behind the head before events are acted on",
    default: 1,
  }),
  concurrency: setting({
    schema: intFrom(1, 64),
    env: "TRUSTML_CONCURRENCY",
    flag: "--concurrency <n>",
    commands: RUN,
    help: "inferences run at once",
    default: 2,
  }),
  pollMs: setting({
    schema: intFrom(10, 3_600_000),
    env: "TRUSTML_POLL_MS",
    flag: "--poll-ms <ms>",
    commands: RUN,
    help: "loop interval in milliseconds",
    default: 2000,
  }),
  host: setting({
    schema: z.string().min(1, "must be a host name or IP address"),
    env: "TRUSTML_HOST",
    flag: "--host <address>",
    commands: RUN,
    help: "address /healthz and /metrics listen on (0.0.0.0: every interface)",
    default: "127.0.0.1",
  }),
  port: setting({
    schema: intFrom(-1, 65535),
    env: "TRUSTML_PORT",
    flag: "--port <port>",
    commands: RUN,
    help: "port of /healthz and /metrics (0: any free port, -1: no server)",
    default: 9464,
  }),
  ipfsGateway: setting({
    schema: url,
    env: "TRUSTML_IPFS_GATEWAY",
    flag: "--ipfs-gateway <url>",
    commands: BOTH,
    help: "gateway for ipfs:// model and input URIs",
    default: "https://ipfs.io",
  }),
  logLevel: setting({
    schema: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }),
    env: "TRUSTML_LOG_LEVEL",
    flag: "--log-level <level>",
    commands: RUN,
    choices: LOG_LEVELS,
    help: "pino log level",
    default: "info",
  }),
  maxBlockRange: setting({
    schema: intFrom(1, 1_000_000),
    env: "TRUSTML_MAX_BLOCK_RANGE",
    flag: "--max-block-range <n>",
    commands: BOTH,
    help: "largest block range of one eth_getLogs",
    default: 2000,
  }),
  retries: setting({
    schema: intFrom(0, 20),
    env: "TRUSTML_RETRIES",
    flag: "--retries <n>",
    commands: BOTH,
    help: "retries of RPC calls, transactions and downloads on transient errors",
    default: 5,
  }),
  retryBaseMs: setting({
    schema: intFrom(1, 600_000),
    env: "TRUSTML_RETRY_BASE_MS",
    flag: "--retry-base-ms <ms>",
    commands: BOTH,
    help: "first backoff delay in milliseconds (doubling, with jitter, up to 30 s)",
    default: 500,
  }),
  maxBatch: setting({
    schema: intFrom(1, 1000),
    env: "TRUSTML_MAX_BATCH",
    flag: "--max-batch <n>",
    commands: RUN,
    help: "most results one submitResults transaction carries (a batch must stay well under the block gas limit)",
    default: 64,
  }),
  receiptTimeoutMs: setting({
    schema: intFrom(100, 3_600_000),
    env: "TRUSTML_RECEIPT_TIMEOUT_MS",
    flag: "--receipt-timeout-ms <ms>",
    commands: RUN,
    help: "a transaction not mined this long is re-sent with the same nonce and fees raised 12.5% (a few block times)",
    default: 30_000,
  }),
  maxReplacements: setting({
    schema: intFrom(0, 100),
    env: "TRUSTML_MAX_REPLACEMENTS",
    flag: "--max-replacements <n>",
    commands: RUN,
    help: "re-sends of one transaction at a higher fee, at most",
    default: 4,
  }),
  maxFeeGwei: setting({
    schema: z.union([
      z.number().positive("must be a positive number of gwei"),
      z
        .string()
        .regex(/^([0-9]+(\.[0-9]{1,9})?)?$/, "must be a number of gwei (up to 9 decimals), or empty for no ceiling")
        .transform((v) => (v === "" ? undefined : v)),
    ]),
    env: "TRUSTML_MAX_FEE_GWEI",
    flag: "--max-fee-gwei <gwei>",
    commands: RUN,
    help: "the most this key pays per gas, in gwei; fees and replacements stop there (empty: no ceiling)",
    default: "",
  }),
  maxInFlight: setting({
    schema: intFrom(1, 256),
    env: "TRUSTML_MAX_IN_FLIGHT",
    flag: "--max-in-flight <n>",
    commands: RUN,
    help: "transactions of the key sent and not yet mined, at most",
    default: 16,
  }),
  withdrawAt: setting({
    schema: z.union([
      z.bigint().nonnegative("must be an amount in base units"),
      z
        .string()
        .regex(/^[0-9]*$/, "must be an amount in base units")
        .transform((v) => (v === "" ? undefined : BigInt(v))),
    ]),
    env: "TRUSTML_WITHDRAW_AT",
    flag: "--withdraw-at <amount>",
    commands: RUN,
    help: "withdraw the escrow balance once it reaches this many token base units (empty: never)",
    default: "",
  }),
  settleAll: setting({
    schema: bool,
    env: "TRUSTML_SETTLE_ALL",
    flag: "--settle-all",
    commands: RUN,
    help: "also settle due jobs of other accounts, as a keeper",
    default: false,
  }),
  fetchTimeoutMs: setting({
    schema: intFrom(100, 3_600_000),
    env: "TRUSTML_FETCH_TIMEOUT_MS",
    flag: "--fetch-timeout-ms <ms>",
    commands: BOTH,
    help: "model and input downloads: timeout in milliseconds",
    default: 60_000,
  }),
  maxModelBytes: setting({
    schema: intFrom(1, 4 * 1024 * 1024 * 1024),
    env: "TRUSTML_MAX_MODEL_BYTES",
    flag: "--max-model-bytes <n>",
    commands: BOTH,
    help: "model and input downloads: largest size in bytes",
    default: 512 * 1024 * 1024,
  }),
};

export type SettingKey = keyof typeof SETTINGS;
type Schemas = { [K in SettingKey]: (typeof SETTINGS)[K]["schema"] };

export const ConfigSchema = z.object(
  Object.fromEntries(Object.entries(SETTINGS).map(([k, s]) => [k, s.schema])) as Schemas,
);

export type WorkerConfig = z.infer<typeof ConfigSchema>;
export type ConfigInput = { [K in SettingKey]?: unknown };

/** What the service reads: everything but how to reach the chain and sign (the caller brings provider and signer). */
export type ServiceSettings = Omit<WorkerConfig, "rpcUrl" | "privateKey" | "deployment">;

const keys = Object.keys(SETTINGS) as SettingKey[];

/** Each setting's environment variable. */
export const ENV_NAMES = Object.fromEntries(keys.map((k) => [k, SETTINGS[k].env])) as Record<SettingKey, string>;

/** The defaults, as inputs to the schema (the settings without one are required). */
export const DEFAULTS: ConfigInput = Object.fromEntries(
  keys.filter((k) => "default" in SETTINGS[k]).map((k) => [k, (SETTINGS[k] as Setting<z.ZodType>).default]),
);

/** A configuration that does not validate; `message` is one line naming the variable and the problem. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** The flag's name without its value (`--rpc-url`). */
export const flagName = (key: SettingKey): string | undefined => {
  const flag = (SETTINGS[key] as Setting<z.ZodType>).flag;
  return flag?.split(" ")[0];
};

function validate<T extends z.ZodType>(
  schema: T,
  input: Record<string, unknown>,
  source: Record<string, string>,
): z.infer<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const key = String(issue.path[0] ?? "") as SettingKey;
  const name = source[key] ?? ENV_NAMES[key] ?? key;
  const missing = input[key] === undefined;
  throw new ConfigError(`invalid configuration: ${name} ${missing ? "is required" : issue.message}`);
}

/** Builds the configuration from the defaults, then the environment, then `overrides` (CLI flags). */
export function parseConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigInput = {}): WorkerConfig {
  const input: Record<string, unknown> = { ...DEFAULTS };
  const source: Record<string, string> = {};
  for (const key of keys) {
    const v = env[ENV_NAMES[key]];
    if (v !== undefined && v !== "") {
      input[key] = v;
      source[key] = ENV_NAMES[key];
    }
  }
  for (const [key, v] of Object.entries(overrides)) {
    if (v !== undefined) {
      input[key] = v;
      source[key] = flagName(key as SettingKey) ?? key;
    }
  }
  return validate(ConfigSchema, input, source);
}

const ServiceSchema = ConfigSchema.omit({ rpcUrl: true, privateKey: true, deployment: true });

/**
 * The service's settings from the defaults and `given` (an in-process service: tests, the demo's services through
 * the CLI), validated by the same schema as the environment and flags, so a default lives in one place.
 */
export function serviceSettings(given: { [K in keyof ServiceSettings]?: unknown } = {}): ServiceSettings {
  const input: Record<string, unknown> = { ...DEFAULTS };
  const source: Record<string, string> = {};
  for (const [key, v] of Object.entries(given)) {
    if (v !== undefined) [input[key], source[key]] = [v, key];
  }
  return validate(ServiceSchema, input, source);
}
