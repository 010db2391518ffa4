/**
 * Publishing and reading models: `model:publish`, `model:version`, `model:list`, `model:show`, `model:quantize`. What
 * an owner changes later (terms, deprecation, ownership) is in model-owner.ts.
 *
 * Signatures: a version is published with its declared inputs and outputs (TMS1, docs/TENSOR-ENCODING.md), derived
 * from the ONNX file's own declarations. Every input dimension must be fixed: the owner sizes what the file leaves
 * dynamic with `--shape <tensor>=<d0>,<d1>,...` and `--dim <symbol>=<size>` (each repeatable), and a file whose
 * inputs stay dynamic is refused, naming the input and the flag that fixes it. `--no-signature` publishes none
 * (requesters' inputs are then checked by workers only).
 *
 * Weights roots: a version of an integer profile model (docs/FRAUD-PROOFS.md) is published with its weightsRoot,
 * whatever the model's mode, so that the model can switch to Proven later without a new version; any other file is
 * published with a zero root. In Proven mode (`--mode proven`, or a new version of a Proven model) a file outside
 * the profile is refused with the checker's reason before any transaction.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { getBytes, sha256, type ContractTransactionReceipt, type LogDescription } from "ethers";
import { task, types } from "hardhat/config";
import { fileWeightsRoot, NO_WEIGHTS_ROOT, ProfileError, profileWeightsRoot } from "../src/models/weights-root";
import { VerificationMode } from "../packages/sdk/src/params";
import {
  declaredSignature,
  deriveSignature,
  encodeSignature,
  formatSignature,
  parseShapeOverrides,
  signatureInputSize,
  SignatureError,
  type IoSignature,
} from "../packages/sdk/src/signature";
import type { Agreement, Quantized } from "../src/proven/quantize";
import type { IModelRegistry } from "../typechain-types";
import {
  DEPLOYMENT_HELP,
  FROM_HELP,
  JSON_HELP,
  REPEATABLE,
  connect,
  fail,
  formatAmount,
  formatTime,
  output,
  parseAmount,
  parseId,
  queryEvents,
  read,
  repeated,
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
  /** The declared signature; null with --no-signature. */
  signature: IoSignature | null;
  /** Bytes of every conforming input (0n: no signature). */
  inputSize: bigint;
  transactionHash: string;
}

export interface ModelView {
  modelId: bigint;
  owner: string;
  versionCount: number;
  deprecated: boolean;
  terms: ModelTermsView;
  /** The latest version, without its signature (`model:show` reads that from its event). */
  latest: VersionFields;
}

/** A version as the registry stores it. */
export interface VersionFields {
  version: number;
  contentHash: string;
  uri: string;
  publishedAt: number;
  weightsRoot: string;
  /** Bytes of every conforming input; 0n when the version declares no signature. */
  inputSize: bigint;
  /** keccak256 of the declared signature; zero when none. */
  signatureHash: string;
}

/** One version as `model:show` shows it, with its declared signature. */
export interface VersionView extends VersionFields {
  /** The declared signature, read from the version's VersionPublished event; null when none is declared. */
  signature: IoSignature | null;
  /** Why a declared signature could not be read (its event not found, or bytes that do not hash to it). */
  signatureError?: string;
}

