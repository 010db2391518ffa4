/**
 * Deploys and wires the protocol's contracts directly with ethers, on Hardhat's in-process network: for test
 * fixtures, the gas-free simulation and anything else that wants a fresh protocol in one call. Networks that
 * keep their deployment (local nodes, testnets) use `deployProtocol` (Ignition, a deployment record) instead.
 */
import { ethers } from "hardhat";
import type { AddressLike, Signer } from "ethers";
import type { JobEscrow, ModelRegistry, MockRandomness, VerifierStaking } from "../../typechain-types";
import { DEFAULT_ESCROW_PARAMS, DEFAULT_MIN_VERIFIER_STAKE, type EscrowParams } from "../../packages/sdk/src/params";
import { ESCROW_LIBRARIES, type EscrowLibraryAddresses } from "../../packages/sdk/src/libraries";

export interface CoreContracts {
  registry: ModelRegistry;
  staking: VerifierStaking;
  randomness: MockRandomness;
  escrow: JobEscrow;
}

export interface CoreOptions {
  /** Sets parameters, owns the escrow and administers staking. */
  governance: Signer;
  treasury: AddressLike;
  params?: EscrowParams;
  minVerifierStake?: bigint;
}

/**
 * Registry, staking, a MockRandomness (tests set its seed), the escrow's libraries and the escrow linked to them
 * on `token`, with ESCROW_ROLE granted to the escrow while nothing is staked yet.
 */
export async function deployCore(token: AddressLike, options: CoreOptions): Promise<CoreContracts> {
  const governance = await options.governance.getAddress();
  const registry = await ethers.deployContract("ModelRegistry");
  const staking = await ethers.deployContract("VerifierStaking", [
    token,
    governance,
    options.minVerifierStake ?? DEFAULT_MIN_VERIFIER_STAKE,
  ]);
  const randomness = await ethers.deployContract("MockRandomness");
  const escrow = await ethers.deployContract(
    "JobEscrow",
    [token, registry, staking, randomness, options.treasury, governance, options.params ?? DEFAULT_ESCROW_PARAMS],
    { libraries: await deployEscrowLibraries() },
  );
  await staking.connect(options.governance).grantRole(await staking.ESCROW_ROLE(), escrow);
  return { registry, staking, randomness, escrow };
}

/**
 * Deploys each of the escrow's libraries (ESCROW_LIBRARIES) from `deployer` (default: the first account), in the
 * list's order; returns their addresses by name, ready to link.
 */
export async function deployEscrowLibraries(deployer?: Signer): Promise<EscrowLibraryAddresses> {
  const addresses: Partial<EscrowLibraryAddresses> = {};
  for (const name of ESCROW_LIBRARIES) {
    addresses[name] = await (await ethers.deployContract(name, [], deployer)).getAddress();
  }
  return addresses as EscrowLibraryAddresses;
}

/** An ERC-20 the test can mint: TestToken and the mock tokens. */
export interface MintableToken {
  mint(to: AddressLike, amount: bigint): Promise<unknown>;
  connect(signer: Signer): { approve(spender: AddressLike, amount: bigint): Promise<unknown> };
}

/** Mints `funds` to each account (as `minter`) and approves the escrow and staking for all of it. */
export async function fundAccounts(
  token: MintableToken,
  minter: Signer | undefined,
  contracts: Pick<CoreContracts, "escrow" | "staking">,
  accounts: Signer[],
  funds: bigint,
): Promise<void> {
  const mintAs = minter ? (token.connect(minter) as unknown as MintableToken) : token;
  for (const account of accounts) {
    await mintAs.mint(await account.getAddress(), funds);
    await token.connect(account).approve(contracts.escrow, ethers.MaxUint256);
    await token.connect(account).approve(contracts.staking, ethers.MaxUint256);
  }
}

/** Stakes `workerStake` for each worker, and `verifierStake` for each verifier, which then opts in. */
export async function stakeAccounts(
  staking: VerifierStaking,
  workers: { account: Signer; stake: bigint }[],
  verifiers: { account: Signer; stake: bigint }[],
): Promise<void> {
  for (const { account, stake } of workers) await staking.connect(account).stake(stake);
  for (const { account, stake } of verifiers) {
    await staking.connect(account).stake(stake);
    await staking.connect(account).setVerifier(true);
  }
}
