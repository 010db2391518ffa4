/**
 * `npm run demo`: TrustML end to end on a local chain, in about a minute.
 *
 * Starts `hardhat node`, deploys with deployProtocol (windows of seconds), publishes three models built in code
 * (an MLP classifier, a model with a float32 and an int64 input, and a 784 → 128 → 64 → 10 MLP quantized by
 * `model:quantize`'s converter into a Proven-mode integer profile file), stakes a worker, a dishonest worker and
 * five verifiers, and runs them as separate processes of the worker CLI. First the dishonest worker alone
 * (`--fault wrong-output`) takes a committee job: the committee rejects its output and it is slashed. Then, restarted
 * with `--fault wrong-trace`, it takes a Proven job and posts a trace with one hidden neuron wrong: a verifier proves
 * it in one transaction and it is slashed. Then the honest worker serves 36 jobs over the three models and all four
 * verification modes (two models' terms change half-way). When every job is terminal it prints a table and a
 * summary, checks every accepted output against ONNX Runtime run here (a Proven output, trace included, against the
 * reference executor bit for bit), stops everything and exits 0; on any failure or after 150 s it exits 1.
 *
 * Options: --keep (keep the working directory with the logs), --budget <seconds> (default 150), --explore (after
 * the summary, keep the network running and serve the provenance explorer for it until Ctrl-C).
 */
import { rmSync } from "node:fs";
import { formatUnits, parseEther } from "ethers";
import { compareOutputs, type Tensor } from "../packages/sdk/src/codec";
import {
  buildFloatMlp,
  buildMlpClassifier,
  buildTwoInputModel,
  randomFloatMlp,
  seededRandom,
  sparseImageRows,
} from "../src/models/build";
import { buildProfileModel, runReference, traceOf, vectorTensor, weightsRoot, type ProfileModel } from "../src/proven";
import { measureAgreement, parseFloatMlp, quantizeInput, quantizeMlp, type Quantized } from "../src/proven/quantize";
import {
  conservation,
  installSignalHandlers,
  isShuttingDown,
  isTerminal,
  LocalNetwork,
  MODE_NAMES,
  OUTCOME_NAMES,
  outputTensors,
  payouts,
  readJobs,
  STATUS_NAMES,
  waitFor,
  type JobReport,
} from "../src/network";
import { ESCROW_MODES, JobOutcome, JobStatus, VerificationMode, type ModelTerms } from "../packages/sdk/src/params";
import { loadModel, runModel, type LoadedModel } from "../packages/sdk/src/onnx";
import { deriveSignature, formatSignature } from "../packages/sdk/src/signature";
import { formatJobId } from "../packages/sdk/src/job";
import { DEFAULT_PORT, startExplorer, type RunningExplorer } from "../src/explorer/serve";

const args = process.argv.slice(2);
const KEEP = args.includes("--keep");
const EXPLORE = args.includes("--explore");
const budgetArg = args.indexOf("--budget");
const BUDGET_S = budgetArg >= 0 ? Number(args[budgetArg + 1]) : 150;
if (!(BUDGET_S > 0)) {
  console.error("--budget takes a number of seconds");
  process.exit(2);
}

const started = Date.now();
const elapsed = () => ((Date.now() - started) / 1000).toFixed(1).padStart(5);
const say = (line: string) => console.log(`[${elapsed()} s] ${line}`);

const TML = (v: bigint, digits = 2) => Number(formatUnits(v, 18)).toFixed(digits);

const FUNDS = parseEther("10000");
const VERIFIER_STAKE = parseEther("100");
const WORKER_STAKE = parseEther("500");
const TOLERANCE = { relTolerance: 10_000, absTolerance: 1000 }; // 1e-5 relative, 1e-6 absolute

const ACCOUNTS = { governance: 0, modelOwner: 1, requester: 2, worker: 3, dishonest: 4, verifiers: [5, 6, 7, 8, 9] };

