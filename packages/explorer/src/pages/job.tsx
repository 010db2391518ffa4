/**
 * `/job/:id` (0x id, decimal id or #request-number) and `/job/nonce/:n`: a job's whole provenance record, read again
 * every 2 s so the page follows the job through its states.
 */
import type { ReactNode } from "react";
import { useLocation, useParams } from "react-router";
import { useChain, useView } from "../chain";
import {
  AddressLink,
  Amount,
  At,
  CopyButton,
  Fields,
  Hash,
  Loaded,
  ModelLink,
  Problem,
  Section,
  StatusBadge,
  Time,
  BadReference,
} from "../components/common";
import { SlashesTable } from "../components/slashes";
import { Tensors } from "../components/tensors";
import { bps, ppb } from "../format";
import {
  formatJobId,
  parseJobRef,
  parseNonce,
  type JobRecord,
  type JobRef,
  type ProtocolHistory,
  type SeatView,
} from "../sdk";

type JobRead = { record: JobRecord } | { missing: string; hint?: string };

async function readJob(history: ProtocolHistory, ref: Exclude<JobRef, { kind: "bad" }>): Promise<JobRead> {
  const id = ref.kind === "nonce" ? history.jobIdOfNonce(ref.nonce) : ref.id;
  if (id === undefined) {
    const result = await history.search(`#${(ref as { nonce: bigint }).nonce}`);
    return { missing: result.kind === "none" ? result.message : "no such job" };
  }
  const record = await history.job(id);
  if (record) return { record };
  const result = await history.search(formatJobId(id));
  const hint =
    id < 2n ** 64n && history.jobIdOfNonce(id) !== undefined
      ? `A decimal in a job URL is a job id; did you mean request number #${id}?`
      : undefined;
  return { missing: result.kind === "none" ? result.message : "no such job", hint };
}

export function JobPage() {
  const params = useParams();
  // `/job/#12` typed in the address bar reaches the page as /job/ with the fragment #12.
  const { hash } = useLocation();
  const ref =
    params.nonce !== undefined
      ? parseNonce(params.nonce)
      : parseJobRef(params.id ?? (hash ? decodeURIComponent(hash) : ""));
  if (ref.kind === "bad") {
    return <BadReference title="Not a job id" kind="bad-job-id" message={ref.message} />;
  }
  return <JobView ref_={ref} />;
}

function JobView({ ref_ }: { ref_: Exclude<JobRef, { kind: "bad" }> }) {
  const key = ref_.kind === "nonce" ? `#${ref_.nonce}` : formatJobId(ref_.id);
  const job = useView(["job", key], (h) => readJob(h, ref_));
  return (
    <Loaded query={job} what={`job ${key}`}>
      {(read) =>
        "missing" in read ? (
          <Problem title="No such job" kind="no-such-job">
            <p>
              <span className="mono" data-testid="missing-id">
                {key}
              </span>
            </p>
            <p data-testid="error-reason">{read.missing}.</p>
            {read.hint && <p>{read.hint}</p>}
            <p className="muted">This page keeps reading the chain: it shows the job as soon as it is requested.</p>
          </Problem>
        ) : (
          <JobRecordView record={read.record} />
        )
      }
    </Loaded>
  );
}

/** What the time in JobState's windowEnd means for the job's status now. */
function windowText(r: JobRecord): [string, ReactNode][] {
  switch (r.status) {
    case "Requested":
      return [["claim by (deadline)", <Time unix={r.deadline} />]];
    case "Claimed":
      return [["submit by", <Time unix={r.windowEnd} />]];
    case "Submitted":
      return [["challenge window ends", <Time unix={r.windowEnd} />]];
    case "Drawing":
      return [["committee to be drawn by", <Time unix={r.windowEnd} />]];
    case "Voting":
      return [
        ["commit votes until", <Time unix={r.windowEnd} />],
        ["reveal votes until", <Time unix={r.revealEnd} />],
      ];
    default:
      return [];
  }
}

