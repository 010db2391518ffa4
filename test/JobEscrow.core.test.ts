import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { parseEther, ZeroAddress, ZeroHash, type BigNumberish } from "ethers";
import {
  deployProtocolFixture,
  INPUT,
  MODEL_URI,
  OUTPUT,
  PRICE,
  STAKE,
  TEST_PARAMS,
  termsFor,
  WRONG_OUTPUT,
  type Job,
  type Protocol,
} from "./fixtures/protocol";
import {
  Behaviour,
  consumerFixture,
  type Consumers,
  DAY,
  escrowFactory,
  expectConservation,
  falseReturningFixture,
  feeOnTransferFixture,
  jobClaimedFixture,
  jobRequestedFixture,
  requestedEvent,
  settlement,
} from "./fixtures/escrow";
import {
  disputeWindowOf,
  JobOutcome,
  JobStatus,
  VerificationMode,
  type EscrowParams,
} from "../packages/sdk/src/params";
import { jobIdOf } from "../packages/sdk/src/job";
import { deployCore } from "../src/deploy/contracts";
import { currentTerms } from "../packages/sdk/src/terms";
import {
  abandonedSettlement,
  abandonmentSlash,
  acceptedSettlement,
  collateralFor,
} from "../packages/sdk/src/settlement";

const MAX_URI_BYTES = 2048;
const COLLATERAL = collateralFor(PRICE, TEST_PARAMS); // 3 tokens, above minCollateral
const bytesOf = (n: number): string => ethers.hexlify(new Uint8Array(n).fill(7));
const b32 = (s: string): string => ethers.encodeBytes32String(s);

async function deadlineIn(seconds: bigint): Promise<bigint> {
  return BigInt(await time.latest()) + seconds;
}

/** A job's current status. */
/** A job the ExampleConsumer requests for `f.requester` under the model's current terms, with a callback. */
async function consumerJob(f: Consumers, modelId: bigint, deadline: bigint, callbackGasLimit: number): Promise<Job> {
  const terms = await currentTerms(f.registry, modelId);
  return f.jobFrom(
    await f.consumer.connect(f.requester).requestInference(modelId, terms, INPUT, deadline, callbackGasLimit),
  );
}

async function statusOf(p: Protocol, jobId: BigNumberish): Promise<bigint> {
  return (await p.escrow.jobState(jobId)).status;
}

