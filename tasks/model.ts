/**
 * Model owners: `model:publish`, `model:version`, `model:list`, `model:quantize`.
 *
 * Weights roots: a version of an integer profile model (docs/FRAUD-PROOFS.md) is published with its weightsRoot,
 * whatever the model's mode, so that the model can switch to Proven later without a new version; any other file is
 * published with a zero root. In Proven mode (`--mode proven`, or a new version of a Proven model) a file outside
 * the profile is refused with the checker's reason before any transaction.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { sha256 } from "ethers";
import { task, types } from "hardhat/config";
import { fileWeightsRoot, NO_WEIGHTS_ROOT, ProfileError, profileWeightsRoot } from "../src/models/weights-root";
import { VerificationMode } from "../packages/sdk/src/params";
import type { Agreement, Quantized } from "../src/proven/quantize";
import type { IModelRegistry } from "../typechain-types";
import {
  DEPLOYMENT_HELP,
  FROM_HELP,
  connect,
  fail,
  formatAmount,
  parseAmount,
  parseId,
  read,
  requireSigner,
  say,
  send,
  type Protocol,
} from "./common";

/** Mode names as the tasks take and print them, indexed by `VerificationMode`. */
export const MODE_NAMES = ["none", "optimistic", "committee", "proven"] as const;
export type ModeName = (typeof MODE_NAMES)[number];

export interface ModelTermsView {
  price: bigint;
  mode: ModeName;
  committeeSize: number;
  royaltyBps: number;
  relTolerance: number;
  absTolerance: number;
}

export interface PublishedModel {
  modelId: bigint;
  version: bigint;
  contentHash: string;
  uri: string;
  /** The version's weights root: the profile model's, or zero for any other file. */
  weightsRoot: string;
  transactionHash: string;
}

export interface ModelView {
  modelId: bigint;
  owner: string;
  versionCount: number;
  deprecated: boolean;
  terms: ModelTermsView;
  latest: { version: number; contentHash: string; uri: string; publishedAt: number; weightsRoot: string };
}

/** The model file's bytes, its sha256 and its URI (default file://<absolute path>). */
function modelFile(file: string, uri?: string): { bytes: Uint8Array; contentHash: string; uri: string } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    fail(`--file ${file}: ${(err as Error).message}`);
  }
  if (bytes.length === 0) fail(`--file ${file} is empty`);
  return { bytes, contentHash: sha256(bytes), uri: uri || pathToFileURL(path.resolve(file)).href };
}

/**
 * The weights root to publish `bytes` with. Proven: the file must be an integer profile model, else the task fails
 * with the checker's reason (naming the node at fault). Other modes: the profile model's root when the file is
 * one (so the model can switch to Proven later), zero otherwise.
 */
function weightsRootFor(file: string, bytes: Uint8Array, mode: number): string {
  if (mode === VerificationMode.Proven) {
    try {
      return fileWeightsRoot(bytes);
    } catch (e) {
      if (e instanceof ProfileError) {
        fail(`--file ${file} is not an integer profile model, which Proven mode needs: ${e.message}`);
      }
      throw e;
    }
  }
  const profile = profileWeightsRoot(bytes);
  return profile.root ?? NO_WEIGHTS_ROOT;
}

/** The weights root line the publishing tasks print. */
function describeRoot(root: string): string {
  return root === NO_WEIGHTS_ROOT ? "none (not an integer profile model)" : root;
}

/** Fails when `publisher` already published these bytes, which the registry refuses; other accounts' copies of the
 * same file do not count (a content hash is no claim on the bytes, so nobody can squat it). */
async function checkUnpublished(p: Protocol, publisher: string, contentHash: string): Promise<void> {
  const [modelId, version] = await p.registry.findContentHash(publisher, contentHash);
  if (modelId !== 0n)
    fail(
      `this file (sha256 ${contentHash}) is already published as model ${modelId} version ${version} by ${publisher}`,
    );
}

function parseMode(mode: string): number {
  const index = MODE_NAMES.indexOf(mode.toLowerCase() as ModeName);
  if (index < 0) fail(`--mode ${mode}: expected one of ${MODE_NAMES.join(", ")}`);
  return index; // MODE_NAMES is indexed by VerificationMode
}

interface PublishArgs {
  file: string;
  uri?: string;
  price: string;
  mode: string;
  committee: number;
  royaltyBps: number;
  relTol: number;
  absTol: number;
  from?: string;
  deployment?: string;
}

