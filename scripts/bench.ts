/**
 * `npm run bench`: jobs per second through one worker process on a local chain (docs/BENCHMARKS.md).
 *
 * Starts `hardhat node` and deploys (src/network), publishes a ~1 ms MatMul/ReLU model in None mode (final at
 * submission), funds `--requesters` accounts with escrow deposits, signs every request up front, then measures:
 *
 *   1. ONNX Runtime on the model in this process (the inference the worker's time is compared with);
 *   2. the requesters alone: `--jobs` requests at once into the node, no worker running (can the bench feed 50/s?);
 *   3. the worker alone: a worker process started on that backlog, until every job is Settled;
 *   4. latency: `--latency-jobs` jobs one at a time, each request to its submission;
 *   5. end to end: `--jobs` more requests from the requesters at once, the worker running, until all are Settled.
 *
 * The worker runs under `node --cpu-prof` (a profile per worker phase, summarised by self time); CPU seconds of the
 * node, the worker and this process come from /proc, the worker's peak RSS from VmHWM. Results go to
 * bench/latest.json and bench/runs/<time>.json, the profiles to bench/profiles/. Every process started here is
 * stopped on exit, on failure and on SIGINT.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { parseEther } from "ethers";
import { loadModel } from "../packages/sdk/src/onnx";
import { VerificationMode, type ModelTerms } from "../packages/sdk/src/params";
import { deriveSignature } from "../packages/sdk/src/signature";
import { currentTerms } from "../packages/sdk/src/terms";
import { benchInputs, buildBenchModel, DEFAULT_SHAPE, timeOrt, type BenchModelShape } from "../src/bench/model";
import { summarizeProfile, type ProfileSummary, type Window } from "../src/bench/cpuprofile";
import { groupCpuSeconds, memoryOf, MemorySampler } from "../src/bench/proc";
import { logOffset, rpcCalls } from "../src/bench/node-log";
import {
  directProvider,
  jobIdsOf,
  sendRequests,
  signRequests,
  SettlementWatcher,
  type Sent,
} from "../src/bench/requests";
import { measureRoundTrips } from "../src/bench/roundtrip";
import { round, summarize, type Summary } from "../src/bench/stats";
import { backlogTimeline, type Stretch } from "../src/bench/timeline";
import { installSignalHandlers, LocalNetwork, ROOT, sleep, type ServiceProcess } from "../src/network";

const positive = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} takes a positive integer`);
  return n;
};
const nonNegative = (name: string) => (value: string) => {
  const n = Number(value);
  if (!(n >= 0)) throw new InvalidArgumentError(`${name} takes a number >= 0`);
  return n;
};

const program = new Command("bench")
  .description("jobs per second through one TrustML worker process on a local hardhat node")
  .option("--jobs <n>", "jobs of the worker-alone backlog and of the end-to-end run, each", positive("--jobs"), 500)
  .option("--requesters <n>", "requester accounts sending at once (at most 16)", positive("--requesters"), 8)
  .option(
    "--rate <n>",
    "requests per second in total, end to end (0: as fast as the node takes them)",
    nonNegative("--rate"),
    0,
  )
  .option("--latency-jobs <n>", "jobs sent one at a time for the latency phase", positive("--latency-jobs"), 20)
  .option("--poll-ms <ms>", "the worker's loop interval (--poll-ms of the worker)", positive("--poll-ms"), 100)
  .option("--worker-log-level <level>", "the worker's log level (debug: the backlog's timeline)", "debug")
  .option("--hidden <n>", "width of the model's hidden layers", positive("--hidden"), DEFAULT_SHAPE.hidden)
  .option("--layers <n>", "hidden layers of the model", positive("--layers"), DEFAULT_SHAPE.layers)
  .option("--ort-runs <n>", "in-process ONNX Runtime runs timed", positive("--ort-runs"), 2000)
  .option("--no-profile", "run the worker without --cpu-prof")
  .option("--timeout <s>", "longest wait for one phase, in seconds", positive("--timeout"), 600)
  .option("--out <dir>", "where results and profiles go", path.join(ROOT, "bench"))
  .option("--keep", "keep the working directory (logs, node output) instead of removing it");

interface Options {
  jobs: number;
  requesters: number;
  rate: number;
  latencyJobs: number;
  pollMs: number;
  workerLogLevel: string;
  hidden: number;
  layers: number;
  ortRuns: number;
  profile: boolean;
  timeout: number;
  out: string;
  keep?: boolean;
}

const PROFILE_PRELOAD = path.join(ROOT, "src", "bench", "profile-preload.js");

const started = Date.now();
const say = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);
const load = () => round(os.loadavg()[0], 2);

/** CPU seconds used between two readings, per process, and as a share of one core over the wall time. */
interface CpuShare {
  seconds: number;
  /** Percent of one core (200 % is both cores of a 2-core machine). */
  pctOfCore: number;
}

