import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { TransactionReceipt, TransactionRequest } from "ethers";
import { deployProtocolFixture } from "../fixtures/protocol";
import {
  bumpFees,
  classifyError,
  GAS_HEADROOM_PERCENT,
  PROTOCOL_ERRORS,
  TxSender,
  txCall,
  withRetry,
  type Fees,
  type SenderSigner,
  type TxCall,
} from "../../src/worker/clients/sender";

const revert = (name: string, args: unknown[]) =>
  Object.assign(new Error("execution reverted"), {
    code: "CALL_EXCEPTION",
    data: PROTOCOL_ERRORS.encodeErrorResult(name, args),
  });
const transient = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8545"), { code: "NETWORK_ERROR" });

/**
 * A signer that records its broadcasts; `failures` makes the next sends throw these errors first. Transactions
 * are mined as they are sent unless `hold()` was called; then `mine(hash)` mines one.
 */
function fakeSigner(failures: Error[] = [], startNonce = 7) {
  const sent: { nonce: number; label: unknown; hash: string; fees: Fees }[] = [];
  const receipts = new Map<string, TransactionReceipt>();
  let countCalls = 0;
  let automine = true;
  let chainTime = 1_000;
  let head = 1;
  const mine = (hash: string, status = 1) =>
    void receipts.set(hash, { hash, status, blockNumber: 1, gasUsed: 21_000n } as unknown as TransactionReceipt);
  const signer: SenderSigner = {
    getAddress: async () => "0x" + "11".repeat(20),
    provider: {
      getTransactionCount: async (_address: string, tag?: string) => {
        if (tag === "latest") {
          // The nonces mined in a row from the start.
          let n = startNonce;
          while (sent.some((s) => s.nonce === n && receipts.has(s.hash))) n++;
          return n;
        }
        countCalls++;
        return startNonce + new Set(sent.map((s) => s.nonce)).size;
      },
      // A base fee of 100 and a tip of 10, as a node answers: twice the base fee plus the tip.
      getFeeData: async () => ({ gasPrice: null, maxFeePerGas: 210n, maxPriorityFeePerGas: 10n }),
      getTransactionReceipt: async (hash: string) => receipts.get(hash) ?? null,
      getBlockNumber: async () => head,
      getBlock: async () => ({ timestamp: chainTime }),
    },
    sendTransaction: async (tx: TransactionRequest) => {
      await new Promise((r) => setTimeout(r, Math.random() * 5));
      const f = failures.shift();
      if (f) throw f;
      const hash = "0x" + String(sent.length + 1).padStart(64, "0");
      const fees =
        tx.gasPrice != null
          ? { gasPrice: BigInt(tx.gasPrice) }
          : { maxFeePerGas: BigInt(tx.maxFeePerGas!), maxPriorityFeePerGas: BigInt(tx.maxPriorityFeePerGas!) };
      sent.push({ nonce: Number(tx.nonce), label: tx.data, hash, fees });
      if (automine) mine(hash);
      return { hash };
    },
  };
  return {
    signer,
    sent,
    countCalls: () => countCalls,
    hold: () => void (automine = false),
    mine,
    setChainTime: (t: number) => void (chainTime = t),
    setHead: (n: number) => void (head = n),
  };
}

