/**
 * The chain side: typed contracts, the protocol's addresses, the job record as persisted, and the chain's clock.
 * The escrow's events are read by events.ts.
 */
import type { ContractRunner, Provider } from "ethers";
import type { IJobEscrow, JobEscrow, ModelRegistry, VerifierStaking } from "../../../typechain-types";
import { JobEscrow__factory, ModelRegistry__factory, VerifierStaking__factory } from "../../factories";
import type { Deployment } from "../../../packages/sdk/src/deployment";
import { sealInOrder } from "../../../packages/sdk/src/votes";

export interface ProtocolAddresses {
  escrow: string;
  registry: string;
  staking: string;
  /** First block with protocol events. */
  startBlock: number;
}

export function addressesOf(d: Deployment): ProtocolAddresses {
  return {
    escrow: d.contracts.escrow.address,
    registry: d.contracts.registry.address,
    staking: d.contracts.staking.address,
    startBlock: d.startBlock,
  };
}

export interface Contracts {
  escrow: JobEscrow;
  registry: ModelRegistry;
  staking: VerifierStaking;
}

export function connect(addresses: ProtocolAddresses, runner: ContractRunner): Contracts {
  return {
    escrow: JobEscrow__factory.connect(addresses.escrow, runner),
    registry: ModelRegistry__factory.connect(addresses.registry, runner),
    staking: VerifierStaking__factory.connect(addresses.staking, runner),
  };
}

/** A job's fixed record in JSON form (numbers as decimal strings), as passed back to the escrow. */
export type JobJson = { [K in keyof IJobEscrow.JobStruct]: string };

const JOB_FIELDS = [
  "id",
  "nonce",
  "requester",
  "modelOwner",
  "modelId",
  "version",
  "mode",
  "committeeSize",
  "royaltyBps",
  "protocolFeeBps",
  "verifierShareBps",
  "paramsId",
  "callbackGasLimit",
  "deadline",
  "fee",
  "collateral",
  "inputHash",
] as const satisfies readonly (keyof IJobEscrow.JobStruct)[];

/** The decoded `Job` of an event (an ethers Result) as JSON. */
export function jobToJson(job: IJobEscrow.JobStructOutput | IJobEscrow.JobStruct): JobJson {
  const out = {} as JobJson;
  for (const f of JOB_FIELDS) out[f] = String((job as Record<string, unknown>)[f]);
  return out;
}

/** What the service remembers of an open job, from its events. */
export interface JobRecord {
  job: JobJson;
  /** Inline input (hex), "0x" when given by URI. */
  input: string;
  inputUri: string;
  relTolerance: number;
  absTolerance: number;
  /** Block of the request. */
  block: number;
  worker?: string;
  /** Posted output (hex). */
  output?: string;
  committee?: string[];
  /** The job's VoteCommitted events read so far, in chain order: what a reveal seals and passes back. */
  votes?: VoteRecord[];
  challenger?: string;
  /** Why this service's worker left the job (bad model or input). */
  skipped?: string;
}

/** One VoteCommitted event as persisted (JSON has no bigint; a seat index is small). */
export interface VoteRecord {
  seat: number;
  commitment: string;
  blockNumber: number;
  index: number;
}

/** A VoteCommitted event's `seat` and `commitment`, at log `index` of `blockNumber`, as persisted. */
export function voteRecordOf(seat: unknown, commitment: unknown, blockNumber: number, index: number): VoteRecord {
  return { seat: Number(seat), commitment: String(commitment), blockNumber, index };
}

/** The record's commitments sealed with their seats, in commit order (`sealInOrder`). */
export function sealedOf(votes: readonly VoteRecord[]): string[] {
  return sealInOrder(votes.map((v) => ({ ...v, seat: BigInt(v.seat) })));
}

/** The latest block's timestamp: the chain's clock, which decides every window. */
export async function chainTime(provider: Provider): Promise<number> {
  return (await chainHead(provider)).timestamp;
}

/** The latest block's number and timestamp. */
export async function chainHead(provider: Provider): Promise<{ number: number; timestamp: number }> {
  const block = await provider.getBlock("latest");
  if (!block) throw new Error("the node returned no latest block");
  return { number: block.number, timestamp: block.timestamp };
}
