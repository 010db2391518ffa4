/** `/`: the deployment at a glance: totals, charts, the latest jobs and every model. */
import { useState, type ReactNode } from "react";
import { Link } from "react-router";
import { useView } from "../chain";
import { GasByModeChart, JobsByModeChart, JobsByOutcomeChart, LatencyChart } from "../components/charts";
import { AddressLink, Amount, Loaded, Section } from "../components/common";
import { JobsTable } from "../components/jobs-table";
import { duration } from "../format";
import type { NetworkStats } from "../sdk";

const RECENT = 20;

export function NetworkPage() {
  const stats = useView(["network"], (h) => h.network());
  const jobs = useView(["jobs"], (h) => h.jobs());
  const models = useView(["models"], (h) => h.models());
  const [allJobs, setAllJobs] = useState(false);
  return (
    <div className="page" data-testid="network-page">
      <title>Network · TrustML explorer</title>
      <h1>Network</h1>
      <Loaded query={stats} what="the network's figures">
        {(s) => (
          <>
            <Totals stats={s} />
            <div className="charts">
              <Section title="Jobs requested over time, by mode">
                <ChartBox empty={s.jobs === 0} testId="chart-jobs-by-mode">
                  <JobsByModeChart stats={s} />
                </ChartBox>
              </Section>
              <Section title="Jobs ended over time, by outcome">
                <ChartBox
                  empty={!s.timeline.some((b) => Object.keys(b.byOutcome).length)}
                  testId="chart-jobs-by-outcome"
                >
                  <JobsByOutcomeChart stats={s} />
                </ChartBox>
              </Section>
              <Section title="Average gas per settled job, by mode">
                <ChartBox empty={s.gasByMode.length === 0} testId="chart-gas-by-mode">
                  <GasByModeChart stats={s} />
                </ChartBox>
              </Section>
              <Section title="Settlement latency, per settled job">
                <ChartBox empty={s.latency.length === 0} testId="chart-latency">
                  <LatencyChart stats={s} />
                </ChartBox>
              </Section>
            </div>
            <p className="muted small" hidden={s.jobs === 0}>
              Time buckets of {duration(s.bucketSeconds)}. Gas counts every transaction of a settled job, a transaction
              serving several jobs split evenly between them.
            </p>
          </>
        )}
      </Loaded>
      <Section title="Latest jobs">
        <Loaded query={jobs} what="the jobs">
          {(js) => (
            <>
              <JobsTable
                jobs={allJobs ? js : js.slice(0, RECENT)}
                testId="recent-jobs"
                empty="No job was requested on this deployment yet."
              />
              {js.length > RECENT && !allJobs && (
                <button type="button" className="link" onClick={() => setAllJobs(true)}>
                  show all {js.length} jobs
                </button>
              )}
            </>
          )}
        </Loaded>
      </Section>
      <Section title="Models">
        <Loaded query={models} what="the models">
          {(ms) =>
            ms.length === 0 ? (
              <p className="muted" data-testid="models">
                No model is registered yet.
              </p>
            ) : (
              <table className="list" data-testid="models">
                <thead>
                  <tr>
                    <th>model</th>
                    <th>owner</th>
                    <th>mode</th>
                    <th className="num">price</th>
                    <th className="num">versions</th>
                    <th className="num">jobs</th>
                    <th></th>
                  </tr>
                </thead>
                <tbody>
                  {ms.map((m) => (
                    <tr key={m.id.toString()} data-testid="model-row" data-model={m.id.toString()}>
                      <td>
                        <Link to={`/model/${m.id}`}>model {m.id.toString()}</Link>
                      </td>
                      <td>
                        <AddressLink address={m.owner} />
                      </td>
                      <td>{m.mode}</td>
                      <td className="num">
                        <Amount value={m.price} />
                      </td>
                      <td className="num">{m.versions}</td>
                      <td className="num">{m.jobs}</td>
                      <td>{m.deprecated ? <span className="badge">deprecated</span> : null}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )
          }
        </Loaded>
      </Section>
    </div>
  );
}

function Totals({ stats }: { stats: NetworkStats }) {
  const settled = stats.latency.length;
  const items: [string, ReactNode, string][] = [
    ["jobs", stats.jobs, "total-jobs"],
    ["open", stats.open, "total-open"],
    ["settled", settled, "total-settled"],
    ["models", stats.models, "total-models"],
    ["slashed", <Amount value={stats.slashed} />, "total-slashed"],
    ["read up to block", stats.head, "total-head"],
  ];
  return (
    <div className="totals" data-testid="totals">
      {items.map(([label, value, testId]) => (
        <div key={label} className="total">
          <div className="value" data-testid={testId}>
            {value}
          </div>
          <div className="label">{label}</div>
        </div>
      ))}
    </div>
  );
}

function ChartBox({ empty, testId, children }: { empty: boolean; testId: string; children: ReactNode }) {
  return (
    <div className="chart" data-testid={testId}>
      {empty ? <p className="muted">Nothing to show yet.</p> : children}
    </div>
  );
}
