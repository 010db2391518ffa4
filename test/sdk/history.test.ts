/**
 * The SDK's ProtocolHistory (packages/sdk/src/history.ts), which the explorer and `job:show` read a deployment
 * through: the chain check, search, a job's provenance record (a cheat rejected by its committee and slashed, a
 * challenged optimistic job), models, operators, the network's figures, and reading on from the last sync (and again
 * after a reorganisation).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { JsonRpcProvider, keccak256 } from "ethers";
import { parseSearch, ProtocolHistory, type SyncProgress } from "../../packages/sdk/src/history";
import { formatJobId } from "../../packages/sdk/src/job";
import { TrustMLError } from "../../packages/sdk/src/errors";
import { encodeTensors } from "../../packages/sdk/src/codec";
import { VerificationMode } from "../../packages/sdk/src/params";
import { deploymentOf } from "../fixtures/client";
import { OUTPUT, termsFor, WRONG_OUTPUT } from "../fixtures/protocol";
import { RpcError, serveJsonRpc, type RpcCall, type RpcServer } from "../fixtures/rpc";
import { drawCommittee, verificationFixture, voteAll, votingJob } from "../fixtures/verification";

const TENSOR_OUTPUT = encodeTensors([
  { name: "y", type: "float32", shape: [1, 3], data: new Float32Array([0.5, -1.25, 3]) },
]);

/**
 * Four jobs: a None job settled with a tensor output; a committee job whose worker posted a wrong output, voted down
 * and slashed; an optimistic job challenged, upheld by its committee; and one still requested. The committee model's
 * terms changed once.
 */
async function historyFixture() {
  const v = await verificationFixture();
  const deployment = await deploymentOf(v);

  const none = await v.request(v.models.none);
  await v.escrow.connect(v.worker).submitResult(none, TENSOR_OUTPUT);

  const cheat = await v.request(v.models.committee);
  await v.escrow.connect(v.worker).submitResult(cheat, WRONG_OUTPUT);
  await drawCommittee(v, cheat);
  const cheatVote = await votingJob(v, cheat);
  await voteAll(v, BigInt(cheat.id), cheatVote.members, [false, false, false]);
  const rejectTx = await v.escrow.settle(cheat, "0x");

  const optimistic = await v.request(v.models.optimistic);
  await v.escrow.connect(v.worker).submitResult(optimistic, OUTPUT);
  const challenger = v.verifiers[0];
  await v.escrow.connect(challenger).challenge(optimistic);
  await drawCommittee(v, optimistic);
  const optimisticVote = await votingJob(v, optimistic);
  await voteAll(v, BigInt(optimistic.id), optimisticVote.members, [true, true, true]);
  await v.escrow.settle(optimistic, "0x");

  await v.registry
    .connect(v.modelOwner)
    .setTerms(v.models.committee, { ...termsFor(VerificationMode.Committee), price: ethers.parseEther("3") });
  const open = await v.request(v.models.none);
  return { ...v, deployment, none, cheat, cheatVote, rejectTx, optimistic, optimisticVote, challenger, open };
}

