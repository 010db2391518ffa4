/**
 * The escrow's job events, typed by TypeChain, and the pure reducer that folds them into the service's job records:
 * `reduce(record, event)` returns the record after the event (a new object; the old one is left as it was), or
 * undefined once the job is over. One handler per event in `REDUCERS`; nothing here reads the chain or the clock.
 */
import { hexlify, type Interface, type Log } from "ethers";
import type { TypedLogDescription } from "../../../typechain-types/common";
import type {
  CommitteeDrawnEvent,
  JobClaimedEvent,
  JobRequestedEvent,
  JobSettledEvent,
  ResultChallengedEvent,
  ResultSubmittedEvent,
  VoteCommittedEvent,
} from "../../../typechain-types/contracts/JobEscrow";
import { jobToJson, voteRecordOf, type JobRecord } from "../clients/chain";

/** The events that move a job the service follows, by name. */
interface JobEvents {
  JobRequested: JobRequestedEvent.Event;
  JobClaimed: JobClaimedEvent.Event;
  ResultSubmitted: ResultSubmittedEvent.Event;
  CommitteeDrawn: CommitteeDrawnEvent.Event;
  VoteCommitted: VoteCommittedEvent.Event;
  ResultChallenged: ResultChallengedEvent.Event;
  JobSettled: JobSettledEvent.Event;
}

export type JobEventName = keyof JobEvents;

/** An event's decoded arguments, as TypeChain types them. */
export type ArgsOf<K extends JobEventName> = TypedLogDescription<JobEvents[K]>["args"];

/** Where an event is on the chain. */
export interface EventPosition {
  blockNumber: number;
  blockHash: string;
  transactionHash: string;
  /** The log's index in its block. */
  index: number;
}

/** One decoded job event (a union over the names; `JobEvent<"JobSettled">` is one of them). */
export type JobEvent<K extends JobEventName = JobEventName> = {
  [P in K]: { name: P; args: ArgsOf<P>; log: EventPosition };
}[K];

type Reducer<K extends JobEventName> = (
  rec: JobRecord | undefined,
  args: ArgsOf<K>,
  at: EventPosition,
) => JobRecord | undefined;

const REDUCERS: { [K in JobEventName]: Reducer<K> } = {
  // A request seen again (a chunk read twice) keeps the record, which may have moved on since.
  JobRequested: (rec, a, at) =>
    rec ?? {
      job: jobToJson(a.job),
      input: hexlify(a.input),
      inputUri: a.inputUri,
      relTolerance: Number(a.relTolerance),
      absTolerance: Number(a.absTolerance),
      block: at.blockNumber,
    },
  JobClaimed: (rec, a) => rec && { ...rec, worker: a.worker },
  ResultSubmitted: (rec, a) => rec && { ...rec, worker: a.worker, output: hexlify(a.output) },
  CommitteeDrawn: (rec, a) => rec && { ...rec, committee: [...a.committee] },
  // Every commitment of the job, not only this account's: a reveal passes them all back, sealed.
  VoteCommitted: (rec, a, at) =>
    rec && { ...rec, votes: [...(rec.votes ?? []), voteRecordOf(a.seat, a.commitment, at.blockNumber, at.index)] },
  ResultChallenged: (rec, a) => rec && { ...rec, challenger: a.challenger },
  JobSettled: () => undefined,
};

/** The job's record after `event`: a new record, or undefined once the job is settled. Pure. */
export function reduce<K extends JobEventName>(rec: JobRecord | undefined, event: JobEvent<K>): JobRecord | undefined {
  const reducer: Reducer<K> = REDUCERS[event.name];
  return reducer(rec, event.args, event.log);
}

/** The job id of an event, as the records key it (decimal). */
export const jobKey = (event: JobEvent): string => String(event.args.jobId);

const NAMES = new Set<string>(Object.keys(REDUCERS));

/** The names of the job events, for a log filter. */
export const JOB_EVENT_NAMES = Object.keys(REDUCERS) as JobEventName[];

/** Decodes one of the escrow's logs into a job event; undefined for any other log. */
export function decodeJobEvent(escrow: Interface, log: Log): JobEvent | undefined {
  let parsed;
  try {
    parsed = escrow.parseLog(log);
  } catch {
    return undefined;
  }
  if (!parsed || !NAMES.has(parsed.name)) return undefined;
  const { blockNumber, blockHash, transactionHash, index } = log;
  // ethers decoded the log with the escrow's ABI, the one TypeChain generated these types from: the single place
  // the decoded arguments are given their types.
  return {
    name: parsed.name,
    args: parsed.args,
    log: { blockNumber, blockHash, transactionHash, index },
  } as unknown as JobEvent;
}
