/**
 * Requests an inference from TrustML, waits for its result and re-verifies it with ONNX Runtime: the script of
 * docs/INTEGRATORS.md. test/sdk/pack.test.ts compiles it against the packed @trustml/sdk in a project of its own and
 * runs it against a local chain with a worker.
 *
 *   TRUSTML_RPC_URL=http://127.0.0.1:8545 TRUSTML_PRIVATE_KEY=0x… TRUSTML_DEPLOYMENT=deployments/localhost.json \
 *   MODEL_ID=1 MODEL_FILE=mlp.onnx [DEPOSIT=<base units>] node request.js
 *
 * Prints what happened as one line of JSON on stdout, progress on stderr; exits 1 with the error's code on failure.
 */
import { readFileSync } from "node:fs";
import { JsonRpcProvider, Wallet } from "ethers";
import { TrustMLClient, TrustMLError, tensorsToJson, type Tensor } from "@trustml/sdk";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function main(): Promise<void> {
  const provider = new JsonRpcProvider(env("TRUSTML_RPC_URL"));
  const wallet = new Wallet(env("TRUSTML_PRIVATE_KEY"), provider);
  // Checks that the record is of the provider's chain and that its contracts are there.
  const client = await TrustMLClient.connect({ runner: wallet, deployment: env("TRUSTML_DEPLOYMENT") });

  // Optionally prepay: a request takes its fee from the escrow balance whenever the balance covers it.
  if (process.env.DEPOSIT) await client.deposit(BigInt(process.env.DEPOSIT));

  // What the model takes (its latest version's signature) and what a job on it costs, as the registry has them now.
  const modelId = BigInt(env("MODEL_ID"));
  const version = await client.version(modelId);
  const terms = await client.terms(modelId);
  console.error(`model ${modelId} version ${version.version}: price ${terms.terms.price}, mode ${terms.terms.mode}`);

  // One row of four float32 features, as the signature declares the input "features".
  const input: Tensor[] = [
    { name: "features", type: "float32", shape: [1, 4], data: new Float32Array([5.1, 3.5, 1.4, 0.2]) },
  ];
  // The input is checked against the signature before anything is sent, and the request agrees to `terms`: if the
  // owner changed them since they were read, nothing is paid. Deadline: ten minutes.
  const job = await client.request({ modelId, input, terms, deadline: 600 });
  console.error(`requested job ${job.hexId}`);

  const result = await job.wait({ timeout: 120_000 });
  console.error(`job ${result.status}${result.outcome ? ` (${result.outcome})` : ""}, worker ${result.worker}`);

  // Re-executes the model on the job's input and compares with the posted output under the model's tolerances.
  const verification = await job.verify({ model: readFileSync(env("MODEL_FILE")) });

  console.log(
    JSON.stringify({
      jobId: job.hexId,
      status: result.status,
      outcome: result.outcome,
      worker: result.worker,
      input: tensorsToJson(input),
      output: tensorsToJson(result.tensors ?? []),
      verified: verification.agrees,
      reason: verification.comparison.reason ?? null,
      balance: (await client.balance()).toString(),
    }),
  );
  provider.destroy();
}

main().catch((e: unknown) => {
  // A TrustMLError's code says what went wrong (TERMS_CHANGED, INPUT_MISMATCH, TIMEOUT, …), its message exactly what.
  console.error(e instanceof TrustMLError ? `${e.code}: ${e.message}` : e);
  process.exit(1);
});
