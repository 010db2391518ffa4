/**
 * Child processes that must not outlive their parent: each runs in its own process group (so a signal reaches
 * whatever it spawned too), writes stdout and stderr to files, and is stopped with SIGTERM, then SIGKILL after
 * a grace period. Every process still running when the parent exits — normally, on an uncaught error, or on a
 * signal handled by `installSignalHandlers` — is killed with its group.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";

/** The project root (where package.json and node_modules are). */
export const ROOT = path.join(__dirname, "..", "..");

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  /** stdout goes here (JSON lines for the worker). */
  logFile: string;
  /** stderr goes here. */
  errFile: string;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether the process has exited. */
  readonly running: boolean;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** A signal to the whole group at once (SIGKILL for a crash). Resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;
let shuttingDown = false;

/** Whether a signal or an uncaught error is stopping the program (see installSignalHandlers). */
export function isShuttingDown(): boolean {
  return shuttingDown;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/** Kills every process still running, synchronously (safe in an `exit` handler). */
export function killAllNow(): void {
  for (const p of live) killGroup(p.pid, "SIGKILL");
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const defaultHooks = new Map<NodeJS.Signals, () => void>();

/**
 * Kills the children when the parent exits. `exit` handlers do not run when a signal ends the process, so
 * each signal also gets a hook that kills them and then lets the signal do what it would have done (the
 * default, ending the process, when nobody else listens). installSignalHandlers replaces these hooks.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", killAllNow);
  for (const signal of SIGNALS) {
    const hook = () => {
      killAllNow();
      process.removeListener(signal, hook);
      defaultHooks.delete(signal);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    defaultHooks.set(signal, hook);
    process.on(signal, hook);
  }
}

/**
 * On SIGINT / SIGTERM / SIGHUP, an uncaught exception or an unhandled rejection: run `cleanup` (bounded by
 * `timeoutMs`), kill whatever is left, and exit (130 for signals, 1 for errors). For command-line programs;
 * tests rely on their `after` hooks and the exit hook instead.
 */
export function installSignalHandlers(cleanup: () => Promise<void>, timeoutMs = 10_000): void {
  installExitHook();
  const bail = (code: number, message: string) => {
    if (shuttingDown) {
      killAllNow();
      process.exit(code);
    }
    shuttingDown = true;
    process.stderr.write(`\n${message}: stopping everything this program started\n`);
    const timer = setTimeout(() => process.exit(code), timeoutMs);
    cleanup()
      .catch((e: Error) => process.stderr.write(`cleanup failed: ${e.message}\n`))
      .finally(() => {
        clearTimeout(timer);
        killAllNow();
        process.exit(code);
      });
  };
  for (const signal of SIGNALS) {
    const hook = defaultHooks.get(signal);
    if (hook) process.removeListener(signal, hook);
    defaultHooks.delete(signal);
    process.on(signal, () => bail(130, signal));
  }
  process.on("uncaughtException", (e) => bail(1, `uncaught error: ${e.stack ?? e.message}`));
  process.on("unhandledRejection", (e) => bail(1, `unhandled rejection: ${(e as Error)?.stack ?? String(e)}`));
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  /** Directory of the log files `<name>.log` (stdout) and `<name>.err.log` (stderr). */
  logDir: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Starts a process in its own group, output appended to its log files. */
export function spawnManaged(opts: SpawnOptions): ManagedProcess {
  installExitHook();
  const logFile = path.join(opts.logDir, `${opts.name}.log`);
  const errFile = path.join(opts.logDir, `${opts.name}.err.log`);
  const out = openSync(logFile, "a");
  const err = openSync(errFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(opts.command, opts.args, {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? process.env,
      stdio: ["ignore", out, err],
      detached: true, // a process group of its own: signals reach its children, Ctrl-C in a terminal does not
    });
  } finally {
    closeSync(out);
    closeSync(err);
  }
  if (child.pid === undefined) throw new Error(`cannot start ${opts.name}: ${opts.command}`);
  const pid = child.pid;
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => {
      running = false;
      live.delete(managed);
      resolve({ code, signal });
    });
  });
  child.on("error", () => {}); // reported through `exited`
  const managed: ManagedProcess = {
    name: opts.name,
    child,
    pid,
    logFile,
    errFile,
    exited,
    get running() {
      return running;
    },
    async stop(graceMs = 10_000) {
      if (!running) return;
      killGroup(pid, "SIGTERM");
      const timer = setTimeout(() => killGroup(pid, "SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
      killGroup(pid, "SIGKILL"); // anything the leader left behind in its group
    },
    async kill(signal = "SIGKILL") {
      if (!running) return;
      killGroup(pid, signal);
      await exited;
    },
  };
  live.add(managed);
  return managed;
}

/** The last `lines` lines of a file ("" when it does not exist), for error messages. */
export function tail(file: string, lines = 20): string {
  if (!existsSync(file)) return "";
  return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
}

/** Runs a process to completion; throws with the tail of its logs when it exits non-zero or times out. */
export async function runManaged(opts: SpawnOptions, timeoutMs: number): Promise<void> {
  const p = spawnManaged(opts);
  const timer = setTimeout(() => void p.stop(2000), timeoutMs);
  const { code, signal } = await p.exited;
  clearTimeout(timer);
  if (code !== 0) {
    const why = signal
      ? `was killed (${signal}${signal === "SIGTERM" ? `, over ${timeoutMs} ms` : ""})`
      : `exited ${code}`;
    throw new Error(`${opts.name} ${why}:\n${tail(p.errFile)}\n${tail(p.logFile)}`);
  }
}

/** A TCP port free on 127.0.0.1 at the time of the call. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `cond` every `intervalMs` until it returns true; throws "timed out after … waiting for <what>" (with
 * `detail()` when given) after `timeoutMs`. Errors thrown by `cond` propagate.
 */
export async function waitFor(
  what: string,
  cond: () => Promise<boolean> | boolean,
  opts: { timeoutMs: number; intervalMs?: number; detail?: () => Promise<string> | string },
): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (await cond()) return;
    if (Date.now() - start > opts.timeoutMs) {
      const detail = opts.detail ? `\n${await opts.detail()}` : "";
      throw new Error(`timed out after ${Math.round((Date.now() - start) / 1000)} s waiting for ${what}${detail}`);
    }
    await sleep(opts.intervalMs ?? 250);
  }
}
