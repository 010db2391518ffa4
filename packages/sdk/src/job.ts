/**
 * A job's fixed record (`IJobEscrow.Job`) as the escrow emits it in `JobRequested` and takes back in claim,
 * submit, challenge and settle. One conversion from the decoded event to the plain struct, for every caller.
 */
import {
  AbiCoder,
  keccak256,
  type AddressLike,
  type BigNumberish,
  type BytesLike,
  type ContractRunner,
  type Interface,
  type TransactionResponse,
} from "ethers";

/** A job's fixed fields (`IJobEscrow.Job`), as plain values: what the escrow's calls take back. */
export interface Job {
  id: bigint;
  nonce: bigint;
  requester: string;
  modelOwner: string;
  modelId: bigint;
  version: bigint;
  mode: bigint;
  committeeSize: bigint;
  royaltyBps: bigint;
  protocolFeeBps: bigint;
  verifierShareBps: bigint;
  paramsId: bigint;
  callbackGasLimit: bigint;
  deadline: bigint;
  fee: bigint;
  collateral: bigint;
  inputHash: string;
}

/** A job's fields in any form a contract call takes them (TypeChain's `IJobEscrow.JobStruct`). */
export type JobStruct = {
  [K in keyof Job]: K extends "requester" | "modelOwner"
    ? AddressLike
    : K extends "inputHash"
      ? BytesLike
      : BigNumberish;
};

/** The plain struct of a decoded `Job` (an ethers Result, or TypeChain's output struct), field by field in the
 * contract's order. */
export function toJob(r: Job): Job {
  return {
    id: r.id,
    nonce: r.nonce,
    requester: r.requester,
    modelOwner: r.modelOwner,
    modelId: r.modelId,
    version: r.version,
    mode: r.mode,
    committeeSize: r.committeeSize,
    royaltyBps: r.royaltyBps,
    protocolFeeBps: r.protocolFeeBps,
    verifierShareBps: r.verifierShareBps,
    paramsId: r.paramsId,
    callbackGasLimit: r.callbackGasLimit,
    deadline: r.deadline,
    fee: r.fee,
    collateral: r.collateral,
    inputHash: r.inputHash,
  };
}

/** ABI types of what `Job.id` hashes: the deployment's domain, then every field after `id`, in order. */
const HASHED_FIELDS = [
  "bytes32",
  "uint64",
  "address",
  "address",
  "uint256",
  "uint256",
  "uint8",
  "uint8",
  "uint16",
  "uint16",
  "uint16",
  "uint32",
  "uint32",
  "uint64",
  "uint96",
  "uint96",
  "bytes32",
] as const;

/** Where a job lives: the chain and the escrow. Job ids (and through them vote commitments) bind both. */
export interface JobDomain {
  chainId: bigint;
  escrow: string;
}

/** keccak256(abi.encode(chainId, escrow)): the first word `Job.id` hashes. */
export function jobDomainHash(domain: JobDomain): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["uint256", "address"], [domain.chainId, domain.escrow]));
}

/** A contract as ethers (or TypeChain) gives it: its address, interface and runner. */
export interface ContractLike {
  getAddress(): Promise<string>;
  readonly interface: Interface;
  readonly runner: ContractRunner | null;
}

/** The domain of a deployed escrow, read from its provider. */
export async function jobDomainOf(escrow: ContractLike): Promise<JobDomain> {
  const network = await escrow.runner!.provider!.getNetwork();
  return { chainId: network.chainId, escrow: await escrow.getAddress() };
}

/** The id the escrow at `domain` gives a job with these fixed fields (as `JobEscrow.jobIdOf`): keccak256 of the
 * ABI encoding of the domain's hash and every field after `id`. */
export function jobIdOf(job: JobStruct, domain: JobDomain): bigint {
  const encoded = AbiCoder.defaultAbiCoder().encode(HASHED_FIELDS, [
    jobDomainHash(domain),
    job.nonce,
    job.requester,
    job.modelOwner,
    job.modelId,
    job.version,
    job.mode,
    job.committeeSize,
    job.royaltyBps,
    job.protocolFeeBps,
    job.verifierShareBps,
    job.paramsId,
    job.callbackGasLimit,
    job.deadline,
    job.fee,
    job.collateral,
    job.inputHash,
  ]);
  return BigInt(keccak256(encoded));
}

/** A job id as it is printed everywhere: the 32-byte hash it is, as 0x and 64 hex digits. */
export function formatJobId(id: BigNumberish): string {
  return "0x" + BigInt(id).toString(16).padStart(64, "0");
}

/** The job record a request transaction emitted (its `JobRequested` event). */
export async function jobFromTx(escrow: Pick<ContractLike, "interface">, tx: TransactionResponse): Promise<Job> {
  const receipt = await tx.wait();
  for (const log of receipt?.logs ?? []) {
    const parsed = escrow.interface.parseLog(log);
    if (parsed?.name === "JobRequested") return toJob(parsed.args.job);
  }
  throw new Error(`transaction ${tx.hash} emitted no JobRequested`);
}

/** What a settlement credited (`IJobEscrow.Settlement`, as `JobSettled` carries it), in plain bigints. */
export interface Settlement {
  workerPayment: bigint;
  royalty: bigint;
  treasuryPayment: bigint;
  verifierReward: bigint;
  rewardedVerifiers: bigint;
  requesterRefund: bigint;
  challengerPayment: bigint;
  slashed: bigint;
}

/** The plain Settlement of a decoded `JobSettled.settlement` (an ethers Result). */
export function toSettlement(s: Settlement): Settlement {
  return {
    workerPayment: s.workerPayment,
    royalty: s.royalty,
    treasuryPayment: s.treasuryPayment,
    verifierReward: s.verifierReward,
    rewardedVerifiers: s.rewardedVerifiers,
    requesterRefund: s.requesterRefund,
    challengerPayment: s.challengerPayment,
    slashed: s.slashed,
  };
}
