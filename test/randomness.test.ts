import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import type { ContractTransactionResponse } from "ethers";
import { JobOutcome, JobStatus } from "../packages/sdk/src/params";
import { OUTPUT } from "./fixtures/protocol";
import { underCoverage } from "./fixtures/coverage";
import {
  blockhashFixture,
  VRF_CONFIG,
  vrfFixture,
  vrfProtocolFixture,
  type VrfProtocol,
  type VrfSetup,
} from "./fixtures/randomness";
import type { Job } from "./fixtures/protocol";

const coder = ethers.AbiCoder.defaultAbiCoder();

/** CommitteeDrawLib.REQUEST_GAS: the gas the escrow gives `requestSeed`. */
const REQUEST_GAS = 250_000n;

/** BlockhashRandomness.BLOCKHASH_WINDOW. */
const WINDOW = 256n;

/** keccak256(abi.encode(word, ticket, source)): the seed both sources derive from their random value. */
function seedFrom(word: string | bigint, ticket: bigint, source: string): bigint {
  const type = typeof word === "string" ? "bytes32" : "uint256";
  return BigInt(ethers.keccak256(coder.encode([type, "uint64", "address"], [word, ticket, source])));
}

/** The hash of block `n` as the node reports it. */
async function blockHash(n: bigint): Promise<string> {
  const block = await ethers.provider.getBlock(Number(n));
  return block!.hash!;
}

/** The block a transaction was mined in. */
async function blockOf(tx: ContractTransactionResponse): Promise<bigint> {
  return BigInt((await tx.wait())!.blockNumber);
}

/** Sends the transactions `send` starts in one block: automine is off while they are sent. */
async function inOneBlock(send: () => Promise<ContractTransactionResponse>[]): Promise<ContractTransactionResponse[]> {
  await network.provider.send("evm_setAutomine", [false]);
  try {
    const txs = await Promise.all(send());
    await mine();
    return txs;
  } finally {
    await network.provider.send("evm_setAutomine", [true]);
  }
}

