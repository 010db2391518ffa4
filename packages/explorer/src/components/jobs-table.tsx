/** A list of jobs, newest first, each linking to its page. */
import type { JobSummary } from "../sdk";
import { AddressLink, Amount, JobLink, ModelLink, StatusBadge, Time } from "./common";
import { duration } from "../format";

export function JobsTable({ jobs, testId, empty }: { jobs: JobSummary[]; testId: string; empty: string }) {
  if (jobs.length === 0) {
    return (
      <p className="muted" data-testid={testId}>
        {empty}
      </p>
    );
  }
  return (
    <table className="list" data-testid={testId}>
      <thead>
        <tr>
          <th>job</th>
          <th>model</th>
          <th>mode</th>
          <th>status</th>
          <th>requester</th>
          <th>worker</th>
          <th className="num">fee</th>
          <th>requested</th>
          <th className="num">settled after</th>
        </tr>
      </thead>
      <tbody>
        {jobs.map((j) => (
          <tr key={j.idHex} data-testid="job-row" data-job={j.idHex} data-nonce={j.nonce.toString()}>
            <td>
              <JobLink id={j.id} nonce={j.nonce} />
            </td>
            <td>
              <ModelLink id={j.modelId} /> <span className="muted">v{j.version.toString()}</span>
            </td>
            <td>
              {j.mode}
              {j.challenged ? <span className="muted"> (challenged)</span> : null}
            </td>
            <td>
              <StatusBadge status={j.status} outcome={j.outcome} testId="job-row-status" />
            </td>
            <td>
              <AddressLink address={j.requester} />
            </td>
            <td>
              <AddressLink address={j.worker} />
            </td>
            <td className="num">
              <Amount value={j.fee} />
            </td>
            <td>
              <Time unix={j.requestedAt} />
            </td>
            <td className="num">{j.settledAt !== undefined ? duration(j.settledAt - j.requestedAt) : "-"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