describe("ProtocolHistory", function () {
  describe("parseSearch", function () {
    it("reads #nonce, job ids in hex and decimal, model ids and addresses", function () {
      const id = 2n ** 255n + 7n;
      expect(parseSearch("#12")).to.deep.equal({ kind: "nonce", nonce: 12n });
      expect(parseSearch(` ${formatJobId(id)} `)).to.deep.equal({ kind: "job", id });
      expect(parseSearch(id.toString())).to.deep.equal({ kind: "job", id });
      expect(parseSearch("3")).to.deep.equal({ kind: "model", id: 3n });
      expect(parseSearch("model 4")).to.deep.equal({ kind: "model", id: 4n });
      const address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
      expect(parseSearch(address.toLowerCase())).to.deep.equal({ kind: "address", address });
    });

    it("names what is wrong with malformed input", function () {
      expect(parseSearch("0x1234")).to.deep.equal({
        kind: "none",
        message: "0x1234 has 4 hex digits: a job id has 64, an address 40",
      });
      expect(parseSearch("0x70997970C51812DC3A010C7D01B50E0D17DC79c8")).to.deep.include({ kind: "none" });
      expect((parseSearch("0x70997970C51812DC3A010C7D01B50E0D17DC79c8") as { message: string }).message).to.match(
        /checksum/,
      );
      expect((parseSearch("hello") as { message: string }).message).to.equal(
        '"hello" is not a job id (0x and 64 hex digits, or #request-number), a model id or an address',
      );
      expect(parseSearch("  ")).to.deep.include({ kind: "none" });
    });
  });

  describe(".connect", function () {
    it("refuses a record of another chain, naming both chain ids", async function () {
      const f = await loadFixture(historyFixture);
      const other = { ...f.deployment, chainId: 11155111, network: "sepolia" };
      await expect(ProtocolHistory.connect(ethers.provider, other))
        .to.be.rejectedWith(
          TrustMLError,
          "the deployment record is for chain 11155111 (sepolia), but the node is on chain 31337",
        )
        .and.eventually.have.property("code", "WRONG_CHAIN");
    });

    it("refuses a record whose contracts are not on this chain", async function () {
      const f = await loadFixture(historyFixture);
      const nowhere = "0x000000000000000000000000000000000000dEaD";
      const moved = { ...f.deployment, contracts: { ...f.deployment.contracts, escrow: { address: nowhere } } };
      await expect(ProtocolHistory.connect(ethers.provider, moved)).to.be.rejectedWith(
        TrustMLError,
        `no contract at the escrow address ${nowhere} on chain 31337`,
      );
    });
  });

  describe("#job", function () {
    it("shows a rejected cheat: the posted output, each seat's commit and reveal, the outcome and the slash", async function () {
      const f = await loadFixture(historyFixture);
      const h = await ProtocolHistory.connect(ethers.provider, f.deployment);
      await h.sync();
      const id = BigInt(f.cheat.id);
      const r = (await h.job(id))!;

      expect(r.idHex).to.equal(formatJobId(id));
      expect(r.nonce).to.equal(2n);
      expect([r.status, r.outcome, r.mode]).to.deep.equal(["Rejected", "Rejected", "Committee"]);
      expect(r.worker).to.equal(f.worker.address);
      expect(r.output!.hash).to.equal(keccak256(WRONG_OUTPUT));
      expect(r.output!.tensors).to.equal(undefined);
      expect(r.output!.hex).to.equal(WRONG_OUTPUT);
      expect(r.output!.problem).to.be.a("string").and.not.equal("");
      expect(r.committee.map((s) => [s.verifier, s.vote, s.agree])).to.deep.equal(
        f.cheatVote.members.map((m) => [m.address, "Disagreed", false]),
      );
      for (const seat of r.committee) {
        expect(seat.commitment).to.match(/^0x[0-9a-f]{64}$/);
        expect(seat.committed!.block).to.be.lessThan(seat.revealed!.block);
      }
      const receipt = (await f.rejectTx.wait())!;
      const slashed = await f.staking.queryFilter(
        f.staking.filters.StakeSlashed(f.worker.address),
        receipt.blockNumber,
      );
      expect(slashed).to.have.length(1);
      expect(r.slashes.map((s) => [s.account, s.amount, s.transactionHash])).to.deep.equal([
        [f.worker.address, slashed[0].args.amount, receipt.hash],
      ]);
      expect(r.settlement!.transactionHash).to.equal(receipt.hash);
      expect(r.settlement!.slashed).to.equal(slashed[0].args.amount);
      expect(r.verifyCommand).to.equal(`npm run verify-job -- ${formatJobId(id)}`);
    });

    it("lists every transaction that touched the job, with block, time, sender, gas and its events", async function () {
      const f = await loadFixture(historyFixture);
      const h = await ProtocolHistory.connect(ethers.provider, f.deployment);
      await h.sync();
      const r = (await h.job(BigInt(f.cheat.id)))!;
      const names = r.transactions.map((t) => t.events);
      expect(names[0]).to.deep.equal(["JobRequested"]);
      expect(names[1]).to.deep.equal(["JobClaimed", "ResultSubmitted"]); // submitResult claims the job and posts at once
      expect(names.at(-1)).to.include("JobSettled");
      expect(names.flat().filter((n) => n === "VoteCommitted")).to.have.length(3);
      expect(names.flat().filter((n) => n === "VoteRevealed")).to.have.length(3);
      for (const t of r.transactions) {
        const receipt = (await ethers.provider.getTransactionReceipt(t.hash))!;
        const block = (await ethers.provider.getBlock(receipt.blockNumber))!;
        expect([t.block, t.time, t.from, t.gasUsed]).to.deep.equal([
          receipt.blockNumber,
          block.timestamp,
          receipt.from,
          receipt.gasUsed,
        ]);
      }
      expect(r.transactions[0].from).to.equal(f.requester.address);
    });

    it("decodes a tensor output and keeps the challenge of an optimistic job", async function () {
      const f = await loadFixture(historyFixture);
      const h = await ProtocolHistory.connect(ethers.provider, f.deployment);
      await h.sync();
      const none = (await h.job(BigInt(f.none.id)))!;
      expect(none.output!.tensors).to.deep.equal([
        { name: "y", type: "float32", shape: [1, 3], data: [0.5, -1.25, 3] },
      ]);
      expect(none.output!.hash).to.equal(keccak256(TENSOR_OUTPUT));
      expect([none.status, none.outcome]).to.deep.equal(["Settled", "Accepted"]);

      const optimistic = (await h.job(BigInt(f.optimistic.id)))!;
      expect(optimistic.challenge!.challenger).to.equal(f.challenger.address);
      expect(optimistic.committee.map((s) => s.vote)).to.deep.equal(["Agreed", "Agreed", "Agreed"]);
      expect(optimistic.outcome).to.equal("Accepted");
    });

    it("is undefined for a job never requested", async function () {
      const f = await loadFixture(historyFixture);
      const h = await ProtocolHistory.connect(ethers.provider, f.deployment);
      await h.sync();
      expect(await h.job(123n)).to.equal(undefined);
    });
  });

  describe("#search", function () {
    it("finds a job by #nonce and by id, and says when there is none", async function () {
      const f = await loadFixture(historyFixture);
      const h = await ProtocolHistory.connect(ethers.provider, f.deployment);
      await h.sync();
      expect(await h.search("#2")).to.deep.equal({ kind: "job", id: BigInt(f.cheat.id) });
      expect(await h.search(formatJobId(f.open.id))).to.deep.equal({ kind: "job", id: BigInt(f.open.id) });
      expect(await h.search("#99")).to.deep.equal({ kind: "none", message: "no job #99: 4 jobs were requested" });
      const unknown = formatJobId(5n);
      expect(await h.search(unknown)).to.deep.equal({
        kind: "none",
        message: `no such job: ${unknown} was never requested on this escrow`,
      });
      expect(await h.search("9")).to.deep.equal({ kind: "none", message: "no model 9: models run from 1 to 3" });
      expect(await h.search("2")).to.deep.equal({ kind: "model", id: 2n });
    });
  });

  describe("#model, #operator, #network", function () {
    it("shows a model's terms history, versions and jobs by outcome", async function () {
      const f = await loadFixture(historyFixture);
      const h = await ProtocolHistory.connect(ethers.provider, f.deployment);
      await h.sync();
      const m = (await h.model(f.models.committee))!;
      expect(m.owner).to.equal(f.modelOwner.address);
      expect(m.termsHistory.map((t) => t.terms.price)).to.deep.equal([ethers.parseEther("2"), ethers.parseEther("3")]);
      expect(m.terms.price).to.equal(ethers.parseEther("3"));
      expect(m.versions.map((v) => v.version)).to.deep.equal([1n]);
      expect(m.outcomes).to.deep.equal({ Rejected: 1 });
      expect(m.royalties).to.equal(0n); // its one job was rejected
      const settled = await f.escrow.queryFilter(f.escrow.filters.JobSettled(f.none.id));
      const none = (await h.model(f.models.none))!;
      expect(none.royalties).to.equal(settled[0].args.settlement.royalty);
      expect(none.royalties > 0n).to.equal(true);
      expect(await h.model(4n)).to.equal(undefined);
    });

    it("shows an operator's stake, work, votes and slashes", async function () {
      const f = await loadFixture(historyFixture);
      const h = await ProtocolHistory.connect(ethers.provider, f.deployment);
      await h.sync();
      const worker = await h.operator(f.worker.address.toLowerCase());
      const account = await f.staking.accountOf(f.worker.address);
      expect(worker.address).to.equal(f.worker.address);
      expect([worker.stake!.active, worker.stake!.locked]).to.deep.equal([account.active, account.locked]);
      expect(worker.worked.map((j) => j.nonce)).to.deep.equal([3n, 2n, 1n]);
      expect(worker.slashes).to.have.length(1);
      const verifier = await h.operator(f.cheatVote.members[0].address);
      expect(verifier.votes.some((v) => v.jobId === BigInt(f.cheat.id) && v.agree === false)).to.equal(true);
      expect(verifier.stake!.verifier).to.equal(true);
      const nobody = await h.operator(ethers.Wallet.createRandom().address);
      expect([nobody.stake, nobody.worked.length, nobody.activity.length]).to.deep.equal([undefined, 0, 0]);
      await expect(h.operator("0x1234")).to.be.rejectedWith(TrustMLError, "0x1234 is not an address");

      const operators = await h.operators();
      expect(operators.map((o) => o.address)).to.have.members([f.worker.address, ...f.verifiers.map((x) => x.address)]);
      const stakes = operators.map((o) => o.active);
      expect(stakes).to.deep.equal([...stakes].sort((x, y) => (x > y ? -1 : x < y ? 1 : 0)));
      const w = operators.find((o) => o.address === f.worker.address)!;
      expect([w.worked, w.slashed]).to.deep.equal([3, worker.slashes[0].amount]);
    });

    it("counts jobs by mode and outcome, gas per job by mode and the time to settle", async function () {
      const f = await loadFixture(historyFixture);
      const h = await ProtocolHistory.connect(ethers.provider, f.deployment);
      await h.sync();
      const n = await h.network();
      expect([n.jobs, n.open, n.models]).to.deep.equal([4, 1, 3]);
      const sum = (key: "byMode" | "byOutcome") =>
        n.timeline.reduce<Record<string, number>>((acc, b) => {
          for (const [k, c] of Object.entries(b[key])) acc[k] = (acc[k] ?? 0) + c;
          return acc;
        }, {});
      expect(sum("byMode")).to.deep.equal({ None: 2, Committee: 1, Optimistic: 1 });
      expect(sum("byOutcome")).to.deep.equal({ Accepted: 2, Rejected: 1 });
      expect(n.gasByMode.map((g) => g.mode).sort()).to.deep.equal(["Committee", "None", "Optimistic"]);
      for (const g of n.gasByMode) expect(g.averageGas).to.be.greaterThan(50_000);
      expect(n.latency.map((l) => [l.nonce, l.outcome])).to.deep.equal([
        [1n, "Accepted"],
        [2n, "Rejected"],
        [3n, "Accepted"],
      ]);
      expect(n.slashed > 0n).to.equal(true);
    });
  });

  describe("#sync", function () {
    let rpc: RpcServer;
    /** Stands in for the node while set: answers a call, or undefined to let the network answer. */
    let fake: ((call: RpcCall) => unknown) | undefined;
    before(
      async () =>
        (rpc = await serveJsonRpc({
          handle: async (call, next) => {
            const answer = fake?.(call);
            return answer === undefined ? next() : answer;
          },
        })),
    );
    afterEach(() => (fake = undefined));
    after(async () => rpc.close());

    it("reads only the blocks after the last sync, and nothing when none came", async function () {
      const f = await loadFixture(historyFixture);
      const provider = new JsonRpcProvider(rpc.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
      try {
        const h = await ProtocolHistory.connect(provider, f.deployment);
        const head = await h.sync();
        expect(head).to.equal(await ethers.provider.getBlockNumber());
        expect((await h.jobs()).length).to.equal(4);

        rpc.reset();
        await h.sync();
        expect(rpc.stats.log.flat().filter((c) => c.method === "eth_getLogs")).to.have.length(0);

        const job = await f.request(f.models.none);
        rpc.reset();
        await h.sync();
        const reads = rpc.stats.log.flat().filter((c) => c.method === "eth_getLogs");
        expect(reads.map((c) => (c.params as { fromBlock: string }[])[0].fromBlock)).to.deep.equal([
          ethers.toQuantity(head + 1),
        ]);
        expect(h.hasJob(BigInt(job.id))).to.equal(true);
        expect(h.jobIdOfNonce(5n)).to.equal(BigInt(job.id));
      } finally {
        provider.destroy();
      }
    });

    it("reads a long history in windows, telling how far it got, and goes on from the last window after a failure", async function () {
      const f = await loadFixture(historyFixture);
      const provider = new JsonRpcProvider(rpc.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
      try {
        const h = await ProtocolHistory.connect(provider, f.deployment, { logs: { maxBlockRange: 5, retries: 0 } });
        const head = await ethers.provider.getBlockNumber();
        const seen: SyncProgress[] = [];
        let failAt: number | undefined = 3; // the third window's read fails
        let reads = 0;
        fake = (call) => {
          if (call.method !== "eth_getLogs") return undefined;
          seen.push(h.progress!);
          if (++reads === failAt) throw new RpcError(-32000, "the node fell over");
          return undefined;
        };
        await expect(h.sync()).to.be.rejectedWith("the node fell over");
        expect(h.syncedBlock).to.equal(9); // two windows of 5 blocks kept
        expect(h.progress).to.equal(undefined);
        expect(seen).to.deep.equal([0, 5, 10].map((a) => ({ fromBlock: 0, toBlock: head, readTo: a - 1 })));

        failAt = undefined;
        seen.length = 0;
        expect(await h.sync()).to.equal(head);
        expect(seen[0]).to.deep.equal({ fromBlock: 10, toBlock: head, readTo: 9 });
        expect(seen.map((p) => p.readTo)).to.deep.equal(seen.map((_, i) => 9 + 5 * i));
        expect(seen.at(-1)!.readTo).to.be.greaterThan(head - 6);
        expect(h.progress).to.equal(undefined);
        expect((await h.jobs()).map((j) => j.nonce)).to.deep.equal([4n, 3n, 2n, 1n]); // each once
      } finally {
        provider.destroy();
      }
    });

    it("shares one read between calls that ask within maxAgeMs of the last one", async function () {
      const f = await loadFixture(historyFixture);
      const provider = new JsonRpcProvider(rpc.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
      try {
        const h = await ProtocolHistory.connect(provider, f.deployment);
        const head = await h.sync();
        rpc.reset();
        expect(await Promise.all([h.sync({ maxAgeMs: 60_000 }), h.sync({ maxAgeMs: 60_000 })])).to.deep.equal([
          head,
          head,
        ]);
        expect(rpc.stats.calls).to.equal(0);
        await h.sync(); // no maxAgeMs: reads again
        expect(rpc.stats.calls).to.be.greaterThan(0);
      } finally {
        provider.destroy();
      }
    });

    it("reads a block's time only when a view shows an event of it", async function () {
      const f = await loadFixture(historyFixture);
      const provider = new JsonRpcProvider(rpc.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
      const blockReads = () => rpc.stats.log.flat().filter((c) => c.method === "eth_getBlockByNumber");
      try {
        const h = await ProtocolHistory.connect(provider, f.deployment);
        rpc.reset();
        await h.sync();
        expect(blockReads()).to.have.length(1); // the last block read: its hash and time
        rpc.reset();
        const r = (await h.job(BigInt(f.none.id)))!;
        const blocks = new Set([...r.transactions.map((t) => t.block), r.model!.block]);
        expect(blockReads()).to.have.length(blocks.size);
        const mined = (await ethers.provider.getBlock(r.transactions[0].block))!;
        expect(r.transactions[0].time).to.equal(mined.timestamp);
      } finally {
        provider.destroy();
      }
    });

    it("reads an ended job's record once, and a job still open again each time", async function () {
      const f = await loadFixture(historyFixture);
      const provider = new JsonRpcProvider(rpc.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
      try {
        const h = await ProtocolHistory.connect(provider, f.deployment);
        await h.sync();
        const first = await h.job(BigInt(f.cheat.id));
        rpc.reset();
        expect(await h.job(BigInt(f.cheat.id))).to.equal(first);
        expect(rpc.stats.calls).to.equal(0);
        await h.job(BigInt(f.open.id));
        expect(rpc.stats.log.flat().filter((c) => c.method === "eth_call")).to.have.length(2); // jobState, committee
      } finally {
        provider.destroy();
      }
    });

    it("says the contracts are gone when the chain was replaced under it (a local node restarted)", async function () {
      const f = await loadFixture(historyFixture);
      const provider = new JsonRpcProvider(rpc.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
      try {
        const h = await ProtocolHistory.connect(provider, f.deployment);
        await h.sync();
        // A new chain: the block last read is not there any more, and neither is any code.
        fake = (call) => {
          if (call.method === "eth_getBlockByNumber") return null;
          if (call.method === "eth_getCode") return "0x";
          return undefined;
        };
        await expect(h.sync())
          .to.be.rejectedWith(
            TrustMLError,
            `the escrow ${f.deployment.contracts.escrow.address} is no longer on this chain`,
          )
          .and.eventually.have.property("code", "WRONG_CHAIN");
        expect(h.hasJob(BigInt(f.cheat.id))).to.equal(false);
      } finally {
        provider.destroy();
      }
    });

    it("reads everything again after a reorganisation dropped the last block it read", async function () {
      const f = await loadFixture(historyFixture);
      const h = await ProtocolHistory.connect(ethers.provider, f.deployment);
      const snapshot = await ethers.provider.send("evm_snapshot", []);
      const dropped = await f.request(f.models.none);
      await h.sync();
      expect(h.hasJob(BigInt(dropped.id))).to.equal(true);
      await ethers.provider.send("evm_revert", [snapshot]);
      await ethers.provider.send("evm_mine", []);
      await ethers.provider.send("evm_mine", []);
      await h.sync();
      expect(h.hasJob(BigInt(dropped.id))).to.equal(false);
      expect((await h.jobs()).length).to.equal(4);
    });
  });
});
