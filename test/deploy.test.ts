import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ESCROW_ROLE } from "../ignition/modules/TrustML";
import { deployProtocol, deployProtocolDetailed } from "../src/deploy/deploy";
import { resolveDeployOptions } from "../src/deploy/options";
import { DeploymentSchema, escrowLibrariesOf, loadDeployment, type Deployment } from "../packages/sdk/src/deployment";
import { ESCROW_LIBRARIES, escrowLibrarySource } from "../packages/sdk/src/libraries";
import { DEFAULT_ESCROW_PARAMS, DEFAULT_MIN_VERIFIER_STAKE } from "../packages/sdk/src/params";

const TX_HASH = /^0x[0-9a-f]{64}$/;

describe("deployProtocol", function () {
  let dir: string;
  let run = 0;
  /** A fresh record path and Ignition journal directory in the test's temporary directory. */
  const paths = () => {
    run++;
    return {
      deploymentFile: path.join(dir, `run${run}`, "hardhat.json"),
      ignitionDir: path.join(dir, `run${run}`, "ignition"),
    };
  };

  before(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), "trustml-deploy-test-"));
  });
  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  /** The first test's deployment, which the next ones resume, invalidate and reset. */
  const first = {} as { where: ReturnType<typeof paths>; snapshot: string; deployment: Deployment };

  it("deploys and wires the suite with a TestToken, and writes a record that validates and round-trips", async function () {
    const [deployer] = await ethers.getSigners();
    const where = paths();
    first.where = where;
    first.snapshot = await ethers.provider.send("evm_snapshot", []);
    const result = await deployProtocolDetailed(hre, where);
    expect(result.reused).to.equal(false);
    expect(result.file).to.equal(where.deploymentFile);
    const d = (first.deployment = result.deployment);

    // Wiring and parameters on chain.
    const escrow = await ethers.getContractAt("JobEscrow", d.contracts.escrow.address);
    const staking = await ethers.getContractAt("VerifierStaking", d.contracts.staking.address);
    const token = await ethers.getContractAt("TestToken", d.contracts.token.address);
    expect(await staking.hasRole(ESCROW_ROLE, escrow)).to.equal(true);
    expect(ESCROW_ROLE).to.equal(await staking.ESCROW_ROLE());
    expect(await escrow.token()).to.equal(d.contracts.token.address);
    expect(await escrow.registry()).to.equal(d.contracts.registry.address);
    expect(await escrow.staking()).to.equal(d.contracts.staking.address);
    expect(await escrow.randomnessSource()).to.equal(d.contracts.randomness.address);
    // The default source is BlockhashRandomness: a request's ticket is the block after it.
    const randomness = await ethers.getContractAt("BlockhashRandomness", d.contracts.randomness.address);
    expect(await randomness.BLOCKHASH_WINDOW()).to.equal(256n);
    expect(await randomness.requestSeed.staticCall()).to.equal(BigInt((await ethers.provider.getBlockNumber()) + 1));
    expect(await escrow.treasury()).to.equal(deployer.address);
    expect(await escrow.owner()).to.equal(deployer.address);
    expect(await staking.token()).to.equal(d.contracts.token.address);
    expect(await staking.minVerifierStake()).to.equal(DEFAULT_MIN_VERIFIER_STAKE);
    const onChain = await escrow.params();
    for (const [field, value] of Object.entries(DEFAULT_ESCROW_PARAMS)) {
      expect(onChain[field as keyof typeof DEFAULT_ESCROW_PARAMS], field).to.equal(BigInt(value));
    }
    expect(await token.symbol()).to.equal("TML");
    expect(await token.owner()).to.equal(deployer.address);
    expect(await token.FAUCET_AMOUNT()).to.be.greaterThan(0n);

    // The record.
    expect(DeploymentSchema.safeParse(d).success).to.equal(true);
    expect(d.network).to.equal("hardhat");
    expect(d.chainId).to.equal(31337);
    expect(d.testToken).to.equal(true);
    expect(d.deployer).to.equal(deployer.address);
    expect(d.governance).to.equal(deployer.address);
    expect(d.treasury).to.equal(deployer.address);
    expect(d.compiler).to.match(/^0\.8\.28\+commit\.[0-9a-f]{8}$/);
    expect(d.minVerifierStake).to.equal(DEFAULT_MIN_VERIFIER_STAKE.toString());
    expect(d.unbondingPeriod).to.equal(Number(await staking.unbondingPeriod()));
    expect(d.params).to.deep.equal(
      Object.fromEntries(
        Object.entries(DEFAULT_ESCROW_PARAMS).map(([k, v]) => [k, typeof v === "bigint" ? v.toString() : v]),
      ),
    );
    for (const [name, c] of Object.entries(d.contracts)) {
      expect(c.transactionHash, name).to.match(TX_HASH);
      const receipt = await ethers.provider.getTransactionReceipt(c.transactionHash!);
      expect(receipt?.contractAddress, name).to.equal(c.address);
      expect(receipt?.blockNumber, name).to.equal(c.block);
      expect(c.block!, name).to.be.at.least(d.startBlock);
    }
    const grant = await ethers.provider.getTransactionReceipt(d.wiring!.grantEscrowRole.transactionHash);
    expect(grant?.to).to.equal(d.contracts.staking.address);
    expect(grant?.blockNumber).to.equal(d.wiring!.grantEscrowRole.block);
    expect(d.startBlock).to.equal(Math.min(...Object.values(d.contracts).map((c) => c.block!)));

    // Written where asked, and read back identical.
    expect(loadDeployment(where.deploymentFile)).to.deep.equal(d);
    expect(JSON.parse(readFileSync(where.deploymentFile, "utf8")).chainId).to.equal(31337);
  });

  it("hands hardhat-verify the compiler version block explorers know (no solc-js platform suffix)", async function () {
    const { Bytecode } = await import("@nomicfoundation/hardhat-verify/internal/solc/bytecode");
    const address = first.deployment.contracts.escrow.address;
    const info = await hre.run("verify:get-contract-information", {
      contractFQN: "contracts/JobEscrow.sol:JobEscrow",
      deployedBytecode: await Bytecode.getDeployedContractBytecode(address, hre.network.provider, "hardhat"),
      matchingCompilerVersions: ["0.8.28"],
      libraries: escrowLibrariesOf(first.deployment),
    });
    expect(info.solcLongVersion).to.equal(first.deployment.compiler);
    for (const name of ESCROW_LIBRARIES) {
      expect(info.libraries).to.have.property(escrowLibrarySource(name).split(":")[0]);
    }
  });

  it("resumes from the Ignition journal: the same record, nothing sent", async function () {
    const block = await ethers.provider.getBlockNumber();
    const again = await deployProtocolDetailed(hre, first.where);
    expect(again.reused).to.equal(true);
    expect(again.deployment).to.deep.equal(first.deployment);
    expect(await ethers.provider.getBlockNumber()).to.equal(block);
  });

  it("deploys afresh when the journal's contracts are gone (a restarted local chain)", async function () {
    await ethers.provider.send("evm_revert", [first.snapshot]);
    const lines: string[] = [];
    const result = await deployProtocolDetailed(hre, { ...first.where, log: (line) => lines.push(line) });
    expect(lines.join("\n")).to.match(/stale .*no code/);
    expect(result.reused).to.equal(false);
    expect(await ethers.provider.getCode(result.deployment.contracts.escrow.address)).to.not.equal("0x");
  });

  it("--reset forgets the journal and deploys new contracts", async function () {
    const before = loadDeployment(first.where.deploymentFile);
    const result = await deployProtocolDetailed(hre, { ...first.where, reset: true });
    expect(result.reused).to.equal(false);
    expect(result.deployment.contracts.escrow.address).to.not.equal(before.contracts.escrow.address);
    expect(loadDeployment(first.where.deploymentFile)).to.deep.equal(result.deployment);
  });

  it("uses a given token, governance and treasury", async function () {
    const [, governance, treasury] = await ethers.getSigners();
    const existing = await ethers.deployContract("TestToken", [governance.address]);
    const d = await deployProtocol(hre, {
      ...paths(),
      token: await existing.getAddress(),
      governance: governance.address,
      treasury: treasury.address,
    });
    expect(d.testToken).to.equal(false);
    expect(d.contracts.token).to.deep.equal({ address: await existing.getAddress() });
    expect(d.governance).to.equal(governance.address);
    expect(d.treasury).to.equal(treasury.address);
    const escrow = await ethers.getContractAt("JobEscrow", d.contracts.escrow.address);
    const staking = await ethers.getContractAt("VerifierStaking", d.contracts.staking.address);
    expect(await escrow.owner()).to.equal(governance.address);
    expect(await escrow.treasury()).to.equal(treasury.address);
    expect(await staking.hasRole(await staking.DEFAULT_ADMIN_ROLE(), governance.address)).to.equal(true);
    expect(await staking.hasRole(ESCROW_ROLE, escrow)).to.equal(true);
    const grant = await ethers.provider.getTransaction(d.wiring!.grantEscrowRole.transactionHash);
    expect(grant?.from).to.equal(governance.address);
  });

  it("refuses a token address without code", async function () {
    const [, , , nobody] = await ethers.getSigners();
    await expect(deployProtocol(hre, { ...paths(), token: nobody.address })).to.be.rejectedWith(
      /--token .*no contract at this address/,
    );
  });
});

