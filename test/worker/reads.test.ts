/**
 * The round trips of a tick's reads, counted at a JSON-RPC endpoint in front of the in-process network: the state of
 * every open job in one batched request, and a tick with no new block in one request too.
 */
import { expect } from "chai";
import { JobStatus } from "../../packages/sdk/src/params";
import { EventReader } from "../../src/worker/clients/events";
import { ingest, viewOf } from "../../src/worker/loop/ingest";
import { underCoverage } from "../fixtures/coverage";
import { openJobsOverRpc } from "../fixtures/reads";
import { deployServiceBench, type ServiceBench } from "../fixtures/services";

const OPEN = 12;
const JOB_STATE = "jobState";

describe("worker reads over JSON-RPC", function () {
  this.timeout(60_000);
  let bench: ServiceBench;

  before(async function () {
    if (underCoverage()) this.skip();
    bench = await deployServiceBench("trustml-reads-");
  });
  after(async () => bench?.close());

  describe("#viewOf", function () {
    it(`reads the time and the state of ${OPEN} open jobs in one HTTP request`, async function () {
      const o = await openJobsOverRpc(bench, OPEN, { cacheTimeout: -1 });
      try {
        const selector = o.ctx.contracts.escrow.interface.getFunction(JOB_STATE)!.selector;
        const view = await viewOf(o.ctx);
        expect([...view.states.keys()]).to.have.members(o.ids.map(String));
        expect([...view.states.values()].every((s) => Number(s.status) === JobStatus.Requested)).to.equal(true);
        expect(o.rpc.stats.requests).to.equal(1);
        const [batch] = o.rpc.stats.log;
        const reads = batch.filter((c) => (c.params?.[0] as { data?: string })?.data?.startsWith(selector));
        expect(reads).to.have.length(OPEN);
        expect(batch.map((c) => c.method)).to.include("eth_getBlockByNumber");
      } finally {
        await o.close();
      }
    });

    it("makes one request per job when the provider does not batch (what batching saves)", async function () {
      const o = await openJobsOverRpc(bench, OPEN, { cacheTimeout: -1, batchMaxCount: 1 });
      try {
        await viewOf(o.ctx);
        expect(o.rpc.stats.requests).to.equal(OPEN + 1);
      } finally {
        await o.close();
      }
    });
  });

  describe("#ingest", function () {
    it("checks for a reorganisation and reads the head in one request when no block is new", async function () {
      const o = await openJobsOverRpc(bench, 1, { cacheTimeout: -1 });
      try {
        const { ctx } = o;
        const reader = new EventReader(ctx.provider, ctx.contracts.escrow, bench.addresses.escrow, 2000, ctx.retry);
        await ingest(ctx, reader, 0);
        expect(ctx.cursor.tip?.block).to.equal(await o.provider.getBlockNumber());
        o.rpc.reset();
        await ingest(ctx, reader, 0);
        expect(o.rpc.stats.requests).to.equal(1);
        expect(o.rpc.stats.log[0].map((c) => c.method).sort()).to.deep.equal([
          "eth_blockNumber",
          "eth_getBlockByNumber",
        ]);
      } finally {
        await o.close();
      }
    });
  });
});
