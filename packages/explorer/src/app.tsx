/**
 * The shell of every page: the configuration from the server, the connection to the node (one ProtocolHistory per
 * page load), the header and the RPC banner around the routed page. A connection that fails is shown in place of the
 * page, and tried again in the background until it succeeds.
 */
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { Outlet } from "react-router";
import {
  ChainProvider,
  describeError,
  isWrongChain,
  knownAddresses,
  makeProvider,
  SYNC_SHARED_MS,
  useConnect,
} from "./chain";
import { Problem } from "./components/common";
import { Header, RpcBanner } from "./components/header";
import { loadConfig, type ExplorerConfig } from "./config";

export function Root() {
  const config = useQuery({ queryKey: ["config"], queryFn: loadConfig, staleTime: Infinity, gcTime: Infinity });
  if (config.isError) {
    return (
      <main>
        <Problem title="The explorer has no valid configuration" testId="connect-error" kind="config">
          <p>{describeError(config.error)}</p>
          <p>
            The server that serves this page must answer <span className="mono">/trustml.json</span> with the node to
            read and the deployment record: start it with <span className="mono">npm run explorer</span>.
          </p>
        </Problem>
      </main>
    );
  }
  if (!config.data) return <main className="muted">Loading the configuration…</main>;
  return <Connected config={config.data} />;
}

function Connected({ config }: { config: ExplorerConfig }) {
  const provider = useMemo(() => makeProvider(config), [config]);
  const connect = useConnect(config, provider);
  const chain = useMemo(
    () =>
      connect.data && {
        config,
        history: connect.data,
        known: knownAddresses(config),
        sync: () => connect.data.sync({ maxAgeMs: SYNC_SHARED_MS }),
      },
    [config, connect.data],
  );
  if (!chain) {
    const problem = connect.failureReason;
    return (
      <>
        <Header config={config} />
        <main>
          {!problem ? (
            <p className="muted" data-testid="connecting">
              Connecting to {config.rpcUrl}…
            </p>
          ) : isWrongChain(problem) ? (
            <Problem title="This node is not the deployment's chain" testId="connect-error" kind="wrong-chain">
              <p data-testid="error-message">{describeError(problem)}</p>
              <p>
                Point the explorer at a node of chain {config.deployment.chainId} ({config.deployment.network}), or give
                it the record of this node's deployment. Trying again every few seconds.
              </p>
            </Problem>
          ) : (
            <Problem title="The RPC node is not answering" testId="connect-error" kind="rpc">
              <p data-testid="error-message">
                The RPC node at <span className="mono">{config.rpcUrl}</span> is not answering: retrying…
              </p>
              <p className="muted">{describeError(problem)}</p>
            </Problem>
          )}
        </main>
      </>
    );
  }
  return (
    <ChainProvider chain={chain}>
      <Header config={config} connected />
      <RpcBanner />
      <main>
        <Outlet />
      </main>
    </ChainProvider>
  );
}
