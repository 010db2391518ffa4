/**
 * The requesters' side of the benchmark: requests signed before the clock starts (so that the measurement is of
 * the chain and the worker, not of the benchmark's own signing), sent by several requesters at once straight to
 * the node, and a watcher that sees jobs settle on chain.
 */
import { JsonRpcProvider, Network, type HDNodeWallet } from "ethers";
import type { JobEscrow } from "../../typechain-types";
import type { JobTerms } from "../../packages/sdk/src/terms";
import { JobOutcome } from "../../packages/sdk/src/params";
import { sleep } from "../network/processes";
import pLimit from "p-limit";

/**
 * A provider that sends every call at once: ethers' default holds requests 10 ms to batch them, which would put
 * 10 ms into every request and every poll.
 */
export function directProvider(url: string, chainId: number): JsonRpcProvider {
  return new JsonRpcProvider(url, Network.from(chainId), {
    staticNetwork: true,
    batchMaxCount: 1,
    batchStallTime: 0,
    cacheTimeout: -1,
  });
}

export interface SignedRequest {
  /** Index of the requester (into the list given to signRequests). */
  requester: number;
  raw: string;
}

export interface SignOptions {
  escrow: JobEscrow;
  chainId: number;
  modelId: bigint;
  terms: JobTerms;
  deadline: bigint;
  gasLimit: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/**
 * Signs `count` requests for `requester` from nonce `nonce` on, with `inputs` in turn. The fees and the gas limit
 * are fixed, so no request waits for an estimate.
 */
export async function signRequests(
  opts: SignOptions,
  requester: HDNodeWallet,
  index: number,
  nonce: number,
  inputs: Uint8Array[],
  count: number,
): Promise<SignedRequest[]> {
  const target = await opts.escrow.getAddress();
  const out: SignedRequest[] = [];
  for (let i = 0; i < count; i++) {
    const data = opts.escrow.interface.encodeFunctionData("requestInference", [
      opts.modelId,
      opts.terms,
      inputs[i % inputs.length],
      opts.deadline,
      0,
    ]);
    const raw = await requester.signTransaction({
      type: 2,
      chainId: opts.chainId,
      nonce: nonce + i,
      to: target,
      data,
      value: 0,
      gasLimit: opts.gasLimit,
      maxFeePerGas: opts.maxFeePerGas,
      maxPriorityFeePerGas: opts.maxPriorityFeePerGas,
    });
    out.push({ requester: index, raw });
  }
  return out;
}

export interface Sent {
  hash: string;
  /** Date.now() when the node answered: with automining, the request is in a block by then. */
  at: number;
}

/**
 * Sends each requester's requests in order, the requesters at once, each request when the previous one of its
 * requester is in; with `ratePerSecond` > 0, no faster than that in total. Returns the sends in the order given.
 */
export async function sendRequests(
  provider: JsonRpcProvider,
  requests: SignedRequest[],
  ratePerSecond = 0,
): Promise<{ sent: Sent[]; startedAt: number; endedAt: number }> {
  const byRequester = new Map<number, number[]>();
  requests.forEach((r, i) => byRequester.set(r.requester, [...(byRequester.get(r.requester) ?? []), i]));
  const sent: Sent[] = new Array(requests.length);
  const startedAt = Date.now();
  const lanes = byRequester.size;
  await Promise.all(
    [...byRequester.values()].map(async (indexes, lane) => {
      for (let k = 0; k < indexes.length; k++) {
        if (ratePerSecond > 0) {
          // Request k of each lane is due at k * lanes / rate, the lanes staggered within one period.
          const due = startedAt + ((k * lanes + lane) / ratePerSecond) * 1000;
          if (due > Date.now()) await sleep(due - Date.now());
        }
        const i = indexes[k];
        const hash = (await provider.send("eth_sendRawTransaction", [requests[i].raw])) as string;
        sent[i] = { hash, at: Date.now() };
      }
    }),
  );
  return { sent, startedAt, endedAt: Date.now() };
}

/** The job id each request created (from its receipt's JobRequested event), in the order given. */
export async function jobIdsOf(provider: JsonRpcProvider, escrow: JobEscrow, sent: Sent[]): Promise<bigint[]> {
  const topic = escrow.interface.getEvent("JobRequested").topicHash;
  const limit = pLimit(8); // receipts read eight at a time
  return Promise.all(
    sent.map((s) =>
      limit(async () => {
        const receipt = await provider.getTransactionReceipt(s.hash);
        if (!receipt || receipt.status !== 1) throw new Error(`request ${s.hash} failed or is not mined`);
        const log = receipt.logs.find((l) => l.topics[0] === topic);
        if (!log) throw new Error(`request ${s.hash} has no JobRequested event`);
        return BigInt(log.topics[1]);
      }),
    ),
  );
}

/**
 * Watches the escrow's JobSettled events from `fromBlock` on: which jobs settled, with what outcome, and when this
 * process first saw it (within one poll interval of the block).
 */
export class SettlementWatcher {
  readonly settled = new Map<bigint, { at: number; accepted: boolean }>();
  private next: number;
  private stopped = false;
  private readonly loop: Promise<void>;
  private error: Error | undefined;
  /** RPC calls the watcher made (to tell them from the worker's in the node's counts). */
  calls = 0;

  constructor(
    private readonly provider: JsonRpcProvider,
    private readonly escrow: JobEscrow,
    fromBlock: number,
    private readonly intervalMs = 200,
  ) {
    this.next = fromBlock;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const address = await this.escrow.getAddress();
    const topic = this.escrow.interface.getEvent("JobSettled").topicHash;
    while (!this.stopped) {
      try {
        const head = await this.provider.getBlockNumber();
        this.calls++;
        if (head >= this.next) {
          const logs = await this.provider.getLogs({ address, topics: [topic], fromBlock: this.next, toBlock: head });
          this.calls++;
          const at = Date.now();
          for (const l of logs) {
            const id = BigInt(l.topics[1]);
            if (!this.settled.has(id))
              this.settled.set(id, { at, accepted: BigInt(l.topics[2]) === BigInt(JobOutcome.Accepted) });
          }
          this.next = head + 1;
        }
      } catch (e) {
        this.error = e as Error;
        return;
      }
      await sleep(this.intervalMs);
    }
  }

  /**
   * Resolves once `total` jobs have settled since `fromBlock` (the phase's own: no other jobs run meanwhile);
   * throws after `timeoutMs`, or if polling failed.
   */
  async waitCount(total: number, timeoutMs: number, progress?: (done: number) => void): Promise<void> {
    const started = Date.now();
    let last = -1;
    for (;;) {
      if (this.error) throw this.error;
      const done = this.settled.size;
      if (done !== last) progress?.(done);
      last = done;
      if (done >= total) return;
      if (Date.now() - started > timeoutMs) {
        throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s: ${done}/${total} jobs settled`);
      }
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}
