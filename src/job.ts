/**
 * A job's fixed record (`IJobEscrow.Job`) as the escrow emits it in `JobRequested` and takes back in claim,
 * submit, challenge and settle. One conversion from the decoded event to the plain struct, for every caller.
 */
import type { ContractTransactionResponse } from "ethers";
import type { IJobEscrow, JobEscrow } from "../typechain-types";

export type Job = IJobEscrow.JobStruct;

/** The plain struct of a decoded `Job` (an ethers Result), field by field in the contract's order. */
export function toJob(r: IJobEscrow.JobStructOutput): Job {
  return {
    id: r.id,
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

/** The job record a request transaction emitted (its `JobRequested` event). */
export async function jobFromTx(escrow: JobEscrow, tx: ContractTransactionResponse): Promise<Job> {
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