/** A model with every version, as `model:show` shows it. */
export interface ModelDetails {
  modelId: bigint;
  owner: string;
  /** The account a transfer was offered to (model:transfer), until it accepts; null when none. */
  pendingOwner: string | null;
  deprecated: boolean;
  versionCount: number;
  terms: ModelTermsView;
  versions: VersionView[];
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

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

/**
 * Fails when `publisher` already published these bytes, which the registry refuses (ModelRegistryContentHashTaken)
 * whatever the signature; other accounts' copies of the same file do not count (a content hash is no claim on the
 * bytes, so nobody can squat it).
 */
async function checkUnpublished(p: Protocol, publisher: string, contentHash: string): Promise<void> {
  const [modelId, version] = await p.registry.findContentHash(publisher, contentHash);
  if (modelId !== 0n)
    fail(
      `this file (sha256 ${contentHash}) is already published as model ${modelId} version ${version} by ` +
        `${publisher}, and the registry takes a file only once from each publisher: it cannot be published again, ` +
        "not even with another signature. To declare another signature, publish a different file (e.g. the model " +
        "exported again with its shapes fixed)",
    );
}

export function parseMode(mode: string): number {
  const index = MODE_NAMES.indexOf(mode.toLowerCase() as ModeName);
  if (index < 0) fail(`--mode ${mode}: expected one of ${MODE_NAMES.join(", ")}`);
  return index; // MODE_NAMES is indexed by VerificationMode
}

interface SignatureArgs {
  shape?: string | string[];
  dim?: string | string[];
  noSignature?: boolean;
}

/**
 * The signature to publish `bytes` with: the inputs and outputs the ONNX file declares, its dynamic dimensions sized
 * by --shape and --dim; null with --no-signature. Fails, before any transaction, for a file ONNX Runtime cannot load,
 * a bad flag, and an input still dynamic (naming it and the flag that fixes it).
 */
async function signatureFor(file: string, bytes: Uint8Array, args: SignatureArgs): Promise<IoSignature | null> {
  const flags = [...repeated(args.shape).map((s) => `--shape ${s}`), ...repeated(args.dim).map((d) => `--dim ${d}`)];
  if (args.noSignature) {
    if (flags.length > 0) fail(`--no-signature declares no signature, so nothing to size: drop ${flags.join(" ")}`);
    return null;
  }
  let overrides;
  try {
    overrides = parseShapeOverrides(flags);
  } catch (e) {
    if (e instanceof SignatureError) fail(e.message);
    throw e;
  }
  // Loaded here, not at start-up: it brings ONNX Runtime, which the other tasks do not need.
  const { loadModel, ModelLoadError } = await import("../packages/sdk/src/onnx");
  let model;
  try {
    model = await loadModel(bytes);
  } catch (e) {
    if (e instanceof ModelLoadError) {
      fail(`--file ${file}: ${e.message}; the signature is read from the model (--no-signature publishes none)`);
    }
    throw e;
  }
  try {
    return deriveSignature(model, overrides);
  } catch (e) {
    if (e instanceof SignatureError) fail(`--file ${file}: ${e.message}; or publish no signature with --no-signature`);
    throw e;
  } finally {
    await model.session.release();
  }
}

/** The signature lines the publishing tasks and model:show print, indented under `indent`. */
function printSignature(signature: IoSignature | null, inputSize: bigint, indent: string): void {
  if (signature === null) {
    say(`${indent}signature none declared (inputs are not checked before a request; workers check them)`);
    return;
  }
  say(`${indent}signature (every input ${inputSize} bytes):`);
  for (const line of formatSignature(signature).split("\n")) say(`${indent}  ${line}`);
}

/** Warns when conforming inputs are larger than the escrow takes inline. */
async function warnInputSize(p: Protocol, inputSize: bigint): Promise<void> {
  const { maxInputBytes } = await p.escrow.params();
  if (inputSize > maxInputBytes) {
    say(
      `  its inputs (${inputSize} bytes) are over the escrow's maxInputBytes (${maxInputBytes}): they cannot be ` +
        "sent inline (job:request); requesters give them by URI (requestInferenceByUri)",
    );
  }
}

/** The event named `name` of a registry transaction. */
function registryEvent(p: Protocol, receipt: ContractTransactionReceipt, name: string): LogDescription {
  for (const log of receipt.logs) {
    const parsed = p.registry.interface.parseLog(log);
    if (parsed?.name === name) return parsed;
  }
  fail(`transaction ${receipt.hash} emitted no ${name}`);
}

interface PublishArgs extends SignatureArgs {
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

const SHAPE_HELP =
  "an input's or output's whole shape, <name>=<d0>,<d1>,... (? for a dynamic output dimension, [] for a scalar), " +
  "for what the file leaves dynamic; repeatable";
const DIM_HELP = "a size for every dimension the file names <symbol> (e.g. batch=1); repeatable";
const NO_SIGNATURE_HELP = "publish no signature (requests' inputs are then checked by workers only)";

task(
  "model:publish",
  "Registers an ONNX model: sha256 of the file, its URI, its signature (inputs and outputs), weights root and terms",
)
  .addParam("file", "the ONNX model file", undefined, types.inputFile)
  .addOptionalParam(
    "uri",
    "where workers fetch the file: ipfs://, https:// or file:// (default: file://<absolute path>)",
  )
  .addParam("price", "fee per job, in tokens (e.g. 1.5)")
  .addOptionalParam("mode", `verification: ${MODE_NAMES.join(" | ")} (proven: integer profile files only)`, "none")
  .addOptionalParam("committee", "committee size, odd, 1..15 (committee mode and optimistic challenges)", 3, types.int)
  .addOptionalParam("royaltyBps", "share of each fee to the model owner, in basis points (max 2000)", 500, types.int)
  .addOptionalParam("relTol", "relative float tolerance, parts per billion", 10_000, types.int)
  .addOptionalParam("absTol", "absolute float tolerance, parts per billion", 1000, types.int)
  .addOptionalParam("shape", SHAPE_HELP, undefined, REPEATABLE)
  .addOptionalParam("dim", DIM_HELP, undefined, REPEATABLE)
  .addFlag("noSignature", NO_SIGNATURE_HELP)
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: PublishArgs, hre): Promise<PublishedModel> => {
    const p = await connect(hre, args);
    const { address } = requireSigner(p);
    const mode = parseMode(args.mode);
    const terms = {
      price: parseAmount(p, args.price, "--price"),
      mode,
      committeeSize: args.committee,
      royaltyBps: args.royaltyBps,
      relTolerance: args.relTol,
      absTolerance: args.absTol,
    };
    const { bytes, contentHash, uri } = modelFile(args.file, args.uri);
    const weightsRoot = weightsRootFor(args.file, bytes, mode);
    await checkUnpublished(p, address, contentHash);
    const signature = await signatureFor(args.file, bytes, args);
    const encoded = signature === null ? "0x" : encodeSignature(signature);
    const receipt = await send(p, "registerModel", () =>
      p.registry.registerModel(contentHash, uri, terms, weightsRoot, encoded),
    );
    const modelId = registryEvent(p, receipt, "ModelRegistered").args.modelId as bigint;
    const inputSize = signature === null ? 0n : signatureInputSize(signature);
    say(`Model ${modelId} published (version 1)`);
    say(`  sha256 ${contentHash}`);
    say(`  uri    ${uri}`);
    say(`  weightsRoot ${describeRoot(weightsRoot)}`);
    printSignature(signature, inputSize, "  ");
    await warnInputSize(p, inputSize);
    say(`  price  ${formatAmount(p, terms.price)}, mode ${MODE_NAMES[mode]}, tx ${receipt.hash}`);
    return { modelId, version: 1n, contentHash, uri, weightsRoot, signature, inputSize, transactionHash: receipt.hash };
  });

