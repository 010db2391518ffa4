/**
 * A verifier's secret votes: the salt and vote of every commitment, written to disk before the commitment is
 * sent, so a restart between commit and reveal still reveals. One file per verifier address.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { readJson, writeJsonAtomic } from "./cursor";

export interface StoredVote {
  agree: boolean;
  salt: string; // 0x + 64 hex
  /** Why the verifier voted so (the comparison's reason), for the operator. */
  reason?: string;
}

export class SaltStore {
  private readonly votes: Map<string, StoredVote>;

  constructor(readonly file: string) {
    this.votes = new Map(Object.entries(readJson<Record<string, StoredVote>>(file) ?? {}));
  }

  static forAccount(stateDir: string, account: string): SaltStore {
    return new SaltStore(path.join(stateDir, `salts-${account.toLowerCase()}.json`));
  }

  get(jobId: bigint | string): StoredVote | undefined {
    return this.votes.get(String(jobId));
  }

  /**
   * The vote to commit for `jobId`: the stored one if there is one (a commitment may already be on chain),
   * else a new one with a fresh random salt, persisted before this returns.
   */
  prepare(jobId: bigint | string, agree: boolean, reason?: string): StoredVote {
    const existing = this.get(jobId);
    if (existing) return existing;
    const vote: StoredVote = { agree, salt: "0x" + randomBytes(32).toString("hex"), reason };
    this.votes.set(String(jobId), vote);
    this.save();
    return vote;
  }

  delete(jobId: bigint | string): void {
    if (this.votes.delete(String(jobId))) this.save();
  }

  ids(): string[] {
    return [...this.votes.keys()];
  }

  private save(): void {
    writeJsonAtomic(this.file, Object.fromEntries(this.votes));
  }
}
