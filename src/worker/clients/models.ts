/**
 * Models by content hash: fetched from their registry URI (`file://`, `http(s)://`, `ipfs://` through a
 * gateway), checked against the registry's sha256, cached on disk by hash, and loaded into ONNX Runtime once
 * per hash (the session is reused). A version with a non-zero weights root is also checked against it (the root
 * recomputed from the file, src/models/weights-root.ts) before it is loaded. A Proven job's model is read as an
 * integer profile model instead (`profile`: its layers and Merkle tree; `profileRuntime`: ONNX Runtime with its
 * hidden vectors exposed), from the same bytes and root check. Inputs given by URI are fetched the same way and
 * checked by keccak256.
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

export { WeightsRootMismatchError };

/** A Proven version's file read as an integer profile model: its layers and names, and its neurons' Merkle tree. */
export interface ProvenModel {
  model: ProfileModel;
  tree: WeightsTree;
}

/** The model or input could not be fetched from its URI. */
export class FetchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FetchError";
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
}

/** The http(s) URL an `ipfs://` URI is fetched from. */
export function ipfsUrl(uri: string, gateway: string): string {
  const rest = uri.slice("ipfs://".length).replace(/^ipfs\//, "");
  return `${gateway.replace(/\/+$/, "")}/ipfs/${rest}`;
}

/** Fetches the bytes at `uri`. Throws FetchError naming the URI on any failure. */
export async function fetchUri(uri: string, opts: FetchOptions): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    if (uri.startsWith("file://")) {
      bytes = new Uint8Array(await readFile(fileURLToPath(uri)));
    } else if (/^https?:\/\//.test(uri) || uri.startsWith("ipfs://")) {
      const url = uri.startsWith("ipfs://") ? ipfsUrl(uri, opts.ipfsGateway) : uri;
      const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs), redirect: "follow" });
      if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText} from ${url}`);
      const length = Number(res.headers.get("content-length") ?? "0");
      if (length > opts.maxBytes) throw new Error(`${length} bytes, more than the limit of ${opts.maxBytes}`);
      bytes = new Uint8Array(await res.arrayBuffer());
    } else {
      throw new Error("unsupported URI scheme (file://, http://, https:// and ipfs:// are)");
    }
  } catch (cause) {
    throw new FetchError(`cannot fetch ${uri}: ${(cause as Error).message}`, { cause });
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
