/**
 * Models by content hash: fetched from their registry URI (`file://`, `http(s)://`, `ipfs://` through a
 * gateway), checked against the registry's sha256, cached on disk by hash, and loaded into ONNX Runtime once
 * per hash (the session is reused). A version with a non-zero weights root is also checked against it (the root
 * recomputed from the file, src/models/weights-root.ts) before it is loaded. A Proven job's model is read as an
 * integer profile model instead (`profile`: its layers and Merkle tree; `profileRuntime`: ONNX Runtime with its
 * hidden vectors exposed), from the same bytes and root check. Inputs given by URI are fetched the same way and
 * checked by keccak256. A fetch that fails transiently (FetchError.transient) is retried with backoff within the
 * fetch, and its source then backs off across ticks (FetchBackoff); a permanent failure is final.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { keccak256 } from "ethers";
import { checkWeightsRoot, hasWeightsRoot, WeightsRootMismatchError } from "../../models/weights-root";
import { parseProfileModel } from "../../proven/check";
import { WeightsTree } from "../../proven/leaves";
import type { ProfileModel } from "../../proven/profile";
import { ProfileRuntime } from "../../proven/runtime";
import { loadModel, type LoadedModel } from "../../../packages/sdk/src/onnx";
import { withRetry } from "./sender";

export { WeightsRootMismatchError };

/** A Proven version's file read as an integer profile model: its layers and names, and its neurons' Merkle tree. */
export interface ProvenModel {
  model: ProfileModel;
  tree: WeightsTree;
}

/**
 * The model or input could not be fetched from its URI. `transient`: the source may answer later (connection
 * refused or reset, a timeout, HTTP 5xx, 429 or 408), so a job waiting on it is tried again on a later tick; any
 * other failure (404, too large, an unsupported scheme, a missing file) is final. `retryAt` (ms since the epoch)
 * is set when nothing was fetched because the source is in its backoff (FetchBackoff).
 */
export class FetchError extends Error {
  readonly transient: boolean;
  readonly retryAt?: number;

  constructor(message: string, options?: { cause?: unknown; transient?: boolean; retryAt?: number }) {
    super(message, options);
    this.name = "FetchError";
    this.transient = options?.transient ?? false;
    this.retryAt = options?.retryAt;
  }
}

/** The bytes fetched do not hash to what the chain says. */
export class HashMismatchError extends Error {
  constructor(
    message: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(message);
    this.name = "HashMismatchError";
  }
}

export const sha256Hex = (bytes: Uint8Array): string => "0x" + createHash("sha256").update(bytes).digest("hex");

export interface FetchOptions {
  ipfsGateway: string;
  timeoutMs: number;
  maxBytes: number;
  /** Retries of one fetch on a transient failure, with exponential backoff from `retryBaseMs` (default none). */
  retries?: number;
  retryBaseMs?: number;
  /** The sources that failed lately, and when each may be tried again (none: every fetch goes out). */
  backoff?: FetchBackoff;
  /** Told of each retry within a fetch. */
  onRetry?: (uri: string, attempt: number, delayMs: number, err: string) => void;
}

/** The http(s) URL an `ipfs://` URI is fetched from. */
export function ipfsUrl(uri: string, gateway: string): string {
  const rest = uri.slice("ipfs://".length).replace(/^ipfs\//, "");
  return `${gateway.replace(/\/+$/, "")}/ipfs/${rest}`;
}

/** HTTP statuses worth asking again: the server or a proxy before it is overloaded or down for now. */
const TRANSIENT_STATUS = (status: number): boolean => status >= 500 || status === 429 || status === 408;

/** Network-level failures (fetch's cause, or a body cut short): the source may answer later. */
const TRANSIENT_NETWORK =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR|socket|terminated|other side closed|TimeoutError|AbortError|timed? ?out/i;

function transientCause(e: unknown): boolean {
  const err = e as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } };
  return TRANSIENT_NETWORK.test(
    [err?.name, err?.message, err?.code, err?.cause?.code, err?.cause?.message].filter(Boolean).join(" "),
  );
}

/**
 * When each source may be fetched again after a transient failure: the delay doubles with each fetch that failed
 * in a row (carrying on from the last retry within the fetch), up to `maxDelayMs`, so that a dead gateway is asked
 * once in a while, not on every tick for every job. A success forgets the source.
 */
export class FetchBackoff {
  private readonly failures = new Map<string, { count: number; retryAt: number }>();
  private readonly maxDelayMs: number;
  private readonly now: () => number;

