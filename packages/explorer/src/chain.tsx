/**
 * One ProtocolHistory per page load, shared through React context, and the hooks that read it. Every read is a
 * TanStack query that first reads the chain on from where the last read stopped (`history.sync()`, shared by
 * concurrent callers) and then asks the history for its view, again every REFRESH_MS: a page follows a job as it
 * moves. A failed read keeps the last data on screen (the query keeps it) and the header shows the RPC banner.
 */
import { useQuery, type UseQueryResult } from "@tanstack/react-query";
import { JsonRpcProvider, Network } from "ethers";
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import type { ExplorerConfig } from "./config";
import { ProtocolHistory } from "./sdk";

/** How often every view is read again. */
export const REFRESH_MS = 2000;
/** How often a failed connection is tried again: an RPC not answering, or a node on another chain. */
export const CONNECT_RETRY_MS = 2000;
export const WRONG_CHAIN_RETRY_MS = 5000;

export interface Chain {
  config: ExplorerConfig;
  history: ProtocolHistory;
  /** The deployment's own addresses by lower-case address: "escrow", "treasury", … */
  known: ReadonlyMap<string, string>;
  /** `history.sync()`, shared by every view that asks within SYNC_SHARED_MS of the last one. */
  sync(): Promise<number>;
}

const ChainContext = createContext<Chain | undefined>(undefined);

export function ChainProvider({ chain, children }: { chain: Chain; children: ReactNode }) {
  return <ChainContext.Provider value={chain}>{children}</ChainContext.Provider>;
}

/** The connected chain, or undefined before it is (for pieces drawn both before and after). */
export const useChainIfConnected = (): Chain | undefined => useContext(ChainContext);

/** The names of the deployment's own addresses, for labels: the contracts, governance and the treasury. */
export function knownAddresses(config: ExplorerConfig): Map<string, string> {
  const d = config.deployment;
  const names = new Map<string, string[]>();
  const add = (address: string, name: string) => {
    const key = address.toLowerCase();
    names.set(key, [...(names.get(key) ?? []), name]);
  };
  for (const name of ["escrow", "registry", "staking", "token", "randomness"] as const) {
    add(d.contracts[name].address, name);
  }
  add(d.governance, "governance");
  add(d.treasury, "treasury");
  return new Map([...names].map(([a, n]) => [a, n.join(", ")]));
}

/** Views read every REFRESH_MS; those that ask within this of the last sync share it instead of reading again. */
export const SYNC_SHARED_MS = 500;

export function useChain(): Chain {
  const chain = useContext(ChainContext);
  if (!chain) throw new Error("useChain outside ChainProvider: the page was rendered before the chain was connected");
  return chain;
}

/**
 * A provider that assumes the record's chain (ProtocolHistory.connect asks the node for its real one), so that a node
 * that does not answer fails each read once instead of ethers retrying its network detection in the console.
 */
export function makeProvider(config: ExplorerConfig): JsonRpcProvider {
  return new JsonRpcProvider(config.rpcUrl, Network.from(config.deployment.chainId), {
    staticNetwork: true,
    pollingInterval: REFRESH_MS,
  });
}

export const isWrongChain = (e: unknown): boolean => (e as { code?: unknown } | null)?.code === "WRONG_CHAIN";

/** Connects once per page load; retried in the background until it succeeds (the error is in `failureReason`). */
export function useConnect(config: ExplorerConfig, provider: JsonRpcProvider): UseQueryResult<ProtocolHistory> {
  return useQuery({
    queryKey: ["connect"],
    queryFn: () =>
      ProtocolHistory.connect(provider, config.deployment, { logs: { maxBlockRange: config.maxBlockRange } }),
    retry: true,
    retryDelay: (_count, error) => (isWrongChain(error) ? WRONG_CHAIN_RETRY_MS : CONNECT_RETRY_MS),
    staleTime: Infinity,
    gcTime: Infinity,
  });
}

/** The chain read up to its head, again every REFRESH_MS: the header's head block and the RPC banner. */
export function useHead(): UseQueryResult<number> {
  const { sync } = useChain();
  return useQuery({ queryKey: ["head"], queryFn: sync, refetchInterval: REFRESH_MS });
}

/**
 * A view of the history, read after a sync and again every REFRESH_MS. `key` names it (strings only: query keys are
 * hashed as JSON, which has no bigint).
 */
export function useView<T>(key: readonly string[], view: (history: ProtocolHistory) => Promise<T>): UseQueryResult<T> {
  const { history, sync } = useChain();
  return useQuery({
    queryKey: ["view", ...key],
    queryFn: async () => {
      await sync();
      return view(history);
    },
    refetchInterval: REFRESH_MS,
  });
}

/**
 * Now in unix seconds, ticking every second (for "12 s ago"): the wall clock, or the latest block's time when the
 * chain runs ahead of it (a test chain moved forward), so that no block reads as "in 40 s".
 */
export function useNow(): number {
  const chain = useChainIfConnected();
  const [now, setNow] = useState(() => Math.floor(Date.now() / 1000));
  useEffect(() => {
    const timer = setInterval(() => setNow(Math.floor(Date.now() / 1000)), 1000);
    return () => clearInterval(timer);
  }, []);
  return Math.max(now, chain?.history.syncedTime ?? 0);
}

/** One line for an error from a read: ethers' short message when it has one, without its JSON payload. */
export function describeError(e: unknown): string {
  if (e === null || typeof e !== "object") return String(e);
  const { code, value } = e as { code?: unknown; value?: unknown };
  if (code === "BAD_DATA" && value === "0x") {
    return "a call to the deployment's contracts returned nothing: they are not on this chain (was the node restarted?)";
  }
  const { shortMessage, message } = e as { shortMessage?: unknown; message?: unknown };
  const text = typeof shortMessage === "string" ? shortMessage : typeof message === "string" ? message : String(e);
  return text.split("\n")[0].slice(0, 300);
}