interface VersionArgs extends SignatureArgs {
  model: string;
  file: string;
  uri?: string;
  from?: string;
  deployment?: string;
}

task(
  "model:version",
  "Publishes a new version of a model you own, with its signature and weights root (a Proven model's: a profile file)",
)
  .addParam("model", "model id")
  .addParam("file", "the new ONNX file", undefined, types.inputFile)
  .addOptionalParam("uri", "where workers fetch it (default: file://<absolute path>)")
  .addOptionalParam("shape", SHAPE_HELP, undefined, REPEATABLE)
  .addOptionalParam("dim", DIM_HELP, undefined, REPEATABLE)
  .addFlag("noSignature", NO_SIGNATURE_HELP)
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: VersionArgs, hre): Promise<PublishedModel> => {
    const p = await connect(hre, args);
    const { address } = requireSigner(p);
    const modelId = parseId(args.model, "--model");
    const { bytes, contentHash, uri } = modelFile(args.file, args.uri);
    const model = await read(p, "getModel", () => p.registry.getModel(modelId));
    if (model.owner !== address) {
      fail(`model ${modelId} is owned by ${model.owner}, not ${address}: only its owner publishes versions`);
    }
    if (model.deprecated) fail(`model ${modelId} is deprecated: it takes no new versions`);
    const weightsRoot = weightsRootFor(args.file, bytes, Number(model.terms.mode));
    await checkUnpublished(p, address, contentHash);
    const signature = await signatureFor(args.file, bytes, args);
    const encoded = signature === null ? "0x" : encodeSignature(signature);
    const receipt = await send(p, "publishVersion", () =>
      p.registry.publishVersion(modelId, contentHash, uri, weightsRoot, encoded),
    );
    const version = registryEvent(p, receipt, "VersionPublished").args.version as bigint;
    const inputSize = signature === null ? 0n : signatureInputSize(signature);
    say(`Model ${modelId} version ${version} published`);
    say(`  sha256 ${contentHash}`);
    say(`  uri    ${uri}, tx ${receipt.hash}`);
    say(`  weightsRoot ${describeRoot(weightsRoot)}`);
    printSignature(signature, inputSize, "  ");
    await warnInputSize(p, inputSize);
    return { modelId, version, contentHash, uri, weightsRoot, signature, inputSize, transactionHash: receipt.hash };
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
        latest: versionFields(Number(m.versionCount), v),
      });
    }
  }
  return models;
}

