import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { deployProtocol } from "../src/deploy/deploy";
import type { Deployment } from "../packages/sdk/src/deployment";
import { encodeTensors, type NamedTensors } from "../packages/sdk/src/codec";
import { toJob } from "./fixtures/protocol";
import { jobDomainOf, jobIdOf } from "../packages/sdk/src/job";
import { sealedCommitments } from "../packages/sdk/src/votes";
import { buildIdentityModel, buildMlpClassifier } from "../src/models/build";
import { onnx } from "onnx-proto";
import { buildProfileModel, runReference, traceOf, weightsRoot } from "../src/proven";
import { GOLDEN_MODEL } from "./fixtures/proven";
import { JobStatus, VerificationMode } from "../packages/sdk/src/params";
import { TensorJsonError, tensorsFromJson, tensorsToJson } from "../packages/sdk/src/tensor-json";
import { QUIET_ENV } from "../tasks/common";
import type { DrawnJob, ProofResult, RequestedJob, JobSummary, JobView } from "../tasks/job";
import type { ModelView, PublishedModel } from "../tasks/model";
import type { StakeView } from "../tasks/stake";
import type { RandomnessView, VrfSourceView } from "../tasks/governance";
import type { JobEscrow, TestToken, VerifierStaking, ModelRegistry } from "../typechain-types";

const INPUT_JSON = { tensors: [{ name: "features", type: "float32", shape: [1, 4], data: [[0.5, 1, -2, 3]] }] };
const OUTPUT: NamedTensors = [
  { name: "label", type: "int64", shape: [1], data: new BigInt64Array([2n]) },
  { name: "probabilities", type: "float32", shape: [1, 3], data: new Float32Array([0.25, 0.25, 0.5]) },
];

