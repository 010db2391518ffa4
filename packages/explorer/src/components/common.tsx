/** The small pieces every page is made of: links to addresses, jobs and models, hashes, times, amounts, messages. */
import { useEffect, useState, type ReactNode } from "react";
import { Link } from "react-router";
import { describeError, useChainIfConnected, useHead, useNow } from "../chain";
import { ago, dateTime, shortHex, tml } from "../format";
import { formatJobId } from "../sdk";

/** An address, shortened, with the full value in its title, linking to its operator page. */
export function AddressLink({ address, testId }: { address: string | undefined; testId?: string }) {
  const known = useChainIfConnected()?.known.get(address?.toLowerCase() ?? "");
  if (!address) return <span className="muted">none</span>;
  return (
    <>
      <Link to={`/address/${address}`} title={address} className="mono" data-testid={testId} data-address={address}>
        {shortHex(address, 4)}
      </Link>
      {known && <span className="muted small"> ({known})</span>}
    </>
  );
}

/** A long hex value (hash, commitment), shortened, with the full value in its title and `data-value`. */
export function Hash({ value, testId, full }: { value: string; testId?: string; full?: boolean }) {
  return (
    <span className="mono hash" title={value} data-testid={testId} data-value={value}>
      {full ? value : shortHex(value, 6)}
    </span>
  );
}

/** A job: its request number and id, linking to its page. */
export function JobLink({ id, nonce }: { id: bigint; nonce?: bigint }) {
  const hex = formatJobId(id);
  return (
    <Link to={`/job/${hex}`} title={hex} className="mono">
      {nonce !== undefined ? `#${nonce}` : shortHex(hex, 6)}
    </Link>
  );
}

export function ModelLink({ id }: { id: bigint }) {
  return <Link to={`/model/${id}`}>model {id.toString()}</Link>;
}

/** A chain time as local date and time, and how long ago it was (kept current). */
export function Time({ unix }: { unix: number | undefined }) {
  const now = useNow();
  if (!unix) return <span className="muted">-</span>;
  return (
    <span title={new Date(unix * 1000).toISOString()}>
      {dateTime(unix)} <span className="muted">({ago(unix, now)})</span>
    </span>
  );
}

export function Amount({ value, testId }: { value: bigint; testId?: string }) {
  return (
    <span className="amount" data-testid={testId} data-value={value.toString()}>
      {tml(value)}
    </span>
  );
}

/** Where something happened: the transaction (shortened), its block and time. */
export function At({ at }: { at: { transactionHash: string; block: number; time: number } | undefined }) {
  if (!at) return <span className="muted">-</span>;
  return (
    <span>
      <Hash value={at.transactionHash} /> <span className="muted">block {at.block},</span> <Time unix={at.time} />
    </span>
  );
}

/** A label/value table. */
export function Fields({ rows, testId }: { rows: [string, ReactNode][]; testId?: string }) {
  return (
    <table className="fields" data-testid={testId}>
      <tbody>
        {rows.map(([label, value]) => (
          <tr key={label}>
            <th>{label}</th>
            <td>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Section({ title, children, testId }: { title: string; children: ReactNode; testId?: string }) {
  return (
    <section className="card" data-testid={testId}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** A message in place of a page: something does not exist, or cannot be read. */
export function Problem({
  title,
  children,
  testId = "error-message",
  kind,
}: {
  title: string;
  children?: ReactNode;
  testId?: string;
  kind?: string;
}) {
  return (
    <div className="problem" data-testid={testId} data-kind={kind} role="alert">
      <h1>{title}</h1>
      {children}
    </div>
  );
}

/** The page for a URL whose id or address is malformed: what it should have been and why it is not. */
export function BadReference({ title, kind, message }: { title: string; kind: string; message: string }) {
  return (
    <Problem title={title} kind={kind}>
      <p data-testid="error-reason">{message}</p>
    </Problem>
  );
}

export function Loading({ what }: { what: string }) {
  const progress = useSyncProgress();
  return (
    <p className="muted" data-testid="loading">
      Reading {what} from the chain…
      {progress && (
        <span data-testid="sync-progress" data-read-to={progress.readTo} data-to-block={progress.toBlock}>
          {" "}
          the deployment's events up to block {progress.readTo.toLocaleString("en-US")} of{" "}
          {progress.toBlock.toLocaleString("en-US")} (
          {Math.floor(
            (100 * (progress.readTo - progress.fromBlock + 1)) / Math.max(1, progress.toBlock - progress.fromBlock + 1),
          )}{" "}
          %)
        </span>
      )}
    </p>
  );
}

/** How far the history's sync under way got, looked at twice a second (undefined when none is under way). */
function useSyncProgress() {
  const chain = useChainIfConnected();
  const [, tick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => tick((n) => n + 1), 500);
    return () => clearInterval(timer);
  }, []);
  return chain?.history.progress;
}

/** A button that copies `text` to the clipboard and says so. */
export function CopyButton({ text, testId }: { text: string; testId?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  const copy = async () => {
    try {
      if (navigator.clipboard) await navigator.clipboard.writeText(text);
      else copyWithSelection(text);
      setState("copied");
    } catch {
      try {
        copyWithSelection(text);
        setState("copied");
      } catch {
        setState("failed");
      }
    }
    setTimeout(() => setState("idle"), 2000);
  };
  return (
    <button type="button" className="copy" onClick={() => void copy()} data-testid={testId}>
      {state === "copied" ? "Copied" : state === "failed" ? "Select and copy by hand" : "Copy"}
    </button>
  );
}

/** Pages not served from a secure origin have no Clipboard API: copy through a selected text area. */
function copyWithSelection(text: string): void {
  const area = document.createElement("textarea");
  area.value = text;
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  if (!ok) throw new Error("copy refused");
}

/** A job's status (and, in lists, how it ended) as a coloured badge. */
export function StatusBadge({ status, outcome, testId }: { status: string; outcome?: string; testId?: string }) {
  return (
    <span className={`badge status-${status.toLowerCase()}`} data-testid={testId} data-status={status}>
      {status}
      {outcome && outcome !== status ? ` · ${outcome}` : ""}
    </span>
  );
}

/**
 * A view's data once read; until then "Reading…", or what failed. A read that fails after one succeeded keeps the
 * data on screen (the header's banner says the node is not answering).
 */
export function Loaded<T>({
  query,
  what,
  children,
}: {
  query: { data: T | undefined; error: unknown; isError: boolean };
  what: string;
  children: (data: T) => ReactNode;
}) {
  if (query.data !== undefined) {
    return (
      <>
        {query.isError && <StaleWarning error={query.error} />}
        {children(query.data)}
      </>
    );
  }
  if (query.isError) {
    return (
      <p className="problem-inline" data-testid="error-message" role="alert">
        Cannot read {what} yet: {describeError(query.error)}. Trying again every few seconds.
      </p>
    );
  }
  return <Loading what={what} />;
}

/** A view that failed to refresh while the node answers (the banner covers an outage): say the data may be old. */
function StaleWarning({ error }: { error: unknown }) {
  const head = useHead();
  if (head.isError) return null;
  return (
    <p className="problem-inline small" data-testid="stale-warning" role="status">
      Showing the last data read: reading it again failed ({describeError(error)}).
    </p>
  );
}