task("model:publish", "Registers an ONNX model: sha256 of the file, its URI, its weights root and its terms")
  .addParam("file", "the ONNX model file", undefined, types.inputFile)
  .addOptionalParam(
    "uri",
    "where workers fetch the file: ipfs://, https:// or file:// (default: file://<absolute path>)",
  )
  .addParam("price", "fee per job, in tokens (e.g. 1.5)")
  .addOptionalParam(
    "mode",
    `verification: ${MODE_NAMES.join(" | ")} (proven: integer profile files only; the escrow does not run it yet)`,
    "none",
  )
  .addOptionalParam("committee", "committee size, odd, 1..15 (committee mode and optimistic challenges)", 3, types.int)
  .addOptionalParam("royaltyBps", "share of each fee to the model owner, in basis points (max 2000)", 500, types.int)
  .addOptionalParam("relTol", "relative float tolerance, parts per billion", 10_000, types.int)
  .addOptionalParam("absTol", "absolute float tolerance, parts per billion", 1000, types.int)
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: PublishArgs, hre): Promise<PublishedModel> => {
    const p = await connect(hre, args);
    const { address } = requireSigner(p);
    const { bytes, contentHash, uri } = modelFile(args.file, args.uri);
    const mode = parseMode(args.mode);
    const weightsRoot = weightsRootFor(args.file, bytes, mode);
    await checkUnpublished(p, address, contentHash);
    const terms = {
      price: parseAmount(p, args.price, "--price"),
      mode,
      committeeSize: args.committee,
      royaltyBps: args.royaltyBps,
      relTolerance: args.relTol,
      absTolerance: args.absTol,
    };
    const receipt = await send(p, "registerModel", () =>
      p.registry.registerModel(contentHash, uri, terms, weightsRoot, "0x"),
    );
    const event = receipt.logs
      .map((log) => p.registry.interface.parseLog(log))
      .find((parsed) => parsed?.name === "ModelRegistered");
    if (!event) fail(`registerModel ${receipt.hash} emitted no ModelRegistered`);
    const modelId = event.args.modelId as bigint;
    say(`Model ${modelId} published (version 1)`);
    say(`  sha256 ${contentHash}`);
    say(`  uri    ${uri}`);
    say(`  weightsRoot ${describeRoot(weightsRoot)}`);
    say(`  price  ${formatAmount(p, terms.price)}, mode ${MODE_NAMES[mode]}, tx ${receipt.hash}`);
    return { modelId, version: 1n, contentHash, uri, weightsRoot, transactionHash: receipt.hash };
  });

interface VersionArgs {
  model: string;
  file: string;
  uri?: string;
  from?: string;
  deployment?: string;
}

task(
  "model:version",
  "Publishes a new version of a model you own (with its weights root; a Proven model's must be a profile file)",
)
  .addParam("model", "model id")
  .addParam("file", "the new ONNX file", undefined, types.inputFile)
  .addOptionalParam("uri", "where workers fetch it (default: file://<absolute path>)")
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: VersionArgs, hre): Promise<PublishedModel> => {
    const p = await connect(hre, args);
    const { address } = requireSigner(p);
    const modelId = parseId(args.model, "--model");
    const { bytes, contentHash, uri } = modelFile(args.file, args.uri);
    const model = await read(p, "getModel", () => p.registry.getModel(modelId));
    const weightsRoot = weightsRootFor(args.file, bytes, Number(model.terms.mode));
    await checkUnpublished(p, address, contentHash);
    const receipt = await send(p, "publishVersion", () =>
      p.registry.publishVersion(modelId, contentHash, uri, weightsRoot, "0x"),
    );
    const event = receipt.logs
      .map((log) => p.registry.interface.parseLog(log))
      .find((parsed) => parsed?.name === "VersionPublished");
    if (!event) fail(`publishVersion ${receipt.hash} emitted no VersionPublished`);
    const version = event.args.version as bigint;
    say(`Model ${modelId} version ${version} published`);
    say(`  sha256 ${contentHash}`);
    say(`  uri    ${uri}, tx ${receipt.hash}`);
    say(`  weightsRoot ${describeRoot(weightsRoot)}`);
    return { modelId, version, contentHash, uri, weightsRoot, transactionHash: receipt.hash };
  });

/** Every model with its terms and latest version. */
export async function listModels(p: Protocol): Promise<ModelView[]> {
  const count = await p.registry.modelCount();
  const models: ModelView[] = [];
  const PAGE = 50n;
  for (let from = 1n; from <= count; from += PAGE) {
    const page = await read(p, "getModels", () => p.registry.getModels(from, PAGE));
    for (const [i, m] of page.entries()) {
      const modelId = from + BigInt(i);
      const v = await p.registry.getVersion(modelId, m.versionCount);
      models.push({
        modelId,
        owner: m.owner,
        versionCount: Number(m.versionCount),
        deprecated: m.deprecated,
        terms: termsView(m.terms),
        latest: {
          version: Number(m.versionCount),
          contentHash: v.contentHash,
          uri: v.uri,
          publishedAt: Number(v.publishedAt),
          weightsRoot: v.weightsRoot,
        },
      });
    }
  }
  return models;
}

/** The terms of a model as tasks show them: the mode by name, numbers as numbers. */
export function termsView(t: IModelRegistry.ModelTermsStructOutput): ModelView["terms"] {
  return {
    price: t.price,
    mode: MODE_NAMES[Number(t.mode)],
    committeeSize: Number(t.committeeSize),
    royaltyBps: Number(t.royaltyBps),
    relTolerance: Number(t.relTolerance),
    absTolerance: Number(t.absTolerance),
  };
}

