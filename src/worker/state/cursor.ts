/**
 * Durable JSON files written atomically (write a temporary file, fsync, rename), and the service's cursor: the
 * last block whose events were all applied, the keys (`txHash:logIndex`) of events applied past it, and the
 * jobs still open, so that a restart resumes without missing or repeating work. For reorganisations it also keeps
 * the hashes of the recent blocks it applied and, per recent block, the records that block's events replaced (an
 * undo journal): when a block it applied leaves the chain, `rewind` puts the records back as they were below it.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import path from "node:path";

/** Writes `data` as JSON to `file` atomically: readers see the old or the new content, never a mix. */
export function writeJsonAtomic(file: string, data: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, JSON.stringify(data, null, 1));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** Reads a JSON file, or returns undefined when it does not exist. Throws on unreadable or corrupt files. */
export function readJson<T>(file: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`corrupt state file ${file}: ${(e as Error).message}`);
  }
}

/** The key of an event: unique per log on a chain. */
export const eventKey = (log: { transactionHash: string; index: number }): string =>
  `${log.transactionHash.toLowerCase()}:${log.index}`;

/** The cursor file's format. Version 1 (no hashes, no journal) is read and upgraded on the next save. */
const VERSION = 2;

interface CursorFile<J> {
  version: typeof VERSION;
  chainId: string;
  escrow: string;
  /** Every event in blocks <= block has been applied. */
  block: number;
  /** Keys of events applied in blocks > block (a chunk applied in part). */
  processed: string[];
  jobs: Record<string, J>;
  /** [number, hash] of recent blocks applied, in ascending order: what a reorganisation is checked against. */
  hashes: [number, string][];
  /**
   * The undo journal, in the order the changes were made: each change's block, job id and the record the job had
   * before it (null: none).
   */
  undo: [number, string, J | null][];
}

type CursorFileV1<J> = Omit<CursorFile<J>, "version" | "hashes" | "undo"> & { version: 1 };

/** What a rewind did to the records. */
export interface Rewind {
  /** Blocks dropped: the cursor's block before, less its block after. */
  depth: number;
  /** Jobs no longer followed (their request was in a dropped block). */
  dropped: string[];
  /** Jobs whose record went back to an earlier one. */
  restored: string[];
}

export interface CursorOptions {
  /** Blocks of hashes and undo journal kept below the cursor's block: the deepest reorganisation undone in place. */
  history?: number;
}

/**
 * The cursor of one service on one escrow. `J` is the persisted record of an open job.
 * Call `save()` after changes; every save is atomic.
 */
export class Cursor<J> {
  block: number;
  readonly history: number;
  /** The version of the file as read, when older than this one (upgraded on the next save). */
  readonly migratedFrom: number | undefined;
  private processed: Set<string>;
  readonly jobs: Map<string, J>;
  private readonly hashes: Map<number, string>;
  /** Every change to a record within the history, in the order made: [block, job id, record before]. */
  private undo: [number, string, J | null][];

  private constructor(
    readonly file: string,
    private readonly chainId: string,
    private readonly escrow: string,
    data: CursorFile<J> | CursorFileV1<J> | undefined,
    readonly startBlock: number,
    options: CursorOptions,
  ) {
    this.history = options.history ?? 64;
    this.block = data ? data.block : startBlock - 1;
    this.processed = new Set(data?.processed ?? []);
    this.jobs = new Map(Object.entries(data?.jobs ?? {}));
    const v2 = data?.version === VERSION ? data : undefined;
    this.migratedFrom = data && !v2 ? data.version : undefined;
    this.hashes = new Map(v2?.hashes ?? []);
    this.undo = Array.isArray(v2?.undo) ? [...v2.undo] : [];
  }

  /**
   * Opens the cursor in `file`, or a fresh one starting at `startBlock` (its events not yet applied). Throws if
   * the file belongs to another chain or escrow, so a state directory is never mixed across deployments, or if it
   * is of a version this code does not know.
   */
  static open<J>(
    file: string,
    chainId: bigint | string,
    escrow: string,
    startBlock: number,
    options: CursorOptions = {},
  ): Cursor<J> {
    const data = readJson<CursorFile<J> | CursorFileV1<J>>(file);
    const chain = String(chainId);
    const version: unknown = data?.version;
    if (data && version !== 1 && version !== VERSION) {
      throw new Error(`state file ${file} has version ${String(version)}; this worker reads versions 1 and ${VERSION}`);
    }
    if (data && (data.chainId !== chain || data.escrow.toLowerCase() !== escrow.toLowerCase())) {
      throw new Error(
        `state file ${file} belongs to escrow ${data.escrow} on chain ${data.chainId}, not ${escrow} on chain ${chain}`,
      );
    }
    return new Cursor<J>(file, chain, escrow, data, startBlock, options);
  }

