/**
 * Where a worker run's wall time went, from its pino log at debug level: the stretches between the lines the
 * service writes as it goes (events read, job states read, inferences done, transactions sent and mined). The
 * worker is not changed for the benchmark, so this is as fine as its log lines are.
 */
import type { LogLine } from "../network";

export interface Stretch {
  what: string;
  ms: number;
}

/**
 * The stretches of one run of the worker (its log lines from `startedAt` on), in order:
 *   - reading events: "service started" to the last "job requested";
 *   - reading job states: to the first "inference done" (a jobState call per open job, then the first job's
 *     getVersion and the model's load);
 *   - running jobs: to the last "inference done" (a getVersion call and an inference per job);
 *   - submitting: to the last "…: mined" (simulate, encode, estimate, sign, send, receipt);
 * and the time after the last submission until `endedAt`.
 */
export function backlogTimeline(lines: LogLine[], startedAt: number, endedAt: number): Stretch[] {
  const run = lines.filter((l) => Number(l.time) >= startedAt);
  const times = (match: (l: LogLine) => boolean) => run.filter(match).map((l) => Number(l.time));
  const requested = times((l) => l.msg === "job requested");
  const inferred = times((l) => l.msg === "inference done");
  const mined = times((l) => / mined$/.test(l.msg) && typeof l.tx === "string" && l.tx.startsWith("submit"));
  const sent = times((l) => / sent$/.test(l.msg) && typeof l.tx === "string" && l.tx.startsWith("submit"));
  const marks: [string, number | undefined][] = [
    ["reading events (eth_getLogs, decoding)", requested.at(-1)],
    ["reading job states (a jobState call per job) and loading the model", inferred[0]],
    [`running ${inferred.length} jobs (a getVersion call and an inference per job)`, inferred.at(-1)],
    [`simulating, encoding, estimating and sending ${sent.length} submission(s)`, sent.at(-1)],
    ["waiting for the submission's receipt", mined.at(-1)],
    ["after the last submission, until seen settled", endedAt],
  ];
  const out: Stretch[] = [];
  let previous = startedAt;
  for (const [what, at] of marks) {
    if (at === undefined || at < previous) continue;
    out.push({ what, ms: at - previous });
    previous = at;
  }
  return out;
}
