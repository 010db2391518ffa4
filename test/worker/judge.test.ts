/**
 * One judgement of a posted tensor output: the live verifier (VerifierRole.judge) and verify-job give the same
 * verdict on the same jobs, among them a model ONNX Runtime fails on at run time (neither may call that wrong).
 */
import { expect } from "chai";
import { hexlify } from "ethers";
import pLimit from "p-limit";
import pino from "pino";
import type { JobEscrow } from "../../typechain-types";
import { encodeTensors, TYPE_CODES, type Tensor } from "../../packages/sdk/src/codec";
import { JobStatus, VerificationMode } from "../../packages/sdk/src/params";
import { buildMlpClassifier, serialize, valueInfo } from "../../src/models/build";
import { jobToJson, type JobRecord } from "../../src/worker/clients/chain";
import { sha256Hex } from "../../src/worker/clients/models";
import { corruptOutput } from "../../src/worker/compute/faults";
import type { RoleContext } from "../../src/worker/loop/context";
import { Metrics } from "../../src/worker/loop/metrics";
import { VerifierRole } from "../../src/worker/roles/verifier";
import { verifyJob, type Verdict } from "../../src/worker/verify-job";
import { loadModel, runModel } from "../../packages/sdk/src/onnx";
import { deployServiceBench, type ServiceBench } from "../fixtures/services";
import { underCoverage } from "../fixtures/coverage";
import { LogReader } from "../../packages/sdk/src/events";
import { ethers } from "hardhat";

/**
 * Input "x" float32 [N] reshaped to [2, 2]: it loads, takes any vector by its declared shape, and fails in ONNX
 * Runtime on a vector of other than four values.
 */
function buildReshapeModel(): Uint8Array {
  return serialize({
    name: "reshape_2x2",
    node: [{ opType: "Reshape", input: ["x", "shape"], output: ["y"], name: "Reshape_y" }],
    initializer: [
      {
        name: "shape",
        dims: [2],
        dataType: TYPE_CODES.int64,
        rawData: new Uint8Array(new BigInt64Array([2n, 2n]).buffer),
      },
    ],
    input: [valueInfo("x", "float32", ["N"])],
    output: [valueInfo("y", "float32", [2, 2])],
  });
}

const features = (row: number[]): Tensor[] => [
  { name: "features", type: "float32", shape: [1, row.length], data: new Float32Array(row) },
];
const vector = (values: number[]): Tensor[] => [
  { name: "x", type: "float32", shape: [values.length], data: new Float32Array(values) },
];

interface Case {
  name: string;
  model: keyof Models;
  input: Tensor[];
  /** The posted output, from the model's honest output (when it has one). */
  output: (honest: Tensor[] | undefined) => Uint8Array;
  verdict: Verdict;
}

interface Models {
  mlp: bigint;
  reshape: bigint;
  badHash: bigint;
  notOnnx: bigint;
}

const honestOf = (h: Tensor[] | undefined) => encodeTensors(h!);
const CASES: Case[] = [
  { name: "a right output", model: "mlp", input: features([1, 2, 3, 4]), output: honestOf, verdict: "correct" },
  {
    name: "a wrong output",
    model: "mlp",
    input: features([1, 2, 3, 4]),
    output: (h) => corruptOutput(h!),
    verdict: "wrong",
  },
  {
    name: "an output that is not a tensor encoding",
    model: "mlp",
    input: features([1, 2, 3, 4]),
    output: () => new Uint8Array([1, 2, 3]),
    verdict: "wrong",
  },
  {
    name: "an input that does not fit the model",
    model: "mlp",
    input: features([1, 2, 3, 4, 5]),
    output: () => encodeTensors(vector([0])),
    verdict: "wrong",
  },
  {
    name: "a run that fails in ONNX Runtime",
    model: "reshape",
    input: vector([1, 2, 3]),
    output: () => encodeTensors([{ name: "y", type: "float32", shape: [2, 2], data: new Float32Array(4) }]),
    verdict: "unverifiable",
  },
  {
    name: "a model file whose sha256 is not the registry's",
    model: "badHash",
    input: features([1, 2, 3, 4]),
    output: () => encodeTensors(features([0])),
    verdict: "unverifiable",
  },
  {
    name: "a model file that is not ONNX",
    model: "notOnnx",
    input: features([1, 2, 3, 4]),
    output: () => encodeTensors(features([0])),
    verdict: "unverifiable",
  },
];

