/**
 * Model and input fetches: which failures are transient (retried within the fetch, then backed off across ticks)
 * and which are final.
 */
import { expect } from "chai";
import { FetchBackoff, FetchError, fetchUri, type FetchOptions } from "../../src/worker/clients/models";
import { freePort } from "../../src/network/processes";
import { startFlakyFileServer, type FlakyFileServer } from "../fixtures/outage";

const MODEL = new Uint8Array([1, 2, 3, 4]);

async function fetchError(p: Promise<unknown>): Promise<FetchError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(FetchError);
    return e as FetchError;
  }
  throw new Error("expected a FetchError");
}

describe("worker fetches: transient failures retried with backoff, permanent ones final", function () {
  let server: FlakyFileServer;
  const opts = (extra: Partial<FetchOptions> = {}): FetchOptions => ({
    ipfsGateway: "http://127.0.0.1:1",
    timeoutMs: 2000,
    maxBytes: 1 << 20,
    retries: 2,
    retryBaseMs: 5,
    ...extra,
  });

  before(async function () {
    server = await startFlakyFileServer(
      { "/two-503.onnx": MODEL, "/three-503.onnx": MODEL, "/429.onnx": MODEL, "/big.onnx": new Uint8Array(64) },
      { "/two-503.onnx": 2, "/three-503.onnx": 3 },
    );
  });
  after(async function () {
    await server.close();
  });

  it("retries a 503 up to `retries` times within one fetch", async function () {
    expect(await fetchUri(`${server.url}/two-503.onnx`, opts())).to.deep.equal(MODEL);
    expect(server.requests["/two-503.onnx"]).to.equal(3);
    const e = await fetchError(fetchUri(`${server.url}/three-503.onnx`, opts()));
    expect(e.transient).to.equal(true);
    expect(e.message).to.include("HTTP 503");
    expect(server.requests["/three-503.onnx"]).to.equal(3);
  });

  it("a 404, a file over the size limit and a missing file are final: one request, no retry", async function () {
    const missing = await fetchError(fetchUri(`${server.url}/gone.onnx`, opts()));
    expect(missing.transient).to.equal(false);
    expect(server.requests["/gone.onnx"]).to.equal(1);
    const big = await fetchError(fetchUri(`${server.url}/big.onnx`, opts({ maxBytes: 16 })));
    expect(big.transient).to.equal(false);
    expect(server.requests["/big.onnx"]).to.equal(1);
    const file = await fetchError(fetchUri("file:///nonexistent/trustml/model.onnx", opts()));
    expect(file.transient).to.equal(false);
  });

  it("a refused connection is transient", async function () {
    const port = await freePort();
    const e = await fetchError(fetchUri(`http://127.0.0.1:${port}/model.onnx`, opts({ retries: 1 })));
    expect(e.transient).to.equal(true);
  });

  it("a source that still fails backs off across fetches (nothing is requested meanwhile), then is asked again", async function () {
    const flaky = await startFlakyFileServer({ "/m.onnx": MODEL }, { "/m.onnx": 4 });
    try {
      let now = 0;
      const backoff = new FetchBackoff({ now: () => now });
      // One retry within a fetch, 5 ms apart; then 5 ms * 2^(1 + failures in a row) between fetches.
      const o = opts({ retries: 1, retryBaseMs: 5, backoff });
      const uri = `${flaky.url}/m.onnx`;
      expect((await fetchError(fetchUri(uri, o))).retryAt).to.equal(undefined);
      expect(flaky.requests["/m.onnx"]).to.equal(2);
      const waiting = await fetchError(fetchUri(uri, o));
      expect([waiting.transient, waiting.retryAt]).to.deep.equal([true, 20]);
      expect(flaky.requests["/m.onnx"], "nothing asked while backing off").to.equal(2);
      now = 20;
      expect((await fetchError(fetchUri(uri, o))).retryAt).to.equal(undefined);
      expect(flaky.requests["/m.onnx"]).to.equal(4);
      now = 59;
      expect((await fetchError(fetchUri(uri, o))).retryAt, "the delay doubled").to.equal(60);
      now = 60;
      expect(await fetchUri(uri, o)).to.deep.equal(MODEL);
      expect(flaky.requests["/m.onnx"]).to.equal(5);
      expect(() => backoff.check(`${flaky.url}/m.onnx`, uri), "a success forgets the source").to.not.throw();
    } finally {
      await flaky.close();
    }
  });

  it("429 and 5xx are transient, other 4xx final", async function () {
    for (const [status, transient] of [
      [429, true],
      [500, true],
      [502, true],
      [408, true],
      [403, false],
      [400, false],
    ] as const) {
      const s = await startFlakyFileServer({ "/m.onnx": MODEL }, { "/m.onnx": 10 }, status);
      try {
        const e = await fetchError(fetchUri(`${s.url}/m.onnx`, opts({ retries: 0 })));
        expect(e.transient, `HTTP ${status}`).to.equal(transient);
      } finally {
        await s.close();
      }
    }
  });
});