class CpuMeter {
  private readonly start: Record<string, number | undefined>;
  private readonly t0 = Date.now();

  constructor(private readonly read: () => Record<string, number | undefined>) {
    this.start = read();
  }

  stop(): Record<string, CpuShare | null> {
    const wall = (Date.now() - this.t0) / 1000;
    const end = this.read();
    return Object.fromEntries(
      Object.entries(end).map(([name, v]) => {
        const s = this.start[name];
        if (v === undefined || s === undefined) return [name, null];
        return [name, { seconds: round(v - s, 2), pctOfCore: round(((v - s) / wall) * 100, 1) }];
      }),
    );
  }
}

const selfCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** The first time each job appears in a worker log line with a transaction: when its submission was mined. */
function submissionTimes(service: ServiceProcess): Map<bigint, number> {
  const times = new Map<bigint, number>();
  for (const line of service.logLines()) {
    if (typeof line.txHash !== "string" || /^settled/.test(line.msg)) continue;
    const ids = Array.isArray(line.jobIds) ? line.jobIds : line.jobId !== undefined ? [line.jobId] : [];
    for (const id of ids as (string | number)[]) {
      const key = BigInt(id);
      if (!times.has(key)) times.set(key, Number(line.time));
    }
  }
  return times;
}

function commitOf(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const status = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: "unknown", dirty: false };
  }
}