/** Resolves once `cond` holds (polled every 2 ms), or throws after `ms`. */
async function until(what: string, cond: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const call = (label: string, simulate: () => Promise<unknown> = async () => true): TxCall => ({
  staticCall: simulate,
  populate: async () => ({ to: "0x" + "22".repeat(20), data: label }),
});

describe("worker sender", function () {
  const noSleep = { sleep: async () => undefined };

  it("retries transient errors with growing backoff, up to the bound", async function () {
    const delays: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async () => {
        if (++calls < 4) throw transient();
        return "ok";
      },
      { retries: 5, baseDelayMs: 100, sleep: async (ms) => void delays.push(ms) },
    );
    expect(result).to.equal("ok");
    expect(calls).to.equal(4);
    expect(delays).to.have.length(3);
    delays.forEach((d, i) => expect(d).to.be.within(50 * 2 ** i, 100 * 2 ** i));

    calls = 0;
    const err = await withRetry(
      async () => {
        calls++;
        throw transient();
      },
      { retries: 2, baseDelayMs: 1, ...noSleep },
    ).catch((e) => e);
    expect(calls).to.equal(3, "one try and two retries");
    expect(classifyError(err).kind).to.equal("transient");
  });

  it("never retries a revert", async function () {
    let calls = 0;
    const err = await withRetry(
      async () => {
        calls++;
        throw revert("JobEscrowEmptyOutput", [1n]);
      },
      { retries: 5, baseDelayMs: 1, ...noSleep },
    ).catch((e) => e);
    expect(calls).to.equal(1);
    expect(classifyError(err)).to.include({ kind: "revert", name: "JobEscrowEmptyOutput" });
  });

  it("classifies reverts: already done, too late, not yet, real errors", function () {
    expect(classifyError(revert("JobEscrowInvalidStatus", [3n, 4])).kind).to.equal("already-done");
    expect(classifyError(revert("JobEscrowInvalidVoteState", [3n, "0x" + "11".repeat(20), 2])).kind).to.equal(
      "already-done",
    );
    expect(classifyError(revert("JobEscrowCommitWindowClosed", [3n, 100n])).kind).to.equal("too-late");
    expect(classifyError(revert("JobEscrowRevealNotOpen", [3n, 100n])).kind).to.equal("not-yet");
    expect(classifyError(revert("JobEscrowSeedPending", [3n, 41n]))).to.include({
      kind: "not-yet",
      name: "JobEscrowSeedPending",
    });
    const staking = revert("VerifierStakingInsufficientStake", ["0x" + "11".repeat(20), 1n, 2n]);
    expect(classifyError(staking)).to.include({ kind: "revert", name: "VerifierStakingInsufficientStake" });
    const nested = {
      code: "UNKNOWN_ERROR",
      error: { error: { data: revert("JobEscrowInvalidStatus", [1n, 5]).data } },
    };
    expect(classifyError(nested).kind).to.equal("already-done", "revert data nested in a provider error");
    expect(classifyError(new Error("nonce too low")).kind).to.equal("nonce");
    expect(classifyError(Object.assign(new Error("x"), { code: "INSUFFICIENT_FUNDS" })).kind).to.equal("fatal");
  });

  it("classifies a real revert from the escrow: claiming a job someone already claimed is 'already done'", async function () {
    const p = await loadFixture(deployProtocolFixture);
    const job = await p.request(p.models.none);
    await p.escrow.connect(p.worker).claim(job);
    const sender = new TxSender(p.verifiers[0] as unknown as SenderSigner, { retries: 2, baseDelayMs: 1 });
    const outcome = await sender.send("claim", txCall(p.escrow.connect(p.verifiers[0]).claim, job));
    expect(outcome.ok).to.equal(false);
    if (!outcome.ok) expect(outcome.error).to.include({ kind: "already-done", name: "JobEscrowInvalidStatus" });
    const mine = new TxSender(p.worker as unknown as SenderSigner, { retries: 2, baseDelayMs: 1 });
    const empty = await mine.send("submit", txCall(p.escrow.connect(p.worker).submitResult, job, "0x"));
    expect(empty.ok).to.equal(false);
    if (!empty.ok) expect(empty.error).to.include({ kind: "revert", name: "JobEscrowEmptyOutput" });
    const done = await mine.send("submit", txCall(p.escrow.connect(p.worker).submitResult, job, "0x01"));
    expect(done.ok).to.equal(true);
  });

  it("runs a call once before sending (its gas estimate) unless its result is wanted", async function () {
    const p = await loadFixture(deployProtocolFixture);
    const [a, b] = [await p.request(p.models.none), await p.request(p.models.none)];
    let simulations = 0;
    const counted = (call: ReturnType<typeof txCall>) => ({
      ...call,
      staticCall: () => (simulations++, call.staticCall()),
    });
    const sender = new TxSender(p.worker as unknown as SenderSigner, { retries: 0, baseDelayMs: 1 });
    const escrow = p.escrow.connect(p.worker);
    const plain = await sender.send("submit", counted(txCall(escrow.submitResult, a, "0x01")));
    expect(plain.ok).to.equal(true);
    expect(simulations).to.equal(0);
    const wanted = await sender.send(
      "submitResults",
      counted(txCall(escrow.submitResults, [b], ["0x02"])),
      {},
      { result: true },
    );
    expect(simulations).to.equal(1);
    expect(wanted.ok).to.equal(true);
    // Without the simulation, a revert still comes back classified, from the estimate.
    const again = await sender.send("submit", counted(txCall(escrow.submitResult, a, "0x01")));
    expect(simulations).to.equal(1);
    if (again.ok) throw new Error("a second submission was sent");
    expect(again.error).to.include({ kind: "already-done", name: "JobEscrowInvalidStatus" });
    expect(again.hash).to.equal(undefined);
  });

  it("does not send when skipIf finds a reason in the simulation's result", async function () {
    const f = fakeSigner();
    const sender = new TxSender(f.signer, { retries: 2, baseDelayMs: 1, ...noSleep });
    const skipIf = (n: unknown) => (n === 0n ? "nothing to draw" : undefined);
    const skipped = await sender.send(
      "draw",
      call("0x01", async () => 0n),
      {},
      { skipIf },
    );
    expect(skipped).to.deep.equal({ ok: false, error: { kind: "already-done", message: "nothing to draw" } });
    expect(f.sent).to.deep.equal([]);
    const sent = await sender.send(
      "draw",
      call("0x02", async () => 2n),
      {},
      { skipIf },
    );
    expect(sent).to.include({ ok: true, result: 2n });
    expect(f.sent.map((s) => s.label)).to.deep.equal(["0x02"]);
  });

  it("owns the nonce: concurrent sends get consecutive nonces in call order", async function () {
    const f = fakeSigner();
    const sender = new TxSender(f.signer, { retries: 2, baseDelayMs: 1, ...noSleep });
    const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => sender.send(`t${i}`, call(`0x0${i}`))));
    expect(outcomes.every((o) => o.ok)).to.equal(true);
    expect(f.sent.map((s) => s.nonce)).to.deep.equal(Array.from({ length: 12 }, (_, i) => 7 + i));
    expect(f.sent.map((s) => s.label)).to.deep.equal(Array.from({ length: 12 }, (_, i) => `0x0${i}`));
    expect(f.countCalls()).to.equal(1, "the nonce is read once, then counted locally");
  });

  it("sends with the gas estimate plus GAS_HEADROOM_PERCENT when the signer estimates", async function () {
    const f = fakeSigner();
    const limits: unknown[] = [];
    const send = f.signer.sendTransaction;
    const signer: SenderSigner = {
      ...f.signer,
      estimateGas: async () => 200_000n,
      sendTransaction: (tx) => {
        limits.push(tx.gasLimit);
        return send(tx);
      },
    };
    const outcome = await new TxSender(signer, { retries: 0, ...noSleep }).send("t", call("0x01"));
    expect(outcome.ok).to.equal(true);
    expect(limits).to.deep.equal([(200_000n * (100n + GAS_HEADROOM_PERCENT)) / 100n]);
    expect(GAS_HEADROOM_PERCENT).to.equal(25n);
  });

  it("resynchronises the nonce after a nonce error, retries a transient send, and simulates first", async function () {
    const f = fakeSigner([new Error("nonce too low: next nonce 9"), transient()]);
    const sender = new TxSender(f.signer, { retries: 3, baseDelayMs: 1, ...noSleep });
    const outcome = await sender.send("t", call("0x01"));
    expect(outcome.ok).to.equal(true);
    expect(f.countCalls()).to.equal(3);
    expect(f.sent).to.have.length(1);

    const refused = await sender.send(
      "r",
      call("0x02", async () => Promise.reject(revert("JobEscrowInvalidStatus", [1n, 4]))),
    );
    expect(refused.ok).to.equal(false);
    expect(f.sent).to.have.length(1, "a call that would revert is never sent");
    const next = await sender.send("n", call("0x03"));
    expect(next.ok).to.equal(true);
    expect(f.sent.map((s) => s.nonce)).to.deep.equal([7, 8]);
  });

  it("a transaction mined reverted is re-simulated: a job someone else moved on is 'already done', not a failure", async function () {
    // Every transaction is mined, and reverts (status 0).
    const f = fakeSigner();
    const signer: SenderSigner = {
      ...f.signer,
      provider: {
        ...f.signer.provider!,
        getTransactionReceipt: async (hash) => ({ hash, status: 0, blockNumber: 1 }) as unknown as TransactionReceipt,
      },
      sendTransaction: async () => ({ hash: "0x" + "ab".repeat(32) }),
    };
    const sender = new TxSender(signer, { retries: 2, baseDelayMs: 1, ...noSleep });
    // The simulation before sending passes; another party's transaction lands first, so the one after reverts.
    let simulations = 0;
    const raced = await sender.send(
      "proveFraud",
      call("0x01", async () => {
        if (++simulations > 1) throw revert("JobEscrowInvalidStatus", [1n, 5]);
        return undefined;
      }),
    );
    expect(raced).to.deep.include({ ok: false, hash: "0x" + "ab".repeat(32) });
    expect(simulations).to.equal(2);
    expect(!raced.ok && raced.error).to.deep.include({
      kind: "already-done",
      name: "JobEscrowInvalidStatus",
      message: "mined and reverted: JobEscrowInvalidStatus(1, 5)",
    });
    // When the call still passes in simulation, nothing explains the revert: it stays a revert.
    const unexplained = await sender.send("t", call("0x02"));
    expect(!unexplained.ok && unexplained.error.kind).to.equal("revert");
  });

  describe("fees", function () {
    it("sends EIP-1559 fees as the node asks them (twice the base fee plus the tip), within the ceiling", async function () {
      const f = fakeSigner();
      expect((await new TxSender(f.signer, { retries: 0, ...noSleep }).send("t", call("0x01"))).ok).to.equal(true);
      const capped = new TxSender(f.signer, { retries: 0, maxFeePerGas: 150n, ...noSleep });
      expect((await capped.send("t", call("0x02"))).ok).to.equal(true);
      expect(f.sent.map((s) => s.fees)).to.deep.equal([
        { maxFeePerGas: 210n, maxPriorityFeePerGas: 10n },
        { maxFeePerGas: 150n, maxPriorityFeePerGas: 10n },
      ]);
    });

    it("sends a legacy gas price only when the chain has no base fee", async function () {
      const f = fakeSigner();
      const signer: SenderSigner = {
        ...f.signer,
        provider: {
          ...f.signer.provider!,
          getFeeData: async () => ({ gasPrice: 77n, maxFeePerGas: null, maxPriorityFeePerGas: null }),
        },
      };
      expect((await new TxSender(signer, { retries: 0, ...noSleep }).send("t", call("0x01"))).ok).to.equal(true);
      expect(f.sent[0].fees).to.deep.equal({ gasPrice: 77n });
    });

    it("bumpFees raises both fields by the bump, to at least what the node asks now, and refuses a capped bump", function () {
      const prev = { maxFeePerGas: 1000n, maxPriorityFeePerGas: 100n };
      expect(bumpFees(prev, { maxFeePerGas: 900n, maxPriorityFeePerGas: 10n }, 125n)).to.deep.equal({
        maxFeePerGas: 1125n,
        maxPriorityFeePerGas: 113n, // 112.5 rounded up: a replacement must never fall short of the node's 10 %
      });
      // The base fee rose meanwhile: the node's own figure (base fee × 2 + tip) wins.
      expect(bumpFees(prev, { maxFeePerGas: 5000n, maxPriorityFeePerGas: 300n }, 125n)).to.deep.equal({
        maxFeePerGas: 5000n,
        maxPriorityFeePerGas: 300n,
      });
      expect(bumpFees(prev, prev, 125n, 1200n)).to.deep.equal({ maxFeePerGas: 1125n, maxPriorityFeePerGas: 113n });
      expect(bumpFees(prev, prev, 125n, 1050n)).to.equal(undefined, "under the 10 % nodes demand: pointless");
      expect(bumpFees({ gasPrice: 1n }, { gasPrice: 1n }, 125n)).to.deep.equal({ gasPrice: 2n });
    });
  });

  describe("pipelining", function () {
    it("broadcasts later transactions while earlier ones are unmined, up to maxInFlight", async function () {
      const f = fakeSigner();
      f.hold();
      const sender = new TxSender(f.signer, { retries: 0, maxInFlight: 2, receiptPollMs: 2, ...noSleep });
      const outcomes = [0, 1, 2].map((i) => sender.send(`t${i}`, call(`0x0${i}`)));
      await until("two broadcasts", () => f.sent.length === 2);
      await new Promise((r) => setTimeout(r, 30));
      expect(f.sent.map((s) => s.nonce)).to.deep.equal([7, 8], "the third waits: two are in flight");
      expect(sender.inFlight).to.equal(2);
      f.mine(f.sent[1].hash);
      await until("the third broadcast", () => f.sent.length === 3);
      f.mine(f.sent[0].hash);
      f.mine(f.sent[2].hash);
      const done = await Promise.all(outcomes);
      expect(done.map((o) => o.ok && o.hash)).to.deep.equal(f.sent.map((s) => s.hash));
      expect(f.sent.map((s) => s.nonce)).to.deep.equal([7, 8, 9]);
      expect(sender.inFlight).to.equal(0);
    });

    it("resolves a send once its receipt has the confirmations asked", async function () {
      const f = fakeSigner();
      const sender = new TxSender(f.signer, { retries: 0, confirmations: 3, receiptPollMs: 2, ...noSleep });
      let done = false;
      const outcome = sender.send("t", call("0x01")).then((o) => ((done = true), o));
      await until("the broadcast", () => f.sent.length === 1);
      f.setHead(2); // mined in block 1: two confirmations
      await new Promise((r) => setTimeout(r, 30));
      expect(done).to.equal(false);
      f.setHead(3);
      expect((await outcome).ok).to.equal(true);
    });

    it("gives a waiting send with an earlier deadline the next nonce", async function () {
      const f = fakeSigner();
      f.hold();
      const sender = new TxSender(f.signer, { retries: 0, maxInFlight: 1, receiptPollMs: 2, ...noSleep });
      const settle = sender.send("settle", call("0x01"));
      await until("the first broadcast", () => f.sent.length === 1);
      const outcomes = [
        sender.send("later", call("0x02")),
        sender.send("reveal-late", call("0x03"), {}, { deadline: 2_000 }),
        sender.send("reveal-soon", call("0x04"), {}, { deadline: 1_500n }),
      ];
      await new Promise((r) => setTimeout(r, 20));
      for (let i = 0; i < 4; i++) {
        await until(`broadcast ${i + 1}`, () => f.sent.length === i + 1);
        f.mine(f.sent[i].hash);
      }
      expect((await Promise.all([settle, ...outcomes])).every((o) => o.ok)).to.equal(true);
      expect(f.sent.map((s) => s.label)).to.deep.equal(["0x01", "0x04", "0x03", "0x02"]);
      expect(f.sent.map((s) => s.nonce)).to.deep.equal([7, 8, 9, 10]);
    });

    it("reads the nonce again after a failed broadcast, so the nonce it never used is no gap", async function () {
      const funds = Object.assign(new Error("insufficient funds for gas * price + value"), {
        code: "INSUFFICIENT_FUNDS",
      });
      const f = fakeSigner();
      f.hold();
      const sender = new TxSender(f.signer, { retries: 0, receiptPollMs: 2, ...noSleep });
      const first = sender.send("a", call("0x01"));
      await until("the first broadcast", () => f.sent.length === 1);
      expect(sender.pendingNonce).to.equal(8);
      const send = f.signer.sendTransaction;
      f.signer.sendTransaction = async () => Promise.reject(funds);
      const failed = await sender.send("b", call("0x02"));
      expect(!failed.ok && failed.error.kind).to.equal("fatal");
      expect(sender.pendingNonce).to.equal(undefined, "nonce 8 was assigned and not used: forgotten");
      f.signer.sendTransaction = send;
      const third = sender.send("c", call("0x03"));
      await until("the third broadcast", () => f.sent.length === 2);
      f.sent.forEach((s) => f.mine(s.hash));
      expect((await first).ok && (await third).ok).to.equal(true);
      expect(f.sent.map((s) => s.nonce)).to.deep.equal([7, 8]);
      expect(f.countCalls()).to.equal(2, "read at the start and after the failure");
    });
  });

  describe("replacement", function () {
    const fast = { retries: 0, receiptTimeoutMs: 30, receiptPollMs: 2, maxReplacements: 3, ...noSleep };

    it("re-sends the same nonce with fees raised 12.5 % when not mined in time, until one is mined", async function () {
      const f = fakeSigner();
      f.hold();
      const replaced: [string, number][] = [];
      const sender = new TxSender(f.signer, { ...fast, onReplaced: (label, n) => void replaced.push([label, n]) });
      const outcome = sender.send("reveal", call("0x01"));
      await until("two replacements", () => f.sent.length === 3);
      f.mine(f.sent[2].hash);
      const o = await outcome;
      expect(o.ok && o.hash).to.equal(f.sent[2].hash);
      expect(f.sent.map((s) => s.nonce)).to.deep.equal([7, 7, 7]);
      expect(f.sent.map((s) => s.label)).to.deep.equal(["0x01", "0x01", "0x01"]);
      expect(f.sent.map((s) => s.fees)).to.deep.equal([
        { maxFeePerGas: 210n, maxPriorityFeePerGas: 10n },
        { maxFeePerGas: 237n, maxPriorityFeePerGas: 12n },
        { maxFeePerGas: 267n, maxPriorityFeePerGas: 14n },
      ]);
      expect(replaced).to.deep.equal([
        ["reveal", 1],
        ["reveal", 2],
      ]);
    });

    it("counts the original mined after a replacement was sent", async function () {
      const f = fakeSigner();
      f.hold();
      const sender = new TxSender(f.signer, fast);
      const outcome = sender.send("t", call("0x01"));
      await until("a replacement", () => f.sent.length === 2);
      f.mine(f.sent[0].hash);
      const o = await outcome;
      expect(o.ok && o.hash).to.equal(f.sent[0].hash);
      expect(o.ok && o.receipt?.hash).to.equal(f.sent[0].hash);
    });

    it("looks at the earlier broadcasts' receipts when a replacement meets 'nonce too low'", async function () {
      const f = fakeSigner();
      f.hold();
      const sender = new TxSender(f.signer, fast);
      const outcome = sender.send("t", call("0x01"));
      await until("the broadcast", () => f.sent.length === 1);
      // Mined between the last look and the replacement, which the node then refuses.
      f.signer.sendTransaction = async () => {
        f.mine(f.sent[0].hash);
        throw Object.assign(new Error("nonce too low"), { code: "NONCE_EXPIRED" });
      };
      const o = await outcome;
      expect(o.ok && o.hash).to.equal(f.sent[0].hash);
    });

    it("gives up with a 'nonce' error when another transaction took the nonce", async function () {
      const f = fakeSigner();
      f.hold();
      const sender = new TxSender(f.signer, fast);
      const outcome = sender.send("t", call("0x01"));
      await until("the broadcast", () => f.sent.length === 1);
      let refused = 0;
      f.signer.sendTransaction = async () => {
        refused++;
        throw Object.assign(new Error("nonce too low"), { code: "NONCE_EXPIRED" });
      };
      const o = await outcome;
      expect(!o.ok && o.error.kind).to.equal("nonce");
      expect(refused).to.equal(1, "no replacement is tried once the nonce is used");
      expect(sender.pendingNonce).to.equal(undefined);
    });

    it("re-prices a transaction holding up a later one with a deadline, and not the one held up", async function () {
      const f = fakeSigner();
      f.hold();
      f.setChainTime(1_000);
      const replaced: string[] = [];
      const sender = new TxSender(f.signer, {
        ...fast,
        receiptTimeoutMs: 10_000,
        minReceiptTimeoutMs: 20,
        maxReplacements: 4,
        onReplaced: (label) => void replaced.push(label),
      });
      const settle = sender.send("settle", call("0x01"));
      await until("the settlement's broadcast", () => f.sent.length === 1);
      // Due in half a second: its nonce comes after the settlement's, which must be mined first.
      const reveal = sender.send("reveal", call("0x02"), {}, { deadline: 1_000.5 });
      await until("a replacement", () => replaced.length > 0);
      expect(replaced).to.deep.equal(["settle"]);
      await new Promise((r) => setTimeout(r, 150));
      expect(replaced).to.not.include("reveal", "the reveal waits behind the settlement: re-sending it is no use");
      f.mine(f.sent.at(-1)!.hash);
      f.mine(f.sent.find((s) => s.label === "0x02")!.hash);
      expect((await settle).ok && (await reveal).ok).to.equal(true);
      expect(f.sent.filter((s) => s.label === "0x02")).to.have.length(1);
    });

    it("sends no replacement above the fee ceiling, and gives up after maxReplacements timeouts", async function () {
      const f = fakeSigner();
      f.hold();
      const replaced: string[] = [];
      const sender = new TxSender(f.signer, {
        ...fast,
        maxFeePerGas: 220n, // the first broadcast's 210 raised 10 % is above it
        onReplaced: (label) => void replaced.push(label),
      });
      const o = await sender.send("t", call("0x01"));
      expect(!o.ok && o.error.kind).to.equal("transient");
      expect(f.sent).to.have.length(1);
      expect(replaced).to.deep.equal([]);
    });

    it("gives up after maxReplacements, and reads the nonce from the node again", async function () {
      const f = fakeSigner();
      f.hold();
      const sender = new TxSender(f.signer, fast);
      const o = await sender.send("t", call("0x01"));
      expect(o).to.deep.include({ ok: false, hash: f.sent[0].hash });
      expect(!o.ok && o.error).to.deep.equal({
        kind: "transient",
        message: "not mined after 3 replacements (nonce 7)",
      });
      expect(f.sent).to.have.length(4);
      expect(sender.pendingNonce).to.equal(undefined);
      expect(sender.inFlight).to.equal(0);
    });

    it("after a reorganisation (reset) stops waiting for the sends in flight and reads the nonce again", async function () {
      const f = fakeSigner();
      f.hold();
      const outcomes: string[] = [];
      const sender = new TxSender(f.signer, {
        ...fast,
        receiptTimeoutMs: 60_000,
        onOutcome: (_label, result) => outcomes.push(result),
      });
      const stuck = sender.send("t", call("0x01"));
      await until("the broadcast", () => f.sent.length === 1);
      const countsBefore = f.countCalls();
      sender.reset();
      const o = await stuck; // well before the 60 s receipt timeout
      expect(o).to.deep.include({ ok: false, hash: f.sent[0].hash });
      expect(!o.ok && o.error.kind).to.equal("transient");
      expect(outcomes).to.deep.equal(["abandoned"]);
      expect(f.sent).to.have.length(1, "nothing re-sent over a nonce a new transaction may take");
      expect(sender.inFlight).to.equal(0);
      // The next send counts its nonce from the node again.
      const next = sender.send("t", call("0x02"));
      await until("the next broadcast", () => f.sent.length === 2);
      expect(f.countCalls()).to.equal(countsBefore + 1);
      f.mine(f.sent[1].hash);
      expect((await next).ok).to.equal(true);
    });

    it("re-prices a send whose deadline is near sooner than one without", async function () {
      const f = fakeSigner();
      f.hold();
      f.setChainTime(1_000);
      const slow = { ...fast, receiptTimeoutMs: 10_000, minReceiptTimeoutMs: 20, maxReplacements: 4 };
      const replaced: string[] = [];
      const sender = new TxSender(f.signer, { ...slow, onReplaced: (label) => void replaced.push(label) });
      // 0.5 s left on the chain's clock, shared by the broadcast and its four replacements: 100 ms each.
      const urgent = sender.send("reveal", call("0x01"), {}, { deadline: 1_000.5 });
      const relaxed = sender.send("settle", call("0x02"));
      const started = Date.now();
      await until("a replacement", () => replaced.length > 0);
      expect(Date.now() - started).to.be.below(1_000);
      expect(replaced).to.deep.equal(["reveal"]);
      f.sent.forEach((s) => f.mine(s.hash));
      expect((await urgent).ok && (await relaxed).ok).to.equal(true);
    });
  });
});
