/**
 * The SDK's LogReader (packages/sdk/src/events.ts) against a JSON-RPC node in front of the in-process network: ranges,
 * splitting a range the node refuses, retries, chain order, and decoding as queryFilter decodes.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { EventLog, JsonRpcProvider, type Log } from "ethers";
import { isRangeRefused, isTransientRpcError, LogReader } from "../../packages/sdk/src/events";
import { RpcError, serveJsonRpc, type RpcCall, type RpcServer } from "../fixtures/rpc";

const MINTS = 30;

/** A token minted to 30 accounts in 30 blocks: one Transfer event a block. */
async function mintedFixture() {
  const [governance, ...others] = await ethers.getSigners();
  const token = await ethers.deployContract("TestToken", [governance.address]);
  const from = (await ethers.provider.getBlockNumber()) + 1;
  for (let i = 0; i < MINTS; i++) await token.mint(others[i % others.length].address, BigInt(i + 1));
  const to = await ethers.provider.getBlockNumber();
  const address = await token.getAddress();
  const all = await ethers.provider.getLogs({ address, fromBlock: from, toBlock: to });
  return { token, address, from, to, all };
}

const position = (l: Log) => [l.blockNumber, l.index, l.transactionHash];

/** The block range of an eth_getLogs call, in blocks. */
const spanOf = (call: RpcCall): number => {
  const f = (call.params as { fromBlock: string; toBlock: string }[])[0];
  return Number(f.toBlock) - Number(f.fromBlock) + 1;
};

