/**
 * The SDK's client (packages/sdk/src/client.ts) on Hardhat's in-process network: every method, and every error code
 * with its message. A worker's result is the staked worker's own `submitResult`; the model is a real ONNX model
 * (buildMlpClassifier), so that `verify` re-executes it with ONNX Runtime.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  hexlify,
  keccak256,
  sha256,
  toUtf8Bytes,
  Wallet,
  type BlockTag,
  type TransactionReceipt,
  type TransactionRequest,
} from "ethers";
import { JobHandle, TrustMLClient, TrustMLError, type TrustMLErrorCode } from "../../packages/sdk/src/client";
import { decodeTensors, encodeTensors } from "../../packages/sdk/src/codec";
import { writeDeployment } from "../../packages/sdk/src/deployment";
import { formatJobId } from "../../packages/sdk/src/job";
import { jobIdOf } from "../../packages/sdk/src/job";
import { JobStatus, VerificationMode } from "../../packages/sdk/src/params";
import { encodeSignature, signatureInputSize } from "../../packages/sdk/src/signature";
import { toJobTerms } from "../../packages/sdk/src/terms";
import { devWallet } from "../../src/network";
import { clientFixture, features, MLP_SIGNATURE, mlpOutput, type ClientProtocol } from "../fixtures/client";
import { MODEL_URI, PRICE, termsFor } from "../fixtures/protocol";

/** The TrustMLError `promise` rejects with; fails on anything else. */
async function rejection(promise: Promise<unknown>): Promise<TrustMLError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof TrustMLError) return e;
    throw e;
  }
  expect.fail("expected a TrustMLError, but the call succeeded");
}

/** Expects a TrustMLError of `code` whose message is `message` (a string: exactly; a RegExp: matching). */
async function expectError(promise: Promise<unknown>, code: TrustMLErrorCode, message: string | RegExp) {
  const e = await rejection(promise);
  expect(e.code, e.message).to.equal(code);
  if (typeof message === "string") expect(e.message).to.equal(message);
  else expect(e.message).to.match(message);
  return e;
}

/** A job on the MLP requested through the client, with its input. */
async function requested(f: ClientProtocol, row?: number[]) {
  const input = features(row);
  return { input, job: await f.requesterClient.request({ modelId: f.mlp, input }) };
}

/** The staked worker posts `output` for the job (a None job settles in this submission). */
async function submit(f: ClientProtocol, job: JobHandle, output: Uint8Array): Promise<void> {
  await (await f.escrow.connect(f.worker).submitResult(job.job, output)).wait();
}

const nonceOf = (f: ClientProtocol) => ethers.provider.getTransactionCount(f.requester.address);

