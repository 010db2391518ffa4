import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { IModelRegistry, ModelRegistry } from "../typechain-types";
import { VerificationMode } from "../packages/sdk/src/params";
import { jobTermsHash, toJobTerms, type JobTerms } from "../packages/sdk/src/terms";
import {
  SignatureError,
  decodeSignature,
  encodeSignature,
  signatureHash,
  signatureInputSize,
  type IoSignature,
} from "../packages/sdk/src/signature";
import {
  HASH_OTHER,
  HASH_UNPUBLISHED,
  HASH_V1,
  HASH_V2,
  HASH_V3,
  MAX_COMMITTEE_SIZE,
  MAX_ROYALTY_BPS,
  MAX_TOLERANCE,
  MAX_URI_BYTES,
  NEW_TERMS,
  TERMS,
  URI_OTHER,
  URI_V1,
  URI_V2,
  URI_V3,
  contentHash,
  deployRegistryFixture,
  deprecatedModelFixture,
  pendingTransferFixture,
  registeredModelFixture,
  registryEvents,
  termsTuple,
  termsWith,
  threeModelsFixture,
  NO_ROOT,
  NO_SIGNATURE,
  PROVEN_TERMS,
  ROOT_V1,
  ROOT_V2,
  provenModelFixture,
  SIGNATURE,
  SIGNATURE_BYTES,
  SIGNATURE_INPUT_SIZE,
  signedModelFixture,
  toTerms,
  transferredModelFixture,
  twoModelsFixture,
  twoVersionsFixture,
  uriOfLength,
  type Terms,
} from "./fixtures/registry";

const ZERO_HASH = ethers.ZeroHash;

/** Asserts every field of a stored model. */
function expectModel(
  model: IModelRegistry.ModelStructOutput,
  expected: { owner: string; versionCount: number; deprecated: boolean; pendingOwner: string; terms: Terms },
): void {
  expect(model.owner).to.equal(expected.owner);
  expect(model.versionCount).to.equal(expected.versionCount);
  expect(model.deprecated).to.equal(expected.deprecated);
  expect(model.pendingOwner).to.equal(expected.pendingOwner);
  expect(toTerms(model.terms)).to.deep.equal(expected.terms);
}

/** Asserts every field of a stored version. */
function expectVersion(
  version: IModelRegistry.ModelVersionStructOutput,
  expected: {
    contentHash: string;
    publishedAt: number;
    uri: string;
    weightsRoot?: string;
    inputSize?: bigint;
    ioSignatureHash?: string;
  },
): void {
  expect(version.contentHash).to.equal(expected.contentHash);
  expect(version.publishedAt).to.equal(expected.publishedAt);
  expect(version.uri).to.equal(expected.uri);
  expect(version.weightsRoot).to.equal(expected.weightsRoot ?? NO_ROOT);
  expect(version.inputSize).to.equal(expected.inputSize ?? 0n);
  expect(version.ioSignatureHash).to.equal(expected.ioSignatureHash ?? ethers.ZeroHash);
}

/** Asserts every field of a job snapshot. */
function expectJobTerms(
  snapshot: IModelRegistry.JobTermsStructOutput,
  expected: { owner: string; version: number; contentHash: string; inputSize?: bigint; terms: Terms },
): void {
  expect(snapshot.owner).to.equal(expected.owner);
  expect(snapshot.version).to.equal(expected.version);
  expect(snapshot.contentHash).to.equal(expected.contentHash);
  expect(snapshot.inputSize).to.equal(expected.inputSize ?? 0n);
  expect(toTerms(snapshot.terms)).to.deep.equal(expected.terms);
}

/** Asserts that `jobTermsHash(modelId)` is the hash of `expected` and of `jobTerms(modelId)`, both computed in
 * TypeScript (ethers' AbiCoder), and that `hashJobTerms` agrees. */
async function expectJobTermsHash(registry: ModelRegistry, modelId: bigint | number, expected: JobTerms) {
  const stored = await registry.jobTermsHash(modelId);
  expect(stored).to.equal(jobTermsHash(expected));
  expect(stored).to.equal(jobTermsHash(toJobTerms(await registry.jobTerms(modelId))));
  expect(stored).to.equal(await registry.hashJobTerms(expected));
  return stored;
}

/** The SLOAD instructions an eth_call of `data` to the registry executes. */
async function storageReadsOf(registry: ModelRegistry, data: string): Promise<number> {
  const call = { to: await registry.getAddress(), data };
  const trace = await network.provider.send("debug_traceCall", [call, "latest"]);
  return (trace.structLogs as { op: string }[]).filter((log) => log.op === "SLOAD").length;
}

/** The SSTORE instructions a mined transaction executed. */
async function storageWritesOf(txHash: string): Promise<number> {
  const trace = await network.provider.send("debug_traceTransaction", [txHash]);
  return (trace.structLogs as { op: string }[]).filter((log) => log.op === "SSTORE").length;
}

/** Terms that break one bound each, with the error and arguments `registerModel` and `setTerms` must revert with. */
const INVALID_TERMS: { when: string; terms: Terms; error: string; args: (number | bigint)[] }[] = [
  {
    when: "the committee size is 0",
    terms: termsWith({ committeeSize: 0 }),
    error: "ModelRegistryInvalidCommitteeSize",
    args: [0],
  },
  {
    when: "the committee size is even (2)",
    terms: termsWith({ committeeSize: 2 }),
    error: "ModelRegistryInvalidCommitteeSize",
    args: [2],
  },
  {
    when: "the committee size is even (14)",
    terms: termsWith({ committeeSize: 14 }),
    error: "ModelRegistryInvalidCommitteeSize",
    args: [14],
  },
  {
    when: "the committee size is 16",
    terms: termsWith({ committeeSize: 16 }),
    error: "ModelRegistryInvalidCommitteeSize",
    args: [16],
  },
  {
    when: "the committee size is 17 (odd but above the maximum)",
    terms: termsWith({ committeeSize: 17 }),
    error: "ModelRegistryInvalidCommitteeSize",
    args: [17],
  },
  {
    when: "the royalty is 2001 bps",
    terms: termsWith({ royaltyBps: MAX_ROYALTY_BPS + 1 }),
    error: "ModelRegistryRoyaltyTooHigh",
    args: [MAX_ROYALTY_BPS + 1, MAX_ROYALTY_BPS],
  },
  {
    when: "the relative tolerance is 1e9 + 1",
    terms: termsWith({ relTolerance: MAX_TOLERANCE + 1 }),
    error: "ModelRegistryToleranceTooHigh",
    args: [MAX_TOLERANCE + 1, MAX_TOLERANCE],
  },
  {
    when: "the absolute tolerance is 1e9 + 1",
    terms: termsWith({ absTolerance: MAX_TOLERANCE + 1 }),
    error: "ModelRegistryToleranceTooHigh",
    args: [MAX_TOLERANCE + 1, MAX_TOLERANCE],
  },
];

/** Terms at the edge of each bound, all of which must be accepted. */
const BOUNDARY_TERMS: { when: string; terms: Terms }[] = [
  { when: "the committee size is 1", terms: termsWith({ committeeSize: 1 }) },
  { when: "the committee size is 15", terms: termsWith({ committeeSize: MAX_COMMITTEE_SIZE }) },
  { when: "the royalty is 2000 bps", terms: termsWith({ royaltyBps: MAX_ROYALTY_BPS }) },
  { when: "the royalty is 0 bps", terms: termsWith({ royaltyBps: 0 }) },
  { when: "the relative tolerance is 1e9", terms: termsWith({ relTolerance: MAX_TOLERANCE }) },
  { when: "the absolute tolerance is 1e9", terms: termsWith({ absTolerance: MAX_TOLERANCE }) },
  { when: "both tolerances are 0", terms: termsWith({ relTolerance: 0, absTolerance: 0 }) },
  { when: "the price is 0", terms: termsWith({ price: 0n }) },
  { when: "the price is the largest uint96", terms: termsWith({ price: 2n ** 96n - 1n }) },
  { when: "the mode is None", terms: termsWith({ mode: VerificationMode.None }) },
  { when: "the mode is Optimistic", terms: termsWith({ mode: VerificationMode.Optimistic }) },
];

