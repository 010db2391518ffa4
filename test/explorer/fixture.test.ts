/**
 * The explorer's test infrastructure checked against the chain itself: every job of explorerChainFixture in the
 * state, outcome and money the fixture promises (read from the escrow and from its events, not from the fixture's
 * own bookkeeping), the open job moved on by its controls, and the JSON-RPC endpoint reached from a page of
 * another origin in headless Chromium (CORS), which must not skip when Chromium cannot start.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { ethers } from "hardhat";
import { EventLog, JsonRpcProvider, keccak256, getBytes, ZeroAddress, ZeroHash } from "ethers";
import type { Browser } from "puppeteer-core";
import { decodeTensors, encodeTensors } from "../../packages/sdk/src/codec";
import { DeploymentSchema } from "../../packages/sdk/src/deployment-record";
import { LogReader } from "../../packages/sdk/src/events";
import { ProtocolHistory } from "../../packages/sdk/src/history";
import { jobDomainOf, jobIdOf, toSettlement } from "../../packages/sdk/src/job";
import { loadModel, runModel } from "../../packages/sdk/src/onnx";
import { JobOutcome, JobStatus, VerificationMode, VoteState } from "../../packages/sdk/src/params";
import { tensorsToJson } from "../../packages/sdk/src/tensor-json";
import { parseProfileModel, runReference, traceOf } from "../../src/proven";
import { launchBrowser, openPage, expectNoConsoleErrors, screenshot } from "../fixtures/browser";
import { underCoverage } from "../fixtures/coverage";
import {
  explorerChainFixture,
  JOB_KEYS,
  MODEL_KEYS,
  OPERATOR_STAKE,
  type ExplorerChain,
} from "../fixtures/explorer-chain";

/** A page that POSTs one JSON-RPC call to `?url=` and shows the answer; `body[data-done]` once it has one. */
const RPC_PAGE = `<!doctype html>
<html>
  <head><meta charset="utf-8"><link rel="icon" href="data:,"><title>JSON-RPC from a page</title></head>
  <body>
    <h1>eth_chainId from another origin</h1>
    <pre id="answer">waiting</pre>
    <script>
      const url = new URLSearchParams(location.search).get("url");
      const show = (text, done) => {
        document.getElementById("answer").textContent = text;
        document.body.dataset.done = done;
      };
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      })
        .then((response) => response.json())
        .then((answer) => show(JSON.stringify(answer), "answered"))
        .catch((error) => show(String(error), "refused"));
    </script>
  </body>
</html>`;

/** Serves `handler` on a free port of 127.0.0.1; returns the server and its origin. */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; origin: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const close = (server: Server | undefined) =>
  new Promise<void>((r) => {
    if (!server) return r();
    server.close(() => r());
    server.closeAllConnections();
  });

