import { expect } from "chai";
import { ethers } from "hardhat";
import { mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { underCoverage } from "../fixtures/coverage";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { hexlify, type Filter, type FilterByBlockHash } from "ethers";
import type { JobEscrow, VerifierStaking } from "../../typechain-types";
import { encodeTensors, type Tensor } from "../../packages/sdk/src/codec";
import { encodeSignature } from "../../packages/sdk/src/signature";
import { jobDomainOf, jobIdOf, toJob, type JobDomain } from "../../packages/sdk/src/job";
import { buildIdentityModel, buildMlpClassifier, buildTwoInputModel } from "../../src/models/build";
import { DEFAULT_ESCROW_PARAMS, JobOutcome, JobStatus, VoteState } from "../../packages/sdk/src/params";
import { jobToJson } from "../../src/worker/clients/chain";
import { sha256Hex } from "../../src/worker/clients/models";
import { buildProfileModel, weightsRoot } from "../../src/proven";
import { GOLDEN_MODEL } from "../fixtures/proven";
import { deployServiceBench, waitFor as waitUntil, type LogLine, type ServiceBench } from "../fixtures/services";
import { loadModel, runModel } from "../../packages/sdk/src/onnx";
import { formatVerdict, verifyJob } from "../../src/worker/verify-job";

/** A wrong weights root for the golden profile model: the root of its first layer alone. */
const BAD_ROOT = weightsRoot(GOLDEN_MODEL.layers.slice(0, 1));

const features = (rows: number[][]): Tensor => ({
  name: "features",
  type: "float32",
  shape: [rows.length, rows[0].length],
  data: new Float32Array(rows.flat()),
});

/**
 * Run on every poll of `waitFor`: stands in for the block production of a real chain, which the in-process
 * network does only on transactions. A committee is drawn from a seed that exists from the block after its
 * request, so `mineWhileDrawing` mines one block per poll while any job is in Drawing, and nothing otherwise.
 */
let onPoll: (() => Promise<void>) | undefined;

const waitFor = (what: string, cond: () => Promise<boolean> | boolean, timeoutMs?: number) =>
  waitUntil(what, cond, timeoutMs, () => onPoll?.() ?? Promise.resolve());

describe("worker service (in-process)", function () {
  this.timeout(60_000);

  let bench: ServiceBench;
  let escrow: JobEscrow;
  let staking: VerifierStaking;
  let requester: HardhatEthersSigner;
  let worker: HardhatEthersSigner;
  let faulty: HardhatEthersSigner;
  let verifiers: HardhatEthersSigner[];
  const models = {
    mlp: 0n,
    two: 0n,
    identity: 0n,
    badHash: 0n,
    notOnnx: 0n,
    badRoot: 0n,
    declared: 0n,
    misdeclared: 0n,
  };
  const jobs: Record<string, bigint> = {};

  const start = (label: string, signer: HardhatEthersSigner, role: "worker" | "verifier", extra = {}) =>
    bench.start(label, signer, role, extra);
  const stop = (label: string) => bench.stop(label);
  const request = (modelId: bigint, input: Tensor[], deadlineIn?: number) => bench.request(modelId, input, deadlineIn);
  const status = (id: bigint) => bench.status(id);
  const mineWhileDrawing = (ids: bigint[]) => async () => {
    for (const id of ids) {
      if ((await status(id)) === JobStatus.Drawing) return void (await mine(1));
    }
  };
  /** Waits for `id` to reach `want`, mining while it waits for its committee's seed. */
  async function waitStatus(what: string, id: bigint, want: number): Promise<void> {
    onPoll = mineWhileDrawing([id]);
    try {
      await waitFor(what, async () => (await status(id)) === want);
    } finally {
      onPoll = undefined;
    }
  }
  const drawsOf = async (id: bigint) => escrow.queryFilter(escrow.filters.CommitteeDrawn(id));
  const verifyDeps = () => bench.verifyDeps();
  const senderOf = (txHash: string) => bench.senderOf(txHash);
  const outputOf = async (id: bigint) => {
    const [ev] = await escrow.queryFilter(escrow.filters.ResultSubmitted(id));
    return ev?.args.output as string | undefined;
  };
  const outcomeOf = async (id: bigint) => {
    const [ev] = await escrow.queryFilter(escrow.filters.JobSettled(id));
    return ev ? Number(ev.args.outcome) : undefined;
  };

  before(async function () {
    // The services size each transaction from a gas estimate plus a margin, which on solidity-coverage's
    // instrumented bytecode runs past the node's per-transaction cap; every contract path they drive is covered by
    // the contract tests. They run in full in npm test.
    if (underCoverage()) this.skip();
    bench = await deployServiceBench("trustml-service-");
    ({ escrow, staking, requester, worker, faulty, verifiers } = bench);

    models.mlp = await bench.register("mlp.onnx", buildMlpClassifier(), 2, 3);
    models.two = await bench.register("two.onnx", buildTwoInputModel(), 0, 1);
    models.identity = await bench.register("identity.onnx", buildIdentityModel("float32", ["N"]), 1, 1);
    models.badHash = await bench.register("mlp-copy.onnx", buildMlpClassifier(), 0, 1, {
      hash: sha256Hex(Buffer.from("other")),
    });
    models.notOnnx = await bench.register("garbage.onnx", Buffer.from("this is not an onnx file"), 0, 1);
    // A profile model registered with the root of another model (its first layer alone): no worker may serve it.
    const profile = buildProfileModel(GOLDEN_MODEL);
    models.badRoot = await bench.register("profile.onnx", profile, 0, 1, { root: BAD_ROOT });
    // Signatures: an identity on any [N, M] declared as [2, 3], so that only the signature refuses a [3, 2]
    // input of the same size; and a file declared with an input it does not have.
    const matrix = (name: string) => ({ inputs: [{ name, type: "float32" as const, shape: [2, 3] }] });
    models.declared = await bench.register("matrix.onnx", buildIdentityModel("float32", ["N", "M"]), 0, 1, {
      signature: encodeSignature({ ...matrix("x"), outputs: [{ name: "y", type: "float32", shape: [2, 3] }] }),
    });
    models.misdeclared = await bench.register("matrix-ab.onnx", buildIdentityModel("float32", ["A", "B"]), 0, 1, {
      signature: encodeSignature({ ...matrix("not-x"), outputs: [{ name: "y", type: "float32", shape: [2, 3] }] }),
    });

    await start("worker", worker, "worker", { port: 0 });
    for (let i = 0; i < 3; i++) await start(`v${i}`, verifiers[i], "verifier");
  });

  after(async function () {
    // Under coverage the set-up skipped before deploying.
    await bench?.close();
  });

  it("None mode: posts exactly what ONNX Runtime computes, and serves /healthz and /metrics", async function () {
    const input: Tensor[] = [
      { name: "x", type: "float32", shape: [2, 3], data: new Float32Array([1, -2, 3, -4, 5, 0.5]) },
      { name: "scale", type: "int64", shape: [1], data: new BigInt64Array([3n]) },
    ];
    const id = await request(models.two, input);
    await waitFor("the None job settled", async () => (await status(id)) === JobStatus.Settled);
    const expected = encodeTensors(await runModel(await loadModel(buildTwoInputModel()), input));
    expect(await outputOf(id)).to.equal(hexlify(expected));
    jobs.none = id;

    const port = bench.running.get("worker")!.port!;
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).to.equal(200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).to.match(/trustml_jobs_submitted_total\{[^}]*\} 1/);
    expect(metrics).to.include("trustml_inference_seconds_bucket");
  });

  it("Committee mode: the three verifiers agree and the job settles Accepted", async function () {
    const input = [features([[5.1, 3.5, 1.4, 0.2]])];
    const id = await request(models.mlp, input);
    await waitStatus("the committee job settled", id, JobStatus.Settled);
    expect(await outcomeOf(id)).to.equal(JobOutcome.Accepted);
    // The worker drew its committee, after the submission and once the seed existed.
    const [drawn] = await drawsOf(id);
    const [submitted] = await escrow.queryFilter(escrow.filters.ResultSubmitted(id));
    expect(await senderOf(drawn.transactionHash)).to.equal(worker.address);
    expect(drawn.blockNumber).to.be.greaterThan(submitted.blockNumber + 1);
    const votes = await escrow.committee(id);
    expect(votes.map((s) => Number(s.vote))).to.deep.equal([VoteState.Agreed, VoteState.Agreed, VoteState.Agreed]);
    // Each verifier committed from its own seat: its index in the committee.
    const commits = await escrow.queryFilter(escrow.filters.VoteCommitted(id));
    expect(commits.map((e) => Number(e.args.seat)).sort()).to.deep.equal([0, 1, 2]);
    for (const e of commits) expect(votes[Number(e.args.seat)].verifier).to.equal(e.args.verifier);
    const expected = encodeTensors(await runModel(await loadModel(buildMlpClassifier()), input));
    expect(await outputOf(id)).to.equal(hexlify(expected));
    jobs.accepted = id;
  });

  it("Optimistic mode: a right result is not challenged and settles after the window", async function () {
    const input: Tensor[] = [{ name: "x", type: "float32", shape: [3], data: new Float32Array([1, 2, 3]) }];
    const id = await request(models.identity, input);
    await waitFor("the optimistic result", async () => (await status(id)) === JobStatus.Submitted);
    await new Promise((r) => setTimeout(r, 200)); // verifiers look at it
    await time.increase(DEFAULT_ESCROW_PARAMS.challengeWindow + 1);
    await waitFor("the optimistic job settled", async () => (await status(id)) === JobStatus.Settled);
    expect((await escrow.challengeOf(id)).challenger).to.equal(ethers.ZeroAddress);
  });

  it("leaves jobs with a bad model or input unclaimed, logs why, and they expire refunded", async function () {
    const good = [features([[1, 2, 3, 4]])];
    const badHash = await request(models.badHash, good, 600);
    const notOnnx = await request(models.notOnnx, good, 600);
    const badInput = await request(models.mlp, [features([[1, 2, 3, 4, 5]])], 600);
    const badRoot = await request(models.badRoot, good, 600);
    const matrix = (name: string, shape: number[]) => [
      { name, type: "float32" as const, shape, data: new Float32Array([1, 2, 3, 4, 5, 6]) },
    ];
    const undeclared = await request(models.declared, matrix("x", [3, 2]), 600);
    const misdeclared = await request(models.misdeclared, matrix("not-x", [2, 3]), 600);
    const reasons = () => bench.lines("worker").filter((l) => l.msg?.startsWith("job left unclaimed"));
    await waitFor("six logged reasons", () => reasons().length >= 6);
    // Logged as the tools print ids (0x and 64 hex digits); keyed here by the decimal the lookups below use.
    const byJob = new Map(
      reasons().map((l) => [String(BigInt(String(l.jobId))), l as LogLine & { reason: string; detail: string }]),
    );
    expect(byJob.get(String(badHash))!.reason).to.equal("model-hash-mismatch");
    expect(byJob.get(String(badHash))!.detail).to.include(sha256Hex(Buffer.from("other")));
    expect(byJob.get(String(notOnnx))!.reason).to.equal("model-not-onnx");
    expect(byJob.get(String(badInput))!.reason).to.equal("input-mismatch");
    // The weights root recomputed from the file is not the registry's: refused, with both roots in the log.
    expect(byJob.get(String(badRoot))!.reason).to.equal("model-weights-root-mismatch");
    expect(byJob.get(String(badRoot))!.detail)
      .to.include(`weightsRoot of the file is ${weightsRoot(GOLDEN_MODEL.layers)}`)
      .and.include(`the registry says ${BAD_ROOT}`);
    // The same size as the declared [2, 3], so the escrow took it; the file would take it too; the signature does not.
    expect(byJob.get(String(undeclared))!.reason).to.equal("input-mismatch");
    expect(byJob.get(String(undeclared))!.detail)
      .to.include("does not conform to the declared signature")
      .and.include('input "x"');
    expect(byJob.get(String(misdeclared))!.reason).to.equal("model-signature-mismatch");
    expect(byJob.get(String(misdeclared))!.detail).to.include('model input "x" is not in the declared signature');
    for (const id of [badHash, notOnnx, badInput, badRoot, undeclared, misdeclared]) {
      expect(await status(id)).to.equal(JobStatus.Requested);
    }
    const m = bench.running.get("worker")!.metrics;
    expect(await m.value(m.jobsFailed, { reason: "model-hash-mismatch" })).to.equal(1);
    expect(await m.value(m.jobsFailed, { reason: "model-weights-root-mismatch" })).to.equal(1);
    // verify-job says why the job cannot be re-executed: the file is the registry's, its root is not.
    const { store, deps } = verifyDeps();
    const verdict = await verifyJob(badRoot, deps);
    expect(verdict.model.hashOk).to.equal(true);
    expect(verdict.model.error).to.match(/^model-weights-root-mismatch: /);
    expect(formatVerdict(verdict))
      .to.include(`weightsRoot of the file is ${weightsRoot(GOLDEN_MODEL.layers)}`)
      .and.include(`the registry says ${BAD_ROOT}`);
    await store.close();

    await time.increase(601);
    for (const id of [badHash, notOnnx, badInput, badRoot, undeclared, misdeclared]) {
      const job = (await escrow.queryFilter(escrow.filters.JobRequested(id)))[0].args.job;
      await escrow.connect(requester).settle(jobToJson(job), "0x");
      expect(await status(id)).to.equal(JobStatus.Refunded);
      expect(await outcomeOf(id)).to.equal(JobOutcome.Expired);
    }
  });

  it("a --fault wrong-output worker is rejected and slashed (committee), and challenged (optimistic)", async function () {
    await stop("worker");
    const before = (await staking.accountOf(faulty.address)).active;
    await start("faulty", faulty, "worker", { fault: "wrong-output" });
    const id = await request(models.mlp, [features([[6.7, 3.1, 4.4, 1.4]])]);
    await waitStatus("the wrong committee job rejected", id, JobStatus.Rejected);
    const votes = await escrow.committee(id);
    expect(votes.every((s) => Number(s.vote) === VoteState.Disagreed)).to.equal(true);
    const collateral = (await escrow.queryFilter(escrow.filters.JobClaimed(id)))[0].args.collateral;
    expect((await staking.accountOf(faulty.address)).active).to.equal(before - collateral);
    jobs.rejected = id;

    const opt = await request(models.identity, [
      { name: "x", type: "float32", shape: [2], data: new Float32Array([1, 2]) },
    ]);
    await waitStatus("the wrong optimistic job rejected", opt, JobStatus.Rejected);
    expect((await escrow.challengeOf(opt)).challenger).to.not.equal(ethers.ZeroAddress);
    await stop("faulty");
  });

  it("a restarted worker resumes from its cursor, batches, and never submits twice", async function () {
    const input = (v: number): Tensor[] => [
      { name: "x", type: "float32", shape: [1, 3], data: new Float32Array([v, v, v]) },
      { name: "scale", type: "int64", shape: [1], data: new BigInt64Array([2n]) },
    ];
    const a = await request(models.two, input(1));
    const b = await request(models.two, input(2));
    const handle = await start("worker", worker, "worker"); // same state directory as before
    await waitFor(
      "both jobs settled",
      async () => (await status(a)) === JobStatus.Settled && (await status(b)) === JobStatus.Settled,
    );
    const subs = await escrow.queryFilter(escrow.filters.ResultSubmitted());
    expect(subs.filter((e) => e.args.jobId === a)).to.have.length(1);
    expect(subs.filter((e) => e.args.jobId === b)).to.have.length(1);
    const [ea, eb] = [a, b].map((id) => subs.find((e) => e.args.jobId === id)!);
    expect(ea.transactionHash).to.equal(eb.transactionHash, "one submitResults for both");
    await waitFor("a few more ticks", () => handle.ticks > 5);
    expect(await handle.metrics.value(handle.metrics.jobsSubmitted)).to.equal(2);
    expect(await handle.metrics.value(handle.metrics.jobsFailed)).to.equal(0);
  });

  it("caps a batch at maxBatch: five results go in batches of at most two, each job submitted once", async function () {
    await stop("worker");
    const input = (v: number): Tensor[] => [
      { name: "x", type: "float32", shape: [1, 3], data: new Float32Array([v, v, v]) },
      { name: "scale", type: "int64", shape: [1], data: new BigInt64Array([3n]) },
    ];
    const ids: bigint[] = [];
    for (let i = 0; i < 5; i++) ids.push(await request(models.two, input(10 + i)));
    const handle = await start("worker", worker, "worker", { maxBatch: 2 });
    await waitFor("five jobs settled", async () => {
      for (const id of ids) if ((await status(id)) !== JobStatus.Settled) return false;
      return true;
    });
    const subs = (await escrow.queryFilter(escrow.filters.ResultSubmitted())).filter((e) => ids.includes(e.args.jobId));
    expect(subs).to.have.length(5);
    const perTx = new Map<string, number>();
    for (const e of subs) perTx.set(e.transactionHash, (perTx.get(e.transactionHash) ?? 0) + 1);
    expect([...perTx.values()].sort()).to.deep.equal([1, 2, 2]);
    // The submissions' promises resolve once the worker has read their receipts, a poll after the blocks.
    await waitFor("the worker to count its submissions", async () => {
      return (await handle.metrics.value(handle.metrics.jobsSubmitted)) === 5;
    });
  });

  it("a verifier restarted between commit and reveal still reveals (salt on disk)", async function () {
    await stop("v2");
    const id = await request(models.mlp, [features([[5.9, 3.0, 5.1, 1.8]])]);
    const committed = async (who: HardhatEthersSigner) =>
      (await escrow.committee(id)).find((s) => s.verifier === who.address)?.vote === BigInt(VoteState.Committed);
    onPoll = mineWhileDrawing([id]);
    await waitFor(
      "v0 and v1 committed",
      async () => (await committed(verifiers[0])) && (await committed(verifiers[1])),
    );
    onPoll = undefined;
    await stop("v0");
    await start("v2", verifiers[2], "verifier");
    const revealed = async (who: HardhatEthersSigner) =>
      (await escrow.committee(id)).find((s) => s.verifier === who.address)?.vote === BigInt(VoteState.Agreed);
    await waitFor("v1 and v2 revealed", async () => (await revealed(verifiers[1])) && (await revealed(verifiers[2])));
    expect(await committed(verifiers[0])).to.equal(true);
    await start("v0", verifiers[0], "verifier");
    await waitFor("the job settled", async () => (await status(id)) === JobStatus.Settled);
    expect(await outcomeOf(id)).to.equal(JobOutcome.Accepted);
    expect(await revealed(verifiers[0])).to.equal(true);
  });

  it("verifiers a confirmation behind reveal with the last commitment read from the chain", async function () {
    for (let i = 0; i < 3; i++) {
      await stop(`v${i}`);
      await start(`v${i}`, verifiers[i], "verifier", { confirmations: 1 });
    }
    const id = await request(models.mlp, [features([[6.1, 2.8, 4.7, 1.2]])]);
    await waitStatus("the result under vote", id, JobStatus.Voting);
    await mine(1); // puts the ResultSubmitted event one confirmation deep
    // Each commit mines a block, so the last commitment is always at the head, which no cursor has applied;
    // nothing else mines before the reveals: without reading it from the chain, no one could reveal.
    await waitFor("the job settled", async () => (await status(id)) === JobStatus.Settled);
    expect(await outcomeOf(id)).to.equal(JobOutcome.Accepted);
    const commits = await escrow.queryFilter(escrow.filters.VoteCommitted(id));
    const reveals = await escrow.queryFilter(escrow.filters.VoteRevealed(id));
    expect(commits).to.have.length(3);
    expect(reveals).to.have.length(3);
    const lastCommit = Math.max(...commits.map((e) => e.blockNumber));
    expect(Math.min(...reveals.map((e) => e.blockNumber))).to.equal(lastCommit + 1);
    for (let i = 0; i < 3; i++) {
      await stop(`v${i}`);
      await start(`v${i}`, verifiers[i], "verifier");
    }
  });

  it("the worker draws the committees of its jobs in one drawCommittees, only once their seed exists", async function () {
    await stop("worker");
    const ids = [
      await request(models.mlp, [features([[5.0, 3.4, 1.5, 0.2]])]),
      await request(models.mlp, [features([[6.9, 3.1, 5.4, 2.1]])]),
    ];
    const handle = await start("worker", worker, "worker");
    await waitFor("both results submitted", async () =>
      (await Promise.all(ids.map(status))).every((s) => s === JobStatus.Drawing),
    );
    const nonce = await ethers.provider.getTransactionCount(worker.address);
    const ticks = handle.ticks;
    await waitFor("a few ticks without a new block", () => handle.ticks > ticks + 5);
    expect(await ethers.provider.getTransactionCount(worker.address)).to.equal(
      nonce,
      "nothing sent for a pending seed",
    );
    expect((await Promise.all(ids.map(status))).every((s) => s === JobStatus.Drawing)).to.equal(true);

    await mine(1); // the seed exists from the block after the submission
    await waitFor("both committees drawn", async () =>
      (await Promise.all(ids.map(status))).every((s) => s !== JobStatus.Drawing),
    );
    const draws = await Promise.all(ids.map(async (id) => (await drawsOf(id))[0]));
    expect(draws[0].transactionHash).to.equal(draws[1].transactionHash, "one drawCommittees for both");
    expect(await senderOf(draws[0].transactionHash)).to.equal(worker.address);
    expect(await ethers.provider.getTransactionCount(worker.address)).to.equal(nonce + 1);
    expect(await handle.metrics.value(handle.metrics.draws, { result: "committee" })).to.equal(2);
    const metrics = await handle.metrics.registry.metrics();
    expect(metrics).to.match(/trustml_committee_draws_total\{[^}]*result="committee"[^}]*\} 2/);
    await waitFor("both settled", async () =>
      (await Promise.all(ids.map(status))).every((s) => s === JobStatus.Settled),
    );
  });

  it("verifiers draw a job its worker left in Drawing once its draw-by nears; verify-job explains the wait", async function () {
    await stop("worker");
    const id = await request(models.mlp, [features([[5.7, 2.8, 4.1, 1.3]])]);
    await start("worker", worker, "worker");
    await waitFor("the result submitted", async () => (await status(id)) === JobStatus.Drawing);
    await stop("worker"); // before the seed exists: it never draws
    const { store, deps } = verifyDeps();
    const state = await escrow.jobState(id);
    let v = await verifyJob(id, deps);
    expect(v.status).to.equal("Drawing");
    expect(v.draw).to.deep.include({
      ticket: String(state.revealEnd),
      seedReady: false,
      drawBy: Number(state.windowEnd),
    });
    expect(formatVerdict(v)).to.include(`waiting for the seed of randomness ticket ${state.revealEnd}`);

    await mine(1);
    v = await verifyJob(id, deps);
    expect(v.draw?.seedReady).to.equal(true);
    expect(formatVerdict(v)).to.include("anyone can draw it now");
    await new Promise((r) => setTimeout(r, 300)); // the verifiers tick: the draw-by is far, so they leave it
    expect(await status(id)).to.equal(JobStatus.Drawing);

    await time.increase(DEFAULT_ESCROW_PARAMS.commitWindow / 2);
    await waitFor("the committee drawn", async () => (await status(id)) !== JobStatus.Drawing);
    const [drawn] = await drawsOf(id);
    expect(verifiers.map((s) => s.address)).to.include(await senderOf(drawn.transactionHash));
    await start("worker", worker, "worker");
    await waitFor("the job settled", async () => (await status(id)) === JobStatus.Settled);
    expect(await outcomeOf(id)).to.equal(JobOutcome.Accepted);
    await store.close();
  });

  it("a job nobody drew by its draw-by is still drawn when the worker comes back: nobody escapes the vote", async function () {
    await stop("worker");
    for (let i = 0; i < 3; i++) await stop(`v${i}`);
    const id = await request(models.mlp, [features([[6.0, 2.2, 5.0, 1.5]])]);
    await start("worker", worker, "worker");
    await waitFor("the result submitted", async () => (await status(id)) === JobStatus.Drawing);
    await stop("worker");
    await time.increase(DEFAULT_ESCROW_PARAMS.commitWindow + 1);
    // Past its draw-by with its seed there, the job is drawn (not ended undrawn) and goes to a vote.
    const handle = await start("worker", worker, "worker");
    await waitFor("the committee drawn", async () => (await status(id)) === JobStatus.Voting);
    const [drawn] = await drawsOf(id);
    expect(await senderOf(drawn.transactionHash)).to.equal(worker.address);
    // Counted once the worker has read the draw's receipt, a poll after its block.
    await waitFor("the draw counted", async () => {
      return (await handle.metrics.value(handle.metrics.draws, { result: "committee" })) >= 1;
    });
    for (let i = 0; i < 3; i++) await start(`v${i}`, verifiers[i], "verifier");
    await waitFor("the job settled", async () => (await status(id)) === JobStatus.Settled);
    expect(await outcomeOf(id)).to.equal(JobOutcome.Accepted);
  });

  it("verify-job re-checks an accepted and a rejected job from chain data", async function () {
    const { store, deps } = verifyDeps();
    const ok = await verifyJob(jobs.accepted, deps);
    const [requested] = await escrow.queryFilter(escrow.filters.JobRequested(jobs.accepted));
    expect(ok.record).to.deep.equal({ nonce: String(requested.args.job.nonce), hashOk: true });
    expect(ok.verdict).to.equal("correct");
    expect(ok.model.hashOk).to.equal(true);
    expect(ok.outcome).to.equal("Accepted");
    expect(ok.committee.map((s) => s.vote)).to.deep.equal(["Agreed", "Agreed", "Agreed"]);
    const bad = await verifyJob(jobs.rejected, deps);
    expect(bad.verdict).to.equal("wrong");
    expect(bad.outcome).to.equal("Rejected");
    expect(bad.rerun?.reason).to.match(/tensor "label" element 0|tensor "probabilities"/);
    expect(bad.committee.every((s) => s.vote === "Disagreed")).to.equal(true);
    await store.close();
  });

  it("verify-job flags a JobRequested record that does not hash to the job id", async function () {
    // A node that serves the accepted job's JobRequested event with one field of its record changed.
    const domain: JobDomain = await jobDomainOf(escrow);
    const tamper = async (filter: Filter | FilterByBlockHash) =>
      (await ethers.provider.getLogs(filter)).map((log) => {
        const parsed = escrow.interface.parseLog(log);
        if (parsed?.name !== "JobRequested" || parsed.args.jobId !== jobs.accepted) return log;
        const job = toJob(parsed.args.job);
        const forged = { ...job, fee: BigInt(job.fee) + 1n };
        expect(jobIdOf(forged, domain)).to.not.equal(jobs.accepted);
        const values = parsed.fragment.inputs.map((input, i) => (input.name === "job" ? forged : parsed.args[i]));
        return { ...log, data: escrow.interface.encodeEventLog(parsed.fragment, values).data };
      });
    const provider = new Proxy(ethers.provider, {
      get(target, prop) {
        if (prop === "getLogs") return tamper;
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const { store, deps } = verifyDeps();
    const v = await verifyJob(jobs.accepted, { ...deps, provider });
    expect(v.record.hashOk).to.equal(false);
    expect(v.verdict).to.equal("unverifiable");
    expect(v.summary).to.equal("the JobRequested record does not hash to the job id");
    expect(v.rerun).to.equal(undefined, "nothing is re-run on an unproven record");
    await store.close();
  });

  it("no service loop failed along the way", function () {
    expect(bench.errors()).to.deep.equal([]);
  });
});