describe("Randomness sources", function () {
  describe("BlockhashRandomness", function () {
    describe("#requestSeed", function () {
      it("returns the number of the block after the request's", async function () {
        const { requester } = await loadFixture(blockhashFixture);
        const tx = await requester.requestSeeds(2);
        const block = await blockOf(tx);
        await expect(tx)
          .to.emit(requester, "TicketsReceived")
          .withArgs([block + 1n, block + 1n]);
      });
    });

    describe("#seedOf", function () {
      it("is not ready in the request's block nor in the ticket's own block", async function () {
        const { source, requester } = await loadFixture(blockhashFixture);
        const ticket = (await blockOf(await requester.requestSeeds(1))) + 1n;
        expect(await source.seedOf(ticket)).to.deep.equal([false, 0n]);
        const tx = await requester.readSeed(ticket);
        expect(await blockOf(tx)).to.equal(ticket);
        await expect(tx).to.emit(requester, "SeedRead").withArgs(ticket, false, 0n, ticket);
      });

      it("is ready from the next block, with keccak256(abi.encode(blockhash(ticket), ticket, source))", async function () {
        const { source, requester } = await loadFixture(blockhashFixture);
        const ticket = (await blockOf(await requester.requestSeeds(1))) + 1n;
        await mine(2); // the ticket's block, then one after it
        const expected = seedFrom(await blockHash(ticket), ticket, await source.getAddress());
        expect(await source.anchorOf(ticket)).to.equal(ticket);
        expect(await source.seedOf(ticket)).to.deep.equal([true, expected]);
        // Read in a transaction too: the block after the ticket's.
        await expect(requester.readSeed(ticket))
          .to.emit(requester, "SeedRead")
          .withArgs(ticket, true, expected, ticket + 2n);
      });

      it("moves to the last block of each whole run of 256 blocks, stays readable and changes only every 256 blocks", async function () {
        const { source, requester } = await loadFixture(blockhashFixture);
        const address = await source.getAddress();
        const ticket = (await blockOf(await requester.requestSeeds(1))) + 1n;
        await mine(1); // the ticket's block exists
        const seen = new Map<bigint, bigint>();
        // Ages (block.number - 1 - ticket) around the boundaries of the first three runs.
        for (const age of [0n, 1n, 255n, 256n, 257n, 511n, 512n, 700n]) {
          const latest = BigInt(await ethers.provider.getBlockNumber());
          const target = ticket + 1n + age; // eth_call runs at the latest block
          if (target > latest) await mine(target - latest);
          expect(BigInt(await ethers.provider.getBlockNumber())).to.equal(target);
          const anchor = await source.anchorOf(ticket);
          expect(anchor, `anchor at age ${age}`).to.equal(ticket + (age / WINDOW) * WINDOW);
          const [ready, seed] = await source.seedOf(ticket);
          expect(ready, `ready at age ${age}`).to.equal(true);
          expect(seed, `seed at age ${age}`).to.equal(seedFrom(await blockHash(anchor), ticket, address));
          if (seen.has(anchor)) expect(seed, `same run, age ${age}`).to.equal(seen.get(anchor));
          seen.set(anchor, seed);
        }
        // Three runs, three different seeds.
        expect(new Set(seen.values()).size).to.equal(3);
        expect([...seen.keys()]).to.deep.equal([ticket, ticket + WINDOW, ticket + 2n * WINDOW]);
      });
    });
  });

  describe("VrfRandomness", function () {
    /** Sends one request through the stand-in escrow and returns its coordinator request id and ticket. */
    async function requestOne(v: VrfSetup): Promise<{ requestId: bigint; ticket: bigint }> {
      await v.requester.requestSeeds(1);
      const ids = await v.coordinator.requestIds();
      const requestId = ids[ids.length - 1];
      return { requestId, ticket: await v.vrf.ticketOf(requestId) };
    }

    describe("#constructor", function () {
      it("keeps the coordinator, the configuration and the owner, and emits VrfConfigUpdated", async function () {
        const v = await loadFixture(vrfFixture);
        const c = VRF_CONFIG;
        expect(await v.vrf.coordinator()).to.equal(await v.coordinator.getAddress());
        expect(await v.vrf.vrfConfig()).to.deep.equal([
          c.keyHash,
          c.subId,
          c.requestConfirmations,
          c.callbackGasLimit,
          c.nativePayment,
        ]);
        expect(await v.vrf.owner()).to.equal(v.owner.address);
        expect(await v.vrf.lastTicket()).to.deep.equal([0n, 0n]);
        await expect(v.vrf.deploymentTransaction())
          .to.emit(v.vrf, "VrfConfigUpdated")
          .withArgs(c.keyHash, c.subId, c.requestConfirmations, c.callbackGasLimit, c.nativePayment);
      });

      it("reverts with VrfRandomnessZeroCoordinator for the zero address", async function () {
        const v = await loadFixture(vrfFixture);
        const c = VRF_CONFIG;
        const factory = await ethers.getContractFactory("VrfRandomness");
        await expect(
          factory.deploy(
            ethers.ZeroAddress,
            c.keyHash,
            c.subId,
            c.requestConfirmations,
            c.callbackGasLimit,
            c.nativePayment,
            v.owner.address,
          ),
        ).to.be.revertedWithCustomError(v.vrf, "VrfRandomnessZeroCoordinator");
      });

      it("reverts with VrfRandomnessInvalidParam for a configuration out of bounds, and OwnableInvalidOwner for no owner", async function () {
        const v = await loadFixture(vrfFixture);
        const c = VRF_CONFIG;
        const factory = await ethers.getContractFactory("VrfRandomness");
        await expect(
          factory.deploy(v.coordinator, c.keyHash, c.subId, 0, c.callbackGasLimit, c.nativePayment, v.owner.address),
        )
          .to.be.revertedWithCustomError(v.vrf, "VrfRandomnessInvalidParam")
          .withArgs(ethers.encodeBytes32String("requestConfirmations"), 0, 1, 200);
        await expect(
          factory.deploy(
            v.coordinator,
            c.keyHash,
            c.subId,
            c.requestConfirmations,
            c.callbackGasLimit,
            c.nativePayment,
            ethers.ZeroAddress,
          ),
        )
          .to.be.revertedWithCustomError(v.vrf, "OwnableInvalidOwner")
          .withArgs(ethers.ZeroAddress);
      });
    });

    describe("#requestSeed", function () {
      it("reverts with VrfRandomnessUnauthorizedRequester for a caller the owner did not authorise", async function () {
        const v = await loadFixture(vrfFixture);
        await expect(v.vrf.connect(v.other).requestSeed())
          .to.be.revertedWithCustomError(v.vrf, "VrfRandomnessUnauthorizedRequester")
          .withArgs(v.other.address);
        const stranger = await ethers.deployContract("SeedRequesterStub", [v.vrf]);
        await expect(stranger.requestSeeds(1))
          .to.be.revertedWithCustomError(v.vrf, "VrfRandomnessUnauthorizedRequester")
          .withArgs(await stranger.getAddress());
        expect(await v.coordinator.requestCount()).to.equal(0n);
      });

      it("sends one VRF request with the configured fields and returns ticket 1", async function () {
        const v = await loadFixture(vrfFixture);
        const tx = await v.requester.requestSeeds(1);
        const block = await blockOf(tx);
        const [requestId] = await v.coordinator.requestIds();
        const c = VRF_CONFIG;
        await expect(tx).to.emit(v.requester, "TicketsReceived").withArgs([1n]);
        await expect(tx).to.emit(v.vrf, "SeedRequested").withArgs(1n, requestId);
        await expect(tx)
          .to.emit(v.coordinator, "RandomWordsRequested")
          .withArgs(
            requestId,
            await v.vrf.getAddress(),
            c.keyHash,
            c.subId,
            c.requestConfirmations,
            c.callbackGasLimit,
            1,
            c.nativePayment,
          );
        expect(await v.coordinator.requestOf(requestId)).to.deep.equal([
          await v.vrf.getAddress(),
          c.keyHash,
          c.subId,
          c.requestConfirmations,
          c.callbackGasLimit,
          1n,
          c.nativePayment,
          block,
        ]);
        expect(await v.vrf.ticketOf(requestId)).to.equal(1n);
        expect(await v.vrf.lastTicket()).to.deep.equal([1n, block]);
      });

      it("shares one request among every seed asked for in a block: twice in one transaction", async function () {
        const v = await loadFixture(vrfFixture);
        const tx = await v.requester.requestSeeds(2);
        await expect(tx).to.emit(v.requester, "TicketsReceived").withArgs([1n, 1n]);
        expect(await v.coordinator.requestCount()).to.equal(1n);
      });

      it("shares one request among every seed asked for in a block: three transactions from two requesters", async function () {
        const v = await loadFixture(vrfFixture);
        const txs = await inOneBlock(() => [
          v.requester.requestSeeds(1),
          v.vrf.connect(v.escrowAccount).requestSeed(),
          v.requester.requestSeeds(2),
        ]);
        const blocks = await Promise.all(txs.map(blockOf));
        expect(new Set(blocks).size).to.equal(1);
        // The block orders them as it likes: whichever came first sent the request, the others did not.
        const requested = await v.vrf.queryFilter(v.vrf.filters.SeedRequested(), Number(blocks[0]));
        expect(requested.map((e) => e.args.ticket)).to.deep.equal([1n]);
        await expect(txs[0]).to.emit(v.requester, "TicketsReceived").withArgs([1n]);
        await expect(txs[2]).to.emit(v.requester, "TicketsReceived").withArgs([1n, 1n]);
        expect(await v.coordinator.requestCount()).to.equal(1n);
        expect(await v.vrf.lastTicket()).to.deep.equal([1n, blocks[0]]);
      });

      it("sends a new request, with the next ticket, in a new block", async function () {
        const v = await loadFixture(vrfFixture);
        const first = await requestOne(v);
        await mine(5);
        const tx = await v.requester.requestSeeds(1);
        const ids = await v.coordinator.requestIds();
        expect(ids.length).to.equal(2);
        expect(ids[1]).not.to.equal(first.requestId);
        await expect(tx).to.emit(v.requester, "TicketsReceived").withArgs([2n]);
        await expect(tx).to.emit(v.vrf, "SeedRequested").withArgs(2n, ids[1]);
        expect(await v.vrf.ticketOf(ids[1])).to.equal(2n);
        expect(await v.vrf.lastTicket()).to.deep.equal([2n, await blockOf(tx)]);
      });

      it("reverts with the coordinator's error when it refuses the request, recording nothing", async function () {
        const v = await loadFixture(vrfFixture);
        await v.coordinator.setRefuseRequests(true);
        await expect(v.requester.requestSeeds(1)).to.be.revertedWithCustomError(
          v.coordinator,
          "MockVrfCoordinatorInvalidSubscription",
        );
        expect(await v.vrf.lastTicket()).to.deep.equal([0n, 0n]);
      });

      it("fits the escrow's REQUEST_GAS on the first call of a block and costs little after it (gas printed)", async function () {
        const v = await loadFixture(vrfFixture);
        const first = (await (await v.vrf.connect(v.escrowAccount).requestSeed()).wait())!.gasUsed;
        // The coordinator's share: the same request sent to the mock from an account, in a new block.
        const c = VRF_CONFIG;
        const extraArgs = ethers.concat([
          ethers.id("VRF ExtraArgsV1").slice(0, 10),
          coder.encode(["bool"], [c.nativePayment]),
        ]);
        const request = { ...c, numWords: 1, extraArgs };
        const coordinatorAlone = (await (await v.coordinator.requestRandomWords(request)).wait())!.gasUsed;
        await mine();
        const one = (await (await v.requester.requestSeeds(1)).wait())!.gasUsed;
        await mine();
        const two = (await (await v.requester.requestSeeds(2)).wait())!.gasUsed;
        const again = two - one;
        console.log(
          `      gas: requestSeed, first of a block: transaction ${first}, of which MockVrfCoordinator ` +
            `~${coordinatorAlone - 21_000n} and VrfRandomness ~${first - coordinatorAlone}; ` +
            `each later requestSeed of the block ${again}`,
        );
        expect(first - 21_000n).to.be.lessThan(REQUEST_GAS);
        expect(again).to.be.lessThan(5_000n);
      });
    });

    describe("#setRequester", function () {
      it("authorises and withdraws a requester, emitting RequesterUpdated", async function () {
        const v = await loadFixture(vrfFixture);
        await expect(v.vrf.connect(v.owner).setRequester(v.other.address, true))
          .to.emit(v.vrf, "RequesterUpdated")
          .withArgs(v.other.address, true);
        expect(await v.vrf.isRequester(v.other.address)).to.equal(true);
        await expect(v.vrf.connect(v.other).requestSeed()).to.emit(v.vrf, "SeedRequested");
        await expect(v.vrf.connect(v.owner).setRequester(v.other.address, false))
          .to.emit(v.vrf, "RequesterUpdated")
          .withArgs(v.other.address, false);
        expect(await v.vrf.isRequester(v.other.address)).to.equal(false);
        await expect(v.vrf.connect(v.other).requestSeed())
          .to.be.revertedWithCustomError(v.vrf, "VrfRandomnessUnauthorizedRequester")
          .withArgs(v.other.address);
      });

      it("reverts with OwnableUnauthorizedAccount for anyone but the owner, VrfRandomnessZeroRequester for zero", async function () {
        const v = await loadFixture(vrfFixture);
        await expect(v.vrf.connect(v.other).setRequester(v.other.address, true))
          .to.be.revertedWithCustomError(v.vrf, "OwnableUnauthorizedAccount")
          .withArgs(v.other.address);
        await expect(v.vrf.connect(v.owner).setRequester(ethers.ZeroAddress, true)).to.be.revertedWithCustomError(
          v.vrf,
          "VrfRandomnessZeroRequester",
        );
      });
    });

    describe("#setVrfConfig", function () {
      const NEXT = {
        keyHash: ethers.id("another gas lane"),
        subId: 7n,
        requestConfirmations: 200,
        callbackGasLimit: 60_000,
        nativePayment: false,
      };

      it("sets what later requests ask for, emitting VrfConfigUpdated", async function () {
        const v = await loadFixture(vrfFixture);
        await expect(v.vrf.connect(v.owner).setVrfConfig(NEXT))
          .to.emit(v.vrf, "VrfConfigUpdated")
          .withArgs(NEXT.keyHash, NEXT.subId, NEXT.requestConfirmations, NEXT.callbackGasLimit, NEXT.nativePayment);
        expect(await v.vrf.vrfConfig()).to.deep.equal(Object.values(NEXT));
        const { requestId } = await requestOne(v);
        const request = await v.coordinator.requestOf(requestId);
        expect([
          request.keyHash,
          request.subId,
          request.requestConfirmations,
          request.callbackGasLimit,
          request.nativePayment,
        ]).to.deep.equal(Object.values(NEXT));
      });

      it("reverts with OwnableUnauthorizedAccount for anyone but the owner", async function () {
        const v = await loadFixture(vrfFixture);
        await expect(v.vrf.connect(v.other).setVrfConfig(NEXT))
          .to.be.revertedWithCustomError(v.vrf, "OwnableUnauthorizedAccount")
          .withArgs(v.other.address);
      });

      const OUT_OF_BOUNDS: [string, number, number, number][] = [
        ["requestConfirmations", 0, 1, 200],
        ["requestConfirmations", 201, 1, 200],
        ["callbackGasLimit", 59_999, 60_000, 2_500_000],
        ["callbackGasLimit", 2_500_001, 60_000, 2_500_000],
      ];
      for (const [name, value, min, max] of OUT_OF_BOUNDS) {
        it(`reverts with VrfRandomnessInvalidParam for ${name} ${value}`, async function () {
          const v = await loadFixture(vrfFixture);
          await expect(v.vrf.connect(v.owner).setVrfConfig({ ...NEXT, [name]: value }))
            .to.be.revertedWithCustomError(v.vrf, "VrfRandomnessInvalidParam")
            .withArgs(ethers.encodeBytes32String(name), value, min, max);
        });
      }
    });

    describe("#seedOf and #rawFulfillRandomWords", function () {
      const WORD = 0xc0ffeen;

      it("is not ready before the fulfilment, nor for ticket 0 or a ticket never requested", async function () {
        const v = await loadFixture(vrfFixture);
        const { ticket } = await requestOne(v);
        await mine(10);
        for (const t of [0n, ticket, ticket + 1n])
          expect(await v.vrf.seedOf(t), `ticket ${t}`).to.deep.equal([false, 0n]);
      });

      it("is ready after the fulfilment with keccak256(abi.encode(word, ticket, source)), emitting SeedFulfilled", async function () {
        const v = await loadFixture(vrfFixture);
        const { requestId, ticket } = await requestOne(v);
        const seed = seedFrom(WORD, ticket, await v.vrf.getAddress());
        // Only the first word counts.
        await expect(v.coordinator.fulfill(requestId, [WORD, 1n]))
          .to.emit(v.vrf, "SeedFulfilled")
          .withArgs(ticket, requestId, seed);
        expect(await v.vrf.seedOf(ticket)).to.deep.equal([true, seed]);
      });

      it("keeps tickets apart when their requests are fulfilled out of order", async function () {
        const v = await loadFixture(vrfFixture);
        const first = await requestOne(v);
        const second = await requestOne(v);
        expect(second.ticket).to.equal(first.ticket + 1n);
        await v.coordinator.fulfill(second.requestId, [WORD]);
        expect(await v.vrf.seedOf(first.ticket)).to.deep.equal([false, 0n]);
        expect(await v.vrf.seedOf(second.ticket)).to.deep.equal([
          true,
          seedFrom(WORD, second.ticket, await v.vrf.getAddress()),
        ]);
        await v.coordinator.fulfill(first.requestId, [WORD]);
        expect(await v.vrf.seedOf(first.ticket)).to.deep.equal([
          true,
          seedFrom(WORD, first.ticket, await v.vrf.getAddress()),
        ]);
      });

      it("reverts with VrfRandomnessOnlyCoordinator for any caller but the coordinator", async function () {
        const v = await loadFixture(vrfFixture);
        const { requestId, ticket } = await requestOne(v);
        // Another coordinator, as any contract could pose as one.
        const impostor = await ethers.deployContract("MockVrfCoordinator");
        for (const [caller, send] of [
          [v.owner.address, () => v.vrf.connect(v.owner).rawFulfillRandomWords(requestId, [WORD])],
          [await impostor.getAddress(), () => impostor.fulfillRaw(v.vrf, requestId, [WORD])],
        ] as const) {
          await expect(send())
            .to.be.revertedWithCustomError(v.vrf, "VrfRandomnessOnlyCoordinator")
            .withArgs(caller, await v.coordinator.getAddress());
        }
        expect(await v.vrf.seedOf(ticket)).to.deep.equal([false, 0n]);
      });

      it("reverts with VrfRandomnessAlreadyFulfilled for a second fulfilment, keeping the first seed", async function () {
        const v = await loadFixture(vrfFixture);
        const { requestId, ticket } = await requestOne(v);
        await v.coordinator.fulfill(requestId, [WORD]);
        await expect(v.coordinator.fulfill(requestId, [WORD + 1n]))
          .to.be.revertedWithCustomError(v.vrf, "VrfRandomnessAlreadyFulfilled")
          .withArgs(requestId, ticket);
        expect(await v.vrf.seedOf(ticket)).to.deep.equal([true, seedFrom(WORD, ticket, await v.vrf.getAddress())]);
      });

      it("reverts with VrfRandomnessUnknownRequest for a request id it never sent", async function () {
        const v = await loadFixture(vrfFixture);
        const { requestId } = await requestOne(v);
        await expect(v.coordinator.fulfillRaw(v.vrf, requestId + 1n, [WORD]))
          .to.be.revertedWithCustomError(v.vrf, "VrfRandomnessUnknownRequest")
          .withArgs(requestId + 1n);
      });

      it("reverts with VrfRandomnessNoRandomWords for an empty array", async function () {
        const v = await loadFixture(vrfFixture);
        const { requestId, ticket } = await requestOne(v);
        await expect(v.coordinator.fulfill(requestId, []))
          .to.be.revertedWithCustomError(v.vrf, "VrfRandomnessNoRandomWords")
          .withArgs(requestId);
        expect(await v.vrf.seedOf(ticket)).to.deep.equal([false, 0n]);
      });

      it("fits the smallest callbackGasLimit the owner can set, with half of it to spare (gas printed)", async function () {
        const v = await loadFixture(vrfFixture);
        const min = await v.vrf.MIN_CALLBACK_GAS_LIMIT();
        await v.vrf.connect(v.owner).setVrfConfig({ ...VRF_CONFIG, callbackGasLimit: min });
        const { requestId, ticket } = await requestOne(v);
        // The real coordinator's way: exactly callbackGasLimit, not retried, failure not bubbled.
        const tx = await v.coordinator.fulfillWithExactGas(requestId, [ethers.MaxUint256]);
        const receipt = await tx.wait();
        const event = receipt!.logs
          .filter((log) => log.address === receipt!.to)
          .map((log) => v.coordinator.interface.parseLog(log))
          .find((parsed) => parsed?.name === "RandomWordsFulfilled");
        const [, success, callbackGas] = event!.args as unknown as [bigint, boolean, bigint];
        console.log(
          `      gas: rawFulfillRandomWords callback ${callbackGas} (limit ${min}); transaction ${receipt!.gasUsed}`,
        );
        expect(success).to.equal(true);
        expect((await v.vrf.seedOf(ticket))[0]).to.equal(true);
        // Instrumented bytecode costs far more gas: the bound means nothing under solidity-coverage.
        if (!underCoverage()) expect(callbackGas).to.be.lessThanOrEqual(min / 2n);
      });
    });
  });

  describe("MockVrfCoordinator", function () {
    it("reads empty extraArgs as LINK payment and refuses extraArgs with another tag", async function () {
      const v = await loadFixture(vrfFixture);
      const request = {
        keyHash: VRF_CONFIG.keyHash,
        subId: 1n,
        requestConfirmations: 3,
        callbackGasLimit: 100_000,
        numWords: 1,
        extraArgs: "0x",
      };
      await v.coordinator.requestRandomWords(request);
      const [requestId] = await v.coordinator.requestIds();
      expect((await v.coordinator.requestOf(requestId)).nativePayment).to.equal(false);
      const wrongTag = ethers.concat(["0x12345678", coder.encode(["bool"], [true])]);
      await expect(v.coordinator.requestRandomWords({ ...request, extraArgs: wrongTag }))
        .to.be.revertedWithCustomError(v.coordinator, "MockVrfCoordinatorInvalidExtraArgsTag")
        .withArgs("0x12345678");
    });
  });

  describe("JobEscrow with VrfRandomness as its source", function () {
    /** Requests a Committee job and has the worker submit it (claiming it in the same transaction). */
    async function submitCommitteeJob(p: VrfProtocol): Promise<{ job: Job; tx: ContractTransactionResponse }> {
      const job = await p.request(p.models.committee);
      const tx = await p.escrow.connect(p.worker).submitResult(job, OUTPUT);
      return { job, tx };
    }

    /** The committee the staking contract draws for `job` from `seed`, without the job's parties. */
    async function expectedCommittee(p: VrfProtocol, job: Job, seed: bigint): Promise<string[]> {
      const mixed = BigInt(ethers.keccak256(coder.encode(["uint256", "uint256"], [seed, job.id])));
      return [...(await p.staking.drawCommittee(mixed, job.committeeSize, [p.worker, p.requester, p.modelOwner]))];
    }

    it("moves a submitted Committee job to Drawing, refuses to draw before the fulfilment, then draws from the VRF's seed", async function () {
      const p = await loadFixture(vrfProtocolFixture);
      const { job, tx } = await submitCommitteeJob(p);
      const [requestId] = await p.coordinator.requestIds();
      expect((await p.coordinator.requestOf(requestId)).consumer).to.equal(await p.vrf.getAddress());
      const ticket = await p.vrf.ticketOf(requestId);
      expect(ticket).to.equal(1n);
      const state = await p.escrow.jobState(job.id);
      const drawBy = BigInt(await time.latest()) + BigInt((await p.escrow.paramsOf(job.paramsId)).commitWindow);
      expect(state.status).to.equal(JobStatus.Drawing);
      expect(state.windowEnd).to.equal(drawBy);
      expect(state.revealEnd).to.equal(ticket);
      await expect(tx)
        .to.emit(p.escrow, "ResultSubmitted")
        .withArgs(job.id, p.worker.address, ethers.keccak256(OUTPUT), OUTPUT, drawBy);
      await expect(tx).to.emit(p.vrf, "SeedRequested").withArgs(ticket, requestId);
      await expect(tx).not.to.emit(p.escrow, "CommitteeDrawn");

      await mine(VRF_CONFIG.requestConfirmations as number);
      await expect(p.escrow.drawCommittees([job]))
        .to.be.revertedWithCustomError(p.escrow, "JobEscrowSeedPending")
        .withArgs(job.id, ticket);

      const fulfilment = await p.coordinator.fulfillWithExactGas(requestId, [0xabcdefn]);
      await expect(fulfilment).to.emit(p.coordinator, "RandomWordsFulfilled").withArgs(requestId, true, anyValue);
      const seed = seedFrom(0xabcdefn, ticket, await p.vrf.getAddress());
      const committee = await expectedCommittee(p, job, seed);

      const draw = await p.escrow.connect(p.other).drawCommittees([job]);
      const now = BigInt(await time.latest());
      const params = await p.escrow.paramsOf(job.paramsId);
      await expect(draw)
        .to.emit(p.escrow, "CommitteeDrawn")
        .withArgs(job.id, committee, now + params.commitWindow, now + params.commitWindow + params.revealWindow);
      expect((await p.escrow.jobState(job.id)).status).to.equal(JobStatus.Voting);
    });

    it("shares one VRF request among the submissions of one block, and draws each job its own committee", async function () {
      const p = await loadFixture(vrfProtocolFixture);
      const jobs = [await p.request(p.models.committee), await p.request(p.models.committee)];
      await inOneBlock(() => jobs.map((job) => p.escrow.connect(p.worker).submitResult(job, OUTPUT)));
      expect(await p.coordinator.requestCount()).to.equal(1n);
      const [requestId] = await p.coordinator.requestIds();
      for (const job of jobs) expect((await p.escrow.jobState(job.id)).revealEnd).to.equal(1n);

      await p.coordinator.fulfill(requestId, [42n]);
      const seed = seedFrom(42n, 1n, await p.vrf.getAddress());
      const committees = await Promise.all(jobs.map((job) => expectedCommittee(p, job, seed)));
      const tx = await p.escrow.drawCommittees(jobs);
      for (let i = 0; i < jobs.length; i++) {
        await expect(tx).to.emit(p.escrow, "CommitteeDrawn").withArgs(jobs[i].id, committees[i], anyValue, anyValue);
      }
    });

    it("settles a job whose request is never fulfilled Inconclusive once the draw window closes, slashing nobody", async function () {
      const p = await loadFixture(vrfProtocolFixture);
      const stakeBefore = await p.staking.accountOf(p.worker.address);
      const { job } = await submitCommitteeJob(p);
      const { windowEnd: drawBy, revealEnd: ticket } = await p.escrow.jobState(job.id);
      await time.increaseTo(drawBy + 1n);
      await expect(p.escrow.drawCommittees([job]))
        .to.be.revertedWithCustomError(p.escrow, "JobEscrowSeedPending")
        .withArgs(job.id, ticket);
      await expect(p.escrow.settle(job, "0x"))
        .to.emit(p.escrow, "JobSettled")
        .withArgs(job.id, JobOutcome.Inconclusive, anyValue);
      expect((await p.escrow.jobState(job.id)).status).to.equal(JobStatus.Refunded);
      const stakeAfter = await p.staking.accountOf(p.worker.address);
      expect(stakeAfter.active).to.equal(stakeBefore.active);
      expect(stakeAfter.locked).to.equal(stakeBefore.locked);
    });
  });
});
