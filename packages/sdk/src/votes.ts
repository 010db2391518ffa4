/**
 * Committee votes as the escrow checks them, computed off chain: a verifier's commitment, the sealed form a
 * reveal passes back, and the list of a job's sealed commitments read from its VoteCommitted events.
 *
 * The escrow stores no commitment: each commit folds `sealCommitment(seat, commitment)` into one running hash
 * per job, and a reveal passes every sealed commitment of the job in the order they were made, which the escrow
 * replays against that hash. All three functions here match the contract's pure functions of the same names.
 */
import { AbiCoder, EventLog, keccak256, type BaseContract, type BigNumberish } from "ethers";
import { LogReader } from "./events";

const coder = AbiCoder.defaultAbiCoder();

/** `JobEscrow.voteCommitment`: binds job, verifier, vote and a secret salt. */
export function voteCommitment(jobId: BigNumberish, verifier: string, agree: boolean, salt: string): string {
  return keccak256(coder.encode(["uint256", "address", "bool", "bytes32"], [jobId, verifier, agree, salt]));
}

/** `JobEscrow.sealCommitment`: a commitment bound to the seat that made it. */
export function sealCommitment(seat: BigNumberish, commitment: string): string {
  return keccak256(coder.encode(["uint256", "bytes32"], [seat, commitment]));
}

/** One VoteCommitted event, as much of it as a reveal needs. */
export interface CommittedVote {
  seat: bigint;
  commitment: string;
  blockNumber: number;
  index: number; // log index within the block
}

/** Seals `votes` in the order they were committed (block, then log index): what a reveal passes. */
export function sealInOrder(votes: readonly CommittedVote[]): string[] {
  return [...votes]
    .sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index)
    .map((v) => sealCommitment(v.seat, v.commitment));
}

/**
 * Every sealed commitment of `jobId`, in commit order, from the chain's VoteCommitted events (from block
 * `fromBlock`, which must not be later than the committee's draw), read with `reader` (default: a LogReader on the
 * escrow's provider).
 */
export async function sealedCommitments(
  escrow: BaseContract,
  jobId: BigNumberish,
  fromBlock = 0,
  reader?: LogReader,
): Promise<string[]> {
  const provider = escrow.runner?.provider;
  if (!reader && !provider) throw new Error("sealedCommitments needs a contract connected to a provider, or a reader");
  const events = await (reader ?? new LogReader(provider!)).events(
    escrow,
    escrow.filters.VoteCommitted(jobId),
    fromBlock,
  );
  return sealInOrder(
    events
      .filter((e): e is EventLog => e instanceof EventLog)
      .map((e) => ({
        seat: e.args.seat as bigint,
        commitment: e.args.commitment as string,
        blockNumber: e.blockNumber,
        index: e.index,
      })),
  );
}