describe("resolveDeployOptions", function () {
  const accounts = ["0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"];
  const TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

  it("deploys a TestToken on local networks, governed and funded by the deployer by default", function () {
    for (const network of ["hardhat", "localhost"]) {
      expect(resolveDeployOptions({ network, chainId: 31337, accounts })).to.deep.equal({
        deployer: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        governance: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        treasury: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        testToken: true,
        token: undefined,
      });
    }
  });

  it("requires --token on other networks, with a message saying so", function () {
    expect(() => resolveDeployOptions({ network: "sepolia", chainId: 11155111, accounts })).to.throw(
      /--token <address> is required on network "sepolia" \(chain 11155111\)/,
    );
    const given = resolveDeployOptions({ network: "sepolia", chainId: 11155111, accounts, token: TOKEN.toLowerCase() });
    expect(given.testToken).to.equal(false);
    expect(given.token).to.equal(TOKEN);
    expect(
      resolveDeployOptions({ network: "baseSepolia", chainId: 84532, accounts, token: "test" }).testToken,
    ).to.equal(true);
  });

  it("rejects bad addresses, a governance it cannot sign for, and a network without accounts", function () {
    const base = { network: "sepolia", chainId: 11155111, accounts, token: TOKEN };
    expect(() => resolveDeployOptions({ ...base, token: "0x1234" })).to.throw(/--token 0x1234 is not an address/);
    expect(() => resolveDeployOptions({ ...base, treasury: "treasury" })).to.throw(/--treasury treasury is not/);
    expect(() => resolveDeployOptions({ ...base, governance: TOKEN })).to.throw(/--governance .* is not an account/);
    expect(() => resolveDeployOptions({ ...base, accounts: [] })).to.throw(/DEPLOYER_PRIVATE_KEY/);
    const resolved = resolveDeployOptions({ ...base, governance: accounts[1], treasury: TOKEN });
    expect(resolved.governance).to.equal(accounts[1]);
    expect(resolved.treasury).to.equal(TOKEN);
  });
});