describe("LogReader", function () {
  let rpc: RpcServer;
  let provider: JsonRpcProvider;
  /** What the node does with eth_getLogs in this test (default: answer). */
  let getLogs: (call: RpcCall, next: () => Promise<unknown>) => Promise<unknown>;
  const getLogsCalls = () => rpc.stats.log.flat().filter((c) => c.method === "eth_getLogs");

  before(async function () {
    rpc = await serveJsonRpc({
      handle: (call, next) => (call.method === "eth_getLogs" ? getLogs(call, next) : next()),
    });
  });
  beforeEach(function () {
    getLogs = (_call, next) => next();
    // No batching and no cache: each read is one request the test can count.
    provider = new JsonRpcProvider(rpc.url, undefined, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
    rpc.reset();
  });
  afterEach(() => provider.destroy());
  after(async () => rpc.close());

  describe("#logs", function () {
    it("reads [from, to] in ranges of at most maxBlockRange blocks and returns every log in chain order", async function () {
      const f = await loadFixture(mintedFixture);
      const reader = new LogReader(provider, { maxBlockRange: 7 });
      const logs = await reader.logs({ address: f.address }, f.from, f.to);
      expect(logs.map(position)).to.deep.equal(f.all.map(position));
      expect(logs).to.have.length(MINTS);
      expect(getLogsCalls().map(spanOf)).to.deep.equal([7, 7, 7, 7, 2]);
      expect(reader.ranges(f.from, f.to)).to.deep.equal(
        [0, 7, 14, 21, 28].map((o) => [f.from + o, Math.min(f.to, f.from + o + 6)]),
      );
    });

    it("reads up to the latest block when no end is given", async function () {
      const f = await loadFixture(mintedFixture);
      const logs = await new LogReader(provider).logs({ address: f.address }, f.from);
      expect(logs.map(position)).to.deep.equal(f.all.map(position));
    });

    it("sorts a range's logs into chain order whatever order the node answers in", async function () {
      const f = await loadFixture(mintedFixture);
      getLogs = async (_call, next) => [...((await next()) as unknown[])].reverse();
      const logs = await new LogReader(provider, { maxBlockRange: 10 }).logs({ address: f.address }, f.from, f.to);
      expect(logs.map(position)).to.deep.equal(f.all.map(position));
    });

    for (const message of [
      "query returned more than 10000 results",
      "block range too large",
      "limit exceeded",
      "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range",
      "exceed maximum block range: 5",
    ]) {
      it(`halves a range the node refuses with "${message}" until it is accepted, and keeps the smaller span`, async function () {
        const f = await loadFixture(mintedFixture);
        getLogs = async (call, next) => {
          if (spanOf(call) > 5) throw new RpcError(-32005, message);
          return next();
        };
        const splits: [number, number][] = [];
        const reader = new LogReader(provider, {
          maxBlockRange: 24,
          onSplit: ({ fromBlock, toBlock }) => splits.push([fromBlock, toBlock]),
        });
        const logs = await reader.logs({ address: f.address }, f.from, f.to);
        expect(logs.map(position)).to.deep.equal(f.all.map(position));
        // 24 refused → 12 refused → 6 refused → ranges of 3; after 8 of them a span of 6 is tried again, refused.
        expect(splits).to.deep.equal([
          [f.from, f.from + 23],
          [f.from, f.from + 11],
          [f.from, f.from + 5],
          [f.from + 24, f.from + 29],
        ]);
        expect(reader.span).to.equal(3);
        const spans = getLogsCalls().map(spanOf);
        expect(spans).to.deep.equal([24, 12, 6, 3, 3, 3, 3, 3, 3, 3, 3, 6, 3, 3]);
        expect(spans.filter((s) => s <= 5).reduce((a, b) => a + b, 0)).to.equal(MINTS);
      });
    }

    it("tries a doubled span again after a run of accepted ranges", async function () {
      const f = await loadFixture(mintedFixture);
      let cap = 2;
      getLogs = async (call, next) => {
        if (spanOf(call) > cap) throw new RpcError(-32005, "block range too large");
        return next();
      };
      const reader = new LogReader(provider, { maxBlockRange: 4 });
      await reader.logs({ address: f.address }, f.from, f.to);
      expect(reader.span).to.equal(2);
      cap = 4; // the node's limit went up (or the blocks got quieter)
      await reader.logs({ address: f.address }, f.from, f.to);
      expect(reader.span).to.equal(4);
    });

    it("throws when the node refuses even a single block", async function () {
      const f = await loadFixture(mintedFixture);
      getLogs = async () => {
        throw new RpcError(-32005, "query returned more than 10000 results");
      };
      const reader = new LogReader(provider, { maxBlockRange: 4 });
      await expectRejected(reader.logs({ address: f.address }, f.from, f.to), /more than 10000 results/);
      expect(getLogsCalls().map(spanOf)).to.deep.equal([4, 2, 1]);
    });

    it("retries a transient error with exponential backoff, then reads on", async function () {
      const f = await loadFixture(mintedFixture);
      let failures = 2;
      getLogs = async (_call, next) => {
        if (failures-- > 0) throw new RpcError(-32000, "header not found");
        return next();
      };
      const retries: { attempt: number; delayMs: number }[] = [];
      const slept: number[] = [];
      const reader = new LogReader(provider, {
        maxBlockRange: 100,
        baseDelayMs: 100,
        onRetry: ({ attempt, delayMs }) => retries.push({ attempt, delayMs }),
        sleep: async (ms) => void slept.push(ms),
      });
      const logs = await reader.logs({ address: f.address }, f.from, f.to);
      expect(logs).to.have.length(MINTS);
      expect(retries.map((r) => r.attempt)).to.deep.equal([1, 2]);
      // Full jitter over [delay/2, delay], the delay doubling: [50, 100] then [100, 200].
      expect(slept[0]).to.be.within(50, 100);
      expect(slept[1]).to.be.within(100, 200);
      expect(getLogsCalls()).to.have.length(3);
    });

    it("gives up after `retries` retries and throws the node's error", async function () {
      const f = await loadFixture(mintedFixture);
      getLogs = async () => {
        throw new RpcError(-32000, "header not found");
      };
      const reader = new LogReader(provider, { retries: 2, sleep: async () => undefined });
      await expectRejected(reader.logs({ address: f.address }, f.from, f.to), /header not found/);
      expect(getLogsCalls()).to.have.length(3);
    });

    it("retries a rate limit rather than splitting the range", async function () {
      const f = await loadFixture(mintedFixture);
      let failures = 1;
      getLogs = async (_call, next) => {
        if (failures-- > 0) throw new RpcError(-32005, "rate limit exceeded");
        return next();
      };
      const reader = new LogReader(provider, { maxBlockRange: 100, sleep: async () => undefined });
      await reader.logs({ address: f.address }, f.from, f.to);
      expect(getLogsCalls().map(spanOf)).to.deep.equal([MINTS, MINTS]);
      expect(reader.span).to.equal(100);
    });
  });

  describe("#events", function () {
    it("decodes a contract's events as queryFilter does, from a name or a filter", async function () {
      const f = await loadFixture(mintedFixture);
      const token = f.token.connect(provider);
      const reader = new LogReader(provider, { maxBlockRange: 8 });
      const expected = await f.token.queryFilter(f.token.filters.Transfer(), f.from, f.to);
      const byFilter = await reader.events(token, token.filters.Transfer(), f.from, f.to);
      const byName = await reader.events(token, "Transfer", f.from, f.to);
      for (const got of [byFilter, byName]) {
        expect(got.every((e) => e instanceof EventLog)).to.equal(true);
        expect(got.map((e) => [...(e as EventLog).args])).to.deep.equal(expected.map((e) => [...e.args]));
      }
      const [, second] = await ethers.getSigners();
      const mine = await reader.events(token, token.filters.Transfer(undefined, second.address), f.from, f.to);
      expect(mine.map((e) => (e as EventLog).args.to)).to.deep.equal(
        expected.filter((e) => e.args.to === second.address).map((e) => e.args.to),
      );
      expect(mine.length).to.be.greaterThan(0);
    });
  });

  describe("error classification", function () {
    it("tells a refused range from a rate limit and from a transient error", function () {
      expect(isRangeRefused(new Error("query returned more than 10000 results"))).to.equal(true);
      expect(isRangeRefused({ error: { message: "eth_getLogs is limited to a 10,000 range" } })).to.equal(true);
      expect(isRangeRefused(new Error("rate limit exceeded"))).to.equal(false);
      expect(isRangeRefused(new Error("execution reverted"))).to.equal(false);
      expect(isTransientRpcError(new Error("rate limit exceeded"))).to.equal(true);
      expect(isTransientRpcError({ code: "TIMEOUT", message: "request timeout" })).to.equal(true);
      // What a browser's fetch throws when the node does not answer: Chromium, Firefox, Safari.
      for (const m of ["Failed to fetch", "NetworkError when attempting to fetch resource.", "Load failed"]) {
        expect(isTransientRpcError(new TypeError(m)), m).to.equal(true);
      }
      expect(isTransientRpcError(new Error("invalid argument"))).to.equal(false);
    });
  });
});

async function expectRejected(promise: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (e) {
    expect(String((e as Error).message)).to.match(message);
    return;
  }
  expect.fail("expected a rejection");
}
