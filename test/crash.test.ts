/**
 * SIGKILL mid-send, over JSON-RPC with real processes (src/network, as the end-to-end test): a worker killed after
 * its submitResults left for the node and before its receipt, and a verifier killed after its commitVotes left and
 * before its reveal, each restarted on the same state directory. Around the kills the test mines every block
 * itself (automine and interval mining off), so a transaction sent stays pending until the process that sent it
 * is dead. Every job ends with exactly one ResultSubmitted, every seat revealed, every job Accepted.
 */
import { expect } from "chai";
import { parseEther } from "ethers";
import { encodeTensors, type Tensor } from "../packages/sdk/src/codec";
import { jobFromTx } from "../packages/sdk/src/job";
import { currentTerms } from "../packages/sdk/src/terms";
import { JobOutcome, JobStatus } from "../packages/sdk/src/params";
import { buildMlpClassifier } from "../src/models/build";
import {
  isTerminal,
  LOCAL_ESCROW_PARAMS,
  LocalNetwork,
  readJobs,
  STATUS_NAMES,
  tail,
  waitFor,
  type LogLine,
  type ServiceProcess,
} from "../src/network";
import { underCoverage } from "./fixtures/coverage";
import { TERMS } from "./fixtures/registry";

const JOBS = 6;

const features = (row: number[]): Tensor[] => [
  { name: "features", type: "float32", shape: [1, row.length], data: new Float32Array(row) },
];