describe("JobEscrow (core)", function () {
  describe("#constructor", function () {
    async function ctorArgs() {
      const p = await loadFixture(deployProtocolFixture);
      const factory = await escrowFactory();
      const args = {
        token: await p.token.getAddress(),
        registry: await p.registry.getAddress(),
        staking: await p.staking.getAddress(),
        randomness: await p.randomness.getAddress(),
        treasury: p.treasury.address,
        governance: p.governance.address,
        params: { ...TEST_PARAMS } as EscrowParams,
      };
      const deploy = (a: typeof args) =>
        factory.deploy(a.token, a.registry, a.staking, a.randomness, a.treasury, a.governance, a.params);
      return { p, factory, args, deploy };
    }

    describe("when every argument is valid", function () {
      it("wires the contracts, treasury, owner and parameters and emits the initial settings", async function () {
        const { p, args, deploy } = await ctorArgs();
        const escrow = await deploy(args);
        const tx = escrow.deploymentTransaction()!;
        await expect(tx).to.emit(escrow, "TreasuryUpdated").withArgs(ZeroAddress, args.treasury);
        await expect(tx).to.emit(escrow, "RandomnessSourceUpdated").withArgs(ZeroAddress, args.randomness);
        await expect(tx).to.emit(escrow, "ParamsUpdated");
        expect(await escrow.token()).to.equal(args.token);
        expect(await escrow.registry()).to.equal(args.registry);
        expect(await escrow.staking()).to.equal(args.staking);
        expect(await escrow.randomnessSource()).to.equal(args.randomness);
        expect(await escrow.treasury()).to.equal(args.treasury);
        expect(await escrow.owner()).to.equal(p.governance.address);
        expect(await escrow.jobCount()).to.equal(0n);
        const params = await escrow.params();
        for (const [k, v] of Object.entries(TEST_PARAMS)) {
          expect(params[k as keyof EscrowParams], k).to.equal(v);
        }
      });
    });

    for (const field of ["token", "registry", "staking"] as const) {
      describe(`when the ${field} is the zero address`, function () {
        it("reverts with JobEscrowZeroAddress", async function () {
          const { factory, args, deploy } = await ctorArgs();
          await expect(deploy({ ...args, [field]: ZeroAddress })).to.be.revertedWithCustomError(
            factory,
            "JobEscrowZeroAddress",
          );
        });
      });
    }

    describe("when the staking contract stakes another token", function () {
      it("reverts with JobEscrowTokenMismatch(token, stakingToken)", async function () {
        const { p, factory, args, deploy } = await ctorArgs();
        const other = await ethers.deployContract("TestToken", [p.governance.address]);
        await expect(deploy({ ...args, token: await other.getAddress() }))
          .to.be.revertedWithCustomError(factory, "JobEscrowTokenMismatch")
          .withArgs(await other.getAddress(), args.token);
      });
    });

    describe("when the randomness source has no code", function () {
      it("reverts with JobEscrowRandomnessSourceUnusable for an EOA", async function () {
        const { p, factory, args, deploy } = await ctorArgs();
        await expect(deploy({ ...args, randomness: p.other.address }))
          .to.be.revertedWithCustomError(factory, "JobEscrowRandomnessSourceUnusable")
          .withArgs(p.other.address);
      });

      it("reverts with JobEscrowRandomnessSourceUnusable for the zero address", async function () {
        const { factory, args, deploy } = await ctorArgs();
        await expect(deploy({ ...args, randomness: ZeroAddress }))
          .to.be.revertedWithCustomError(factory, "JobEscrowRandomnessSourceUnusable")
          .withArgs(ZeroAddress);
      });
    });

    describe("when the treasury is the zero address", function () {
      it("reverts with JobEscrowZeroAddress", async function () {
        const { factory, args, deploy } = await ctorArgs();
        await expect(deploy({ ...args, treasury: ZeroAddress })).to.be.revertedWithCustomError(
          factory,
          "JobEscrowZeroAddress",
        );
      });
    });

    describe("when governance is the zero address", function () {
      it("reverts with OwnableInvalidOwner", async function () {
        const { factory, args, deploy } = await ctorArgs();
        await expect(deploy({ ...args, governance: ZeroAddress }))
          .to.be.revertedWithCustomError(factory, "OwnableInvalidOwner")
          .withArgs(ZeroAddress);
      });
    });

    describe("when the initial parameters are out of bounds", function () {
      it("reverts with JobEscrowInvalidParam", async function () {
        const { factory, args, deploy } = await ctorArgs();
        await expect(deploy({ ...args, params: { ...TEST_PARAMS, protocolFeeBps: 1001 } }))
          .to.be.revertedWithCustomError(factory, "JobEscrowInvalidParam")
          .withArgs(b32("protocolFeeBps"), 1001, 0, 1000);
      });

      it("reverts with JobEscrowDisputeWindowExceedsUnbonding when the windows outlast unbonding", async function () {
        const { factory, args, deploy } = await ctorArgs();
        const twoDays = 2 * 86_400;
        const params = {
          ...TEST_PARAMS,
          submissionWindow: twoDays,
          challengeWindow: twoDays,
          commitWindow: twoDays,
          revealWindow: twoDays,
        };
        await expect(deploy({ ...args, params }))
          .to.be.revertedWithCustomError(factory, "JobEscrowDisputeWindowExceedsUnbonding")
          .withArgs(disputeWindowOf(params), 7 * 86_400);
        expect(disputeWindowOf(params)).to.equal(5 * twoDays); // the draw window is as long as the commit window
      });
    });
  });

  describe("#requestInference", function () {
    describe("when the request is valid", function () {
      it("emits JobRequested with the full snapshot, identified by the hash of its fields", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const deadline = await deadlineIn(DAY);
        const tx = await p.requestTx(p.models.committee, { deadline: deadline });
        const ev = await requestedEvent(tx, p.escrow);
        const terms = termsFor(VerificationMode.Committee);
        const fields: Omit<Job, "id"> = {
          nonce: 1n,
          requester: p.requester.address,
          modelOwner: p.modelOwner.address,
          modelId: p.models.committee,
          version: 1n,
          mode: BigInt(VerificationMode.Committee),
          committeeSize: BigInt(terms.committeeSize),
          royaltyBps: BigInt(terms.royaltyBps),
          protocolFeeBps: BigInt(TEST_PARAMS.protocolFeeBps),
          verifierShareBps: BigInt(TEST_PARAMS.verifierShareBps),
          paramsId: 1n,
          callbackGasLimit: 0n,
          deadline,
          fee: PRICE,
          collateral: COLLATERAL,
          inputHash: ethers.keccak256(INPUT),
        };
        // The id is keccak256 of the ABI encoding of every field after it, taken here from the event's own ABI.
        const coder = ethers.AbiCoder.defaultAbiCoder();
        const jobType = p.escrow.interface.getEvent("JobRequested")!.inputs[3];
        const [idType, ...fieldTypes] = jobType.components!;
        expect(idType.name).to.equal("id");
        // The first word is the deployment's domain: keccak256(abi.encode(chainId, escrow)).
        const domain = ethers.keccak256(
          coder.encode(
            ["uint256", "address"],
            [(await ethers.provider.getNetwork()).chainId, await p.escrow.getAddress()],
          ),
        );
        const id = BigInt(
          ethers.keccak256(
            coder.encode(["bytes32", ...fieldTypes.map((t) => t.type)], [domain, ...Object.values(fields)]),
          ),
        );
        const expected: Job = { id, ...fields };
        for (const [k, v] of Object.entries(expected)) {
          expect(ev.job[k as keyof Job], k).to.equal(v);
        }
        expect(jobIdOf(expected, p.domain)).to.equal(id);
        expect(await p.escrow.jobIdOf(expected)).to.equal(id);
        expect(ev.jobId).to.equal(id);
        expect(ev.requester).to.equal(p.requester.address);
        expect(ev.modelId).to.equal(p.models.committee);
        expect(ev.input).to.equal(INPUT);
        expect(ev.inputUri).to.equal("");
        expect(ev.relTolerance).to.equal(BigInt(terms.relTolerance));
        expect(ev.absTolerance).to.equal(BigInt(terms.absTolerance));

        expect(await p.escrow.jobCount()).to.equal(1n);
        const state = await p.escrow.jobState(id);
        expect(state.status).to.equal(JobStatus.Requested);
        expect(state.worker).to.equal(ZeroAddress);
        expect(await p.escrow.outputHash(id)).to.equal(ZeroHash);
        await expectConservation(p);
      });

      it("pulls exactly the model's price, not maxFee", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const deadline = await deadlineIn(DAY);
        await expect(p.requestTx(p.models.none, { deadline: deadline })).to.changeTokenBalances(
          p.token,
          [p.requester, p.escrow],
          [-PRICE, PRICE],
        );
        await expectConservation(p);
      });

      it("returns the new job id", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await p.request(p.models.none);
        const deadline = await deadlineIn(DAY);
        const escrow = p.escrow.connect(p.requester);
        const returned = await escrow.requestInference.staticCall(
          p.models.none,
          await currentTerms(p.registry, p.models.none),
          INPUT,
          deadline,
          0,
        );
        const byUri = await escrow.requestInferenceByUri.staticCall(
          p.models.none,
          await currentTerms(p.registry, p.models.none),
          "ipfs://x",
          ethers.id("x"),
          deadline,
          0,
        );
        const job = await p.jobFrom(await p.requestTx(p.models.none, { deadline: deadline }));
        expect(job.nonce).to.equal(2n);
        expect(returned).to.equal(job.id);
        // The same request by URI differs only in the input hash, and so in the id.
        expect(byUri).to.equal(jobIdOf({ ...job, inputHash: ethers.id("x") }, p.domain));
        expect(byUri).not.to.equal(returned);
      });

      it("counts requests in the nonce, from 1 upwards, and ids each job by the hash of its fields", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const first = await p.request(p.models.none);
        const second = await p.request(p.models.optimistic);
        expect([first.nonce, second.nonce]).to.deep.equal([1n, 2n]);
        expect(await p.escrow.jobCount()).to.equal(2n);
        for (const job of [first, second]) {
          expect(job.id).to.equal(jobIdOf(job, p.domain));
          expect(await p.escrow.jobIdOf(job)).to.equal(job.id);
          expect((await p.escrow.jobState(job.id)).status).to.equal(JobStatus.Requested);
        }
        expect(first.id).not.to.equal(second.id);
      });

      it("gives two otherwise identical requests different ids through their nonces", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const deadline = await deadlineIn(DAY);
        const escrow = p.escrow.connect(p.requester);
        const first = await p.jobFrom(await p.requestTx(p.models.none, { deadline: deadline }));
        const second = await p.jobFrom(await p.requestTx(p.models.none, { deadline: deadline }));
        expect(second.nonce).to.equal(BigInt(first.nonce) + 1n);
        expect({ ...second, id: 0n, nonce: 0n }).to.deep.equal({ ...first, id: 0n, nonce: 0n });
        expect(second.id).not.to.equal(first.id);
        expect(jobIdOf({ ...second, nonce: first.nonce }, p.domain)).to.equal(first.id);
      });

      it("floors the collateral at minCollateral for a cheap model", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const cheap = parseEther("0.1"); // 0.15 tokens at 1.5x, below the 1 token floor
        await p.registry
          .connect(p.modelOwner)
          .setTerms(p.models.none, { ...termsFor(VerificationMode.None), price: cheap });
        const job = await p.request(p.models.none);
        expect(job.fee).to.equal(cheap);
        expect(job.collateral).to.equal(TEST_PARAMS.minCollateral);
      });

      it("snapshots the fee shares in force at request time", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await p.escrow
          .connect(p.governance)
          .setParams({ ...TEST_PARAMS, protocolFeeBps: 321, verifierShareBps: 2222, collateralRatioBps: 20_000 });
        const job = await p.request(p.models.none);
        expect(job.protocolFeeBps).to.equal(321n);
        expect(job.verifierShareBps).to.equal(2222n);
        expect(job.collateral).to.equal(PRICE * 2n);
      });

      it("accepts an input of exactly maxInputBytes", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const input = bytesOf(TEST_PARAMS.maxInputBytes);
        const job = await p.request(p.models.none, { input });
        expect(job.inputHash).to.equal(ethers.keccak256(input));
      });

      it("accepts a fee equal to maxFee and to minFee", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const deadline = await deadlineIn(DAY);
        await expect(p.requestTx(p.models.none, { deadline: deadline })).to.emit(p.escrow, "JobRequested");
        await p.registry
          .connect(p.modelOwner)
          .setTerms(p.models.none, { ...termsFor(VerificationMode.None), price: TEST_PARAMS.minFee });
        await expect(p.requestTx(p.models.none, { deadline: deadline })).to.changeTokenBalances(
          p.token,
          [p.requester, p.escrow],
          [-TEST_PARAMS.minFee, TEST_PARAMS.minFee],
        );
      });

      it("accepts a deadline of now + 1 and of now + maxJobDuration", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const max = BigInt(TEST_PARAMS.maxJobDuration);
        let next = BigInt(await time.latest()) + 10n;
        await time.setNextBlockTimestamp(next);
        await p.requestTx(p.models.none, { deadline: next + 1n });
        next += 10n;
        await time.setNextBlockTimestamp(next);
        await p.requestTx(p.models.none, { deadline: next + max });
        expect(await p.escrow.jobCount()).to.equal(2n);
      });
    });

    describe("when the input is empty", function () {
      it("reverts with JobEscrowEmptyInput", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await expect(
          p.requestTx(p.models.none, { input: "0x", deadline: await deadlineIn(DAY) }),
        ).to.be.revertedWithCustomError(p.escrow, "JobEscrowEmptyInput");
      });
    });

    describe("when the input is larger than maxInputBytes", function () {
      it("reverts with JobEscrowInputTooLarge", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const size = TEST_PARAMS.maxInputBytes + 1;
        await expect(p.requestTx(p.models.none, { input: bytesOf(size), deadline: await deadlineIn(DAY) }))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowInputTooLarge")
          .withArgs(size, TEST_PARAMS.maxInputBytes);
      });
    });

    describe("when the agreed terms are not the model's current snapshot", function () {
      // Each change the owner can make between a requester reading the terms and its request being mined.
      const changes: [string, (p: Protocol) => Promise<unknown>][] = [
        [
          "a new price",
          (p) =>
            p.registry
              .connect(p.modelOwner)
              .setTerms(p.models.committee, { ...termsFor(VerificationMode.Committee), price: PRICE / 2n }),
        ],
        [
          "the mode (Committee to None)",
          (p) => p.registry.connect(p.modelOwner).setTerms(p.models.committee, termsFor(VerificationMode.None)),
        ],
        [
          "a smaller committee",
          (p) => p.registry.connect(p.modelOwner).setTerms(p.models.committee, termsFor(VerificationMode.Committee, 1)),
        ],
        [
          "a looser tolerance",
          (p) =>
            p.registry
              .connect(p.modelOwner)
              .setTerms(p.models.committee, { ...termsFor(VerificationMode.Committee), relTolerance: 1e9 }),
        ],
        [
          "a higher royalty",
          (p) =>
            p.registry
              .connect(p.modelOwner)
              .setTerms(p.models.committee, { ...termsFor(VerificationMode.Committee), royaltyBps: 2000 }),
        ],
        [
          "a new version",
          (p) =>
            p.registry
              .connect(p.modelOwner)
              .publishVersion(p.models.committee, ethers.id("other bytes"), "ipfs://v2", ethers.ZeroHash, "0x"),
        ],
        [
          "a new owner",
          async (p) => {
            await p.registry.connect(p.modelOwner).transferModelOwnership(p.models.committee, p.other.address);
            await p.registry.connect(p.other).acceptModelOwnership(p.models.committee);
          },
        ],
      ];
      for (const [what, change] of changes) {
        it(`reverts with JobEscrowTermsChanged after ${what}, and moves no token`, async function () {
          const p = await loadFixture(deployProtocolFixture);
          const agreed = await currentTerms(p.registry, p.models.committee);
          await change(p);
          const current = await p.registry.jobTermsHash(p.models.committee);
          const tx = p.escrow
            .connect(p.requester)
            .requestInference(p.models.committee, agreed, INPUT, await deadlineIn(DAY), 0);
          await expect(tx)
            .to.be.revertedWithCustomError(p.escrow, "JobEscrowTermsChanged")
            .withArgs(p.models.committee, await p.registry.hashJobTerms(agreed), current);
          expect(await p.token.balanceOf(p.escrow)).to.equal(0n);
          expect(await p.escrow.jobCount()).to.equal(0n);
        });
      }

      it("reverts with JobEscrowTermsChanged for a snapshot with dirty high bits in a word", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const agreed = await currentTerms(p.registry, p.models.none);
        const data = p.escrow.interface.encodeFunctionData("requestInference", [
          p.models.none,
          agreed,
          INPUT,
          await deadlineIn(DAY),
          0,
        ]);
        // The snapshot's mode word (word 5 of the arguments) with a bit set above the uint8.
        const at = 2 + 8 + 64 * 5;
        const word = BigInt("0x" + data.slice(at, at + 64)) | (1n << 200n);
        const dirty = data.slice(0, at) + word.toString(16).padStart(64, "0") + data.slice(at + 64);
        await expect(p.requester.sendTransaction({ to: p.escrow, data: dirty })).to.be.reverted;
        expect(await p.escrow.jobCount()).to.equal(0n);
      });

      it("runs the job under exactly the agreed terms when they are current", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const agreed = await currentTerms(p.registry, p.models.committee);
        const job = await p.request(p.models.committee, { terms: agreed });
        expect([job.modelOwner, job.version, job.mode, job.committeeSize, job.royaltyBps, job.fee]).to.deep.equal([
          agreed.owner,
          agreed.version,
          BigInt(agreed.terms.mode),
          BigInt(agreed.terms.committeeSize),
          BigInt(agreed.terms.royaltyBps),
          agreed.terms.price,
        ]);
      });
    });
    describe("when the price is below minFee", function () {
      it("reverts with JobEscrowFeeTooLow", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const price = TEST_PARAMS.minFee - 1n;
        await p.registry.connect(p.modelOwner).setTerms(p.models.none, { ...termsFor(VerificationMode.None), price });
        await expect(p.requestTx(p.models.none, { deadline: await deadlineIn(DAY) }))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowFeeTooLow")
          .withArgs(p.models.none, price, TEST_PARAMS.minFee);
      });
    });

    describe("when the model is in Proven mode", function () {
      /** Model `none` switched to Proven: a version with a weights root, then Proven terms. */
      async function provenModel(p: Protocol): Promise<void> {
        const root = ethers.id("weights root");
        await p.registry
          .connect(p.modelOwner)
          .publishVersion(p.models.none, ethers.sha256(ethers.toUtf8Bytes("profile model")), MODEL_URI, root, "0x");
        await p.registry
          .connect(p.modelOwner)
          .setTerms(p.models.none, { ...termsFor(VerificationMode.None), mode: VerificationMode.Proven });
      }

      it("opens a Proven job like any other (proofs and settlement: test/JobEscrow.proven.test.ts)", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await provenModel(p);
        expect((await currentTerms(p.registry, p.models.none)).terms.mode).to.equal(VerificationMode.Proven);
        const tx = await p.requestTx(p.models.none, { deadline: await deadlineIn(DAY) });
        await expect(tx).to.emit(p.escrow, "JobRequested");
      });
    });

    describe("when the deadline is not in the future", function () {
      it("reverts with JobEscrowInvalidDeadline(deadline, latest)", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const now = BigInt(await time.latest()) + 10n;
        await time.setNextBlockTimestamp(now);
        await expect(p.requestTx(p.models.none, { deadline: now }))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowInvalidDeadline")
          .withArgs(now, now + BigInt(TEST_PARAMS.maxJobDuration));
      });
    });

    describe("when the deadline is beyond now + maxJobDuration", function () {
      it("reverts with JobEscrowInvalidDeadline(deadline, latest)", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const now = BigInt(await time.latest()) + 10n;
        const latest = now + BigInt(TEST_PARAMS.maxJobDuration);
        await time.setNextBlockTimestamp(now);
        await expect(p.requestTx(p.models.none, { deadline: latest + 1n }))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowInvalidDeadline")
          .withArgs(latest + 1n, latest);
      });
    });

    describe("when the callback gas is above maxCallbackGasLimit", function () {
      it("reverts with JobEscrowCallbackGasTooHigh", async function () {
        const { escrow, hostile, models } = await loadFixture(consumerFixture);
        const gas = TEST_PARAMS.maxCallbackGasLimit + 1;
        await expect(hostile.request(models.none, INPUT, PRICE, await deadlineIn(DAY), gas))
          .to.be.revertedWithCustomError(escrow, "JobEscrowCallbackGasTooHigh")
          .withArgs(gas, TEST_PARAMS.maxCallbackGasLimit);
      });
    });

    describe("when an EOA asks for a callback", function () {
      it("reverts with JobEscrowCallbackRequiresContract", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await expect(p.requestTx(p.models.none, { deadline: await deadlineIn(DAY), callbackGasLimit: 100_000 }))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowCallbackRequiresContract")
          .withArgs(p.requester.address);
      });
    });

    describe("when the model does not exist", function () {
      it("reverts with ModelRegistryUnknownModel", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await expect(
          p.escrow
            .connect(p.requester)
            .requestInference(99, await currentTerms(p.registry, p.models.none), INPUT, await deadlineIn(DAY), 0),
        )
          .to.be.revertedWithCustomError(p.registry, "ModelRegistryUnknownModel")
          .withArgs(99);
      });
    });

    describe("when the model is deprecated", function () {
      it("reverts with ModelRegistryDeprecated", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const agreed = await currentTerms(p.registry, p.models.none);
        await p.registry.connect(p.modelOwner).deprecate(p.models.none);
        await expect(
          p.escrow.connect(p.requester).requestInference(p.models.none, agreed, INPUT, await deadlineIn(DAY), 0),
        )
          .to.be.revertedWithCustomError(p.registry, "ModelRegistryDeprecated")
          .withArgs(p.models.none);
      });
    });

    describe("when the escrow is paused", function () {
      it("reverts with EnforcedPause", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await p.escrow.connect(p.governance).pause();
        await expect(p.requestTx(p.models.none, { deadline: await deadlineIn(DAY) })).to.be.revertedWithCustomError(
          p.escrow,
          "EnforcedPause",
        );
      });
    });

    describe("when the token charges a fee on transfer", function () {
      it("reverts with JobEscrowTransferShortfall(expected, received)", async function () {
        const f = await loadFixture(feeOnTransferFixture);
        const [, , , requester] = await ethers.getSigners();
        await expect(
          f.escrow
            .connect(requester)
            .requestInference(f.modelId, await currentTerms(f.registry, f.modelId), INPUT, await deadlineIn(DAY), 0),
        )
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowTransferShortfall")
          .withArgs(PRICE, PRICE - PRICE / 100n);
      });
    });

    describe("when the token returns false", function () {
      it("reverts with SafeERC20FailedOperation", async function () {
        const f = await loadFixture(falseReturningFixture);
        const [, , , requester] = await ethers.getSigners();
        await f.token.setFailing(true);
        await expect(
          f.escrow
            .connect(requester)
            .requestInference(f.modelId, await currentTerms(f.registry, f.modelId), INPUT, await deadlineIn(DAY), 0),
        )
          .to.be.revertedWithCustomError(f.escrow, "SafeERC20FailedOperation")
          .withArgs(await f.token.getAddress());
      });
    });

    describe("when the model changes after the request", function () {
      it("keeps the job's version and terms and settles at the old fee and royalty", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const old = await p.request(p.models.none);
        await p.registry
          .connect(p.modelOwner)
          .publishVersion(
            p.models.none,
            ethers.sha256(ethers.toUtf8Bytes("model none v2")),
            MODEL_URI,
            ethers.ZeroHash,
            "0x",
          );
        const newPrice = PRICE * 3n;
        await p.registry
          .connect(p.modelOwner)
          .setTerms(p.models.none, { ...termsFor(VerificationMode.None), price: newPrice, royaltyBps: 1000 });
        await p.escrow.connect(p.governance).setParams({ ...TEST_PARAMS, protocolFeeBps: 1000 });

        const fresh = await p.request(p.models.none);
        expect(fresh.version).to.equal(2n);
        expect(fresh.fee).to.equal(newPrice);
        expect(fresh.royaltyBps).to.equal(1000n);
        expect(old.version).to.equal(1n);
        expect(old.fee).to.equal(PRICE);

        const split = acceptedSettlement(old, TEST_PARAMS, 0); // 5% royalty and 2% protocol fee, as snapshotted
        expect(split.royalty).to.equal(PRICE / 20n);
        await expect(p.escrow.connect(p.worker).submitResult(old, OUTPUT))
          .to.emit(p.escrow, "JobSettled")
          .withArgs(old.id, JobOutcome.Accepted, settlement(split));
        expect(await p.escrow.balanceOf(p.worker)).to.equal(split.workerPayment);
        expect(await p.escrow.balanceOf(p.modelOwner)).to.equal(split.royalty);
        expect(await p.escrow.balanceOf(p.treasury)).to.equal(split.treasuryPayment);
        await expectConservation(p);
      });
    });
  });

  describe("#requestInferenceByUri", function () {
    /** The requester's request by URI on the None model, agreeing to its current terms. */
    async function requestByUri(p: Protocol, uri: string, hash: string, deadline: bigint) {
      const terms = await currentTerms(p.registry, p.models.none);
      return p.escrow.connect(p.requester).requestInferenceByUri(p.models.none, terms, uri, hash, deadline, 0);
    }
    const URI = "ipfs://bafyinput";
    const HASH = ethers.keccak256(ethers.toUtf8Bytes("big input"));

    describe("when the request is valid", function () {
      it("emits JobRequested with the URI and the given input hash, and pulls the fee", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const deadline = await deadlineIn(DAY);
        const terms = await currentTerms(p.registry, p.models.none);
        const call = () =>
          p.escrow.connect(p.requester).requestInferenceByUri(p.models.none, terms, URI, HASH, deadline, 0);
        await expect(call).to.changeTokenBalances(p.token, [p.requester, p.escrow], [-PRICE, PRICE]);
        const ev = await requestedEvent(await call(), p.escrow);
        expect(ev.input).to.equal("0x");
        expect(ev.inputUri).to.equal(URI);
        expect(ev.job.inputHash).to.equal(HASH);
        expect(ev.job.fee).to.equal(PRICE);
        expect(ev.job.deadline).to.equal(deadline);
        await expectConservation(p);
      });

      it("accepts a URI of exactly MAX_URI_BYTES", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await expect(requestByUri(p, "a".repeat(MAX_URI_BYTES), HASH, await deadlineIn(DAY))).to.emit(
          p.escrow,
          "JobRequested",
        );
      });
    });

    describe("when the URI is empty", function () {
      it("reverts with JobEscrowInvalidInputUri", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await expect(requestByUri(p, "", HASH, await deadlineIn(DAY)))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowInvalidInputUri")
          .withArgs(0, MAX_URI_BYTES);
      });
    });

    describe("when the URI is longer than MAX_URI_BYTES", function () {
      it("reverts with JobEscrowInvalidInputUri", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await expect(requestByUri(p, "a".repeat(MAX_URI_BYTES + 1), HASH, await deadlineIn(DAY)))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowInvalidInputUri")
          .withArgs(MAX_URI_BYTES + 1, MAX_URI_BYTES);
      });
    });

    describe("when the input hash is zero", function () {
      it("reverts with JobEscrowZeroInputHash", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await expect(requestByUri(p, URI, ZeroHash, await deadlineIn(DAY))).to.be.revertedWithCustomError(
          p.escrow,
          "JobEscrowZeroInputHash",
        );
      });
    });

    describe("when the escrow is paused", function () {
      it("reverts with EnforcedPause", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await p.escrow.connect(p.governance).pause();
        await expect(requestByUri(p, URI, HASH, await deadlineIn(DAY))).to.be.revertedWithCustomError(
          p.escrow,
          "EnforcedPause",
        );
      });
    });

    describe("when the deadline is in the past", function () {
      it("reverts with JobEscrowInvalidDeadline", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const now = BigInt(await time.latest()) + 10n;
        await time.setNextBlockTimestamp(now);
        await expect(requestByUri(p, URI, HASH, now - 1n))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowInvalidDeadline")
          .withArgs(now - 1n, now + BigInt(TEST_PARAMS.maxJobDuration));
      });
    });
  });

  describe("#claim", function () {
    describe("when the job is open", function () {
      it("emits JobClaimed with submitBy = now + submissionWindow and locks the collateral", async function () {
        const f = await loadFixture(jobRequestedFixture);
        const at = BigInt(await time.latest()) + 5n;
        await time.setNextBlockTimestamp(at);
        const submitBy = at + BigInt(TEST_PARAMS.submissionWindow);
        const tx = f.escrow.connect(f.worker).claim(f.job);
        await expect(tx).to.emit(f.escrow, "JobClaimed").withArgs(f.job.id, f.worker.address, COLLATERAL, submitBy);
        await expect(tx).to.emit(f.staking, "StakeLocked").withArgs(f.worker.address, COLLATERAL);
        expect(await f.staking.freeStakeOf(f.worker)).to.equal(STAKE - COLLATERAL);
        const state = await f.escrow.jobState(f.job.id);
        expect(state.status).to.equal(JobStatus.Claimed);
        expect(state.worker).to.equal(f.worker.address);
        expect(state.windowEnd).to.equal(submitBy);
        await expectConservation(f);
      });

      it("caps submitBy at the job's deadline", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const deadline = await deadlineIn(100n); // well inside one submission window
        const job = await p.request(p.models.none, { deadline });
        await expect(p.escrow.connect(p.worker).claim(job))
          .to.emit(p.escrow, "JobClaimed")
          .withArgs(job.id, p.worker.address, COLLATERAL, deadline);
        expect((await p.escrow.jobState(job.id)).windowEnd).to.equal(deadline);
      });

      it("can be claimed at exactly the deadline", async function () {
        const f = await loadFixture(jobRequestedFixture);
        await time.setNextBlockTimestamp(f.job.deadline);
        await expect(f.escrow.connect(f.worker).claim(f.job))
          .to.emit(f.escrow, "JobClaimed")
          .withArgs(f.job.id, f.worker.address, COLLATERAL, f.job.deadline);
      });
    });

    describe("when the job id is unknown", function () {
      it("reverts with JobEscrowUnknownJob", async function () {
        const f = await loadFixture(jobRequestedFixture);
        await expect(f.escrow.connect(f.worker).claim({ ...f.job, id: 99 }))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowUnknownJob")
          .withArgs(99);
      });

      it("reverts with JobEscrowUnknownJob for the true id of a job not yet requested", async function () {
        const f = await loadFixture(jobRequestedFixture);
        const next = { ...f.job, nonce: 2n };
        next.id = jobIdOf(next, f.domain);
        await expect(f.escrow.connect(f.worker).claim(next))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowUnknownJob")
          .withArgs(next.id);
      });

      it("checks the id before the fields: an unknown id with changed fields is JobEscrowUnknownJob", async function () {
        const f = await loadFixture(jobRequestedFixture);
        await expect(f.escrow.connect(f.worker).claim({ ...f.job, id: 99, fee: 1n }))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowUnknownJob")
          .withArgs(99);
      });
    });

    describe("when the job record does not match", function () {
      const tampered: Array<[keyof Job, (job: Job) => unknown]> = [
        ["nonce", (j) => BigInt(j.nonce) + 1n],
        ["requester", () => ethers.Wallet.createRandom().address],
        ["modelOwner", () => ethers.Wallet.createRandom().address],
        ["modelId", (j) => BigInt(j.modelId) + 1n],
        ["version", (j) => BigInt(j.version) + 1n],
        ["mode", () => VerificationMode.Committee],
        ["committeeSize", (j) => BigInt(j.committeeSize) + 2n],
        ["royaltyBps", () => 0],
        ["protocolFeeBps", () => 0],
        ["verifierShareBps", () => 0],
        ["paramsId", (j) => BigInt(j.paramsId) + 1n],
        ["callbackGasLimit", () => 1],
        ["deadline", (j) => BigInt(j.deadline) + 1n],
        ["fee", () => 1n],
        ["collateral", () => 1n],
        ["inputHash", () => ethers.keccak256("0x01")],
      ];
      for (const [field, value] of tampered) {
        it(`reverts with JobEscrowJobMismatch when ${field} is changed`, async function () {
          const f = await loadFixture(jobRequestedFixture);
          const changed = { ...f.job, [field]: value(f.job) };
          expect(await f.escrow.jobIdOf(changed), "the changed record hashes to another id").not.to.equal(f.job.id);
          await expect(f.escrow.connect(f.worker).claim(changed))
            .to.be.revertedWithCustomError(f.escrow, "JobEscrowJobMismatch")
            .withArgs(f.job.id);
        });
      }

      it("reverts with JobEscrowJobMismatch for one job's record under another job's id", async function () {
        const f = await loadFixture(jobRequestedFixture);
        const other = await f.request(f.models.none);
        await expect(f.escrow.connect(f.worker).claim({ ...f.job, id: other.id }))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowJobMismatch")
          .withArgs(other.id);
      });
    });

    describe("when the job is already claimed", function () {
      it("reverts with JobEscrowInvalidStatus(jobId, Claimed)", async function () {
        const f = await loadFixture(jobClaimedFixture);
        await expect(f.escrow.connect(f.other).claim(f.job))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowInvalidStatus")
          .withArgs(f.job.id, JobStatus.Claimed);
      });
    });

    describe("when the deadline has passed", function () {
      it("reverts with JobEscrowDeadlinePassed", async function () {
        const f = await loadFixture(jobRequestedFixture);
        await time.setNextBlockTimestamp(BigInt(f.job.deadline) + 1n);
        await expect(f.escrow.connect(f.worker).claim(f.job))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowDeadlinePassed")
          .withArgs(f.job.id, f.job.deadline);
      });
    });

    describe("when the worker's free stake is below the collateral", function () {
      it("reverts with VerifierStakingInsufficientStake from the staking contract", async function () {
        const f = await loadFixture(jobRequestedFixture);
        await f.staking.connect(f.other).stake(COLLATERAL - 1n);
        await expect(f.escrow.connect(f.other).claim(f.job))
          .to.be.revertedWithCustomError(f.staking, "VerifierStakingInsufficientStake")
          .withArgs(f.other.address, COLLATERAL - 1n, COLLATERAL);
      });
    });

    describe("when the escrow is paused", function () {
      it("reverts with EnforcedPause", async function () {
        const f = await loadFixture(jobRequestedFixture);
        await f.escrow.connect(f.governance).pause();
        await expect(f.escrow.connect(f.worker).claim(f.job)).to.be.revertedWithCustomError(f.escrow, "EnforcedPause");
      });
    });
  });

  describe("#submitResult (None mode)", function () {
    describe("when the worker submits a claimed job", function () {
      it("emits ResultSubmitted and JobSettled(Accepted) with the exact split", async function () {
        const f = await loadFixture(jobClaimedFixture);
        const split = acceptedSettlement(f.job, TEST_PARAMS, 0);
        expect(split).to.deep.equal({
          workerPayment: parseEther("1.86"),
          royalty: parseEther("0.1"),
          treasuryPayment: parseEther("0.04"),
          verifierReward: 0n,
          rewardedVerifiers: 0n,
          requesterRefund: 0n,
          challengerPayment: 0n,
          slashed: 0n,
        });
        const tx = f.escrow.connect(f.worker).submitResult(f.job, OUTPUT);
        await expect(tx)
          .to.emit(f.escrow, "ResultSubmitted")
          .withArgs(f.job.id, f.worker.address, ethers.keccak256(OUTPUT), OUTPUT, 0);
        await expect(tx).to.emit(f.escrow, "JobSettled").withArgs(f.job.id, JobOutcome.Accepted, settlement(split));
        await expect(tx).to.emit(f.staking, "StakeUnlocked").withArgs(f.worker.address, COLLATERAL);
        await expect(tx).not.to.emit(f.escrow, "CallbackDelivered");
        await expect(tx).to.changeTokenBalances(f.token, [f.escrow, f.worker, f.staking], [0, 0, 0]);

        expect(await f.escrow.balanceOf(f.worker)).to.equal(split.workerPayment);
        expect(await f.escrow.balanceOf(f.modelOwner)).to.equal(split.royalty);
        expect(await f.escrow.balanceOf(f.treasury)).to.equal(split.treasuryPayment);
        expect(await f.escrow.balanceOf(f.requester)).to.equal(0n);
        expect(await f.staking.freeStakeOf(f.worker)).to.equal(STAKE);
        expect((await f.staking.accountOf(f.worker)).locked).to.equal(0n);
        // Settled in its submission, without a callback: the hash is in ResultSubmitted only, not stored.
        expect(await f.escrow.outputHash(f.job.id)).to.equal(ZeroHash);
        expect(await statusOf(f, f.job.id)).to.equal(JobStatus.Settled);
        await expectConservation(f);
      });

      it("accepts a submission at exactly the window end", async function () {
        const f = await loadFixture(jobClaimedFixture);
        await time.setNextBlockTimestamp(f.windowEnd);
        await expect(f.escrow.connect(f.worker).submitResult(f.job, OUTPUT)).to.emit(f.escrow, "JobSettled");
      });

      it("accepts an output of exactly maxOutputBytes", async function () {
        const f = await loadFixture(jobClaimedFixture);
        const output = bytesOf(TEST_PARAMS.maxOutputBytes);
        await expect(f.escrow.connect(f.worker).submitResult(f.job, output))
          .to.emit(f.escrow, "ResultSubmitted")
          .withArgs(f.job.id, f.worker.address, ethers.keccak256(output), output, 0);
      });
    });

    describe("when the job is still open", function () {
      it("claims it in the same transaction and settles it", async function () {
        const f = await loadFixture(jobRequestedFixture);
        const at = BigInt(await time.latest()) + 5n;
        await time.setNextBlockTimestamp(at);
        const tx = f.escrow.connect(f.worker).submitResult(f.job, OUTPUT);
        await expect(tx)
          .to.emit(f.escrow, "JobClaimed")
          .withArgs(f.job.id, f.worker.address, COLLATERAL, at + BigInt(TEST_PARAMS.submissionWindow));
        // It settles in this transaction, so the collateral is checked against free stake, not locked and freed.
        await expect(tx).not.to.emit(f.staking, "StakeLocked");
        await expect(tx).not.to.emit(f.staking, "StakeUnlocked");
        await expect(tx)
          .to.emit(f.escrow, "JobSettled")
          .withArgs(f.job.id, JobOutcome.Accepted, settlement(acceptedSettlement(f.job, TEST_PARAMS, 0)));
        expect((await f.staking.accountOf(f.worker)).locked).to.equal(0n);
        expect((await f.escrow.jobState(f.job.id)).worker).to.equal(f.worker.address);
        expect(await f.escrow.balanceOf(f.worker)).to.equal(acceptedSettlement(f.job, TEST_PARAMS, 0).workerPayment);
        await expectConservation(f);
      });

      it("reverts with JobEscrowDeadlinePassed after the deadline", async function () {
        const f = await loadFixture(jobRequestedFixture);
        await time.setNextBlockTimestamp(BigInt(f.job.deadline) + 1n);
        await expect(f.escrow.connect(f.worker).submitResult(f.job, OUTPUT))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowDeadlinePassed")
          .withArgs(f.job.id, f.job.deadline);
      });

      it("reverts with VerifierStakingInsufficientStake when the submitter's free stake is one short", async function () {
        const f = await loadFixture(jobRequestedFixture);
        const account = await f.staking.accountOf(f.worker);
        await f.staking.connect(f.worker).requestUnstake(account.active - COLLATERAL + 1n);
        await expect(f.escrow.connect(f.worker).submitResult(f.job, OUTPUT))
          .to.be.revertedWithCustomError(f.staking, "VerifierStakingInsufficientStake")
          .withArgs(f.worker.address, COLLATERAL - 1n, COLLATERAL);
      });

      it("reverts with VerifierStakingInsufficientStake when the submitter has no stake", async function () {
        const f = await loadFixture(jobRequestedFixture);
        await expect(f.escrow.connect(f.other).submitResult(f.job, OUTPUT))
          .to.be.revertedWithCustomError(f.staking, "VerifierStakingInsufficientStake")
          .withArgs(f.other.address, 0, COLLATERAL);
      });
    });

    describe("when the escrow is paused", function () {
      it("reverts with EnforcedPause for an open job (no claim in submit)", async function () {
        const f = await loadFixture(jobRequestedFixture);
        await f.escrow.connect(f.governance).pause();
        await expect(f.escrow.connect(f.worker).submitResult(f.job, OUTPUT)).to.be.revertedWithCustomError(
          f.escrow,
          "EnforcedPause",
        );
      });

      it("still accepts the submission of an already claimed job", async function () {
        const f = await loadFixture(jobClaimedFixture);
        await f.escrow.connect(f.governance).pause();
        await expect(f.escrow.connect(f.worker).submitResult(f.job, OUTPUT))
          .to.emit(f.escrow, "JobSettled")
          .withArgs(f.job.id, JobOutcome.Accepted, settlement(acceptedSettlement(f.job, TEST_PARAMS, 0)));
        await expectConservation(f);
      });
    });

    describe("when the caller is not the job's worker", function () {
      it("reverts with JobEscrowNotWorker", async function () {
        const f = await loadFixture(jobClaimedFixture);
        await expect(f.escrow.connect(f.other).submitResult(f.job, OUTPUT))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowNotWorker")
          .withArgs(f.job.id, f.other.address);
      });
    });

    describe("when the submission window has closed", function () {
      it("reverts with JobEscrowSubmissionWindowClosed", async function () {
        const f = await loadFixture(jobClaimedFixture);
        await time.setNextBlockTimestamp(f.windowEnd + 1n);
        await expect(f.escrow.connect(f.worker).submitResult(f.job, OUTPUT))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowSubmissionWindowClosed")
          .withArgs(f.job.id, f.windowEnd);
      });
    });

    describe("when the output is empty", function () {
      it("reverts with JobEscrowEmptyOutput", async function () {
        const f = await loadFixture(jobClaimedFixture);
        await expect(f.escrow.connect(f.worker).submitResult(f.job, "0x"))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowEmptyOutput")
          .withArgs(f.job.id);
      });
    });

    describe("when the output is larger than maxOutputBytes", function () {
      it("reverts with JobEscrowOutputTooLarge", async function () {
        const f = await loadFixture(jobClaimedFixture);
        const size = TEST_PARAMS.maxOutputBytes + 1;
        await expect(f.escrow.connect(f.worker).submitResult(f.job, bytesOf(size)))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowOutputTooLarge")
          .withArgs(f.job.id, size, TEST_PARAMS.maxOutputBytes);
      });
    });

    describe("when the job is already settled", function () {
      it("reverts with JobEscrowInvalidStatus(jobId, Settled)", async function () {
        const f = await loadFixture(jobClaimedFixture);
        await f.escrow.connect(f.worker).submitResult(f.job, OUTPUT);
        await expect(f.escrow.connect(f.worker).submitResult(f.job, OUTPUT))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowInvalidStatus")
          .withArgs(f.job.id, JobStatus.Settled);
      });
    });

    describe("when the job record does not match", function () {
      it("reverts with JobEscrowJobMismatch", async function () {
        const f = await loadFixture(jobClaimedFixture);
        await expect(f.escrow.connect(f.worker).submitResult({ ...f.job, fee: PRICE * 2n }, OUTPUT))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowJobMismatch")
          .withArgs(f.job.id);
      });
    });
  });

  describe("#submitResults", function () {
    async function tenJobs() {
      const p = await loadFixture(deployProtocolFixture);
      const jobs: Job[] = [];
      for (let i = 0; i < 10; i++) jobs.push(await p.request(p.models.none));
      return { p, jobs };
    }

    describe("when every item is valid", function () {
      it("settles all ten jobs in one transaction", async function () {
        const { p, jobs } = await tenJobs();
        const tx = p.escrow.connect(p.worker).submitResults(
          jobs,
          jobs.map(() => OUTPUT),
        );
        for (const job of jobs) {
          await expect(tx)
            .to.emit(p.escrow, "JobSettled")
            .withArgs(job.id, JobOutcome.Accepted, settlement(acceptedSettlement(job, TEST_PARAMS, 0)));
        }
        const split = acceptedSettlement(jobs[0], TEST_PARAMS, 0);
        for (const job of jobs) expect(await statusOf(p, job.id)).to.equal(JobStatus.Settled);
        expect(await p.escrow.balanceOf(p.worker)).to.equal(split.workerPayment * 10n);
        expect(await p.escrow.balanceOf(p.modelOwner)).to.equal(split.royalty * 10n);
        expect(await p.escrow.balanceOf(p.treasury)).to.equal(split.treasuryPayment * 10n);
        expect(await p.staking.freeStakeOf(p.worker)).to.equal(STAKE);
        await expectConservation(p);
      });
    });

    describe("when the batch is empty", function () {
      it("reverts with JobEscrowInvalidBatch(0, 0)", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await expect(p.escrow.connect(p.worker).submitResults([], []))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowInvalidBatch")
          .withArgs(0, 0);
      });
    });

    describe("when the arrays differ in length", function () {
      it("reverts with JobEscrowInvalidBatch(jobs, items)", async function () {
        const f = await loadFixture(jobRequestedFixture);
        await expect(f.escrow.connect(f.worker).submitResults([f.job], [OUTPUT, OUTPUT]))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowInvalidBatch")
          .withArgs(1, 2);
      });
    });

    describe("when one item is invalid", function () {
      it("reverts the whole batch", async function () {
        const { p, jobs } = await tenJobs();
        const outputs = jobs.map(() => OUTPUT);
        outputs[7] = "0x";
        await expect(p.escrow.connect(p.worker).submitResults(jobs, outputs))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowEmptyOutput")
          .withArgs(jobs[7].id);
        for (const job of jobs) expect(await statusOf(p, job.id)).to.equal(JobStatus.Requested);
        expect(await p.escrow.balanceOf(p.worker)).to.equal(0n);
        expect(await p.staking.freeStakeOf(p.worker)).to.equal(STAKE);
        await expectConservation(p);
      });
    });
  });

  describe("#settle", function () {
    describe("when an open job is past its deadline", function () {
      it("refunds the whole fee: JobSettled(Expired)", async function () {
        const f = await loadFixture(jobRequestedFixture);
        await time.setNextBlockTimestamp(BigInt(f.job.deadline) + 1n);
        const tx = f.escrow.connect(f.other).settle(f.job, "0x");
        await expect(tx)
          .to.emit(f.escrow, "JobSettled")
          .withArgs(f.job.id, JobOutcome.Expired, settlement({ requesterRefund: PRICE }));
        await expect(tx).to.changeTokenBalances(f.token, [f.escrow, f.requester], [0, 0]);
        expect(await f.escrow.balanceOf(f.requester)).to.equal(PRICE);
        expect(await f.escrow.balanceOf(f.treasury)).to.equal(0n);
        expect(await statusOf(f, f.job.id)).to.equal(JobStatus.Refunded);
        await expectConservation(f);
        await expect(f.escrow.connect(f.requester).withdraw()).to.changeTokenBalances(
          f.token,
          [f.escrow, f.requester],
          [-PRICE, PRICE],
        );
        await expectConservation(f);
      });
    });

    describe("when an open job is not past its deadline", function () {
      it("reverts with JobEscrowNotSettleable(jobId, Requested, deadline + 1)", async function () {
        const f = await loadFixture(jobRequestedFixture);
        await time.setNextBlockTimestamp(f.job.deadline);
        await expect(f.escrow.settle(f.job, "0x"))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowNotSettleable")
          .withArgs(f.job.id, JobStatus.Requested, BigInt(f.job.deadline) + 1n);
      });
    });

    describe("when a claimed job is past its submission window", function () {
      it("slashes part of the collateral and refunds and compensates the requester: JobSettled(Abandoned)", async function () {
        const f = await loadFixture(jobClaimedFixture);
        const expected = abandonedSettlement(f.job, TEST_PARAMS, abandonmentSlash(f.job, TEST_PARAMS));
        const { slashed } = expected;
        const compensation = expected.requesterRefund - PRICE;
        expect(slashed).to.equal(parseEther("0.6"));
        expect(compensation).to.equal(parseEther("0.3"));
        expect(expected.treasuryPayment).to.equal(slashed - compensation);
        await time.setNextBlockTimestamp(f.windowEnd + 1n);
        const tx = f.escrow.connect(f.other).settle(f.job, "0x");
        await expect(tx).to.emit(f.escrow, "JobSettled").withArgs(f.job.id, JobOutcome.Abandoned, settlement(expected));
        await expect(tx)
          .to.emit(f.staking, "StakeSlashed")
          .withArgs(f.worker.address, await f.escrow.getAddress(), slashed);
        await expect(tx).to.emit(f.staking, "StakeUnlocked").withArgs(f.worker.address, COLLATERAL);
        await expect(tx).to.changeTokenBalances(f.token, [f.staking, f.escrow], [-slashed, slashed]);
        expect(await f.escrow.balanceOf(f.requester)).to.equal(PRICE + compensation);
        expect(await f.escrow.balanceOf(f.treasury)).to.equal(slashed - compensation);
        expect(await f.escrow.balanceOf(f.worker)).to.equal(0n);
        const account = await f.staking.accountOf(f.worker);
        expect(account.active).to.equal(STAKE - slashed);
        expect(account.locked).to.equal(0n);
        expect(await statusOf(f, f.job.id)).to.equal(JobStatus.Refunded);
        await expectConservation(f);
      });
    });

    describe("when a claimed job's submission window is still open", function () {
      it("reverts with JobEscrowNotSettleable(jobId, Claimed, windowEnd + 1)", async function () {
        const f = await loadFixture(jobClaimedFixture);
        await time.setNextBlockTimestamp(f.windowEnd);
        await expect(f.escrow.settle(f.job, "0x"))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowNotSettleable")
          .withArgs(f.job.id, JobStatus.Claimed, f.windowEnd + 1n);
      });
    });

    describe("when the job is already terminal", function () {
      it("reverts with JobEscrowInvalidStatus when settled twice", async function () {
        const f = await loadFixture(jobRequestedFixture);
        await time.increaseTo(BigInt(f.job.deadline) + 1n);
        await f.escrow.settle(f.job, "0x");
        await expect(f.escrow.settle(f.job, "0x"))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowInvalidStatus")
          .withArgs(f.job.id, JobStatus.Refunded);
        await expectConservation(f);
      });

      it("reverts with JobEscrowInvalidStatus for an accepted job", async function () {
        const f = await loadFixture(jobClaimedFixture);
        await f.escrow.connect(f.worker).submitResult(f.job, OUTPUT);
        await expect(f.escrow.settle(f.job, OUTPUT))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowInvalidStatus")
          .withArgs(f.job.id, JobStatus.Settled);
      });
    });

    describe("when the job is unknown or does not match", function () {
      it("reverts with JobEscrowUnknownJob / JobEscrowJobMismatch", async function () {
        const f = await loadFixture(jobRequestedFixture);
        await expect(f.escrow.settle({ ...f.job, id: 5 }, "0x"))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowUnknownJob")
          .withArgs(5);
        await expect(f.escrow.settle({ ...f.job, requester: f.other.address }, "0x"))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowJobMismatch")
          .withArgs(f.job.id);
      });
    });
  });

  describe("#isSettleable", function () {
    it("is false before the deadline, true after it, false once terminal", async function () {
      const f = await loadFixture(jobRequestedFixture);
      expect(await f.escrow.isSettleable(f.job)).to.equal(false);
      await time.increaseTo(f.job.deadline);
      expect(await f.escrow.isSettleable(f.job)).to.equal(false);
      await time.increase(1);
      expect(await f.escrow.isSettleable(f.job)).to.equal(true);
      await f.escrow.settle(f.job, "0x");
      expect(await f.escrow.isSettleable(f.job)).to.equal(false);
    });

    it("follows the submission window of a claimed job", async function () {
      const f = await loadFixture(jobClaimedFixture);
      await time.increaseTo(f.windowEnd);
      expect(await f.escrow.isSettleable(f.job)).to.equal(false);
      await time.increase(1);
      expect(await f.escrow.isSettleable(f.job)).to.equal(true);
    });

    it("reverts with JobEscrowJobMismatch for a tampered record", async function () {
      const f = await loadFixture(jobRequestedFixture);
      await expect(f.escrow.isSettleable({ ...f.job, fee: 1 }))
        .to.be.revertedWithCustomError(f.escrow, "JobEscrowJobMismatch")
        .withArgs(f.job.id);
    });
  });

  describe("#settleBatch", function () {
    async function mixedBatch() {
      const p = await loadFixture(deployProtocolFixture);
      const expiring = await p.request(p.models.none, { deadline: await deadlineIn(600n) });
      const abandoned = await p.request(p.models.none);
      await p.escrow.connect(p.worker).claim(abandoned);
      const notDue = await p.request(p.models.none, { deadline: await deadlineIn(6n * DAY) });
      const settled = await p.request(p.models.none);
      await p.escrow.connect(p.worker).submitResult(settled, OUTPUT);
      await time.increase(2 * TEST_PARAMS.submissionWindow);
      return { p, jobs: [expiring, abandoned, notDue, settled] };
    }

    describe("when some jobs are due and others are not", function () {
      it("settles the due ones, skips the rest and returns the count", async function () {
        const { p, jobs } = await mixedBatch();
        const [expiring, abandoned, notDue, settled] = jobs;
        const outputs = jobs.map(() => "0x");
        expect(await p.escrow.connect(p.other).settleBatch.staticCall(jobs, outputs)).to.equal(2n);
        const tx = p.escrow.connect(p.other).settleBatch(jobs, outputs);
        await expect(tx)
          .to.emit(p.escrow, "JobSettled")
          .withArgs(expiring.id, JobOutcome.Expired, settlement({ requesterRefund: PRICE }));
        await expect(tx).to.emit(p.escrow, "JobSettled").withArgs(abandoned.id, JobOutcome.Abandoned, anyValue);
        expect(await statusOf(p, expiring.id)).to.equal(JobStatus.Refunded);
        expect(await statusOf(p, abandoned.id)).to.equal(JobStatus.Refunded);
        expect(await statusOf(p, notDue.id)).to.equal(JobStatus.Requested);
        expect(await statusOf(p, settled.id)).to.equal(JobStatus.Settled);
        const receipt = await (await tx).wait();
        const settledEvents = receipt!.logs.filter(
          (l) => p.escrow.interface.parseLog(l)?.name === "JobSettled" && l.address === p.escrow.target,
        );
        expect(settledEvents.length).to.equal(2);
        await expectConservation(p);
      });

      it("returns 0 when nothing is due", async function () {
        const { p, jobs } = await mixedBatch();
        expect(await p.escrow.settleBatch.staticCall([jobs[2], jobs[3]], ["0x", "0x"])).to.equal(0n);
      });
    });

    describe("when the batch is empty or lengths differ", function () {
      it("reverts with JobEscrowInvalidBatch", async function () {
        const f = await loadFixture(jobRequestedFixture);
        await expect(f.escrow.settleBatch([], []))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowInvalidBatch")
          .withArgs(0, 0);
        await expect(f.escrow.settleBatch([f.job], []))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowInvalidBatch")
          .withArgs(1, 0);
      });
    });

    describe("when a record does not match", function () {
      it("reverts with JobEscrowJobMismatch", async function () {
        const { p, jobs } = await mixedBatch();
        const bad = { ...jobs[2], fee: 1n };
        await expect(p.escrow.settleBatch([jobs[0], bad], ["0x", "0x"]))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowJobMismatch")
          .withArgs(jobs[2].id);
      });
    });
  });

  describe("#withdraw", function () {
    describe("when the caller has a credited balance", function () {
      it("transfers it exactly, emits Withdrawn and zeroes the balance", async function () {
        const f = await loadFixture(jobClaimedFixture);
        await f.escrow.connect(f.worker).submitResult(f.job, OUTPUT);
        const { workerPayment, royalty } = acceptedSettlement(f.job, TEST_PARAMS, 0);
        const tx = f.escrow.connect(f.worker).withdraw();
        await expect(tx).to.emit(f.escrow, "Withdrawn").withArgs(f.worker.address, workerPayment);
        await expect(tx).to.changeTokenBalances(f.token, [f.escrow, f.worker], [-workerPayment, workerPayment]);
        expect(await f.escrow.balanceOf(f.worker)).to.equal(0n);
        expect(await f.escrow.connect(f.modelOwner).withdraw.staticCall()).to.equal(royalty);
        await expectConservation(f);
      });

      it("pays the treasury its accrued protocol fees", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const a = await p.request(p.models.none);
        const b = await p.request(p.models.none);
        await p.escrow.connect(p.worker).submitResults([a, b], [OUTPUT, OUTPUT]);
        const fees = acceptedSettlement(a, TEST_PARAMS, 0).treasuryPayment * 2n;
        expect(await p.escrow.balanceOf(p.treasury)).to.equal(fees);
        const tx = p.escrow.connect(p.treasury).withdraw();
        await expect(tx).to.emit(p.escrow, "Withdrawn").withArgs(p.treasury.address, fees);
        await expect(tx).to.changeTokenBalances(p.token, [p.escrow, p.treasury], [-fees, fees]);
        expect(await p.escrow.balanceOf(p.treasury)).to.equal(0n);
        await expect(p.escrow.connect(p.treasury).withdraw())
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowNothingToWithdraw")
          .withArgs(p.treasury.address);
        await expectConservation(p);
      });
    });

    describe("when the caller has nothing credited", function () {
      it("reverts with JobEscrowNothingToWithdraw", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await expect(p.escrow.connect(p.other).withdraw())
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowNothingToWithdraw")
          .withArgs(p.other.address);
      });

      it("reverts with JobEscrowNothingToWithdraw on a second withdrawal", async function () {
        const f = await loadFixture(jobClaimedFixture);
        await f.escrow.connect(f.worker).submitResult(f.job, OUTPUT);
        await f.escrow.connect(f.worker).withdraw();
        await expect(f.escrow.connect(f.worker).withdraw())
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowNothingToWithdraw")
          .withArgs(f.worker.address);
      });
    });

    describe("when the token's transfer returns false", function () {
      it("reverts with SafeERC20FailedOperation and keeps the balance", async function () {
        const f = await loadFixture(falseReturningFixture);
        const [, , , requester] = await ethers.getSigners();
        const job = await f.escrow
          .connect(requester)
          .requestInference(f.modelId, await currentTerms(f.registry, f.modelId), INPUT, await deadlineIn(100n), 0)
          .then((tx) => requestedEvent(tx, f.escrow));
        await time.increaseTo(BigInt(job.job.deadline) + 1n);
        await f.escrow.settle(job.job, "0x");
        await f.token.setFailing(true);
        await expect(f.escrow.connect(requester).withdraw())
          .to.be.revertedWithCustomError(f.escrow, "SafeERC20FailedOperation")
          .withArgs(await f.token.getAddress());
        expect(await f.escrow.balanceOf(requester)).to.equal(PRICE);
      });
    });
  });

  describe("views", function () {
    it("jobState reverts with JobEscrowUnknownJob for an unknown id; a new job's status is Requested", async function () {
      const f = await loadFixture(jobRequestedFixture);
      const next = jobIdOf({ ...f.job, nonce: 2n }, f.domain);
      for (const id of [0n, 1n, 2n, next]) {
        await expect(f.escrow.jobState(id)).to.be.revertedWithCustomError(f.escrow, "JobEscrowUnknownJob").withArgs(id);
      }
      expect((await f.escrow.jobState(f.job.id)).status).to.equal(JobStatus.Requested);
    });

    it("jobIdOf hashes every field after the id, as packages/sdk/src/job.ts does, and ignores the id", async function () {
      const f = await loadFixture(jobRequestedFixture);
      expect(await f.escrow.jobIdOf(f.job)).to.equal(f.job.id);
      expect(await f.escrow.jobIdOf({ ...f.job, id: 0 })).to.equal(f.job.id);
      expect(jobIdOf({ ...f.job, id: 0 }, f.domain)).to.equal(f.job.id);
      const changed = { ...f.job, nonce: 7n, fee: 1n, inputHash: ethers.id("other input") };
      expect(await f.escrow.jobIdOf(changed)).to.equal(jobIdOf(changed, f.domain));
      expect(jobIdOf(changed, f.domain)).not.to.equal(f.job.id);
    });

    it("jobIdOf binds the chain and the escrow: the same record has another id on another escrow or chain", async function () {
      const f = await loadFixture(jobRequestedFixture);
      const { escrow: second } = await deployCore(f.token, { governance: f.governance, treasury: f.treasury.address });
      const otherEscrow = { ...f.domain, escrow: await second.getAddress() };
      expect(await second.jobIdOf(f.job)).to.equal(jobIdOf(f.job, otherEscrow));
      expect(await second.jobIdOf(f.job)).not.to.equal(f.job.id);
      expect(jobIdOf(f.job, { ...f.domain, chainId: f.domain.chainId + 1n })).not.to.equal(f.job.id);
      // A vote commitment binds the id, and so the deployment too.
      const salt = ethers.id("salt");
      expect(await second.voteCommitment(await second.jobIdOf(f.job), f.verifiers[0], true, salt)).not.to.equal(
        await f.escrow.voteCommitment(f.job.id, f.verifiers[0], true, salt),
      );
    });

    it("exposes MAX_URI_BYTES, MIN_TREASURY_SLASH_BPS and the dispute window", async function () {
      const p = await loadFixture(deployProtocolFixture);
      expect(await p.escrow.MAX_URI_BYTES()).to.equal(2048n);
      expect(await p.escrow.MIN_TREASURY_SLASH_BPS()).to.equal(1000n);
      expect(await p.escrow.maxDisputeWindow()).to.equal(
        TEST_PARAMS.submissionWindow +
          TEST_PARAMS.challengeWindow +
          2 * TEST_PARAMS.commitWindow + // draw, then commit
          TEST_PARAMS.revealWindow,
      );
    });
  });

  describe("#setParams", function () {
    const MAX_AMOUNT = 10n ** 27n;
    const WEEK = 7 * 86_400;
    const MAX_DURATION = 90 * 86_400;
    const MAX_DATA = 128 * 1024;
    // field, value out of bounds, min, max (verifierRewardBps: max = 10000 - 1000 - compensationBps(5000))
    const outOfBounds: Array<[keyof EscrowParams, bigint | number, bigint | number, bigint | number]> = [
      ["protocolFeeBps", 1001, 0, 1000],
      ["verifierShareBps", 3001, 0, 3000],
      ["collateralRatioBps", 9999, 10_000, 50_000],
      ["collateralRatioBps", 50_001, 10_000, 50_000],
      ["timeoutSlashBps", 499, 500, 10_000],
      ["timeoutSlashBps", 10_001, 500, 10_000],
      ["compensationBps", 9001, 0, 9000],
      ["verifierRewardBps", 4001, 0, 4000],
      ["submissionWindow", 9, 10, WEEK],
      ["submissionWindow", WEEK + 1, 10, WEEK],
      ["challengeWindow", 9, 10, WEEK],
      ["challengeWindow", WEEK + 1, 10, WEEK],
      ["commitWindow", 9, 10, WEEK],
      ["commitWindow", WEEK + 1, 10, WEEK],
      ["revealWindow", 9, 10, WEEK],
      ["revealWindow", WEEK + 1, 10, WEEK],
      ["maxJobDuration", 59, 60, MAX_DURATION],
      ["maxJobDuration", MAX_DURATION + 1, 60, MAX_DURATION],
      ["minFee", MAX_AMOUNT + 1n, 0, MAX_AMOUNT],
      ["minCollateral", MAX_AMOUNT + 1n, 0, MAX_AMOUNT],
      ["maxInputBytes", 255, 256, MAX_DATA],
      ["maxInputBytes", MAX_DATA + 1, 256, MAX_DATA],
      ["maxOutputBytes", 255, 256, MAX_DATA],
      ["maxOutputBytes", MAX_DATA + 1, 256, MAX_DATA],
      ["votePenalty", MAX_AMOUNT + 1n, 0, MAX_AMOUNT],
      ["challengeBond", 0, 1, MAX_AMOUNT],
      ["challengeBond", MAX_AMOUNT + 1n, 1, MAX_AMOUNT],
      ["maxCallbackGasLimit", 5_000_001, 0, 5_000_000],
    ];

    it("the bounds table covers all 18 fields", function () {
      expect(new Set(outOfBounds.map(([field]) => field))).to.deep.equal(new Set(Object.keys(TEST_PARAMS)));
      expect(Object.keys(TEST_PARAMS).length).to.equal(18);
    });

    for (const [field, value, min, max] of outOfBounds) {
      describe(`when ${field} is ${value}`, function () {
        it(`reverts with JobEscrowInvalidParam("${field}", ${value}, ${min}, ${max})`, async function () {
          const p = await loadFixture(deployProtocolFixture);
          await expect(p.escrow.connect(p.governance).setParams({ ...TEST_PARAMS, [field]: value }))
            .to.be.revertedWithCustomError(p.escrow, "JobEscrowInvalidParam")
            .withArgs(b32(field), value, min, max);
        });
      });
    }

    describe("when every field is at a bound", function () {
      // Each field at its min, then at its max; windows at 7 days need a longer unbonding period.
      const atBounds: Array<[keyof EscrowParams, bigint | number, Partial<EscrowParams>?]> = [];
      for (const [field, , min, max] of outOfBounds) {
        const extra = field === "compensationBps" ? { verifierRewardBps: 0 } : undefined;
        atBounds.push([field, min, extra], [field, max, extra]);
      }
      it("accepts each bound value", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await p.staking.connect(p.governance).setUnbondingPeriod(90 * 86_400);
        for (const [field, value, extra] of atBounds) {
          const next = { ...TEST_PARAMS, ...extra, [field]: value };
          await expect(p.escrow.connect(p.governance).setParams(next), `${field}=${value}`).not.to.be.reverted;
          expect((await p.escrow.params())[field], field).to.equal(value);
        }
      });
    });

    describe("when verifierRewardBps exceeds what compensationBps leaves", function () {
      it("bounds verifierRewardBps by 10000 - 1000 - compensationBps", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const e = p.escrow.connect(p.governance);
        await expect(e.setParams({ ...TEST_PARAMS, compensationBps: 0, verifierRewardBps: 9000 })).not.to.be.reverted;
        await expect(e.setParams({ ...TEST_PARAMS, compensationBps: 0, verifierRewardBps: 9001 }))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowInvalidParam")
          .withArgs(b32("verifierRewardBps"), 9001, 0, 9000);
        await expect(e.setParams({ ...TEST_PARAMS, compensationBps: 9000, verifierRewardBps: 1 }))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowInvalidParam")
          .withArgs(b32("verifierRewardBps"), 1, 0, 0);
        await expect(e.setParams({ ...TEST_PARAMS, compensationBps: 2000, verifierRewardBps: 7000 })).not.to.be
          .reverted;
      });
    });

    describe("when the dispute window outlasts the staking unbonding period", function () {
      it("reverts with JobEscrowDisputeWindowExceedsUnbonding(window, unbonding)", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const day = 86_400;
        // 2 + 2 + 2 × 1 (draw and commit) + reveal days.
        const windows = { submissionWindow: 2 * day, challengeWindow: 2 * day, commitWindow: day };
        await expect(p.escrow.connect(p.governance).setParams({ ...TEST_PARAMS, ...windows, revealWindow: day + 1 }))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowDisputeWindowExceedsUnbonding")
          .withArgs(7 * day + 1, 7 * day);
        await p.escrow.connect(p.governance).setParams({ ...TEST_PARAMS, ...windows, revealWindow: day });
        expect(await p.escrow.maxDisputeWindow()).to.equal(7 * day);
      });
    });

    describe("when the caller is the owner and the parameters are valid", function () {
      it("stores them and emits ParamsUpdated", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const next: EscrowParams = {
          protocolFeeBps: 100,
          verifierShareBps: 2000,
          collateralRatioBps: 20_000,
          timeoutSlashBps: 5000,
          compensationBps: 4000,
          verifierRewardBps: 2000,
          submissionWindow: 600,
          challengeWindow: 1200,
          commitWindow: 300,
          revealWindow: 400,
          maxJobDuration: 3 * 86_400,
          minFee: parseEther("0.5"),
          minCollateral: parseEther("2"),
          maxInputBytes: 1024,
          maxOutputBytes: 2048,
          votePenalty: parseEther("3"),
          challengeBond: parseEther("7"),
          maxCallbackGasLimit: 123_456,
        };
        const tuple = Object.keys(TEST_PARAMS).map((k) => next[k as keyof EscrowParams]);
        await expect(p.escrow.connect(p.governance).setParams(next))
          .to.emit(p.escrow, "ParamsUpdated")
          .withArgs(2n, tuple);
        expect(await p.escrow.paramsId()).to.equal(2n);
        const stored = await p.escrow.params();
        for (const [k, v] of Object.entries(next)) expect(stored[k as keyof EscrowParams], k).to.equal(v);
        const version2 = await p.escrow.paramsOf(2);
        for (const [k, v] of Object.entries(next)) expect(version2[k as keyof EscrowParams], k).to.equal(v);
        const version1 = await p.escrow.paramsOf(1);
        for (const [k, v] of Object.entries(TEST_PARAMS)) expect(version1[k as keyof EscrowParams], k).to.equal(v);
        // Jobs under version 1 may still be disputed for its longer window.
        const initialWindow = disputeWindowOf(TEST_PARAMS);
        expect(await p.escrow.maxDisputeWindow()).to.equal(initialWindow);
      });

      it("numbers versions from 1 and refuses unknown ones with JobEscrowUnknownParams", async function () {
        const p = await loadFixture(deployProtocolFixture);
        expect(await p.escrow.paramsId()).to.equal(1n);
        await expect(p.escrow.paramsOf(0))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowUnknownParams")
          .withArgs(0);
        await expect(p.escrow.paramsOf(2))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowUnknownParams")
          .withArgs(2);
      });

      it("leaves a claimed job under the version it was requested with: the abandonment slash does not change", async function () {
        const f = await loadFixture(jobClaimedFixture);
        await f.escrow.connect(f.governance).setParams({ ...TEST_PARAMS, timeoutSlashBps: 10_000, compensationBps: 0 });
        const state = await f.escrow.jobState(f.job.id);
        await time.increaseTo(state.windowEnd + 1n);
        const expected = abandonedSettlement(f.job, TEST_PARAMS, abandonmentSlash(f.job, TEST_PARAMS));
        await expect(f.escrow.settle(f.job, "0x")).to.changeTokenBalance(f.token, f.escrow, expected.slashed);
        expect(await f.escrow.balanceOf(f.requester.address)).to.equal(expected.requesterRefund);
      });

      it("applies the new submission window to later claims only", async function () {
        const f = await loadFixture(jobClaimedFixture);
        await f.escrow.connect(f.governance).setParams({ ...TEST_PARAMS, submissionWindow: 60 });
        expect((await f.escrow.jobState(f.job.id)).windowEnd).to.equal(f.windowEnd);
        const job = await f.request(f.models.none);
        const at = BigInt(await time.latest()) + 5n;
        await time.setNextBlockTimestamp(at);
        await expect(f.escrow.connect(f.worker).claim(job))
          .to.emit(f.escrow, "JobClaimed")
          .withArgs(job.id, f.worker.address, COLLATERAL, at + 60n);
      });
    });

    describe("when the caller is not the owner", function () {
      it("reverts with OwnableUnauthorizedAccount", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await expect(p.escrow.connect(p.other).setParams(TEST_PARAMS))
          .to.be.revertedWithCustomError(p.escrow, "OwnableUnauthorizedAccount")
          .withArgs(p.other.address);
      });
    });
  });

  describe("#setTreasury", function () {
    describe("when the new treasury is the zero address", function () {
      it("reverts with JobEscrowZeroAddress", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await expect(p.escrow.connect(p.governance).setTreasury(ZeroAddress)).to.be.revertedWithCustomError(
          p.escrow,
          "JobEscrowZeroAddress",
        );
      });
    });

    describe("when the caller is not the owner", function () {
      it("reverts with OwnableUnauthorizedAccount", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await expect(p.escrow.connect(p.other).setTreasury(p.other.address))
          .to.be.revertedWithCustomError(p.escrow, "OwnableUnauthorizedAccount")
          .withArgs(p.other.address);
      });
    });

    describe("when income has accrued to the old treasury", function () {
      it("emits TreasuryUpdated, leaves the income with the old treasury and credits new income to the new one", async function () {
        const f = await loadFixture(jobClaimedFixture);
        await f.escrow.connect(f.worker).submitResult(f.job, OUTPUT);
        const fee = acceptedSettlement(f.job, TEST_PARAMS, 0).treasuryPayment;
        const newTreasury = f.verifiers[0];
        await expect(f.escrow.connect(f.governance).setTreasury(newTreasury.address))
          .to.emit(f.escrow, "TreasuryUpdated")
          .withArgs(f.treasury.address, newTreasury.address);
        expect(await f.escrow.treasury()).to.equal(newTreasury.address);
        expect(await f.escrow.balanceOf(f.treasury)).to.equal(fee);
        expect(await f.escrow.balanceOf(newTreasury)).to.equal(0n);
        await expectConservation(f);

        const job = await f.request(f.models.none);
        await f.escrow.connect(f.worker).submitResult(job, OUTPUT);
        expect(await f.escrow.balanceOf(newTreasury)).to.equal(fee);
        expect(await f.escrow.balanceOf(f.treasury)).to.equal(fee);
        await expectConservation(f);

        await expect(f.escrow.connect(f.treasury).withdraw()).to.changeTokenBalances(
          f.token,
          [f.escrow, f.treasury],
          [-fee, fee],
        );
        await expect(f.escrow.connect(newTreasury).withdraw()).to.changeTokenBalances(
          f.token,
          [f.escrow, newTreasury],
          [-fee, fee],
        );
        await expectConservation(f);
      });
    });
  });

  describe("#pause / #unpause", function () {
    describe("when the caller is not the owner", function () {
      it("reverts with OwnableUnauthorizedAccount", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await expect(p.escrow.connect(p.other).pause())
          .to.be.revertedWithCustomError(p.escrow, "OwnableUnauthorizedAccount")
          .withArgs(p.other.address);
        await p.escrow.connect(p.governance).pause();
        await expect(p.escrow.connect(p.other).unpause())
          .to.be.revertedWithCustomError(p.escrow, "OwnableUnauthorizedAccount")
          .withArgs(p.other.address);
      });
    });

    describe("when the owner pauses and unpauses", function () {
      it("emits Paused / Unpaused and reopens requests", async function () {
        const p = await loadFixture(deployProtocolFixture);
        await expect(p.escrow.connect(p.governance).pause()).to.emit(p.escrow, "Paused").withArgs(p.governance.address);
        expect(await p.escrow.paused()).to.equal(true);
        await expect(p.escrow.connect(p.governance).pause()).to.be.revertedWithCustomError(p.escrow, "EnforcedPause");
        await expect(p.escrow.connect(p.governance).unpause())
          .to.emit(p.escrow, "Unpaused")
          .withArgs(p.governance.address);
        await expect(p.escrow.connect(p.governance).unpause()).to.be.revertedWithCustomError(p.escrow, "ExpectedPause");
        const job = await p.request(p.models.none);
        expect(job.nonce).to.equal(1n);
        expect((await p.escrow.jobState(job.id)).status).to.equal(JobStatus.Requested);
      });
    });

    describe("while paused", function () {
      it("still refunds an expired job", async function () {
        const f = await loadFixture(jobRequestedFixture);
        await f.escrow.connect(f.governance).pause();
        await time.increaseTo(BigInt(f.job.deadline) + 1n);
        await expect(f.escrow.settle(f.job, "0x"))
          .to.emit(f.escrow, "JobSettled")
          .withArgs(f.job.id, JobOutcome.Expired, settlement({ requesterRefund: PRICE }));
        await expectConservation(f);
      });

      it("still settles an abandoned claim", async function () {
        const f = await loadFixture(jobClaimedFixture);
        await f.escrow.connect(f.governance).pause();
        await time.increaseTo(f.windowEnd + 1n);
        await expect(f.escrow.settle(f.job, "0x"))
          .to.emit(f.escrow, "JobSettled")
          .withArgs(f.job.id, JobOutcome.Abandoned, anyValue);
        expect(await statusOf(f, f.job.id)).to.equal(JobStatus.Refunded);
        await expectConservation(f);
      });

      it("still settles an optimistic job after its challenge window", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const job = await p.request(p.models.optimistic);
        await p.escrow.connect(p.worker).submitResult(job, OUTPUT);
        await p.escrow.connect(p.governance).pause();
        await time.increase(TEST_PARAMS.challengeWindow + 1);
        await expect(p.escrow.settle(job, "0x"))
          .to.emit(p.escrow, "JobSettled")
          .withArgs(job.id, JobOutcome.Accepted, settlement(acceptedSettlement(job, TEST_PARAMS, 0)));
        await expectConservation(p);
      });

      it("still pays withdrawals", async function () {
        const f = await loadFixture(jobClaimedFixture);
        await f.escrow.connect(f.worker).submitResult(f.job, OUTPUT);
        await f.escrow.connect(f.governance).pause();
        const { workerPayment } = acceptedSettlement(f.job, TEST_PARAMS, 0);
        await expect(f.escrow.connect(f.worker).withdraw()).to.changeTokenBalances(
          f.token,
          [f.escrow, f.worker],
          [-workerPayment, workerPayment],
        );
        await expectConservation(f);
      });
    });
  });

  describe("governance transfer (Ownable2Step)", function () {
    it("moves governance only once the new owner accepts", async function () {
      const p = await loadFixture(deployProtocolFixture);
      await expect(p.escrow.connect(p.governance).transferOwnership(p.other.address))
        .to.emit(p.escrow, "OwnershipTransferStarted")
        .withArgs(p.governance.address, p.other.address);
      expect(await p.escrow.owner()).to.equal(p.governance.address);
      expect(await p.escrow.pendingOwner()).to.equal(p.other.address);
      await expect(p.escrow.connect(p.other).pause())
        .to.be.revertedWithCustomError(p.escrow, "OwnableUnauthorizedAccount")
        .withArgs(p.other.address);
      await expect(p.escrow.connect(p.requester).acceptOwnership())
        .to.be.revertedWithCustomError(p.escrow, "OwnableUnauthorizedAccount")
        .withArgs(p.requester.address);
      await expect(p.escrow.connect(p.other).acceptOwnership())
        .to.emit(p.escrow, "OwnershipTransferred")
        .withArgs(p.governance.address, p.other.address);
      expect(await p.escrow.owner()).to.equal(p.other.address);
      await expect(p.escrow.connect(p.other).pause()).to.emit(p.escrow, "Paused");
      await expect(p.escrow.connect(p.governance).unpause())
        .to.be.revertedWithCustomError(p.escrow, "OwnableUnauthorizedAccount")
        .withArgs(p.governance.address);
    });
  });

  describe("callbacks", function () {
    const CALLBACK_GAS = 500_000;

    describe("when an ExampleConsumer requests an optimistic job that is accepted", function () {
      it("delivers the output through onInferenceResult at settlement", async function () {
        const f = await loadFixture(consumerFixture);
        const deadline = await deadlineIn(DAY);
        const request = f.consumer
          .connect(f.requester)
          .requestInference(
            f.models.optimistic,
            await currentTerms(f.registry, f.models.optimistic),
            INPUT,
            deadline,
            200_000,
          );
        await expect(request).to.changeTokenBalances(f.token, [f.requester, f.consumer, f.escrow], [-PRICE, 0, PRICE]);
        const job = await f.jobFrom(await request);
        await expect(request).to.emit(f.consumer, "InferenceRequested").withArgs(job.id, f.requester.address);
        expect(job.requester).to.equal(await f.consumer.getAddress());
        expect(job.callbackGasLimit).to.equal(200_000n);

        await f.escrow.connect(f.worker).submitResult(job, OUTPUT);
        expect((await f.consumer.requestOf(job.id)).done).to.equal(false);
        await time.increase(TEST_PARAMS.challengeWindow + 1);
        const tx = f.escrow.connect(f.other).settle(job, OUTPUT);
        const split = acceptedSettlement(job, TEST_PARAMS, 0);
        await expect(tx).to.emit(f.escrow, "JobSettled").withArgs(job.id, JobOutcome.Accepted, settlement(split));
        await expect(tx)
          .to.emit(f.escrow, "CallbackDelivered")
          .withArgs(job.id, await f.consumer.getAddress(), true);
        await expect(tx).to.emit(f.consumer, "InferenceReceived").withArgs(job.id, JobOutcome.Accepted, OUTPUT);
        const stored = await f.consumer.requestOf(job.id);
        expect(stored.requestedBy).to.equal(f.requester.address);
        expect(stored.done).to.equal(true);
        expect(stored.outcome).to.equal(JobOutcome.Accepted);
        expect(stored.output).to.equal(OUTPUT);
        expect(await f.escrow.balanceOf(f.worker)).to.equal(split.workerPayment);
        await expectConservation(f, [f.consumer, f.hostile]);
      });
    });

    describe("when an ExampleConsumer requests a None-mode job", function () {
      it("delivers the output in the submitting transaction", async function () {
        const f = await loadFixture(consumerFixture);
        const job = await consumerJob(f, f.models.none, await deadlineIn(DAY), 200_000);
        const tx = f.escrow.connect(f.worker).submitResult(job, OUTPUT);
        await expect(tx)
          .to.emit(f.escrow, "CallbackDelivered")
          .withArgs(job.id, await f.consumer.getAddress(), true);
        await expect(tx).to.emit(f.consumer, "InferenceReceived").withArgs(job.id, JobOutcome.Accepted, OUTPUT);
        expect((await f.consumer.requestOf(job.id)).output).to.equal(OUTPUT);
        await expectConservation(f, [f.consumer, f.hostile]);
      });
    });

    describe("when a callback job is settled without or with the wrong output", function () {
      async function submittedCallbackJob() {
        const f = await loadFixture(consumerFixture);
        const job = await consumerJob(f, f.models.optimistic, await deadlineIn(DAY), 200_000);
        await f.escrow.connect(f.worker).submitResult(job, OUTPUT);
        await time.increase(TEST_PARAMS.challengeWindow + 1);
        return { f, job };
      }

      it("reverts with JobEscrowOutputRequired when the output is omitted", async function () {
        const { f, job } = await submittedCallbackJob();
        await expect(f.escrow.settle(job, "0x"))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowOutputRequired")
          .withArgs(job.id);
      });

      it("reverts with JobEscrowOutputMismatch for other bytes", async function () {
        const { f, job } = await submittedCallbackJob();
        await expect(f.escrow.settle(job, WRONG_OUTPUT))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowOutputMismatch")
          .withArgs(job.id);
      });
    });

    describe("when a job without callback is settled", function () {
      it("accepts an empty output but rejects wrong bytes with JobEscrowOutputMismatch", async function () {
        const p = await loadFixture(deployProtocolFixture);
        const job = await p.request(p.models.optimistic);
        await p.escrow.connect(p.worker).submitResult(job, OUTPUT);
        await time.increase(TEST_PARAMS.challengeWindow + 1);
        await expect(p.escrow.settle(job, WRONG_OUTPUT))
          .to.be.revertedWithCustomError(p.escrow, "JobEscrowOutputMismatch")
          .withArgs(job.id);
        const tx = p.escrow.settle(job, "0x");
        await expect(tx)
          .to.emit(p.escrow, "JobSettled")
          .withArgs(job.id, JobOutcome.Accepted, settlement(acceptedSettlement(job, TEST_PARAMS, 0)));
        await expect(tx).not.to.emit(p.escrow, "CallbackDelivered");
      });
    });

    describe("when the consumer accepts the callback", function () {
      it("emits CallbackDelivered(true) and the consumer records the result", async function () {
        const f = await loadFixture(consumerFixture);
        const job = await f.jobFrom(
          await f.hostile.request(f.models.none, INPUT, PRICE, await deadlineIn(DAY), CALLBACK_GAS),
        );
        await expect(f.escrow.connect(f.worker).submitResult(job, OUTPUT))
          .to.emit(f.escrow, "CallbackDelivered")
          .withArgs(job.id, await f.hostile.getAddress(), true);
        expect(await f.hostile.calls()).to.equal(1n);
        expect(await f.hostile.lastJobId()).to.equal(job.id);
        expect(await f.hostile.lastOutcome()).to.equal(JobOutcome.Accepted);
        expect(await f.hostile.lastOutput()).to.equal(OUTPUT);
      });
    });

    for (const name of ["Revert", "BurnGas", "ReturnBomb", "Reenter"] as const) {
      describe(`when the consumer's callback misbehaves (${name})`, function () {
        it("completes the settlement, pays the worker and emits CallbackDelivered(false)", async function () {
          const f = await loadFixture(consumerFixture);
          const hostile = await f.hostile.getAddress();
          // Give the consumer two credited refunds first: its next request takes its fee from the credit, and
          // the other refund stays for a re-entrant withdraw to try to take.
          const refunded = [];
          for (let i = 0; i < 2; i++) {
            refunded.push(
              await f.jobFrom(await f.hostile.request(f.models.none, INPUT, PRICE, await deadlineIn(60n), 0)),
            );
          }
          await time.increase(61);
          for (const job of refunded) await f.escrow.settle(job, "0x");
          expect(await f.escrow.balanceOf(hostile)).to.equal(2n * PRICE);

          await f.hostile.setBehaviour(Behaviour[name]);
          const job = await f.jobFrom(
            await f.hostile.request(f.models.optimistic, INPUT, PRICE, await deadlineIn(DAY), CALLBACK_GAS),
          );
          await f.escrow.connect(f.worker).submitResult(job, OUTPUT);
          await time.increase(TEST_PARAMS.challengeWindow + 1);
          const split = acceptedSettlement(job, TEST_PARAMS, 0);
          const tx = f.escrow.connect(f.other).settle(job, OUTPUT);
          await expect(tx).to.emit(f.escrow, "JobSettled").withArgs(job.id, JobOutcome.Accepted, settlement(split));
          await expect(tx).to.emit(f.escrow, "CallbackDelivered").withArgs(job.id, hostile, false);
          await expect(tx).to.changeTokenBalances(f.token, [f.escrow, hostile], [0, 0]);
          const receipt = await (await tx).wait();
          expect(receipt!.gasUsed).to.be.lessThan(BigInt(CALLBACK_GAS) + 200_000n);

          expect(await statusOf(f, job.id)).to.equal(JobStatus.Settled);
          expect(await f.escrow.balanceOf(f.worker)).to.equal(split.workerPayment);
          expect(await f.escrow.balanceOf(hostile)).to.equal(PRICE);
          expect(await f.hostile.calls()).to.equal(0n);
          expect(await f.staking.freeStakeOf(f.worker)).to.equal(STAKE);
          await expectConservation(f, [f.consumer, f.hostile]);
        });
      });
    }

    describe("when settle is sent with too little gas for the callback", function () {
      it("reverts with JobEscrowInsufficientGasForCallback, and succeeds with enough gas", async function () {
        const f = await loadFixture(consumerFixture);
        const job = await f.jobFrom(
          await f.hostile.request(f.models.none, INPUT, PRICE, await deadlineIn(600n), CALLBACK_GAS),
        );
        await time.increase(601);
        const needed = CALLBACK_GAS + Math.floor(CALLBACK_GAS / 63) + 10_000;
        await expect(f.escrow.connect(f.other).settle(job, "0x", { gasLimit: 300_000 }))
          .to.be.revertedWithCustomError(f.escrow, "JobEscrowInsufficientGasForCallback")
          .withArgs(job.id, anyValue, needed);
        expect(await statusOf(f, job.id)).to.equal(JobStatus.Requested);

        const tx = f.escrow.connect(f.other).settle(job, "0x", { gasLimit: 700_000 });
        await expect(tx)
          .to.emit(f.escrow, "JobSettled")
          .withArgs(job.id, JobOutcome.Expired, settlement({ requesterRefund: PRICE }));
        await expect(tx)
          .to.emit(f.escrow, "CallbackDelivered")
          .withArgs(job.id, await f.hostile.getAddress(), true);
        // The Expired refund calls back with outcome Expired and no output.
        expect(await f.hostile.calls()).to.equal(1n);
        expect(await f.hostile.lastOutcome()).to.equal(JobOutcome.Expired);
        expect(await f.hostile.lastOutput()).to.equal("0x");
        expect(await f.escrow.balanceOf(f.hostile)).to.equal(PRICE);
        await expectConservation(f, [f.consumer, f.hostile]);
      });
    });

    describe("when a consumer's job expires or is abandoned", function () {
      it("calls back with outcome Expired and credits the refund to the consumer", async function () {
        const f = await loadFixture(consumerFixture);
        const job = await consumerJob(f, f.models.none, await deadlineIn(600n), 200_000);
        await time.increase(601);
        await expect(f.escrow.settle(job, "0x"))
          .to.emit(f.consumer, "InferenceReceived")
          .withArgs(job.id, JobOutcome.Expired, "0x");
        const stored = await f.consumer.requestOf(job.id);
        expect(stored.done).to.equal(true);
        expect(stored.outcome).to.equal(JobOutcome.Expired);
        expect(await f.escrow.balanceOf(f.consumer)).to.equal(PRICE);
        await expectConservation(f, [f.consumer, f.hostile]);
      });

      it("calls back with outcome Abandoned and credits refund and compensation to the consumer", async function () {
        const f = await loadFixture(consumerFixture);
        const job = await consumerJob(f, f.models.none, await deadlineIn(DAY), 200_000);
        await f.escrow.connect(f.worker).claim(job);
        await time.increase(TEST_PARAMS.submissionWindow + 1);
        const compensation =
          abandonedSettlement(job, TEST_PARAMS, abandonmentSlash(job, TEST_PARAMS)).requesterRefund - PRICE;
        const tx = f.escrow.settle(job, "0x");
        await expect(tx).to.emit(f.consumer, "InferenceReceived").withArgs(job.id, JobOutcome.Abandoned, "0x");
        await expect(tx)
          .to.emit(f.escrow, "CallbackDelivered")
          .withArgs(job.id, await f.consumer.getAddress(), true);
        expect(await f.escrow.balanceOf(f.consumer)).to.equal(PRICE + compensation);
        await expectConservation(f, [f.consumer, f.hostile]);

        // The requester gets its fee back from the consumer; the compensation on top goes to the owner.
        expect(await f.consumer.refundOf(f.requester)).to.equal(PRICE);
        const claim = f.consumer.connect(f.requester).claimRefund();
        await expect(claim).to.changeTokenBalances(f.token, [f.requester, f.escrow], [PRICE, -(PRICE + compensation)]);
        await expect(claim).to.emit(f.consumer, "RefundClaimed").withArgs(f.requester.address, PRICE);
        await expect(f.consumer.connect(f.requester).claimRefund())
          .to.be.revertedWithCustomError(f.consumer, "ExampleConsumerNothingToClaim")
          .withArgs(f.requester.address);
        await expect(f.consumer.connect(f.requester).sweepSurplus(f.requester))
          .to.be.revertedWithCustomError(f.consumer, "OwnableUnauthorizedAccount")
          .withArgs(f.requester.address);
        await expect(f.consumer.connect(f.governance).sweepSurplus(f.treasury)).to.changeTokenBalances(
          f.token,
          [f.consumer, f.treasury],
          [-compensation, compensation],
        );
        await expectConservation(f, [f.consumer, f.hostile]);
      });
    });

    describe("when an ExampleConsumer's refunded job's callback failed", function () {
      it("lets anyone record the refund, after which the requester claims its fee", async function () {
        const f = await loadFixture(consumerFixture);
        const job = await consumerJob(f, f.models.none, await deadlineIn(600n), 5000);
        await expect(f.consumer.recordRefund(job.id))
          .to.be.revertedWithCustomError(f.consumer, "ExampleConsumerNotRefunded")
          .withArgs(job.id, JobStatus.Requested);
        await time.increase(601);
        // 5,000 gas is too little for the consumer to record anything: the callback fails, settlement goes on.
        await expect(f.escrow.settle(job, "0x"))
          .to.emit(f.escrow, "CallbackDelivered")
          .withArgs(job.id, await f.consumer.getAddress(), false);
        expect(await f.consumer.refundOf(f.requester)).to.equal(0n);
        await expect(f.consumer.connect(f.other).recordRefund(job.id))
          .to.emit(f.consumer, "RefundCredited")
          .withArgs(job.id, f.requester.address, PRICE);
        await expect(f.consumer.recordRefund(job.id))
          .to.be.revertedWithCustomError(f.consumer, "ExampleConsumerAlreadyDone")
          .withArgs(job.id);
        await expect(f.consumer.connect(f.requester).claimRefund()).to.changeTokenBalances(
          f.token,
          [f.requester, f.escrow],
          [PRICE, -PRICE],
        );
        await expectConservation(f, [f.consumer, f.hostile]);
      });
    });

    describe("when an ExampleConsumer's callback runs out of gas", function () {
      async function failedCallback() {
        const f = await loadFixture(consumerFixture);
        const job = await consumerJob(f, f.models.none, await deadlineIn(DAY), 5000);
        await expect(f.escrow.connect(f.worker).submitResult(job, OUTPUT))
          .to.emit(f.escrow, "CallbackDelivered")
          .withArgs(job.id, await f.consumer.getAddress(), false);
        expect((await f.consumer.requestOf(job.id)).done).to.equal(false);
        expect(await statusOf(f, job.id)).to.equal(JobStatus.Settled);
        return { f, job };
      }

      it("lets anyone accept the posted output later", async function () {
        const { f, job } = await failedCallback();
        await expect(f.consumer.connect(f.other).acceptOutput(job.id, OUTPUT))
          .to.emit(f.consumer, "InferenceReceived")
          .withArgs(job.id, JobOutcome.Accepted, OUTPUT);
        const stored = await f.consumer.requestOf(job.id);
        expect(stored.done).to.equal(true);
        expect(stored.outcome).to.equal(JobOutcome.Accepted);
        expect(stored.output).to.equal(OUTPUT);
        await expect(f.consumer.connect(f.other).acceptOutput(job.id, OUTPUT))
          .to.be.revertedWithCustomError(f.consumer, "ExampleConsumerAlreadyDone")
          .withArgs(job.id);
      });

      it("reverts with ExampleConsumerOutputMismatch for other bytes", async function () {
        const { f, job } = await failedCallback();
        await expect(f.consumer.connect(f.other).acceptOutput(job.id, WRONG_OUTPUT))
          .to.be.revertedWithCustomError(f.consumer, "ExampleConsumerOutputMismatch")
          .withArgs(job.id);
      });
    });

    describe("when acceptOutput is called before settlement", function () {
      it("reverts with ExampleConsumerNotSettled", async function () {
        const f = await loadFixture(consumerFixture);
        const job = await consumerJob(f, f.models.optimistic, await deadlineIn(DAY), 200_000);
        await f.escrow.connect(f.worker).submitResult(job, OUTPUT);
        await expect(f.consumer.acceptOutput(job.id, OUTPUT))
          .to.be.revertedWithCustomError(f.consumer, "ExampleConsumerNotSettled")
          .withArgs(job.id, JobStatus.Submitted);
      });
    });

    describe("when someone other than the escrow calls onInferenceResult", function () {
      it("reverts with ExampleConsumerNotEscrow", async function () {
        const f = await loadFixture(consumerFixture);
        await expect(f.consumer.connect(f.other).onInferenceResult(1, JobOutcome.Accepted, OUTPUT))
          .to.be.revertedWithCustomError(f.consumer, "ExampleConsumerNotEscrow")
          .withArgs(f.other.address);
      });
    });
  });
});
