/**
 * End to end over JSON-RPC: a `hardhat node` on 127.0.0.1 (free port), the suite deployed by deployProtocol in
 * its own process, a worker and three verifiers as child processes of the worker CLI, real ONNX models built
 * in code and fetched from file:// URIs. Everything is checked from chain data and from the services' pino log
 * files. Orchestration: src/network (shared with `npm run demo`).
 */
import { expect } from "chai";
import { parseEther } from "ethers";
import { compareOutputs, type Tensor } from "../packages/sdk/src/codec";
import { buildMlpClassifier, buildTwoInputModel } from "../src/models/build";
import {
  conservation,
  isTerminal,
  LOCAL_ESCROW_PARAMS,
  LocalNetwork,
  outputTensors,
  readJobs,
  STATUS_NAMES,
  tail,
  waitFor,
  type JobReport,
  type ServiceProcess,
} from "../src/network";
import { JobOutcome, JobStatus, VerificationMode, type ModelTerms } from "../packages/sdk/src/params";
import { jobIdOf, toJob } from "../packages/sdk/src/job";
import { jobToJson } from "../src/worker/clients/chain";
import { sha256Hex } from "../src/worker/clients/models";
import { loadModel, runModel, type LoadedModel } from "../packages/sdk/src/onnx";
import { underCoverage } from "./fixtures/coverage";

const TOLERANCE = { relTolerance: 10_000, absTolerance: 1000 };
const TERMS: ModelTerms = {
  price: parseEther("2"),
  mode: VerificationMode.Committee,
  committeeSize: 3,
  royaltyBps: 500,
  ...TOLERANCE,
};
/**
 * The terms in `mode`. Three verifiers run, so an Optimistic model's challenge committee is one: a claim of an
 * Optimistic job needs its committee size plus the challenger in eligible verifiers (`JobEscrowNotEnoughVerifiers`).
 */
const termsIn = (mode: number): ModelTerms => ({
  ...TERMS,
  mode,
  committeeSize: mode === VerificationMode.Optimistic ? 1 : TERMS.committeeSize,
});

/** Generous: the machine may be loaded (2 cores shared with the rest of the suite). */
const SETTLE_TIMEOUT_MS = 120_000;

const features = (row: number[], type: "float32" | "int32" = "float32"): Tensor[] => [
  {
    name: "features",
    type,
    shape: [1, row.length],
    data: type === "float32" ? new Float32Array(row) : new Int32Array(row),
  },
];
const twoInput = (i: number): Tensor[] => [
  { name: "x", type: "float32", shape: [2, 3], data: new Float32Array([i, -i, 0.5, 1 - i, 2 * i, -3]) },
  { name: "scale", type: "int64", shape: [1], data: new BigInt64Array([BigInt(i + 1)]) },
];