describe("SIGKILL mid-send: a worker and a verifier killed and restarted lose and duplicate nothing", function () {
  this.timeout(120_000);

  let net: LocalNetwork | undefined;
  let failed = false;
  const n = () => net!;

  before(async function () {
    if (underCoverage()) this.skip();
    net = await LocalNetwork.start({
      escrowParams: { ...LOCAL_ESCROW_PARAMS, submissionWindow: 60, commitWindow: 30, revealWindow: 30 },
    });
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });

  after(async function () {
    if (!net) return;
    if (failed) console.log(`    crash test logs kept in ${net.dir}/logs`);
    await net.stop({ remove: !failed, graceMs: 3000 });
  });

  /** Kills `proc` (SIGKILL) as soon as its log has a line `match` accepts; returns that line. */
  async function killOn(proc: ServiceProcess, what: string, match: (l: LogLine) => boolean): Promise<LogLine> {
    let hit: LogLine | undefined;
    await waitFor(
      what,
      () => {
        hit = proc.logLines().find(match);
        return hit !== undefined;
      },
      { timeoutMs: 60_000, intervalMs: 20, detail: () => tail(proc.logFile, 10) },
    );
    await proc.kill("SIGKILL");
    return hit!;
  }

  it("submitResults and commitVotes cut off before their receipts: every job submitted once, every seat revealed", async function () {
    const [modelOwner, requester, workerWallet] = [1, 2, 3].map((i) => n().wallet(i));
    const verifierWallets = [4, 5, 6].map((i) => n().wallet(i));
    const start = (name: string, wallet: typeof workerWallet, role: "worker" | "verifier", stateDir?: string) =>
      n().startService({ name, wallet, role, pollMs: 200, logLevel: "debug", stateDir });

    // The services load while the accounts and the model are set up.
    let worker = start("worker", workerWallet, "worker");
    const verifiers = verifierWallets.map((w, i) => start(`verifier-${i + 1}`, w, "verifier"));
    await n().fund([requester, workerWallet, ...verifierWallets], parseEther("10000"));
    await n().stake(workerWallet, parseEther("500"));
    for (const v of verifierWallets) await n().stake(v, parseEther("100"), true);
    const modelId = await n().publishModel({
      owner: modelOwner,
      name: "mlp",
      bytes: buildMlpClassifier(),
      terms: TERMS, // a committee of three, as every fixture model
    });
    await Promise.all([worker, ...verifiers].map((s) => s.ready(90_000)));

    // From here blocks are mined by the test alone, so a transaction sent stays pending until the test mines it,
    // however slowly the log is read: each kill lands between a send and its receipt.
    const mineNow = () => n().provider.send("evm_mine", []);
    await n().provider.send("evm_setAutomine", [false]);
    await n().provider.send("evm_setIntervalMining", [0]);
    const deadline = BigInt((await n().now()) + 3600);
    const terms = await currentTerms(n().registry, modelId);
    const escrow = n().escrow.connect(requester);
    const txs = [];
    for (let i = 0; i < JOBS; i++) {
      txs.push(await escrow.requestInference(modelId, terms, encodeTensors(features([i, 1, 2, 3])), deadline, 0));
    }
    await mineNow(); // one block: the worker reads them in one tick and submits them in one batch
    const ids = (await Promise.all(txs.map((tx) => jobFromTx(n().escrow, tx)))).map((j) => BigInt(j.id));

    const sent = await killOn(worker, "the worker's submission sent", (l) => /^submitResults?: sent$/.test(l.msg));
    expect(await n().provider.getTransactionReceipt(sent.txHash as string), "killed before its receipt").to.equal(null);
    await mineNow(); // the dead worker's submission lands
    worker = start("worker", workerWallet, "worker", worker.stateDir);

    // Blocks until the committees' seed exists and someone sends the draw; then the draw alone is mined.
    const drawSent = () =>
      [worker, ...verifiers].some((s) => s.logLines().some((l) => /^drawCommittees: sent$/.test(l.msg)));
    await waitFor(
      "a drawCommittees sent",
      async () => {
        if (drawSent()) return true;
        await mineNow();
        return false;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 300,
        detail: () => tail(worker.logFile, 8),
      },
    );
    const status = async (id: bigint) => Number((await n().escrow.jobState(id)).status);
    if ((await status(ids[0])) !== JobStatus.Voting) await mineNow();
    for (const id of ids) expect(await status(id), `job ${id} drawn`).to.equal(JobStatus.Voting);

    const [v1] = verifiers;
    const committed = await killOn(v1, "verifier-1's commitment sent", (l) => /^commitVotes?: sent$/.test(l.msg));
    expect(await n().provider.getTransactionReceipt(committed.txHash as string), "killed before its receipt").to.equal(
      null,
    );
    await mineNow(); // the dead verifier's commitments land, with whatever the others sent
    const restarted = start("verifier-1", verifierWallets[0], "verifier", v1.stateDir);
    await n().provider.send("evm_setAutomine", [true]);
    await n().provider.send("evm_setIntervalMining", [1000]);

    await waitFor("every job settled", async () => (await Promise.all(ids.map(status))).every(isTerminal), {
      timeoutMs: 90_000,
      intervalMs: 300,
      detail: async () => {
        const open = [];
        for (const id of ids) if (!isTerminal(await status(id))) open.push(`${id}: ${STATUS_NAMES[await status(id)]}`);
        return `open: ${open.join(", ")}\nworker:\n${tail(worker.logFile, 8)}\nverifier-1:\n${tail(restarted.logFile, 8)}`;
      },
    });

    const { jobs } = await readJobs(n().provider, n().deployment);
    for (const id of ids) {
      const j = jobs.find((r) => r.id === id)!;
      const named = (name: string) => j.events.filter((e) => e.name === name);
      expect(named("ResultSubmitted").length, `job ${id} ResultSubmitted`).to.equal(1);
      expect(j.worker, `job ${id} worker`).to.equal(workerWallet.address);
      expect(j.status, `job ${id} status`).to.equal(JobStatus.Settled);
      expect(j.outcome, `job ${id} outcome`).to.equal(JobOutcome.Accepted);
      expect(named("VoteCommitted").length, `job ${id} commitments`).to.equal(3);
      expect(
        named("VoteRevealed").map((e) => e.args.agree),
        `job ${id} reveals`,
      ).to.deep.equal([true, true, true]);
    }
    // verifier-1 sat on every committee (three verifiers, committees of three): its reveals came from the salts
    // it wrote before the process that committed was killed.
    const reveals = restarted.logLines().filter((l) => /^revealVotes?: mined$/.test(l.msg));
    expect(reveals.length).to.be.at.least(1);
    expect(restarted.logLines().some((l) => l.msg === "committed but the salt is not on disk: cannot reveal")).to.equal(
      false,
    );
  });
});