  /** Whether the event was already applied. */
  seen(key: string, block: number): boolean {
    return block <= this.block || this.processed.has(key);
  }

  /** Records an event as applied. */
  markProcessed(key: string): void {
    this.processed.add(key);
  }

  /**
   * Sets (or with undefined, removes) a job's record after what the chain showed at `block` (an event of that
   * block, or a state read at that head), journalling the record it had before. Changes need not come in block
   * order (a state read at the head comes before the events below it are read); a rewind undoes them in the
   * reverse of the order they were made.
   */
  apply(block: number, id: string, record: J | undefined): void {
    this.undo.push([block, id, this.jobs.get(id) ?? null]);
    if (record === undefined) this.jobs.delete(id);
    else this.jobs.set(id, record);
  }

  /**
   * Every event up to `block` is applied: forget the keys, which `block` now covers, keep the given block hashes,
   * and forget hashes and journal older than the history.
   */
  advance(block: number, hashes: Iterable<[number, string]> = []): void {
    if (block > this.block) {
      this.block = block;
      this.processed.clear();
    }
    for (const [n, hash] of hashes) if (n <= this.block) this.hashes.set(n, hash);
    const oldest = this.block - this.history;
    for (const n of this.hashes.keys()) if (n < oldest) this.hashes.delete(n);
    this.undo = this.undo.filter(([n]) => n > oldest);
  }

  /** The cursor's block and its hash, when known (not for a fresh cursor or one read from a version 1 file). */
  get tip(): { block: number; hash: string } | undefined {
    const hash = this.hashes.get(this.block);
    return hash === undefined ? undefined : { block: this.block, hash };
  }

  /** The blocks whose hashes are kept, newest first: where a rewind can go. */
  checkpoints(): [number, string][] {
    return [...this.hashes].sort((a, b) => b[0] - a[0]);
  }

  /**
   * Goes back to `block` (a checkpoint, or any block the journal covers): every job record back as it was after
   * that block, the hashes above it forgotten. The events above it are read again.
   */
  rewind(block: number): Rewind {
    if (block >= this.block) return { depth: 0, dropped: [], restored: [] };
    if (block < this.block - this.history) {
      throw new Error(`cannot rewind to block ${block}: the journal covers blocks above ${this.block - this.history}`);
    }
    const before = new Map(this.jobs);
    for (const [n, id, record] of [...this.undo].reverse()) {
      if (n <= block) continue;
      if (record === null) this.jobs.delete(id);
      else this.jobs.set(id, record);
    }
    this.undo = this.undo.filter(([n]) => n <= block);
    for (const n of this.hashes.keys()) if (n > block) this.hashes.delete(n);
    const depth = this.block - block;
    this.block = block;
    this.processed.clear();
    const dropped = [...before.keys()].filter((id) => !this.jobs.has(id));
    const restored = [...this.jobs.keys()].filter((id) => before.get(id) !== this.jobs.get(id));
    return { depth, dropped, restored };
  }

  /** Forgets everything: the events are read again from the start block (a reorganisation deeper than the history). */
  reset(): Rewind {
    const dropped = [...this.jobs.keys()];
    const depth = this.block - (this.startBlock - 1);
    this.block = this.startBlock - 1;
    this.jobs.clear();
    this.processed.clear();
    this.hashes.clear();
    this.undo = [];
    return { depth, dropped, restored: [] };
  }

  save(): void {
    const data: CursorFile<J> = {
      version: VERSION,
      chainId: this.chainId,
      escrow: this.escrow,
      block: this.block,
      processed: [...this.processed],
      jobs: Object.fromEntries(this.jobs),
      hashes: [...this.hashes].sort((a, b) => a[0] - b[0]),
      undo: this.undo,
    };
    writeJsonAtomic(this.file, data);
  }
}