async function main(): Promise<void> {
  const opts = program.parse().opts<Options>();
  if (opts.requesters > 16) program.error("--requesters: at most 16 (the node's accounts 4 to 19)");
  const shape: BenchModelShape = { ...DEFAULT_SHAPE, hidden: opts.hidden, layers: opts.layers };
  const profileDir = path.join(opts.out, "profiles");
  mkdirSync(profileDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");

  let net: LocalNetwork | undefined;
  let watcher: SettlementWatcher | undefined;
  installSignalHandlers(async () => {
    await watcher?.stop();
    await net?.stop({ graceMs: 3000 });
    if (net) console.error(`logs: ${net.dir}/logs`);
  });

  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
  say(`machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, node ${machine.node}; load ${load()}`);

  // 1. ONNX Runtime in this process.
  const modelBytes = buildBenchModel(shape);
  const model = await loadModel(modelBytes);
  const inputs = benchInputs(shape, 64);
  const ortLoad = load();
  const ort = await timeOrt(model, inputs, opts.ortRuns);
  await model.session.release();
  const ortRun = summarize(ort.run);
  const ortJob = summarize(ort.job);
  say(
    `ONNX Runtime, ${shape.input}→${shape.hidden}×${shape.layers}→${shape.output} MLP (${(modelBytes.length / 2 ** 20).toFixed(1)} MiB): ` +
      `session.run median ${ortRun.median.toFixed(3)} ms, p95 ${ortRun.p95.toFixed(3)} ms; decode+run+encode median ` +
      `${ortJob.median.toFixed(3)} ms (load ${ortLoad})`,
  );

  const budget = opts.timeout * 1000;
  say("starting a hardhat node and deploying");
  net = await LocalNetwork.start({ log: say, timeoutMs: 180_000 });
  const n = net;
  const provider = directProvider(n.url, n.deployment.chainId);
  const modelOwner = n.wallet(1);
  const worker = n.wallet(2);
  const requesters = Array.from({ length: opts.requesters }, (_, i) => n.wallet(4 + i));

  const price = parseEther("0.1");
  // A committee size is required even where no committee is drawn (None): the demo's terms.
  const terms: ModelTerms = {
    price,
    mode: VerificationMode.None,
    committeeSize: 3,
    royaltyBps: 300,
    relTolerance: 10_000,
    absTolerance: 1000,
  };
  const signature = deriveSignature(await loadModel(modelBytes), { dims: { N: 1 } });
  const modelId = await n.publishModel({ owner: modelOwner, name: "bench-mlp", bytes: modelBytes, terms, signature });
  const total = 2 * opts.jobs + opts.latencyJobs;
  const perRequesterMax = Math.ceil((2 * opts.jobs) / opts.requesters) + opts.latencyJobs;
  const deposit = price * BigInt(perRequesterMax + 1);
  await n.fund([worker, ...requesters], deposit + parseEther("1000"));
  await n.stake(worker, parseEther("500"));
  for (const r of requesters) await (await n.escrow.connect(r).deposit(deposit)).wait();
  say(
    `model ${modelId} published (None mode, ${price / 10n ** 16n / 100n}.1 TML); ${opts.requesters} requesters deposited`,
  );

  // Every request signed now: fixed gas limit and fees, nonces in order.
  const agreed = await currentTerms(n.registry, modelId);
  const now = await n.now();
  const sample = n.escrow.interface.encodeFunctionData("requestInference", [modelId, agreed, inputs[0], now + 3600, 0]);
  const estimate = await provider.estimateGas({
    from: requesters[0].address,
    to: n.deployment.contracts.escrow.address,
    data: sample,
  });
  const block = await provider.getBlock("latest");
  const baseFee = block?.baseFeePerGas ?? 1_000_000_000n;
  const sign = {
    escrow: n.escrow,
    chainId: n.deployment.chainId,
    modelId,
    terms: agreed,
    deadline: BigInt(now + 7200),
    gasLimit: (estimate * 3n) / 2n,
    maxFeePerGas: baseFee * 4n + 1_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
  };
  const jobInputs = benchInputs(shape, total, 7);
  const nonces = await Promise.all(requesters.map((r) => provider.getTransactionCount(r.address, "pending")));
  const split = (count: number, inputOffset: number) =>
    Promise.all(
      requesters.map((r, i) => {
        const mine = Math.floor(count / opts.requesters) + (i < count % opts.requesters ? 1 : 0);
        const from = nonces[i];
        nonces[i] += mine;
        return signRequests(sign, r, i, from, jobInputs.slice(inputOffset + i * mine), mine);
      }),
    ).then((lists) => interleave(lists));
  const signStarted = Date.now();
  const backlogRequests = await split(opts.jobs, 0);
  const latencyRequests = await signRequests(
    sign,
    requesters[0],
    0,
    nonces[0],
    jobInputs.slice(opts.jobs),
    opts.latencyJobs,
  );
  nonces[0] += opts.latencyJobs;
  const e2eRequests = await split(opts.jobs, opts.jobs + opts.latencyJobs);
  say(
    `signed ${total} requests in ${((Date.now() - signStarted) / 1000).toFixed(1)} s (gas limit ${sign.gasLimit}, estimate ${estimate})`,
  );

  /** CPU seconds so far of the node's process group, this process and the worker's group. */
  const cpu = (workerPid?: number) => () => ({
    node: groupCpuSeconds(n.node.pid),
    bench: selfCpuSeconds(),
    ...(workerPid === undefined ? {} : { worker: groupCpuSeconds(workerPid) }),
  });

  // 2. The requesters alone, into the node: the backlog.
  let phaseLoad = load();
  let head = await provider.getBlockNumber();
  let nodeLogFrom = logOffset(n.node.logFile);
  const meter = new CpuMeter(cpu());
  const backlogSent = await sendRequests(provider, backlogRequests);
  const requestersCpu = meter.stop();
  const requestersSeconds = (backlogSent.endedAt - backlogSent.startedAt) / 1000;
  const requestersPhase = {
    jobs: opts.jobs,
    requesters: opts.requesters,
    seconds: round(requestersSeconds, 2),
    requestsPerSecond: round(opts.jobs / requestersSeconds, 1),
    cpu: requestersCpu,
    /** Node CPU per request: what the load average cannot inflate much (a core at 100 % takes 1000 / this per s). */
    nodeCpuMsPerRequest: requestersCpu.node ? round((requestersCpu.node.seconds * 1000) / opts.jobs, 2) : null,
    load: { start: phaseLoad, end: load() },
    rpc: rpcCalls(n.node.logFile, nodeLogFrom),
  };
  say(
    `requesters alone: ${opts.jobs} requests in ${requestersPhase.seconds} s = ${requestersPhase.requestsPerSecond}/s ` +
      `(node ${requestersCpu.node?.pctOfCore ?? "?"} % of a core, bench ${requestersCpu.bench?.pctOfCore} %; load ${phaseLoad})`,
  );
  const backlogIds = await jobIdsOf(provider, n.escrow, backlogSent.sent);

  // 3. The worker alone on the backlog.
  const profileName = (phase: string) => `worker-${phase}-${stamp}.cpuprofile`;
  const startWorker = (phase: string): ServiceProcess => {
    // LocalNetwork passes this process's environment on to the worker (without TRUSTML_*), and NODE_OPTIONS may not
    // carry --cpu-prof: a preloaded module starts the profiler instead (src/bench/profile-preload.js).
    const saved = { options: process.env.NODE_OPTIONS, file: process.env.BENCH_CPU_PROFILE };
    if (opts.profile) {
      process.env.NODE_OPTIONS = [saved.options, `--require ${PROFILE_PRELOAD}`].filter(Boolean).join(" ");
      process.env.BENCH_CPU_PROFILE = path.join(profileDir, profileName(phase));
    }
    try {
      return n.startService({
        name: "worker",
        wallet: worker,
        role: "worker",
        pollMs: opts.pollMs,
        logLevel: opts.workerLogLevel,
      });
    } finally {
      restoreEnv("NODE_OPTIONS", saved.options);
      restoreEnv("BENCH_CPU_PROFILE", saved.file);
    }
  };

  /** Starts the worker, runs `run`, stops the worker; `run` returns the window of the profile to summarise. */
  const workerPhase = async (
    phase: string,
    run: (service: ServiceProcess) => Promise<Window>,
  ): Promise<{
    service: ServiceProcess;
    peakRssMiB: number | null;
    sampledRssMiB: number | null;
    profile?: ProfileSummary;
  }> => {
    const service = startWorker(phase);
    await service.ready(120_000);
    const sampler = new MemorySampler(() => ({ worker: service.pid }));
    const window = await run(service);
    const peak = memoryOf(service.pid)?.peakMiB;
    const sampled = sampler.stop().worker;
    await service.stop(15_000);
    let profile: ProfileSummary | undefined;
    const file = path.join(profileDir, profileName(phase));
    if (opts.profile) {
      for (let i = 0; i < 50 && !existsSync(file); i++) await sleep(100);
      if (existsSync(file)) profile = summarizeProfile(file, window);
      else say(`no profile at ${file}`);
    }
    return {
      service,
      peakRssMiB: peak === undefined ? null : round(peak, 1),
      sampledRssMiB: sampled === undefined ? null : round(sampled, 1),
      profile,
    };
  };

  phaseLoad = load();
  watcher = new SettlementWatcher(provider, n.escrow, head + 1);
  let backlogCpu: Record<string, CpuShare | null> = {};
  let backlogRpc = rpcCalls(n.node.logFile, 0, 0);
  const spawnedAt = Date.now();
  const backlog = await workerPhase("backlog", async (service) => {
    const from = logOffset(n.node.logFile);
    const m = new CpuMeter(cpu(service.pid));
    const w = watcher!;
    await w.waitCount(opts.jobs, budget, (done) => {
      if (done > 0 && done % 100 === 0) say(`worker alone: ${done}/${opts.jobs} settled`);
    });
    backlogCpu = m.stop();
    backlogRpc = rpcCalls(n.node.logFile, from);
    return { fromMs: serviceStartTime(service), toMs: Date.now() };
  });
  const backlogWatch = watcher;
  await watcher.stop();
  const backlogSubmitted = submissionTimes(backlog.service);
  const backlogServiceStart = serviceStartTime(backlog.service);
  const lastBacklog = Math.max(...backlogIds.map((id) => backlogSubmitted.get(id) ?? backlogWatch.settled.get(id)!.at));
  const backlogSeconds = (lastBacklog - backlogServiceStart) / 1000;
  // Each stretch of the backlog with what the worker's CPU did in it (idle: waiting for the node).
  const timeline = backlogTimeline(backlog.service.logLines(), backlogServiceStart, lastBacklog).map(
    (stretch, i, all) => {
      const fromMs = backlogServiceStart + all.slice(0, i).reduce((a, s) => a + s.ms, 0);
      if (!backlog.profile) return stretch;
      const p = summarizeProfile(backlog.profile.file, { fromMs, toMs: fromMs + stretch.ms }, 6);
      const calls = p.inclusiveTop.filter((c) => !/^\(|node:internal|node:events|node:domain/.test(c.name)).slice(0, 8);
      return { ...stretch, busyMs: p.busyMs, selfTop: p.selfTop, inclusiveTop: calls };
    },
  );
  const roundTrips = await measureRoundTrips(
    n.url,
    n.deployment.chainId,
    n.deployment.contracts.escrow.address,
    backlogIds,
  );
  say(
    `one jobState call: median ${roundTrips.direct.median.toFixed(1)} ms sent at once, ` +
      `${roundTrips.workerProvider.median.toFixed(1)} ms through a provider made as the worker's (load ${load()})`,
  );
  const workerAlone = {
    jobs: opts.jobs,
    seconds: round(backlogSeconds, 2),
    jobsPerSecond: round(opts.jobs / backlogSeconds, 1),
    /** From spawning the process (ts-node start-up and model load included) to the last settlement seen. */
    secondsWithStartup: round((lastBacklog - spawnedAt) / 1000, 2),
    accepted: backlogIds.filter((id) => backlogWatch.settled.get(id)?.accepted).length,
    cpu: backlogCpu,
    workerCpuMsPerJob: backlogCpu.worker ? round((backlogCpu.worker.seconds * 1000) / opts.jobs, 2) : null,
    nodeCpuMsPerJob: backlogCpu.node ? round((backlogCpu.node.seconds * 1000) / opts.jobs, 2) : null,
    peakRssMiB: backlog.peakRssMiB,
    sampledPeakRssMiB: backlog.sampledRssMiB,
    load: { start: phaseLoad, end: load() },
    rpc: backlogRpc,
    watcherCalls: backlogWatch.calls,
    timeline,
    profile: backlog.profile,
  };
  say(
    `worker alone: ${opts.jobs} jobs in ${workerAlone.seconds} s = ${workerAlone.jobsPerSecond} jobs/s ` +
      `(worker CPU ${workerAlone.workerCpuMsPerJob} ms/job, peak RSS ${workerAlone.peakRssMiB} MiB; load ${phaseLoad})`,
  );

  // 4 and 5: latency one job at a time, then end to end, with one worker process.
  head = await provider.getBlockNumber();
  watcher = new SettlementWatcher(provider, n.escrow, head + 1, 50);

  let latencyPhase: Record<string, unknown> = {};
  let e2ePhase: Record<string, unknown> = {};
  const e2e = await workerPhase("e2e", async (service) => {
    const w = watcher!;
    phaseLoad = load();
    const latencySent: Sent[] = [];
    for (const r of latencyRequests) {
      const { sent } = await sendRequests(provider, [r]);
      latencySent.push(sent[0]);
      await w.waitCount(latencySent.length, 60_000);
      await sleep(Math.random() * opts.pollMs); // not in step with the worker's loop
    }
    const latencyIds = await jobIdsOf(provider, n.escrow, latencySent);
    const submitted = submissionTimes(service);
    const latencies = latencyIds.map((id, i) => (submitted.get(id) ?? w.settled.get(id)!.at) - latencySent[i].at);
    const lat = summarize(latencies);
    latencyPhase = {
      jobs: opts.latencyJobs,
      latencyMs: roundSummary(lat),
      overheadMs: { median: round(lat.median - ortJob.median, 1), p95: round(lat.p95 - ortJob.median, 1) },
      load: { start: phaseLoad, end: load() },
    };
    say(
      `latency, one job at a time: median ${lat.median.toFixed(1)} ms, p95 ${lat.p95.toFixed(1)} ms from the request's ` +
        `block to its submission's (inference ${ortJob.median.toFixed(2)} ms of it; load ${phaseLoad})`,
    );

    const settledBefore = w.settled.size;
    const callsBefore = w.calls;
    phaseLoad = load();
    nodeLogFrom = logOffset(n.node.logFile);
    const m = new CpuMeter(cpu(service.pid));
    const sending = sendRequests(provider, e2eRequests, opts.rate);
    await w.waitCount(settledBefore + opts.jobs, budget, (done) => {
      const k = done - settledBefore;
      if (k > 0 && k % 100 === 0) say(`end to end: ${k}/${opts.jobs} settled`);
    });
    const allSeenAt = Date.now();
    const sent = await sending;
    const cpuShares = m.stop();
    const rpc = rpcCalls(n.node.logFile, nodeLogFrom);
    const ids = await jobIdsOf(provider, n.escrow, sent.sent);
    const subs = submissionTimes(service);
    const doneAt = ids.map((id) => subs.get(id) ?? w.settled.get(id)!.at);
    const seconds = (Math.max(...doneAt) - sent.startedAt) / 1000;
    const e2eLatency = summarize(doneAt.map((t, i) => t - sent.sent[i].at));
    e2ePhase = {
      jobs: opts.jobs,
      requesters: opts.requesters,
      rate: opts.rate || "unlimited",
      seconds: round(seconds, 2),
      jobsPerSecond: round(opts.jobs / seconds, 1),
      requestsPerSecond: round(opts.jobs / ((sent.endedAt - sent.startedAt) / 1000), 1),
      accepted: ids.filter((id) => w.settled.get(id)?.accepted).length,
      latencyMs: roundSummary(e2eLatency),
      cpu: cpuShares,
      workerCpuMsPerJob: cpuShares.worker ? round((cpuShares.worker.seconds * 1000) / opts.jobs, 2) : null,
      nodeCpuMsPerJob: cpuShares.node ? round((cpuShares.node.seconds * 1000) / opts.jobs, 2) : null,
      load: { start: phaseLoad, end: load() },
      rpc,
      watcherCalls: w.calls - callsBefore,
    };
    say(
      `end to end: ${opts.jobs} jobs in ${round(seconds, 2)} s = ${round(opts.jobs / seconds, 1)} jobs/s ` +
        `(requests sent at ${e2ePhase.requestsPerSecond}/s; latency under load median ${e2eLatency.median.toFixed(0)} ms; load ${phaseLoad})`,
    );
    return { fromMs: sent.startedAt, toMs: allSeenAt };
  });
  await watcher.stop();
  watcher = undefined;
  e2ePhase = { ...e2ePhase, peakRssMiB: e2e.peakRssMiB, sampledPeakRssMiB: e2e.sampledRssMiB, profile: e2e.profile };

  const results = {
    date: new Date().toISOString(),
    ...commitOf(),
    machine,
    parameters: {
      jobs: opts.jobs,
      requesters: opts.requesters,
      rate: opts.rate,
      latencyJobs: opts.latencyJobs,
      workerPollMs: opts.pollMs,
      workerConcurrency: 2,
      model: { ...shape, bytes: modelBytes.length, mode: "None" },
      node: "hardhat node, automine + 1 s interval blocks (TRUSTML_WALL_CLOCK_BLOCKS=1)",
      requests: "signed before timing; sent with eth_sendRawTransaction, one in flight per requester",
    },
    ort: {
      runs: opts.ortRuns,
      sessionRunMs: roundSummary(ortRun),
      jobComputeMs: roundSummary(ortJob),
      load: ortLoad,
    },
    requestersAlone: requestersPhase,
    roundTrips: {
      calls: roundTrips.calls,
      directMs: roundSummary(roundTrips.direct),
      workerProviderMs: roundSummary(roundTrips.workerProvider),
    },
    workerAlone,
    latency: latencyPhase,
    endToEnd: e2ePhase,
  };
  const file = path.join(opts.out, "runs", `${stamp}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
  copyFileSync(file, path.join(opts.out, "latest.json"));
  printTable(results);
  say(
    `results: ${path.relative(process.cwd(), file)} and ${path.relative(process.cwd(), path.join(opts.out, "latest.json"))}`,
  );
  if (opts.profile)
    say(
      `profiles: ${path.relative(process.cwd(), profileDir)}/ (summarise one: ts-node src/bench/cpuprofile.ts <file>)`,
    );

  await n.stop({ graceMs: 5000, remove: !opts.keep });
  if (opts.keep) say(`working directory kept: ${n.dir}`);
  pruneProfiles(profileDir, 3);
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

function roundSummary(s: Summary): Summary {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, k === "n" ? v : round(v, 3)])) as unknown as Summary;
}

/** Round-robin over the requesters' lists, so that the requests are sent in the order the requesters share. */
function interleave<T>(lists: T[][]): T[] {
  const out: T[] = [];
  for (let i = 0; out.length < lists.reduce((a, l) => a + l.length, 0); i++)
    for (const l of lists) if (i < l.length) out.push(l[i]);
  return out;
}

/** When the worker's latest run logged "service started" (its log is appended to across restarts). */
function serviceStartTime(service: ServiceProcess): number {
  const lines = service.logLines().filter((l) => l.msg === "service started");
  return Number(lines[lines.length - 1]?.time ?? Date.now());
}

/** Keeps the newest `keep` profiles of each phase (worker-<phase>-<time>.cpuprofile). */
function pruneProfiles(dir: string, keep: number): void {
  const byPhase = new Map<string, string[]>();
  for (const f of readdirSync(dir)) {
    const m = /^worker-(\w+)-.*\.cpuprofile$/.exec(f);
    if (m) byPhase.set(m[1], [...(byPhase.get(m[1]) ?? []), f]);
  }
  for (const files of byPhase.values()) {
    for (const f of files.sort().reverse().slice(keep)) rmSync(path.join(dir, f), { force: true });
  }
}

function printTable(r: {
  machine: { cpus: number; node: string };
  ort: { sessionRunMs: Summary; jobComputeMs: Summary; load: number };
  requestersAlone: {
    requestsPerSecond: number;
    nodeCpuMsPerRequest: number | null;
    cpu: Record<string, CpuShare | null>;
    load: { start: number };
  };
  workerAlone: {
    jobsPerSecond: number;
    workerCpuMsPerJob: number | null;
    peakRssMiB: number | null;
    cpu: Record<string, CpuShare | null>;
    load: { start: number };
    timeline: (Stretch & { busyMs?: number; selfTop?: { name: string; ms: number }[] })[];
    profile?: ProfileSummary;
  };
  roundTrips: { directMs: Summary; workerProviderMs: Summary };
  latency: Record<string, unknown>;
  endToEnd: Record<string, unknown>;
}): void {
  const e = r.endToEnd as {
    jobsPerSecond: number;
    cpu: Record<string, CpuShare | null>;
    load: { start: number };
    peakRssMiB: number | null;
    latencyMs: Summary;
    workerCpuMsPerJob: number | null;
    profile?: ProfileSummary;
  };
  const l = r.latency as { latencyMs: Summary; overheadMs: { median: number; p95: number }; load: { start: number } };
  const pct = (c: CpuShare | null | undefined) => (c ? `${c.pctOfCore} %` : "?");
  const rows: [string, string, string][] = [
    [
      "ONNX Runtime session.run (in-process)",
      `median ${r.ort.sessionRunMs.median} ms, p95 ${r.ort.sessionRunMs.p95} ms`,
      `${r.ort.load}`,
    ],
    [
      "decode + run + encode (in-process)",
      `median ${r.ort.jobComputeMs.median} ms, p95 ${r.ort.jobComputeMs.p95} ms`,
      `${r.ort.load}`,
    ],
    [
      "requesters alone (no worker)",
      `${r.requestersAlone.requestsPerSecond} req/s; node CPU ${pct(r.requestersAlone.cpu.node)} ` +
        `(${r.requestersAlone.nodeCpuMsPerRequest} ms/request), bench ${pct(r.requestersAlone.cpu.bench)}`,
      `${r.requestersAlone.load.start}`,
    ],
    [
      "worker alone (backlog)",
      `${r.workerAlone.jobsPerSecond} jobs/s; worker CPU ${r.workerAlone.workerCpuMsPerJob} ms/job (${pct(r.workerAlone.cpu.worker)}), node ${pct(r.workerAlone.cpu.node)}`,
      `${r.workerAlone.load.start}`,
    ],
    [
      "latency, one job at a time",
      `median ${l.latencyMs.median} ms, p95 ${l.latencyMs.p95} ms; minus inference ${l.overheadMs.median} ms`,
      `${l.load.start}`,
    ],
    [
      "end to end (requesters + worker)",
      `${e.jobsPerSecond} jobs/s; worker CPU ${e.workerCpuMsPerJob} ms/job (${pct(e.cpu.worker)}), node ${pct(e.cpu.node)}`,
      `${e.load.start}`,
    ],
    [
      "one jobState call (node round trip)",
      `median ${r.roundTrips.directMs.median} ms sent at once, ${r.roundTrips.workerProviderMs.median} ms via the worker's provider`,
      "",
    ],
    ["worker peak RSS (VmHWM)", `backlog ${r.workerAlone.peakRssMiB} MiB, end to end ${e.peakRssMiB} MiB`, ""],
  ];
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  console.log(`\n${"measurement".padEnd(w0)}  ${"result".padEnd(w1)}  load`);
  console.log(`${"-".repeat(w0)}  ${"-".repeat(w1)}  ----`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`);
  console.log("\nworker alone, where the wall time went (from its debug log):");
  for (const t of r.workerAlone.timeline) {
    const busy = t.busyMs === undefined ? "" : ` (CPU busy ${t.busyMs} ms)`;
    console.log(`  ${String(t.ms).padStart(7)} ms  ${t.what}${busy}`);
    for (const c of (t.selfTop ?? []).slice(0, 4))
      console.log(`  ${" ".repeat(12)}${String(c.ms).padStart(6)} ms self  ${c.name}`);
  }
  for (const [name, p] of [
    ["worker alone", r.workerAlone.profile],
    ["end to end", e.profile],
  ] as const) {
    if (!p) continue;
    console.log(`\nworker profile, ${name}: busy ${p.busyPct} % of ${p.wallMs} ms; self time by component:`);
    for (const c of p.components.slice(0, 10))
      console.log(`  ${String(c.ms).padStart(7)} ms ${c.pct.toFixed(1).padStart(5)} %  ${c.name}`);
  }
  console.log("");
}

main().catch(async (e: Error) => {
  console.error(`\nFAILED: ${e.stack ?? e.message}`);
  process.exitCode = 1;
  // installSignalHandlers' exit hook kills the node and the worker.
  process.exit(1);
});
