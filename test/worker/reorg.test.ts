/**
 * A running worker service across a chain reorganisation on the in-process network: it reads jobs requested on a
 * branch (confirmations 0, so that it acts on them), the branch is dropped (`evm_revert`) for a longer one with other
 * requests and one of the old requests included again, and the service must notice, rewind its cursor, forget the
 * jobs that vanished, and work each job of the final chain exactly once.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { Transaction } from "ethers";
import { encodeTensors, type Tensor } from "../../packages/sdk/src/codec";
import { JobOutcome, JobStatus, VerificationMode } from "../../packages/sdk/src/params";
import { currentTerms } from "../../packages/sdk/src/terms";
import { sha256Hex } from "../../src/worker/clients/models";
import { buildTwoInputModel } from "../../src/models/build";
import { underCoverage } from "../fixtures/coverage";
import { deployServiceBench, waitFor, type ServiceBench } from "../fixtures/services";

const inputOf = (k: number): Tensor[] => [
  { name: "x", type: "float32", shape: [2, 3], data: new Float32Array([k, 1, 2, 3, 4, 5]) },
  { name: "scale", type: "int64", shape: [1], data: new BigInt64Array([2n]) },
];

describe("worker service across a chain reorganisation", function () {
  this.timeout(90_000);
  let bench: ServiceBench;
  let served: bigint;
  let unservable: bigint;

  before(async function () {
    if (underCoverage()) this.skip(); // as service.test.ts: gas estimates past the cap on instrumented bytecode
    bench = await deployServiceBench("trustml-reorg-");
    served = await bench.register("two.onnx", buildTwoInputModel(), VerificationMode.None, 1);
    // A file that does not match its hash: the worker leaves its jobs Requested, in its records.
    unservable = await bench.register("two-copy.onnx", buildTwoInputModel(), VerificationMode.None, 1, {
      hash: sha256Hex(Buffer.from("other")),
    });
  });

  afterEach(function () {
    // A failure here is a timing question: the worker's own account of it is the first thing to read.
    if (this.currentTest?.state === "failed") {
      process.stderr.write(`worker log:\n${(bench.logs.worker ?? []).slice(-60).join("")}\n`);
    }
  });

  after(async function () {
    await bench?.close();
  });

  it("rewinds past the dropped blocks: vanished jobs leave its records, every job on the final chain is worked once", async function () {
    const { escrow, registry, requester, worker } = bench;
    const handle = await bench.start("worker", worker, "worker", { confirmations: 0 });
    const cursorFile = path.join(bench.tmp, "state", "worker", `cursor-${worker.address.toLowerCase()}.json`);
    const openJobs = () => Object.keys(JSON.parse(readFileSync(cursorFile, "utf8")).jobs as object);
    const settled = async (id: bigint) => (await bench.status(id)) === JobStatus.Settled;

    // The branch that will be dropped: three requests, two worked and settled, one left open.
    const snapshot = await network.provider.send("evm_snapshot");
    const deadline = BigInt(await time.latest()) + 86_400n;
    const requestTx = await escrow
      .connect(requester)
      .requestInference(served, await currentTerms(registry, served), encodeTensors(inputOf(1)), deadline, 0);
    const again = await bench.jobFrom(requestTx);
    const raw = Transaction.from((await ethers.provider.getTransaction(requestTx.hash))!).serialized;
    const vanished = await bench.request(served, inputOf(2));
    const open = await bench.request(unservable, inputOf(3));
    await waitFor("the branch's jobs worked", async () => (await settled(again)) && (await settled(vanished)));
    await waitFor("the open job in the records", () => openJobs().includes(String(open)));
    const droppedHead = await ethers.provider.getBlockNumber();
    expect(await handle.metrics.value(handle.metrics.reorgs)).to.equal(0);

    // The reorganisation: the branch dropped, one of its requests included again, other requests, a longer chain.
    expect(await network.provider.send("evm_revert", [snapshot])).to.equal(true);
    await network.provider.send("eth_sendRawTransaction", [raw]);
    const fresh = [await bench.request(served, inputOf(4)), await bench.request(served, inputOf(5))];
    const blocks = droppedHead - (await ethers.provider.getBlockNumber()) + 2;
    await network.provider.send("hardhat_mine", [`0x${blocks.toString(16)}`]);
    expect(await ethers.provider.getBlockNumber()).to.be.greaterThan(droppedHead);

    const final = [again, ...fresh];
    // Seconds on an idle machine; the bound is for a loaded one (without the rewind they never settle).
    await waitFor(
      "the final chain's jobs settled",
      async () => (await Promise.all(final.map(settled))).every(Boolean),
      45_000,
    );
    await waitFor("the records caught up", () => !openJobs().includes(String(open)));

    // Detected, counted and logged.
    expect(await handle.metrics.value(handle.metrics.reorgs)).to.be.at.least(1);
    const rewinds = bench.lines("worker").filter((l) => l.msg.startsWith("chain reorganisation"));
    expect(rewinds.length).to.be.at.least(1);
    expect(rewinds[0].level).to.equal(40, "a rewind within the history is a warning");
    expect(rewinds[0].depth as number).to.be.greaterThan(0);
    expect(rewinds.flatMap((l) => l.dropped as string[])).to.include(String(open));
    const depth = (await handle.metrics.reorgDepth.get()).values[0].value;
    expect(depth).to.be.greaterThan(0);

    // Nothing lost: every job on the final chain worked and settled; the vanished ones are not on it.
    for (const id of final) {
      const submitted = await escrow.queryFilter(escrow.filters.ResultSubmitted(id));
      expect(submitted, `ResultSubmitted of ${id}`).to.have.length(1);
      expect(submitted[0].args.worker).to.equal(worker.address);
      const [end] = await escrow.queryFilter(escrow.filters.JobSettled(id));
      expect(Number(end.args.outcome)).to.equal(JobOutcome.Accepted);
    }
    for (const id of [vanished, open]) {
      expect(await escrow.queryFilter(escrow.filters.JobRequested(id))).to.have.length(0);
      await expect(escrow.jobState(id)).to.be.revertedWithCustomError(escrow, "JobEscrowUnknownJob");
    }
    expect(openJobs()).to.deep.equal([]);
    // Nothing done twice, nothing failed: the sender met no job that vanished, no loop tick failed.
    expect(await handle.metrics.value(handle.metrics.transactions, { result: "failed" })).to.equal(0);
    expect(await handle.metrics.value(handle.metrics.transactions, { result: "reverted" })).to.equal(0);
    expect(bench.errors()).to.deep.equal([]);
  });
});
