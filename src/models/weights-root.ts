/**
 * The weights root a model version commits to in the registry (`IModelRegistry.ModelVersion.weightsRoot`): the
 * Merkle root over the neurons of an integer profile model (docs/FRAUD-PROOFS.md), or zero for any other model.
 * The registry cannot read the file; `model:publish` and `model:version` compute the root they register here, and
 * workers and verifiers recompute it here from the file they fetched and refuse the version on a mismatch.
 */
import { ZeroHash } from "ethers";
import { parseProfileModel, ProfileError } from "../proven/check";
import { weightsRoot } from "../proven/leaves";

export { ProfileError };

/** The root of a version that is not a profile model. */
export const NO_WEIGHTS_ROOT = ZeroHash;

/** Whether a registry root commits to a profile model (is non-zero). */
export function hasWeightsRoot(root: string): boolean {
  return BigInt(root) !== 0n;
}

/** The weights root of a profile file. Throws ProfileError (naming the node at fault) for any other file. */
export function fileWeightsRoot(bytes: Uint8Array): string {
  return weightsRoot(parseProfileModel(bytes).model.layers);
}

/** The weights root of a profile file, or null with the checker's reason when the file is not one. */
export function profileWeightsRoot(bytes: Uint8Array): { root: string } | { root: null; reason: string } {
  try {
    return { root: fileWeightsRoot(bytes) };
  } catch (e) {
    if (e instanceof ProfileError) return { root: null, reason: e.message };
    throw e;
  }
}

/** A version's registered root differs from the root of its file (or the file is not a profile model). */
export class WeightsRootMismatchError extends Error {
  constructor(
    message: string,
    /** The registry's root. */
    readonly expected: string,
    /** The file's root, or null when the file is not a profile model. */
    readonly actual: string | null,
  ) {
    super(message);
    this.name = "WeightsRootMismatchError";
  }
}

/**
 * Checks a fetched model file against its version's registered root: nothing to check when the root is zero;
 * otherwise the file must be a profile model whose root is the registered one. Throws WeightsRootMismatchError
 * naming both roots (or the checker's reason) and the version.
 */
export function checkWeightsRoot(
  bytes: Uint8Array,
  registered: string,
  what: { modelId: bigint; version: bigint },
): void {
  if (!hasWeightsRoot(registered)) return;
  const name = `model ${what.modelId} version ${what.version}`;
  const computed = profileWeightsRoot(bytes);
  if (computed.root === null) {
    throw new WeightsRootMismatchError(
      `${name}: the registry says weightsRoot ${registered}, but the file is not an integer profile model ` +
        `(${computed.reason})`,
      registered,
      null,
    );
  }
  if (computed.root.toLowerCase() !== registered.toLowerCase()) {
    throw new WeightsRootMismatchError(
      `${name}: weightsRoot of the file is ${computed.root}, the registry says ${registered}`,
      registered,
      computed.root,
    );
  }
}