/**
 * The signature `version` of `modelId` declares (null: none), read from its VersionPublished event and taken only
 * when it hashes to the registry's `ioSignatureHash`; fails saying why it cannot be read.
 */
export async function versionSignature(p: Protocol, modelId: bigint, version: bigint): Promise<IoSignature | null> {
  const stored = await read(p, "getVersion", () => p.registry.getVersion(modelId, version));
  const [signature] = await readSignatures(p, modelId, [{ version: Number(version), hash: stored.ioSignatureHash }]);
  if ("error" in signature) fail(`model ${modelId} version ${version}: ${signature.error}`);
  return signature.signature;
}

/** The signatures of versions of a model, each read from its VersionPublished event and checked against its hash. */
async function readSignatures(
  p: Protocol,
  modelId: bigint,
  versions: { version: number; hash: string }[],
): Promise<({ signature: IoSignature | null } | { error: string })[]> {
  const from = p.deployment.startBlock;
  let events: Map<number, string> | undefined;
  const results: ({ signature: IoSignature | null } | { error: string })[] = [];
  for (const { version, hash } of versions) {
    if (BigInt(hash) === 0n) {
      results.push({ signature: null });
      continue;
    }
    events ??= new Map(
      (await queryEvents(p.registry, p.registry.filters.VersionPublished(modelId), from, p.hre)).map((e) => [
        Number(e.args.version),
        e.args.ioSignature,
      ]),
    );
    const bytes = events.get(version);
    if (bytes === undefined) {
      results.push({
        error: `it declares a signature (hash ${hash}), but its VersionPublished event was not found from block ${from}`,
      });
      continue;
    }
    try {
      results.push({ signature: declaredSignature(getBytes(bytes), hash) });
    } catch (e) {
      if (!(e instanceof SignatureError)) throw e;
      results.push({ error: `its declared signature cannot be read: ${e.message}` });
    }
  }
  return results;
}

/** A model and every version, with the signatures they declare. */
export async function showModel(p: Protocol, modelId: bigint): Promise<ModelDetails> {
  const m = await read(p, "getModel", () => p.registry.getModel(modelId));
  const stored = [];
  for (let v = 1n; v <= m.versionCount; v++) stored.push(await p.registry.getVersion(modelId, v));
  const signatures = await readSignatures(
    p,
    modelId,
    stored.map((v, i) => ({ version: i + 1, hash: v.ioSignatureHash })),
  );
  return {
    modelId,
    owner: m.owner,
    pendingOwner: m.pendingOwner === ZERO_ADDRESS ? null : m.pendingOwner,
    deprecated: m.deprecated,
    versionCount: Number(m.versionCount),
    terms: termsView(m.terms),
    versions: stored.map((v, i) => ({
      ...versionFields(i + 1, v),
      ...("error" in signatures[i]
        ? { signature: null, signatureError: signatures[i].error }
        : { signature: signatures[i].signature }),
    })),
  };
}

