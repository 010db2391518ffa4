/** `/model/:id`: a model's owner, terms now and their history, its versions, and its jobs. */
import type { ReactNode } from "react";
import { useParams } from "react-router";
import { useView } from "../chain";
import { AddressLink, Amount, At, Fields, Hash, Loaded, Problem, Section, BadReference } from "../components/common";
import { JobsTable } from "../components/jobs-table";
import { bps, ppb } from "../format";
import {
  nameOrUnknown,
  parseModelRef,
  VerificationMode,
  type ModelRecord,
  type ModelTerms,
  type ProtocolHistory,
} from "../sdk";

type ModelRead = { record: ModelRecord } | { missing: string };

async function readModel(history: ProtocolHistory, id: bigint): Promise<ModelRead> {
  const record = await history.model(id);
  if (record) return { record };
  const result = await history.search(`model ${id}`);
  return { missing: result.kind === "none" ? result.message : `no model ${id}` };
}

export function ModelPage() {
  const ref = parseModelRef(useParams().id ?? "");
  if (ref.kind === "bad") {
    return <BadReference title="Not a model id" kind="bad-model-id" message={ref.message} />;
  }
  return <ModelView id={ref.id} />;
}

function ModelView({ id }: { id: bigint }) {
  const model = useView(["model", id.toString()], (h) => readModel(h, id));
  return (
    <Loaded query={model} what={`model ${id}`}>
      {(read) =>
        "missing" in read ? (
          <Problem title="No such model" kind="no-such-model">
            <p data-testid="error-reason">{read.missing}.</p>
          </Problem>
        ) : (
          <ModelRecordView record={read.record} />
        )
      }
    </Loaded>
  );
}

const modeName = (mode: number) => nameOrUnknown(VerificationMode, mode);

function termsRows(t: ModelTerms): [string, ReactNode][] {
  return [
    ["price per job", <Amount value={t.price} testId="terms-price" />],
    ["verification", <span data-testid="terms-mode">{modeName(t.mode)}</span>],
    ["committee size", t.committeeSize],
    ["royalty", bps(t.royaltyBps)],
    ["tolerance", `relative ${ppb(t.relTolerance)}, absolute floor ${t.absTolerance / 1e9}`],
  ];
}

function ModelRecordView({ record: m }: { record: ModelRecord }) {
  const outcomes = Object.entries(m.outcomes);
  return (
    <div className="page" data-testid="model-page" data-model={m.id.toString()}>
      <title>{`Model ${m.id} · TrustML explorer`}</title>
      <h1>
        Model {m.id.toString()}{" "}
        {m.deprecated && (
          <span className="badge" data-testid="model-deprecated">
            deprecated
          </span>
        )}
      </h1>
      <Section title="Owner and terms now" testId="model-terms">
        <Fields
          rows={[
            ["owner", <AddressLink address={m.owner} testId="model-owner" />],
            ...(m.pendingOwner
              ? ([["pending owner", <AddressLink address={m.pendingOwner} />]] as [string, ReactNode][])
              : []),
            ["registered", <At at={m.registered} />],
            ["royalties earned", <Amount value={m.royalties} testId="model-royalties" />],
            ...(m.deprecatedAt ? ([["deprecated", <At at={m.deprecatedAt} />]] as [string, ReactNode][]) : []),
            ...termsRows(m.terms),
          ]}
        />
      </Section>

      <Section title="Terms history" testId="model-terms-history">
        <table className="list">
          <thead>
            <tr>
              <th>from</th>
              <th className="num">price</th>
              <th>verification</th>
              <th className="num">committee</th>
              <th className="num">royalty</th>
              <th>tolerance (relative, absolute)</th>
            </tr>
          </thead>
          <tbody>
            {m.termsHistory.map((c, i) => (
              <tr key={`${c.transactionHash}:${c.logIndex}`} data-testid="terms-row">
                <td>
                  {i === 0 ? "registration, " : ""}
                  <At at={c} />
                </td>
                <td className="num">
                  <Amount value={c.terms.price} />
                </td>
                <td>{modeName(c.terms.mode)}</td>
                <td className="num">{c.terms.committeeSize}</td>
                <td className="num">{bps(c.terms.royaltyBps)}</td>
                <td>
                  {ppb(c.terms.relTolerance)}, {c.terms.absTolerance / 1e9}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>

      <Section title="Versions" testId="model-versions">
        <table className="list">
          <thead>
            <tr>
              <th className="num">version</th>
              <th>content hash (sha256), URI, weights root</th>
              <th>signature (inputs → outputs)</th>
              <th>published</th>
            </tr>
          </thead>
          <tbody>
            {m.versions.map((v) => (
              <tr key={v.version.toString()} data-testid="version-row" data-version={v.version.toString()}>
                <td className="num">{v.version.toString()}</td>
                <td>
                  <div>
                    <Hash value={v.contentHash} testId="version-content-hash" full />
                  </div>
                  <div className="mono wrap" data-testid="version-uri">
                    {v.uri}
                  </div>
                  <div>
                    weights root{" "}
                    {/^0x0*$/.test(v.weightsRoot) ? (
                      <span className="muted">none</span>
                    ) : (
                      <Hash value={v.weightsRoot} testId="version-weights-root" />
                    )}
                  </div>
                </td>
                <td>
                  {v.signatureText ? (
                    <pre className="mono" data-testid="version-signature">
                      {v.signatureText}
                    </pre>
                  ) : (
                    <span className="muted">none declared</span>
                  )}
                </td>
                <td>
                  <At at={v} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>

      <Section title={`Jobs (${m.jobs.length})`} testId="model-jobs">
        <p data-testid="model-outcomes">
          {outcomes.length === 0
            ? "No job yet."
            : outcomes.map(([name, n]) => (
                <span key={name} className={`chip outcome-${name.toLowerCase()}`} data-outcome={name} data-count={n}>
                  {name} {n}
                </span>
              ))}
        </p>
        <JobsTable jobs={m.jobs} testId="model-job-list" empty="Nobody requested a job of this model yet." />
      </Section>
    </div>
  );
}
