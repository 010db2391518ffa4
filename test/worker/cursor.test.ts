import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { jobIdOf } from "../../packages/sdk/src/job";
import { sealCommitment } from "../../packages/sdk/src/votes";
import { sealedOf, type JobRecord, type VoteRecord } from "../../src/worker/clients/chain";
import { Cursor, eventKey, readJson, writeJsonAtomic } from "../../src/worker/state/cursor";
import { SaltStore } from "../../src/worker/state/salts";

describe("worker cursor and salts", function () {
  let dir: string;
  const ESCROW = "0x" + "ab".repeat(20);
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "trustml-cursor-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("starts before the start block, persists block, keys and jobs, and resumes from them", function () {
    const file = path.join(dir, "cursor.json");
    const c = Cursor.open<{ n: number }>(file, 31337n, ESCROW, 100);
    expect(c.block).to.equal(99);
    c.markProcessed(eventKey({ transactionHash: "0xAA", index: 3 }));
    c.jobs.set("7", { n: 1 });
    c.save();
    const r = Cursor.open<{ n: number }>(file, 31337n, ESCROW, 100);
    expect(r.block).to.equal(99);
    expect(r.seen("0xaa:3", 120)).to.equal(true, "key kept across the restart");
    expect(r.seen("0xaa:4", 120)).to.equal(false);
    expect(r.jobs.get("7")).to.deep.equal({ n: 1 });
    r.advance(120);
    r.save();
    const s = Cursor.open<{ n: number }>(file, 31337n, ESCROW, 100);
    expect(s.block).to.equal(120);
    expect(s.seen("0xbb:0", 120)).to.equal(true, "every event up to the block is applied");
    expect(s.seen("0xaa:3", 121)).to.equal(false, "keys are dropped once the block covers them");
  });

  describe("across a reorganisation", function () {
    const hash = (n: number, fork = "a") => "0x" + `${fork}${n}`.padStart(64, "0");

    it("rewinds to a kept block: records back as they were there, jobs requested above it gone", function () {
      const c = Cursor.open<{ n: number }>(path.join(dir, "c.json"), 1n, ESCROW, 100);
      c.apply(100, "1", { n: 1 }); // requested in 100
      c.advance(100, [[100, hash(100)]]);
      c.apply(101, "1", { n: 2 }); // moved on in 101
      c.apply(101, "2", { n: 1 }); // requested in 101
      c.apply(101, "2", { n: 2 }); // and moved on in the same block: the journal keeps the record before the block
      c.advance(101, [[101, hash(101)]]);
      c.apply(102, "1", undefined); // settled in 102
      c.advance(102, [[102, hash(102)]]);
      expect(c.tip).to.deep.equal({ block: 102, hash: hash(102) });
      expect(c.checkpoints().map(([n]) => n)).to.deep.equal([102, 101, 100]);

      const done = c.rewind(100);
      expect(done).to.deep.equal({ depth: 2, dropped: ["2"], restored: ["1"] });
      expect(c.block).to.equal(100);
      expect([...c.jobs]).to.deep.equal([["1", { n: 1 }]]);
      expect(c.tip).to.deep.equal({ block: 100, hash: hash(100) });
      expect(c.seen("0xcc:0", 101)).to.equal(false, "the events above are read again");
    });

    it("undoes changes in the reverse of the order made, when a state read at the head came before events below it", function () {
      const c = Cursor.open<{ n: number }>(path.join(dir, "c.json"), 1n, ESCROW, 100);
      c.apply(100, "1", { n: 1 }); // requested in 100
      c.advance(100, [[100, hash(100)]]);
      c.apply(104, "1", undefined); // a tick read it Settled at head 104 before reading the events of 101
      c.apply(101, "1", undefined); // its ResultSubmitted of 101: no record left to change
      c.apply(101, "1", undefined); // its JobSettled of 101
      c.advance(101, [[101, hash(101)]]);
      // Block 101 and up dropped: the job is back as it was after 100 (block order alone would leave it gone).
      expect(c.rewind(100)).to.deep.include({ depth: 1, dropped: [], restored: ["1"] });
      expect([...c.jobs]).to.deep.equal([["1", { n: 1 }]]);
    });

    it("persists hashes and journal, so a restarted service can still rewind", function () {
      const file = path.join(dir, "c.json");
      const c = Cursor.open<{ n: number }>(file, 1n, ESCROW, 10);
      c.advance(10, [[10, hash(10)]]);
      c.apply(11, "7", { n: 1 });
      c.advance(11, [[11, hash(11)]]);
      c.save();
      const r = Cursor.open<{ n: number }>(file, 1n, ESCROW, 10);
      expect(r.checkpoints()).to.deep.equal([
        [11, hash(11)],
        [10, hash(10)],
      ]);
      expect(r.rewind(10).dropped).to.deep.equal(["7"]);
      expect(r.jobs.size).to.equal(0);
    });

    it("keeps `history` blocks of hashes and journal, and will not rewind below them", function () {
      const c = Cursor.open<{ n: number }>(path.join(dir, "c.json"), 1n, ESCROW, 1, { history: 4 });
      for (let n = 1; n <= 10; n++) {
        c.apply(n, String(n), { n });
        c.advance(n, [[n, hash(n)]]);
      }
      expect(c.checkpoints().map(([n]) => n)).to.deep.equal([10, 9, 8, 7, 6]);
      expect(() => c.rewind(5)).to.throw(/journal covers blocks above 6/);
      expect(c.rewind(6).dropped).to.deep.equal(["7", "8", "9", "10"]);
      expect(c.reset()).to.deep.equal({ depth: 6, dropped: ["1", "2", "3", "4", "5", "6"], restored: [] });
      expect(c.block).to.equal(0);
      expect(c.checkpoints()).to.deep.equal([]);
    });

    it("reads a version 1 file (no hashes yet) and writes version 2; refuses a version it does not know", function () {
      const file = path.join(dir, "c.json");
      writeFileSync(
        file,
        JSON.stringify({ version: 1, chainId: "1", escrow: ESCROW, block: 50, processed: [], jobs: { 3: { n: 3 } } }),
      );
      const c = Cursor.open<{ n: number }>(file, 1n, ESCROW, 0);
      expect(c.migratedFrom).to.equal(1);
      expect(c.block).to.equal(50);
      expect(c.jobs.get("3")).to.deep.equal({ n: 3 });
      expect(c.tip).to.equal(undefined, "nothing to check a reorganisation against yet");
      c.advance(51, [[51, hash(51)]]);
      c.save();
      const saved = JSON.parse(readFileSync(file, "utf8"));
      expect(saved.version).to.equal(2);
      expect(saved.hashes).to.deep.equal([[51, hash(51)]]);
      expect(Cursor.open(file, 1n, ESCROW, 0).migratedFrom).to.equal(undefined);
      writeFileSync(file, JSON.stringify({ ...saved, version: 3 }));
      expect(() => Cursor.open(file, 1n, ESCROW, 0)).to.throw(/has version 3; this worker reads versions 1 and 2/);
    });
  });

  it("dedupes event keys by transaction hash (any case) and log index", function () {
    const c = Cursor.open(path.join(dir, "c.json"), 1n, ESCROW, 0);
    const key = eventKey({ transactionHash: "0xABCDEF", index: 1 });
    expect(key).to.equal("0xabcdef:1");
    expect(c.seen(key, 5)).to.equal(false);
    c.markProcessed(key);
    expect(c.seen(eventKey({ transactionHash: "0xabcdef", index: 1 }), 5)).to.equal(true);
  });

  it("refuses a state file of another chain or escrow", function () {
    const file = path.join(dir, "c.json");
    Cursor.open(file, 1n, ESCROW, 0).save();
    expect(() => Cursor.open(file, 2n, ESCROW, 0)).to.throw(/belongs to escrow .* on chain 1/);
    expect(() => Cursor.open(file, 1n, "0x" + "cd".repeat(20), 0)).to.throw(/belongs to escrow/);
  });

  it("writes atomically: no temporary file is left and a reader never sees a partial file", function () {
    const file = path.join(dir, "sub", "state.json");
    writeJsonAtomic(file, { a: 1 });
    writeJsonAtomic(file, { a: 2, big: "x".repeat(100_000) });
    expect(readJson<{ a: number }>(file)!.a).to.equal(2);
    expect(readdirSync(path.dirname(file))).to.deep.equal(["state.json"]);
    expect(readJson(path.join(dir, "absent.json"))).to.equal(undefined);
    writeFileSync(file, '{"a": 1'); // what a non-atomic writer could leave behind
    expect(() => readJson(file)).to.throw(/corrupt state file/);
  });

  it("keeps a vote's salt on disk before it is used, and reuses it after a restart", function () {
    const store = SaltStore.forAccount(dir, "0xABC");
    const vote = store.prepare(5n, true, "agrees");
    expect(vote.salt).to.match(/^0x[0-9a-f]{64}$/);
    const onDisk = JSON.parse(readFileSync(store.file, "utf8"));
    expect(onDisk["5"]).to.deep.equal(vote);
    const again = SaltStore.forAccount(dir, "0xabc");
    expect(again.get(5n)).to.deep.equal(vote);
    expect(again.prepare(5n, false).agree).to.equal(true, "a stored vote is never replaced");
    again.delete(5n);
    expect(SaltStore.forAccount(dir, "0xabc").get(5n)).to.equal(undefined);
  });

  it("keeps a job's committed votes across a restart and seals them in commit order", function () {
    const file = path.join(dir, "cursor.json");
    const c = Cursor.open<Pick<JobRecord, "votes">>(file, 31337n, ESCROW, 0);
    const commitment = (n: number) => "0x" + n.toString(16).padStart(64, "0");
    // Applied out of order (a re-read chunk): seat 2 in block 11, seat 0 in block 12 before seat 1 in it.
    const votes: VoteRecord[] = [
      { seat: 1, commitment: commitment(11), blockNumber: 12, index: 5 },
      { seat: 2, commitment: commitment(12), blockNumber: 11, index: 0 },
      { seat: 0, commitment: commitment(10), blockNumber: 12, index: 2 },
    ];
    c.jobs.set("9", { votes });
    c.save();
    const restored = Cursor.open<Pick<JobRecord, "votes">>(file, 31337n, ESCROW, 0).jobs.get("9")!.votes!;
    expect(restored).to.deep.equal(votes);
    expect(sealedOf(restored)).to.deep.equal([
      sealCommitment(2n, commitment(12)),
      sealCommitment(0n, commitment(10)),
      sealCommitment(1n, commitment(11)),
    ]);
  });

  it("keys jobs and salts by 256-bit job ids (hashes) exactly, across restarts", function () {
    // Two ids that collide once rounded to a double: only exact decimal keys keep them apart.
    const id = jobIdOf(
      {
        id: 0n,
        nonce: 1n,
        requester: "0x" + "01".repeat(20),
        modelOwner: "0x" + "02".repeat(20),
        modelId: 1n,
        version: 1n,
        mode: 2n,
        committeeSize: 3n,
        royaltyBps: 500n,
        protocolFeeBps: 200n,
        verifierShareBps: 1000n,
        paramsId: 1n,
        callbackGasLimit: 0n,
        deadline: 1_800_000_000n,
        fee: 10n ** 18n,
        collateral: 10n ** 18n,
        inputHash: "0x" + "ab".repeat(32),
      },
      { chainId: 31337n, escrow: ESCROW },
    );
    const near = id ^ 1n;
    expect(id > 2n ** 200n).to.equal(true, "a hash, not a counter");
    expect(Number(id)).to.equal(Number(near));

    const file = path.join(dir, "cursor.json");
    const c = Cursor.open<{ n: number }>(file, 31337n, ESCROW, 0);
    c.jobs.set(String(id), { n: 1 });
    c.jobs.set(String(near), { n: 2 });
    c.save();
    const r = Cursor.open<{ n: number }>(file, 31337n, ESCROW, 0);
    expect(r.jobs.get(String(id))).to.deep.equal({ n: 1 });
    expect(r.jobs.get(String(near))).to.deep.equal({ n: 2 });
    expect([...r.jobs.keys()].map(BigInt)).to.have.members([id, near]);

    const store = SaltStore.forAccount(dir, "0xabc");
    const vote = store.prepare(id, true, "agrees");
    const other = store.prepare(String(near), false, "differs");
    const again = SaltStore.forAccount(dir, "0xabc");
    expect(again.get(String(id))).to.deep.equal(vote, "a bigint and its decimal string name the same job");
    expect(again.get(near)).to.deep.equal(other);
    again.delete(id);
    expect(SaltStore.forAccount(dir, "0xabc").ids()).to.deep.equal([String(near)]);
  });
});
