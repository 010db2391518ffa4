/**
 * Durable JSON files written atomically (write a temporary file, fsync, rename), and the service's cursor: the
 * last block whose events were all applied, the keys (`txHash:logIndex`) of events applied past it, and the
 * jobs still open, so that a restart resumes without missing or repeating work.
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

interface CursorFile<J> {
  version: 1;
  chainId: string;
  escrow: string;
  /** Every event in blocks <= block has been applied. */
  block: number;
  /** Keys of events applied in blocks > block (a chunk applied in part). */
  processed: string[];
  jobs: Record<string, J>;
}

/**
 * The cursor of one service on one escrow. `J` is the persisted record of an open job.
 * Call `save()` after changes; every save is atomic.
 */
export class Cursor<J> {
  block: number;
  private processed: Set<string>;
  readonly jobs: Map<string, J>;

  private constructor(
    readonly file: string,
    private readonly chainId: string,
    private readonly escrow: string,
    data: CursorFile<J> | undefined,
    startBlock: number,
  ) {
    this.block = data ? data.block : startBlock - 1;
    this.processed = new Set(data?.processed ?? []);
    this.jobs = new Map(Object.entries(data?.jobs ?? {}));
  }

  /**
   * Opens the cursor in `file`, or a fresh one starting at `startBlock` (its events not yet applied). Throws if
   * the file belongs to another chain or escrow, so a state directory is never mixed across deployments.
   */
  static open<J>(file: string, chainId: bigint | string, escrow: string, startBlock: number): Cursor<J> {
    const data = readJson<CursorFile<J>>(file);
    const chain = String(chainId);
    if (data && (data.chainId !== chain || data.escrow.toLowerCase() !== escrow.toLowerCase())) {
      throw new Error(
        `state file ${file} belongs to escrow ${data.escrow} on chain ${data.chainId}, not ${escrow} on chain ${chain}`,
      );
    }
    return new Cursor<J>(file, chain, escrow, data, startBlock);
  }

  /** Whether the event was already applied. */
  seen(key: string, block: number): boolean {
    return block <= this.block || this.processed.has(key);
  }

  /** Records an event as applied. */
  markProcessed(key: string): void {
    this.processed.add(key);
  }

  /** Every event up to `block` is applied: forget the keys, which `block` now covers. */
  advance(block: number): void {
    if (block > this.block) {
      this.block = block;
      this.processed.clear();
    }
  }

  save(): void {
    const data: CursorFile<J> = {
      version: 1,
      chainId: this.chainId,
      escrow: this.escrow,
      block: this.block,
      processed: [...this.processed],
      jobs: Object.fromEntries(this.jobs),
    };
    writeJsonAtomic(this.file, data);
  }
}