/** Iris-like measurements for the classifier. */
const FLOWERS = [
  [5.1, 3.5, 1.4, 0.2],
  [7.0, 3.2, 4.7, 1.4],
  [6.3, 3.3, 6.0, 2.5],
  [4.9, 3.0, 1.4, 0.2],
  [6.4, 3.2, 4.5, 1.5],
  [5.8, 2.7, 5.1, 1.9],
  [5.0, 3.6, 1.4, 0.2],
  [5.5, 2.3, 4.0, 1.3],
  [7.1, 3.0, 5.9, 2.1],
];
const mlpInput = (i: number): Tensor[] => [
  { name: "features", type: "float32", shape: [1, 4], data: new Float32Array(FLOWERS[i % FLOWERS.length]) },
];
const twoInput = (i: number): Tensor[] => [
  { name: "x", type: "float32", shape: [1, 3], data: new Float32Array([i - 3, 0.5 * i, 2 - i]) },
  { name: "scale", type: "int64", shape: [1], data: new BigInt64Array([BigInt((i % 4) + 1)]) },
];

/** The Proven model: a seeded 784 → 128 → 64 → 10 float MLP quantized on 64 image-like rows; 6 of them are inputs. */
function digitsModel(): { float: Uint8Array; quantized: Quantized; rows: number[][] } {
  const random = seededRandom(0x2e0a); // the same model on every run
  const float = buildFloatMlp(randomFloatMlp([784, 128, 64, 10], random));
  const rows = sparseImageRows(random, 64, 784);
  return { float, quantized: quantizeMlp(parseFloatMlp(float), rows), rows };
}

const num = (v: number | bigint) => (typeof v === "bigint" ? v.toString() : String(Number(v.toFixed(3))));

/** A short rendering of an output for the table. */
function describeOutput(model: string, t: Tensor[] | undefined): string {
  if (!t) return "-";
  const get = (name: string) => t.find((x) => x.name === name);
  if (model === "iris-mlp") {
    const label = Number(get("label")!.data[0]);
    const p = get("probabilities")!.data[label] as number;
    return `class ${label} (p=${p.toFixed(3)})`;
  }
  if (model === "digits-proven") {
    // The first tensor is the output vector; the others are the posted hidden vectors.
    const scores = [...t[0].data].map(Number);
    return `class ${scores.indexOf(Math.max(...scores))} (+${t.length - 1} hidden vectors)`;
  }
  const y = [...get("y")!.data].map((v) => num(v as number));
  return `y=[${y.join(",")}] count=${num(get("count")!.data[0] as number)}`;
}

interface Planned {
  /** The job's id: a 256-bit hash, for the chain. */
  id: bigint;
  /** Its request number, for people: "#1", "#2", … */
  label: string;
  model: string;
  input: Tensor[];
  dishonest: boolean;
}

