/**
 * In-process services through faults: the JSON-RPC endpoint going away (refused, 502, hung) under a running
 * worker, a model server answering 503 before it serves, a 404, and a challenge whose transaction fails to go out.
 * Each service that meets an RPC fault reaches the in-process chain through a proxy (test/fixtures/outage.ts) with
 * a wallet of its own; the others use Hardhat's provider and signers.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { JsonRpcProvider, Network, ZeroHash, type HDNodeWallet } from "ethers";
import type { JobEscrow } from "../../typechain-types";
import { encodeTensors, type Tensor } from "../../packages/sdk/src/codec";
import { JobStatus, VerificationMode } from "../../packages/sdk/src/params";
import { buildIdentityModel, buildMlpClassifier, buildTwoInputModel } from "../../src/models/build";
import { devWallet } from "../../src/network/local";
import { jobToJson } from "../../src/worker/clients/chain";
import { sha256Hex } from "../../src/worker/clients/models";
import { corruptOutput } from "../../src/worker/compute/faults";
import type { ServiceHandle } from "../../src/worker/loop/service";
import { loadModel, runModel } from "../../packages/sdk/src/onnx";
import { serveJsonRpc, type RpcServer } from "../fixtures/rpc";
import { startFlakyFileServer, startRpcProxy, type FlakyFileServer, type RpcProxy } from "../fixtures/outage";
import { deployServiceBench, PRICE, waitFor, type ServiceBench } from "../fixtures/services";
import { underCoverage } from "../fixtures/coverage";
import { formatJobId } from "../../packages/sdk/src/job";

/** Requests answered 503 before a flaky model is served: more than one fetch's attempts (retries 2). */
const FAIL_FIRST = 5;

const vector = (values: number[]): Tensor[] => [
  { name: "x", type: "float32", shape: [values.length], data: new Float32Array(values) },
];
const features = (row: number[]): Tensor[] => [
  { name: "features", type: "float32", shape: [1, row.length], data: new Float32Array(row) },
];

