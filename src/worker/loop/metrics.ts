/**
 * Prometheus metrics of one service, in a registry of its own (several services can share a process).
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export class Metrics {
  readonly registry = new Registry();
  readonly jobsSeen: Counter;
  readonly jobsComputed: Counter;
  readonly jobsSubmitted: Counter;
  readonly jobsFailed: Counter<"reason">;
  readonly votes: Counter<"phase">;
  readonly challenges: Counter;
  readonly fraudProofs: Counter<"result">;
  readonly draws: Counter<"result">;
  readonly settled: Counter;
  readonly inferenceSeconds: Histogram;
  readonly submitSeconds: Histogram<"tx">;
  readonly cursorBlock: Gauge;
  readonly openJobs: Gauge;
  readonly jobsEnded: Counter<"outcome">;
  readonly transactions: Counter<"tx" | "result">;
  readonly replacements: Counter<"tx">;
  readonly inFlight: Gauge;
  /** Where `inFlight` is read from: the sender, once the service has one (`countInFlight`). */
  private inFlightOf: () => number = () => 0;
  readonly rpcErrors: Counter<"kind">;
  readonly reorgs: Counter;
  readonly reorgDepth: Gauge;
  readonly headBlock: Gauge;
  readonly lagBlocks: Gauge;
  readonly tickSeconds: Histogram;

  constructor(labels: Record<string, string> = {}) {
    this.registry.setDefaultLabels(labels);
    const registers = [this.registry];
    this.jobsSeen = new Counter({
      name: "trustml_jobs_seen_total",
      help: "Jobs requested (JobRequested events read)",
      registers,
    });
    this.jobsComputed = new Counter({
      name: "trustml_jobs_computed_total",
      help: "Inferences run (worker and verifier)",
      registers,
    });
    this.jobsSubmitted = new Counter({
      name: "trustml_jobs_submitted_total",
      help: "Results submitted on chain",
      registers,
    });
    this.jobsFailed = new Counter({
      name: "trustml_jobs_failed_total",
      help: "Jobs this service could not do, by reason",
      labelNames: ["reason"],
      registers,
    });
    this.votes = new Counter({
      name: "trustml_votes_total",
      help: "Committee votes sent, by phase",
      labelNames: ["phase"],
      registers,
    });
    this.challenges = new Counter({
      name: "trustml_challenges_total",
      help: "Optimistic results challenged",
      registers,
    });
    this.fraudProofs = new Counter({
      name: "trustml_fraud_proofs_total",
      help:
        "Fraud proofs of Proven results, by result: sent (a proveFraud transaction queued), landed (mined: the job " +
        "Rejected), preempted (proven by another party first, or the window closed), failed (not mined: retried " +
        "while the window is open), refused (the judge would not convict: not resent)",
      labelNames: ["result"],
      registers,
    });
    this.draws = new Counter({
      name: "trustml_committee_draws_total",
      help: "Jobs this service's drawCommittees took out of Drawing: result committee (drawn) or too-few (Inconclusive)",
      labelNames: ["result"],
      registers,
    });
    this.settled = new Counter({ name: "trustml_jobs_settled_total", help: "Jobs settled by this service", registers });
    this.inferenceSeconds = new Histogram({
      name: "trustml_inference_seconds",
      help: "Time to run one inference",
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    });
    this.submitSeconds = new Histogram({
      name: "trustml_submit_seconds",
      help: "Time from simulating a transaction to its receipt",
      labelNames: ["tx"],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
      registers,
    });
    this.cursorBlock = new Gauge({
      name: "trustml_cursor_block",
      help: "Last block whose events were applied",
      registers,
    });
    this.openJobs = new Gauge({ name: "trustml_open_jobs", help: "Open jobs followed", registers });
    this.jobsEnded = new Counter({
      name: "trustml_jobs_ended_total",
      help: "Jobs followed to their end, by outcome (JobSettled events read: Accepted, Rejected, Inconclusive, Expired, Abandoned)",
      labelNames: ["outcome"],
      registers,
    });
    this.transactions = new Counter({
      name: "trustml_transactions_total",
      help:
        "Transactions by call and result: mined, skipped (already done by another party, a window closed or not " +
        "open yet, or nothing to do), reverted, failed (not mined: RPC errors past the retries, funds, a bug), " +
        "abandoned (in flight when the chain reorganised: the job is read again)",
      labelNames: ["tx", "result"],
      registers,
    });
    this.replacements = new Counter({
      name: "trustml_transaction_replacements_total",
      help: "Transactions re-sent with the same nonce at a bumped fee after the receipt timeout",
      labelNames: ["tx"],
      registers,
    });
    const inFlight = () => this.inFlightOf();
    this.inFlight = new Gauge({
      name: "trustml_transactions_in_flight",
      help: "Transactions sent and not yet mined",
      registers,
      // Read from the sender whenever the metrics are collected: never a stale copy.
      collect() {
        this.set(inFlight());
      },
    });
    this.rpcErrors = new Counter({
      name: "trustml_rpc_errors_total",
      help: "RPC errors met (each retried with backoff while retries remain), by kind",
      labelNames: ["kind"],
      registers,
    });
    this.reorgs = new Counter({
      name: "trustml_reorgs_total",
      help: "Reorganisations detected below the cursor (a block the cursor applied is no longer on the chain)",
      registers,
    });
    this.reorgDepth = new Gauge({
      name: "trustml_reorg_depth_blocks",
      help: "Blocks rewound by the last reorganisation",
      registers,
    });
    this.headBlock = new Gauge({ name: "trustml_head_block", help: "The chain's head, as last read", registers });
    this.lagBlocks = new Gauge({
      name: "trustml_lag_blocks",
      help: "Blocks between the head and the cursor (the confirmation depth included)",
      registers,
    });
    this.tickSeconds = new Histogram({
      name: "trustml_tick_seconds",
      help: "Time of one loop tick (read events, read the open jobs, every role)",
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
      registers,
    });
  }

  /** Makes `trustml_transactions_in_flight` read `count` whenever the metrics are collected. */
  countInFlight(count: () => number): void {
    this.inFlightOf = count;
  }

  /** The current value of a counter (for tests and the progress line). */
  async value(counter: Counter<string>, labels?: Record<string, string>): Promise<number> {
    const data = await counter.get();
    return data.values
      .filter((v) => !labels || Object.entries(labels).every(([k, x]) => v.labels[k] === x))
      .reduce((s, v) => s + v.value, 0);
  }
}
