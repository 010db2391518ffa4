/**
 * The worker's command line.
 *
 *   npm run worker -- --role worker|verifier|both [--fault wrong-output|wrong-trace] [options]
 *   npm run verify-job -- <jobId> [--json]
 *
 * Configuration comes from TRUSTML_* environment variables (see .env.example), overridden by flags. A bad
 * configuration exits with status 2 and one line naming the problem.
 */
import { Command, Option } from "commander";
import { ConfigError, parseConfig, SETTINGS, type ConfigInput, type SettingKey } from "./config/config";

// The service, the chain code and ONNX Runtime are loaded once the arguments and the configuration are found
// good: under ts-node they take seconds to load, and a refusal should not wait for them.

function fail(message: string, code = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function config(flags: ConfigInput, needKey = true) {
  try {
    const env = needKey ? process.env : { TRUSTML_PRIVATE_KEY: "0x" + "11".repeat(32), ...process.env };
    return parseConfig(env, flags);
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message, 2);
    throw e;
  }
}

/** Adds the settings `command` takes as options, from the one table (config.ts); returns their keys. */
function withSettings(cmd: Command, command: "run" | "verify-job"): SettingKey[] {
  const keys: SettingKey[] = [];
  for (const [key, s] of Object.entries(SETTINGS) as [SettingKey, (typeof SETTINGS)[SettingKey]][]) {
    if (!s.flag || !(s.commands as readonly string[] | undefined)?.includes(command)) continue;
    const option = new Option(s.flag, `${s.help} (${s.env})`);
    if ("choices" in s && s.choices) option.choices(s.choices);
    cmd.addOption(option);
    keys.push(key);
  }
  return keys;
}

/** The flags given, by setting (commander names `--rpc-url` rpcUrl, as the table does). */
const given = (keys: SettingKey[], opts: Record<string, unknown>): ConfigInput =>
  Object.fromEntries(keys.map((k) => [k, opts[k]]));

const program = new Command("trustml-worker").description("TrustML off-chain worker and verifier");

const run = program.command("run").description("follow the escrow and work, verify, or both");
const runKeys = withSettings(run, "run");
run.action(async (opts: Record<string, unknown>) => {
  const cfg = config(given(runKeys, opts));
  const { startServiceFromConfig } = await import("./loop/service");
  let handle;
  try {
    handle = await startServiceFromConfig(cfg, { progress: process.stderr.isTTY === true });
  } catch (e) {
    fail(`cannot start: ${(e as Error).message}`);
  }
  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) fail(`${signal} again: exiting at once`, 130);
    process.stderr.write(`\n${signal}: finishing the current job, then exiting\n`);
    handle.stop().then(
      () => process.exit(0),
      (e: Error) => fail(`error while stopping: ${e.message}`),
    );
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
});

const verify = program
  .command("verify-job")
  .description("re-check a past job from chain data alone")
  .argument("<jobId>", "the job id (a 256-bit hash), 0x-hex as the tools print it, or decimal");
const verifyKeys = withSettings(verify, "verify-job");
verify
  .option("--json", "print the verdict as JSON (the job id as 0x and 64 hex digits)")
  .action(async (jobId: string, opts: Record<string, unknown>) => {
    if (!/^([0-9]{1,78}|0x[0-9a-fA-F]{1,64})$/.test(jobId) || BigInt(jobId) >= 2n ** 256n) {
      fail(`invalid job id ${JSON.stringify(jobId)}: expected a 256-bit number, decimal or 0x-hex`, 2);
    }
    const cfg = config(given(verifyKeys, opts), false);
    const [
      { JsonRpcProvider },
      { loadDeployment },
      { formatJobId },
      { addressesOf },
      { ModelStore },
      { formatVerdict, verifyJob },
    ] = await Promise.all([
      import("ethers"),
      import("../../packages/sdk/src/deployment"),
      import("../../packages/sdk/src/job"),
      import("./clients/chain"),
      import("./clients/models"),
      import("./verify-job"),
    ]);
    let deployment;
    try {
      deployment = loadDeployment(cfg.deployment);
    } catch (e) {
      fail((e as Error).message, 2);
    }
    const provider = new JsonRpcProvider(cfg.rpcUrl, undefined, { staticNetwork: true });
    const fetch = {
      ipfsGateway: cfg.ipfsGateway,
      timeoutMs: cfg.fetchTimeoutMs,
      maxBytes: cfg.maxModelBytes,
      retries: cfg.retries,
      retryBaseMs: cfg.retryBaseMs,
    };
    const models = new ModelStore({ cacheDir: cfg.cacheDir, ...fetch });
    try {
      const verdict = await verifyJob(jobId, { provider, addresses: addressesOf(deployment), models, fetch });
      process.stdout.write(opts.json ? JSON.stringify(verdict, null, 2) + "\n" : formatVerdict(verdict) + "\n");
      await models.close();
      provider.destroy();
      process.exit(verdict.verdict === "correct" || verdict.verdict === "no-output" ? 0 : 3);
    } catch (e) {
      fail(`verify-job ${formatJobId(BigInt(jobId))}: ${(e as Error).message}`);
    }
  });

program.parseAsync(process.argv).catch((e: Error) => fail(e.message));