function JobRecordView({ record: r }: { record: JobRecord }) {
  const { config } = useChain();
  return (
    <div className="page" data-testid="job-page" data-job={r.idHex}>
      <title>{`Job #${r.nonce} · TrustML explorer`}</title>
      <h1>
        Job #{r.nonce.toString()} <StatusBadge status={r.status} testId="job-status" />
        {r.outcome && (
          <span className="small muted">
            {" "}
            outcome{" "}
            <span className={`badge outcome-${r.outcome.toLowerCase()}`} data-testid="job-outcome">
              {r.outcome}
            </span>
          </span>
        )}
      </h1>
      <p className="mono wrap" data-testid="job-id">
        {r.idHex}
      </p>

      <Section title="Request" testId="job-request">
        <Fields
          rows={[
            [
              "model",
              <span>
                <ModelLink id={r.modelId} />, version <span data-testid="job-version">{r.version.toString()}</span>
              </span>,
            ],
            ["verification", <span data-testid="job-mode">{r.mode}</span>],
            ...(r.mode === "Committee" || r.committee.length > 0
              ? ([["committee size", r.committeeSize]] as [string, ReactNode][])
              : []),
            ["requester", <AddressLink address={r.requester} testId="job-requester" />],
            ["worker", <AddressLink address={r.worker} testId="job-worker" />],
            ["model owner", <AddressLink address={r.modelOwner} />],
            ["fee", <Amount value={r.fee} testId="job-fee" />],
            ["worker's collateral", <Amount value={r.collateral} />],
            ["royalty", bps(r.job.royaltyBps)],
            ["tolerance", `relative ${ppb(r.tolerance.relative)}, absolute floor ${r.tolerance.absolute / 1e9}`],
            ["deadline", <Time unix={r.deadline} />],
            ...windowText(r),
          ]}
        />
      </Section>

      <Section title="Model version" testId="job-model-version">
        {r.model ? (
          <Fields
            rows={[
              ["content hash (sha256)", <Hash value={r.model.contentHash} testId="content-hash" full />],
              [
                "URI",
                <span className="mono wrap" data-testid="model-uri">
                  {r.model.uri}
                </span>,
              ],
              ["weights root", <Hash value={r.model.weightsRoot} testId="weights-root" full />],
              [
                "signature",
                r.model.signatureText ? <pre className="mono">{r.model.signatureText}</pre> : "none declared",
              ],
              ["published", <At at={r.model} />],
            ]}
          />
        ) : (
          <p className="muted">
            Version {r.version.toString()} of model {r.modelId.toString()} was not found in the registry's events.
          </p>
        )}
      </Section>

      <Section title="Input" testId="job-input">
        <Tensors view={r.input} kind="input" />
      </Section>

      <Section title="Output" testId="job-output">
        {r.output ? (
          <Tensors view={r.output} kind="output" />
        ) : (
          <p className="muted" data-testid="no-output">
            No result posted yet.
          </p>
        )}
      </Section>

      <Verification record={r} />

      <Section title="Settlement" testId="job-settlement">
        {r.settlement ? (
          <Fields
            testId="settlement"
            rows={[
              ["outcome", <span data-testid="settlement-outcome">{r.settlement.outcome}</span>],
              ["when", <At at={r.settlement} />],
              ["to the worker", <Payout value={r.settlement.workerPayment} to={r.worker} testId="payout-worker" />],
              ["royalty", <Payout value={r.settlement.royalty} to={r.modelOwner} testId="payout-royalty" />],
              [
                "protocol fee",
                <Payout
                  value={r.settlement.treasuryPayment}
                  to={config.deployment.treasury}
                  testId="payout-treasury"
                />,
              ],
              [
                "verifiers",
                <span data-testid="payout-verifiers">
                  {r.settlement.rewardedVerifiers.toString()} × <Amount value={r.settlement.verifierReward} />
                </span>,
              ],
              [
                "requester refund",
                <Payout value={r.settlement.requesterRefund} to={r.requester} testId="payout-refund" />,
              ],
              [
                "challenger / prover",
                <Payout
                  value={r.settlement.challengerPayment}
                  to={r.challenge?.challenger ?? r.fraudProof?.prover}
                  testId="payout-challenger"
                />,
              ],
              ["worker slashed", <Amount value={r.settlement.slashed} testId="payout-slashed" />],
            ]}
          />
        ) : (
          <p className="muted" data-testid="not-settled">
            Not settled yet.
          </p>
        )}
        <h3>Slashes</h3>
        {r.slashes.length === 0 ? (
          <p className="muted" data-testid="no-slashes">
            Nobody was slashed for this job.
          </p>
        ) : (
          <SlashesTable slashes={r.slashes} showAccount />
        )}
        {r.callback && (
          <p data-testid="callback">
            Consumer callback to <AddressLink address={r.callback.consumer} />:{" "}
            {r.callback.success ? "delivered" : "failed (the result stays readable by the escrow's views)"},{" "}
            <At at={r.callback} />
          </p>
        )}
      </Section>

      <Section title="Transactions" testId="job-transactions">
        <table className="list">
          <thead>
            <tr>
              <th>transaction</th>
              <th className="num">block</th>
              <th>time</th>
              <th>sender</th>
              <th className="num">gas</th>
              <th>events for this job</th>
            </tr>
          </thead>
          <tbody>
            {r.transactions.map((t) => (
              <tr key={t.hash} data-testid="tx-row" data-tx={t.hash}>
                <td>
                  <Hash value={t.hash} />
                </td>
                <td className="num">{t.block}</td>
                <td>
                  <Time unix={t.time} />
                </td>
                <td>
                  <AddressLink address={t.from} />
                </td>
                <td className="num" data-testid="tx-gas">
                  {t.gasUsed.toLocaleString("en-US")}
                </td>
                <td data-testid="tx-events">{t.events.join(", ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>

      <Section title="Check it yourself" testId="job-verify">
        <p>Re-execute the job from chain data alone and compare with the posted output:</p>
        <p className="command">
          <code data-testid="verify-command">{r.verifyCommand}</code>{" "}
          <CopyButton text={r.verifyCommand} testId="copy-verify" />
        </p>
        <p className="muted small">
          Run it in a clone of TrustML. It reads the node and the record of the worker's configuration:{" "}
          <span className="mono">TRUSTML_RPC_URL</span> or <span className="mono">--rpc-url {config.rpcUrl}</span>, and{" "}
          <span className="mono">TRUSTML_DEPLOYMENT</span> or <span className="mono">--deployment &lt;file&gt;</span>{" "}
          (the record of {config.deployment.network}).
        </p>
      </Section>
    </div>
  );
}

function Payout({ value, to, testId }: { value: bigint; to?: string; testId: string }) {
  return (
    <span>
      <Amount value={value} testId={testId} />
      {value > 0n && to ? (
        <>
          {" "}
          to <AddressLink address={to} />
        </>
      ) : null}
    </span>
  );
}

function voteOf(seat: SeatView): { text: string; vote: string } {
  if (seat.agree === true) return { text: "agree", vote: "agree" };
  if (seat.agree === false) return { text: "disagree", vote: "disagree" };
  if (seat.vote === "Committed") return { text: "committed, not revealed", vote: "committed" };
  return { text: "no vote committed", vote: "none" };
}

const MODE_TEXT: Record<string, string> = {
  None: "No verification: the result settles at once; the worker's stake is the only guarantee.",
  Optimistic:
    "Optimistic: any verifier may challenge the result with a bond within the challenge window; a challenge is judged by a committee.",
  Committee: "Committee: verifiers drawn by stake re-execute the job and vote by commit and reveal.",
  Proven:
    "Proven: the worker posts a trace of the integer model; anyone may prove a wrong result in one transaction within the challenge window.",
};

function Verification({ record: r }: { record: JobRecord }) {
  return (
    <Section title="Verification" testId="job-verification">
      <p data-testid="verification-mode">{MODE_TEXT[r.mode] ?? r.mode}</p>
      {r.challenge && (
        <Fields
          testId="challenge"
          rows={[
            ["challenged by", <AddressLink address={r.challenge.challenger} testId="challenger" />],
            ["bond", <Amount value={r.challenge.bond} />],
            ["when", <At at={r.challenge} />],
          ]}
        />
      )}
      {r.trace && (
        <>
          <h3>Trace commitment</h3>
          <Fields
            testId="trace"
            rows={[
              ["output hash (trace)", <Hash value={r.trace.outputHash} testId="trace-output-hash" full />],
              ["weights root", <Hash value={r.trace.weightsRoot} testId="trace-weights-root" full />],
            ]}
          />
        </>
      )}
      {r.fraudProof && (
        <>
          <h3>Fraud proof</h3>
          <Fields
            testId="fraud-proof"
            rows={[
              ["proven by", <AddressLink address={r.fraudProof.prover} testId="fraud-prover" />],
              ["kind", <span data-testid="fraud-kind">{r.fraudProof.fraud}</span>],
              ["layer", <span data-testid="fraud-layer">{r.fraudProof.layer}</span>],
              ["neuron", <span data-testid="fraud-neuron">{r.fraudProof.index}</span>],
              ["when", <At at={r.fraudProof} />],
            ]}
          />
        </>
      )}
      {r.mode === "Proven" && !r.fraudProof && r.output && (
        <p className="muted" data-testid="no-fraud-proof">
          Nobody proved this result wrong{r.status === "Submitted" ? " (yet: its challenge window is open)" : ""}.
        </p>
      )}
      {(r.drawn || r.committee.length > 0) && (
        <>
          <h3>Committee</h3>
          {r.drawn && (
            <p>
              Drawn <At at={r.drawn} />; commit until <Time unix={r.drawn.commitEnd} />, reveal until{" "}
              <Time unix={r.drawn.revealEnd} />.
            </p>
          )}
          <table className="list" data-testid="committee">
            <thead>
              <tr>
                <th className="num">seat</th>
                <th>verifier</th>
                <th>commitment</th>
                <th>committed</th>
                <th>vote</th>
                <th>revealed</th>
                <th>penalty</th>
              </tr>
            </thead>
            <tbody>
              {r.committee.map((s) => {
                const vote = voteOf(s);
                return (
                  <tr key={s.seat} data-testid="seat" data-seat={s.seat} data-verifier={s.verifier}>
                    <td className="num">{s.seat}</td>
                    <td>
                      <AddressLink address={s.verifier} />
                    </td>
                    <td>{s.commitment ? <Hash value={s.commitment} /> : <span className="muted">-</span>}</td>
                    <td>
                      <At at={s.committed} />
                    </td>
                    <td>
                      <span className={`vote vote-${vote.vote}`} data-testid="seat-vote" data-vote={vote.vote}>
                        {vote.text}
                      </span>
                    </td>
                    <td>
                      <At at={s.revealed} />
                    </td>
                    <td>
                      {s.penalty ? (
                        <span data-testid="seat-penalty">
                          <Amount value={s.penalty.amount} /> (
                          {s.penalty.revealed ? "voted against the majority" : "did not reveal"})
                        </span>
                      ) : (
                        <span className="muted">-</span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </Section>
  );
}