/** Version `version` as the registry stores it (`getVersion`). */
function versionFields(version: number, v: IModelRegistry.ModelVersionStructOutput): VersionFields {
  return {
    version,
    contentHash: v.contentHash,
    uri: v.uri,
    publishedAt: Number(v.publishedAt),
    weightsRoot: v.weightsRoot,
    inputSize: v.inputSize,
    signatureHash: v.ioSignatureHash,
  };
}

/** The terms of a model as tasks show them: the mode by name, numbers as numbers. */
export function termsView(t: IModelRegistry.ModelTermsStructOutput): ModelTermsView {
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
export function formatTerms(p: Protocol, t: ModelTermsView): string {
  return (
    `${formatAmount(p, t.price)}, ${t.mode}${COMMITTEE_MODES.has(t.mode) ? ` (committee ${t.committeeSize})` : ""}, ` +
    `royalty ${t.royaltyBps} bps, tolerance rel ${t.relTolerance} abs ${t.absTolerance} ppb`
  );
}

function printModels(p: Protocol, models: ModelView[]): void {
  if (models.length === 0) say("No models registered.");
  for (const m of models) {
    say(`Model ${m.modelId}${m.deprecated ? " (deprecated)" : ""}: owner ${m.owner}, ${formatTerms(p, m.terms)}`);
    say(`  v${m.latest.version} sha256 ${m.latest.contentHash} ${m.latest.uri}`);
    say(`  weightsRoot ${describeRoot(m.latest.weightsRoot)}`);
    say(
      m.latest.inputSize === 0n
        ? "  signature none declared"
        : `  signature ${m.latest.signatureHash} (every input ${m.latest.inputSize} bytes; model:show prints it)`,
    );
  }
}

task("model:list", "Lists the registered models: owner, terms, latest version, its weights root and signature")
  .addFlag("json", JSON_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: { json?: boolean; deployment?: string }, hre): Promise<ModelView[]> => {
    const p = await connect(hre, args);
    return output(args.json, await listModels(p), (models) => printModels(p, models));
  });

function printModel(p: Protocol, m: ModelDetails): void {
  say(`Model ${m.modelId}: owner ${m.owner}, ${m.versionCount} version${m.versionCount === 1 ? "" : "s"}`);
  if (m.pendingOwner !== null) say(`  offered to ${m.pendingOwner}, who has not accepted yet (model:accept)`);
  if (m.deprecated) say("  deprecated: it takes no new jobs or versions");
  say(`  terms ${formatTerms(p, m.terms)}`);
  for (const v of m.versions) {
    say(`  v${v.version}${v.version === m.versionCount ? " (latest)" : ""}, published ${formatTime(v.publishedAt)}`);
    say(`    sha256 ${v.contentHash}`);
    say(`    uri    ${v.uri}`);
    say(`    weightsRoot ${describeRoot(v.weightsRoot)}`);
    if (v.signatureError !== undefined) say(`    signature ${v.signatureHash}: ${v.signatureError}`);
    else printSignature(v.signature, v.inputSize, "    ");
  }
}

task("model:show", "Shows a model: owner, terms, and every version with its signature (inputs and outputs)")
  .addParam("model", "model id (decimal or 0x hex)")
  .addFlag("json", JSON_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: { model: string; json?: boolean; deployment?: string }, hre): Promise<ModelDetails> => {
    const p = await connect(hre, args);
    const modelId = parseId(args.model, "--model");
    return output(args.json, await showModel(p, modelId), (m) => printModel(p, m));
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
