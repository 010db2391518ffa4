import { expect } from "chai";
import { readFileSync } from "node:fs";
import { ethers, network } from "hardhat";
import { mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { getBytes, hexlify, parseUnits } from "ethers";
import type { IJobEscrow } from "../../typechain-types";
import { encodeTensors } from "../../packages/sdk/src/codec";
import { DEFAULT_ESCROW_PARAMS, JobOutcome, JobStatus, VerificationMode } from "../../packages/sdk/src/params";
import {
  WeightsTree,
  buildFraudProof,
  buildProfileModel,
  encodeEvidence,
  encodeProvenInput,
  findFirstFraud,
  postedVectors,
  readPostedOutput,
  runReference,
  traceOf,
  vectorTensor,
  weightsRoot,
  type ProfileModel,
} from "../../src/proven";
import { acceptedSettlement, provenSettlement } from "../../packages/sdk/src/settlement";
import { jobToJson } from "../../src/worker/clients/chain";
import { modelRef } from "../../src/worker/compute/execute";
import { formatVerdict, verifyJob } from "../../src/worker/verify-job";
import { underCoverage } from "../fixtures/coverage";
import {
  GOLDEN_FILE,
  GOLDEN_INPUT,
  GOLDEN_MODEL,
  randomInt8,
  randomProfileModel,
  seededRandom,
} from "../fixtures/proven";
import { deployServiceBench, waitFor, type LogLine, type ServiceBench } from "../fixtures/services";
import { formatJobId } from "../../packages/sdk/src/job";

/** The golden file, read as committed: the honest trace of GOLDEN_INPUT, independent of the code under test. */
const GOLDEN = JSON.parse(readFileSync(GOLDEN_FILE, "utf8")) as {
  vectors: { layer: number; values: number[] }[];
  output: { encoded: string };
};
const HONEST = GOLDEN.vectors.map((v) => v.values);
const L = GOLDEN_MODEL.layers.length;

/** A seeded random profile model of at least three layers (widths up to 12). */
function deepRandomModel(): ProfileModel {
  for (let seed = 1; ; seed++) {
    const model = randomProfileModel(seededRandom(seed), 12);
    if (model.layers.length >= 3) return model;
  }
}
const DEEP = deepRandomModel();
const DEEP_INPUT = randomInt8(seededRandom(99), DEEP.layers[0].nIn);

describe("worker service: Proven mode (in-process)", function () {
  this.timeout(60_000);

  let bench: ServiceBench;
  let golden: bigint;
  let deep: bigint;

  const input = (x0: Int8Array, model: ProfileModel = GOLDEN_MODEL) => encodeProvenInput(model.inputName, x0);
  const outputOf = async (id: bigint) => {
    const [ev] = await bench.escrow.queryFilter(bench.escrow.filters.ResultSubmitted(id));
    return ev;
  };
  const settledOf = async (id: bigint) => (await bench.escrow.queryFilter(bench.escrow.filters.JobSettled(id)))[0];
  const jobOf = async (id: bigint) =>
    jobToJson((await bench.escrow.queryFilter(bench.escrow.filters.JobRequested(id)))[0].args.job);
  /** The job's FraudProven events, their arguments by name. */
  const fraudsOf = async (id: bigint) =>
    (await bench.escrow.queryFilter(bench.escrow.filters.FraudProven(id))).map((e) => ({
      txHash: e.transactionHash,
      args: {
        jobId: e.args.jobId,
        prover: e.args.prover,
        fraud: e.args.fraud,
        layer: e.args.layer,
        index: e.args.index,
      },
    }));
  const nonceOf = (address: string) => ethers.provider.getTransactionCount(address);
  const logged = (label: string, id: bigint, msg: string | RegExp): LogLine | undefined =>
    bench
      .lines(label)
      .find((l) => l.jobId === formatJobId(id) && (typeof msg === "string" ? l.msg === msg : msg.test(l.msg)));
  const proofs = async (label: string, result: string) => {
    const m = bench.running.get(label)!.metrics;
    return m.value(m.fraudProofs, { result });
  };
  /** The vectors x1 .. xL of a posted output. */
  const postedOf = (output: string, layers: number) => {
    const read = readPostedOutput(getBytes(output), layers);
    if (!read.ok) throw new Error(read.reason);
    return postedVectors(read.positions).map((v) => Array.from(v));
  };

  before(async function () {
    // As in service.test.ts: the services' gas estimates run past the node's cap on instrumented bytecode.
    if (underCoverage()) this.skip();
    bench = await deployServiceBench("trustml-proven-");
    const register = (file: string, model: ProfileModel) =>
      bench.register(file, buildProfileModel(model), VerificationMode.Proven, 1, { root: weightsRoot(model.layers) });
    golden = await register("golden.onnx", GOLDEN_MODEL);
    deep = await register("deep.onnx", DEEP);
  });

  after(async function () {
    await bench?.close();
  });

  it("an honest worker serves Proven jobs in one submitResults, the verifier sends nothing, and they settle Accepted", async function () {
    const { escrow, worker, verifiers } = bench;
    const other = Int8Array.from([-7, 0, 100, 3]);
    const a = await bench.request(golden, input(GOLDEN_INPUT));
    const b = await bench.request(golden, input(other));
    const verifierNonce = await nonceOf(verifiers[0].address);
    await bench.start("worker", worker, "worker");
    await bench.start("v0", verifiers[0], "verifier");
    await waitFor("both results posted", async () =>
      (await Promise.all([a, b].map(bench.status))).every((s) => s === JobStatus.Submitted),
    );
    const [ea, eb] = [await outputOf(a), await outputOf(b)];
    // The output and every hidden vector, as the golden file has them for its input.
    expect(ea.args.output).to.equal(GOLDEN.output.encoded);
    expect(eb.args.output).to.equal(
      hexlify(traceOf(GOLDEN_MODEL.outputName, runReference(GOLDEN_MODEL.layers, other).vectors).output),
    );
    expect(ea.transactionHash).to.equal(eb.transactionHash, "one submitResults for both");
    expect(await bench.senderOf(ea.transactionHash)).to.equal(worker.address);

    await waitFor("the verifier checked both traces", () =>
      [a, b].every((id) => logged("v0", id, "Proven trace consistent: no proof can succeed")),
    );
    expect(await nonceOf(verifiers[0].address)).to.equal(verifierNonce, "no transaction for an honest trace");
    const m = bench.running.get("v0")!.metrics;
    expect(await m.value(m.fraudProofs)).to.equal(0);

    const { store, deps } = bench.verifyDeps();
    const open = await verifyJob(a, deps);
    expect(open).to.deep.include({ status: "Submitted", mode: "Proven", verdict: "correct" });
    expect(open.proven).to.deep.include({ checked: true, rootOk: true, fraud: undefined });
    const text = formatVerdict(open);
    expect(text)
      .to.include(`  weights    root ${weightsRoot(GOLDEN_MODEL.layers)} ok (recomputed from the file)`)
      .and.include("  trace      consistent: no proof can succeed")
      .and.not.include("tolerance")
      .and.not.include("  proof ");

    const balance = await escrow.balanceOf(worker.address);
    await time.increase(DEFAULT_ESCROW_PARAMS.challengeWindow + 1);
    await waitFor("both settled", async () =>
      (await Promise.all([a, b].map(bench.status))).every((s) => s === JobStatus.Settled),
    );
    for (const id of [a, b]) expect(Number((await settledOf(id)).args.outcome)).to.equal(JobOutcome.Accepted);
    const job = await jobOf(a);
    const paid = acceptedSettlement(job, await escrow.paramsOf(job.paramsId), 0).workerPayment;
    expect(await escrow.balanceOf(worker.address)).to.equal(balance + 2n * paid);
    const settled = await verifyJob(a, deps);
    expect(settled).to.deep.include({ status: "Settled", outcome: "Accepted", verdict: "correct" });
    expect(formatVerdict(settled)).to.include("  trace      consistent: no proof can succeed");
    await store.close();
  });

  it("leaves a Proven job unclaimed when ONNX Runtime disagrees with the reference or the input does not conform", async function () {
    const { escrow, registry, requester } = bench;
    // A kernel that gets one hidden value wrong (as a saturating int8 GEMM would), in the worker's own runtime.
    const runtime = await bench.running.get("worker")!.models.profileRuntime(await modelRef(registry, golden, 1n));
    const run = runtime.run.bind(runtime);
    runtime.run = async (x: Int8Array) => {
      const result = await run(x);
      result.vectors[2][1] = result.vectors[2][1] + 1;
      return result;
    };
    const x = Int8Array.from([1, 1, 1, 1]);
    const ids = {
      mismatch: await bench.request(golden, input(x), 600),
      float: await bench.request(
        golden,
        encodeTensors([{ ...vectorTensor("features", x), type: "float32", data: new Float32Array(4) }]),
        600,
      ),
      wide: await bench.request(golden, input(Int8Array.from([1, 2, 3, 4, 5])), 600),
      name: await bench.request(golden, encodeTensors([vectorTensor("pixels", x)]), 600),
      two: await bench.request(golden, encodeTensors([vectorTensor("features", x), vectorTensor("more", x)]), 600),
    };
    const reason = (id: bigint) => logged("worker", id, "job left unclaimed: cannot run it");
    try {
      await waitFor("five jobs left", () => Object.values(ids).every(reason));
    } finally {
      runtime.run = run;
    }
    const r = (id: bigint) => reason(id)! as unknown as { reason: string; detail: string };
    expect(r(ids.mismatch).reason).to.equal("trace-mismatch");
    const reference = runReference(GOLDEN_MODEL.layers, x).vectors[2][1];
    expect(r(ids.mismatch).detail).to.equal(
      `ONNX Runtime disagrees with the reference executor at layer 2, neuron 1: reference ${reference}, ` +
        `ONNX Runtime ${reference + 1}; refusing to serve this model on this machine`,
    );
    expect(r(ids.float)).to.deep.include({ reason: "input-invalid" });
    expect(r(ids.float).detail).to.include("element type 1, not int8 (3)");
    expect(r(ids.wide)).to.deep.include({
      reason: "input-mismatch",
      detail: 'input "features": 5 values, the model takes 4',
    });
    expect(r(ids.name)).to.deep.include({
      reason: "input-mismatch",
      detail: 'input "pixels": the model\'s input is "features"',
    });
    expect(r(ids.two).detail).to.include("2 tensors where the model has 1");
    for (const id of Object.values(ids)) expect(await bench.status(id)).to.equal(JobStatus.Requested);
    const m = bench.running.get("worker")!.metrics;
    expect(await m.value(m.jobsFailed, { reason: "trace-mismatch" })).to.equal(1);
    // Expired and refunded, so that no later worker takes them.
    await time.increase(601);
    for (const id of Object.values(ids)) await escrow.connect(requester).settle(await jobOf(id), "0x");
    for (const id of Object.values(ids)) expect(await bench.status(id)).to.equal(JobStatus.Refunded);
  });

  it("--fault wrong-trace: verify-job names the wrong neuron, then a verifier proves it in one transaction", async function () {
    const { escrow, staking, faulty, verifiers } = bench;
    await bench.stop("worker");
    await bench.stop("v0");
    await bench.start("faulty", faulty, "worker", { fault: "wrong-trace" });
    const id = await bench.request(golden, input(GOLDEN_INPUT));
    await waitFor("the wrong trace posted", async () => (await bench.status(id)) === JobStatus.Submitted);
    await bench.stop("faulty");

    // One hidden neuron moved, and the layers after it recomputed from it: the output is consistent with it.
    const fault = logged("faulty", id, /^FAULT INJECTION: posting a wrong trace/) as LogLine & {
      layer: number;
      index: number;
      honest: number;
      posted: number;
    };
    expect(fault.layer).to.be.within(1, L - 1);
    expect(fault.honest).to.equal(HONEST[fault.layer][fault.index]);
    expect(fault.posted).to.not.equal(fault.honest);
    const posted = postedOf((await outputOf(id)).args.output, L);
    for (let k = 1; k < fault.layer; k++) expect(posted[k - 1]).to.deep.equal(HONEST[k]);
    expect(posted[fault.layer - 1]).to.deep.equal(
      HONEST[fault.layer].map((v, j) => (j === fault.index ? fault.posted : v)),
    );
    for (let k = fault.layer; k < L; k++) {
      const next = runReference(GOLDEN_MODEL.layers.slice(k), Int8Array.from(posted[k - 1])).vectors[1];
      expect(posted[k]).to.deep.equal(Array.from(next));
    }

    const { store, deps } = bench.verifyDeps();
    const before = await verifyJob(id, deps);
    const neuron = {
      kind: "neuron",
      layer: fault.layer,
      index: fault.index,
      posted: fault.posted,
      expected: fault.honest,
    };
    expect(before).to.deep.include({ status: "Submitted", verdict: "wrong" });
    expect(before.proven?.fraud).to.deep.equal(neuron);
    expect(formatVerdict(before))
      .to.include(
        `  trace      WRONG: layer ${fault.layer}, neuron ${fault.index}: posted ${fault.posted}, the model gives ${fault.honest}`,
      )
      .and.include("  proof      a proof would succeed now: the challenge window is open until");

    const prover = verifiers[0];
    const nonce = await nonceOf(prover.address);
    const balance = await escrow.balanceOf(prover.address);
    const stake = (await staking.accountOf(faulty.address)).active;
    await bench.start("v0", prover, "verifier");
    await waitFor("the job proven wrong", async () => (await bench.status(id)) === JobStatus.Rejected);
    const [proven] = await fraudsOf(id);
    expect(await fraudsOf(id)).to.have.length(1);
    expect(proven.args).to.deep.equal({
      jobId: id,
      prover: prover.address,
      fraud: 3n, // Fraud.Neuron
      layer: BigInt(fault.layer),
      index: BigInt(fault.index),
    });
    expect(await bench.senderOf(proven.txHash)).to.equal(prover.address);
    const settled = await settledOf(id);
    expect(settled.transactionHash).to.equal(proven.txHash, "proven and settled in one transaction");
    expect(Number(settled.args.outcome)).to.equal(JobOutcome.Rejected);
    const job = await jobOf(id);
    const split = provenSettlement(job, await escrow.paramsOf(job.paramsId), BigInt(job.collateral));
    expect(settled.args.settlement.challengerPayment).to.equal(split.challengerPayment);
    expect(split.challengerPayment).to.be.greaterThan(0n);
    expect(await escrow.balanceOf(prover.address)).to.equal(balance + split.challengerPayment);
    expect((await staking.accountOf(faulty.address)).active).to.equal(stake - BigInt(job.collateral));
    const handle = bench.running.get("v0")!;
    const ticks = handle.ticks;
    await waitFor("a few more ticks", () => handle.ticks > ticks + 5);
    expect(await nonceOf(prover.address)).to.equal(nonce + 1, "one proveFraud, never resent");
    expect(await proofs("v0", "sent")).to.equal(1);
    expect(await proofs("v0", "landed")).to.equal(1);
    expect(logged("v0", id, "proved a wrong Proven result: the job is Rejected and its worker slashed")).to.include({
      txHash: proven.txHash,
    });

    const after = await verifyJob(id, deps);
    expect(after).to.deep.include({ status: "Rejected", outcome: "Rejected", verdict: "wrong" });
    expect(after.proven?.provenBy).to.deep.equal({
      prover: prover.address,
      fraud: "neuron",
      layer: fault.layer,
      index: fault.index,
      txHash: proven.txHash,
    });
    expect(formatVerdict(after)).to.include(
      `  proof      already proven by ${prover.address} (FraudProven, neuron at layer ${fault.layer}, neuron ${fault.index}, tx ${proven.txHash}): the job is Rejected`,
    );
    await store.close();
  });

  it("--fault wrong-output: a running verifier proves the wrong output value in one transaction", async function () {
    const { escrow, faulty, verifiers } = bench;
    const prover = verifiers[0];
    const nonce = await nonceOf(prover.address);
    await bench.start("faulty", faulty, "worker", { fault: "wrong-output" });
    const id = await bench.request(deep, input(DEEP_INPUT, DEEP));
    await waitFor("the job proven wrong", async () => (await bench.status(id)) === JobStatus.Rejected);
    await bench.stop("faulty");

    const fault = logged("faulty", id, /^FAULT INJECTION: posting a wrong trace/) as LogLine & {
      layer: number;
      index: number;
      posted: number;
    };
    const depth = DEEP.layers.length;
    expect(fault.layer).to.equal(depth, "the output vector");
    const honest = runReference(DEEP.layers, DEEP_INPUT).vectors.map((v) => Array.from(v));
    const posted = postedOf((await outputOf(id)).args.output, depth);
    expect(posted.slice(0, depth - 1)).to.deep.equal(honest.slice(1, depth), "the hidden vectors kept");
    expect(posted[depth - 1]).to.deep.equal(honest[depth].map((v, j) => (j === fault.index ? fault.posted : v)));

    const proven = await fraudsOf(id);
    expect(proven).to.have.length(1);
    expect(proven[0].args).to.deep.include({ prover: prover.address, fraud: 3n, layer: BigInt(depth) });
    expect(proven[0].args.index).to.equal(BigInt(fault.index));
    expect(Number((await settledOf(id)).args.outcome)).to.equal(JobOutcome.Rejected);
    expect(await nonceOf(prover.address)).to.equal(nonce + 1);
    const job = await jobOf(id);
    const split = provenSettlement(job, await escrow.paramsOf(job.paramsId), BigInt(job.collateral));
    expect((await settledOf(id)).args.settlement.challengerPayment).to.equal(split.challengerPayment);
    expect(await proofs("v0", "landed")).to.equal(2);
  });

  it("a verifier beaten to the proof logs it, counts it preempted and never resends", async function () {
    const { escrow, faulty, verifiers, other } = bench;
    await bench.stop("v0");
    await bench.start("faulty", faulty, "worker", { fault: "wrong-output" });
    const id = await bench.request(golden, input(GOLDEN_INPUT));
    await waitFor("the wrong trace posted", async () => (await bench.status(id)) === JobStatus.Submitted);
    await bench.stop("faulty");

    const prover = verifiers[1];
    const mined = await nonceOf(prover.address);
    await network.provider.send("evm_setAutomine", [false]);
    try {
      const handle = await bench.start("v1", prover, "verifier");
      await waitFor(
        "the verifier's proof pending",
        async () => (await ethers.provider.getTransactionCount(prover.address, "pending")) > mined,
      );
      // Another party's proof of the same job, with a higher tip: mined first in the same block.
      const output = getBytes((await outputOf(id)).args.output);
      const posting = { input: input(GOLDEN_INPUT), output };
      const proof = buildFraudProof(
        new WeightsTree(GOLDEN_MODEL.layers),
        posting,
        findFirstFraud(GOLDEN_MODEL.layers, posting)!,
      );
      const job = (await jobOf(id)) as IJobEscrow.JobStruct;
      const tip = parseUnits("50", "gwei");
      await escrow.connect(other).proveFraud(job, encodeEvidence(proof), {
        gasLimit: 1_000_000,
        maxPriorityFeePerGas: tip,
        maxFeePerGas: tip * 4n,
      });
      await mine(1);
      await network.provider.send("evm_setAutomine", [true]);
      await waitFor("the verifier's proof ended", async () => (await proofs("v1", "preempted")) === 1);
      const ticks = handle.ticks;
      await waitFor("a few more ticks", () => handle.ticks > ticks + 5);
    } finally {
      await network.provider.send("evm_setAutomine", [true]);
    }
    const [proven] = await fraudsOf(id);
    expect(proven.args.prover).to.equal(other.address);
    expect(await fraudsOf(id)).to.have.length(1);
    expect(await nonceOf(prover.address)).to.equal(mined + 1, "its one proof mined (reverted), never resent");
    expect(await proofs("v1", "sent")).to.equal(1);
    expect(await proofs("v1", "landed")).to.equal(0);
    expect(
      logged("v1", id, "not proven by this verifier: proven by another party first, or the challenge window closed"),
    ).to.include({
      why: "JobEscrowInvalidStatus",
    });
  });

  it("verify-job on a wrong trace nobody proved: too late once the window closed, and after it settled", async function () {
    const { escrow, faulty, other } = bench;
    for (const label of ["v0", "v1"]) await bench.stop(label);
    await bench.start("faulty", faulty, "worker", { fault: "wrong-trace" });
    const id = await bench.request(golden, input(GOLDEN_INPUT));
    await waitFor("the wrong trace posted", async () => (await bench.status(id)) === JobStatus.Submitted);
    await bench.stop("faulty");
    const windowEnd = Number((await escrow.jobState(id)).windowEnd);
    await time.increase(DEFAULT_ESCROW_PARAMS.challengeWindow + 1);

    const { store, deps } = bench.verifyDeps();
    const closed = await verifyJob(id, deps);
    expect(closed).to.deep.include({ status: "Submitted", verdict: "wrong" });
    expect(closed.proven?.fraud?.kind).to.equal("neuron");
    const end = new Date(windowEnd * 1000).toISOString();
    expect(formatVerdict(closed)).to.include(
      `  proof      too late for a proof: the challenge window closed at ${end}, and settling accepts the result`,
    );
    await escrow.connect(other).settle(await jobOf(id), "0x");
    const settled = await verifyJob(id, deps);
    expect(settled).to.deep.include({ status: "Settled", outcome: "Accepted", verdict: "wrong" });
    expect(formatVerdict(settled)).to.include("  proof      too late for a proof: the job settled Accepted unproven");
    await store.close();
  });

  it("no service logged an error along the way", function () {
    expect(bench.errors()).to.deep.equal([]);
  });
});
