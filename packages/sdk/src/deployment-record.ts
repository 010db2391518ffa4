/**
 * The record of a deployment, written by scripts/deploy.ts to `deployments/<network>.json` and read by the
 * worker, the tasks, the demo, the explorer and the tests. One schema, validated on read, so a stale or hand-edited
 * record fails with a message naming the bad field instead of a call to a wrong address. Free of Node's modules:
 * the explorer parses records in the browser (the files are read and written by ./deployment.ts).
 */
import { z } from "zod";
import {
  escrowLibraryAddresses,
  escrowLibraryEntries,
  escrowLibraryKey,
  type EscrowLibraryAddresses,
} from "./libraries";

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an address (0x + 40 hex digits)");
const hash = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "a transaction hash (0x + 64 hex digits)");

/** One deployed contract: where it is and how it got there. */
export const DeployedContractSchema = z.object({
  address,
  transactionHash: hash.optional(), // absent for a token the deployment was given rather than deployed
  block: z.number().int().nonnegative().optional(),
});

export const DeploymentSchema = z.object({
  network: z.string().min(1),
  chainId: z.number().int().positive(),
  compiler: z.string().min(1), // solc long version, e.g. 0.8.28+commit.7893614a
  deployer: address,
  governance: address,
  treasury: address,
  /** First block of the deployment: where followers start reading events. */
  startBlock: z.number().int().nonnegative(),
  /** Whether the token is the protocol's TestToken (local and test networks) or an existing token. */
  testToken: z.boolean(),
  contracts: z.object({
    token: DeployedContractSchema,
    registry: DeployedContractSchema,
    staking: DeployedContractSchema,
    escrow: DeployedContractSchema,
    randomness: DeployedContractSchema,
    // One entry per library linked into the escrow (packages/sdk/src/libraries.ts): `escrowParamsLib`, …
    ...escrowLibraryEntries(() => DeployedContractSchema),
  }),
  /**
   * Transactions that wired the contracts together after deploying them. Optional: records written before this
   * field existed lack it, and readers need nothing from it.
   */
  wiring: z
    .object({
      /** VerifierStaking.grantRole(ESCROW_ROLE, escrow), sent by governance. */
      grantEscrowRole: z.object({ transactionHash: hash, block: z.number().int().nonnegative() }),
    })
    .optional(),
  /** Escrow parameters at deployment (amounts as decimal strings of base units). */
  params: z.record(z.string(), z.union([z.number(), z.string()])),
  minVerifierStake: z.string().regex(/^[0-9]+$/),
  unbondingPeriod: z.number().int().positive(),
  deployedAt: z.string().min(1), // ISO 8601
});

export type Deployment = z.infer<typeof DeploymentSchema>;

/** The addresses of the escrow's libraries in a record, by library name, as linking and hardhat-verify take them. */
export function escrowLibrariesOf(deployment: Deployment): EscrowLibraryAddresses {
  return escrowLibraryAddresses((name) => deployment.contracts[escrowLibraryKey(name)].address);
}

/** Validates a deployment record read from `source` (a file name or URL, for the message); throws naming the first bad field. */
export function parseDeployment(raw: unknown, source: string): Deployment {
  const parsed = DeploymentSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`deployment record ${source}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data;
}
