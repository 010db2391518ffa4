/**
 * The job-terms snapshot a request agrees to (`IModelRegistry.JobTerms`): the model's owner, latest version, its
 * content hash and the input size its signature fixes, and its terms. A request carries it and the escrow refuses the request
 * (`JobEscrowTermsChanged`) unless it is still the registry's current snapshot, so what a requester read is
 * what its job runs under.
 */
import { AbiCoder, keccak256 } from "ethers";
import type { BigNumberish } from "ethers";
import type { ModelTerms } from "./params";

/** The snapshot a job takes of a model (`IModelRegistry.JobTerms`): owner, latest version, its hash, the input
 * size its signature fixes (0n: none declared), terms. */
export interface JobTerms {
  owner: string;
  version: bigint;
  contentHash: string;
  inputSize: bigint;
  terms: ModelTerms;
}

/** ABI type of `IModelRegistry.JobTerms` (written out: tasks load this file before TypeChain's types exist). */
const JOB_TERMS_TYPE =
  "tuple(address owner, uint256 version, bytes32 contentHash, uint64 inputSize, " +
  "tuple(uint96 price, uint8 mode, uint8 committeeSize, uint16 royaltyBps, uint32 relTolerance, uint32 absTolerance) terms)";

/** The hash of a snapshot, as `ModelRegistry.jobTermsHash` stores it and `hashJobTerms` computes it:
 * keccak256 of its ABI encoding. A request's agreed terms must hash to the model's current one. */
export function jobTermsHash(snapshot: JobTerms): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode([JOB_TERMS_TYPE], [snapshot]));
}

/** The plain terms of a decoded `ModelTerms` (from a view or an event). */
export function toModelTerms(t: {
  price: bigint;
  mode: BigNumberish;
  committeeSize: BigNumberish;
  royaltyBps: BigNumberish;
  relTolerance: BigNumberish;
  absTolerance: BigNumberish;
}): ModelTerms {
  return {
    price: t.price,
    mode: Number(t.mode),
    committeeSize: Number(t.committeeSize),
    royaltyBps: Number(t.royaltyBps),
    relTolerance: Number(t.relTolerance),
    absTolerance: Number(t.absTolerance),
  };
}

/** The plain snapshot of a decoded `JobTerms` (an ethers Result, which cannot be passed back as an argument). */
export function toJobTerms(r: {
  owner: string;
  version: bigint;
  contentHash: string;
  inputSize: bigint;
  terms: Parameters<typeof toModelTerms>[0];
}): JobTerms {
  return {
    owner: r.owner,
    version: r.version,
    contentHash: r.contentHash,
    inputSize: r.inputSize,
    terms: toModelTerms(r.terms),
  };
}

/** The model's current snapshot, to agree to in a request. */
export async function currentTerms(
  registry: { jobTerms(modelId: BigNumberish): Promise<Parameters<typeof toJobTerms>[0]> },
  modelId: bigint | number,
): Promise<JobTerms> {
  return toJobTerms(await registry.jobTerms(modelId));
}