async function main(): Promise<void> {
  let net: LocalNetwork | undefined;
  let explorer: RunningExplorer | undefined;
  installSignalHandlers(async () => {
    await explorer?.close();
    if (!net) return;
    await net.stop({ graceMs: 3000 });
    if (explorer && !KEEP) {
      rmSync(net.dir, { recursive: true, force: true });
      console.error("stopped the explorer, the node, the worker and the verifiers");
    } else console.error(`logs: ${net.dir}/logs`);
  });
  const deadline = started + BUDGET_S * 1000;
  // Waits end 5 s before the budget, so that a timeout says what it waited for.
  const remaining = () => Math.max(1000, deadline - Date.now() - 5000);
  const budgetTimer = setTimeout(() => {
    console.error(`\nFAILED: the demo did not finish within its ${BUDGET_S} s budget`);
    void (net ? net.stop({ graceMs: 2000 }) : Promise.resolve()).finally(() => process.exit(1));
  }, BUDGET_S * 1000);

  try {
    say("starting a hardhat node and deploying TrustML (windows: submission 30 s, challenge/commit/reveal 10 s)");
    net = await LocalNetwork.start({ log: say, timeoutMs: remaining() });
    const n = net;
    const governance = n.wallet(ACCOUNTS.governance);
    const modelOwner = n.wallet(ACCOUNTS.modelOwner);
    const requester = n.wallet(ACCOUNTS.requester);
    const worker = n.wallet(ACCOUNTS.worker);
    const dishonest = n.wallet(ACCOUNTS.dishonest);
    const verifiers = ACCOUNTS.verifiers.map((i) => n.wallet(i));

    await n.fund([requester, worker, dishonest, ...verifiers], FUNDS);
    await n.stake(worker, WORKER_STAKE);
    await n.stake(dishonest, VERIFIER_STAKE);
    for (const v of verifiers) await n.stake(v, VERIFIER_STAKE, true);
    say(`staked: worker ${TML(WORKER_STAKE, 0)} TML, dishonest worker and 5 verifiers ${TML(VERIFIER_STAKE, 0)} each`);

    const mlpBytes = buildMlpClassifier();
    const twoBytes = buildTwoInputModel();
    const committee: ModelTerms = {
      price: parseEther("2"),
      mode: VerificationMode.Committee,
      committeeSize: 3,
      royaltyBps: 500,
      ...TOLERANCE,
    };
    const none: ModelTerms = { ...committee, price: parseEther("1"), mode: VerificationMode.None, royaltyBps: 300 };
    const models = new Map<bigint, { name: string; model: LoadedModel }>();
    // Each version declares its signature, derived from the file with its batch dimension fixed at 1: requests are
    // checked against it before they pay, and the escrow refuses an input of another size.
    const mlp = await loadModel(mlpBytes);
    const two = await loadModel(twoBytes);
    const single = { dims: { N: 1 } };
    const mlpId = await n.publishModel({
      owner: modelOwner,
      name: "iris-mlp",
      bytes: mlpBytes,
      terms: committee,
      signature: deriveSignature(mlp, single),
    });
    const twoId = await n.publishModel({
      owner: modelOwner,
      name: "two-input",
      bytes: twoBytes,
      terms: none,
      signature: deriveSignature(two, single),
    });
    models.set(mlpId, { name: "iris-mlp", model: mlp });
    models.set(twoId, { name: "two-input", model: two });
    say(
      `published model ${mlpId} iris-mlp (4→8→3 MLP, committee of 3) and model ${twoId} two-input ` +
        `(float32 x, int64 scale; no verification), file:// URIs, sha256 content hashes, signatures declared ` +
        `(${formatSignature(deriveSignature(mlp, single)).split("\n")[0].replace(/ +/g, " ")}, …)`,
    );
    const digits = digitsModel();
    const profile: ProfileModel = digits.quantized.model;
    const profileBytes = buildProfileModel(profile);
    const agreement = await measureAgreement(digits.float, digits.quantized, digits.rows);
    const proven: ModelTerms = {
      ...committee,
      price: parseEther("1"),
      mode: VerificationMode.Proven,
      committeeSize: 1,
    };
    const digitsId = await n.publishModel({
      owner: modelOwner,
      name: "digits-proven",
      bytes: profileBytes,
      terms: proven,
      weightsRoot: weightsRoot(profile.layers),
      signature: deriveSignature(await loadModel(profileBytes)),
    });
    models.set(digitsId, { name: "digits-proven", model: await loadModel(profileBytes) });
    const digitInput = (i: number): Tensor[] => [
      vectorTensor(profile.inputName, quantizeInput(digits.rows[i], digits.quantized.inputScale)),
    ];
    say(
      `published model ${digitsId} digits-proven: a 784→128→64→10 float MLP quantized to int8 (top-1 agreement ` +
        `with the float model ${agreement.top1}/${agreement.rows} calibration rows), Proven mode with its weights root`,
    );

    const verifierProcs = verifiers.map((v, i) =>
      n.startService({ name: `verifier-${i + 1}`, wallet: v, role: "verifier" }),
    );
    const cheat = n.startService({
      name: "dishonest-worker",
      wallet: dishonest,
      role: "worker",
      fault: "wrong-output",
    });
    await Promise.all([...verifierProcs, cheat].map((p) => p.ready(remaining())));
    say("5 verifiers and the dishonest worker (--fault wrong-output) are running");

    // Phase 1: the dishonest worker alone takes a committee job.
    const planned: Planned[] = [];
    const plan = async (modelId: bigint, input: Tensor[], dishonestJob = false) => {
      const job = await n.requestJob(requester, modelId, input);
      const id = BigInt(job.id);
      planned.push({ id, label: `#${job.nonce}`, model: models.get(modelId)!.name, input, dishonest: dishonestJob });
    };
    await plan(mlpId, mlpInput(0), true);
    const cheatJob = planned[0];
    await waitFor(
      "the dishonest worker's submission",
      async () => Number((await n.escrow.jobState(cheatJob.id)).status) >= JobStatus.Drawing,
      { timeoutMs: remaining() },
    );
    say(
      `job ${cheatJob.label}: the dishonest worker posted a wrong output; its committee of 3 is drawn from a seed ` +
        "that did not exist yet (the hash of the next block), within 10 s",
    );
    await cheat.stop();

    // Phase 1b: the dishonest worker again, now corrupting one hidden neuron of a Proven job's trace.
    const tracer = n.startService({
      name: "dishonest-worker",
      wallet: dishonest,
      role: "worker",
      fault: "wrong-trace",
    });
    await tracer.ready(remaining());
    await plan(digitsId, digitInput(0), true);
    const traceJob = planned[planned.length - 1];
    await waitFor(
      "the proof of the dishonest worker's trace",
      async () => Number((await n.escrow.jobState(traceJob.id)).status) === JobStatus.Rejected,
      { timeoutMs: remaining() },
    );
    say(
      `job ${traceJob.label}: the dishonest worker (--fault wrong-trace) posted a trace with one hidden neuron wrong; ` +
        "a verifier proved it in one transaction (proveFraud): Rejected, the worker slashed",
    );
    await tracer.stop();
    const honest = n.startService({ name: "worker", wallet: worker, role: "worker", settleAll: true });
    await honest.ready(remaining());
    say(
      `the dishonest worker is stopped (job ${cheatJob.label}'s committee is drawn by whoever gets there first: ` +
        "the worker whose job it is, or a verifier as its draw-by nears); the honest worker is running (and settles " +
        "due jobs as a keeper)",
    );

    // Phase 2: 36 jobs for the honest worker over the three models and the four modes.
    const before = planned.length;
    for (let i = 0; i < 8; i++) await plan(mlpId, mlpInput(i + 1));
    for (let i = 0; i < 8; i++) await plan(twoId, twoInput(i));
    for (let i = 1; i <= 6; i++) await plan(digitsId, digitInput(i));
    await n.setTerms(modelOwner, mlpId, { ...committee, mode: VerificationMode.Optimistic });
    await n.setTerms(modelOwner, twoId, { ...none, price: parseEther("1.5"), mode: VerificationMode.Committee });
    for (let i = 0; i < 8; i++) await plan(mlpId, mlpInput(i + 4));
    for (let i = 0; i < 6; i++) await plan(twoId, twoInput(i + 8));
    say(
      `requested ${planned.length - before} more jobs: 8 iris-mlp Committee, 8 two-input None, 6 digits-proven ` +
        `Proven, then new terms, 8 iris-mlp Optimistic, 6 two-input Committee`,
    );

    let lastCount = -1;
    await waitFor(
      "every job to reach a terminal state",
      async () => {
        const statuses = await Promise.all(planned.map(async (p) => Number((await n.escrow.jobState(p.id)).status)));
        const done = statuses.filter(isTerminal).length;
        if (done !== lastCount && (done === planned.length || done - lastCount >= 5 || lastCount < 0)) {
          say(`${done}/${planned.length} jobs terminal`);
          lastCount = done;
        }
        return done === planned.length;
      },
      {
        timeoutMs: remaining(),
        intervalMs: 500,
        detail: async () => {
          const open = [];
          for (const p of planned) {
            const s = Number((await n.escrow.jobState(p.id)).status);
            if (!isTerminal(s)) open.push(`job ${p.label}: ${STATUS_NAMES[s]}`);
          }
          return `still open: ${open.join(", ")}`;
        },
      },
    );

    // The report, from chain data alone.
    const { jobs, slashes } = await readJobs(n.provider, n.deployment);
    const byId = new Map(jobs.map((j) => [j.id, j]));
    const problems: string[] = [];
    const rows: string[][] = [];
    for (const p of planned) {
      const j = byId.get(p.id)!;
      const posted = outputTensors(j);
      let check = "";
      if (p.dishonest) {
        if (j.status !== JobStatus.Rejected) problems.push(`job ${p.label} (dishonest) is ${STATUS_NAMES[j.status]}`);
        check = "wrong";
      } else if (j.outcome !== JobOutcome.Accepted || !posted) {
        problems.push(`job ${p.label} ended ${OUTCOME_NAMES[j.outcome ?? -1] ?? STATUS_NAMES[j.status]}`);
      } else if (j.mode === VerificationMode.Proven) {
        // The whole posted trace, bit for bit, against the reference executor; its output against ONNX Runtime.
        const x0 = p.input[0].data as Int8Array;
        const trace = traceOf(profile.outputName, runReference(profile.layers, x0).vectors);
        const exact = j.output === hexOf(trace.output);
        const ort = await runModel(models.get(j.modelId)!.model, p.input);
        const c = compareOutputs([posted[0]], ort, { relTolerance: 0, absTolerance: 0 });
        if (!exact) problems.push(`job ${p.label}: the posted trace differs from the reference executor's`);
        if (!c.agree) problems.push(`job ${p.label}: the posted output differs from ONNX Runtime: ${c.reason}`);
        check = exact && c.agree ? "= reference, ORT" : "MISMATCH";
      } else {
        const expected = await runModel(models.get(j.modelId)!.model, p.input);
        const c = compareOutputs(posted, expected, TOLERANCE);
        if (!c.agree) problems.push(`job ${p.label}: posted output differs from ONNX Runtime: ${c.reason}`);
        check = c.agree ? "= local ORT" : "MISMATCH";
      }
      rows.push([
        p.label,
        p.model,
        MODE_NAMES[j.mode] + (j.challenged ? " (challenged)" : ""),
        statusText(j),
        describeOutput(p.model, posted),
        check,
        j.gas.toLocaleString("en-US"),
        j.settledAt === undefined ? "-" : String(j.settledAt - j.requestedAt),
      ]);
    }
    printTable(["job", "model", "mode", "status", "output", "check", "gas", "s"], rows);

    const cheatSlashes = slashes.filter((s) => s.account.toLowerCase() === dishonest.address.toLowerCase());
    if (cheatSlashes.length === 0) problems.push("the dishonest worker was not slashed");
    const accounts = [governance, modelOwner, requester, worker, dishonest, ...verifiers].map((w) => w.address);
    const cons = await conservation(n.escrow, n.token, jobs, [...accounts, n.deployment.treasury]);
    if (!cons.ok) problems.push(`escrow conservation fails: ${JSON.stringify(cons, (_k, v) => String(v))}`);

    const proofs = await fraudProofs(n, jobs);
    if (!proofs.some((f) => f.jobId === traceJob.id)) problems.push(`job ${traceJob.label} was not proven wrong`);
    const draws = await drawers(n, jobs, {
      worker: worker.address,
      dishonest: dishonest.address,
      verifiers: verifiers.map((v) => v.address),
    });
    summary(jobs, slashes, cons, draws, proofs, {
      dishonest: dishonest.address,
      verifiers: verifiers.map((v) => v.address),
    });

    clearTimeout(budgetTimer);
    if (EXPLORE) {
      if (problems.length > 0) console.error(`\nFAILED:\n  ${problems.join("\n  ")}\nlogs: ${n.dir}/logs`);
      else say("demo OK");
      explorer = await serveExplorer(n);
      const jobUrl = (p: Planned) => `${explorer!.url}job/${formatJobId(p.id)}`;
      say(`the provenance explorer is at ${explorer.url}`);
      say(`  job ${cheatJob.label}, the wrong output its committee rejected: ${jobUrl(cheatJob)}`);
      say(`  job ${traceJob.label}, the wrong trace proven in one transaction: ${jobUrl(traceJob)}`);
      say(
        `the node (${n.url}, record ${n.deploymentFile}), the worker and the verifiers keep running` +
          `${KEEP ? ` (logs in ${n.dir}/logs)` : ""}; Ctrl-C stops everything`,
      );
      // Until Ctrl-C: the signal handler stops the explorer and the network, and exits.
      await new Promise<never>(() => {});
    }
    const dir = n.dir;
    await n.stop({ graceMs: 5000 });
    if (problems.length > 0) {
      console.error(`\nFAILED:\n  ${problems.join("\n  ")}\nlogs: ${dir}/logs`);
      process.exit(1);
    }
    if (KEEP) say(`stopped every process; logs in ${dir}/logs`);
    else {
      rmSync(dir, { recursive: true, force: true });
      say("stopped every process (node, worker, verifiers); run with -- --keep to keep their logs");
    }
    say("demo OK");
  } catch (e) {
    clearTimeout(budgetTimer);
    if (isShuttingDown()) return; // interrupted: the signal handler stops everything and exits
    console.error(`\nFAILED: ${(e as Error).message}`);
    if (net) {
      console.error(`logs: ${net.dir}/logs`);
      await net.stop({ graceMs: 3000 });
    }
    process.exit(1);
  }
}