describe("explorerChainFixture", function () {
  this.timeout(120_000);
  let chain: ExplorerChain;
  let reader: LogReader;

  before(async function () {
    // As the worker's service tests: the protocol's gas estimates do not fit instrumented bytecode.
    if (underCoverage()) this.skip();
    chain = await explorerChainFixture();
    reader = new LogReader(ethers.provider);
  });
  after(async () => chain?.close());

  /** The escrow's events named `name` since the deployment, decoded. */
  const events = async (name: string): Promise<EventLog[]> =>
    (await reader.events(chain.escrow, name, chain.deployment.startBlock)).filter((e) => e instanceof EventLog);

  describe("the deployment", function () {
    it("is served over JSON-RPC as a localhost record of chain 31337 that DeploymentSchema accepts", async function () {
      const { deployment } = chain;
      expect(DeploymentSchema.parse(deployment)).to.deep.equal(deployment);
      expect(deployment.network).to.equal("localhost");
      expect(deployment.chainId).to.equal(31337);
      const provider = new JsonRpcProvider(chain.rpcUrl, undefined, { staticNetwork: true });
      try {
        expect((await provider.getNetwork()).chainId).to.equal(31337n);
        for (const [name, contract] of Object.entries(deployment.contracts)) {
          expect(await provider.getCode(contract.address), name).to.not.equal("0x");
          expect(contract.block, name).to.be.at.least(deployment.startBlock);
        }
        const escrow = chain.escrow.connect(provider);
        expect(await escrow.jobCount()).to.equal(BigInt(JOB_KEYS.length));
        expect(await escrow.registry()).to.equal(deployment.contracts.registry.address);
        expect(await escrow.staking()).to.equal(deployment.contracts.staking.address);
        expect(await escrow.randomnessSource()).to.equal(deployment.contracts.randomness.address);
        expect(await chain.staking.token()).to.equal(deployment.contracts.token.address);
      } finally {
        provider.destroy();
      }
    });

    it("has four models, one per mode, each version the sha256 of its file", async function () {
      expect(await chain.registry.modelCount()).to.equal(BigInt(MODEL_KEYS.length));
      const modes = MODEL_KEYS.map((key) => chain.models[key].mode);
      expect(modes).to.have.members(Object.keys(VerificationMode));
      for (const key of MODEL_KEYS) {
        const m = chain.models[key];
        const version = await chain.registry.getVersion(m.id, m.version);
        expect(version.contentHash, key).to.equal(ethers.sha256(m.bytes));
        expect(version.uri, key).to.equal(m.uri);
        expect(version.weightsRoot, key).to.equal(m.weightsRoot);
        expect(version.ioSignatureHash === ZeroHash, key).to.equal(m.signature === undefined);
        const model = await chain.registry.getModel(m.id);
        expect(model.terms.mode, key).to.equal(VerificationMode[m.mode]);
        expect(model.owner, key).to.equal(chain.accounts.modelOwner.address);
      }
      expect(chain.models.digits.weightsRoot).to.not.equal(ZeroHash);
    });

    it("has two staked workers and five opted-in verifiers", async function () {
      for (const worker of chain.operators.workers) {
        const account = await chain.staking.accountOf(worker);
        expect(account.active).to.be.greaterThan(0n);
        expect(account.verifier).to.equal(false);
      }
      for (const verifier of chain.operators.verifiers) {
        expect(await chain.staking.verifierWeightOf(verifier)).to.be.greaterThan(0n);
      }
    });
  });

  describe("the jobs", function () {
    it("are requested in order, one per key, each id the hash of its record", async function () {
      const domain = await jobDomainOf(chain.escrow);
      const requested = await events("JobRequested");
      expect(requested.map((e) => e.args.jobId)).to.deep.equal(JOB_KEYS.map((key) => chain.jobs[key].id));
      JOB_KEYS.forEach((key, i) => {
        const job = chain.jobs[key];
        expect(job.nonce, key).to.equal(BigInt(i + 1));
        expect(jobIdOf(job.record, domain), key).to.equal(job.id);
        expect(job.modelId, key).to.equal(chain.models[job.model].id);
        expect(job.mode, key).to.equal(chain.models[job.model].mode);
        expect(requested[i].args.requester, key).to.equal(job.requester);
        expect(requested[i].args.input, key).to.equal(job.input.bytes);
        expect(keccak256(job.input.bytes), key).to.equal(job.record.inputHash);
        expect(job.input.tensors, key).to.deep.equal(tensorsToJson(decodeTensors(getBytes(job.input.bytes))));
      });
    });

    it("cover every mode and every ending the fixture promises", async function () {
      const modes = new Set(JOB_KEYS.map((key) => chain.jobs[key].mode));
      expect([...modes]).to.have.members(Object.keys(VerificationMode));
      const endings = JOB_KEYS.map((key) => `${chain.jobs[key].status}/${chain.jobs[key].outcome ?? "-"}`);
      expect(new Set(endings)).to.deep.equal(
        new Set(["Settled/Accepted", "Rejected/Rejected", "Refunded/Expired", "Refunded/Abandoned", "Requested/-"]),
      );
    });

    it("are each in the status and with the worker the fixture promises (escrow.jobState)", async function () {
      for (const key of JOB_KEYS) {
        const job = chain.jobs[key];
        const state = await chain.escrow.jobState(job.id);
        expect(state.status, key).to.equal(BigInt(JobStatus[job.status]));
        expect(state.worker, key).to.equal(job.worker ?? ZeroAddress);
      }
    });

    it("ended with the outcome and the settlement their JobSettled carries", async function () {
      const settled = new Map((await events("JobSettled")).map((e) => [e.args.jobId as bigint, e]));
      for (const key of JOB_KEYS) {
        const job = chain.jobs[key];
        const event = settled.get(job.id);
        if (job.outcome === undefined) {
          expect(event, key).to.equal(undefined);
          continue;
        }
        expect(event, key).to.not.equal(undefined);
        expect(event!.args.outcome, key).to.equal(BigInt(JobOutcome[job.outcome]));
        expect(toSettlement(event!.args.settlement), key).to.deep.equal(job.settlement);
      }
    });

    it("posted the outputs the fixture lists: each hash keccak256 of the posted bytes, the tensors decoded from them", async function () {
      const submitted = new Map((await events("ResultSubmitted")).map((e) => [e.args.jobId as bigint, e]));
      for (const key of JOB_KEYS) {
        const job = chain.jobs[key];
        const event = submitted.get(job.id);
        if (job.output === undefined) {
          expect(event, key).to.equal(undefined);
          continue;
        }
        const posted = event!.args.output as string;
        expect(posted, key).to.equal(job.output.bytes);
        expect(event!.args.outputHash, key).to.equal(keccak256(posted));
        expect(job.output.hash, key).to.match(/^0x[0-9a-f]{64}$/);
        expect(job.output.hash, key).to.equal(keccak256(posted));
        expect(event!.args.worker, key).to.equal(job.worker);
        expect(job.output.tensors, key).to.deep.equal(tensorsToJson(decodeTensors(getBytes(posted))));
        // A None job without a callback keeps no output hash in storage; every other one does.
        const stored = await chain.escrow.outputHash(job.id);
        expect(stored, key).to.equal(job.mode === "None" ? ZeroHash : job.output.hash);
      }
    });

    it("hold outputs ONNX Runtime computes from the models' files, except the cheater's", async function () {
      const sessions = new Map<string, Awaited<ReturnType<typeof loadModel>>>();
      try {
        for (const key of JOB_KEYS) {
          const job = chain.jobs[key];
          if (job.output === undefined) continue;
          const model = chain.models[job.model];
          const input = decodeTensors(getBytes(job.input.bytes));
          let honest: string;
          if (job.mode === "Proven") {
            // The reference executor, which ONNX Runtime's trace was checked against when it was posted.
            const profile = parseProfileModel(model.bytes).model;
            const vectors = runReference(profile.layers, input[0].data as Int8Array).vectors;
            honest = ethers.hexlify(traceOf(profile.outputName, vectors).output);
            const names = decodeTensors(getBytes(job.output.bytes)).map((t) => t.name);
            expect(names, key).to.deep.equal([
              profile.outputName,
              `${profile.outputName}/00001`,
              `${profile.outputName}/00002`,
            ]);
          } else {
            if (!sessions.has(model.key)) sessions.set(model.key, await loadModel(model.bytes));
            honest = ethers.hexlify(encodeTensors(await runModel(sessions.get(model.key)!, input)));
          }
          const cheated = job.worker === chain.accounts.cheater.address;
          expect(job.output.bytes === honest, key).to.equal(!cheated);
          if (cheated) expect(job.honestOutput?.bytes, key).to.equal(honest);
        }
      } finally {
        for (const s of sessions.values()) await s.session.release();
      }
    });

    it("seat the committees the fixture lists, each member's revealed vote as listed", async function () {
      const revealed = await events("VoteRevealed");
      for (const key of JOB_KEYS) {
        const job = chain.jobs[key];
        const seats = await chain.escrow.committee(job.id);
        expect(
          seats.map((s) => s.verifier),
          key,
        ).to.deep.equal(job.committee.map((v) => v.verifier));
        expect(
          seats.map((s) => Number(s.vote)),
          key,
        ).to.deep.equal(job.committee.map((v) => (v.agree ? VoteState.Agreed : VoteState.Disagreed)));
        const votes = revealed.filter((e) => e.args.jobId === job.id).map((e) => [e.args.verifier, e.args.agree]);
        expect(votes, key).to.have.deep.members(job.committee.map((v) => [v.verifier, v.agree]));
      }
      const drawn = JOB_KEYS.filter((key) => chain.jobs[key].committee.length > 0);
      expect(drawn).to.deep.equal(["challengeLost", "challengeWon", "committee", "committeeCheat"]);
      expect(chain.jobs.challengeLost.committee.map((v) => v.agree)).to.deep.equal([true, true, false]);
    });

    it("were challenged by the challengers the fixture lists", async function () {
      const challenged = await events("ResultChallenged");
      const listed = JOB_KEYS.filter((key) => chain.jobs[key].challenger !== undefined);
      expect(challenged.map((e) => e.args.jobId)).to.deep.equal(listed.map((key) => chain.jobs[key].id));
      for (const e of challenged) {
        const key = listed.find((k) => chain.jobs[k].id === e.args.jobId)!;
        expect(e.args.challenger, key).to.equal(chain.jobs[key].challenger);
        expect((await chain.escrow.challengeOf(e.args.jobId)).challenger, key).to.equal(chain.jobs[key].challenger);
      }
    });

    it("slashed what the fixture lists, in the transactions that ended those jobs (StakeSlashed)", async function () {
      const settled = new Map((await events("JobSettled")).map((e) => [e.args.jobId as bigint, e]));
      const staking = chain.staking;
      const stakingAddress = chain.deployment.contracts.staking.address.toLowerCase();
      for (const key of JOB_KEYS) {
        const job = chain.jobs[key];
        const event = settled.get(job.id);
        if (event === undefined) continue;
        const receipt = (await ethers.provider.getTransactionReceipt(event.transactionHash))!;
        const slashes = receipt.logs
          .filter((l) => l.address.toLowerCase() === stakingAddress)
          .map((l) => staking.interface.parseLog(l))
          .filter((p) => p?.name === "StakeSlashed")
          .map((p) => ({ account: p!.args.account, recipient: p!.args.recipient, amount: p!.args.amount }));
        expect(slashes, key).to.deep.equal(job.slashes);
        const slashedTotal = job.slashes.reduce((sum, s) => sum + s.amount, 0n);
        expect(job.settlement!.slashed, key).to.equal(
          job.slashes.filter((s) => s.account === job.worker).reduce((sum, s) => sum + s.amount, 0n),
        );
        expect(slashedTotal > 0n, key).to.equal(
          ["challengeLost", "challengeWon", "committeeCheat", "provenFraud", "abandoned"].includes(key),
        );
      }
      // The cheater lost the whole collateral of its three wrong results, and a share of the abandoned job's.
      const { cheater } = chain.accounts;
      for (const key of ["challengeWon", "committeeCheat", "provenFraud"] as const) {
        expect(chain.jobs[key].slashes, key).to.have.length(1);
        expect(chain.jobs[key].slashes[0].account, key).to.equal(cheater.address);
        expect(chain.jobs[key].slashes[0].amount, key).to.equal(chain.jobs[key].record.collateral);
      }
      const { timeoutSlashBps, votePenalty } = chain.deployment.params;
      const abandoned = chain.jobs.abandoned;
      expect(abandoned.slashes[0].account).to.equal(cheater.address);
      expect(abandoned.slashes[0].amount).to.equal((abandoned.record.collateral * BigInt(timeoutSlashBps)) / 10_000n);
      const lost = ["challengeWon", "committeeCheat", "provenFraud", "abandoned"] as const;
      const total = lost.reduce((sum, key) => sum + chain.jobs[key].slashes[0].amount, 0n);
      expect((await staking.accountOf(cheater.address)).active).to.equal(OPERATOR_STAKE - total);
      // The member that voted against the majority paid the vote penalty.
      const dissenter = chain.jobs.challengeLost.committee.find((v) => !v.agree)!.verifier;
      const penalty = chain.jobs.challengeLost.slashes;
      expect(penalty.map((s) => [s.account, s.amount])).to.deep.equal([[dissenter, BigInt(votePenalty)]]);
    });

    it("convicted the wrong trace with one FraudProven from the prover", async function () {
      const proofs = await events("FraudProven");
      expect(proofs).to.have.length(1);
      const [proof] = proofs;
      const job = chain.jobs.provenFraud;
      expect(proof.args.jobId).to.equal(job.id);
      expect(proof.args.prover).to.equal(chain.accounts.prover.address);
      expect(job.fraudProof).to.deep.equal({
        prover: chain.accounts.prover.address,
        kind: Number(proof.args.fraud),
        layer: Number(proof.args.layer),
        index: Number(proof.args.index),
      });
      expect(job.fraudProof!.kind).to.equal(3); // a neuron's value
      const settled = (await events("JobSettled")).find((e) => e.args.jobId === job.id)!;
      expect(settled.transactionHash).to.equal(proof.transactionHash);
    });
  });

  describe("read through the SDK's ProtocolHistory (the explorer's and job:show's reader)", function () {
    let history: ProtocolHistory;
    before(async function () {
      const provider = new JsonRpcProvider(chain.rpcUrl, undefined, { staticNetwork: true });
      history = await ProtocolHistory.connect(provider, chain.deployment);
      await history.sync();
    });
    after(() => (history.provider as JsonRpcProvider).destroy());

    it("gives every job's record as the fixture promises: status, outcome, worker, tensors and hashes", async function () {
      for (const key of JOB_KEYS) {
        const j = chain.jobs[key];
        const r = (await history.job(j.id))!;
        expect([r.nonce, r.status, r.outcome, r.mode, r.worker], key).to.deep.equal([
          j.nonce,
          j.status,
          j.outcome,
          j.mode,
          j.output ? j.worker : r.worker, // a claim without a submission names the claimer too
        ]);
        expect([r.input.hash, r.input.tensors], `${key} input`).to.deep.equal([j.input.hash, j.input.tensors]);
        expect(r.output && [r.output.hash, r.output.tensors], `${key} output`).to.deep.equal(
          j.output && [j.output.hash, j.output.tensors],
        );
        expect(r.model!.contentHash, key).to.equal(chain.models[j.model].contentHash);
      }
    });

    it("gives each committee's seats and revealed votes, the challenges, the slashes and the fraud proof", async function () {
      for (const key of JOB_KEYS) {
        const j = chain.jobs[key];
        const r = (await history.job(j.id))!;
        expect(
          r.committee.map((s) => ({ seat: s.seat, verifier: s.verifier, agree: s.agree })),
          key,
        ).to.deep.equal(j.committee);
        expect(r.challenge?.challenger, key).to.equal(j.challenger);
        expect(
          r.slashes.map((s) => ({ account: s.account, recipient: s.recipient, amount: s.amount })),
          key,
        ).to.deep.equal(j.slashes);
        expect(
          r.fraudProof && { prover: r.fraudProof.prover, layer: r.fraudProof.layer, index: r.fraudProof.index },
          key,
        ).to.deep.equal(
          j.fraudProof && { prover: j.fraudProof.prover, layer: j.fraudProof.layer, index: j.fraudProof.index },
        );
        if (j.settlement) expect(toSettlement(r.settlement!), key).to.deep.equal(j.settlement);
      }
      expect(history.jobIdOfNonce(chain.jobs.committeeCheat.nonce)).to.equal(chain.jobs.committeeCheat.id);
    });
  });

  describe("the open job's controls", function () {
    it("move it Requested → Claimed → Submitted → Settled, posting the output they announce", async function () {
      const { open, escrow } = chain;
      const status = async () => Number((await escrow.jobState(open.job.id)).status);
      expect(await status()).to.equal(JobStatus.Requested);
      await open.claim();
      expect(await status()).to.equal(JobStatus.Claimed);
      expect((await escrow.jobState(open.job.id)).worker).to.equal(open.worker);
      const submitted = await open.submit();
      expect(await status()).to.equal(JobStatus.Submitted);
      const posted = submitted.logs
        .map((l) => escrow.interface.parseLog(l))
        .find((p) => p?.name === "ResultSubmitted")!;
      expect(posted.args.output).to.equal(open.output.bytes);
      expect(posted.args.outputHash).to.equal(open.output.hash);
      const settled = await open.settle();
      expect(await status()).to.equal(JobStatus.Settled);
      const outcome = settled.logs.map((l) => escrow.interface.parseLog(l)).find((p) => p?.name === "JobSettled")!;
      expect(outcome.args.outcome).to.equal(BigInt(JobOutcome.Accepted));
    });
  });

  describe("in headless Chromium", function () {
    let browser: Browser | undefined;
    let pages: Server | undefined;
    let noCors: Server | undefined;
    let pageOrigin: string;
    let noCorsOrigin: string;

    before(async function () {
      ({ server: pages, origin: pageOrigin } = await serve((_req, res) => {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(RPC_PAGE);
      }));
      // A JSON-RPC look-alike that answers without any CORS header: what a browser must refuse to read.
      ({ server: noCors, origin: noCorsOrigin } = await serve((req, res) => {
        if (req.method === "OPTIONS") return void res.writeHead(204).end();
        res.writeHead(200, { "content-type": "application/json" }).end('{"jsonrpc":"2.0","id":1,"result":"0x1"}');
      }));
      browser = await launchBrowser();
    });
    after(async function () {
      await browser?.close();
      await close(pages);
      await close(noCors);
    });

    it("answers eth_chainId to a page of another origin (CORS), with no console error", async function () {
      const { page, problems } = await openPage(browser!, `${pageOrigin}/?url=${encodeURIComponent(chain.rpcUrl)}`);
      await page.waitForSelector("body[data-done]");
      const answer = await page.$eval("#answer", (e) => e.textContent);
      expect(await page.$eval("body", (e) => e.dataset.done), answer ?? "").to.equal("answered");
      expect(JSON.parse(answer!)).to.deep.equal({ jsonrpc: "2.0", id: 1, result: "0x7a69" });
      const file = await screenshot(page, "rpc-chain-id");
      expect(file).to.match(/test-output[/\\]explorer[/\\]rpc-chain-id\.png$/);
      expectNoConsoleErrors(problems);
      await page.close();
    });

    it("refuses a page the answer of a server without CORS headers, and records why", async function () {
      const { page, problems } = await openPage(browser!, `${pageOrigin}/?url=${encodeURIComponent(noCorsOrigin)}`);
      await page.waitForSelector("body[data-done]");
      expect(await page.$eval("body", (e) => e.dataset.done)).to.equal("refused");
      // The browser reports the refusal on its console as the fetch fails; the event may trail the page's answer.
      for (let i = 0; i < 100 && !problems.consoleErrors.some((e) => /CORS policy/.test(e)); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(problems.consoleErrors.join("\n")).to.match(/CORS policy/);
      expect(() => expectNoConsoleErrors(problems)).to.throw(/CORS policy/);
      expect(() => expectNoConsoleErrors(problems, [/CORS policy/, /net::ERR_FAILED/])).to.not.throw();
      await page.close();
    });
  });
});
