/**
 * What one read of the chain costs the worker: the same view call timed through a provider that sends at once and
 * through one configured as the worker's (ethers' defaults, which hold each request 10 ms to batch it with others).
 */
import { JsonRpcProvider, Network } from "ethers";
import { JobEscrow__factory } from "../factories";
import { summarize, type Summary } from "./stats";
import { directProvider } from "./requests";
import { PROVIDER_OPTIONS } from "../worker/loop/service";

export interface RoundTrips {
  calls: number;
  /** `jobState` through a provider without batching, ms. */
  direct: Summary;
  /** The same through a provider made as the worker makes it (src/worker/service.ts, startServiceFromConfig). */
  workerProvider: Summary;
}

async function timeCalls(
  provider: JsonRpcProvider,
  escrow: string,
  jobIds: bigint[],
  calls: number,
): Promise<number[]> {
  const contract = JobEscrow__factory.connect(escrow, provider);
  const out: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await contract.jobState(jobIds[i % jobIds.length]);
    out.push(performance.now() - started);
  }
  return out;
}

/** Times `calls` sequential jobState calls each way (after 20 untimed ones). */
export async function measureRoundTrips(
  url: string,
  chainId: number,
  escrow: string,
  jobIds: bigint[],
  calls = 200,
): Promise<RoundTrips> {
  const direct = directProvider(url, chainId);
  const worker = new JsonRpcProvider(url, Network.from(chainId), PROVIDER_OPTIONS);
  try {
    await timeCalls(direct, escrow, jobIds, 20);
    await timeCalls(worker, escrow, jobIds, 20);
    return {
      calls,
      direct: summarize(await timeCalls(direct, escrow, jobIds, calls)),
      workerProvider: summarize(await timeCalls(worker, escrow, jobIds, calls)),
    };
  } finally {
    direct.destroy();
    worker.destroy();
  }
}
