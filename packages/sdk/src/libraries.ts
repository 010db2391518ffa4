/**
 * The libraries linked into JobEscrow: the one list every deployer goes by. The Ignition module
 * (ignition/modules/TrustML.ts) deploys and links each; the deployment record (packages/sdk/src/deployment.ts) holds one entry
 * per library; verification (src/deploy/deploy.ts) hands them to hardhat-verify; `deployEscrowLibraries`
 * (src/deploy/contracts.ts) deploys them for the test fixtures, the simulation and the gas scenarios; the
 * code-size check measures each (test/gas/figures.ts). A library moved out of the escrow is added here and nowhere
 * else.
 *
 * Kept free of Hardhat imports: the deployment record's schema, read by the worker, depends on it.
 */

/** Each library's contract name, which is also the name linking takes (ethers, Ignition, hardhat-verify). */
export const ESCROW_LIBRARIES = ["EscrowParamsLib", "CommitteeDrawLib", "ProvenJudge"] as const;

export type EscrowLibrary = (typeof ESCROW_LIBRARIES)[number];

/** Addresses of the escrow's libraries by contract name, as linking takes them. */
export type EscrowLibraryAddresses = Record<EscrowLibrary, string>;

/** A library's entry in a deployment record's `contracts`: its name with a lower-case initial (`escrowParamsLib`). */
export type EscrowLibraryKey = Uncapitalize<EscrowLibrary>;

export function escrowLibraryKey(name: EscrowLibrary): EscrowLibraryKey {
  return (name.charAt(0).toLowerCase() + name.slice(1)) as EscrowLibraryKey;
}

/** Fully qualified name of a library (its source file and contract), as artifacts and hardhat-verify name it. */
export function escrowLibrarySource(name: EscrowLibrary): string {
  return `contracts/libraries/${name}.sol:${name}`;
}

/** `{ [escrowLibraryKey(name)]: value(name) }` for every library: its entries in a record or a module's results. */
export function escrowLibraryEntries<T>(value: (name: EscrowLibrary) => T): Record<EscrowLibraryKey, T> {
  return Object.fromEntries(ESCROW_LIBRARIES.map((name) => [escrowLibraryKey(name), value(name)])) as Record<
    EscrowLibraryKey,
    T
  >;
}

/** `{ [library]: address }` from a lookup by library name. */
export function escrowLibraryAddresses(addressOf: (name: EscrowLibrary) => string): EscrowLibraryAddresses {
  return Object.fromEntries(ESCROW_LIBRARIES.map((name) => [name, addressOf(name)])) as EscrowLibraryAddresses;
}
