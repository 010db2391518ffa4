import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import hre, { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { ArgumentsParser } from "hardhat/internal/cli/ArgumentsParser";
import { deployProtocol } from "../src/deploy/deploy";
import { buildIdentityModel, buildMlpClassifier, buildTwoInputModel } from "../src/models/build";
import { buildProfileModel, runReference, traceOf } from "../src/proven";
import { GOLDEN_MODEL } from "./fixtures/proven";
import { serveJsonRpc } from "./fixtures/rpc";
import { toJob } from "./fixtures/protocol";
import { encodeTensors } from "../packages/sdk/src/codec";
import { JobStatus, VerificationMode } from "../packages/sdk/src/params";
import { encodeSignature, signatureHash, signatureInputSize, type IoSignature } from "../packages/sdk/src/signature";
import { tensorsFromJson } from "../packages/sdk/src/tensor-json";
import { QUIET_ENV } from "../tasks/common";
import type { JobSummary, JobView, RequestedJob, SettleResult } from "../tasks/job";
import type { ModelDetails, ModelView, PublishedModel } from "../tasks/model";
import type { OwnershipResult, TermsResult } from "../tasks/model-owner";
import type { StakeView } from "../tasks/stake";
import type { RandomnessView } from "../tasks/governance";
import type { Deployment } from "../packages/sdk/src/deployment";
import type { JobEscrow, ModelRegistry, TestToken } from "../typechain-types";

const ROOT = path.join(__dirname, "..");
const HEX_JOB_ID = /^0x[0-9a-f]{64}$/;

/** The MLP classifier's signature with its batch N sized 1. */
const MLP_SIGNATURE: IoSignature = {
  inputs: [{ name: "features", type: "float32", shape: [1, 4] }],
  outputs: [
    { name: "label", type: "int64", shape: [1] },
    { name: "probabilities", type: "float32", shape: [1, 3] },
  ],
};

const features = (type: string, shape: number[], name = "features") => ({
  tensors: [{ name, type, shape, data: Array(shape.reduce((a, b) => a * b, 1)).fill(1) }],
});

describe("model and requester tasks: signatures, terms, ownership, deposits, settling, --json", function () {
  let dir: string;
  let record: string;
  let deployment: Deployment;
  let owner: HardhatEthersSigner, requester: HardhatEthersSigner, other: HardhatEthersSigner;
  let worker: HardhatEthersSigner;
  let token: TestToken, registry: ModelRegistry, escrow: JobEscrow;
  let quiet: string | undefined;
  const files: Record<string, string> = {};
  /** The MLP published with --dim N=1: price 2, mode none; version 2 (x int64 [1,2]) from model:version. */
  let mlpModel: bigint;
  /** The two-input model published with --shape x=2,3 --shape scale=1 --dim N=2. */
  let twoInputModel: bigint;

  const run = <T>(name: string, args: Record<string, unknown> = {}): Promise<T> =>
    hre.run(name, { deployment: record, ...args }) as Promise<T>;

  /**
   * Runs a task with --json and its printing for people switched on (TRUSTML_QUIET unset), capturing stdout: the
   * parsed JSON (JSON.parse fails if anything else was printed) and the task's value.
   */
  async function runJson<T>(name: string, args: Record<string, unknown> = {}): Promise<{ json: any; value: T }> {
    const { text, value } = await captureStdout(() => run<T>(name, { ...args, json: true }));
    return { json: JSON.parse(text), value };
  }

  /** Runs `action` with TRUSTML_QUIET unset, returning what it wrote to stdout. */
  async function captureStdout<T>(action: () => Promise<T>): Promise<{ text: string; value: T }> {
    const chunks: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString());
      return true;
    }) as typeof process.stdout.write;
    delete process.env[QUIET_ENV];
    try {
      const value = await action();
      return { text: chunks.join(""), value };
    } finally {
      process.stdout.write = write;
      process.env[QUIET_ENV] = "1";
    }
  }

  /** Writes `json` as an input file named `name` in the test's directory. */
  function inputFile(name: string, json: unknown): string {
    const file = path.join(dir, name);
    writeFileSync(file, JSON.stringify(json));
    return file;
  }

  before(async function () {
    quiet = process.env[QUIET_ENV];
    process.env[QUIET_ENV] = "1";
    dir = mkdtempSync(path.join(os.tmpdir(), "trustml-tasks-models-"));
    record = path.join(dir, "deployment.json");
    deployment = await deployProtocol(hre, { deploymentFile: record });
    const models: Record<string, Uint8Array> = {
      mlp: buildMlpClassifier(), // features [N,4] -> label [N], probabilities [N,3]
      twoInput: buildTwoInputModel(), // x [N,3], scale [1] -> y [N,3], positive [N,3], count [N]
      unnamed: buildIdentityModel("float32", ["", 4]), // x [?,4] -> y [?,4], its first dimension unnamed
      identity: buildIdentityModel("float32", ["N", 4]),
      identityInt: buildIdentityModel("int64", ["N", 2]), // version 2 of the MLP's model
      profile: buildProfileModel(GOLDEN_MODEL), // int8 [1,4]: no dynamic dimension
      notOnnx: new TextEncoder().encode("not a model"),
    };
    for (const [name, bytes] of Object.entries(models)) {
      files[name] = path.join(dir, `${name}.onnx`);
      writeFileSync(files[name], bytes);
    }
    [, , owner, worker, requester, other] = await ethers.getSigners();
    const c = deployment.contracts;
    token = await ethers.getContractAt("TestToken", c.token.address);
    registry = await ethers.getContractAt("ModelRegistry", c.registry.address);
    escrow = await ethers.getContractAt("JobEscrow", c.escrow.address);
    for (const account of [requester, worker, other]) await token.connect(account).faucet();
  });

  after(function () {
    if (quiet === undefined) delete process.env[QUIET_ENV];
    else process.env[QUIET_ENV] = quiet;
    rmSync(dir, { recursive: true, force: true });
  });

  describe("model:publish", function () {
    it("refuses a file whose inputs stay dynamic, naming the input and the flags that fix it; sends nothing", async function () {
      const nonce = await owner.getNonce();
      await expect(run("model:publish", { file: files.mlp, price: "2", from: owner.address })).to.be.rejectedWith(
        `--file ${files.mlp}: input "features": dimension 0 (symbol "N") is dynamic, and every input dimension ` +
          `must be fixed: size it with --dim N=<size> (overrides.dims, everywhere "N" appears) or ` +
          `--shape features=<N>,4 (overrides.tensors); or publish no signature with --no-signature`,
      );
      await expect(run("model:publish", { file: files.unnamed, price: "2", from: owner.address })).to.be.rejectedWith(
        `--file ${files.unnamed}: input "x": dimension 0 (unnamed) is dynamic, and every input dimension must be ` +
          "fixed: give the input its whole shape with --shape x=<size>,4 (overrides.tensors); " +
          "or publish no signature with --no-signature",
      );
      // Flags that do not parse, or do not fit the model.
      const refusals: [Record<string, unknown>, string][] = [
        [{ shape: ["features"] }, `"--shape features": expected --shape NAME=D0,D1,...`],
        [{ dim: ["N=x"] }, `"--dim N=x": "x" is not a size (an integer in 0..2^53-1)`],
        [
          { dim: ["batch=1"] },
          `--file ${files.mlp}: dimension override "batch": the model has no symbolic dimension "batch"; its symbols are "N"`,
        ],
        [
          { dim: ["N=1"], shape: ["features=2,4"] },
          `--file ${files.mlp}: --shape features=2,4 makes dimension "N" 2, but --dim N=1 makes it 1`,
        ],
        [
          { shape: ["features=1,5"] },
          `--file ${files.mlp}: shape override for input "features": dimension 1 is 5, the model fixes it at 4`,
        ],
        [
          { dim: ["N=1"], noSignature: true },
          "--no-signature declares no signature, so nothing to size: drop --dim N=1",
        ],
      ];
      for (const [flags, message] of refusals) {
        await expect(
          run("model:publish", { file: files.mlp, price: "2", from: owner.address, ...flags }),
        ).to.be.rejectedWith(message);
      }
      await expect(run("model:publish", { file: files.notOnnx, price: "2", from: owner.address })).to.be.rejectedWith(
        new RegExp(
          `^--file ${files.notOnnx}: cannot load the model \\(11 bytes\\) as ONNX: .*; the signature is read from ` +
            "the model \\(--no-signature publishes none\\)$",
        ),
      );
      expect(await owner.getNonce()).to.equal(nonce);
      expect(await registry.modelCount()).to.equal(0n);
    });

    it("derives the signature from the file with --dim, prints it, and registers its bytes, hash and input size", async function () {
      const { text, value: published } = await captureStdout(() =>
        run<PublishedModel>("model:publish", { file: files.mlp, price: "2", dim: ["N=1"], from: owner.address }),
      );
      mlpModel = published.modelId;
      expect(published.signature).to.deep.equal(MLP_SIGNATURE);
      const size = signatureInputSize(MLP_SIGNATURE);
      expect(published.inputSize).to.equal(size);
      expect(text).to.include(
        `  signature (every input ${size} bytes):\n` +
          "    input  features      float32 [1,4]\n" +
          "    output label         int64   [1]\n" +
          "    output probabilities float32 [1,3]\n",
      );
      const version = await registry.getVersion(mlpModel, 1);
      expect(version.ioSignatureHash).to.equal(signatureHash(MLP_SIGNATURE));
      expect(version.inputSize).to.equal(size);
      const [event] = await registry.queryFilter(registry.filters.VersionPublished(mlpModel, 1));
      expect(event.args.ioSignature).to.equal(ethers.hexlify(encodeSignature(MLP_SIGNATURE)));
      expect((await registry.jobTerms(mlpModel)).inputSize).to.equal(size);
    });

    it("takes --shape and --dim more than once; outputs left unsized stay dynamic", async function () {
      const two = await run<PublishedModel>("model:publish", {
        file: files.twoInput,
        price: "1",
        shape: ["x=2,3", "scale=1"],
        dim: ["N=2"],
        from: owner.address,
      });
      twoInputModel = two.modelId;
      expect(two.signature).to.deep.equal({
        inputs: [
          { name: "scale", type: "int64", shape: [1] },
          { name: "x", type: "float32", shape: [2, 3] },
        ],
        outputs: [
          { name: "count", type: "int32", shape: [2] },
          { name: "positive", type: "bool", shape: [2, 3] },
          { name: "y", type: "float32", shape: [2, 3] },
        ],
      });
      const unnamed = await run<PublishedModel>("model:publish", {
        file: files.unnamed,
        price: "1",
        shape: ["x=3,4"],
        from: owner.address,
      });
      expect(unnamed.signature!.outputs).to.deep.equal([{ name: "y", type: "float32", shape: [null, 4] }]);
      expect((await registry.getVersion(unnamed.modelId, 1)).ioSignatureHash).to.equal(
        signatureHash(unnamed.signature!),
      );

      // Hardhat's own command-line parser refuses a repeated flag; these two accumulate.
      const parsed = new ArgumentsParser().parseTaskArguments(hre.tasks["model:publish"], [
        "--file",
        files.twoInput,
        "--price",
        "1",
        "--shape",
        "x=2,3",
        "--dim",
        "N=2",
        "--shape",
        "scale=1",
      ]);
      expect(parsed).to.deep.include({ shape: ["x=2,3", "scale=1"], dim: ["N=2"] });
      expect(() =>
        new ArgumentsParser().parseTaskArguments(hre.tasks["model:publish"], ["--price", "1", "--price", "2"]),
      ).to.throw(/HH309: Repeated parameter --price/);
    });

    it("--no-signature publishes none: zero hash, no input size", async function () {
      const published = await run<PublishedModel>("model:publish", {
        file: files.identity,
        price: "1",
        noSignature: true,
        from: requester.address,
      });
      expect(published).to.deep.include({ signature: null, inputSize: 0n });
      const version = await registry.getVersion(published.modelId, 1);
      expect([version.ioSignatureHash, version.inputSize]).to.deep.equal([ethers.ZeroHash, 0n]);
    });
  });

  describe("model:version", function () {
    it("publishes a new version with its own signature; refuses the same file again, saying why", async function () {
      const nonce = await owner.getNonce();
      // The registry takes a content hash once per publisher: not even another signature makes it a new version.
      for (const flags of [{ dim: ["N=1"] }, { dim: ["N=2"] }, { noSignature: true }]) {
        await expect(
          run("model:version", { model: String(mlpModel), file: files.mlp, from: owner.address, ...flags }),
        ).to.be.rejectedWith(
          `this file (sha256 ${ethers.sha256(buildMlpClassifier())}) is already published as model ${mlpModel} ` +
            `version 1 by ${owner.address}, and the registry takes a file only once from each publisher: it cannot ` +
            "be published again, not even with another signature. To declare another signature, publish a " +
            "different file (e.g. the model exported again with its shapes fixed)",
        );
      }
      await expect(
        run("model:version", { model: String(mlpModel), file: files.identity, from: owner.address }),
      ).to.be.rejectedWith(`--file ${files.identity}: input "x": dimension 0 (symbol "N") is dynamic`);
      await expect(
        run("model:version", { model: String(mlpModel), file: files.identity, dim: ["N=1"], from: other.address }),
      ).to.be.rejectedWith(
        `model ${mlpModel} is owned by ${owner.address}, not ${other.address}: only its owner publishes versions`,
      );
      expect(await owner.getNonce()).to.equal(nonce);

      // Another account may publish the same bytes as a model of its own: the registry allows it.
      const copy = await run<PublishedModel>("model:publish", {
        file: files.mlp,
        price: "1",
        dim: ["N=2"],
        from: other.address,
      });
      expect(copy.signature!.inputs).to.deep.equal([{ name: "features", type: "float32", shape: [2, 4] }]);

      const v2 = await run<PublishedModel>("model:version", {
        model: ethers.toBeHex(mlpModel), // ids are taken in hex as well
        file: files.identityInt,
        dim: ["N=1"],
        from: owner.address,
      });
      expect(v2.version).to.equal(2n);
      expect(v2.signature).to.deep.equal({
        inputs: [{ name: "x", type: "int64", shape: [1, 2] }],
        outputs: [{ name: "y", type: "int64", shape: [1, 2] }],
      });
      expect((await registry.getVersion(mlpModel, 2)).ioSignatureHash).to.equal(signatureHash(v2.signature!));
      expect((await registry.jobTerms(mlpModel)).version).to.equal(2n);
    });
  });

  describe("model:show and model:list", function () {
    it("show every version with its signature read from its event; --json prints JSON and nothing else", async function () {
      const { json, value } = await runJson<ModelDetails>("model:show", { model: String(mlpModel) });
      expect(value.versions[0].signature).to.deep.equal(MLP_SIGNATURE);
      expect(json).to.deep.include({
        modelId: String(mlpModel),
        owner: owner.address,
        pendingOwner: null,
        deprecated: false,
        versionCount: 2,
        terms: {
          price: ethers.parseEther("2").toString(),
          mode: "none",
          committeeSize: 3,
          royaltyBps: 500,
          relTolerance: 10_000,
          absTolerance: 1000,
        },
      });
      expect(json.versions[0]).to.deep.include({
        version: 1,
        contentHash: ethers.sha256(buildMlpClassifier()),
        inputSize: String(signatureInputSize(MLP_SIGNATURE)),
        signatureHash: signatureHash(MLP_SIGNATURE),
        signature: MLP_SIGNATURE,
        weightsRoot: ethers.ZeroHash,
      });
      expect(json.versions[1].signature.inputs).to.deep.equal([{ name: "x", type: "int64", shape: [1, 2] }]);

      // A dynamic output dimension is null in JSON, "?" for people; a version without a signature says so.
      const unnamed = (await run<ModelView[]>("model:list")).find((m) => m.latest.uri.endsWith("unnamed.onnx"))!;
      const shown = await runJson<ModelDetails>("model:show", { model: String(unnamed.modelId) });
      expect(shown.json.versions[0].signature.outputs).to.deep.equal([
        { name: "y", type: "float32", shape: [null, 4] },
      ]);
      const printed = await captureStdout(() => run("model:show", { model: String(unnamed.modelId) }));
      expect(printed.text).to.include(
        `    signature (every input ${unnamed.latest.inputSize} bytes):\n` +
          "      input  x float32 [3,4]\n" +
          "      output y float32 [?,4]\n",
      );
      const bare = (await run<ModelView[]>("model:list")).find((m) => m.latest.inputSize === 0n)!;
      expect((await captureStdout(() => run("model:show", { model: String(bare.modelId) }))).text).to.include(
        "    signature none declared (inputs are not checked before a request; workers check them)\n",
      );
      await expect(run("model:show", { model: "99" })).to.be.rejectedWith(
        "getModel failed: ModelRegistryUnknownModel(modelId=99)",
      );
    });

    it("model:list --json: every model's latest version with its signature hash and input size", async function () {
      const { json, value } = await runJson<ModelView[]>("model:list");
      expect(json)
        .to.have.length(value.length)
        .and.to.have.length(Number(await registry.modelCount()));
      const mlp = json.find((m: { modelId: string }) => m.modelId === String(mlpModel));
      expect(mlp.latest).to.deep.include({
        version: 2,
        inputSize: String((await registry.getVersion(mlpModel, 2)).inputSize),
      });
      expect(mlp.terms.price).to.equal(ethers.parseEther("2").toString());
    });
  });

  describe("model:terms, model:deprecate, model:transfer and model:accept", function () {
    let modelId: bigint;

    before(async function () {
      ({ modelId } = await run<PublishedModel>("model:publish", {
        file: files.identity,
        price: "1",
        dim: ["N=1"],
        from: owner.address,
      }));
    });

    it("model:terms shows the terms without arguments (--json too), and sets those given", async function () {
      const shown = await run<TermsResult>("model:terms", { model: String(modelId) });
      expect(shown).to.deep.equal({
        modelId,
        terms: {
          price: ethers.parseEther("1"),
          mode: "none",
          committeeSize: 3,
          royaltyBps: 500,
          relTolerance: 10_000,
          absTolerance: 1000,
        },
      });
      const { json } = await runJson("model:terms", { model: String(modelId) });
      expect(json).to.deep.equal({ modelId: String(modelId), terms: { ...shown.terms, price: "1000000000000000000" } });

      const set = await run<TermsResult>("model:terms", {
        model: String(modelId),
        price: "2.5",
        mode: "committee",
        committee: 5,
        royaltyBps: 100,
        relTol: 7,
        absTol: 8,
        from: owner.address,
      });
      const after = {
        price: ethers.parseEther("2.5"),
        mode: "committee",
        committeeSize: 5,
        royaltyBps: 100,
        relTolerance: 7,
        absTolerance: 8,
      };
      expect(set.terms).to.deep.equal(after);
      expect(set.previous).to.deep.equal(shown.terms);
      const model = await registry.getModel(modelId);
      expect(model.terms.mode).to.equal(VerificationMode.Committee);
      expect(model.terms.price).to.equal(ethers.parseEther("2.5"));
      await expect(ethers.provider.getTransactionReceipt(set.transactionHash!)).to.eventually.have.property(
        "status",
        1,
      );

      // One field: the others stay.
      const priced = await run<TermsResult>("model:terms", { model: String(modelId), price: "1", from: owner.address });
      expect(priced.terms).to.deep.equal({ ...after, price: ethers.parseEther("1") });

      const nonce = await owner.getNonce();
      await expect(run("model:terms", { model: String(modelId), price: "1", from: owner.address })).to.be.rejectedWith(
        `model ${modelId} already has these terms (1.0 TML, committee (committee 5), royalty 100 bps, tolerance rel 7 abs 8 ppb): nothing was sent`,
      );
      await expect(
        run("model:terms", { model: String(modelId), mode: "proven", from: owner.address }),
      ).to.be.rejectedWith(
        `--mode proven: version 1 of model ${modelId} has no weights root (it is not an integer profile model), and ` +
          "Proven mode needs one: publish a profile file first (model:quantize, model:version)",
      );
      await expect(
        run("model:terms", { model: String(modelId), mode: "fast", from: owner.address }),
      ).to.be.rejectedWith("--mode fast: expected one of none, optimistic, committee, proven");
      expect(await owner.getNonce()).to.equal(nonce);
      await expect(
        run("model:terms", { model: String(modelId), committee: 4, from: owner.address }),
      ).to.be.rejectedWith("setTerms failed: ModelRegistryInvalidCommitteeSize(committeeSize=4)");
      await expect(run("model:terms", { model: String(modelId), price: "3", from: other.address })).to.be.rejectedWith(
        `setTerms failed: ModelRegistryNotModelOwner(modelId=${modelId}, account=${other.address})`,
      );
    });

    it("model:transfer offers, model:accept takes, in two steps; --cancel withdraws an offer", async function () {
      const id = String(modelId);
      await expect(run("model:transfer", { model: id, from: owner.address })).to.be.rejectedWith(
        "give exactly one of --to <address> and --cancel",
      );
      await expect(run("model:accept", { model: id, from: other.address })).to.be.rejectedWith(
        `model ${modelId} is offered to nobody: its owner ${owner.address} offers it with model:transfer`,
      );
      const offered = await run<OwnershipResult>("model:transfer", {
        model: id,
        to: other.address,
        from: owner.address,
      });
      expect(offered).to.deep.include({ modelId, owner: owner.address, pendingOwner: other.address });
      expect((await run<ModelDetails>("model:show", { model: id })).pendingOwner).to.equal(other.address);
      const cancelled = await run<OwnershipResult>("model:transfer", { model: id, cancel: true, from: owner.address });
      expect(cancelled.pendingOwner).to.equal(null);
      expect((await registry.getModel(modelId)).pendingOwner).to.equal(ethers.ZeroAddress);

      await run("model:transfer", { model: id, to: requester.address, from: owner.address });
      await expect(run("model:accept", { model: id, from: other.address })).to.be.rejectedWith(
        `model ${modelId} is offered to ${requester.address}, not to ${other.address}`,
      );
      await expect(run("model:transfer", { model: id, to: other.address, from: requester.address })).to.be.rejectedWith(
        `ModelRegistryNotModelOwner(modelId=${modelId}, account=${requester.address})`,
      );
      const accepted = await run<OwnershipResult>("model:accept", { model: id, from: requester.address });
      expect(accepted).to.deep.include({ modelId, owner: requester.address, pendingOwner: null });
      const model = await registry.getModel(modelId);
      expect([model.owner, model.pendingOwner]).to.deep.equal([requester.address, ethers.ZeroAddress]);
      expect((await registry.jobTerms(modelId)).owner).to.equal(requester.address);
    });

    it("model:deprecate stops new jobs and versions, for good", async function () {
      const id = String(modelId);
      await expect(run("model:deprecate", { model: id, from: owner.address })).to.be.rejectedWith(
        `deprecate failed: ModelRegistryNotModelOwner(modelId=${modelId}, account=${owner.address})`,
      );
      const done = await run<{ modelId: bigint; transactionHash: string }>("model:deprecate", {
        model: id,
        from: requester.address,
      });
      expect(done.modelId).to.equal(modelId);
      expect((await registry.getModel(modelId)).deprecated).to.equal(true);
      await expect(run("model:deprecate", { model: id, from: requester.address })).to.be.rejectedWith(
        `deprecate failed: ModelRegistryDeprecated(modelId=${modelId})`,
      );
      await expect(
        run("model:version", { model: id, file: files.twoInput, dim: ["N=1"], from: requester.address }),
      ).to.be.rejectedWith(`model ${modelId} is deprecated: it takes no new versions`);
      const input = inputFile("deprecated.json", features("float32", [1, 4], "x"));
      await expect(run("job:request", { model: id, input, from: requester.address })).to.be.rejectedWith(
        `jobTerms failed: ModelRegistryDeprecated(modelId=${modelId})`,
      );
      expect((await run<ModelDetails>("model:show", { model: id })).deprecated).to.equal(true);
    });
  });

  describe("job:request", function () {
    it("checks the input against the version's signature before any transaction, naming the tensor and the problem", async function () {
      // Model `mlpModel` is at version 2 (x float32 [1,3], scale int64 [1]); the MLP's copy by `other` declares
      // features float32 [2,4].
      const copy = (await run<ModelView[]>("model:list")).find(
        (m) => m.owner === other.address && m.latest.contentHash === ethers.sha256(buildMlpClassifier()),
      )!;
      const id = String(copy.modelId);
      const before = {
        nonce: await requester.getNonce(),
        balance: await token.balanceOf(requester.address),
        allowance: await token.allowance(requester.address, escrow),
        jobs: await escrow.jobCount(),
      };
      const refusals: [string, unknown, string][] = [
        [
          "shape.json",
          features("float32", [1, 4]),
          `input "features": expected float32 [2,4], got float32 [1,4] (dimension 0)`,
        ],
        ["rank.json", features("float32", [8]), `input "features": expected float32 [2,4], got float32 [8]`],
        ["type.json", features("float64", [2, 4]), `input "features": expected float32 [2,4], got float64 [2,4]`],
        [
          "name.json",
          features("float32", [2, 4], "x"),
          `unexpected input "x" (float32 [2,4]); the signature's inputs are "features"`,
        ],
        [
          "extra.json",
          { tensors: [...features("float32", [2, 4]).tensors, ...features("int64", [1], "a").tensors] },
          `unexpected input "a" (int64 [1]); the signature's inputs are "features"`,
        ],
      ];
      for (const [name, json, problem] of refusals) {
        const file = inputFile(name, json);
        await expect(run("job:request", { model: id, input: file, from: requester.address })).to.be.rejectedWith(
          `--input ${file} does not fit the signature of model ${id} v1: ${problem}; nothing was sent`,
        );
      }
      const missing = inputFile("missing.json", features("float32", [2, 3], "x"));
      await expect(
        run("job:request", { model: String(twoInputModel), input: missing, from: requester.address }),
      ).to.be.rejectedWith(
        `--input ${missing} does not fit the signature of model ${twoInputModel} v1: missing input "scale" (int64 [1]); nothing was sent`,
      );
      // Nothing paid, approved or sent.
      expect(await requester.getNonce()).to.equal(before.nonce);
      expect(await token.balanceOf(requester.address)).to.equal(before.balance);
      expect(await token.allowance(requester.address, escrow)).to.equal(before.allowance);
      expect(await escrow.jobCount()).to.equal(before.jobs);

      const good = inputFile("good.json", features("float32", [2, 4]));
      const requested = await run<RequestedJob>("job:request", { model: id, input: good, from: requester.address });
      expect(requested).to.deep.include({ modelId: copy.modelId, version: 1n, paidFrom: "tokens" });
      expect(BigInt(requested.inputBytes)).to.equal(copy.latest.inputSize);
      expect(requested.inputBytes).to.equal(encodeTensors(tensorsFromJson(features("float32", [2, 4]))).length);
    });

    it("pays from the balance in the escrow when it covers the fee, with no approval (escrow:deposit)", async function () {
      const id = String(mlpModel); // price 2
      const input = inputFile("version-2.json", {
        tensors: [{ name: "x", type: "int64", shape: [1, 2], data: [1, 2] }],
      });
      await expect(run("escrow:deposit", { amount: "0", from: requester.address })).to.be.rejectedWith(
        "--amount 0: a deposit must be more than 0",
      );
      const start = await escrow.balanceOf(requester.address);
      const deposited = await run<{ amount: bigint; balance: bigint }>("escrow:deposit", {
        amount: "3",
        from: requester.address,
      });
      expect(deposited).to.deep.include({ amount: ethers.parseEther("3"), balance: start + ethers.parseEther("3") });

      const nonce = await requester.getNonce();
      const tokens = await token.balanceOf(requester.address);
      const allowance = await token.allowance(requester.address, escrow);
      const paid = await run<RequestedJob>("job:request", { model: id, input, from: requester.address });
      expect(paid.paidFrom).to.equal("balance");
      expect(await requester.getNonce()).to.equal(nonce + 1, "the request alone: no approve");
      expect(await token.balanceOf(requester.address)).to.equal(tokens);
      expect(await token.allowance(requester.address, escrow)).to.equal(allowance);
      expect(await escrow.balanceOf(requester.address)).to.equal(start + ethers.parseEther("1"));

      // The balance no longer covers the fee: paid in tokens, approved first when the allowance is short.
      const byTokens = await run<RequestedJob>("job:request", { model: id, input, from: requester.address });
      expect(byTokens.paidFrom).to.equal("tokens");
      expect(await token.balanceOf(requester.address)).to.equal(tokens - ethers.parseEther("2"));
      expect(await escrow.balanceOf(requester.address)).to.equal(start + ethers.parseEther("1"));
    });

    it("counts --deadline-in from the wall clock, never earlier than the chain's clock", async function () {
      const input = inputFile("deadline.json", {
        tensors: [{ name: "x", type: "int64", shape: [1, 2], data: [1, 2] }],
      });
      const request = () =>
        run<RequestedJob>("job:request", { model: String(mlpModel), input, deadlineIn: 120, from: requester.address });
      const wall = () => Math.floor(Date.now() / 1000);

      // Nothing advanced: at least 120 s from now by either clock.
      const before = wall();
      const chain = await time.latest();
      const plain = await request();
      expect(plain.deadline - before).to.be.at.least(120);
      expect(plain.deadline - chain).to.be.at.least(120);
      expect(plain.deadline).to.be.at.most(Math.max(wall(), chain) + 120);

      // An idle node whose last block is an hour old: the wall clock counts.
      const realNow = Date.now;
      const idleSince = (await time.latest()) + 3600;
      Date.now = () => idleSince * 1000;
      let idle: RequestedJob;
      try {
        idle = await request();
      } finally {
        Date.now = realNow;
      }
      expect(idle.deadline).to.equal(idleSince + 120);

      // A chain whose clock runs ahead of the wall clock: the chain's counts.
      await time.increase(2 * 86_400);
      const chainAhead = await time.latest();
      expect(chainAhead).to.be.greaterThan(wall() + 86_400);
      const ahead = await request();
      expect(ahead.deadline).to.equal(chainAhead + 120);
    });
  });

  describe("job:settle", function () {
    it("refunds the caller's expired jobs, one by id or all at once, settles due results, says when the rest are due", async function () {
      // A Proven model (its input has no dynamic dimension: no flag needed) that a staked worker serves honestly.
      const proven = await run<PublishedModel>("model:publish", {
        file: files.profile,
        price: "1",
        mode: "proven",
        committee: 1,
        from: owner.address,
      });
      expect(proven.signature!.inputs).to.deep.equal([{ name: GOLDEN_MODEL.inputName, type: "int8", shape: [1, 4] }]);
      const staking = await ethers.getContractAt("VerifierStaking", deployment.contracts.staking.address);
      await token.connect(worker).approve(staking, ethers.MaxUint256);
      await staking.connect(worker).stake(ethers.parseEther("20"));
      const x0 = Int8Array.from([5, -3, 127, -128]);
      const input = inputFile("proven.json", {
        tensors: [{ name: GOLDEN_MODEL.inputName, type: "int8", shape: [1, 4], data: [...x0] }],
      });
      const request = (deadlineIn: number, from = requester) =>
        run<RequestedJob>("job:request", { model: String(proven.modelId), input, deadlineIn, from: from.address });

      // Settle everything first, so that only this test's jobs are open.
      await run("job:settle", { from: requester.address });
      await time.increase(3 * 86_400);
      await run("job:settle", { from: requester.address });

      const soon = await request(600);
      const late = await request(86_400);
      const served = await request(86_400);
      const [servedEvent] = await escrow.queryFilter(escrow.filters.JobRequested(served.jobId));
      const trace = traceOf(GOLDEN_MODEL.outputName, runReference(GOLDEN_MODEL.layers, x0).vectors);
      await escrow.connect(worker).submitResult(toJob(servedEvent.args.job), trace.output);
      const windowEnd = Number((await escrow.jobState(served.jobId)).windowEnd);

      // Nothing is due: each job and when it will be.
      const none = await run<SettleResult>("job:settle", { from: requester.address });
      expect(none.settled).to.deep.equal([]);
      expect(none.waiting).to.deep.equal([
        { jobId: soon.jobId, nonce: soon.nonce, status: "Requested", readyAt: soon.deadline + 1 },
        { jobId: late.jobId, nonce: late.nonce, status: "Requested", readyAt: late.deadline + 1 },
        { jobId: served.jobId, nonce: served.nonce, status: "Submitted", readyAt: windowEnd + 1 },
      ]);
      const hexSoon = ethers.toBeHex(soon.jobId, 32);
      await expect(run("job:settle", { job: hexSoon, from: requester.address })).to.be.rejectedWith(
        `job ${hexSoon} (request #${soon.nonce}) is Requested and not due until ` +
          `${new Date((soon.deadline + 1) * 1000).toISOString()}: refunded in full if no worker claims it by its deadline`,
      );

      // One job by id (anyone may settle a due job).
      await time.increaseTo(soon.deadline + 1);
      const balance = await escrow.balanceOf(requester.address);
      const one = await run<SettleResult>("job:settle", { job: `#${soon.nonce}`, from: other.address });
      expect(one.settled).to.have.length(1);
      expect(one.settled[0]).to.deep.include({ jobId: soon.jobId, status: "Refunded", outcome: "Expired" });
      expect(one.settled[0].settlement!.requesterRefund).to.equal(ethers.parseEther("1"));
      expect(await escrow.balanceOf(requester.address)).to.equal(balance + ethers.parseEther("1"));
      await expect(run("job:settle", { job: hexSoon, from: requester.address })).to.be.rejectedWith(
        `job ${hexSoon} (request #${soon.nonce}) has ended already (Refunded): nothing to settle`,
      );

      // Every due job of the caller at once: the expired one refunded, the result past its window accepted.
      await time.increaseTo(Math.max(late.deadline, windowEnd) + 1);
      const all = await run<SettleResult>("job:settle", { from: requester.address });
      expect(all.waiting).to.deep.equal([]);
      expect(all.settled.map((s) => [s.jobId, s.status, s.outcome])).to.deep.equal([
        [late.jobId, "Refunded", "Expired"],
        [served.jobId, "Settled", "Accepted"],
      ]);
      expect(all.settled[1].settlement!.workerPayment).to.be.greaterThan(0n);
      expect((await escrow.jobState(served.jobId)).status).to.equal(JobStatus.Settled);
      expect(await escrow.balanceOf(requester.address)).to.equal(balance + ethers.parseEther("2"));
      expect((await run<SettleResult>("job:settle", { from: requester.address })).settled).to.deep.equal([]);
    });
  });

  describe("--json on the reading tasks", function () {
    it("job:show, job:list, stake:show and randomness:show: JSON only, job ids as 0x and 64 hex digits", async function () {
      const jobs = await run<JobSummary[]>("job:list", { requester: requester.address });
      const { json: list } = await runJson<JobSummary[]>("job:list", { requester: requester.address });
      expect(list).to.have.length(jobs.length).and.to.have.length.greaterThan(3);
      expect(list.map((j: { jobId: string }) => j.jobId)).to.deep.equal(jobs.map((j) => ethers.toBeHex(j.jobId, 32)));
      for (const j of list) {
        expect(j.jobId).to.match(HEX_JOB_ID);
        expect(j).to.deep.include({ requester: requester.address });
        expect(j.nonce).to.match(/^\d+$/);
        expect(j.fee).to.match(/^\d+$/);
      }

      const settled = jobs.find((j) => j.status === "Settled")!;
      const { json: job, value } = await runJson<JobView>("job:show", { job: settled.jobId.toString() });
      expect(job).to.deep.include({
        jobId: ethers.toBeHex(settled.jobId, 32),
        nonce: String(settled.nonce),
        status: "Settled",
        mode: "proven",
        fee: String(value.fee),
        collateral: String(value.collateral),
        worker: worker.address,
      });
      expect(job.settlement).to.deep.include({
        outcome: "Accepted",
        workerPayment: String(value.settlement!.workerPayment),
      });
      expect(job.input).to.deep.equal(value.input);

      const { json: stake } = await runJson<StakeView>("stake:show", { account: worker.address });
      expect(stake).to.deep.include({
        account: worker.address,
        active: ethers.parseEther("20").toString(),
        verifier: false,
      });
      const { json: randomness } = await runJson<RandomnessView>("randomness:show");
      expect(randomness).to.deep.equal({
        current: deployment.contracts.randomness.address,
        next: ethers.ZeroAddress,
        readyAt: 0,
      });

      // For people, job ids are hex too.
      const printed = await captureStdout(() => run("job:list", { requester: requester.address }));
      expect(printed.text).to.include(`Job ${ethers.toBeHex(settled.jobId, 32)} (request #${settled.nonce}): Settled`);
    });

    it("a hardhat process prints the JSON of model:show --json and nothing else on stdout", async function () {
      const rpc = await serveJsonRpc();
      try {
        const child = spawn(
          path.join(ROOT, "node_modules", ".bin", "hardhat"),
          [
            "--network",
            "localhost",
            "model:show",
            "--model",
            ethers.toBeHex(mlpModel),
            "--json",
            "--deployment",
            record,
          ],
          { cwd: ROOT, env: { ...process.env, TRUSTML_LOCAL_RPC_URL: rpc.url, TRUSTML_QUIET: "" } },
        );
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        const code = await new Promise<number | null>((r) => child.on("exit", r));
        expect(code).to.equal(0, stderr);
        const json = JSON.parse(stdout);
        expect(json).to.deep.include({ modelId: String(mlpModel), versionCount: 2 });
        expect(json.versions[0].signature).to.deep.equal(MLP_SIGNATURE);
      } finally {
        await rpc.close();
      }
    });
  });
});