describe("operator tasks", function () {
  let dir: string;
  let deployment: Deployment;
  let record: string;
  let files: { mlp: string; identity: string; input: string; badInput: string };
  let owner: HardhatEthersSigner, worker: HardhatEthersSigner, verifier: HardhatEthersSigner;
  let requester: HardhatEthersSigner;
  let token: TestToken, registry: ModelRegistry, staking: VerifierStaking, escrow: JobEscrow;
  let quiet: string | undefined;

  /** Runs a task against the test's deployment record. */
  const run = <T>(name: string, args: Record<string, unknown> = {}): Promise<T> =>
    hre.run(name, { deployment: record, ...args }) as Promise<T>;

  before(async function () {
    quiet = process.env[QUIET_ENV];
    process.env[QUIET_ENV] = "1";
    dir = mkdtempSync(path.join(os.tmpdir(), "trustml-tasks-test-"));
    record = path.join(dir, "deployment.json");
    deployment = await deployProtocol(hre, { deploymentFile: record });
    files = {
      mlp: path.join(dir, "mlp.onnx"),
      identity: path.join(dir, "identity.onnx"),
      input: path.join(dir, "input.json"),
      badInput: path.join(dir, "bad.json"),
    };
    writeFileSync(files.mlp, buildMlpClassifier());
    writeFileSync(files.identity, buildIdentityModel("float32"));
    writeFileSync(files.input, JSON.stringify(INPUT_JSON));
    writeFileSync(files.badInput, JSON.stringify({ tensors: [{ name: "x", type: "float16", shape: [1], data: [1] }] }));
    [, , owner, worker, verifier, requester] = await ethers.getSigners();
    const c = deployment.contracts;
    token = await ethers.getContractAt("TestToken", c.token.address);
    registry = await ethers.getContractAt("ModelRegistry", c.registry.address);
    staking = await ethers.getContractAt("VerifierStaking", c.staking.address);
    escrow = await ethers.getContractAt("JobEscrow", c.escrow.address);
  });

  after(function () {
    if (quiet === undefined) delete process.env[QUIET_ENV];
    else process.env[QUIET_ENV] = quiet;
    rmSync(dir, { recursive: true, force: true });
  });

  it("model:publish, model:version and model:list", async function () {
    const published = await run<PublishedModel>("model:publish", {
      file: files.mlp,
      price: "2",
      mode: "none",
      dim: ["N=1"],
      from: owner.address,
    });
    expect(published.modelId).to.equal(1n);
    expect(published.version).to.equal(1n);
    expect(published.contentHash).to.equal(ethers.sha256(buildMlpClassifier()));
    expect(published.uri).to.equal(`file://${files.mlp}`);
    const model = await registry.getModel(1);
    expect(model.owner).to.equal(owner.address);
    expect(model.terms.price).to.equal(ethers.parseEther("2"));
    expect(model.terms.mode).to.equal(VerificationMode.None);
    expect([model.terms.committeeSize, model.terms.royaltyBps, model.terms.relTolerance]).to.deep.equal([
      3n,
      500n,
      10_000n,
    ]);
    expect((await registry.getVersion(1, 1)).contentHash).to.equal(published.contentHash);

    await expect(run("model:publish", { file: files.mlp, price: "2", from: owner.address })).to.be.rejectedWith(
      /already published as model 1 version 1/,
    );
    await expect(
      run("model:publish", {
        file: files.identity,
        price: "1",
        mode: "committee",
        committee: 4,
        dim: ["N=4"],
        from: owner.address,
      }),
    ).to.be.rejectedWith(/registerModel failed: ModelRegistryInvalidCommitteeSize\(committeeSize=4\)/);
    await expect(run("model:publish", { file: files.identity, price: "x", from: owner.address })).to.be.rejectedWith(
      /--price x is not an amount of TML/,
    );

    await expect(
      run("model:version", { model: "1", file: files.identity, uri: "ipfs://identity", from: worker.address }),
    ).to.be.rejectedWith(
      `model 1 is owned by ${owner.address}, not ${worker.address}: only its owner publishes versions`,
    );
    // Without a signature, version 2 takes any input (job:request below sends the MLP's to it).
    const version = await run<PublishedModel>("model:version", {
      model: "1",
      file: files.identity,
      uri: "ipfs://identity",
      noSignature: true,
      from: owner.address,
    });
    expect(version.version).to.equal(2n);
    expect((await registry.getVersion(1, 2)).uri).to.equal("ipfs://identity");

    const models = await run<ModelView[]>("model:list");
    expect(models).to.have.length(1);
    expect(models[0]).to.deep.include({ modelId: 1n, owner: owner.address, versionCount: 2, deprecated: false });
    expect(models[0].terms).to.deep.equal({
      price: ethers.parseEther("2"),
      mode: "none",
      committeeSize: 3,
      royaltyBps: 500,
      relTolerance: 10_000,
      absTolerance: 1000,
    });
    expect(models[0].latest).to.deep.include({ version: 2, uri: "ipfs://identity" });
  });

  it("token:faucet, stake:add, stake:verifier, stake:show, stake:unstake, stake:withdraw and stake:complete-exit", async function () {
    for (const account of [worker, verifier, requester]) {
      const { balance } = await run<{ balance: bigint }>("token:faucet", { from: account.address });
      expect(balance).to.equal(await token.FAUCET_AMOUNT());
    }
    const staked = await run<StakeView>("stake:add", { amount: "100", from: worker.address });
    expect(staked.active).to.equal(ethers.parseEther("100"));
    expect((await staking.accountOf(worker.address)).active).to.equal(ethers.parseEther("100"));

    await run("stake:add", { amount: "50", from: verifier.address });
    await expect(run("stake:verifier", { from: verifier.address })).to.be.rejectedWith(/exactly one of --on and --off/);
    const on = await run<StakeView>("stake:verifier", { on: true, from: verifier.address });
    expect(on.verifier).to.equal(true);
    expect(await staking.verifierWeightOf(verifier.address)).to.equal(ethers.parseEther("50"));
    await expect(run("stake:verifier", { on: true, from: verifier.address })).to.be.rejectedWith(
      /VerifierStakingVerifierStatusUnchanged\(account=0x[0-9a-fA-F]{40}, verifier=true\)/,
    );
    const shown = await run<StakeView>("stake:show", { account: verifier.address });
    expect(shown).to.deep.include({ verifier: true, active: ethers.parseEther("50"), free: ethers.parseEther("50") });

    const unstaking = await run<StakeView>("stake:unstake", { amount: "10", from: verifier.address });
    expect(unstaking.unbonding).to.equal(ethers.parseEther("10"));
    await expect(run("stake:withdraw", { from: verifier.address })).to.be.rejectedWith(
      /withdraw failed: VerifierStakingStillUnbonding/,
    );
    await time.increaseTo(unstaking.unbondingEnd);
    const withdrawn = await run<{ amount: bigint }>("stake:withdraw", { from: verifier.address });
    expect(withdrawn.amount).to.equal(ethers.parseEther("10"));

    // Opting out takes notice: still drawn until exitAt, then anyone completes the exit; --on brings it back.
    const leaving = await run<StakeView>("stake:verifier", { off: true, from: verifier.address });
    expect(leaving).to.deep.include({ verifier: true, leaving: true });
    expect(leaving.exitAt).to.equal((await time.latest()) + Number(await staking.exitNotice()));
    expect(await staking.verifierWeightOf(verifier.address)).to.equal(ethers.parseEther("40"));
    await expect(run("stake:complete-exit", { account: verifier.address, from: worker.address })).to.be.rejectedWith(
      /completeExit failed: VerifierStakingExitPending/,
    );
    await time.increaseTo(leaving.exitAt);
    const out = await run<StakeView>("stake:complete-exit", { account: verifier.address, from: worker.address });
    expect(out).to.deep.include({ verifier: false, leaving: false, exitAt: 0, verifierWeight: 0n });
    await expect(run("stake:complete-exit", { from: verifier.address })).to.be.rejectedWith(
      /completeExit failed: VerifierStakingNoExitPending/,
    );
    expect((await run<StakeView>("stake:verifier", { on: true, from: verifier.address })).verifier).to.equal(true);
  });

  it("job:request, job:show and job:list, through a worker's submission and settlement", async function () {
    await expect(
      run("job:request", { model: "1", input: files.input, maxFee: "1", from: requester.address }),
    ).to.be.rejectedWith("model 1 costs 2.0 TML, above --max-fee 1: nothing was sent");
    await expect(run("job:request", { model: "1", input: files.badInput, from: requester.address })).to.be.rejectedWith(
      /bad\.json: tensors\[0\] \("x"\)\.type: "float16" is not/,
    );

    const balance = await token.balanceOf(requester.address);
    const requested = await run<RequestedJob>("job:request", {
      model: "1",
      input: files.input,
      deadlineIn: 600,
      from: requester.address,
    });
    const input = encodeTensors(tensorsFromJson(INPUT_JSON));
    const [event] = await escrow.queryFilter(escrow.filters.JobRequested(requested.jobId));
    const job = toJob(event.args.job);
    expect(requested).to.deep.include({
      jobId: jobIdOf(job, await jobDomainOf(escrow)),
      nonce: 1n,
      modelId: 1n,
      version: 2n,
      fee: ethers.parseEther("2"),
    });
    expect(requested.inputHash).to.equal(ethers.keccak256(input));
    expect(await token.balanceOf(requester.address)).to.equal(balance - ethers.parseEther("2"));
    expect((await escrow.jobState(requested.jobId)).status).to.equal(JobStatus.Requested);

    // The id is taken in hex (as the tasks print it) or in decimal.
    const hexId = ethers.toBeHex(requested.jobId, 32);
    let shown = await run<JobView>("job:show", { job: hexId });
    expect(shown).to.deep.include({
      jobId: requested.jobId,
      nonce: 1n,
      status: "Requested",
      requester: requester.address,
      mode: "none",
      votes: [],
    });
    expect(shown.input).to.deep.equal(tensorsToJson(tensorsFromJson(INPUT_JSON)));
    expect(shown.worker).to.equal(undefined);
    expect(await run<JobView>("job:show", { job: requested.jobId.toString() })).to.deep.equal(shown);

    // A worker claims and submits in one transaction; a None job settles at once.
    await escrow.connect(worker).submitResult(job, encodeTensors(OUTPUT));

    shown = await run<JobView>("job:show", { job: hexId });
    expect(shown.status).to.equal("Settled");
    expect(shown.worker).to.equal(worker.address);
    expect(shown.outputHash).to.equal(ethers.keccak256(encodeTensors(OUTPUT)));
    expect(shown.output).to.deep.equal([
      { name: "label", type: "int64", shape: [1], data: ["2"] },
      { name: "probabilities", type: "float32", shape: [1, 3], data: [0.25, 0.25, 0.5] },
    ]);
    const s = shown.settlement!;
    expect(s.outcome).to.equal("Accepted");
    expect(s.royalty).to.equal(ethers.parseEther("0.1"));
    expect(s.workerPayment + s.royalty + s.treasuryPayment).to.equal(ethers.parseEther("2"));
    expect(await escrow.balanceOf(worker.address)).to.equal(s.workerPayment);

    const second = await run<RequestedJob>("job:request", { model: "1", input: files.input, from: requester.address });
    expect(second.nonce).to.equal(2n);
    const jobs = await run<JobSummary[]>("job:list");
    expect(jobs.map((j) => [j.jobId, j.nonce, j.status, j.requester])).to.deep.equal([
      [requested.jobId, 1n, "Settled", requester.address],
      [second.jobId, 2n, "Requested", requester.address],
    ]);
    expect(await run<JobSummary[]>("job:list", { requester: worker.address })).to.deep.equal([]);

    // A request's number is not its id; an id no request has, or text that is no id, fails clearly.
    await expect(run("job:show", { job: "2" })).to.be.rejectedWith(
      `no job ${ethers.toBeHex(2n, 32)}: no request has this id (2 requested; job:list shows their ids)`,
    );
    const unknown = jobIdOf({ ...job, nonce: 3n }, await jobDomainOf(escrow));
    await expect(run("job:show", { job: ethers.toBeHex(unknown) })).to.be.rejectedWith(
      `no job ${ethers.toBeHex(unknown, 32)}: no request has this id`,
    );
    await expect(run("job:show", { job: "0xzz" })).to.be.rejectedWith(
      /--job 0xzz is not a non-negative integer \(decimal or 0x hex\)/,
    );
    await expect(run("job:show", { job: `0x1${"0".repeat(64)}` })).to.be.rejectedWith(/is larger than a uint256/);

    const paid = await run<{ amount: bigint }>("escrow:withdraw", { from: worker.address });
    expect(paid.amount).to.equal(s.workerPayment);
    expect(await escrow.balanceOf(worker.address)).to.equal(0n);
  });

  it("job:draw draws a committee once its seed exists; job:show lists its draw, seats and revealed votes", async function () {
    const members = (await ethers.getSigners()).slice(6, 9);
    for (const member of members) {
      await token.connect(member).faucet();
      await token.connect(member).approve(staking, ethers.MaxUint256);
      await staking.connect(member).stake(ethers.parseEther("20"));
      await staking.connect(member).setVerifier(true);
    }
    const committeeModel = path.join(dir, "identity-int64.onnx");
    writeFileSync(committeeModel, buildIdentityModel("int64"));
    const { modelId } = await run<PublishedModel>("model:publish", {
      file: committeeModel,
      price: "1",
      mode: "committee",
      committee: 3,
      noSignature: true,
      from: owner.address,
    });
    const { jobId } = await run<RequestedJob>("job:request", {
      model: modelId.toString(),
      input: files.input,
      from: requester.address,
    });
    const [event] = await escrow.queryFilter(escrow.filters.JobRequested(jobId));
    await escrow.connect(worker).submitResult(toJob(event.args.job), encodeTensors(OUTPUT));

    // The submission asked BlockhashRandomness for the hash of the next block: the committee is drawn once it
    // can be read, by anyone, before draw-by.
    const state = await escrow.jobState(jobId);
    const submittedAt = await ethers.provider.getBlockNumber();
    expect(state.revealEnd).to.equal(BigInt(submittedAt + 1), "the ticket is the next block");
    let shown = await run<JobView>("job:show", { job: "#3" });
    expect(shown).to.deep.include({ jobId, nonce: 3n, status: "Drawing", votes: [] });
    expect(shown.draw).to.deep.equal({
      drawBy: Number(state.windowEnd),
      ticket: state.revealEnd,
      seedReady: false,
      block: submittedAt,
    });
    for (const block of [submittedAt, submittedAt + 1]) {
      await expect(run("job:draw", { job: "#3", from: requester.address })).to.be.rejectedWith(
        `job ${ethers.toBeHex(jobId, 32)} (request #3): the seed of randomness ticket ${submittedAt + 1} does not ` +
          `exist yet (the chain is at block ${block};`,
      );
      await mine(1);
    }
    expect((await run<JobView>("job:show", { job: "#3" })).draw?.seedReady).to.equal(true);
    const drawn = await run<DrawnJob>("job:draw", { job: "#3", from: requester.address });
    const [committeeDrawn] = await escrow.queryFilter(escrow.filters.CommitteeDrawn(jobId));
    expect(drawn).to.deep.equal({
      jobId,
      nonce: 3n,
      status: "Voting",
      committee: [...committeeDrawn.args.committee],
      commitEnd: Number(committeeDrawn.args.commitEnd),
      revealEnd: Number(committeeDrawn.args.revealEnd),
      transactionHash: committeeDrawn.transactionHash,
    });
    expect(await ethers.provider.getTransaction(drawn.transactionHash)).to.include({ from: requester.address });
    await expect(run("job:draw", { job: jobId.toString(), from: requester.address })).to.be.rejectedWith(
      /\(request #3\) is Voting, not Drawing: nothing to draw; its committee was drawn already/,
    );

    shown = await run<JobView>("job:show", { job: jobId.toString() });
    expect(shown.status).to.equal("Voting");
    expect(shown.draw).to.equal(undefined);
    expect(shown.mode).to.equal("committee");
    expect(shown.votes.map((v) => v.vote)).to.deep.equal(["Drawn", "Drawn", "Drawn"]);
    expect(shown.votes.map((v) => v.seat)).to.deep.equal([0, 1, 2]);
    const seated = shown.votes.map((v) => [verifier, ...members].find((m) => m.address === v.verifier)!);
    const salt = ethers.id("salt");
    // Seats commit out of order; the reveals pass the sealed commitments in the order they were made.
    const order = [2, 0, 1];
    for (const seat of order) {
      const commitment = await escrow.voteCommitment(jobId, seated[seat].address, seat < 2, salt);
      await escrow.connect(seated[seat]).commitVote(jobId, seat, commitment);
    }
    const sealed = await sealedCommitments(escrow, jobId);
    expect(sealed).to.have.length(3);
    for (const [seat, member] of seated.entries()) {
      await escrow.connect(member).revealVote(jobId, seat, seat < 2, salt, sealed);
    }

    shown = await run<JobView>("job:show", { job: ethers.toBeHex(jobId, 32) });
    expect(shown.votes.map((v) => v.vote)).to.deep.equal(["Agreed", "Agreed", "Disagreed"]);
    expect(shown.settlement).to.equal(undefined);

    // Not drawn by its draw-by, its seed there: it is still drawn (by job:draw, or by settling it), never ended
    // undrawn, so nobody escapes the vote by not drawing.
    const late = await run<RequestedJob>("job:request", {
      model: modelId.toString(),
      input: files.input,
      from: requester.address,
    });
    const [lateEvent] = await escrow.queryFilter(escrow.filters.JobRequested(late.jobId));
    await escrow.connect(worker).submitResult(toJob(lateEvent.args.job), encodeTensors(OUTPUT));
    const drawBy = Number((await escrow.jobState(late.jobId)).windowEnd);
    await time.increaseTo(drawBy + 1);
    await expect(escrow.settle(toJob(lateEvent.args.job), "0x")).to.emit(escrow, "CommitteeDrawn");
    expect((await run<JobView>("job:show", { job: `#${late.nonce}` })).status).to.equal("Voting");

    // A member of both committees unbonds part of its stake while they are open: its withdrawal waits until they
    // settle (their penalties are owed from that stake), and stake:withdraw names them or, with --settle, settles
    // them first.
    const lateMembers = (await escrow.queryFilter(escrow.filters.CommitteeDrawn(late.jobId)))[0].args.committee;
    const both = seated.find((m) => lateMembers.includes(m.address))!;
    await run("stake:unstake", { amount: "1", from: both.address });
    await time.increase(await staking.unbondingPeriod());
    const [day] = await staking.unsettledCommitteesFor(both.address);
    const date = new Date(Number(day) * 86_400_000).toISOString().slice(0, 10);
    await expect(run("stake:withdraw", { from: both.address })).to.be.rejectedWith(
      new RegExp(
        `committee\\(s\\) whose votes end on ${date} have not settled, and this stake could sit on them .*` +
          `${ethers.toBeHex(jobId, 32)} \\(reveal ends .*\\).*Settle them \\(anyone may\\): stake:withdraw --settle`,
      ),
    );
    const withdrawn = await run<{ amount: bigint }>("stake:withdraw", { from: both.address, settle: true });
    expect(withdrawn.amount).to.equal(ethers.parseEther("1"));
    for (const id of [jobId, late.jobId]) expect((await escrow.jobState(id)).status).to.not.equal(JobStatus.Voting);
    expect(await staking.unsettledCommitteesFor(both.address)).to.deep.equal([0n, 0n]);

    await expect(run("job:draw", { job: "#9", from: requester.address })).to.be.rejectedWith(
      /--job #9: no request #9 \(4 requested\)/,
    );
    await expect(run("job:show", { job: "#x" })).to.be.rejectedWith(/--job #x: after # comes a request number/);
  });

  it("fail clearly without a deployment record, or with one for another chain", async function () {
    await expect(hre.run("model:list", { deployment: path.join(dir, "missing.json") })).to.be.rejectedWith(
      /cannot read deployment record .*missing\.json[\s\S]*deploy-protocol/,
    );
    const other = path.join(dir, "other-chain.json");
    writeFileSync(other, JSON.stringify({ ...deployment, chainId: 11155111 }));
    await expect(hre.run("model:list", { deployment: other })).to.be.rejectedWith(
      /is a deployment on chain 11155111, but network "hardhat" is chain 31337/,
    );
  });

  it("randomness:deploy-vrf deploys a VrfRandomness the escrow may request seeds from, and refuses bad settings", async function () {
    const [governance] = await ethers.getSigners();
    const coordinator = await ethers.deployContract("MockVrfCoordinator");
    const base = {
      coordinator: await coordinator.getAddress(),
      keyHash: ethers.id("gas lane"),
      subId: "42",
      from: governance.address,
    };
    await expect(run("randomness:deploy-vrf", { ...base, keyHash: "0x12" })).to.be.rejectedWith(
      /--key-hash: "0x12" is not 32 bytes in hex/,
    );
    await expect(run("randomness:deploy-vrf", { ...base, subId: "x" })).to.be.rejectedWith(
      /--sub-id: "x" is not a whole number/,
    );
    await expect(run("randomness:deploy-vrf", { ...base, confirmations: "0" })).to.be.rejectedWith(
      /--confirmations: 0 is outside 1..200/,
    );
    await expect(run("randomness:deploy-vrf", { ...base, coordinator: worker.address })).to.be.rejectedWith(
      /--coordinator: .* has no code/,
    );
    const view = await run<VrfSourceView>("randomness:deploy-vrf", { ...base, callbackGas: "150000", native: true });
    const source = await ethers.getContractAt("VrfRandomness", view.source);
    expect(view.escrow).to.equal(await escrow.getAddress());
    expect(await source.isRequester(view.escrow)).to.equal(true);
    expect(await source.owner()).to.equal(governance.address);
    expect(await source.coordinator()).to.equal(base.coordinator);
    const config = await source.vrfConfig();
    expect([
      config.keyHash,
      config.subId,
      config.requestConfirmations,
      config.callbackGasLimit,
      config.nativePayment,
    ]).to.deep.equal([base.keyHash, 42n, 3n, 150_000n, true]);
  });

  // Last: it moves the clock past the unbonding period.
  it("randomness:show, randomness:announce, randomness:activate and escrow:announce (governance)", async function () {
    const [governance] = await ethers.getSigners();
    const original = deployment.contracts.randomness.address;
    const shown = await run<RandomnessView>("randomness:show");
    expect(shown).to.deep.equal({ current: original, next: ethers.ZeroAddress, readyAt: 0 });

    await expect(run("randomness:announce", { source: "0x1234" })).to.be.rejectedWith(
      /--source 0x1234 is not an address/,
    );
    await expect(run("randomness:announce", { source: worker.address, from: governance.address })).to.be.rejectedWith(
      /announceRandomnessSource failed: JobEscrowRandomnessSourceUnusable\(.*\): a randomness source must be a contract whose seedOf\(uint64 ticket\) returns/,
    );
    const next = await ethers.deployContract("BlockhashRandomness");
    await expect(
      run("randomness:announce", { source: await next.getAddress(), from: worker.address }),
    ).to.be.rejectedWith(/OwnableUnauthorizedAccount/);
    const announced = await run<RandomnessView>("randomness:announce", {
      source: await next.getAddress(),
      from: governance.address,
    });
    expect(announced.next).to.equal(await next.getAddress());
    expect(announced.readyAt).to.equal(
      (await time.latest()) + Number(await staking.exitNotice()) + Number(await staking.unbondingPeriod()) + 86_400,
    );
    await expect(run("randomness:activate", { from: governance.address })).to.be.rejectedWith(
      /activateRandomnessSource failed: JobEscrowRandomnessNoticePending/,
    );
    await time.increaseTo(announced.readyAt);
    const activated = await run<RandomnessView>("randomness:activate", { from: governance.address });
    expect(activated).to.deep.equal({ current: await next.getAddress(), next: ethers.ZeroAddress, readyAt: 0 });
    expect(await escrow.randomnessSource()).to.equal(await next.getAddress());

    await expect(run("escrow:announce", { escrow: worker.address, from: governance.address })).to.be.rejectedWith(
      /announceEscrow failed: VerifierStakingEscrowWithoutCode/,
    );
    const notice = await run<{ readyAt: number; expiresAt: number }>("escrow:announce", {
      escrow: await next.getAddress(),
      from: governance.address,
    });
    expect(notice.readyAt).to.equal(Number(await staking.escrowReadyAt(await next.getAddress())));
    expect(notice.expiresAt).to.be.greaterThan(notice.readyAt);
  });

  it("model:publish --mode proven and model:version register a profile file's weightsRoot, and refuse other files", async function () {
    const profile = path.join(dir, "profile.onnx");
    const profileV2 = path.join(dir, "profile-v2.onnx");
    writeFileSync(profile, buildProfileModel(GOLDEN_MODEL));
    const v2Layers = GOLDEN_MODEL.layers.map((l, k) => (k === 0 ? { ...l, bias: l.bias.map((b) => b + 1) } : l));
    writeFileSync(profileV2, buildProfileModel({ ...GOLDEN_MODEL, layers: v2Layers }));
    const count = await registry.modelCount();

    // A file outside the profile is refused with the checker's reason before any transaction: the graph's input
    // here, a node (named, with its index) below.
    await expect(
      run("model:publish", { file: files.mlp, price: "1", mode: "proven", committee: 1, from: requester.address }),
    ).to.be.rejectedWith(
      /is not an integer profile model, which Proven mode needs: the input "features" is float32, the profile needs int8/,
    );
    const tampered = path.join(dir, "profile-tampered.onnx");
    const proto = onnx.ModelProto.decode(buildProfileModel(GOLDEN_MODEL));
    proto.graph!.node![5].opType = "Mul"; // layer 1's Div
    writeFileSync(tampered, onnx.ModelProto.encode(proto).finish());
    await expect(
      run("model:publish", { file: tampered, price: "1", mode: "proven", committee: 1, from: requester.address }),
    ).to.be.rejectedWith(/Proven mode needs: node #5 "layer1\/quotient" \(Mul\): layer 1: expected Div/);
    expect(await registry.modelCount()).to.equal(count);

    const published = await run<PublishedModel>("model:publish", {
      file: profile,
      price: "1",
      mode: "proven",
      committee: 1,
      from: requester.address,
    });
    const root = weightsRoot(GOLDEN_MODEL.layers);
    expect(published.weightsRoot).to.equal(root);
    const modelId = published.modelId;
    expect((await registry.getModel(modelId)).terms.mode).to.equal(VerificationMode.Proven);
    expect((await registry.getVersion(modelId, 1)).weightsRoot).to.equal(root);

    // A new version of a Proven model: the same refusal, then the new file's root.
    await expect(
      run("model:version", { model: String(modelId), file: tampered, from: requester.address }),
    ).to.be.rejectedWith(/Proven mode needs: node #5 "layer1\/quotient" \(Mul\)/);
    expect((await registry.getModel(modelId)).versionCount).to.equal(1n);
    const version = await run<PublishedModel>("model:version", {
      model: String(modelId),
      file: profileV2,
      from: requester.address,
    });
    expect(version.weightsRoot).to.equal(weightsRoot(v2Layers)).and.not.equal(root);
    expect(await registry.getWeightsRoot(modelId, 2)).to.equal(version.weightsRoot);

    // Other modes: a profile file is published with its root (the model may switch to Proven later), any other file
    // with none (model 1 above, an ordinary MLP).
    const again = await run<PublishedModel>("model:publish", { file: profile, price: "1", from: owner.address });
    expect(again.weightsRoot).to.equal(root);
    expect(await registry.getWeightsRoot(again.modelId, 1)).to.equal(root);
    expect(await registry.getWeightsRoot(1, 1)).to.equal(ethers.ZeroHash);

    const listed = await run<ModelView[]>("model:list");
    expect(listed.find((m) => m.modelId === modelId)!.latest).to.deep.include({
      version: 2,
      weightsRoot: version.weightsRoot,
      contentHash: ethers.sha256(buildProfileModel({ ...GOLDEN_MODEL, layers: v2Layers })),
    });
    expect(listed.find((m) => m.modelId === modelId)!.terms.mode).to.equal("proven");
    expect(listed[0].latest.weightsRoot).to.equal(ethers.ZeroHash);
  });

  it("job:prove proves a wrong Proven trace in one transaction, finds an honest one consistent; job:show shows the proof", async function () {
    const layers = GOLDEN_MODEL.layers.map((l, k) => (k === 1 ? { ...l, bias: l.bias.map((b) => b - 2) } : l));
    const model = { ...GOLDEN_MODEL, layers };
    const file = path.join(dir, "profile-prove.onnx");
    writeFileSync(file, buildProfileModel(model));
    const published = await run<PublishedModel>("model:publish", {
      file,
      price: "1",
      mode: "proven",
      committee: 1,
      from: owner.address,
    });
    const inputFile = path.join(dir, "proven-input.json");
    const x0 = Int8Array.from([5, -3, 127, -128]);
    writeFileSync(
      inputFile,
      JSON.stringify({ tensors: [{ name: model.inputName, type: "int8", shape: [1, 4], data: [[...x0]] }] }),
    );
    const request = async () => {
      const r = await run<RequestedJob>("job:request", {
        model: String(published.modelId),
        input: inputFile,
        from: requester.address,
      });
      const [event] = await escrow.queryFilter(escrow.filters.JobRequested(r.jobId));
      return { id: r.jobId, job: toJob(event.args.job) };
    };
    const honest = runReference(layers, x0).vectors;
    const cheat = honest.map((v) => Int8Array.from(v));
    cheat[2][0] = cheat[2][0] === 127 ? 126 : cheat[2][0] + 1; // layer 2, neuron 0; the output left as it was

    const wrong = await request();
    await escrow.connect(worker).submitResult(wrong.job, traceOf(model.outputName, cheat).output);
    const proven = await run<ProofResult>("job:prove", { job: ethers.toBeHex(wrong.id), from: verifier.address });
    expect(proven).to.deep.include({ jobId: wrong.id, result: "proven" });
    expect(proven.fraud).to.deep.equal({
      kind: "neuron",
      layer: 2,
      index: 0,
      posted: cheat[2][0],
      expected: honest[2][0],
    });
    expect((await escrow.jobState(wrong.id)).status).to.equal(JobStatus.Rejected);
    const shown = await run<JobView>("job:show", { job: ethers.toBeHex(wrong.id) });
    expect(shown.fraudProof).to.deep.include({ prover: verifier.address, fraud: "neuron", layer: 2, index: 0 });
    expect(shown.settlement!.outcome).to.equal("Rejected");
    expect(shown.output!.map((t) => t.name)).to.deep.equal(["scores", "scores/00001", "scores/00002"]);
    await expect(run("job:prove", { job: ethers.toBeHex(wrong.id), from: verifier.address })).to.be.rejectedWith(
      /is Rejected: only a submitted result can be proven wrong/,
    );

    const right = await request();
    await escrow.connect(worker).submitResult(right.job, traceOf(model.outputName, honest).output);
    const consistent = await run<ProofResult>("job:prove", { job: ethers.toBeHex(right.id), from: verifier.address });
    expect(consistent).to.deep.equal({ jobId: right.id, result: "consistent" });
    expect((await escrow.jobState(right.id)).status).to.equal(JobStatus.Submitted);
    await expect(run("job:prove", { job: "#1", from: verifier.address })).to.be.rejectedWith(
      /is a none job: only Proven jobs are proven wrong by a fraud proof/,
    );
  });
});

describe("tensors as JSON", function () {
  it("reads every element type, nested data, int64 as strings or numbers, bool as true/false or 0/1", function () {
    const tensors = tensorsFromJson({
      tensors: [
        {
          name: "f",
          type: "float64",
          shape: [2, 2],
          data: [
            [1.5, -2],
            [0, 4],
          ],
        },
        { name: "i", type: "int64", shape: [3], data: ["-9223372036854775808", 7, "9223372036854775807"] },
        { name: "b", type: "bool", shape: [3], data: [true, 0, 1] },
        { name: "u", type: "uint8", shape: [1], data: [255] },
        { name: "q", type: "int8", shape: [3], data: [-128, 0, 127] },
      ],
    });
    expect(tensors[4].data).to.deep.equal(new Int8Array([-128, 0, 127]));
    expect(tensorsToJson(tensors)[4]).to.deep.equal({ name: "q", type: "int8", shape: [3], data: [-128, 0, 127] });
    expect(tensors[1].data).to.deep.equal(new BigInt64Array([-(2n ** 63n), 7n, 2n ** 63n - 1n]));
    expect(tensors[2].data).to.deep.equal(new Uint8Array([1, 0, 1]));
    expect(tensorsToJson(tensors)[1].data).to.deep.equal(["-9223372036854775808", "7", "9223372036854775807"]);
    expect(tensorsToJson(tensors)[2].data).to.deep.equal([true, false, true]);
    expect(tensorsToJson(tensors)[0]).to.deep.equal({
      name: "f",
      type: "float64",
      shape: [2, 2],
      data: [1.5, -2, 0, 4],
    });
  });

  it("names the bad field", function () {
    const bad = (tensor: object) => () => tensorsFromJson({ tensors: [tensor] });
    expect(() => tensorsFromJson({ inputs: [] })).to.throw(TensorJsonError, /expected \{ "tensors"/);
    expect(bad({ name: "x", type: "int64", shape: [1], data: [1.5] })).to.throw(/tensors\[0\] \("x"\)\.data\[0\]/);
    expect(bad({ name: "x", type: "uint8", shape: [1], data: [256] })).to.throw(/256 is not a uint8/);
    expect(bad({ name: "x", type: "int8", shape: [1], data: [128] })).to.throw(
      /128 is not a int8 \(an integer in -128\.\.127\)/,
    );
    expect(bad({ name: "x", type: "int8", shape: [1], data: [-129] })).to.throw(/-129 is not a int8/);
    expect(bad({ name: "x", type: "bool", shape: [1], data: [2] })).to.throw(/must be true, false, 0 or 1/);
    expect(bad({ name: "x", type: "float32", shape: [-1], data: [] })).to.throw(/shape: must be an array/);
  });
});