  constructor(opts: { maxDelayMs?: number; now?: () => number } = {}) {
    this.maxDelayMs = opts.maxDelayMs ?? 10 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** Throws a transient FetchError, without fetching, while `url` is in its backoff. */
  check(url: string, uri: string): void {
    const f = this.failures.get(url);
    const now = this.now();
    if (f && now < f.retryAt) {
      throw new FetchError(
        `cannot fetch ${uri}: ${f.count} fetches failed in a row; next try in ${Math.ceil((f.retryAt - now) / 1000)} s`,
        { transient: true, retryAt: f.retryAt },
      );
    }
  }

  /** Records a fetch of `url` that failed transiently after its retries within the fetch (`opts.retries`). */
  failed(url: string, opts: Pick<FetchOptions, "retries" | "retryBaseMs">): void {
    const count = (this.failures.get(url)?.count ?? 0) + 1;
    const base = opts.retryBaseMs ?? 500;
    const delay = Math.min(this.maxDelayMs, base * 2 ** Math.min(30, (opts.retries ?? 0) + count));
    this.failures.set(url, { count, retryAt: this.now() + delay });
  }

  succeeded(url: string): void {
    this.failures.delete(url);
  }
}

/** One request for the bytes at `url` (the http(s) form of `uri`). */
async function fetchOnce(uri: string, url: string, opts: FetchOptions): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs), redirect: "follow" });
  } catch (cause) {
    throw new FetchError(`cannot fetch ${uri}: ${(cause as Error).message}`, {
      cause,
      transient: transientCause(cause),
    });
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new FetchError(`cannot fetch ${uri}: HTTP ${res.status} ${res.statusText} from ${url}`, {
      transient: TRANSIENT_STATUS(res.status),
    });
  }
  const length = Number(res.headers.get("content-length") ?? "0");
  if (length > opts.maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new FetchError(`cannot fetch ${uri}: ${length} bytes, more than the limit of ${opts.maxBytes}`);
  }
  try {
    return new Uint8Array(await res.arrayBuffer());
  } catch (cause) {
    throw new FetchError(`cannot fetch ${uri}: ${(cause as Error).message}`, { cause, transient: true });
  }
}

/**
 * Fetches the bytes at `uri`. Throws FetchError naming the URI on any failure, transient or not. An http(s) or
 * ipfs fetch that fails transiently is tried again up to `retries` times with exponential backoff; one that still
 * fails puts the source in `backoff`, if given.
 */
export async function fetchUri(uri: string, opts: FetchOptions): Promise<Uint8Array> {
  let bytes: Uint8Array;
  if (uri.startsWith("file://")) {
    try {
      bytes = new Uint8Array(await readFile(fileURLToPath(uri)));
    } catch (cause) {
      throw new FetchError(`cannot fetch ${uri}: ${(cause as Error).message}`, { cause });
    }
  } else if (/^https?:\/\//.test(uri) || uri.startsWith("ipfs://")) {
    const url = uri.startsWith("ipfs://") ? ipfsUrl(uri, opts.ipfsGateway) : uri;
    opts.backoff?.check(url, uri);
    try {
      bytes = await withRetry(() => fetchOnce(uri, url, opts), {
        retries: opts.retries ?? 0,
        baseDelayMs: opts.retryBaseMs ?? 500,
        shouldRetry: (e) => e instanceof FetchError && e.transient,
        onRetry: (c, attempt, delay) => opts.onRetry?.(uri, attempt, delay, c.message),
      });
    } catch (e) {
      if (e instanceof FetchError && e.transient) opts.backoff?.failed(url, opts);
      throw e;
    }
    opts.backoff?.succeeded(url);
  } else {
    throw new FetchError(`cannot fetch ${uri}: unsupported URI scheme (file://, http://, https:// and ipfs:// are)`);
  }
  if (bytes.length > opts.maxBytes) {
    throw new FetchError(`cannot fetch ${uri}: ${bytes.length} bytes, more than the limit of ${opts.maxBytes}`);
  }
  return bytes;
}

export interface ModelRef {
  modelId: bigint;
  version: bigint;
  contentHash: string; // sha256, 0x-prefixed
  uri: string;
  /** The registry's weights root of the version (zero when it is not a profile model), 0x-prefixed. */
  weightsRoot: string;
  /** keccak256 of the version's declared signature (zero when it declares none), 0x-prefixed. */
  ioSignatureHash?: string;
}

export interface ModelStoreOptions extends FetchOptions {
  cacheDir: string;
}

/** Where the bytes of a model come from: the disk cache, or a fetch. */
export type ModelSource = "cache" | "fetch";

export class ModelStore {
  private readonly sessions = new Map<string, Promise<LoadedModel>>();
  /** Profile models and their ONNX Runtime sessions, by content hash, as `sessions`. */
  private readonly profiles = new Map<string, Promise<ProvenModel>>();
  private readonly runtimes = new Map<string, Promise<ProfileRuntime>>();
  /** Weights-root checks by content hash and root: a version never changes, so neither does its verdict. */
  private readonly rootChecks = new Map<string, Promise<void>>();
  /** Fetches so far (cache misses), for tests and metrics. */
  fetches = 0;

  constructor(private readonly opts: ModelStoreOptions) {}

  private cacheFile(contentHash: string): string {
    return path.join(this.opts.cacheDir, `${contentHash.toLowerCase().replace(/^0x/, "")}.onnx`);
  }

