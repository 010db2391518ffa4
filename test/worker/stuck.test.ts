import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { toQuantity, type TransactionRequest } from "ethers";
import { VoteState } from "../../packages/sdk/src/params";
import { sealedCommitments } from "../../packages/sdk/src/votes";
import {
  TxSender,
  txCall,
  type SenderProvider,
  type SenderSigner,
  type TxOutcome,
} from "../../src/worker/clients/sender";
import { commitAll, committeeVotingFixture, saltOf, seatOf } from "../fixtures/verification";

/** One broadcast, as the node received it. */
interface Broadcast {
  to: string;
  nonce: number;
  hash: string;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** `signer` as the sender sees it, recording every broadcast. */
function recording(signer: HardhatEthersSigner): { signer: SenderSigner; broadcasts: Broadcast[] } {
  const broadcasts: Broadcast[] = [];
  return {
    broadcasts,
    signer: {
      getAddress: () => signer.getAddress(),
      provider: signer.provider as unknown as SenderProvider,
      estimateGas: (tx: TransactionRequest) => signer.estimateGas(tx),
      sendTransaction: async (tx: TransactionRequest) => {
        const response = await signer.sendTransaction(tx);
        broadcasts.push({
          to: String(tx.to),
          nonce: Number(tx.nonce),
          hash: response.hash,
          maxFeePerGas: BigInt(tx.maxFeePerGas!),
          maxPriorityFeePerGas: BigInt(tx.maxPriorityFeePerGas!),
        });
        return response;
      },
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Mines a block every `ms` with the base fee `baseFee`, as a congested chain would, until the returned stop. */
function congestedChain(baseFee: bigint, ms = 40): () => Promise<void> {
  let on = true;
  const done = (async () => {
    while (on) {
      await network.provider.send("hardhat_setNextBlockBaseFeePerGas", [toQuantity(baseFee)]);
      await network.provider.send("evm_mine", []);
      await sleep(ms);
    }
  })();
  return async () => {
    on = false;
    await done;
  };
}

/** `outcome`, or a failure after `ms` (a transaction that stays stuck never resolves). */
function within(ms: number, outcome: Promise<TxOutcome>, what: string): Promise<TxOutcome> {
  return Promise.race([outcome, sleep(ms).then(() => Promise.reject(new Error(`${what}: not mined within ${ms} ms`)))]);
}

describe("worker sender on a chain that leaves its transaction unmined (automine off)", function () {
  this.timeout(60_000);

  let baseFee: bigint | undefined;
  let stopMining: (() => Promise<void>) | undefined;
  let sent: { hash: string }[] = [];

  afterEach(async function () {
    await stopMining?.();
    stopMining = undefined;
    // Nothing of this test may stay in the pool, nor its base fee, for the next tests on this network.
    for (const { hash } of sent) {
      await network.provider.send("hardhat_dropTransaction", [hash]).catch(() => undefined); // mined: nothing to drop
    }
    sent = [];
    await network.provider.send("evm_setAutomine", [true]);
    if (baseFee !== undefined) {
      await network.provider.send("hardhat_setNextBlockBaseFeePerGas", [toQuantity(baseFee)]);
      await network.provider.send("evm_mine", []);
    }
  });

  it("re-sends a verifier's under-priced reveal with higher fees, and it is mined before the reveal window closes; the key's next transaction is not held up", async function () {
    const v = await loadFixture(committeeVotingFixture);
    const jobId = BigInt(v.job.id);
    await commitAll(v, jobId, v.members, [true, true, true]); // every member committed: reveals are open
    const member = v.members[0];
    const seat = await seatOf(v, jobId, member.address);
    const sealed = await sealedCommitments(v.escrow, jobId);
    baseFee = (await ethers.provider.getBlock("latest"))!.baseFeePerGas!;

    const { signer, broadcasts } = recording(member);
    sent = broadcasts;
    const replaced: string[] = [];
    const sender = new TxSender(signer, {
      retries: 1,
      baseDelayMs: 10,
      receiptTimeoutMs: 600,
      receiptPollMs: 20,
      maxReplacements: 4,
      onReplaced: (label) => void replaced.push(label),
    });
    await network.provider.send("evm_setAutomine", [false]);
    const escrow = v.escrow.connect(member);
    const reveal = sender.send(
      "revealVote",
      txCall(escrow.revealVote, jobId, seat, true, saltOf(jobId, member.address), sealed),
      { jobId },
      { deadline: v.revealEnd },
    );
    while (broadcasts.length === 0) await sleep(10);
    // From now on every block's base fee is above what the reveal offered: as sent, it stays in the pool.
    stopMining = congestedChain(broadcasts[0].maxFeePerGas + 1n);
    // The same key's next duty, sent while the reveal is stuck.
    const approve = sender.send("approve", txCall(v.token.connect(member).approve, v.escrow, 1n));

    const [revealed, approved] = await Promise.all([
      within(20_000, reveal, "the reveal"),
      within(20_000, approve, "the approve"),
    ]);
    await stopMining();
    stopMining = undefined;

    const escrowAddress = await v.escrow.getAddress();
    const reveals = broadcasts.filter((b) => b.to === escrowAddress);
    const approves = broadcasts.filter((b) => b.to !== escrowAddress);
    expect(revealed.ok, "the reveal is mined").to.equal(true);
    expect(approved.ok, "the approve is mined").to.equal(true);
    expect(replaced).to.include("revealVote");
    expect(reveals.length).to.be.greaterThan(1);
    expect(new Set(reveals.map((b) => b.nonce)).size).to.equal(1, "every broadcast of the reveal has its nonce");
    for (let i = 1; i < reveals.length; i++) {
      expect(reveals[i].maxFeePerGas * 1000n).to.be.at.least(reveals[i - 1].maxFeePerGas * 1125n);
      expect(reveals[i].maxPriorityFeePerGas * 1000n).to.be.at.least(reveals[i - 1].maxPriorityFeePerGas * 1125n);
    }
    // A replacement was mined, not the reveal as first sent, which never will be.
    expect(revealed.ok && revealed.hash).to.not.equal(reveals[0].hash);
    expect(await ethers.provider.getTransactionReceipt(reveals[0].hash)).to.equal(null);
    const receipt = revealed.ok ? revealed.receipt! : undefined;
    const block = await ethers.provider.getBlock(receipt!.blockNumber);
    expect(BigInt(block!.timestamp)).to.be.at.most(v.revealEnd);
    expect(Number((await v.escrow.committee(jobId))[seat].vote)).to.equal(VoteState.Agreed);

    // The approve took the next nonce and was broadcast while the reveal was still stuck, not after it.
    expect(approves[0].nonce).to.equal(reveals[0].nonce + 1);
    expect(broadcasts.indexOf(approves[0])).to.be.below(broadcasts.indexOf(reveals[1]));
    expect(await v.token.allowance(member.address, v.escrow)).to.equal(1n);
  });
});