describe("worker service under faults (in-process)", function () {
  this.timeout(60_000);

  let bench: ServiceBench;
  let escrow: JobEscrow;
  let rpc: RpcServer;
  let proxy: RpcProxy;
  let files: FlakyFileServer;
  let proxied: JsonRpcProvider;
  const models = { mlp: 0n, twoOptimistic: 0n, flaky: 0n, gone: 0n, flakyOptimistic: 0n };
  const flakyBytes = buildIdentityModel("float32", ["N"]);
  const flakyOptimisticBytes = buildIdentityModel("float32", ["M"]);

  /** Registers `bytes` under the file server's `path` (http://), in `mode`. */
  async function registerHttp(path: string, bytes: Uint8Array, mode: number): Promise<bigint> {
    const terms = { price: PRICE, mode, committeeSize: 1, royaltyBps: 500, relTolerance: 10_000, absTolerance: 1000 };
    await bench.registry
      .connect(bench.modelOwner)
      .registerModel(sha256Hex(bytes), `${files.url}${path}`, terms, ZeroHash, "0x");
    return bench.registry.modelCount();
  }

  /** A wallet of signer `index` (the test mnemonic) whose every call goes through the proxy. */
  const proxiedWallet = (index: number): HDNodeWallet => devWallet(index).connect(proxied);

  const health = async (handle: ServiceHandle) =>
    (await fetch(`http://127.0.0.1:${handle.port}/healthz`, { signal: AbortSignal.timeout(2000) })).status;

  const submissions = async (id: bigint) => escrow.queryFilter(escrow.filters.ResultSubmitted(id));

  /** Posts `output` for the job as the faulty worker, as a dishonest worker would. */
  async function postAsFaulty(id: bigint, output: Uint8Array): Promise<void> {
    const [requested] = await escrow.queryFilter(escrow.filters.JobRequested(id));
    await (await escrow.connect(bench.faulty).submitResult(jobToJson(requested.args.job), output)).wait();
  }

  before(async function () {
    if (underCoverage()) this.skip(); // as service.test.ts: gas estimates past the cap on instrumented bytecode
    bench = await deployServiceBench("trustml-outage-");
    escrow = bench.escrow;
    rpc = await serveJsonRpc();
    proxy = await startRpcProxy(rpc.url);
    const chainId = (await ethers.provider.getNetwork()).chainId;
    proxied = new JsonRpcProvider(proxy.url, Network.from(chainId), {
      staticNetwork: true,
      pollingInterval: 50,
      cacheTimeout: -1,
    });
    files = await startFlakyFileServer(
      { "/flaky.onnx": flakyBytes, "/flaky-optimistic.onnx": flakyOptimisticBytes },
      { "/flaky.onnx": FAIL_FIRST, "/flaky-optimistic.onnx": FAIL_FIRST },
    );
    models.mlp = await bench.register("mlp.onnx", buildMlpClassifier(), VerificationMode.None, 1);
    models.twoOptimistic = await bench.register("two.onnx", buildTwoInputModel(), VerificationMode.Optimistic, 1);
    models.flaky = await registerHttp("/flaky.onnx", flakyBytes, VerificationMode.None);
    models.gone = await registerHttp("/gone.onnx", buildIdentityModel("int32", ["N"]), VerificationMode.None);
    models.flakyOptimistic = await registerHttp(
      "/flaky-optimistic.onnx",
      flakyOptimisticBytes,
      VerificationMode.Optimistic,
    );
  });

  after(async function () {
    await bench?.close();
    proxied?.destroy();
    await proxy?.close();
    await rpc?.close();
    await files?.close();
  });

  it("rides out an RPC outage (refused, 502, hung): /healthz 503 then 200, RPC errors counted, every job worked once", async function () {
    const wallet = proxiedWallet(4);
    expect(wallet.address).to.equal(bench.worker.address);
    const handle = await bench.start("rpc-worker", bench.worker, "worker", {
      provider: proxied,
      signer: wallet,
      port: 0,
      pollMs: 50,
    });
    let ended = false;
    void handle.done.then(() => (ended = true));
    const before = await bench.request(models.mlp, features([1, 2, 3, 4]));
    await waitFor("the job before the outage settled", async () => (await bench.status(before)) === JobStatus.Settled);
    expect(await health(handle)).to.equal(200);
    const errorsBefore = await handle.metrics.value(handle.metrics.rpcErrors);

    const during: bigint[] = [];
    const started = Date.now();
    await proxy.setMode("refuse");
    during.push(await bench.request(models.mlp, features([2, 3, 4, 5])));
    await waitFor("/healthz to say 503", async () => (await health(handle)) === 503, 10_000);
    during.push(await bench.request(models.mlp, features([3, 4, 5, 6])));
    await new Promise((r) => setTimeout(r, 1500));
    await proxy.setMode("502");
    during.push(await bench.request(models.mlp, features([4, 5, 6, 7])));
    await new Promise((r) => setTimeout(r, 1500));
    const ticksBeforeHang = handle.ticks;
    await proxy.setMode("hang");
    await new Promise((r) => setTimeout(r, 1500));
    expect(handle.ticks, "no tick completes while the endpoint hangs").to.equal(ticksBeforeHang);
    for (const id of during) expect(await bench.status(id)).to.equal(JobStatus.Requested);
    const outageMs = Date.now() - started;
    await proxy.setMode("up");

    await waitFor("/healthz to say 200 again", async () => (await health(handle)) === 200, 20_000);
    await waitFor("every job requested during the outage settled", async () => {
      for (const id of during) if ((await bench.status(id)) !== JobStatus.Settled) return false;
      return true;
    });
    expect(ended, "the service loop never ended").to.equal(false);
    expect(outageMs).to.be.at.least(4000);
    for (const id of [before, ...during]) {
      const subs = await submissions(id);
      expect(subs.map((s) => s.args.worker)).to.deep.equal([bench.worker.address]);
    }
    // Backoff, not a crash: the reads were retried (and counted) before ticks failed.
    expect(await handle.metrics.value(handle.metrics.rpcErrors)).to.be.above(errorsBefore);
    // And the loop backs off too: each failed tick waits twice as long as the one before (50 ms polls would
    // have failed some thirty ticks over the outage's refused and 502 seconds).
    const failedTicks = bench.lines("rpc-worker").filter((l) => l.msg === "tick failed");
    expect(failedTicks.length).to.be.within(3, 10);
    expect(failedTicks.slice(0, 4).map((l) => l.retryInMs)).to.deep.equal([100, 200, 400, 800]);
    const metricsText = await (await fetch(`http://127.0.0.1:${handle.port}/metrics`)).text();
    expect(metricsText).to.match(/trustml_rpc_errors_total\{[^}]*kind="transient"[^}]*\} [1-9]/);
    expect(proxy.stats.failed).to.be.above(0);
    await bench.stop("rpc-worker");
  });

  it("retries a model fetch that fails with 503 (backoff within the fetch, then across ticks) and works the job; a 404 is final", async function () {
    await bench.start("fetch-worker", bench.worker, "worker");
    const flaky = await bench.request(models.flaky, vector([1, 2, 3]));
    const gone = await bench.request(models.gone, [
      { name: "x", type: "int32", shape: [2], data: new Int32Array([1, 2]) },
    ]);
    await waitFor("the job on the flaky model settled", async () => (await bench.status(flaky)) === JobStatus.Settled);
    const lines = bench.lines("fetch-worker");
    const later = lines.filter((l) => l.msg.startsWith("cannot fetch the job's model or input now"));
    expect(later.map((l) => l.jobId)).to.include(formatJobId(flaky));
    expect(lines.filter((l) => l.msg === "fetch failed: retrying").length).to.be.at.least(2);
    // Every 503, then the one success; the model is cached from then on.
    expect(files.requests["/flaky.onnx"]).to.equal(FAIL_FIRST + 1);
    const output = encodeTensors(await runModel(await loadModel(flakyBytes), vector([1, 2, 3])));
    expect((await submissions(flaky))[0].args.output).to.equal(ethers.hexlify(output));

    await waitFor("the 404 logged as final", () =>
      bench
        .lines("fetch-worker")
        .some((l) => l.msg === "job left unclaimed: cannot run it" && l.jobId === formatJobId(gone)),
    );
    const ticks = bench.running.get("fetch-worker")!.ticks;
    await waitFor("ten more ticks", () => bench.running.get("fetch-worker")!.ticks >= ticks + 10);
    expect(files.requests["/gone.onnx"], "a 404 is asked once").to.equal(1);
    expect(await bench.status(gone)).to.equal(JobStatus.Requested);
    await bench.stop("fetch-worker");
  });

  it("a verifier whose model fetch fails with 503 judges on a later tick and challenges the wrong result", async function () {
    await bench.start("fetch-verifier", bench.verifiers[0], "verifier");
    const id = await bench.request(models.flakyOptimistic, vector([1, 2]));
    await postAsFaulty(id, corruptOutput(await runModel(await loadModel(flakyOptimisticBytes), vector([1, 2]))));
    await waitFor("the challenge", async () => (await bench.status(id)) !== JobStatus.Submitted);
    const [challenged] = await escrow.queryFilter(escrow.filters.ResultChallenged(id));
    expect(challenged.args.challenger).to.equal(bench.verifiers[0].address);
    expect(files.requests["/flaky-optimistic.onnx"]).to.equal(FAIL_FIRST + 1);
    const later = bench.lines("fetch-verifier").filter((l) => l.msg.startsWith("cannot fetch the model or input now"));
    expect(later.map((l) => l.jobId)).to.include(formatJobId(id));
    await bench.stop("fetch-verifier");
  });

  it("a challenge whose transaction fails to go out is sent again on the next tick, once", async function () {
    const handle = await bench.start("rpc-verifier", bench.verifiers[1], "verifier", {
      provider: proxied,
      signer: proxiedWallet(7),
      retries: 1,
    });
    expect(proxiedWallet(7).address).to.equal(bench.verifiers[1].address);
    // The sender's first attempt and its one retry: the whole first send fails.
    proxy.failNext("eth_sendRawTransaction", 2);
    const input: Tensor[] = [
      { name: "x", type: "float32", shape: [1, 3], data: new Float32Array([1, -2, 3]) },
      { name: "scale", type: "int64", shape: [1], data: new BigInt64Array([2n]) },
    ];
    const id = await bench.request(models.twoOptimistic, input);
    await postAsFaulty(id, corruptOutput(await runModel(await loadModel(buildTwoInputModel()), input)));
    await waitFor("the challenge mined", () =>
      bench.lines("rpc-verifier").some((l) => l.msg === "challenged a wrong optimistic result"),
    );
    const challenges = await escrow.queryFilter(escrow.filters.ResultChallenged(id));
    expect(challenges.map((c) => c.args.challenger)).to.deep.equal([bench.verifiers[1].address]);
    expect(proxy.stats.failedByMethod.eth_sendRawTransaction).to.equal(2);
    const lines = bench.lines("rpc-verifier");
    expect(
      lines.some((l) => l.msg === "challenge not mined: trying on the next tick" && l.jobId === formatJobId(id)),
    ).to.equal(true);
    expect(await handle.metrics.value(handle.metrics.challenges)).to.equal(1);
    await bench.stop("rpc-verifier");
  });
});
