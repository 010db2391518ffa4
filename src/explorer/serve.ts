/**
 * The explorer's server: builds the browser app (packages/explorer) with Vite's JS API once per version of its
 * sources, into a cache directory, and serves the build with Vite's preview server, plus `/trustml.json` — the node
 * to read, the deployment record and how many blocks one log read may span — which the page fetches at start. Deep links (/job/…, /model/…) get the app's
 * index.html. Used by `npm run explorer` (scripts/explorer.ts), `npm run demo -- --explore` and the browser tests.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Plugin } from "vite";
import { loadDeployment, type Deployment } from "../../packages/sdk/src/deployment";

export const EXPLORER_DIR = path.join(__dirname, "..", "..", "packages", "explorer");
/** Builds by hash of their inputs: `<dir>/<hash>/index.html`. */
export const DEFAULT_CACHE_DIR = path.join(EXPLORER_DIR, "dist", "builds");
export const DEFAULT_PORT = 5173;
export const DEFAULT_HOST = "127.0.0.1";

/** What the build depends on: the app, the SDK sources it imports, and the installed dependency versions. */
const INPUTS = [
  path.join(EXPLORER_DIR, "index.html"),
  path.join(EXPLORER_DIR, "vite.config.ts"),
  path.join(EXPLORER_DIR, "package.json"),
  path.join(EXPLORER_DIR, "src"),
  path.join(EXPLORER_DIR, "..", "sdk", "src"),
  path.join(EXPLORER_DIR, "..", "..", "package-lock.json"),
];
/** A build other than the current one is removed once it is this old (another process may still serve it). */
const STALE_BUILD_MS = 60 * 60 * 1000;
const MARKER = ".complete";

export interface ExplorerOptions {
  /** The JSON-RPC node the browser reads (it must be reachable from the browser, not only from this machine). */
  rpcUrl: string;
  /** The deployment record, or the path of its file (validated by loadDeployment, which names a bad field). */
  deployment: Deployment | string;
  /** Default 5173; 0 takes any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /**
   * The largest block range of one eth_getLogs the page asks for (default: the SDK's LogReader default, 10,000; the
   * reader halves a range the node refuses in any case). A smaller one makes a long first read show its progress in
   * finer steps.
   */
  maxBlockRange?: number;
  /** Where builds are kept (default packages/explorer/dist/builds). */
  cacheDir?: string;
  /** Progress lines (the build, when one is needed). */
  log?: (line: string) => void;
}

export interface RunningExplorer {
  /** The page's address, ending in "/": `http://127.0.0.1:5173/`. */
  url: string;
  port: number;
  /** The build served. */
  dir: string;
  close(): Promise<void>;
}

/**
 * Vite, loaded when a build or a server is wanted: it is an ES module, which Node 20 requires from CommonJS only
 * from 20.19 on, and the demo imports this module whether it explores or not.
 */
async function loadVite(): Promise<typeof import("vite")> {
  try {
    return await import("vite");
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_REQUIRE_ESM") {
      throw new Error(
        `the explorer needs Node 20.19 or later (to load Vite from CommonJS); this is ${process.version}`,
        {
          cause: e,
        },
      );
    }
    throw e;
  }
}

function filesUnder(entry: string): string[] {
  if (!existsSync(entry)) return [];
  if (!statSync(entry).isDirectory()) return [entry];
  return readdirSync(entry, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((d) => filesUnder(path.join(entry, d.name)));
}

/** A hash of every input's path and contents: the build's name in the cache. */
export function explorerInputsHash(): string {
  const hash = createHash("sha256");
  for (const file of INPUTS.flatMap(filesUnder)) {
    hash.update(path.relative(EXPLORER_DIR, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

/**
 * The build of the current sources: reused when the cache has it, else built (about 3 s). Safe when several
 * processes start at once: each builds into a directory of its own and renames it into place.
 */
export async function buildExplorer(
  opts: { cacheDir?: string; log?: (line: string) => void } = {},
): Promise<{ dir: string; built: boolean; ms: number }> {
  const cacheDir = opts.cacheDir ?? DEFAULT_CACHE_DIR;
  const started = Date.now();
  const hash = explorerInputsHash();
  const dir = path.join(cacheDir, hash);
  if (existsSync(path.join(dir, MARKER))) return { dir, built: false, ms: Date.now() - started };
  opts.log?.(`building the explorer (packages/explorer) into ${path.relative(process.cwd(), dir) || dir}`);
  const tmp = path.join(cacheDir, `.tmp-${hash}-${process.pid}-${randomBytes(4).toString("hex")}`);
  const { build } = await loadVite();
  try {
    await build({
      root: EXPLORER_DIR,
      configFile: path.join(EXPLORER_DIR, "vite.config.ts"),
      build: { outDir: tmp, emptyOutDir: true },
      logLevel: "warn",
      clearScreen: false,
    });
    writeFileSync(path.join(tmp, MARKER), new Date().toISOString() + "\n");
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // Another process put the same build in place first: use it.
      if (!existsSync(path.join(dir, MARKER))) throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  pruneBuilds(cacheDir, hash);
  return { dir, built: true, ms: Date.now() - started };
}

function pruneBuilds(cacheDir: string, keep: string): void {
  for (const name of readdirSync(cacheDir)) {
    if (name === keep) continue;
    const entry = path.join(cacheDir, name);
    try {
      if (Date.now() - statSync(entry).mtimeMs > STALE_BUILD_MS) rmSync(entry, { recursive: true, force: true });
    } catch {
      // removed by another process meanwhile
    }
  }
}

/** Answers `/trustml.json` with the node and the record the page reads (never cached: a restart may change them). */
function configPlugin(body: string): Plugin {
  return {
    name: "trustml-config",
    configurePreviewServer(server) {
      server.middlewares.use("/trustml.json", (_req, res) => {
        res.setHeader("content-type", "application/json");
        res.setHeader("cache-control", "no-store");
        res.end(body);
      });
    },
  };
}

/** Builds the explorer if needed and serves it; resolves once it listens. */
export async function startExplorer(opts: ExplorerOptions): Promise<RunningExplorer> {
  const deployment = typeof opts.deployment === "string" ? loadDeployment(opts.deployment) : opts.deployment;
  if (!/^https?:\/\//.test(opts.rpcUrl)) throw new Error(`--rpc must be an http(s) URL, got ${opts.rpcUrl}`);
  if (opts.maxBlockRange !== undefined && !(Number.isInteger(opts.maxBlockRange) && opts.maxBlockRange > 0)) {
    throw new Error(`--max-block-range must be a positive whole number of blocks, got ${opts.maxBlockRange}`);
  }
  const { dir } = await buildExplorer({ cacheDir: opts.cacheDir, log: opts.log });
  const host = opts.host ?? DEFAULT_HOST;
  const { preview } = await loadVite();
  const server = await preview({
    root: EXPLORER_DIR,
    configFile: false,
    appType: "spa",
    logLevel: "warn",
    clearScreen: false,
    build: { outDir: dir },
    plugins: [configPlugin(JSON.stringify({ rpcUrl: opts.rpcUrl, deployment, maxBlockRange: opts.maxBlockRange }))],
    preview: {
      port: opts.port ?? DEFAULT_PORT,
      host,
      strictPort: true,
      open: false,
      // The pages are public chain data: any host name may reach them (behind a proxy, or by the machine's name).
      allowedHosts: true,
    },
  });
  const port = (server.httpServer.address() as AddressInfo).port;
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    dir,
    close: () => server.close(),
  };
}
