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
} from "../../src/worker/sender";

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
  const mine = (hash: string, status = 1) =>
    void receipts.set(hash, { hash, status, blockNumber: 1, gasUsed: 21_000n } as unknown as TransactionReceipt);
  const signer: SenderSigner = {
    getAddress: async () => "0x" + "11".repeat(20),
    provider: {
      getTransactionCount: async () => {
        countCalls++;
        return startNonce + new Set(sent.map((s) => s.nonce)).size;
      },
      // A base fee of 100 and a tip of 10, as a node answers: twice the base fee plus the tip.
      getFeeData: async () => ({ gasPrice: null, maxFeePerGas: 210n, maxPriorityFeePerGas: 10n }),
      getTransactionReceipt: async (hash: string) => receipts.get(hash) ?? null,
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
});