/** The explorer for the demo's network, on its usual port or, when that is taken, on any free one. */
async function serveExplorer(n: LocalNetwork): Promise<RunningExplorer> {
  const options = { rpcUrl: n.url, deployment: n.deploymentFile, log: say };
  try {
    return await startExplorer({ ...options, port: DEFAULT_PORT });
  } catch (e) {
    if (!/in use|EADDRINUSE/i.test((e as Error).message)) throw e;
    return startExplorer({ ...options, port: 0 });
  }
}

/** The outcome of a settled job (with what it cost the worker), else the status. */
function statusText(j: JobReport): string {
  if (j.outcome === undefined) return STATUS_NAMES[j.status];
  const slashed = j.settlement && j.settlement.slashed > 0n ? `, worker slashed ${TML(j.settlement.slashed)}` : "";
  return OUTCOME_NAMES[j.outcome] + (j.status === JobStatus.Refunded ? " (refunded)" : "") + slashed;
}

function printTable(header: string[], rows: string[][]): void {
  const right = new Set([0, 6, 7]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ");
  console.log("");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
  console.log("");
}

const hexOf = (bytes: Uint8Array) => "0x" + Buffer.from(bytes).toString("hex");

interface FraudProofReport {
  jobId: bigint;
  label: string;
  prover: string;
  layer: number;
  index: number;
  gas: bigint;
}

/** Every FraudProven of the jobs, with the gas of its transaction. */
async function fraudProofs(n: LocalNetwork, jobs: JobReport[]): Promise<FraudProofReport[]> {
  const found: FraudProofReport[] = [];
  for (const j of jobs) {
    for (const e of j.events.filter((x) => x.name === "FraudProven")) {
      const receipt = (await n.provider.getTransactionReceipt(e.transactionHash))!;
      found.push({
        jobId: j.id,
        label: `#${j.nonce}`,
        prover: String(e.args.prover),
        layer: Number(e.args.layer),
        index: Number(e.args.index),
        gas: receipt.gasUsed,
      });
    }
  }
  return found;
}

/** Who sent each CommitteeDrawn: a worker drawing its own jobs (the honest one, or the dishonest one its job), or a
 * verifier (its challenge, or the backstop near draw-by). */
async function drawers(
  n: LocalNetwork,
  jobs: JobReport[],
  who: { worker: string; dishonest: string; verifiers: string[] },
): Promise<{ worker: number; dishonest: number; verifiers: number; others: number }> {
  const counts = { worker: 0, dishonest: 0, verifiers: 0, others: 0 };
  for (const j of jobs) {
    for (const e of j.events.filter((x) => x.name === "CommitteeDrawn")) {
      const from = (await n.provider.getTransaction(e.transactionHash))!.from.toLowerCase();
      if (from === who.worker.toLowerCase()) counts.worker++;
      else if (from === who.dishonest.toLowerCase()) counts.dishonest++;
      else if (who.verifiers.some((v) => v.toLowerCase() === from)) counts.verifiers++;
      else counts.others++;
    }
  }
  return counts;
}

function summary(
  jobs: JobReport[],
  slashes: Awaited<ReturnType<typeof readJobs>>["slashes"],
  cons: Awaited<ReturnType<typeof conservation>>,
  draws: { worker: number; dishonest: number; verifiers: number; others: number },
  proofs: FraudProofReport[],
  who: { dishonest: string; verifiers: string[] },
): void {
  const first = Math.min(...jobs.map((j) => j.requestedAt));
  const last = Math.max(...jobs.map((j) => j.settledAt ?? j.requestedAt));
  const span = Math.max(1, last - first);
  console.log(
    `jobs:        ${jobs.length} in ${span} s from the first request to the last settlement: ` +
      `${(jobs.length / span).toFixed(2)} jobs/s`,
  );
  const byMode = ESCROW_MODES.map((mode) => {
    const js = jobs.filter((j) => j.mode === mode);
    const avg = js.length ? js.reduce((a, j) => a + j.gas, 0n) / BigInt(js.length) : 0n;
    const secs = js.filter((j) => j.settledAt !== undefined).map((j) => j.settledAt! - j.requestedAt);
    const avgS = secs.length ? (secs.reduce((a, b) => a + b, 0) / secs.length).toFixed(1) : "-";
    return `${MODE_NAMES[mode]} ${avg.toLocaleString("en-US")} (${js.length} jobs, ${avgS} s)`;
  });
  console.log(`gas per job: ${byMode.join(" | ")}  (batched transactions split evenly)`);
  const drawn = draws.worker + draws.dishonest + draws.verifiers + draws.others;
  console.log(
    `committees:  ${drawn} drawn after their seed existed: ${draws.worker} by the worker, ` +
      (draws.dishonest > 0 ? `${draws.dishonest} by the dishonest worker, ` : "") +
      `${draws.verifiers} by verifiers` +
      (draws.others > 0 ? `, ${draws.others} by others` : ""),
  );
  const lower = (a: string) => a.toLowerCase();
  const label = (a: string) =>
    lower(a) === lower(who.dishonest)
      ? "dishonest worker"
      : who.verifiers.some((v) => lower(v) === lower(a))
        ? `verifier-${who.verifiers.findIndex((v) => lower(v) === lower(a)) + 1}`
        : a;
  for (const f of proofs) {
    console.log(
      `fraud proof: job ${f.label} proven wrong by ${label(f.prover)} at layer ${f.layer}, neuron ${f.index}, in one ` +
        `transaction of ${f.gas.toLocaleString("en-US")} gas (proveFraud)`,
    );
  }
  const p = payouts(jobs);
  console.log(
    `payouts:     workers ${TML(p.workers)} TML | model owner ${TML(p.modelOwners)} | verifiers ${TML(p.verifiers)} | ` +
      `treasury ${TML(p.treasury)} | requester refunds ${TML(p.requesterRefunds)}` +
      (p.challengers > 0n ? ` | challengers and provers ${TML(p.challengers)}` : ""),
  );
  const slashText = slashes.length
    ? slashes.map((s) => `${label(s.account)} ${s.account.slice(0, 10)}… −${TML(s.amount)} TML`).join(", ")
    : "none";
  console.log(`slashes:     ${slashText}`);
  console.log(
    `escrow:      holds ${TML(cons.held)} TML = open fees ${TML(cons.openFees)} + bonds ${TML(cons.bonds)} + ` +
      `credited ${TML(cons.credited)} ${cons.ok ? "✓" : "✗"}`,
  );
}

main().catch((e: Error) => {
  console.error(`FAILED: ${e.stack ?? e.message}`);
  process.exit(1);
});
