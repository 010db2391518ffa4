/** The header of every page: the network read, whether reads are live, the search box; and the RPC outage banner. */
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, NavLink, useNavigate } from "react-router";
import { describeError, isWrongChain, useChain, useHead, type Chain } from "../chain";
import type { ExplorerConfig } from "../config";
import { formatJobId, type SearchResult } from "../sdk";

/** The header before the chain is connected: the network the page was told about, no search. */
export function Header({ config, connected }: { config: ExplorerConfig; connected?: boolean }) {
  return (
    <header className="top">
      <div className="brand">
        <Link to="/">TrustML explorer</Link>
        {connected && (
          <nav>
            <NavLink to="/" end>
              Network
            </NavLink>
            <NavLink to="/operators">Operators</NavLink>
          </nav>
        )}
      </div>
      {connected && <SearchBox />}
      <NetworkInfo config={config} live={connected} />
    </header>
  );
}

function NetworkInfo({ config, live }: { config: ExplorerConfig; live?: boolean }) {
  const d = config.deployment;
  return (
    <div className="network" data-testid="network-info">
      <span data-testid="network-name">{d.network}</span>
      <span>
        chain <span data-testid="network-chain-id">{d.chainId}</span>
      </span>
      <span className="mono" data-testid="network-rpc">
        {config.rpcUrl}
      </span>
      {live ? (
        <LiveHead />
      ) : (
        <span className="live down" data-testid="live-indicator" data-state="connecting">
          not connected
        </span>
      )}
    </div>
  );
}

function LiveHead() {
  const head = useHead();
  const state = head.isError ? "down" : head.data === undefined ? "syncing" : "live";
  return (
    <>
      <span>
        block <span data-testid="head-block">{head.data ?? "…"}</span>
      </span>
      <span
        className={`live ${state}`}
        data-testid="live-indicator"
        data-state={state}
        title={state === "live" ? "read again every 2 s" : undefined}
      >
        {state === "live" ? "live" : state === "down" ? "RPC down" : "reading…"}
      </span>
    </>
  );
}

/** Shown while the head cannot be read; the pages keep their last data. Gone by itself once a read succeeds. */
export function RpcBanner() {
  const { config } = useChain();
  const head = useHead();
  if (!head.isError) return null;
  if (isWrongChain(head.error)) {
    return (
      <div className="banner" role="status" data-testid="rpc-banner" data-kind="wrong-chain">
        The node at <span className="mono">{config.rpcUrl}</span> no longer holds this deployment:{" "}
        {describeError(head.error)}. Showing what was read before; retrying…
      </div>
    );
  }
  return (
    <div className="banner" role="status" data-testid="rpc-banner" data-kind="rpc">
      The RPC node at <span className="mono">{config.rpcUrl}</span> is not answering: retrying…{" "}
      <span className="muted">({describeError(head.error)})</span>
    </div>
  );
}

function pathOf(result: Exclude<SearchResult, { kind: "none" }>): string {
  switch (result.kind) {
    case "job":
      return `/job/${formatJobId(result.id)}`;
    case "model":
      return `/model/${result.id}`;
    case "address":
      return `/address/${result.address}`;
  }
}

async function searchFor(chain: Chain, query: string): Promise<SearchResult> {
  // Read on first, so that a job requested a moment ago is found; search what was read if the node is down.
  await chain.sync().catch(() => undefined);
  return chain.history.search(query);
}

function SearchBox() {
  const chain = useChain();
  const navigate = useNavigate();
  const [query, setQuery] = useState("");
  const search = useMutation({
    mutationFn: (q: string) => searchFor(chain, q),
    onSuccess: (result) => {
      if (result.kind === "none") return;
      setQuery("");
      navigate(pathOf(result));
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    search.mutate(query);
  };
  const message =
    search.data?.kind === "none"
      ? search.data.message
      : search.isError
        ? `cannot search now: ${describeError(search.error)}`
        : undefined;
  return (
    <form className="search" role="search" onSubmit={submit}>
      <input
        type="search"
        value={query}
        placeholder="job id, #request number, model id or address"
        aria-label="Search"
        data-testid="search-input"
        onChange={(e) => {
          setQuery(e.target.value);
          search.reset();
        }}
      />
      <button type="submit" data-testid="search-submit" disabled={search.isPending}>
        Search
      </button>
      {message && (
        <div className="search-message" role="alert" data-testid="search-message">
          {message}
        </div>
      )}
    </form>
  );
}