  /**
   * The model's bytes, checked against `contentHash` (sha256). From the cache when present and intact, else
   * fetched and then cached. Throws FetchError or HashMismatchError (naming both hashes).
   */
  async bytes(ref: ModelRef): Promise<{ bytes: Uint8Array; source: ModelSource }> {
    const want = ref.contentHash.toLowerCase();
    const file = this.cacheFile(want);
    if (existsSync(file)) {
      const cached = new Uint8Array(readFileSync(file));
      if (sha256Hex(cached) === want) return { bytes: cached, source: "cache" };
    }
    this.fetches++;
    const bytes = await fetchUri(ref.uri, this.opts);
    const got = sha256Hex(bytes);
    if (got !== want) {
      throw new HashMismatchError(
        `model ${ref.modelId} version ${ref.version}: sha256 of ${ref.uri} is ${got}, the registry says ${want}`,
        want,
        got,
      );
    }
    await mkdir(this.opts.cacheDir, { recursive: true });
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, file);
    return { bytes, source: "fetch" };
  }

  /**
   * The loaded model (one ONNX Runtime session per content hash, reused). Throws FetchError,
   * HashMismatchError, WeightsRootMismatchError or ModelLoadError; a failure is not cached, so a later call tries
   * again, except a weights-root mismatch, which is final. The root is checked per version, not per content hash:
   * two owners may register the same bytes with different roots.
   */
  load(ref: ModelRef): Promise<LoadedModel> {
    return this.checked(ref, this.sessions, loadModel);
  }

  /**
   * Recomputes the weights root of the version's file and compares it with the registry's: throws
   * WeightsRootMismatchError naming both roots (or why the file is not a profile model).
   */
  checkRoot(ref: ModelRef): Promise<void> {
    const key = `${ref.contentHash.toLowerCase()}:${ref.weightsRoot.toLowerCase()}`;
    let check = this.rootChecks.get(key);
    if (!check) {
      check = this.bytes(ref).then(({ bytes }) => checkWeightsRoot(bytes, ref.weightsRoot, ref));
      this.rootChecks.set(key, check);
      check.catch((e) => {
        if (!(e instanceof WeightsRootMismatchError)) this.rootChecks.delete(key);
      });
    }
    return check;
  }

  /**
   * The version's file as a profile model, for a Proven job: its weights root checked as by `load`, then parsed and
   * its Merkle tree built, once per content hash. Throws what `load` throws, or ProfileError (naming what puts the
   * file outside the profile) for a version without a root whose file is not a profile model.
   */
  profile(ref: ModelRef): Promise<ProvenModel> {
    return this.checked(ref, this.profiles, (bytes) => {
      const { model } = parseProfileModel(bytes);
      return Promise.resolve({ model, tree: new WeightsTree(model.layers) });
    });
  }

  /**
   * The version's file in ONNX Runtime with every hidden vector exposed (ProfileRuntime), for a worker's trace:
   * checked as `profile`, one session per content hash. Throws what `profile` throws, or ModelLoadError.
   */
  profileRuntime(ref: ModelRef): Promise<ProfileRuntime> {
    return this.checked(ref, this.runtimes, (bytes) => ProfileRuntime.load(bytes));
  }

  /** `cached`, after the version's weights-root check when it has a root. */
  private checked<T>(ref: ModelRef, cache: Map<string, Promise<T>>, make: (b: Uint8Array) => Promise<T>): Promise<T> {
    if (!hasWeightsRoot(ref.weightsRoot)) return this.cached(ref, cache, make);
    return this.checkRoot(ref).then(() => this.cached(ref, cache, make));
  }

  /** What `make` gives from the version's bytes, once per content hash; a failure is not kept. */
  private cached<T>(ref: ModelRef, cache: Map<string, Promise<T>>, make: (b: Uint8Array) => Promise<T>): Promise<T> {
    const key = ref.contentHash.toLowerCase();
    let value = cache.get(key);
    if (!value) {
      value = this.bytes(ref).then(({ bytes }) => make(bytes));
      cache.set(key, value);
      value.catch(() => cache.delete(key));
    }
    return value;
  }

  /** Releases every session. */
  async close(): Promise<void> {
    const sessions = [...this.sessions.values()];
    const runtimes = [...this.runtimes.values()];
    this.sessions.clear();
    this.runtimes.clear();
    this.profiles.clear();
    for (const s of sessions) {
      try {
        await (await s).session.release();
      } catch {
        // a failed load has nothing to release
      }
    }
    for (const r of runtimes) {
      try {
        await (await r).release();
      } catch {
        // likewise
      }
    }
  }
}

/** An input given by URI: fetched and checked against the job's keccak256 input hash. */
export async function fetchInput(uri: string, inputHash: string, opts: FetchOptions): Promise<Uint8Array> {
  const bytes = await fetchUri(uri, opts);
  const got = keccak256(bytes);
  if (got.toLowerCase() !== inputHash.toLowerCase()) {
    throw new HashMismatchError(`input ${uri}: keccak256 is ${got}, the job says ${inputHash}`, inputHash, got);
  }
  return bytes;
}