/** The modes that draw a committee (Optimistic only when challenged); the others ignore the committee size. */
const COMMITTEE_MODES = new Set<ModeName>(["optimistic", "committee"]);

/** A model's terms in one line, as `model:list` lists them and `job:request` agrees to them. */
export function formatTerms(p: Protocol, t: ModelView["terms"]): string {
  return (
    `${formatAmount(p, t.price)}, ${t.mode}${COMMITTEE_MODES.has(t.mode) ? ` (committee ${t.committeeSize})` : ""}, ` +
    `royalty ${t.royaltyBps} bps, tolerance rel ${t.relTolerance} abs ${t.absTolerance} ppb`
  );
}

task("model:list", "Lists the registered models: owner, terms, latest version and its weights root")
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: { deployment?: string }, hre): Promise<ModelView[]> => {
    const p = await connect(hre, args);
    const models = await listModels(p);
    if (models.length === 0) say("No models registered.");
    for (const m of models) {
      say(`Model ${m.modelId}${m.deprecated ? " (deprecated)" : ""}: owner ${m.owner}, ${formatTerms(p, m.terms)}`);
      say(`  v${m.latest.version} sha256 ${m.latest.contentHash} ${m.latest.uri}`);
      say(`  weightsRoot ${describeRoot(m.latest.weightsRoot)}`);
    }
    return models;
  });

interface QuantizeArgs {
  file: string;
  calibration: string;
  out: string;
}

/** What `model:quantize` wrote and measured. */
export interface QuantizeResult {
  out: string;
  contentHash: string;
  weightsRoot: string;
  quantized: Quantized;
  agreement: Agreement;
}

task("model:quantize", "Converts a float MLP (Gemm or MatMul+Add, ReLU) into a Proven-mode integer profile file")
  .addParam("file", "the float32 ONNX model", undefined, types.inputFile)
  .addParam(
    "calibration",
    'calibration inputs: a 2-D .npy, or JSON { "rows": [[...], ...] }',
    undefined,
    types.inputFile,
  )
  .addParam("out", "where to write the profile ONNX file")
  .setAction(async (args: QuantizeArgs): Promise<QuantizeResult> => {
    // Loaded here, not at start-up: they bring ONNX Runtime, which no other task needs.
    const { buildProfileModel, parseProfileModel, weightsRoot } = await import("../src/proven");
    const { QuantizeError, measureAgreement, parseFloatMlp, quantizeMlp, readCalibration } =
      await import("../src/proven/quantize");
    const floatFile = new Uint8Array(readFileSync(args.file));
    let quantized: Quantized;
    let rows: number[][];
    try {
      rows = readCalibration(new Uint8Array(readFileSync(args.calibration)), args.calibration);
      quantized = quantizeMlp(parseFloatMlp(floatFile), rows);
    } catch (e) {
      if (e instanceof QuantizeError) fail(`${e.message}`);
      throw e;
    }
    const bytes = buildProfileModel(quantized.model, {
      "trustml.input_scale": String(quantized.inputScale),
      "trustml.output_scale": String(quantized.outputScale),
    });
    parseProfileModel(bytes); // the profile checker accepts what the converter writes
    writeFileSync(args.out, bytes);
    const root = weightsRoot(quantized.model.layers);
    const contentHash = sha256(bytes);
    say(`Wrote ${args.out}: ${quantized.model.layers.length} integer layers, sha256 ${contentHash}`);
    say(`  weightsRoot ${root}`);
    say(`  input: x0 = clamp(round(x / ${quantized.inputScale.toPrecision(6)}), -128, 127)`);
    quantized.model.layers.forEach((l, k) => {
      const q = quantized.layers[k];
      say(
        `  layer ${k + 1}: ${l.nIn} -> ${l.nOut}${l.activation === "relu" ? " ReLU" : ""}, ` +
          `M ${l.multiplier} / 2^${l.shift} (${q.realMultiplier.toPrecision(6)}), ` +
          `weight scale ${q.weightScale.toPrecision(4)}, output scale ${q.outputScale.toPrecision(4)}` +
          (q.clampedBiases > 0 ? `, ${q.clampedBiases} biases clamped` : ""),
      );
    });
    say(`  output: y = ${quantized.outputScale.toPrecision(6)} * xL`);
    const agreement = await measureAgreement(floatFile, quantized, rows);
    const share = ((100 * agreement.top1) / agreement.rows).toFixed(1);
    say(
      `Agreement with the float model on ${agreement.rows} calibration rows: top-1 ${agreement.top1}/${agreement.rows} ` +
        `(${share}%), max |error| of the dequantized outputs ${agreement.maxAbsError.toPrecision(4)} ` +
        `(largest |output| ${agreement.maxAbsOutput.toPrecision(4)})`,
    );
    return { out: args.out, contentHash, weightsRoot: root, quantized, agreement };
  });