describe("ModelRegistry", function () {
  describe("constants", function () {
    it("exposes the bounds the registry enforces", async function () {
      const { registry } = await loadFixture(deployRegistryFixture);
      expect(await registry.MAX_URI_BYTES()).to.equal(MAX_URI_BYTES);
      expect(await registry.MAX_COMMITTEE_SIZE()).to.equal(MAX_COMMITTEE_SIZE);
      expect(await registry.MAX_ROYALTY_BPS()).to.equal(MAX_ROYALTY_BPS);
      expect(await registry.MAX_TOLERANCE()).to.equal(MAX_TOLERANCE);
    });
  });

  describe("#registerModel", function () {
    describe("when the hash, URI and terms are valid", function () {
      it("returns the new model's id", async function () {
        const { registry, owner } = await loadFixture(deployRegistryFixture);
        expect(
          await registry.connect(owner).registerModel.staticCall(HASH_V1, URI_V1, TERMS, NO_ROOT, NO_SIGNATURE),
        ).to.equal(1n);
      });

      it("numbers models sequentially from 1", async function () {
        const { registry, owner, other } = await loadFixture(deployRegistryFixture);
        for (let id = 1; id <= 3; id++) {
          const hash = contentHash(`model ${id}`);
          const account = id === 2 ? other : owner;
          expect(
            await registry.connect(account).registerModel.staticCall(hash, URI_V1, TERMS, NO_ROOT, NO_SIGNATURE),
          ).to.equal(id);
          await expect(registry.connect(account).registerModel(hash, URI_V1, TERMS, NO_ROOT, NO_SIGNATURE))
            .to.emit(registry, "ModelRegistered")
            .withArgs(id, account.address, hash, URI_V1, NO_ROOT, termsTuple(TERMS));
          expect(await registry.modelCount()).to.equal(id);
          expect((await registry.getModel(id)).owner).to.equal(account.address);
          expect(await registry.findContentHash(account.address, hash)).to.deep.equal([BigInt(id), 1n]);
        }
      });

      it("makes the caller the owner, with version 1, no pending owner and the given terms", async function () {
        const { registry, owner } = await loadFixture(registeredModelFixture);
        expectModel(await registry.getModel(1), {
          owner: owner.address,
          versionCount: 1,
          deprecated: false,
          pendingOwner: ethers.ZeroAddress,
          terms: TERMS,
        });
      });

      it("lets any account register (the caller, not the deployer, owns the model)", async function () {
        const { registry, other } = await loadFixture(deployRegistryFixture);
        await registry.connect(other).registerModel(HASH_V1, URI_V1, TERMS, NO_ROOT, NO_SIGNATURE);
        expect((await registry.getModel(1)).owner).to.equal(other.address);
      });

      it("stores version 1 with the content hash, the URI and the block timestamp", async function () {
        const { registry, publishedAt } = await loadFixture(registeredModelFixture);
        expectVersion(await registry.getVersion(1, 1), { contentHash: HASH_V1, publishedAt, uri: URI_V1 });
      });

      it("records the content hash as the caller's version 1 of the model, and for no other account", async function () {
        const { registry, owner, other } = await loadFixture(registeredModelFixture);
        const [modelId, version] = await registry.findContentHash(owner.address, HASH_V1);
        expect(modelId).to.equal(1n);
        expect(version).to.equal(1n);
        expect(await registry.findContentHash(other.address, HASH_V1)).to.deep.equal([0n, 0n]);
      });

      it("counts the model", async function () {
        const { registry } = await loadFixture(registeredModelFixture);
        expect(await registry.modelCount()).to.equal(1n);
      });

      it("emits ModelRegistered then VersionPublished for version 1", async function () {
        const { registry, owner } = await loadFixture(deployRegistryFixture);
        const tx = await registry.connect(owner).registerModel(HASH_V1, URI_V1, TERMS, NO_ROOT, NO_SIGNATURE);
        await expect(tx)
          .to.emit(registry, "ModelRegistered")
          .withArgs(1, owner.address, HASH_V1, URI_V1, NO_ROOT, termsTuple(TERMS));
        await expect(tx).to.emit(registry, "VersionPublished").withArgs(1, 1, HASH_V1, URI_V1, NO_ROOT, NO_SIGNATURE);

        const { events } = await registryEvents(registry, tx);
        expect(events.map((e) => e.name)).to.deep.equal(["ModelRegistered", "VersionPublished"]);
        const registered = events[0].args as unknown as {
          modelId: bigint;
          owner: string;
          contentHash: string;
          uri: string;
          weightsRoot: string;
          terms: IModelRegistry.ModelTermsStructOutput;
        };
        expect(registered.modelId).to.equal(1n);
        expect(registered.owner).to.equal(owner.address);
        expect(registered.contentHash).to.equal(HASH_V1);
        expect(registered.uri).to.equal(URI_V1);
        expect(registered.weightsRoot).to.equal(NO_ROOT);
        expect(toTerms(registered.terms)).to.deep.equal(TERMS);
      });

      it("stores a URI of exactly 2048 bytes", async function () {
        const { registry, owner } = await loadFixture(deployRegistryFixture);
        const uri = uriOfLength(MAX_URI_BYTES);
        expect(ethers.toUtf8Bytes(uri).length).to.equal(2048);
        await expect(registry.connect(owner).registerModel(HASH_V1, uri, TERMS, NO_ROOT, NO_SIGNATURE))
          .to.emit(registry, "VersionPublished")
          .withArgs(1, 1, HASH_V1, uri, NO_ROOT, NO_SIGNATURE);
        expect((await registry.getVersion(1, 1)).uri).to.equal(uri);
      });

      it("stores a URI of 1 byte", async function () {
        const { registry, owner } = await loadFixture(deployRegistryFixture);
        await registry.connect(owner).registerModel(HASH_V1, "x", TERMS, NO_ROOT, NO_SIGNATURE);
        expect((await registry.getVersion(1, 1)).uri).to.equal("x");
      });

      for (const { when, terms } of BOUNDARY_TERMS) {
        describe(`when ${when}`, function () {
          it("registers the model with those terms", async function () {
            const { registry, owner } = await loadFixture(deployRegistryFixture);
            await expect(registry.connect(owner).registerModel(HASH_V1, URI_V1, terms, NO_ROOT, NO_SIGNATURE))
              .to.emit(registry, "ModelRegistered")
              .withArgs(1, owner.address, HASH_V1, URI_V1, NO_ROOT, termsTuple(terms));
            expect(toTerms((await registry.getModel(1)).terms)).to.deep.equal(terms);
          });
        });
      }
    });

    describe("when the content hash is zero", function () {
      it("reverts with ModelRegistryZeroContentHash", async function () {
        const { registry, owner } = await loadFixture(deployRegistryFixture);
        await expect(
          registry.connect(owner).registerModel(ZERO_HASH, URI_V1, TERMS, NO_ROOT, NO_SIGNATURE),
        ).to.be.revertedWithCustomError(registry, "ModelRegistryZeroContentHash");
      });
    });

    describe("when a squatter front-runs the author's registration with the author's content hash", function () {
      it("still registers the author's model, under its own id; each id snapshots its own owner for jobs", async function () {
        const { registry, owner: author, other: squatter } = await loadFixture(deployRegistryFixture);
        // The squatter copies the author's pending registerModel from the mempool and lands first.
        await registry.connect(squatter).registerModel(HASH_V1, URI_V1, TERMS, NO_ROOT, NO_SIGNATURE);

        expect(
          await registry.connect(author).registerModel.staticCall(HASH_V1, URI_V1, TERMS, NO_ROOT, NO_SIGNATURE),
        ).to.equal(2n);
        await expect(registry.connect(author).registerModel(HASH_V1, URI_V1, TERMS, NO_ROOT, NO_SIGNATURE))
          .to.emit(registry, "ModelRegistered")
          .withArgs(2, author.address, HASH_V1, URI_V1, NO_ROOT, termsTuple(TERMS));
        expect(await registry.findContentHash(author.address, HASH_V1)).to.deep.equal([2n, 1n]);
        expect(await registry.findContentHash(squatter.address, HASH_V1)).to.deep.equal([1n, 1n]);

        // A requester who chooses the author's id gets the author's model and pays the author's royalty.
        expectJobTerms(await registry.jobTerms(2), {
          owner: author.address,
          version: 1,
          contentHash: HASH_V1,
          inputSize: 0n,
          terms: TERMS,
        });
        expectJobTerms(await registry.jobTerms(1), {
          owner: squatter.address,
          version: 1,
          contentHash: HASH_V1,
          terms: TERMS,
        });
        // The squatter holds no rights over the author's model.
        await expect(registry.connect(squatter).publishVersion(2, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotModelOwner")
          .withArgs(2, squatter.address);
        await expect(registry.connect(author).publishVersion(2, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE))
          .to.emit(registry, "VersionPublished")
          .withArgs(2, 2, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE);
      });
    });

    describe("when another account published the content hash", function () {
      it("registers the caller's own model with those bytes", async function () {
        const { registry, owner, other } = await loadFixture(twoVersionsFixture);
        for (const [i, hash] of [HASH_V1, HASH_V2].entries()) {
          const id = i + 2;
          await expect(registry.connect(other).registerModel(hash, URI_OTHER, NEW_TERMS, NO_ROOT, NO_SIGNATURE))
            .to.emit(registry, "ModelRegistered")
            .withArgs(id, other.address, hash, URI_OTHER, NO_ROOT, termsTuple(NEW_TERMS));
          expect(await registry.findContentHash(other.address, hash)).to.deep.equal([BigInt(id), 1n]);
          expect(await registry.findContentHash(owner.address, hash)).to.deep.equal([1n, BigInt(i + 1)]);
        }
        expect(await registry.modelCount()).to.equal(3n);
      });
    });

    describe("when the caller already published the content hash", function () {
      describe("as version 1 of another of its models", function () {
        it("reverts with ModelRegistryContentHashTaken", async function () {
          const { registry, owner } = await loadFixture(registeredModelFixture);
          await expect(registry.connect(owner).registerModel(HASH_V1, URI_OTHER, TERMS, NO_ROOT, NO_SIGNATURE))
            .to.be.revertedWithCustomError(registry, "ModelRegistryContentHashTaken")
            .withArgs(HASH_V1, 1, 1);
          expect(await registry.modelCount()).to.equal(1n);
        });
      });

      describe("as a later version of another of its models", function () {
        it("reverts with ModelRegistryContentHashTaken naming that version", async function () {
          const { registry, owner } = await loadFixture(twoVersionsFixture);
          await expect(registry.connect(owner).registerModel(HASH_V2, URI_OTHER, TERMS, NO_ROOT, NO_SIGNATURE))
            .to.be.revertedWithCustomError(registry, "ModelRegistryContentHashTaken")
            .withArgs(HASH_V2, 1, 2);
        });
      });

      describe("in a model registered after model 1", function () {
        it("reverts with ModelRegistryContentHashTaken naming that model", async function () {
          const { registry, other } = await loadFixture(twoModelsFixture);
          await expect(registry.connect(other).registerModel(HASH_OTHER, URI_V1, TERMS, NO_ROOT, NO_SIGNATURE))
            .to.be.revertedWithCustomError(registry, "ModelRegistryContentHashTaken")
            .withArgs(HASH_OTHER, 2, 1);
        });
      });

      describe("in a model it has since deprecated", function () {
        it("reverts with ModelRegistryContentHashTaken", async function () {
          const { registry, owner } = await loadFixture(deprecatedModelFixture);
          await expect(registry.connect(owner).registerModel(HASH_V1, URI_V1, TERMS, NO_ROOT, NO_SIGNATURE))
            .to.be.revertedWithCustomError(registry, "ModelRegistryContentHashTaken")
            .withArgs(HASH_V1, 1, 1);
        });
      });

      describe("in a model it has since handed over", function () {
        it("reverts with ModelRegistryContentHashTaken (the record stays with the publisher)", async function () {
          const { registry, owner, newOwner } = await loadFixture(transferredModelFixture);
          await expect(registry.connect(owner).registerModel(HASH_V1, URI_V1, TERMS, NO_ROOT, NO_SIGNATURE))
            .to.be.revertedWithCustomError(registry, "ModelRegistryContentHashTaken")
            .withArgs(HASH_V1, 1, 1);
          expect(await registry.findContentHash(newOwner.address, HASH_V1)).to.deep.equal([0n, 0n]);
        });
      });
    });

    describe("when the URI is empty", function () {
      it("reverts with ModelRegistryInvalidUri", async function () {
        const { registry, owner } = await loadFixture(deployRegistryFixture);
        await expect(registry.connect(owner).registerModel(HASH_V1, "", TERMS, NO_ROOT, NO_SIGNATURE))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidUri")
          .withArgs(0, MAX_URI_BYTES);
      });
    });

    describe("when the URI is 2049 bytes", function () {
      it("reverts with ModelRegistryInvalidUri", async function () {
        const { registry, owner } = await loadFixture(deployRegistryFixture);
        await expect(
          registry.connect(owner).registerModel(HASH_V1, uriOfLength(MAX_URI_BYTES + 1), TERMS, NO_ROOT, NO_SIGNATURE),
        )
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidUri")
          .withArgs(MAX_URI_BYTES + 1, MAX_URI_BYTES);
      });
    });

    describe("when the URI length is counted in bytes, not characters", function () {
      it("reverts with ModelRegistryInvalidUri for 1025 two-byte characters", async function () {
        const { registry, owner } = await loadFixture(deployRegistryFixture);
        const uri = "é".repeat(1025);
        await expect(registry.connect(owner).registerModel(HASH_V1, uri, TERMS, NO_ROOT, NO_SIGNATURE))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidUri")
          .withArgs(2050, MAX_URI_BYTES);
      });
    });

    for (const { when, terms, error, args } of INVALID_TERMS) {
      describe(`when ${when}`, function () {
        it(`reverts with ${error}`, async function () {
          const { registry, owner } = await loadFixture(deployRegistryFixture);
          await expect(registry.connect(owner).registerModel(HASH_V1, URI_V1, terms, NO_ROOT, NO_SIGNATURE))
            .to.be.revertedWithCustomError(registry, error)
            .withArgs(...args);
          expect(await registry.modelCount()).to.equal(0n);
          expect(await registry.findContentHash(owner.address, HASH_V1)).to.deep.equal([0n, 0n]);
        });
      });
    }

    describe("when a weights root is given", function () {
      it("stores it on version 1 and emits it in ModelRegistered and VersionPublished, in any mode", async function () {
        const { registry, owner } = await loadFixture(deployRegistryFixture);
        const tx = await registry.connect(owner).registerModel(HASH_V1, URI_V1, TERMS, ROOT_V1, NO_SIGNATURE);
        await expect(tx)
          .to.emit(registry, "ModelRegistered")
          .withArgs(1, owner.address, HASH_V1, URI_V1, ROOT_V1, termsTuple(TERMS));
        await expect(tx).to.emit(registry, "VersionPublished").withArgs(1, 1, HASH_V1, URI_V1, ROOT_V1, NO_SIGNATURE);
        const { timestamp } = await registryEvents(registry, tx);
        expectVersion(await registry.getVersion(1, 1), {
          contentHash: HASH_V1,
          publishedAt: timestamp,
          uri: URI_V1,
          weightsRoot: ROOT_V1,
        });
        expect(await registry.getWeightsRoot(1, 1)).to.equal(ROOT_V1);
      });

      it("registers a Proven model, whose snapshot carries mode Proven (3)", async function () {
        const { registry, owner, publishedAt } = await loadFixture(provenModelFixture);
        expect(PROVEN_TERMS.mode).to.equal(3);
        expectModel(await registry.getModel(1), {
          owner: owner.address,
          versionCount: 1,
          deprecated: false,
          pendingOwner: ethers.ZeroAddress,
          terms: PROVEN_TERMS,
        });
        expectVersion(await registry.getVersion(1, 1), {
          contentHash: HASH_V1,
          publishedAt,
          uri: URI_V1,
          weightsRoot: ROOT_V1,
        });
        const snapshot = {
          owner: owner.address,
          version: 1n,
          contentHash: HASH_V1,
          inputSize: 0n,
          terms: PROVEN_TERMS,
        };
        expectJobTerms(await registry.jobTerms(1), { ...snapshot, version: 1 });
        await expectJobTermsHash(registry, 1, snapshot);
      });

      it("emits the root of a Proven registration", async function () {
        const { registry, owner } = await loadFixture(deployRegistryFixture);
        const tx = await registry.connect(owner).registerModel(HASH_V1, URI_V1, PROVEN_TERMS, ROOT_V1, NO_SIGNATURE);
        await expect(tx)
          .to.emit(registry, "ModelRegistered")
          .withArgs(1, owner.address, HASH_V1, URI_V1, ROOT_V1, termsTuple(PROVEN_TERMS));
        await expect(tx).to.emit(registry, "VersionPublished").withArgs(1, 1, HASH_V1, URI_V1, ROOT_V1, NO_SIGNATURE);
      });

      it("writes the root's storage word only when the root is non-zero (one word more than without)", async function () {
        const { registry, owner } = await loadFixture(deployRegistryFixture);
        const without = await registry.connect(owner).registerModel(HASH_V1, URI_V1, TERMS, NO_ROOT, NO_SIGNATURE);
        const withRoot = await registry.connect(owner).registerModel(HASH_V2, URI_V1, TERMS, ROOT_V1, NO_SIGNATURE);
        expect(await storageWritesOf(withRoot.hash)).to.equal((await storageWritesOf(without.hash)) + 1);
      });
    });

    describe("when the mode is Proven and the weights root is zero", function () {
      it("reverts with ModelRegistryWeightsRootRequired naming the new model and version 1", async function () {
        const { registry, owner } = await loadFixture(registeredModelFixture);
        await expect(registry.connect(owner).registerModel(HASH_V2, URI_V2, PROVEN_TERMS, NO_ROOT, NO_SIGNATURE))
          .to.be.revertedWithCustomError(registry, "ModelRegistryWeightsRootRequired")
          .withArgs(2, 1);
        expect(await registry.modelCount()).to.equal(1n);
      });
    });

    describe("when the mode is Proven and a committee bound is broken", function () {
      it("reverts with ModelRegistryInvalidCommitteeSize: the bounds hold in every mode", async function () {
        const { registry, owner } = await loadFixture(deployRegistryFixture);
        const terms = { ...PROVEN_TERMS, committeeSize: 2 };
        await expect(registry.connect(owner).registerModel(HASH_V1, URI_V1, terms, ROOT_V1, NO_SIGNATURE))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidCommitteeSize")
          .withArgs(2);
      });
    });

    describe("when the mode is not a VerificationMode (4)", function () {
      it("reverts without a reason (the ABI decoder refuses the enum)", async function () {
        const { registry, owner } = await loadFixture(deployRegistryFixture);
        const data = registry.interface
          .encodeFunctionData("registerModel", [HASH_V1, URI_V1, { ...PROVEN_TERMS, mode: 3 }, ROOT_V1, NO_SIGNATURE])
          .replace(
            ethers.AbiCoder.defaultAbiCoder().encode(["uint8"], [3]).slice(2),
            ethers.AbiCoder.defaultAbiCoder().encode(["uint8"], [4]).slice(2),
          );
        await expect(owner.sendTransaction({ to: await registry.getAddress(), data })).to.be.revertedWithoutReason();
      });
    });
  });

  describe("#publishVersion", function () {
    describe("when the owner publishes a new hash", function () {
      it("returns the next version number", async function () {
        const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
        expect(
          await registry.connect(owner).publishVersion.staticCall(modelId, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE),
        ).to.equal(2n);
      });

      it("emits VersionPublished only", async function () {
        const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
        const tx = await registry.connect(owner).publishVersion(modelId, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE);
        await expect(tx)
          .to.emit(registry, "VersionPublished")
          .withArgs(modelId, 2, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE);
        const { events } = await registryEvents(registry, tx);
        expect(events.map((e) => e.name)).to.deep.equal(["VersionPublished"]);
      });

      it("stores the version and counts it", async function () {
        const { registry, owner, modelId, publishedAtV2 } = await loadFixture(twoVersionsFixture);
        expectVersion(await registry.getVersion(modelId, 2), {
          contentHash: HASH_V2,
          publishedAt: publishedAtV2,
          uri: URI_V2,
        });
        expectModel(await registry.getModel(modelId), {
          owner: owner.address,
          versionCount: 2,
          deprecated: false,
          pendingOwner: ethers.ZeroAddress,
          terms: TERMS,
        });
      });

      it("records the new hash for the caller and keeps the old one", async function () {
        const { registry, owner } = await loadFixture(twoVersionsFixture);
        expect(await registry.findContentHash(owner.address, HASH_V2)).to.deep.equal([1n, 2n]);
        expect(await registry.findContentHash(owner.address, HASH_V1)).to.deep.equal([1n, 1n]);
      });

      it("leaves earlier versions unchanged", async function () {
        const { registry, owner, modelId, publishedAt } = await loadFixture(twoVersionsFixture);
        await registry.connect(owner).publishVersion(modelId, HASH_V3, URI_V3, NO_ROOT, NO_SIGNATURE);
        expectVersion(await registry.getVersion(modelId, 1), { contentHash: HASH_V1, publishedAt, uri: URI_V1 });
        expect((await registry.getVersion(modelId, 2)).contentHash).to.equal(HASH_V2);
        expect((await registry.getVersion(modelId, 2)).uri).to.equal(URI_V2);
      });

      it("numbers versions in order", async function () {
        const { registry, owner, modelId } = await loadFixture(twoVersionsFixture);
        await expect(registry.connect(owner).publishVersion(modelId, HASH_V3, URI_V3, NO_ROOT, NO_SIGNATURE))
          .to.emit(registry, "VersionPublished")
          .withArgs(modelId, 3, HASH_V3, URI_V3, NO_ROOT, NO_SIGNATURE);
        expect((await registry.getModel(modelId)).versionCount).to.equal(3n);
        expect(await registry.findContentHash(owner.address, HASH_V3)).to.deep.equal([1n, 3n]);
      });

      it("numbers each model's versions on their own", async function () {
        const { registry, owner, other, modelId, otherModelId } = await loadFixture(twoModelsFixture);
        await registry.connect(owner).publishVersion(modelId, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE);
        await expect(registry.connect(other).publishVersion(otherModelId, HASH_V3, URI_V3, NO_ROOT, NO_SIGNATURE))
          .to.emit(registry, "VersionPublished")
          .withArgs(otherModelId, 2, HASH_V3, URI_V3, NO_ROOT, NO_SIGNATURE);
        expect(await registry.findContentHash(other.address, HASH_V3)).to.deep.equal([2n, 2n]);
        expect((await registry.getVersion(modelId, 2)).contentHash).to.equal(HASH_V2);
        expect((await registry.getVersion(otherModelId, 2)).contentHash).to.equal(HASH_V3);
      });

      it("makes new jobs run on the new version", async function () {
        const { registry, owner, modelId } = await loadFixture(twoVersionsFixture);
        expectJobTerms(await registry.jobTerms(modelId), {
          owner: owner.address,
          version: 2,
          contentHash: HASH_V2,
          terms: TERMS,
        });
      });

      it("accepts a URI of exactly 2048 bytes", async function () {
        const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
        const uri = uriOfLength(MAX_URI_BYTES);
        await registry.connect(owner).publishVersion(modelId, HASH_V2, uri, NO_ROOT, NO_SIGNATURE);
        expect((await registry.getVersion(modelId, 2)).uri).to.equal(uri);
      });

      it("accepts the URI of an earlier version (only hashes are unique)", async function () {
        const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
        await registry.connect(owner).publishVersion(modelId, HASH_V2, URI_V1, NO_ROOT, NO_SIGNATURE);
        expect((await registry.getVersion(modelId, 2)).uri).to.equal(URI_V1);
      });
    });

    describe("when the caller is not the owner", function () {
      it("reverts with ModelRegistryNotModelOwner", async function () {
        const { registry, other, modelId } = await loadFixture(registeredModelFixture);
        await expect(registry.connect(other).publishVersion(modelId, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotModelOwner")
          .withArgs(modelId, other.address);
      });
    });

    describe("when the caller owns another model", function () {
      it("reverts with ModelRegistryNotModelOwner", async function () {
        const { registry, other, modelId } = await loadFixture(twoModelsFixture);
        await expect(registry.connect(other).publishVersion(modelId, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotModelOwner")
          .withArgs(modelId, other.address);
      });
    });

    describe("when the model is deprecated", function () {
      it("reverts with ModelRegistryDeprecated", async function () {
        const { registry, owner, modelId } = await loadFixture(deprecatedModelFixture);
        await expect(registry.connect(owner).publishVersion(modelId, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE))
          .to.be.revertedWithCustomError(registry, "ModelRegistryDeprecated")
          .withArgs(modelId);
      });
    });

    describe("when the model does not exist", function () {
      it("reverts with ModelRegistryUnknownModel", async function () {
        const { registry, owner } = await loadFixture(registeredModelFixture);
        for (const id of [0, 2, 99]) {
          await expect(registry.connect(owner).publishVersion(id, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE))
            .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
            .withArgs(id);
        }
      });
    });

    describe("when the content hash is zero", function () {
      it("reverts with ModelRegistryZeroContentHash", async function () {
        const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
        await expect(
          registry.connect(owner).publishVersion(modelId, ZERO_HASH, URI_V2, NO_ROOT, NO_SIGNATURE),
        ).to.be.revertedWithCustomError(registry, "ModelRegistryZeroContentHash");
      });
    });

    describe("when the content hash is taken", function () {
      describe("by an earlier version of the same model", function () {
        it("reverts with ModelRegistryContentHashTaken", async function () {
          const { registry, owner, modelId } = await loadFixture(twoVersionsFixture);
          await expect(registry.connect(owner).publishVersion(modelId, HASH_V1, URI_V3, NO_ROOT, NO_SIGNATURE))
            .to.be.revertedWithCustomError(registry, "ModelRegistryContentHashTaken")
            .withArgs(HASH_V1, modelId, 1);
          await expect(registry.connect(owner).publishVersion(modelId, HASH_V2, URI_V3, NO_ROOT, NO_SIGNATURE))
            .to.be.revertedWithCustomError(registry, "ModelRegistryContentHashTaken")
            .withArgs(HASH_V2, modelId, 2);
          expect((await registry.getModel(modelId)).versionCount).to.equal(2n);
        });
      });

      describe("by another model of the caller", function () {
        it("reverts with ModelRegistryContentHashTaken", async function () {
          const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
          await registry.connect(owner).registerModel(HASH_V3, URI_V3, TERMS, NO_ROOT, NO_SIGNATURE);
          await expect(registry.connect(owner).publishVersion(modelId, HASH_V3, URI_V2, NO_ROOT, NO_SIGNATURE))
            .to.be.revertedWithCustomError(registry, "ModelRegistryContentHashTaken")
            .withArgs(HASH_V3, 2, 1);
        });
      });
    });

    describe("when another account published the content hash", function () {
      it("publishes it as the caller's new version", async function () {
        const { registry, owner, other, modelId, otherModelId } = await loadFixture(twoModelsFixture);
        await expect(registry.connect(owner).publishVersion(modelId, HASH_OTHER, URI_V2, NO_ROOT, NO_SIGNATURE))
          .to.emit(registry, "VersionPublished")
          .withArgs(modelId, 2, HASH_OTHER, URI_V2, NO_ROOT, NO_SIGNATURE);
        await expect(registry.connect(other).publishVersion(otherModelId, HASH_V1, URI_V2, NO_ROOT, NO_SIGNATURE))
          .to.emit(registry, "VersionPublished")
          .withArgs(otherModelId, 2, HASH_V1, URI_V2, NO_ROOT, NO_SIGNATURE);
        expect(await registry.findContentHash(owner.address, HASH_OTHER)).to.deep.equal([modelId, 2n]);
        expect(await registry.findContentHash(other.address, HASH_OTHER)).to.deep.equal([otherModelId, 1n]);
        expect(await registry.findContentHash(other.address, HASH_V1)).to.deep.equal([otherModelId, 2n]);
      });

      it("publishes the bytes a previous owner published in the same model, as a new version", async function () {
        const { registry, owner, newOwner, modelId } = await loadFixture(transferredModelFixture);
        await expect(registry.connect(newOwner).publishVersion(modelId, HASH_V1, URI_V2, NO_ROOT, NO_SIGNATURE))
          .to.emit(registry, "VersionPublished")
          .withArgs(modelId, 2, HASH_V1, URI_V2, NO_ROOT, NO_SIGNATURE);
        expect(await registry.findContentHash(newOwner.address, HASH_V1)).to.deep.equal([modelId, 2n]);
        expect(await registry.findContentHash(owner.address, HASH_V1)).to.deep.equal([modelId, 1n]);
      });
    });

    describe("when the URI is empty", function () {
      it("reverts with ModelRegistryInvalidUri", async function () {
        const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
        await expect(registry.connect(owner).publishVersion(modelId, HASH_V2, "", NO_ROOT, NO_SIGNATURE))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidUri")
          .withArgs(0, MAX_URI_BYTES);
      });
    });

    describe("when the URI is 2049 bytes", function () {
      it("reverts with ModelRegistryInvalidUri", async function () {
        const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
        await expect(
          registry
            .connect(owner)
            .publishVersion(modelId, HASH_V2, uriOfLength(MAX_URI_BYTES + 1), NO_ROOT, NO_SIGNATURE),
        )
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidUri")
          .withArgs(MAX_URI_BYTES + 1, MAX_URI_BYTES);
      });
    });

    describe("when the version has a weights root", function () {
      it("stores it, emits it and leaves the earlier version's root alone", async function () {
        const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
        const tx = await registry.connect(owner).publishVersion(modelId, HASH_V2, URI_V2, ROOT_V2, NO_SIGNATURE);
        await expect(tx)
          .to.emit(registry, "VersionPublished")
          .withArgs(modelId, 2, HASH_V2, URI_V2, ROOT_V2, NO_SIGNATURE);
        const { timestamp } = await registryEvents(registry, tx);
        expectVersion(await registry.getVersion(modelId, 2), {
          contentHash: HASH_V2,
          publishedAt: timestamp,
          uri: URI_V2,
          weightsRoot: ROOT_V2,
        });
        expect(await registry.getWeightsRoot(modelId, 1)).to.equal(NO_ROOT);
        expect(await registry.getWeightsRoot(modelId, 2)).to.equal(ROOT_V2);
      });
    });

    describe("when the model is Proven", function () {
      it("publishes a version with a non-zero root", async function () {
        const { registry, owner, modelId } = await loadFixture(provenModelFixture);
        await expect(registry.connect(owner).publishVersion(modelId, HASH_V2, URI_V2, ROOT_V2, NO_SIGNATURE))
          .to.emit(registry, "VersionPublished")
          .withArgs(modelId, 2, HASH_V2, URI_V2, ROOT_V2, NO_SIGNATURE);
        expect(await registry.getWeightsRoot(modelId, 2)).to.equal(ROOT_V2);
        expect((await registry.jobTerms(modelId)).version).to.equal(2n);
      });

      it("reverts with ModelRegistryWeightsRootRequired for a zero root, naming the version it would be", async function () {
        const { registry, owner, modelId } = await loadFixture(provenModelFixture);
        await expect(registry.connect(owner).publishVersion(modelId, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE))
          .to.be.revertedWithCustomError(registry, "ModelRegistryWeightsRootRequired")
          .withArgs(modelId, 2);
        expect((await registry.getModel(modelId)).versionCount).to.equal(1n);
      });
    });
  });

  describe("#setTerms", function () {
    describe("when the owner sets valid terms", function () {
      it("replaces the stored terms", async function () {
        const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
        await registry.connect(owner).setTerms(modelId, NEW_TERMS);
        expectModel(await registry.getModel(modelId), {
          owner: owner.address,
          versionCount: 1,
          deprecated: false,
          pendingOwner: ethers.ZeroAddress,
          terms: NEW_TERMS,
        });
      });

      it("emits TermsUpdated with the new terms", async function () {
        const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
        const tx = await registry.connect(owner).setTerms(modelId, NEW_TERMS);
        await expect(tx).to.emit(registry, "TermsUpdated").withArgs(modelId, termsTuple(NEW_TERMS));
        const { events } = await registryEvents(registry, tx);
        expect(events.map((e) => e.name)).to.deep.equal(["TermsUpdated"]);
        expect(events[0].args.modelId).to.equal(modelId);
        expect(toTerms(events[0].args.terms as IModelRegistry.ModelTermsStructOutput)).to.deep.equal(NEW_TERMS);
      });

      it("changes the terms of jobs snapshotted afterwards only", async function () {
        const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
        const before = await registry.jobTerms(modelId);
        await registry.connect(owner).setTerms(modelId, NEW_TERMS);
        const after = await registry.jobTerms(modelId);
        expectJobTerms(before, { owner: owner.address, version: 1, contentHash: HASH_V1, terms: TERMS });
        expectJobTerms(after, { owner: owner.address, version: 1, contentHash: HASH_V1, terms: NEW_TERMS });
      });

      it("leaves the versions and other models alone", async function () {
        const { registry, owner, modelId, otherModelId, publishedAt } = await loadFixture(twoModelsFixture);
        await registry.connect(owner).setTerms(modelId, termsWith({ price: 1n }));
        expectVersion(await registry.getVersion(modelId, 1), { contentHash: HASH_V1, publishedAt, uri: URI_V1 });
        expect(toTerms((await registry.getModel(otherModelId)).terms)).to.deep.equal(NEW_TERMS);
      });

      for (const { when, terms } of BOUNDARY_TERMS) {
        it(`accepts terms where ${when}`, async function () {
          const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
          await expect(registry.connect(owner).setTerms(modelId, terms))
            .to.emit(registry, "TermsUpdated")
            .withArgs(modelId, termsTuple(terms));
          expect(toTerms((await registry.getModel(modelId)).terms)).to.deep.equal(terms);
        });
      }
    });

    for (const { when, terms, error, args } of INVALID_TERMS) {
      describe(`when ${when}`, function () {
        it(`reverts with ${error}`, async function () {
          const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
          await expect(registry.connect(owner).setTerms(modelId, terms))
            .to.be.revertedWithCustomError(registry, error)
            .withArgs(...args);
        });
      });
    }

    describe("when the caller is not the owner", function () {
      it("reverts with ModelRegistryNotModelOwner", async function () {
        const { registry, other, modelId } = await loadFixture(registeredModelFixture);
        await expect(registry.connect(other).setTerms(modelId, NEW_TERMS))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotModelOwner")
          .withArgs(modelId, other.address);
      });
    });

    describe("when the model does not exist", function () {
      it("reverts with ModelRegistryUnknownModel", async function () {
        const { registry, owner } = await loadFixture(registeredModelFixture);
        await expect(registry.connect(owner).setTerms(42, NEW_TERMS))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
          .withArgs(42);
      });
    });

    describe("when the model is deprecated", function () {
      it("still lets the owner update the terms (only owner is required)", async function () {
        const { registry, owner, modelId } = await loadFixture(deprecatedModelFixture);
        await expect(registry.connect(owner).setTerms(modelId, NEW_TERMS))
          .to.emit(registry, "TermsUpdated")
          .withArgs(modelId, termsTuple(NEW_TERMS));
        expect(toTerms((await registry.getModel(modelId)).terms)).to.deep.equal(NEW_TERMS);
      });
    });

    describe("when the terms switch to Proven", function () {
      it("reverts with ModelRegistryWeightsRootRequired when the latest version has no root", async function () {
        const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
        await expect(registry.connect(owner).setTerms(modelId, PROVEN_TERMS))
          .to.be.revertedWithCustomError(registry, "ModelRegistryWeightsRootRequired")
          .withArgs(modelId, 1);
      });

      it("looks at the latest version only: a root on an earlier one does not count", async function () {
        const { registry, owner } = await loadFixture(deployRegistryFixture);
        await registry.connect(owner).registerModel(HASH_V1, URI_V1, TERMS, ROOT_V1, NO_SIGNATURE);
        await registry.connect(owner).publishVersion(1, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE);
        await expect(registry.connect(owner).setTerms(1, PROVEN_TERMS))
          .to.be.revertedWithCustomError(registry, "ModelRegistryWeightsRootRequired")
          .withArgs(1, 2);
      });

      it("switches when the latest version has a root, and the snapshot then says Proven", async function () {
        const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
        await registry.connect(owner).publishVersion(modelId, HASH_V2, URI_V2, ROOT_V2, NO_SIGNATURE);
        await expect(registry.connect(owner).setTerms(modelId, PROVEN_TERMS))
          .to.emit(registry, "TermsUpdated")
          .withArgs(modelId, termsTuple(PROVEN_TERMS));
        await expectJobTermsHash(registry, modelId, {
          owner: owner.address,
          version: 2n,
          contentHash: HASH_V2,
          inputSize: 0n,
          terms: PROVEN_TERMS,
        });
      });
    });

    describe("when a Proven model switches to another mode", function () {
      it("switches (a root is allowed in any mode)", async function () {
        const { registry, owner, modelId } = await loadFixture(provenModelFixture);
        await expect(registry.connect(owner).setTerms(modelId, TERMS))
          .to.emit(registry, "TermsUpdated")
          .withArgs(modelId, termsTuple(TERMS));
        expect(await registry.getWeightsRoot(modelId, 1)).to.equal(ROOT_V1);
      });
    });
  });

  describe("#deprecate", function () {
    describe("when the owner deprecates", function () {
      it("emits ModelDeprecated", async function () {
        const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
        await expect(registry.connect(owner).deprecate(modelId)).to.emit(registry, "ModelDeprecated").withArgs(modelId);
      });

      it("marks the model deprecated and keeps the rest of it", async function () {
        const { registry, owner, modelId, publishedAt } = await loadFixture(deprecatedModelFixture);
        expectModel(await registry.getModel(modelId), {
          owner: owner.address,
          versionCount: 1,
          deprecated: true,
          pendingOwner: ethers.ZeroAddress,
          terms: TERMS,
        });
        expectVersion(await registry.getVersion(modelId, 1), { contentHash: HASH_V1, publishedAt, uri: URI_V1 });
        expect(await registry.findContentHash(owner.address, HASH_V1)).to.deep.equal([1n, 1n]);
      });

      it("makes jobTerms revert with ModelRegistryDeprecated", async function () {
        const { registry, modelId } = await loadFixture(deprecatedModelFixture);
        await expect(registry.jobTerms(modelId))
          .to.be.revertedWithCustomError(registry, "ModelRegistryDeprecated")
          .withArgs(modelId);
      });

      it("does not affect other models", async function () {
        const { registry, owner, other, modelId, otherModelId } = await loadFixture(twoModelsFixture);
        await registry.connect(owner).deprecate(modelId);
        expect((await registry.getModel(otherModelId)).deprecated).to.equal(false);
        expectJobTerms(await registry.jobTerms(otherModelId), {
          owner: other.address,
          version: 1,
          contentHash: HASH_OTHER,
          terms: NEW_TERMS,
        });
      });
    });

    describe("when the model is already deprecated", function () {
      it("reverts with ModelRegistryDeprecated", async function () {
        const { registry, owner, modelId } = await loadFixture(deprecatedModelFixture);
        await expect(registry.connect(owner).deprecate(modelId))
          .to.be.revertedWithCustomError(registry, "ModelRegistryDeprecated")
          .withArgs(modelId);
      });
    });

    describe("when the caller is not the owner", function () {
      it("reverts with ModelRegistryNotModelOwner", async function () {
        const { registry, other, modelId } = await loadFixture(registeredModelFixture);
        await expect(registry.connect(other).deprecate(modelId))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotModelOwner")
          .withArgs(modelId, other.address);
      });
    });

    describe("when the model does not exist", function () {
      it("reverts with ModelRegistryUnknownModel", async function () {
        const { registry, owner } = await loadFixture(registeredModelFixture);
        await expect(registry.connect(owner).deprecate(2))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
          .withArgs(2);
      });
    });
  });

  describe("#transferModelOwnership", function () {
    describe("when the owner offers the model", function () {
      it("emits ModelOwnershipTransferStarted", async function () {
        const { registry, owner, newOwner, modelId } = await loadFixture(registeredModelFixture);
        await expect(registry.connect(owner).transferModelOwnership(modelId, newOwner.address))
          .to.emit(registry, "ModelOwnershipTransferStarted")
          .withArgs(modelId, owner.address, newOwner.address);
      });

      it("records the pending owner and keeps the current owner", async function () {
        const { registry, owner, newOwner, modelId } = await loadFixture(pendingTransferFixture);
        expectModel(await registry.getModel(modelId), {
          owner: owner.address,
          versionCount: 1,
          deprecated: false,
          pendingOwner: newOwner.address,
          terms: TERMS,
        });
        expect((await registry.jobTerms(modelId)).owner).to.equal(owner.address);
      });

      it("leaves the owner's rights with the owner until the offer is accepted", async function () {
        const { registry, owner, newOwner, modelId } = await loadFixture(pendingTransferFixture);
        await expect(registry.connect(newOwner).publishVersion(modelId, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotModelOwner")
          .withArgs(modelId, newOwner.address);
        await expect(registry.connect(newOwner).transferModelOwnership(modelId, newOwner.address))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotModelOwner")
          .withArgs(modelId, newOwner.address);
        await registry.connect(owner).publishVersion(modelId, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE);
        expect((await registry.getModel(modelId)).versionCount).to.equal(2n);
      });

      it("replaces an earlier offer", async function () {
        const { registry, owner, newOwner, other, modelId } = await loadFixture(pendingTransferFixture);
        await expect(registry.connect(owner).transferModelOwnership(modelId, other.address))
          .to.emit(registry, "ModelOwnershipTransferStarted")
          .withArgs(modelId, owner.address, other.address);
        expect((await registry.getModel(modelId)).pendingOwner).to.equal(other.address);
        await expect(registry.connect(newOwner).acceptModelOwnership(modelId))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotPendingOwner")
          .withArgs(modelId, newOwner.address);
      });

      it("can offer a deprecated model", async function () {
        const { registry, owner, newOwner, modelId } = await loadFixture(deprecatedModelFixture);
        await registry.connect(owner).transferModelOwnership(modelId, newOwner.address);
        await registry.connect(newOwner).acceptModelOwnership(modelId);
        expect((await registry.getModel(modelId)).owner).to.equal(newOwner.address);
      });
    });

    describe("when the owner offers to the zero address", function () {
      it("cancels the pending offer", async function () {
        const { registry, owner, newOwner, modelId } = await loadFixture(pendingTransferFixture);
        await expect(registry.connect(owner).transferModelOwnership(modelId, ethers.ZeroAddress))
          .to.emit(registry, "ModelOwnershipTransferStarted")
          .withArgs(modelId, owner.address, ethers.ZeroAddress);
        expect((await registry.getModel(modelId)).pendingOwner).to.equal(ethers.ZeroAddress);
        expect((await registry.getModel(modelId)).owner).to.equal(owner.address);
        await expect(registry.connect(newOwner).acceptModelOwnership(modelId))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotPendingOwner")
          .withArgs(modelId, newOwner.address);
      });
    });

    describe("when the caller is not the owner", function () {
      it("reverts with ModelRegistryNotModelOwner", async function () {
        const { registry, other, modelId } = await loadFixture(registeredModelFixture);
        await expect(registry.connect(other).transferModelOwnership(modelId, other.address))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotModelOwner")
          .withArgs(modelId, other.address);
      });
    });

    describe("when the model does not exist", function () {
      it("reverts with ModelRegistryUnknownModel", async function () {
        const { registry, owner, newOwner } = await loadFixture(registeredModelFixture);
        await expect(registry.connect(owner).transferModelOwnership(3, newOwner.address))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
          .withArgs(3);
      });
    });
  });

  describe("#acceptModelOwnership", function () {
    describe("when the pending owner accepts", function () {
      it("emits ModelOwnershipTransferred", async function () {
        const { registry, owner, newOwner, modelId } = await loadFixture(pendingTransferFixture);
        await expect(registry.connect(newOwner).acceptModelOwnership(modelId))
          .to.emit(registry, "ModelOwnershipTransferred")
          .withArgs(modelId, owner.address, newOwner.address);
      });

      it("makes the pending owner the owner and clears the offer", async function () {
        const { registry, newOwner, modelId } = await loadFixture(transferredModelFixture);
        expectModel(await registry.getModel(modelId), {
          owner: newOwner.address,
          versionCount: 1,
          deprecated: false,
          pendingOwner: ethers.ZeroAddress,
          terms: TERMS,
        });
        expect((await registry.jobTerms(modelId)).owner).to.equal(newOwner.address);
      });

      it("cannot be accepted twice", async function () {
        const { registry, newOwner, modelId } = await loadFixture(transferredModelFixture);
        await expect(registry.connect(newOwner).acceptModelOwnership(modelId))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotPendingOwner")
          .withArgs(modelId, newOwner.address);
      });

      it("takes the owner's rights from the old owner", async function () {
        const { registry, owner, newOwner, modelId } = await loadFixture(transferredModelFixture);
        const calls = [
          () => registry.connect(owner).publishVersion(modelId, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE),
          () => registry.connect(owner).setTerms(modelId, NEW_TERMS),
          () => registry.connect(owner).deprecate(modelId),
          () => registry.connect(owner).transferModelOwnership(modelId, owner.address),
          () => registry.connect(owner).transferModelOwnership(modelId, newOwner.address),
        ];
        for (const call of calls) {
          await expect(call())
            .to.be.revertedWithCustomError(registry, "ModelRegistryNotModelOwner")
            .withArgs(modelId, owner.address);
        }
      });

      it("gives the owner's rights to the new owner", async function () {
        const { registry, owner, newOwner, modelId } = await loadFixture(transferredModelFixture);
        await expect(registry.connect(newOwner).publishVersion(modelId, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE))
          .to.emit(registry, "VersionPublished")
          .withArgs(modelId, 2, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE);
        await expect(registry.connect(newOwner).setTerms(modelId, NEW_TERMS))
          .to.emit(registry, "TermsUpdated")
          .withArgs(modelId, termsTuple(NEW_TERMS));
        await expect(registry.connect(newOwner).transferModelOwnership(modelId, owner.address))
          .to.emit(registry, "ModelOwnershipTransferStarted")
          .withArgs(modelId, newOwner.address, owner.address);
        await expect(registry.connect(newOwner).deprecate(modelId))
          .to.emit(registry, "ModelDeprecated")
          .withArgs(modelId);
      });

      it("lets the model be handed back", async function () {
        const { registry, owner, newOwner, modelId } = await loadFixture(transferredModelFixture);
        await registry.connect(newOwner).transferModelOwnership(modelId, owner.address);
        await expect(registry.connect(owner).acceptModelOwnership(modelId))
          .to.emit(registry, "ModelOwnershipTransferred")
          .withArgs(modelId, newOwner.address, owner.address);
        expect((await registry.getModel(modelId)).owner).to.equal(owner.address);
      });
    });

    describe("when the caller is not the pending owner", function () {
      it("reverts with ModelRegistryNotPendingOwner", async function () {
        const { registry, owner, other, modelId } = await loadFixture(pendingTransferFixture);
        for (const account of [other, owner]) {
          await expect(registry.connect(account).acceptModelOwnership(modelId))
            .to.be.revertedWithCustomError(registry, "ModelRegistryNotPendingOwner")
            .withArgs(modelId, account.address);
        }
      });
    });

    describe("when no transfer is pending", function () {
      it("reverts with ModelRegistryNotPendingOwner", async function () {
        const { registry, owner, newOwner, modelId } = await loadFixture(registeredModelFixture);
        for (const account of [newOwner, owner]) {
          await expect(registry.connect(account).acceptModelOwnership(modelId))
            .to.be.revertedWithCustomError(registry, "ModelRegistryNotPendingOwner")
            .withArgs(modelId, account.address);
        }
      });
    });

    describe("when the model does not exist", function () {
      it("reverts with ModelRegistryUnknownModel", async function () {
        const { registry, newOwner } = await loadFixture(pendingTransferFixture);
        await expect(registry.connect(newOwner).acceptModelOwnership(7))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
          .withArgs(7);
      });
    });
  });

  describe("#jobTerms", function () {
    describe("when the model takes jobs", function () {
      it("returns the owner, version 1, its hash and the terms", async function () {
        const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
        expectJobTerms(await registry.jobTerms(modelId), {
          owner: owner.address,
          version: 1,
          contentHash: HASH_V1,
          terms: TERMS,
        });
      });

      it("returns the latest version and its hash", async function () {
        const { registry, owner, modelId } = await loadFixture(twoVersionsFixture);
        await registry.connect(owner).publishVersion(modelId, HASH_V3, URI_V3, NO_ROOT, NO_SIGNATURE);
        expectJobTerms(await registry.jobTerms(modelId), {
          owner: owner.address,
          version: 3,
          contentHash: HASH_V3,
          terms: TERMS,
        });
      });

      it("returns each model's own snapshot", async function () {
        const { registry, owner, other, modelId, otherModelId } = await loadFixture(twoModelsFixture);
        expectJobTerms(await registry.jobTerms(modelId), {
          owner: owner.address,
          version: 1,
          contentHash: HASH_V1,
          terms: TERMS,
        });
        expectJobTerms(await registry.jobTerms(otherModelId), {
          owner: other.address,
          version: 1,
          contentHash: HASH_OTHER,
          terms: NEW_TERMS,
        });
      });
    });

    describe("when the model does not exist", function () {
      it("reverts with ModelRegistryUnknownModel", async function () {
        const { registry } = await loadFixture(registeredModelFixture);
        for (const id of [0, 2]) {
          await expect(registry.jobTerms(id))
            .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
            .withArgs(id);
        }
      });
    });

    describe("when the model is deprecated", function () {
      it("reverts with ModelRegistryDeprecated", async function () {
        const { registry, modelId } = await loadFixture(deprecatedModelFixture);
        await expect(registry.jobTerms(modelId))
          .to.be.revertedWithCustomError(registry, "ModelRegistryDeprecated")
          .withArgs(modelId);
      });
    });
  });

  describe("#jobTermsHash", function () {
    describe("when the model takes jobs", function () {
      it("is the hash of the snapshot after registerModel", async function () {
        const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
        await expectJobTermsHash(registry, modelId, {
          owner: owner.address,
          version: 1n,
          contentHash: HASH_V1,
          inputSize: 0n,
          terms: TERMS,
        });
      });

      it("is rewritten by publishVersion", async function () {
        const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
        const before = await registry.jobTermsHash(modelId);
        await registry.connect(owner).publishVersion(modelId, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE);
        const after = await expectJobTermsHash(registry, modelId, {
          owner: owner.address,
          version: 2n,
          contentHash: HASH_V2,
          inputSize: 0n,
          terms: TERMS,
        });
        expect(after).to.not.equal(before);
      });

      it("is rewritten by setTerms", async function () {
        const { registry, owner, modelId } = await loadFixture(twoVersionsFixture);
        const before = await registry.jobTermsHash(modelId);
        await registry.connect(owner).setTerms(modelId, NEW_TERMS);
        const after = await expectJobTermsHash(registry, modelId, {
          owner: owner.address,
          version: 2n,
          contentHash: HASH_V2,
          inputSize: 0n,
          terms: NEW_TERMS,
        });
        expect(after).to.not.equal(before);
      });

      it("is rewritten when the new owner accepts the model, not when it is offered", async function () {
        const { registry, owner, newOwner, modelId } = await loadFixture(registeredModelFixture);
        const before = await registry.jobTermsHash(modelId);
        await registry.connect(owner).transferModelOwnership(modelId, newOwner.address);
        expect(await registry.jobTermsHash(modelId)).to.equal(before);
        await registry.connect(newOwner).acceptModelOwnership(modelId);
        const after = await expectJobTermsHash(registry, modelId, {
          owner: newOwner.address,
          version: 1n,
          contentHash: HASH_V1,
          inputSize: 0n,
          terms: TERMS,
        });
        expect(after).to.not.equal(before);
      });

      it("is each model's own", async function () {
        const { registry, owner, other, modelId, otherModelId } = await loadFixture(twoModelsFixture);
        await expectJobTermsHash(registry, modelId, {
          owner: owner.address,
          version: 1n,
          contentHash: HASH_V1,
          inputSize: 0n,
          terms: TERMS,
        });
        await expectJobTermsHash(registry, otherModelId, {
          owner: other.address,
          version: 1n,
          contentHash: HASH_OTHER,
          inputSize: 0n,
          terms: NEW_TERMS,
        });
        await registry.connect(owner).setTerms(modelId, NEW_TERMS);
        await expectJobTermsHash(registry, otherModelId, {
          owner: other.address,
          version: 1n,
          contentHash: HASH_OTHER,
          inputSize: 0n,
          terms: NEW_TERMS,
        });
      });

      it("reads one storage word, where jobTerms reads several", async function () {
        const { registry, modelId } = await loadFixture(twoVersionsFixture);
        const { interface: abi } = registry;
        expect(await storageReadsOf(registry, abi.encodeFunctionData("jobTermsHash", [modelId]))).to.equal(1);
        expect(await storageReadsOf(registry, abi.encodeFunctionData("jobTerms", [modelId]))).to.be.greaterThan(1);
      });
    });

    describe("when the model is deprecated", function () {
      it("reverts with ModelRegistryDeprecated", async function () {
        const { registry, modelId } = await loadFixture(deprecatedModelFixture);
        await expect(registry.jobTermsHash(modelId))
          .to.be.revertedWithCustomError(registry, "ModelRegistryDeprecated")
          .withArgs(modelId);
      });

      it("still reverts after its terms change or it changes hands", async function () {
        const { registry, owner, newOwner, modelId } = await loadFixture(deprecatedModelFixture);
        await registry.connect(owner).setTerms(modelId, NEW_TERMS);
        await registry.connect(owner).transferModelOwnership(modelId, newOwner.address);
        await registry.connect(newOwner).acceptModelOwnership(modelId);
        await expect(registry.jobTermsHash(modelId))
          .to.be.revertedWithCustomError(registry, "ModelRegistryDeprecated")
          .withArgs(modelId);
      });
    });

    describe("when the model does not exist", function () {
      it("reverts with ModelRegistryUnknownModel", async function () {
        const { registry } = await loadFixture(registeredModelFixture);
        for (const id of [0n, 2n, ethers.MaxUint256]) {
          await expect(registry.jobTermsHash(id))
            .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
            .withArgs(id);
        }
      });
    });
  });

  describe("#hashJobTerms", function () {
    const SNAPSHOT: JobTerms = {
      owner: "0x" + "ab".repeat(20),
      version: 7n,
      contentHash: HASH_V3,
      inputSize: 0n,
      terms: NEW_TERMS,
    };
    const LARGEST: JobTerms = {
      owner: "0x" + "ff".repeat(20),
      version: ethers.MaxUint256,
      contentHash: "0x" + "ff".repeat(32),
      inputSize: 2n ** 64n - 1n,
      terms: {
        price: 2n ** 96n - 1n,
        mode: VerificationMode.Committee,
        committeeSize: 255,
        royaltyBps: 65_535,
        relTolerance: 2 ** 32 - 1,
        absTolerance: 2 ** 32 - 1,
      },
    };
    const ZERO: JobTerms = {
      owner: ethers.ZeroAddress,
      version: 0n,
      contentHash: ZERO_HASH,
      inputSize: 0n,
      terms: { price: 0n, mode: 0, committeeSize: 0, royaltyBps: 0, relTolerance: 0, absTolerance: 0 },
    };

    it("agrees with jobTermsHash of packages/sdk/src/params for any snapshot, whether or not a model has it", async function () {
      const { registry } = await loadFixture(deployRegistryFixture);
      for (const snapshot of [SNAPSHOT, LARGEST, ZERO]) {
        expect(await registry.hashJobTerms(snapshot)).to.equal(jobTermsHash(snapshot));
      }
    });

    it("is keccak256 of the ten fields, one ABI word each", async function () {
      const { registry } = await loadFixture(deployRegistryFixture);
      const t = SNAPSHOT.terms;
      const words = ethers.AbiCoder.defaultAbiCoder().encode(
        ["address", "uint256", "bytes32", "uint64", "uint96", "uint8", "uint8", "uint16", "uint32", "uint32"],
        [
          SNAPSHOT.owner,
          SNAPSHOT.version,
          SNAPSHOT.contentHash,
          SNAPSHOT.inputSize,
          t.price,
          t.mode,
          t.committeeSize,
          t.royaltyBps,
          t.relTolerance,
          t.absTolerance,
        ],
      );
      expect(await registry.hashJobTerms(SNAPSHOT)).to.equal(ethers.keccak256(words));
    });

    it("changes with every field", async function () {
      const { registry } = await loadFixture(deployRegistryFixture);
      const variants: JobTerms[] = [
        { ...SNAPSHOT, owner: "0x" + "ac".repeat(20) },
        { ...SNAPSHOT, version: 8n },
        { ...SNAPSHOT, contentHash: HASH_V2 },
        { ...SNAPSHOT, inputSize: 98n },
        ...Object.entries(SNAPSHOT.terms).map(([field, value]) => ({
          ...SNAPSHOT,
          terms: { ...SNAPSHOT.terms, [field]: typeof value === "bigint" ? value + 1n : value + 1 },
        })),
      ];
      const hashes = new Set([await registry.hashJobTerms(SNAPSHOT)]);
      for (const variant of variants) hashes.add(await registry.hashJobTerms(variant));
      expect(hashes.size).to.equal(1 + 4 + 6);
    });
  });

  describe("#modelCount", function () {
    it("is 0 for an empty registry", async function () {
      const { registry } = await loadFixture(deployRegistryFixture);
      expect(await registry.modelCount()).to.equal(0n);
    });

    it("counts registered models", async function () {
      const { registry } = await loadFixture(threeModelsFixture);
      expect(await registry.modelCount()).to.equal(3n);
    });

    it("does not count versions", async function () {
      const { registry } = await loadFixture(twoVersionsFixture);
      expect(await registry.modelCount()).to.equal(1n);
    });
  });

  describe("#getModel", function () {
    describe("when the model exists", function () {
      it("returns the stored model", async function () {
        const { registry, other, otherModelId } = await loadFixture(twoModelsFixture);
        expectModel(await registry.getModel(otherModelId), {
          owner: other.address,
          versionCount: 1,
          deprecated: false,
          pendingOwner: ethers.ZeroAddress,
          terms: NEW_TERMS,
        });
      });
    });

    describe("when the model does not exist", function () {
      it("reverts with ModelRegistryUnknownModel", async function () {
        const { registry } = await loadFixture(registeredModelFixture);
        for (const id of [0n, 2n, ethers.MaxUint256]) {
          await expect(registry.getModel(id))
            .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
            .withArgs(id);
        }
      });
    });

    describe("when the registry is empty", function () {
      it("reverts with ModelRegistryUnknownModel for id 1", async function () {
        const { registry } = await loadFixture(deployRegistryFixture);
        await expect(registry.getModel(1))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
          .withArgs(1);
      });
    });
  });

  describe("#getModels", function () {
    /** The owners of the models a page returns, which tell the fixture's models apart. */
    async function ownersOf(registry: ModelRegistry, fromId: bigint | number, count: bigint | number) {
      return (await registry.getModels(fromId, count)).map((model) => model.owner);
    }
    const addresses = (signers: HardhatEthersSigner[]) => signers.map((s) => s.address);

    it("returns the models of a page in id order, as getModel does", async function () {
      const { registry } = await loadFixture(threeModelsFixture);
      const page = await registry.getModels(1, 3);
      expect(page.length).to.equal(3);
      for (const [i, model] of page.entries()) {
        const stored = await registry.getModel(i + 1);
        expectModel(model, {
          owner: stored.owner,
          versionCount: Number(stored.versionCount),
          deprecated: stored.deprecated,
          pendingOwner: stored.pendingOwner,
          terms: toTerms(stored.terms),
        });
      }
      expect(page.map((m) => m.deprecated)).to.deep.equal([false, true, false]);
    });

    it("returns the owners of models 1..3 for (1, 3)", async function () {
      const { registry, modelOwners } = await loadFixture(threeModelsFixture);
      expect(await ownersOf(registry, 1, 3)).to.deep.equal(addresses(modelOwners));
    });

    it("starts a page at fromId", async function () {
      const { registry, modelOwners } = await loadFixture(threeModelsFixture);
      expect(await ownersOf(registry, 2, 1)).to.deep.equal([modelOwners[1].address]);
      expect(await ownersOf(registry, 3, 1)).to.deep.equal([modelOwners[2].address]);
    });

    it("treats fromId 0 as 1", async function () {
      const { registry, modelOwners } = await loadFixture(threeModelsFixture);
      expect(await ownersOf(registry, 0, 2)).to.deep.equal(addresses(modelOwners.slice(0, 2)));
      expect(await ownersOf(registry, 0, 3)).to.deep.equal(addresses(modelOwners));
    });

    it("clips count to the models left", async function () {
      const { registry, modelOwners } = await loadFixture(threeModelsFixture);
      expect(await ownersOf(registry, 2, 10)).to.deep.equal(addresses(modelOwners.slice(1)));
      expect(await ownersOf(registry, 3, 2)).to.deep.equal([modelOwners[2].address]);
      expect(await ownersOf(registry, 0, ethers.MaxUint256)).to.deep.equal(addresses(modelOwners));
    });

    it("returns an empty page past the end", async function () {
      const { registry } = await loadFixture(threeModelsFixture);
      expect(await registry.getModels(4, 1)).to.deep.equal([]);
      expect(await registry.getModels(100, 5)).to.deep.equal([]);
      expect(await registry.getModels(ethers.MaxUint256, ethers.MaxUint256)).to.deep.equal([]);
    });

    it("returns an empty page for count 0", async function () {
      const { registry } = await loadFixture(threeModelsFixture);
      expect(await registry.getModels(1, 0)).to.deep.equal([]);
    });

    it("returns an empty page for an empty registry", async function () {
      const { registry } = await loadFixture(deployRegistryFixture);
      expect(await registry.getModels(0, 10)).to.deep.equal([]);
      expect(await registry.getModels(1, 10)).to.deep.equal([]);
    });

    it("reports pending owners", async function () {
      const { registry, other } = await loadFixture(threeModelsFixture);
      const page = await registry.getModels(1, 3);
      expect(page.map((m) => m.pendingOwner)).to.deep.equal([ethers.ZeroAddress, ethers.ZeroAddress, other.address]);
    });
  });

  describe("#getVersion", function () {
    describe("when the version exists", function () {
      it("returns each version as published", async function () {
        const { registry, modelId, publishedAt, publishedAtV2 } = await loadFixture(twoVersionsFixture);
        expectVersion(await registry.getVersion(modelId, 1), { contentHash: HASH_V1, publishedAt, uri: URI_V1 });
        expectVersion(await registry.getVersion(modelId, 2), {
          contentHash: HASH_V2,
          publishedAt: publishedAtV2,
          uri: URI_V2,
        });
      });
    });

    describe("when the version is 0", function () {
      it("reverts with ModelRegistryUnknownVersion", async function () {
        const { registry, modelId } = await loadFixture(registeredModelFixture);
        await expect(registry.getVersion(modelId, 0))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownVersion")
          .withArgs(modelId, 0);
      });
    });

    describe("when the version is past the latest", function () {
      it("reverts with ModelRegistryUnknownVersion", async function () {
        const { registry, modelId } = await loadFixture(twoVersionsFixture);
        for (const version of [3n, 1000n, ethers.MaxUint256]) {
          await expect(registry.getVersion(modelId, version))
            .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownVersion")
            .withArgs(modelId, version);
        }
      });
    });

    describe("when the model does not exist", function () {
      it("reverts with ModelRegistryUnknownModel", async function () {
        const { registry } = await loadFixture(registeredModelFixture);
        await expect(registry.getVersion(5, 1))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
          .withArgs(5);
      });
    });
  });

  describe("#getWeightsRoot", function () {
    describe("when the version exists", function () {
      it("returns its root, zero for a version that is not a profile model", async function () {
        const { registry, owner } = await loadFixture(provenModelFixture);
        await registry.connect(owner).registerModel(HASH_V2, URI_V2, TERMS, NO_ROOT, NO_SIGNATURE);
        expect(await registry.getWeightsRoot(1, 1)).to.equal(ROOT_V1);
        expect(await registry.getWeightsRoot(2, 1)).to.equal(NO_ROOT);
      });

      it("reads the root's word and the model's first word, not the version's URI", async function () {
        const { registry } = await loadFixture(provenModelFixture);
        const data = registry.interface.encodeFunctionData("getWeightsRoot", [1, 1]);
        // The model's first word twice (its owner, then its version count), then the root.
        expect(await storageReadsOf(registry, data)).to.equal(3);
      });
    });

    describe("when the version is 0 or past the latest", function () {
      it("reverts with ModelRegistryUnknownVersion", async function () {
        const { registry, modelId } = await loadFixture(provenModelFixture);
        for (const version of [0n, 2n]) {
          await expect(registry.getWeightsRoot(modelId, version))
            .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownVersion")
            .withArgs(modelId, version);
        }
      });
    });

    describe("when the model does not exist", function () {
      it("reverts with ModelRegistryUnknownModel", async function () {
        const { registry } = await loadFixture(provenModelFixture);
        await expect(registry.getWeightsRoot(5, 1))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
          .withArgs(5);
      });
    });
  });

  describe("#findContentHash", function () {
    describe("when the publisher published the hash", function () {
      it("returns the model and version in which it published it", async function () {
        const { registry, owner, other, otherModelId } = await loadFixture(twoModelsFixture);
        await registry.connect(other).publishVersion(otherModelId, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE);
        expect(await registry.findContentHash(owner.address, HASH_V1)).to.deep.equal([1n, 1n]);
        expect(await registry.findContentHash(other.address, HASH_OTHER)).to.deep.equal([2n, 1n]);
        expect(await registry.findContentHash(other.address, HASH_V2)).to.deep.equal([2n, 2n]);
      });
    });

    describe("when several accounts published the same hash", function () {
      it("returns each publisher's own model", async function () {
        const { registry, owner, newOwner, other } = await loadFixture(registeredModelFixture);
        await registry.connect(other).registerModel(HASH_V1, URI_OTHER, TERMS, NO_ROOT, NO_SIGNATURE);
        await registry.connect(newOwner).registerModel(HASH_V2, URI_V2, TERMS, NO_ROOT, NO_SIGNATURE);
        await registry.connect(newOwner).publishVersion(3, HASH_V1, URI_V1, NO_ROOT, NO_SIGNATURE);
        expect(await registry.findContentHash(owner.address, HASH_V1)).to.deep.equal([1n, 1n]);
        expect(await registry.findContentHash(other.address, HASH_V1)).to.deep.equal([2n, 1n]);
        expect(await registry.findContentHash(newOwner.address, HASH_V1)).to.deep.equal([3n, 2n]);
      });
    });

    describe("when the publisher never published the hash", function () {
      it("returns (0, 0)", async function () {
        const { registry, owner, other } = await loadFixture(registeredModelFixture);
        expect(await registry.findContentHash(owner.address, HASH_UNPUBLISHED)).to.deep.equal([0n, 0n]);
        expect(await registry.findContentHash(owner.address, ZERO_HASH)).to.deep.equal([0n, 0n]);
        expect(await registry.findContentHash(other.address, HASH_V1)).to.deep.equal([0n, 0n]);
        expect(await registry.findContentHash(ethers.ZeroAddress, HASH_V1)).to.deep.equal([0n, 0n]);
      });
    });

    describe("when a publication reverted", function () {
      it("returns (0, 0)", async function () {
        const { registry, owner, modelId } = await loadFixture(deprecatedModelFixture);
        await expect(registry.connect(owner).publishVersion(modelId, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE))
          .to.be.revertedWithCustomError(registry, "ModelRegistryDeprecated")
          .withArgs(modelId);
        expect(await registry.findContentHash(owner.address, HASH_V2)).to.deep.equal([0n, 0n]);
      });
    });
  });

  describe("input/output signatures", function () {
    /** One uint8 image [1,3,8,8]: 8 + 2 + 5 + 2 + 32 + 192 = 241 bytes of input. */
    const OTHER_SIGNATURE: IoSignature = {
      inputs: [{ name: "image", type: "uint8", shape: [1, 3, 8, 8] }],
      outputs: [{ name: "logits", type: "float32", shape: [1, 10] }],
    };
    const OTHER_SIGNATURE_BYTES = ethers.hexlify(encodeSignature(OTHER_SIGNATURE));
    const OTHER_INPUT_SIZE = 241n;

    /** The example's bytes with `hex` written at byte `at` (or appended at the end). */
    const patched = (at: number, hex: string): string => {
      const bytes = ethers.getBytes(SIGNATURE_BYTES);
      const patch = ethers.getBytes(hex);
      const out = new Uint8Array(Math.max(bytes.length, at + patch.length));
      out.set(bytes);
      out.set(patch, at);
      return ethers.hexlify(out);
    };
    /** Signatures IoSignatureLib refuses, with the offset it names (test/libraries/IoSignatureLib.test.ts has all). */
    const MALFORMED: { what: string; bytes: string; offset: number }[] = [
      { what: "a magic other than TMS1", bytes: patched(0, ethers.hexlify(ethers.toUtf8Bytes("TML1"))), offset: 0 },
      { what: "bytes cut short", bytes: ethers.dataSlice(SIGNATURE_BYTES, 0, 98), offset: 98 },
      { what: "a byte after the last output", bytes: patched(99, "0x00"), offset: 99 },
      // "features" starts at 8: length 2, name 8, type 1, rank 1, then its first dimension at 20.
      { what: "a dynamic input dimension", bytes: patched(20, "0xffffffffffffffff"), offset: 20 },
      { what: "an input count of 0", bytes: patched(4, "0x00000000"), offset: 4 },
    ];

    describe("#registerModel with a signature", function () {
      it("stores its keccak256 and the size of its inputs on version 1", async function () {
        const { registry, modelId, publishedAt } = await loadFixture(signedModelFixture);
        expect(signatureInputSize(SIGNATURE)).to.equal(SIGNATURE_INPUT_SIZE);
        expectVersion(await registry.getVersion(modelId, 1), {
          contentHash: HASH_V1,
          publishedAt,
          uri: URI_V1,
          inputSize: SIGNATURE_INPUT_SIZE,
          ioSignatureHash: ethers.keccak256(SIGNATURE_BYTES),
        });
        expect(ethers.keccak256(SIGNATURE_BYTES)).to.equal(signatureHash(SIGNATURE));
      });

      it("emits the signature's bytes in VersionPublished", async function () {
        const { registry, owner } = await loadFixture(deployRegistryFixture);
        const tx = await registry.connect(owner).registerModel(HASH_V1, URI_V1, TERMS, NO_ROOT, SIGNATURE_BYTES);
        await expect(tx)
          .to.emit(registry, "ModelRegistered")
          .withArgs(1, owner.address, HASH_V1, URI_V1, NO_ROOT, termsTuple(TERMS));
        await expect(tx)
          .to.emit(registry, "VersionPublished")
          .withArgs(1, 1, HASH_V1, URI_V1, NO_ROOT, SIGNATURE_BYTES);
      });

      it("puts the input size in the job terms and in their hash", async function () {
        const { registry, owner, modelId } = await loadFixture(signedModelFixture);
        const snapshot = {
          owner: owner.address,
          version: 1n,
          contentHash: HASH_V1,
          inputSize: SIGNATURE_INPUT_SIZE,
          terms: TERMS,
        };
        expectJobTerms(await registry.jobTerms(modelId), { ...snapshot, version: 1 });
        const stored = await expectJobTermsHash(registry, modelId, snapshot);
        expect(stored).to.not.equal(jobTermsHash({ ...snapshot, inputSize: 0n }));
      });

      it("writes the signature's words only when one is declared (its hash and size, two more than without)", async function () {
        const { registry, owner } = await loadFixture(deployRegistryFixture);
        const without = await registry.connect(owner).registerModel(HASH_V1, URI_V1, TERMS, NO_ROOT, NO_SIGNATURE);
        const signed = await registry.connect(owner).registerModel(HASH_V2, URI_V1, TERMS, NO_ROOT, SIGNATURE_BYTES);
        expect(await storageWritesOf(signed.hash)).to.equal((await storageWritesOf(without.hash)) + 2);
        expectVersion(await registry.getVersion(1, 1), {
          contentHash: HASH_V1,
          publishedAt: (await registryEvents(registry, without)).timestamp,
          uri: URI_V1,
        });
      });
    });

    describe("#publishVersion with a signature", function () {
      it("stores it on the new version, emits its bytes, and puts its input size in the snapshot", async function () {
        const { registry, owner, modelId, publishedAt } = await loadFixture(signedModelFixture);
        const tx = await registry
          .connect(owner)
          .publishVersion(modelId, HASH_V2, URI_V2, NO_ROOT, OTHER_SIGNATURE_BYTES);
        await expect(tx)
          .to.emit(registry, "VersionPublished")
          .withArgs(modelId, 2, HASH_V2, URI_V2, NO_ROOT, OTHER_SIGNATURE_BYTES);
        const { timestamp } = await registryEvents(registry, tx);
        expect(signatureInputSize(OTHER_SIGNATURE)).to.equal(OTHER_INPUT_SIZE);
        expectVersion(await registry.getVersion(modelId, 2), {
          contentHash: HASH_V2,
          publishedAt: timestamp,
          uri: URI_V2,
          inputSize: OTHER_INPUT_SIZE,
          ioSignatureHash: signatureHash(OTHER_SIGNATURE),
        });
        expectVersion(await registry.getVersion(modelId, 1), {
          contentHash: HASH_V1,
          publishedAt,
          uri: URI_V1,
          inputSize: SIGNATURE_INPUT_SIZE,
          ioSignatureHash: signatureHash(SIGNATURE),
        });
        const snapshot = {
          owner: owner.address,
          version: 2n,
          contentHash: HASH_V2,
          inputSize: OTHER_INPUT_SIZE,
          terms: TERMS,
        };
        expectJobTerms(await registry.jobTerms(modelId), { ...snapshot, version: 2 });
        await expectJobTermsHash(registry, modelId, snapshot);
      });

      it("declares one on a model registered without", async function () {
        const { registry, owner, modelId } = await loadFixture(registeredModelFixture);
        await registry.connect(owner).publishVersion(modelId, HASH_V2, URI_V2, NO_ROOT, SIGNATURE_BYTES);
        expect((await registry.getVersion(modelId, 1)).inputSize).to.equal(0n);
        expect((await registry.getVersion(modelId, 2)).inputSize).to.equal(SIGNATURE_INPUT_SIZE);
        expect((await registry.jobTerms(modelId)).inputSize).to.equal(SIGNATURE_INPUT_SIZE);
      });
    });

    describe("#publishVersion without a signature", function () {
      it("stores none on the new version and sets the snapshot's input size back to 0", async function () {
        const { registry, owner, modelId } = await loadFixture(signedModelFixture);
        const tx = await registry.connect(owner).publishVersion(modelId, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE);
        await expect(tx)
          .to.emit(registry, "VersionPublished")
          .withArgs(modelId, 2, HASH_V2, URI_V2, NO_ROOT, NO_SIGNATURE);
        const { timestamp } = await registryEvents(registry, tx);
        expectVersion(await registry.getVersion(modelId, 2), {
          contentHash: HASH_V2,
          publishedAt: timestamp,
          uri: URI_V2,
        });
        expect((await registry.getVersion(modelId, 1)).inputSize).to.equal(SIGNATURE_INPUT_SIZE);
        const snapshot = { owner: owner.address, version: 2n, contentHash: HASH_V2, inputSize: 0n, terms: TERMS };
        expectJobTerms(await registry.jobTerms(modelId), { ...snapshot, version: 2 });
        await expectJobTermsHash(registry, modelId, snapshot);
      });
    });

    for (const { what, bytes, offset } of MALFORMED) {
      describe(`when the signature has ${what}`, function () {
        it(`registerModel reverts with IoSignatureMalformed(${offset}) and registers nothing`, async function () {
          const { registry, owner } = await loadFixture(registeredModelFixture);
          expect(() => decodeSignature(ethers.getBytes(bytes))).to.throw(SignatureError);
          await expect(registry.connect(owner).registerModel(HASH_V2, URI_V2, TERMS, NO_ROOT, bytes))
            .to.be.revertedWithCustomError(registry, "IoSignatureMalformed")
            .withArgs(offset);
          expect(await registry.modelCount()).to.equal(1n);
          expect(await registry.findContentHash(owner.address, HASH_V2)).to.deep.equal([0n, 0n]);
        });

        it(`publishVersion reverts with IoSignatureMalformed(${offset}) and publishes nothing`, async function () {
          const { registry, owner, modelId } = await loadFixture(signedModelFixture);
          await expect(registry.connect(owner).publishVersion(modelId, HASH_V2, URI_V2, NO_ROOT, bytes))
            .to.be.revertedWithCustomError(registry, "IoSignatureMalformed")
            .withArgs(offset);
          expect((await registry.getModel(modelId)).versionCount).to.equal(1n);
          expect((await registry.jobTerms(modelId)).inputSize).to.equal(SIGNATURE_INPUT_SIZE);
        });
      });
    }
  });
});