/** The in-process provider with some of its methods replaced (and `provider`, which it has, pointing to the copy). */
function providerWith(replaced: { call?: typeof ethers.provider.call; getBlockNumber?: () => Promise<number> }) {
  const copy: typeof ethers.provider = new Proxy(ethers.provider, {
    get(target, key) {
      if (key === "provider") return copy;
      if (key in replaced) return replaced[key as keyof typeof replaced];
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return copy;
}

describe("TrustMLClient (@trustml/sdk) on the in-process network", function () {
  describe(".connect", function () {
    it("connects with a deployment record, as an object or as a file, from the record's start block", async function () {
      const f = await loadFixture(clientFixture);
      const dir = mkdtempSync(path.join(os.tmpdir(), "trustml-client-"));
      try {
        const file = path.join(dir, "localhost.json");
        writeDeployment(file, { ...f.deployment, startBlock: 3 });
        const fromFile = await TrustMLClient.connect({ runner: f.requester, deployment: file });
        expect(fromFile.escrow.target).to.equal(await f.escrow.getAddress());
        expect(fromFile.registry.target).to.equal(await f.registry.getAddress());
        expect(fromFile.staking!.target).to.equal(await f.staking.getAddress());
        expect(fromFile.token.target).to.equal(await f.token.getAddress());
        expect(fromFile.fromBlock).to.equal(3);
        const overridden = await TrustMLClient.connect({ runner: f.requester, deployment: file, fromBlock: 0 });
        expect(overridden.fromBlock).to.equal(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("connects with addresses alone, reading the token from the escrow", async function () {
      const f = await loadFixture(clientFixture);
      const client = await TrustMLClient.connect({
        runner: ethers.provider,
        addresses: { registry: await f.registry.getAddress(), escrow: await f.escrow.getAddress() },
      });
      expect(client.token.target).to.equal(await f.token.getAddress());
      expect(client.staking).to.equal(null);
      expect(client.fromBlock).to.equal(0);
      expect((await client.model(f.mlp)).owner).to.equal(f.modelOwner.address);
    });

    it("fails with WRONG_CHAIN for a deployment record of another chain", async function () {
      const f = await loadFixture(clientFixture);
      await expectError(
        TrustMLClient.connect({ runner: f.requester, deployment: { ...f.deployment, chainId: 11_155_111 } }),
        "WRONG_CHAIN",
        "the deployment record is for chain 11155111 (hardhat), the provider is on chain 31337",
      );
    });

    it("fails with WRONG_CHAIN when no contract is at an address", async function () {
      const f = await loadFixture(clientFixture);
      const nobody = f.other.address;
      await expectError(
        TrustMLClient.connect({ runner: f.requester, addresses: { registry: nobody, escrow: nobody } }),
        "WRONG_CHAIN",
        `no contract at the registry address ${nobody} on this chain`,
      );
    });

    it("fails with BAD_ARGUMENT without a runner, without contracts, for a bad address or an unreadable record", async function () {
      const f = await loadFixture(clientFixture);
      await expectError(
        TrustMLClient.connect({ runner: undefined as never, addresses: { registry: "", escrow: "" } }),
        "BAD_ARGUMENT",
        "connect needs a runner: a signer or a provider",
      );
      await expectError(
        TrustMLClient.connect({ runner: f.requester }),
        "BAD_ARGUMENT",
        "connect needs a deployment record or the contracts' addresses",
      );
      await expectError(
        TrustMLClient.connect({ runner: f.requester, addresses: { registry: "0x1234", escrow: "0x1234" } }),
        "BAD_ARGUMENT",
        "registry address 0x1234 is not an address",
      );
      await expectError(
        TrustMLClient.connect({ runner: f.requester, deployment: "/nonexistent/localhost.json" }),
        "BAD_ARGUMENT",
        /^cannot read deployment record \/nonexistent\/localhost\.json: ENOENT/,
      );
    });
  });

  describe("models: #modelCount, #model, #listModels, #version, #terms", function () {
    it("reads a model: owner, no pending owner, not deprecated, its versions and terms", async function () {
      const f = await loadFixture(clientFixture);
      expect(await f.reader.modelCount()).to.equal(4n); // the fixture's three, then the MLP
      expect(await f.reader.model(f.mlp)).to.deep.equal({
        id: f.mlp,
        owner: f.modelOwner.address,
        pendingOwner: null,
        deprecated: false,
        versionCount: 1n,
        terms: termsFor(VerificationMode.None),
      });
      await f.registry.connect(f.modelOwner).transferModelOwnership(f.mlp, f.other.address);
      expect((await f.reader.model(f.mlp)).pendingOwner).to.equal(f.other.address);
    });

    it("fails with UNKNOWN_MODEL for an id the registry does not have", async function () {
      const f = await loadFixture(clientFixture);
      await expectError(f.reader.model(0), "UNKNOWN_MODEL", "ModelRegistryUnknownModel(modelId=0)");
      await expectError(f.reader.model(5), "UNKNOWN_MODEL", "ModelRegistryUnknownModel(modelId=5)");
      await expectError(f.reader.terms(5), "UNKNOWN_MODEL", "ModelRegistryUnknownModel(modelId=5)");
      await expectError(f.reader.version(5), "UNKNOWN_MODEL", "ModelRegistryUnknownModel(modelId=5)");
    });

    it("lists models page by page, with their ids", async function () {
      const f = await loadFixture(clientFixture);
      const all = await f.reader.listModels();
      expect(all.map((m) => m.id)).to.deep.equal([1n, 2n, 3n, 4n]);
      expect(all.map((m) => m.terms.mode)).to.deep.equal([0, 1, 2, 0]);
      expect(all[3]).to.deep.equal(await f.reader.model(4));
      expect((await f.reader.listModels(3, 1)).map((m) => m.id)).to.deep.equal([3n]);
      expect((await f.reader.listModels(0, 2)).map((m) => m.id)).to.deep.equal([1n, 2n]);
      expect(await f.reader.listModels(5)).to.deep.equal([]);
      await expectError(f.reader.listModels(1, 0), "BAD_ARGUMENT", "count must be 1..100, got 0");
      await expectError(f.reader.listModels(1, 101), "BAD_ARGUMENT", "count must be 1..100, got 101");
      await expectError(f.reader.listModels(-1), "BAD_ARGUMENT", "first model id must not be negative, got -1");
    });

    it("reads a version with its declared signature, checked against the stored hash", async function () {
      const f = await loadFixture(clientFixture);
      const v = await f.reader.version(f.mlp);
      expect(v).to.deep.include({
        modelId: f.mlp,
        version: 1n,
        contentHash: sha256(f.mlpBytes),
        uri: MODEL_URI,
        weightsRoot: ethers.ZeroHash,
        inputSize: signatureInputSize(MLP_SIGNATURE),
        signatureHash: keccak256(encodeSignature(MLP_SIGNATURE)),
      });
      expect(v.signature).to.deep.equal(MLP_SIGNATURE);
      expect(v.publishedAt).to.equal(BigInt((await ethers.provider.getBlock("latest"))!.timestamp));
      expect(await f.reader.version(f.mlp, 1)).to.deep.equal(v);
      // A model registered without one declares none.
      const none = await f.reader.version(f.models.none);
      expect(none.signature).to.equal(null);
      expect(none.inputSize).to.equal(0n);
      expect(none.signatureHash).to.equal(ethers.ZeroHash);
    });

    it("fails with REVERTED and the registry's error for a version the model does not have", async function () {
      const f = await loadFixture(clientFixture);
      await expectError(
        f.reader.version(f.mlp, 2),
        "REVERTED",
        `ModelRegistryUnknownVersion(modelId=${f.mlp}, version=2)`,
      );
    });

    it("fails with WRONG_CHAIN when the version's event lies before the client's first block", async function () {
      const f = await loadFixture(clientFixture);
      const late = await TrustMLClient.connect({
        runner: ethers.provider,
        deployment: { ...f.deployment, startBlock: (await ethers.provider.getBlockNumber()) + 1 },
      });
      await expectError(
        late.version(f.mlp),
        "WRONG_CHAIN",
        /^model 4 version 1 declares a signature, but no VersionPublished event was found from block \d+$/,
      );
    });

    it("reads the terms a request agrees to, as the registry's snapshot", async function () {
      const f = await loadFixture(clientFixture);
      const terms = await f.reader.terms(f.mlp);
      expect(terms).to.deep.equal(toJobTerms(await f.registry.jobTerms(f.mlp)));
      expect(terms).to.deep.equal({
        owner: f.modelOwner.address,
        version: 1n,
        contentHash: sha256(f.mlpBytes),
        inputSize: signatureInputSize(MLP_SIGNATURE),
        terms: termsFor(VerificationMode.None),
      });
    });

    it("fails with MODEL_DEPRECATED for the terms of a deprecated model", async function () {
      const f = await loadFixture(clientFixture);
      await f.registry.connect(f.modelOwner).deprecate(f.mlp);
      await expectError(f.reader.terms(f.mlp), "MODEL_DEPRECATED", `ModelRegistryDeprecated(modelId=${f.mlp})`);
      expect((await f.reader.model(f.mlp)).deprecated).to.equal(true);
    });
  });

  describe("#publish, #publishVersion", function () {
    it("registers a model with its signature and publishes a second version without one", async function () {
      const f = await loadFixture(clientFixture);
      const contentHash = sha256(toUtf8Bytes("another model"));
      const { modelId, receipt } = await f.ownerClient.publish({
        contentHash,
        uri: "ipfs://another",
        terms: termsFor(VerificationMode.Optimistic),
        signature: MLP_SIGNATURE,
      });
      expect(modelId).to.equal(5n);
      expect(receipt.status).to.equal(1);
      expect((await f.reader.version(modelId)).signature).to.deep.equal(MLP_SIGNATURE);
      expect((await f.reader.terms(modelId)).terms).to.deep.equal(termsFor(VerificationMode.Optimistic));

      const second = sha256(toUtf8Bytes("another model, v2"));
      const published = await f.ownerClient.publishVersion(modelId, { contentHash: second, uri: "ipfs://v2" });
      expect(published.version).to.equal(2n);
      const v2 = await f.reader.version(modelId);
      expect(v2).to.deep.include({ version: 2n, contentHash: second, uri: "ipfs://v2", signature: null });
      expect((await f.reader.terms(modelId)).inputSize).to.equal(0n);
    });

    it("fails with BAD_ARGUMENT for a bad hash, URI, weights root or signature, before sending", async function () {
      const f = await loadFixture(clientFixture);
      const terms = termsFor(VerificationMode.None);
      const good = { contentHash: sha256(toUtf8Bytes("x")), uri: "ipfs://x", terms };
      const nonce = await ethers.provider.getTransactionCount(f.modelOwner.address);
      await expectError(
        f.ownerClient.publish({ ...good, contentHash: "0x1234" }),
        "BAD_ARGUMENT",
        "contentHash must be the sha256 of the file, 0x and 64 hex digits",
      );
      await expectError(f.ownerClient.publish({ ...good, uri: "" }), "BAD_ARGUMENT", "uri must be a non-empty string");
      await expectError(
        f.ownerClient.publish({ ...good, weightsRoot: "0x12" }),
        "BAD_ARGUMENT",
        "weightsRoot must be 32 bytes of hex",
      );
      await expectError(
        f.ownerClient.publish({ ...good, signature: { inputs: [], outputs: MLP_SIGNATURE.outputs } }),
        "BAD_ARGUMENT",
        /^the signature is invalid: /,
      );
      await expectError(
        f.ownerClient.publishVersion(f.mlp, { contentHash: "0x", uri: "ipfs://y" }),
        "BAD_ARGUMENT",
        "contentHash must be the sha256 of the file, 0x and 64 hex digits",
      );
      expect(await ethers.provider.getTransactionCount(f.modelOwner.address)).to.equal(nonce);
    });

    it("fails with REVERTED and the registry's error when someone else publishes a version", async function () {
      const f = await loadFixture(clientFixture);
      await expectError(
        f.requesterClient.publishVersion(f.mlp, { contentHash: sha256(toUtf8Bytes("v2")), uri: "ipfs://v2" }),
        "REVERTED",
        `ModelRegistryNotModelOwner(modelId=${f.mlp}, account=${f.requester.address})`,
      );
    });
  });

  describe("#checkInput", function () {
    it("returns the input's canonical bytes when it conforms to the version's signature", async function () {
      const f = await loadFixture(clientFixture);
      const terms = await f.reader.terms(f.mlp);
      const bytes = encodeTensors(features());
      expect(await f.reader.checkInput(terms, f.mlp, features())).to.deep.equal(bytes);
      expect(await f.reader.checkInput(terms, f.mlp, bytes)).to.deep.equal(bytes);
      expect(await f.reader.checkInput(terms, f.mlp, hexlify(bytes))).to.deep.equal(bytes);
      // A version without a signature takes any tensor list.
      const free = await f.reader.terms(f.models.none);
      const any = [{ name: "x", type: "int32" as const, shape: [2], data: new Int32Array([1, 2]) }];
      expect(await f.reader.checkInput(free, f.models.none, any)).to.deep.equal(encodeTensors(any));
    });

    it("fails with INPUT_MISMATCH naming the tensor and what is wrong with it", async function () {
      const f = await loadFixture(clientFixture);
      const terms = await f.reader.terms(f.mlp);
      const check = (input: Parameters<TrustMLClient["checkInput"]>[2]) => f.reader.checkInput(terms, f.mlp, input);
      await expectError(
        check(features([1, 2, 3, 4, 5])),
        "INPUT_MISMATCH",
        'model 4 version 1: input "features": expected float32 [1,4], got float32 [1,5] (dimension 1)',
      );
      await expectError(
        check([{ name: "features", type: "int32", shape: [1, 4], data: new Int32Array(4) }]),
        "INPUT_MISMATCH",
        'model 4 version 1: input "features": expected float32 [1,4], got int32 [1,4]',
      );
      await expectError(
        check([{ name: "x", type: "float32", shape: [1, 4], data: new Float32Array(4) }]),
        "INPUT_MISMATCH",
        'model 4 version 1: unexpected input "x" (float32 [1,4]); the signature\'s inputs are "features"',
      );
      await expectError(
        check([{ name: "features", type: "float32", shape: [1, 4], data: new Float32Array(3) }]),
        "INPUT_MISMATCH",
        /^the input tensors cannot be encoded: .*features/,
      );
      await expectError(
        check(toUtf8Bytes("not tensors")),
        "INPUT_MISMATCH",
        /^the input is not a canonical tensor list: /,
      );
    });
  });

  describe("#request", function () {
    it("requests with the current terms, paying in tokens and approving the escrow for the fee", async function () {
      const f = await loadFixture(clientFixture);
      await f.token.connect(f.requester).approve(f.escrow, 0);
      const before = await f.token.balanceOf(f.requester);
      // Deadlines count from the wall clock, never earlier than the chain's.
      const now = async () => Math.max(Math.floor(Date.now() / 1000), await time.latest());
      const earliest = (await now()) + 600;
      const job = await f.requesterClient.request({ modelId: f.mlp, input: features(), deadline: 600 });
      expect(Number(job.job.deadline)).to.be.within(earliest, (await now()) + 600);

      const [event] = await f.escrow.queryFilter(f.escrow.filters.JobRequested(job.id));
      expect(job.requestTx).to.equal(event.transactionHash);
      expect(job.id).to.equal(jobIdOf(job.job, f.domain));
      expect(job.hexId).to.equal(ethers.toBeHex(job.id, 32));
      expect(job.job).to.deep.include({
        requester: f.requester.address,
        modelOwner: f.modelOwner.address,
        modelId: f.mlp,
        version: 1n,
        mode: BigInt(VerificationMode.None),
        fee: PRICE,
        callbackGasLimit: 0n,
        inputHash: keccak256(encodeTensors(features())),
      });
      expect(event.args.input).to.equal(hexlify(encodeTensors(features())));
      expect(await f.token.balanceOf(f.requester)).to.equal(before - PRICE);
      expect(await f.token.allowance(f.requester, f.escrow)).to.equal(0n); // approved for the fee exactly
      expect((await job.result()).status).to.equal("Requested");
    });

    it("takes a deadline as a Date", async function () {
      const f = await loadFixture(clientFixture);
      const at = new Date(((await time.latest()) + 7200) * 1000);
      const job = await f.requesterClient.request({ modelId: f.mlp, input: features(), deadline: at });
      expect(job.job.deadline).to.equal(BigInt(at.getTime() / 1000));
    });

    describe("when the owner changed the terms after they were read", function () {
      it("fails with TERMS_CHANGED naming the changed field, and sends nothing", async function () {
        const f = await loadFixture(clientFixture);
        const terms = await f.requesterClient.terms(f.mlp);
        await f.registry.connect(f.modelOwner).setTerms(f.mlp, { ...terms.terms, price: 3n * PRICE });
        const nonce = await nonceOf(f);
        await expectError(
          f.requesterClient.request({ modelId: f.mlp, input: features(), terms }),
          "TERMS_CHANGED",
          `model ${f.mlp}: the terms changed since they were read: price ${PRICE} → ${3n * PRICE}`,
        );
        expect(await nonceOf(f)).to.equal(nonce);
      });

      it("names every changed field: a new version changes its number and content hash", async function () {
        const f = await loadFixture(clientFixture);
        const terms = await f.requesterClient.terms(f.mlp);
        const next = sha256(toUtf8Bytes("v2"));
        await f.ownerClient.publishVersion(f.mlp, { contentHash: next, uri: "ipfs://v2", signature: MLP_SIGNATURE });
        await f.registry
          .connect(f.modelOwner)
          .setTerms(f.mlp, { ...terms.terms, mode: VerificationMode.Optimistic, committeeSize: 1 });
        await expectError(
          f.requesterClient.request({ modelId: f.mlp, input: features(), terms }),
          "TERMS_CHANGED",
          `model ${f.mlp}: the terms changed since they were read: version 1 → 2, ` +
            `contentHash ${terms.contentHash} → ${next}, mode 0 → 1, committeeSize 3 → 1`,
        );
      });
    });

    describe("when the input does not conform to the version's signature", function () {
      it("fails with INPUT_MISMATCH naming the tensor, before anything is sent or paid", async function () {
        const f = await loadFixture(clientFixture);
        await f.token.connect(f.requester).approve(f.escrow, 0);
        const nonce = await nonceOf(f);
        const jobs = await f.escrow.jobCount();
        await expectError(
          f.requesterClient.request({ modelId: f.mlp, input: features([1, 2, 3]) }),
          "INPUT_MISMATCH",
          'model 4 version 1: input "features": expected float32 [1,4], got float32 [1,3] (dimension 1)',
        );
        expect(await nonceOf(f), "no approval, no request").to.equal(nonce);
        expect(await f.escrow.jobCount()).to.equal(jobs);
      });
    });

    it("fails with UNKNOWN_MODEL and MODEL_DEPRECATED before sending", async function () {
      const f = await loadFixture(clientFixture);
      await expectError(
        f.requesterClient.request({ modelId: 9, input: features() }),
        "UNKNOWN_MODEL",
        "ModelRegistryUnknownModel(modelId=9)",
      );
      await f.registry.connect(f.modelOwner).deprecate(f.mlp);
      const nonce = await nonceOf(f);
      await expectError(
        f.requesterClient.request({ modelId: f.mlp, input: features() }),
        "MODEL_DEPRECATED",
        `ModelRegistryDeprecated(modelId=${f.mlp})`,
      );
      expect(await nonceOf(f)).to.equal(nonce);
    });

    describe("paid from a deposit", function () {
      it("takes the fee from the escrow balance when it covers the fee (auto), with no token transfer", async function () {
        const f = await loadFixture(clientFixture);
        await f.requesterClient.deposit(PRICE + PRICE / 2n);
        const tokens = await f.token.balanceOf(f.requester);
        await f.requesterClient.request({ modelId: f.mlp, input: features() });
        expect(await f.requesterClient.balance()).to.equal(PRICE / 2n);
        expect(await f.token.balanceOf(f.requester)).to.equal(tokens);
        // The rest no longer covers a fee: the next request pulls the whole fee in tokens.
        await f.requesterClient.request({ modelId: f.mlp, input: features() });
        expect(await f.requesterClient.balance()).to.equal(PRICE / 2n);
        expect(await f.token.balanceOf(f.requester)).to.equal(tokens - PRICE);
      });

      it('pays with payment "deposit" from the deposit', async function () {
        const f = await loadFixture(clientFixture);
        await f.requesterClient.deposit(PRICE);
        const tokens = await f.token.balanceOf(f.requester);
        await f.requesterClient.request({ modelId: f.mlp, input: features(), payment: "deposit" });
        expect(await f.requesterClient.balance()).to.equal(0n);
        expect(await f.token.balanceOf(f.requester)).to.equal(tokens);
      });

      it('fails with INSUFFICIENT_DEPOSIT for payment "deposit" when the deposit does not cover the fee', async function () {
        const f = await loadFixture(clientFixture);
        await f.requesterClient.deposit(PRICE / 4n);
        const nonce = await nonceOf(f);
        await expectError(
          f.requesterClient.request({ modelId: f.mlp, input: features(), payment: "deposit" }),
          "INSUFFICIENT_DEPOSIT",
          `the deposit of ${f.requester.address} is ${PRICE / 4n}, the fee is ${PRICE}: deposit ${PRICE - PRICE / 4n} more first`,
        );
        expect(await nonceOf(f)).to.equal(nonce);
      });

      it('fails with BAD_ARGUMENT for payment "tokens" when the deposit covers the fee (the escrow would take it)', async function () {
        const f = await loadFixture(clientFixture);
        await f.requesterClient.deposit(PRICE);
        await expectError(
          f.requesterClient.request({ modelId: f.mlp, input: features(), payment: "tokens" }),
          "BAD_ARGUMENT",
          `payment "tokens": the escrow takes the fee from a balance that covers it (${PRICE} >= ${PRICE}); withdraw it or pay "auto"`,
        );
      });
    });

    it("fails with INSUFFICIENT_FUNDS when the account holds too few tokens, or may not be approved", async function () {
      const f = await loadFixture(clientFixture);
      const poor = (await ethers.getSigners())[15];
      const client = await TrustMLClient.connect({ runner: poor, deployment: f.deployment });
      await f.token.connect(f.governance).mint(poor.address, PRICE / 2n);
      await expectError(
        client.request({ modelId: f.mlp, input: features() }),
        "INSUFFICIENT_FUNDS",
        `${poor.address} holds ${PRICE / 2n} tokens and must pay ${PRICE}`,
      );
      await f.token.connect(f.requester).approve(f.escrow, PRICE - 1n);
      const nonce = await nonceOf(f);
      await expectError(
        f.requesterClient.request({ modelId: f.mlp, input: features(), approve: false }),
        "INSUFFICIENT_FUNDS",
        `the escrow may take ${PRICE - 1n} of ${f.requester.address}'s tokens and must take ${PRICE}: approve it, or deposit first`,
      );
      expect(await nonceOf(f)).to.equal(nonce);
    });

    it("fails with NO_SIGNER on a client that only reads", async function () {
      const f = await loadFixture(clientFixture);
      await expectError(
        f.reader.request({ modelId: f.mlp, input: features() }),
        "NO_SIGNER",
        "this needs a transaction: connect the client with a signer",
      );
    });

    it("fails with REVERTED and the escrow's error decoded by name", async function () {
      const f = await loadFixture(clientFixture);
      // A callback needs a contract requester.
      await expectError(
        f.requesterClient.request({ modelId: f.mlp, input: features(), callbackGasLimit: 100_000 }),
        "REVERTED",
        `JobEscrowCallbackRequiresContract(requester=${f.requester.address})`,
      );
      // Further than the longest job.
      await expectError(
        f.requesterClient.request({ modelId: f.mlp, input: features(), deadline: 8 * 24 * 3600 }),
        "REVERTED",
        /^JobEscrowInvalidDeadline\(deadline=\d+, latest=\d+\)$/,
      );
    });

    it("fails with BAD_ARGUMENT for bad options, before sending", async function () {
      const f = await loadFixture(clientFixture);
      const nonce = await nonceOf(f);
      const request = (options: object) => f.requesterClient.request({ modelId: f.mlp, input: features(), ...options });
      await expectError(request({ modelId: -1 }), "BAD_ARGUMENT", "model id must not be negative, got -1");
      await expectError(
        request({ modelId: "one" }),
        "BAD_ARGUMENT",
        "model id must be an integer (decimal or 0x hex), got one",
      );
      await expectError(request({ deadline: 0 }), "BAD_ARGUMENT", "the deadline must be whole seconds from now, got 0");
      await expectError(
        request({ deadline: 1.5 }),
        "BAD_ARGUMENT",
        "the deadline must be whole seconds from now, got 1.5",
      );
      await expectError(
        request({ deadline: new Date(0) }),
        "BAD_ARGUMENT",
        "the deadline 1970-01-01T00:00:00.000Z is not in the future",
      );
      await expectError(
        request({ payment: "card" }),
        "BAD_ARGUMENT",
        "payment must be auto, deposit or tokens, got card",
      );
      await expectError(request({ callbackGasLimit: -1 }), "BAD_ARGUMENT", "callbackGasLimit must be a whole number");
      await expectError(
        request({ input: "features" }),
        "BAD_ARGUMENT",
        "an input given as a string must be 0x hex of its canonical bytes",
      );
      await expectError(request({ input: 7 }), "BAD_ARGUMENT", "the input must be tensors, or their canonical bytes");
      expect(await nonceOf(f)).to.equal(nonce);
    });
  });

  describe("#job", function () {
    it("returns a handle on an existing job from its JobRequested event", async function () {
      const f = await loadFixture(clientFixture);
      const { job } = await requested(f);
      const again = await f.reader.job(job.id);
      expect(again.job).to.deep.equal(job.job);
      expect(again.requestTx).to.equal(job.requestTx);
      expect((await f.reader.job(job.hexId)).id).to.equal(job.id);
    });

    it("fails with UNKNOWN_JOB for an id the escrow never emitted", async function () {
      const f = await loadFixture(clientFixture);
      await expectError(
        f.reader.job(12345),
        "UNKNOWN_JOB",
        `no job ${ethers.toBeHex(12345, 32)} was requested from block 0`,
      );
    });
  });

  describe("JobHandle", function () {
    describe("#result", function () {
      it("follows the job: requested, then settled with its output decoded and its settlement", async function () {
        const f = await loadFixture(clientFixture);
        const { input, job } = await requested(f);
        expect(await job.result()).to.deep.equal({ jobId: job.id, status: "Requested" });
        const output = await mlpOutput(input);
        await submit(f, job, output);
        const result = await job.result();
        expect(result).to.deep.include({
          jobId: job.id,
          status: "Settled",
          outcome: "Accepted",
          worker: f.worker.address,
          outputHash: keccak256(output),
        });
        expect(result.output).to.deep.equal(output);
        expect(result.tensors).to.deep.equal(decodeTensors(output));
        expect(
          result.settlement!.workerPayment + result.settlement!.royalty + result.settlement!.treasuryPayment,
        ).to.equal(PRICE);
      });

      it("reads everything as of one block: a submission mined between its reads does not show yet", async function () {
        const f = await loadFixture(clientFixture);
        const { input, job } = await requested(f);
        const output = await mlpOutput(input);
        // A provider that mines the worker's submission right after the client's first read of the job's state.
        const jobState = f.escrow.interface.getFunction("jobState").selector;
        let submitted = false;
        const provider = providerWith({
          call: async (tx: TransactionRequest) => {
            const answer = await ethers.provider.call(tx);
            if (!submitted && String(tx.data).startsWith(jobState)) {
              submitted = true;
              await submit(f, job, output);
            }
            return answer;
          },
        });
        const handle = await (await TrustMLClient.connect({ runner: provider, deployment: f.deployment })).job(job.id);
        expect(await handle.result()).to.deep.equal({ jobId: job.id, status: "Requested" });
        expect(submitted).to.equal(true);
        expect(await handle.result()).to.deep.include({ status: "Settled", outcome: "Accepted", output });
      });

      it("never reads before the request's block, nor before a block it read already, when the block number lags", async function () {
        const f = await loadFixture(clientFixture);
        const { input, job } = await requested(f);
        // A provider that answers the block number from a stale cache, as ethers' JsonRpcProvider may for 250 ms.
        let stale = true;
        const provider = providerWith({ getBlockNumber: async () => (stale ? 0 : ethers.provider.getBlockNumber()) });
        const handle = await (await TrustMLClient.connect({ runner: provider, deployment: f.deployment })).job(job.id);
        expect((await handle.result()).status).to.equal("Requested"); // not UNKNOWN_JOB, the state before the request
        await submit(f, job, await mlpOutput(input));
        stale = false;
        expect((await handle.result()).status).to.equal("Settled");
        stale = true;
        expect((await handle.result()).status, "not back to Requested").to.equal("Settled");
      });

      it("fails with UNKNOWN_JOB for a handle on a job this escrow does not have", async function () {
        const f = await loadFixture(clientFixture);
        const { job } = await requested(f);
        const stranger = new JobHandle(f.reader, { ...job.job, id: 1n }, job.requestTx);
        await expectError(stranger.result(), "UNKNOWN_JOB", `JobEscrowUnknownJob(jobId=${formatJobId(1n)})`);
        await expectError(stranger.wait(), "UNKNOWN_JOB", `JobEscrowUnknownJob(jobId=${formatJobId(1n)})`);
      });
    });

    describe("#wait", function () {
      it("returns once the output is posted", async function () {
        const f = await loadFixture(clientFixture);
        const { input, job } = await requested(f);
        const waiting = job.wait({ pollInterval: 20, timeout: 60_000 });
        await new Promise((r) => setTimeout(r, 100));
        await submit(f, job, await mlpOutput(input));
        const result = await waiting;
        expect(result.status).to.equal("Settled");
        expect(result.tensors).to.deep.equal(decodeTensors(await mlpOutput(input)));
      });

      it('with until "settled", waits past the posted output until the job ended', async function () {
        const f = await loadFixture(clientFixture);
        const job = await f.requesterClient.request({ modelId: f.models.optimistic, input: features() });
        await submit(f, job, await mlpOutput(features()));
        // An optimistic result stands once its challenge window has passed and someone settles it.
        const posted = await job.wait({ pollInterval: 20 });
        expect([posted.status, posted.outcome]).to.deep.equal(["Submitted", undefined]);
        const settled = job.wait({ until: "settled", pollInterval: 20 });
        const { windowEnd } = await f.escrow.jobState(job.id);
        await expectError(
          job.settle(),
          "NOT_SETTLEABLE",
          // Due the second after its window ends (the escrow's readyAt).
          `job ${job.hexId} is Submitted and not due until ${new Date(Number(windowEnd + 1n) * 1000).toISOString()}`,
        );
        await time.increaseTo(windowEnd + 1n);
        expect(await job.settle()).to.deep.include({ status: "Settled", outcome: "Accepted" });
        expect(await settled).to.deep.include({ status: "Settled", outcome: "Accepted", worker: f.worker.address });
      });

      it("fails with TIMEOUT when nothing is posted in time", async function () {
        const f = await loadFixture(clientFixture);
        const { job } = await requested(f);
        await expectError(
          job.wait({ timeout: 100, pollInterval: 20 }),
          "TIMEOUT",
          `job ${job.hexId} is still Requested after 100 ms (waiting for its output)`,
        );
        await expectError(
          job.wait({ until: "settled", timeout: 50, pollInterval: 20 }),
          "TIMEOUT",
          `job ${job.hexId} is still Requested after 50 ms (waiting for its settlement)`,
        );
      });

      it("fails with ABORTED when the signal aborts, before or while waiting", async function () {
        const f = await loadFixture(clientFixture);
        const { job } = await requested(f);
        await expectError(job.wait({ signal: AbortSignal.abort() }), "ABORTED", `stopped waiting for job ${job.hexId}`);
        const started = Date.now();
        const reading = new AbortController();
        const whileReading = job.wait({ signal: reading.signal, pollInterval: 60_000 });
        reading.abort(); // while it reads the job's state, before it sleeps
        await expectError(whileReading, "ABORTED", `stopped waiting for job ${job.hexId}`);
        const sleeping = new AbortController();
        const whileSleeping = job.wait({ signal: sleeping.signal, pollInterval: 60_000 });
        setTimeout(() => sleeping.abort(), 200);
        await expectError(whileSleeping, "ABORTED", `stopped waiting for job ${job.hexId}`);
        expect(Date.now() - started, "each abort ends the sleep").to.be.below(10_000);
      });

      it("fails with BAD_ARGUMENT for a timeout or interval that is not positive", async function () {
        const f = await loadFixture(clientFixture);
        const { job } = await requested(f);
        await expectError(job.wait({ timeout: 0 }), "BAD_ARGUMENT", "timeout and pollInterval must be positive");
        await expectError(job.wait({ pollInterval: -1 }), "BAD_ARGUMENT", "timeout and pollInterval must be positive");
      });
    });

    describe("#settle", function () {
      it("refunds an expired job: the fee credited back to the requester, who withdraws it", async function () {
        const f = await loadFixture(clientFixture);
        const { job } = await requested(f);
        await time.increaseTo(job.job.deadline + 1n);
        const result = await job.settle();
        expect(result).to.deep.include({ status: "Refunded", outcome: "Expired" });
        expect(result.settlement!.requesterRefund).to.equal(PRICE);
        expect(await f.requesterClient.balance()).to.equal(PRICE);
        const tokens = await f.token.balanceOf(f.requester);
        const { amount, receipt } = await f.requesterClient.withdraw();
        expect(amount).to.equal(PRICE);
        expect(receipt.status).to.equal(1);
        expect(await f.token.balanceOf(f.requester)).to.equal(tokens + PRICE);
        expect(await f.requesterClient.balance()).to.equal(0n);
      });

      it("fails with NOT_SETTLEABLE before the deadline, saying when, and once the job ended", async function () {
        const f = await loadFixture(clientFixture);
        const { input, job } = await requested(f);
        await expectError(
          job.settle(),
          "NOT_SETTLEABLE",
          `job ${job.hexId} is Requested and not due until ${new Date(Number(job.job.deadline + 1n) * 1000).toISOString()}`,
        );
        await submit(f, job, await mlpOutput(input));
        await expectError(job.settle(), "NOT_SETTLEABLE", `job ${job.hexId} already ended (Settled)`);
      });

      it("fails with NO_SIGNER on a client that only reads", async function () {
        const f = await loadFixture(clientFixture);
        const { job } = await requested(f);
        const handle = await f.reader.job(job.id);
        await expectError(handle.settle(), "NO_SIGNER", "this needs a transaction: connect the client with a signer");
      });
    });

    describe("#verify", function () {
      it("agrees with an honest output, re-executed with ONNX Runtime", async function () {
        const f = await loadFixture(clientFixture);
        const { input, job } = await requested(f);
        await submit(f, job, await mlpOutput(input));
        const v = await job.verify({ model: f.mlpBytes });
        expect(v.agrees, v.comparison.reason).to.equal(true);
        expect(v.comparison).to.deep.equal({ agree: true, maxAbsDiff: 0 });
        // The same tensors (the posted list in canonical order, the re-executed one in the model's).
        expect(encodeTensors(v.posted)).to.deep.equal(encodeTensors(v.reexecuted));
        expect(encodeTensors(v.reexecuted)).to.deep.equal(await mlpOutput(input));
        // Anyone can verify, from a client that only reads.
        expect((await (await f.reader.job(job.id)).verify({ model: f.mlpBytes })).agrees).to.equal(true);
      });

      it("disagrees with a wrong output, naming the first element that differs", async function () {
        const f = await loadFixture(clientFixture);
        const { input, job } = await requested(f);
        const honest = decodeTensors(await mlpOutput(input));
        const wrong = honest.map((t) =>
          t.name === "probabilities" ? { ...t, data: new Float32Array([0.5, 0.25, 0.25]) } : t,
        );
        await submit(f, job, encodeTensors(wrong));
        const v = await job.verify({ model: f.mlpBytes });
        expect(v.agrees).to.equal(false);
        expect(v.comparison.reason).to.match(/^tensor "probabilities" element 0: posted 0\.5, re-executed /);
        expect(v.posted).to.deep.equal(wrong);
      });

      it("disagrees with an output that is not a tensor list", async function () {
        const f = await loadFixture(clientFixture);
        const { job } = await requested(f);
        await submit(f, job, toUtf8Bytes("not tensors"));
        expect((await job.result()).tensors).to.equal(undefined);
        const v = await job.verify({ model: f.mlpBytes });
        expect(v.agrees).to.equal(false);
        expect(v.comparison.reason).to.match(/^the posted output is not a canonical tensor list: /);
        expect(v.posted).to.deep.equal([]);
      });

      it("fails with MODEL_MISMATCH for other model bytes, NOT_SETTLEABLE without an output", async function () {
        const f = await loadFixture(clientFixture);
        const { job } = await requested(f);
        const other = toUtf8Bytes("other bytes");
        await expectError(
          job.verify({ model: other }),
          "MODEL_MISMATCH",
          `the model bytes hash to ${sha256(other)}, version 1 is ${sha256(f.mlpBytes)}`,
        );
        await expectError(
          job.verify({ model: f.mlpBytes }),
          "NOT_SETTLEABLE",
          `job ${job.hexId} has no posted output to verify (Requested)`,
        );
        await expectError(
          job.verify(undefined as never),
          "BAD_ARGUMENT",
          "verify needs the model's bytes: { model: Uint8Array }",
        );
      });
    });
  });

  describe("money: #deposit, #balance, #withdraw", function () {
    it("deposits (approving the escrow when needed), reads balances and withdraws them", async function () {
      const f = await loadFixture(clientFixture);
      await f.token.connect(f.requester).approve(f.escrow, 0);
      const tokens = await f.token.balanceOf(f.requester);
      const receipt: TransactionReceipt = await f.requesterClient.deposit(3n * PRICE);
      expect(receipt.status).to.equal(1);
      expect(await f.requesterClient.balance()).to.equal(3n * PRICE);
      expect(await f.reader.balance(f.requester.address)).to.equal(3n * PRICE);
      expect(await f.token.balanceOf(f.requester)).to.equal(tokens - 3n * PRICE);
      const { amount } = await f.requesterClient.withdraw();
      expect(amount).to.equal(3n * PRICE);
      expect(await f.token.balanceOf(f.requester)).to.equal(tokens);
    });

    it("sends one transaction after another when the provider's count of pending transactions lags", async function () {
      const f = await loadFixture(clientFixture);
      // ethers' JsonRpcProvider answers a repeated call from a cache for 250 ms, so the count read right after an
      // approval is mined can still be the one from before it: this wallet's count lags as that cache does.
      class LaggingWallet extends Wallet {
        private cached: { nonce: number; at: number } | undefined;
        async getNonce(blockTag?: BlockTag): Promise<number> {
          if (this.cached === undefined || Date.now() - this.cached.at > 250) {
            this.cached = { nonce: await super.getNonce(blockTag), at: Date.now() };
          }
          return this.cached.nonce;
        }
      }
      const wallet = new LaggingWallet(devWallet(3).privateKey, ethers.provider);
      expect(wallet.address).to.equal(f.requester.address);
      const client = await TrustMLClient.connect({ runner: wallet, deployment: f.deployment });
      await f.token.connect(f.requester).approve(f.escrow, 0);
      await client.deposit(PRICE); // an approval, then the deposit
      await client.request({ modelId: f.mlp, input: features() }); // paid from the deposit
      await client.request({ modelId: f.mlp, input: features() }); // an approval, then the request
      expect(await f.escrow.jobCount()).to.equal(2n);
      expect(await client.balance()).to.equal(0n);
    });

    it("fails with REVERTED and the escrow's error when there is nothing to withdraw", async function () {
      const f = await loadFixture(clientFixture);
      await expectError(
        f.requesterClient.withdraw(),
        "REVERTED",
        `JobEscrowNothingToWithdraw(account=${f.requester.address})`,
      );
    });

    it("fails with INSUFFICIENT_FUNDS, BAD_ARGUMENT and NO_SIGNER before sending", async function () {
      const f = await loadFixture(clientFixture);
      const held = await f.token.balanceOf(f.requester);
      await expectError(
        f.requesterClient.deposit(held + 1n),
        "INSUFFICIENT_FUNDS",
        `${f.requester.address} holds ${held} tokens and must pay ${held + 1n}`,
      );
      await expectError(f.requesterClient.deposit(0), "BAD_ARGUMENT", "a deposit must be more than 0");
      await expectError(f.requesterClient.balance("0x12"), "BAD_ARGUMENT", "0x12 is not an address");
      const noSigner = "this needs a transaction: connect the client with a signer";
      await expectError(f.reader.deposit(PRICE), "NO_SIGNER", noSigner);
      await expectError(f.reader.withdraw(), "NO_SIGNER", noSigner);
      await expectError(
        f.reader.publish({ contentHash: sha256(toUtf8Bytes("x")), uri: "ipfs://x", terms: termsFor(0) }),
        "NO_SIGNER",
        noSigner,
      );
      await expectError(f.reader.balance(), "NO_SIGNER", noSigner);
    });
  });

  describe("#failure: a revert becomes a TrustMLError", function () {
    it("maps the protocol's errors to their codes, anything else to REVERTED, decoded by name", async function () {
      const f = await loadFixture(clientFixture);
      const escrow = f.escrow.interface;
      const registry = f.registry.interface;
      const token = f.token.interface;
      const a = f.requester.address;
      const h = ethers.ZeroHash;
      const cases: [string, TrustMLErrorCode, string][] = [
        [
          registry.encodeErrorResult("ModelRegistryUnknownModel", [7]),
          "UNKNOWN_MODEL",
          "ModelRegistryUnknownModel(modelId=7)",
        ],
        [
          registry.encodeErrorResult("ModelRegistryDeprecated", [7]),
          "MODEL_DEPRECATED",
          "ModelRegistryDeprecated(modelId=7)",
        ],
        [
          escrow.encodeErrorResult("JobEscrowTermsChanged", [7, h, h]),
          "TERMS_CHANGED",
          `JobEscrowTermsChanged(modelId=7, agreed=${h}, current=${h})`,
        ],
        [
          escrow.encodeErrorResult("JobEscrowInputSizeMismatch", [7, 10, 40]),
          "INPUT_MISMATCH",
          "JobEscrowInputSizeMismatch(modelId=7, size=10, expected=40)",
        ],
        [
          escrow.encodeErrorResult("JobEscrowUnknownJob", [7]),
          "UNKNOWN_JOB",
          `JobEscrowUnknownJob(jobId=${formatJobId(7n)})`,
        ],
        [
          escrow.encodeErrorResult("JobEscrowNotSettleable", [7, JobStatus.Submitted, 99]),
          "NOT_SETTLEABLE",
          `JobEscrowNotSettleable(jobId=${formatJobId(7n)}, current=3, readyAt=99)`,
        ],
        [
          token.encodeErrorResult("ERC20InsufficientBalance", [a, 1, 2]),
          "INSUFFICIENT_FUNDS",
          `ERC20InsufficientBalance(sender=${a}, balance=1, needed=2)`,
        ],
        [
          token.encodeErrorResult("ERC20InsufficientAllowance", [a, 1, 2]),
          "REVERTED",
          `ERC20InsufficientAllowance(spender=${a}, allowance=1, needed=2)`,
        ],
        [escrow.encodeErrorResult("JobEscrowZeroDeposit", []), "REVERTED", "JobEscrowZeroDeposit()"],
      ];
      for (const [data, code, message] of cases) {
        const e = f.reader.failure({ message: "execution reverted", data });
        expect([e.code, e.message], message).to.deep.equal([code, message]);
      }
    });

    it("decodes the token's own errors from a transaction the client sends", async function () {
      const f = await loadFixture(clientFixture);
      const held = await f.token.balanceOf(f.requester);
      const transfer = f.requesterClient.token.getFunction("transfer");
      await expectError(
        f.requesterClient.send(() => transfer(f.other.address, held + 1n)),
        "INSUFFICIENT_FUNDS",
        `ERC20InsufficientBalance(sender=${f.requester.address}, balance=${held}, needed=${held + 1n})`,
      );
    });
  });
});
