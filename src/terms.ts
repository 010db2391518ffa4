/**
 * The job-terms snapshot a request agrees to (`IModelRegistry.JobTerms`): the model's owner, latest version and
 * its content hash, and its terms. A request carries it and the escrow refuses the request
 * (`JobEscrowTermsChanged`) unless it is still the registry's current snapshot, so what a requester read is
 * what its job runs under.
 */
import type { IModelRegistry, ModelRegistry } from "../typechain-types";
import type { ModelTerms } from "./params";

/** A job-terms snapshot as plain values. */
export interface JobTerms {
  owner: string;
  version: bigint;
  contentHash: string;
  terms: ModelTerms;
}

/** The plain snapshot of a decoded `JobTerms` (an ethers Result, which cannot be passed back as an argument). */
export function toJobTerms(r: IModelRegistry.JobTermsStructOutput): JobTerms {
  const t = r.terms;
  return {
    owner: r.owner,
    version: r.version,
    contentHash: r.contentHash,
    terms: {
      price: t.price,
      mode: Number(t.mode),
      committeeSize: Number(t.committeeSize),
      royaltyBps: Number(t.royaltyBps),
      relTolerance: Number(t.relTolerance),
      absTolerance: Number(t.absTolerance),
    },
  };
}

/** The model's current snapshot, to agree to in a request. */
export async function currentTerms(registry: ModelRegistry, modelId: bigint | number): Promise<JobTerms> {
  return toJobTerms(await registry.jobTerms(modelId));
}
