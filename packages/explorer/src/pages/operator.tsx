/** `/operators`: every account that ever staked; `/address/:address`: everything about one address. */
import { useParams } from "react-router";
import { useView } from "../chain";
import {
  AddressLink,
  Amount,
  At,
  Fields,
  JobLink,
  Loaded,
  ModelLink,
  Section,
  Time,
  BadReference,
} from "../components/common";
import { JobsTable } from "../components/jobs-table";
import { SlashesTable } from "../components/slashes";
import { parseAddressRef, type OperatorRecord } from "../sdk";

export function OperatorsPage() {
  const operators = useView(["operators"], (h) => h.operators());
  return (
    <div className="page" data-testid="operators-page">
      <title>Operators · TrustML explorer</title>
      <h1>Operators</h1>
      <p className="muted">Every account that ever staked: workers and verifiers.</p>
      <Loaded query={operators} what="the operators">
        {(list) =>
          list.length === 0 ? (
            <p className="muted" data-testid="operators">
              Nobody has staked on this deployment yet.
            </p>
          ) : (
            <table className="list" data-testid="operators">
              <thead>
                <tr>
                  <th>address</th>
                  <th className="num">active stake</th>
                  <th className="num">locked</th>
                  <th>verifier</th>
                  <th className="num">results posted</th>
                  <th className="num">votes revealed</th>
                  <th className="num">slashed</th>
                </tr>
              </thead>
              <tbody>
                {list.map((o) => (
                  <tr key={o.address} data-testid="operator-row" data-address={o.address}>
                    <td>
                      <AddressLink address={o.address} />
                    </td>
                    <td className="num">
                      <Amount value={o.active} />
                    </td>
                    <td className="num">
                      <Amount value={o.locked} />
                    </td>
                    <td>{o.verifier ? "yes" : "no"}</td>
                    <td className="num">{o.worked}</td>
                    <td className="num">{o.votes}</td>
                    <td className="num">{o.slashed > 0n ? <Amount value={o.slashed} /> : "-"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </div>
  );
}

export function OperatorPage() {
  const ref = parseAddressRef(useParams().address ?? "");
  if (ref.kind === "bad") {
    return <BadReference title="Not an address" kind="bad-address" message={ref.message} />;
  }
  return <OperatorView address={ref.address} />;
}

function OperatorView({ address }: { address: string }) {
  const operator = useView(["operator", address], (h) => h.operator(address));
  return (
    <Loaded query={operator} what={`address ${address}`}>
      {(o) => <OperatorRecordView record={o} />}
    </Loaded>
  );
}

function OperatorRecordView({ record: o }: { record: OperatorRecord }) {
  const idle = !o.stake && o.activity.length === 0 && o.modelsOwned.length === 0;
  return (
    <div className="page" data-testid="operator-page" data-address={o.address}>
      <title>{`Address ${o.address} · TrustML explorer`}</title>
      <h1>Address</h1>
      <p className="mono wrap" data-testid="operator-address">
        {o.address}
      </p>
      {idle && (
        <p className="notice" data-testid="operator-empty">
          This address never did anything on this deployment: no stake, no job, no vote, no model.
        </p>
      )}
      <Section title="Balances" testId="operator-balances">
        <Fields
          rows={[
            ["token balance", <Amount value={o.tokenBalance} testId="token-balance" />],
            ["credited in the escrow (withdrawable)", <Amount value={o.escrowBalance} testId="escrow-balance" />],
          ]}
        />
      </Section>
      {o.stake && (
        <Section title="Stake" testId="operator-stake">
          <Fields
            rows={[
              ["active", <Amount value={o.stake.active} testId="stake-active" />],
              ["locked as collateral", <Amount value={o.stake.locked} testId="stake-locked" />],
              ["free", <Amount value={o.stake.free} testId="stake-free" />],
              [
                "unbonding",
                <span>
                  <Amount value={o.stake.unbonding} testId="stake-unbonding" />
                  {o.stake.unbonding > 0n && (
                    <>
                      {" "}
                      withdrawable from <Time unix={o.stake.unbondingEnd} />
                    </>
                  )}
                </span>,
              ],
              [
                "verifier",
                <span data-testid="stake-verifier">
                  {o.stake.verifier ? (o.stake.leaving ? "opted in, leaving" : "opted in") : "not a verifier"}
                  {o.stake.leaving && o.stake.exitAt > 0 && (
                    <>
                      {" "}
                      (exit from <Time unix={o.stake.exitAt} />)
                    </>
                  )}
                </span>,
              ],
            ]}
          />
        </Section>
      )}
      <Section title={`Jobs worked (${o.worked.length})`} testId="operator-worked">
        <JobsTable jobs={o.worked} testId="worked-jobs" empty="No job claimed." />
      </Section>
      <Section title={`Jobs requested (${o.requested.length})`} testId="operator-requested">
        <JobsTable jobs={o.requested} testId="requested-jobs" empty="No job requested." />
      </Section>
      <Section title={`Votes (${o.votes.length} revealed, ${o.seats} seats drawn)`} testId="operator-votes">
        {o.votes.length === 0 ? (
          <p className="muted">No vote revealed.</p>
        ) : (
          <table className="list">
            <thead>
              <tr>
                <th>job</th>
                <th>vote</th>
                <th>revealed</th>
              </tr>
            </thead>
            <tbody>
              {o.votes.map((v) => (
                <tr key={`${v.transactionHash}:${v.logIndex}`} data-testid="vote-row">
                  <td>
                    <JobLink id={v.jobId} nonce={v.nonce} />
                  </td>
                  <td>
                    <span className={`vote vote-${v.agree ? "agree" : "disagree"}`} data-testid="vote">
                      {v.agree ? "agree" : "disagree"}
                    </span>
                  </td>
                  <td>
                    <At at={v} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Slashes and penalties" testId="operator-slashes">
        {o.slashes.length === 0 ? (
          <p className="muted">Never slashed.</p>
        ) : (
          <SlashesTable slashes={o.slashes} showAccount={false} />
        )}
        {o.penalties.length > 0 && (
          <table className="list">
            <thead>
              <tr>
                <th>vote penalty for job</th>
                <th className="num">amount</th>
                <th>when</th>
              </tr>
            </thead>
            <tbody>
              {o.penalties.map((p) => (
                <tr key={`${p.transactionHash}:${p.logIndex}`} data-testid="penalty-row">
                  <td>
                    <JobLink id={p.jobId} />
                  </td>
                  <td className="num">
                    <Amount value={p.amount} />
                  </td>
                  <td>
                    <At at={p} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Models owned" testId="operator-models">
        {o.modelsOwned.length === 0 ? (
          <p className="muted">None.</p>
        ) : (
          <p>
            {o.modelsOwned.map((id) => (
              <span key={id.toString()} className="chip">
                <ModelLink id={id} />
              </span>
            ))}
          </p>
        )}
      </Section>
      <Section title="Activity (newest first)" testId="operator-activity">
        {o.activity.length === 0 ? (
          <p className="muted">No event names this address.</p>
        ) : (
          <table className="list">
            <tbody>
              {o.activity.map((e) => (
                <tr key={`${e.transactionHash}:${e.logIndex}`} data-testid="activity-row">
                  <td>{e.name}</td>
                  <td>{typeof e.args.jobId === "bigint" ? <JobLink id={e.args.jobId} /> : null}</td>
                  <td className="muted">{e.contract}</td>
                  <td>
                    <At at={e} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </div>
  );
}