describe("end to end over JSON-RPC: hardhat node, deploy script, worker and verifier processes", function () {
  this.timeout(300_000);

  let net: LocalNetwork | undefined;
  let worker: ServiceProcess;
  const mlpBytes = buildMlpClassifier();
  const twoBytes = buildTwoInputModel();
  const local = new Map<bigint, LoadedModel>();
  const inputs = new Map<bigint, Tensor[]>();
  let mlpId: bigint;
  let twoId: bigint;
  let failed = false;

  const n = () => net!;
  const modelOwner = () => n().wallet(1);
  const requester = () => n().wallet(2);
  const workerWallet = () => n().wallet(3);
  const verifierWallets = () => [4, 5, 6].map((i) => n().wallet(i));

  async function request(modelId: bigint, input: Tensor[], deadlineIn?: number): Promise<bigint> {
    const id = await n().request(requester(), modelId, input, { deadlineIn });
    inputs.set(id, input);
    return id;
  }

  const status = async (id: bigint) => Number((await n().escrow.jobState(id)).status);

  async function waitTerminal(ids: bigint[], what: string): Promise<void> {
    await waitFor(what, async () => (await Promise.all(ids.map(status))).every(isTerminal), {
      timeoutMs: SETTLE_TIMEOUT_MS,
      intervalMs: 300,
      detail: async () => {
        const open = [];
        for (const id of ids) if (!isTerminal(await status(id))) open.push(`${id}: ${STATUS_NAMES[await status(id)]}`);
        return `open: ${open.join(", ")}\nworker log:\n${tail(worker.logFile, 10)}`;
      },
    });
  }

  /** The reports of `ids`, each settled once, accepted, with an output equal to ONNX Runtime's here. */
  async function checkAccepted(ids: bigint[]): Promise<JobReport[]> {
    const { jobs } = await readJobs(n().provider, n().deployment);
    const reports = ids.map((id) => jobs.find((j) => j.id === id)!);
    for (const j of reports) {
      const count = (name: string) => j.events.filter((e) => e.name === name).length;
      const requested = j.events.find((e) => e.name === "JobRequested")!;
      const domain = { chainId: (await n().provider.getNetwork()).chainId, escrow: await n().escrow.getAddress() };
      expect(jobIdOf(toJob(requested.args.job), domain), `job ${j.id} is the hash of its record`).to.equal(j.id);
      expect(j.nonce, `job ${j.id} nonce`).to.equal(requested.args.job.nonce);
      expect(count("JobSettled"), `job ${j.id} JobSettled`).to.equal(1);
      expect(count("ResultSubmitted"), `job ${j.id} ResultSubmitted`).to.equal(1);
      expect(j.status, `job ${j.id} status`).to.equal(JobStatus.Settled);
      expect(j.outcome, `job ${j.id} outcome`).to.equal(JobOutcome.Accepted);
      expect(j.worker, `job ${j.id} worker`).to.equal(workerWallet().address);
      const posted = outputTensors(j);
      expect(posted, `job ${j.id} output decodes`).to.not.equal(undefined);
      const expected = await runModel(local.get(j.modelId)!, inputs.get(j.id)!);
      const c = compareOutputs(posted!, expected, TOLERANCE);
      expect(c.agree, `job ${j.id}: ${c.reason}`).to.equal(true);
    }
    return reports;
  }

  /** Every account that may have been credited: the node's first ten. */
  const accounts = () => Array.from({ length: 10 }, (_, i) => n().wallet(i).address);

  async function checkConservation(): Promise<void> {
    const { jobs } = await readJobs(n().provider, n().deployment);
    const c = await conservation(n().escrow, n().token, jobs, [...accounts(), n().deployment.treasury]);
    expect(c.ok, `escrow holds ${c.held}, open ${c.openFees} + bonds ${c.bonds} + credited ${c.credited}`).to.equal(
      true,
    );
  }

  before(async function () {
    // Its contracts run uninstrumented on a node of their own: nothing for solidity-coverage to measure.
    if (underCoverage()) this.skip();
    // Committee jobs settle as soon as every member has revealed and the submission is immediate, so long
    // windows cost nothing when all goes well and leave room on a loaded machine; the challenge window, which
    // every optimistic job waits out, stays short.
    net = await LocalNetwork.start({
      escrowParams: { ...LOCAL_ESCROW_PARAMS, submissionWindow: 60, commitWindow: 30, revealWindow: 30 },
    });
    // The services start first: they take seconds to load, and read their nonce and the chain only once they
    // run, so the stakes and models below are in place by then without waiting for them.
    worker = n().startService({ name: "worker", wallet: workerWallet(), role: "worker", pollMs: 300 });
    const verifiers = verifierWallets().map((w, i) =>
      n().startService({ name: `verifier-${i + 1}`, wallet: w, role: "verifier", pollMs: 300 }),
    );
    const funded = [requester(), workerWallet(), ...verifierWallets()];
    await n().fund(funded, parseEther("10000"));
    await n().stake(workerWallet(), parseEther("500"));
    for (const v of verifierWallets()) await n().stake(v, parseEther("100"), true);
    mlpId = await n().publishModel({ owner: modelOwner(), name: "mlp", bytes: mlpBytes, terms: termsIn(2) });
    twoId = await n().publishModel({ owner: modelOwner(), name: "two-input", bytes: twoBytes, terms: termsIn(0) });
    local.set(mlpId, await loadModel(mlpBytes));
    local.set(twoId, await loadModel(twoBytes));
    await Promise.all([worker, ...verifiers].map((s) => s.ready(120_000)));
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });

  after(async function () {
    if (!net) return;
    if (failed) console.log(`    e2e logs kept in ${net.dir}/logs`);
    await net.stop({ remove: !failed, graceMs: 5000 });
  });

  it("settles jobs over both models and all three modes, each output equal to ONNX Runtime run here", async function () {
    const ids: bigint[] = [];
    ids.push(await request(mlpId, features([5.1, 3.5, 1.4, 0.2]))); // Committee
    ids.push(await request(mlpId, features([6.3, 3.3, 6.0, 2.5])));
    ids.push(await request(twoId, twoInput(1))); // None
    ids.push(await request(twoId, twoInput(2)));
    await n().setTerms(modelOwner(), mlpId, termsIn(VerificationMode.Optimistic));
    await n().setTerms(modelOwner(), twoId, termsIn(VerificationMode.Committee));
    ids.push(await request(mlpId, features([7.0, 3.2, 4.7, 1.4]))); // Optimistic
    ids.push(await request(mlpId, features([4.9, 3.0, 1.4, 0.2])));
    ids.push(await request(twoId, twoInput(3))); // Committee
    ids.push(await request(twoId, twoInput(4)));

    await waitTerminal(ids, "the 8 jobs to settle");
    const reports = await checkAccepted(ids);
    expect(reports.map((j) => j.mode)).to.deep.equal([2, 2, 0, 0, 1, 1, 2, 2]);
    // The escrow numbers requests 1, 2, 3, …; readJobs lists jobs in that order, whatever their hashed ids.
    expect(reports.map((j) => j.nonce)).to.deep.equal([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
    const { jobs } = await readJobs(n().provider, n().deployment);
    expect(jobs.map((j) => j.id)).to.deep.equal(ids);
    for (const j of reports.filter((r) => r.mode === VerificationMode.Committee)) {
      const reveals = j.events.filter((e) => e.name === "VoteRevealed");
      expect(
        reveals.map((e) => e.args.agree),
        `job ${j.id} votes`,
      ).to.deep.equal([true, true, true]);
      // Drawn after the submission, from the hash of the block after it (readable from the block after that).
      const drawnEvent = j.events.find((e) => e.name === "CommitteeDrawn")!;
      const submitted = j.events.find((e) => e.name === "ResultSubmitted")!;
      expect(drawnEvent.block, `job ${j.id} drawn`).to.be.greaterThan(submitted.block + 1);
      // Each verifier committed from its own seat of the drawn committee.
      const drawn = drawnEvent.args.committee as string[];
      const commits = j.events.filter((e) => e.name === "VoteCommitted");
      expect(commits.map((e) => Number(e.args.seat)).sort(), `job ${j.id} seats`).to.deep.equal([0, 1, 2]);
      for (const e of commits) expect(drawn[Number(e.args.seat)], `job ${j.id} seat`).to.equal(e.args.verifier);
    }
    for (const j of reports.filter((r) => r.mode === VerificationMode.Optimistic)) {
      expect(j.challenged, `job ${j.id} challenged`).to.equal(false);
    }
    await checkConservation();
  });

  it("a worker killed with SIGKILL mid-run and restarted: every job terminal once, none paid twice or lost", async function () {
    await n().setTerms(modelOwner(), twoId, termsIn(VerificationMode.None));
    // MLP jobs stay Optimistic: they need a settlement after the challenge window, which the restarted worker
    // must still send.
    const first: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      first.push(await request(twoId, twoInput(i + 5)));
      first.push(await request(mlpId, features([5 + i, 3, 1.5 + i, 0.2 * i])));
    }
    const submitted = async (ids: bigint[]) =>
      (await Promise.all(ids.map(status))).filter((s) => s !== JobStatus.Requested).length;
    await waitFor("the worker's first submission", async () => (await submitted(first)) > 0, {
      timeoutMs: SETTLE_TIMEOUT_MS,
      intervalMs: 50,
    });
    await worker.kill("SIGKILL");
    const atKill = await submitted(first);

    const second: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      second.push(await request(twoId, twoInput(i + 9)));
      second.push(await request(mlpId, features([6 + i, 2.8, 4 + i, 1.3])));
    }
    const all = [...first, ...second];
    expect(atKill, "submitted when killed").to.be.within(1, first.length);
    expect(await submitted(second), "nothing submitted while the worker is down").to.equal(0);

    worker = n().startService({ name: "worker", wallet: workerWallet(), role: "worker", pollMs: 300 });
    await worker.ready(120_000);
    await waitTerminal(all, "all 12 jobs terminal after the restart");
    const reports = await checkAccepted(all); // JobSettled once, ResultSubmitted once, outputs right

    // No payment twice: the worker's credited balance is exactly the sum of its settlements (it never withdraws).
    const { jobs } = await readJobs(n().provider, n().deployment);
    const owed = jobs
      .filter((j) => j.worker === workerWallet().address)
      .reduce((a, j) => a + (j.settlement?.workerPayment ?? 0n), 0n);
    expect(await n().escrow.balanceOf(workerWallet().address)).to.equal(owed);
    expect(reports).to.have.length(12);
    await checkConservation();

    const starts = worker.logLines().filter((l) => l.msg === "service started");
    expect(starts, "two runs in the worker's log").to.have.length(2);
  });

  it("leaves jobs with a bad model or input unclaimed, logs the reason, and they expire refunded", async function () {
    const junk = new TextEncoder().encode("this is not an ONNX model");
    const none = termsIn(VerificationMode.None);
    const missing = await n().publishModel({
      owner: modelOwner(),
      name: "never-written",
      bytes: junk,
      terms: none,
      contentHash: sha256Hex(new TextEncoder().encode("the missing model")),
      uri: `file://${n().dir}/models/does-not-exist.onnx`,
    });
    const badHash = await n().publishModel({
      owner: modelOwner(),
      name: "mlp-copy",
      bytes: mlpBytes,
      terms: none,
      contentHash: sha256Hex(new TextEncoder().encode("other bytes")),
    });
    const notOnnx = await n().publishModel({ owner: modelOwner(), name: "junk", bytes: junk, terms: none });
    const good = features([5.1, 3.5, 1.4, 0.2]);
    const cases: [bigint, string][] = [
      [await request(missing, good, 120), "model-unfetchable"],
      [await request(badHash, good, 120), "model-hash-mismatch"],
      [await request(notOnnx, good, 120), "model-not-onnx"],
      [await request(mlpId, features([5.1, 3.5, 1.4, 0.2, 9]), 120), "input-mismatch"], // shape [1,5]
      [await request(mlpId, features([5, 3, 1, 0], "int32"), 120), "input-mismatch"], // int32, not float32
    ];

    const reasons = () =>
      new Map(
        worker
          .logLines()
          .filter((l) => l.msg === "job left unclaimed: cannot run it")
          .map((l) => [String(BigInt(String(l.jobId))), l]), // logged in hex
      );
    await waitFor("the worker to log why it leaves each job", () => cases.every(([id]) => reasons().has(String(id))), {
      timeoutMs: SETTLE_TIMEOUT_MS,
      detail: () => tail(worker.logFile, 10),
    });
    for (const [id, reason] of cases) {
      const line = reasons().get(String(id))!;
      expect(line.reason, `job ${id}`).to.equal(reason);
      expect(String(line.detail), `job ${id}`).to.have.length.greaterThan(10);
      expect(await status(id), `job ${id} unclaimed`).to.equal(JobStatus.Requested);
    }
    expect(String(reasons().get(String(cases[0][0]))!.detail)).to.include("does-not-exist.onnx");
    expect(String(reasons().get(String(cases[1][0]))!.detail)).to.include(
      sha256Hex(new TextEncoder().encode("other bytes")),
    );
    expect(String(reasons().get(String(cases[3][0]))!.detail)).to.include("features");

    // Past the deadline, the requester takes the refund.
    await n().increaseTime(121);
    for (const [id] of cases) {
      const [ev] = await n().escrow.queryFilter(n().escrow.filters.JobRequested(id));
      const tx = await n().escrow.connect(requester()).settle(jobToJson(ev.args.job), "0x");
      await tx.wait();
    }
    const { jobs } = await readJobs(n().provider, n().deployment);
    for (const [id] of cases) {
      const j = jobs.find((r) => r.id === id)!;
      expect(j.status, `job ${id}`).to.equal(JobStatus.Refunded);
      expect(j.outcome, `job ${id}`).to.equal(JobOutcome.Expired);
      expect(j.settlement!.requesterRefund, `job ${id} refund`).to.equal(j.fee);
      expect(j.events.filter((e) => e.name === "JobSettled")).to.have.length(1);
      expect(j.events.some((e) => e.name === "JobClaimed" || e.name === "ResultSubmitted")).to.equal(false);
    }
    await checkConservation();
  });
});
