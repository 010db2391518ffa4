import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { TrustMLClient, TrustMLError, spendableBalance } from "../packages/sdk/src/client";
import { describeError } from "../packages/sdk/src/errors";
import { formatJobId } from "../packages/sdk/src/job";
import { VerificationMode } from "../packages/sdk/src/params";
import { signatureHash, type IoSignature } from "../packages/sdk/src/signature";
import { deployProtocolFixture, OUTPUT, termsFor, type Protocol } from "./fixtures/protocol";

const SIGNATURE: IoSignature = {
  inputs: [{ name: "x", type: "float32", shape: [1, 2] }],
  outputs: [{ name: "y", type: "float32", shape: [null, 2] }],
};
const INPUT = [{ name: "x", type: "float32" as const, shape: [1, 2], data: new Float32Array([1, 2]) }];

/** The protocol, a model declaring SIGNATURE (price 0.01), and a client for a fresh account with tokens and no
 * allowance. */
async function clientFixture() {
  const p = await deployProtocolFixture();
  const account = (await ethers.getSigners())[12];
  await p.token.connect(account).faucet();
  const connect = (runner: typeof account) =>
    TrustMLClient.connect({
      runner,
      addresses: {
        registry: String(p.registry.target),
        escrow: String(p.escrow.target),
        staking: String(p.staking.target),
        token: String(p.token.target),
      },
    });
  const owner = await connect(p.modelOwner);
  const { modelId } = await owner.publish({
    contentHash: ethers.sha256(ethers.toUtf8Bytes("signed model")),
    uri: "ipfs://signed",
    terms: { ...termsFor(VerificationMode.None), price: ethers.parseEther("0.01") },
    signature: SIGNATURE,
  });
  return { p, account, client: await connect(account), connect, modelId };
}

/** The treasury's accrued protocol fees, grown by one settled 50-token job, far above the signed model's price. */
async function accrue(p: Protocol): Promise<void> {
  await p.registry
    .connect(p.modelOwner)
    .registerModel(
      ethers.sha256(ethers.toUtf8Bytes("dear model")),
      "ipfs://dear",
      { ...termsFor(VerificationMode.None), price: ethers.parseEther("50") },
      ethers.ZeroHash,
      "0x",
    );
  const job = await p.request(await p.registry.modelCount());
  await p.escrow.connect(p.worker).submitResult(job, OUTPUT);
}

describe("TrustMLClient", function () {
  it("#version reads a version's signature from its VersionPublished event, checked against the stored hash", async function () {
    const { client, modelId, p } = await loadFixture(clientFixture);
    const version = await client.version(modelId);
    expect(version.signature).to.deep.equal(SIGNATURE);
    expect(version.signatureHash).to.equal(signatureHash(SIGNATURE));
    expect((await client.version(p.models.none)).signature).to.equal(null);
  });

  it("#request pays from a deposit that covers the fee, with no approval", async function () {
    const { client, account, modelId, p } = await loadFixture(clientFixture);
    await client.deposit(ethers.parseEther("1")); // approves, then deposits
    const nonce = await account.getNonce();
    const allowance = await p.token.allowance(account, p.escrow);
    const job = await client.request({ modelId, input: INPUT, payment: "deposit" });
    expect(await account.getNonce()).to.equal(nonce + 1);
    expect(await p.token.allowance(account, p.escrow)).to.equal(allowance);
    expect(await p.escrow.balanceOf(account)).to.equal(ethers.parseEther("0.99"));
    expect(job.hexId)
      .to.equal(formatJobId(job.id))
      .and.match(/^0x[0-9a-f]{64}$/);
  });

  it("does not count the treasury's accrued fees as a balance a request spends: it approves and pays in tokens", async function () {
    const { p, connect, modelId } = await loadFixture(clientFixture);
    await accrue(p);
    const treasury = p.treasury;
    await p.token.connect(treasury).faucet();
    const accrued = await p.escrow.balanceOf(treasury);
    expect(accrued).to.be.greaterThan(ethers.parseEther("0.01"));
    const escrow = { balanceOf: (a: string) => p.escrow.balanceOf(a), treasury: () => p.escrow.treasury() };
    expect(await spendableBalance(escrow, treasury.address)).to.equal(0n);
    expect(await spendableBalance(escrow, p.requester.address)).to.equal(await p.escrow.balanceOf(p.requester));

    // Counted as a deposit, the request would have sent no approval and reverted (ERC20InsufficientAllowance).
    const client = await connect(treasury);
    const tokens = await p.token.balanceOf(treasury);
    await client.request({ modelId, input: INPUT });
    expect(await p.token.balanceOf(treasury)).to.equal(tokens - ethers.parseEther("0.01"));
    expect(await p.escrow.balanceOf(treasury)).to.equal(accrued);
  });

  it("JobHandle#settle says when a job not due will be, then refunds it; decoded errors print job ids in hex", async function () {
    const { client, modelId, p } = await loadFixture(clientFixture);
    const job = await client.request({ modelId, input: INPUT, deadline: 600 });
    const readyAt = new Date((Number(job.job.deadline) + 1) * 1000).toISOString();
    await expect(job.settle()).to.be.rejectedWith(
      TrustMLError,
      `job ${job.hexId} is Requested and not due until ${readyAt}`,
    );
    const reverted = await p.escrow
      .settle(job.job, "0x")
      .then(() => undefined)
      .catch((e: unknown) => e);
    expect(describeError(reverted, [p.escrow])).to.equal(
      `JobEscrowNotSettleable(jobId=${job.hexId}, current=1, readyAt=${Number(job.job.deadline) + 1})`,
    );
    await time.increaseTo(Number(job.job.deadline) + 1);
    const result = await job.settle();
    expect(result).to.deep.include({ status: "Refunded", outcome: "Expired" });
  });
});
