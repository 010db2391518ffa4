/**
 * JSON-RPC calls counted from `hardhat node`'s output between two offsets of its log: one line per call (a call
 * repeated right after itself is printed as "eth_chainId (2)", "eth_chainId (3)", …), and for eth_call,
 * eth_estimateGas and transactions the contract function the node recognised ("Contract call: JobEscrow#jobState").
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";

export interface RpcCounts {
  total: number;
  /** Calls by method, most first. */
  methods: Record<string, number>;
  /** eth_call / eth_estimateGas / eth_sendRawTransaction by "method Contract#function", most first. */
  functions: Record<string, number>;
}

/** The log's current length: a mark to count from. */
export function logOffset(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

const ANSI = /\x1b\[[0-9;]*m/g;
const METHOD = /^([a-z]+_[A-Za-z0-9]+)(?: \(\d+\))?$/;
const FUNCTION = /^\s+Contract call:\s+(\S+)/;

const sorted = (m: Map<string, number>) => Object.fromEntries([...m.entries()].sort((a, b) => b[1] - a[1]));

export function rpcCalls(file: string, from: number, to = logOffset(file)): RpcCounts {
  const methods = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  if (to > from) {
    const buffer = Buffer.alloc(to - from);
    const fd = openSync(file, "r");
    try {
      readSync(fd, buffer, 0, buffer.length, from);
    } finally {
      closeSync(fd);
    }
    let method = "";
    for (const raw of buffer.toString("utf8").split("\n")) {
      const line = raw.replace(ANSI, "").trimEnd();
      const m = METHOD.exec(line);
      if (m) {
        method = m[1];
        total++;
        methods.set(method, (methods.get(method) ?? 0) + 1);
        continue;
      }
      const f = FUNCTION.exec(line);
      if (f) {
        const key = `${method} ${f[1]}`;
        functions.set(key, (functions.get(key) ?? 0) + 1);
      }
    }
  }
  return { total, methods: sorted(methods), functions: sorted(functions) };
}