describe("one judgement for the live verifier and verify-job", function () {
  this.timeout(60_000);

  let bench: ServiceBench;
  let escrow: JobEscrow;
  const models: Models = { mlp: 0n, reshape: 0n, badHash: 0n, notOnnx: 0n };
  const bytes: Partial<Record<keyof Models, Uint8Array>> = {};

  before(async function () {
    if (underCoverage()) this.skip();
    bench = await deployServiceBench("trustml-judge-");
    escrow = bench.escrow;
    bytes.mlp = buildMlpClassifier();
    bytes.reshape = buildReshapeModel();
    models.mlp = await bench.register("mlp.onnx", bytes.mlp, VerificationMode.None, 1);
    models.reshape = await bench.register("reshape.onnx", bytes.reshape, VerificationMode.None, 1);
    models.badHash = await bench.register("mlp-copy.onnx", bytes.mlp, VerificationMode.None, 1, {
      hash: sha256Hex(Buffer.from("other")),
    });
    models.notOnnx = await bench.register("garbage.onnx", Buffer.from("not an onnx file"), VerificationMode.None, 1);
  });

  after(async function () {
    await bench?.close();
  });

  /** A verifier role on a store of its own, as a service builds it, for its judgments alone. */
  function liveVerifier(): { role: VerifierRole; close: () => Promise<void> } {
    const { store, deps } = bench.verifyDeps();
    const ctx = {
      address: bench.verifiers[0].address,
      deps: {
        registry: bench.registry,
        models: store,
        fetch: deps.fetch,
        logs: { reader: new LogReader(ethers.provider), fromBlock: 0 },
      },
      metrics: new Metrics(),
      log: pino({ level: "silent" }),
      limit: pLimit(1),
    } as unknown as RoleContext;
    return { role: new VerifierRole(ctx), close: () => store.close() };
  }

  /** Requests the case's job and posts its output as the worker; the record as the verifier's cursor holds it. */
  async function posted(c: Case): Promise<JobRecord> {
    const id = await bench.request(models[c.model], c.input);
    const [requested] = await escrow.queryFilter(escrow.filters.JobRequested(id));
    const honest =
      c.model === "mlp" && c.input[0].shape[1] === 4 ? await runModel(await loadModel(bytes.mlp!), c.input) : undefined;
    const output = hexlify(c.output(honest));
    const job = jobToJson(requested.args.job);
    await (await escrow.connect(bench.worker).submitResult(job, output)).wait();
    expect(await bench.status(id)).to.not.equal(JobStatus.Requested);
    const a = requested.args;
    return {
      job,
      input: a.input,
      inputUri: a.inputUri,
      relTolerance: Number(a.relTolerance),
      absTolerance: Number(a.absTolerance),
      block: requested.blockNumber,
      output,
    };
  }

  for (const c of CASES) {
    it(`${c.name}: both say ${c.verdict}`, async function () {
      const rec = await posted(c);
      const live = liveVerifier();
      const offline = bench.verifyDeps();
      try {
        const judged = await live.role.judge(rec);
        const liveVerdict: Verdict = judged === null ? "unverifiable" : judged.agree ? "correct" : "wrong";
        const report = await verifyJob(rec.job.id, offline.deps);
        expect({ live: liveVerdict, verifyJob: report.verdict }).to.deep.equal({
          live: c.verdict,
          verifyJob: c.verdict,
        });
        if (c.verdict === "unverifiable") expect(report.rerun).to.equal(undefined);
        else expect(report.rerun?.agree).to.equal(c.verdict === "correct");
      } finally {
        await live.close();
        await offline.store.close();
      }
    });
  }

  it("a run that fails in ONNX Runtime is named as such by verify-job, not as a wrong output", async function () {
    const c = CASES.find((k) => k.model === "reshape")!;
    const rec = await posted(c);
    const { store, deps } = bench.verifyDeps();
    try {
      const report = await verifyJob(rec.job.id, deps);
      expect(report.verdict).to.equal("unverifiable");
      expect(report.model.hashOk).to.equal(true);
      expect(report.input.error).to.equal(undefined);
      expect(report.summary).to.match(/^cannot re-execute: inference failed: /);
    } finally {
      await store.close();
    }
  });
});
