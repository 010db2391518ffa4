/**
 * What a model's owner changes after publishing: `model:terms` (shows the terms, or sets some of them),
 * `model:deprecate`, and the two-step transfer `model:transfer` (by the owner) then `model:accept` (by the new owner).
 * Each change reaches only jobs requested afterwards: a job keeps the terms it was requested under, and a request
 * that agreed to the old snapshot and is mined after the change reverts (JobEscrowTermsChanged) without paying.
 */
import { ZeroAddress } from "ethers";
import { task, types } from "hardhat/config";
import { toModelTerms } from "../packages/sdk/src/terms";
import { VerificationMode } from "../packages/sdk/src/params";
import {
  DEPLOYMENT_HELP,
  FROM_HELP,
  JSON_HELP,
  connect,
  fail,
  output,
  parseAddress,
  parseAmount,
  parseId,
  read,
  requireSigner,
  say,
  send,
  type Protocol,
} from "./common";
import { MODE_NAMES, formatTerms, parseMode, termsView, type ModelTermsView } from "./model";

interface CommonArgs {
  model: string;
  from?: string;
  deployment?: string;
}

interface TermsArgs extends CommonArgs {
  price?: string;
  mode?: string;
  committee?: number;
  royaltyBps?: number;
  relTol?: number;
  absTol?: number;
  json?: boolean;
}

/** What `model:terms` shows or set. */
export interface TermsResult {
  modelId: bigint;
  /** The terms now. */
  terms: ModelTermsView;
  /** When terms were set: the terms before, and the transaction. */
  previous?: ModelTermsView;
  transactionHash?: string;
}

/** The model's owner and terms; fails for an unknown model. */
async function modelOf(p: Protocol, modelId: bigint) {
  return read(p, "getModel", () => p.registry.getModel(modelId));
}

task(
  "model:terms",
  "Shows a model's terms, or (owner) sets those given: price, mode, committee size, royalty, tolerances",
)
  .addParam("model", "model id (decimal or 0x hex)")
  .addOptionalParam("price", "fee per job, in tokens (e.g. 1.5)")
  .addOptionalParam(
    "mode",
    `verification: ${MODE_NAMES.join(" | ")} (proven: the latest version must be a profile file)`,
  )
  .addOptionalParam("committee", "committee size, odd, 1..15", undefined, types.int)
  .addOptionalParam(
    "royaltyBps",
    "share of each fee to the model owner, in basis points (max 2000)",
    undefined,
    types.int,
  )
  .addOptionalParam("relTol", "relative float tolerance, parts per billion", undefined, types.int)
  .addOptionalParam("absTol", "absolute float tolerance, parts per billion", undefined, types.int)
  .addFlag("json", JSON_HELP)
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: TermsArgs, hre): Promise<TermsResult> => {
    const p = await connect(hre, args);
    const modelId = parseId(args.model, "--model");
    const model = await modelOf(p, modelId);
    const current = toModelTerms(model.terms);
    const given = {
      price: args.price === undefined ? undefined : parseAmount(p, args.price, "--price"),
      mode: args.mode === undefined ? undefined : parseMode(args.mode),
      committeeSize: args.committee,
      royaltyBps: args.royaltyBps,
      relTolerance: args.relTol,
      absTolerance: args.absTol,
    };
    if (Object.values(given).every((v) => v === undefined)) {
      return output(args.json, { modelId, terms: termsView(model.terms) }, (r) =>
        say(`Model ${modelId}: ${formatTerms(p, r.terms)}`),
      );
    }

    requireSigner(p);
    const terms = { ...current };
    for (const [key, value] of Object.entries(given) as [keyof typeof terms, bigint | number | undefined][]) {
      if (value !== undefined) (terms[key] as bigint | number) = value;
    }
    const previous = termsView(model.terms);
    if (Object.keys(terms).every((k) => terms[k as keyof typeof terms] === current[k as keyof typeof current])) {
      fail(`model ${modelId} already has these terms (${formatTerms(p, previous)}): nothing was sent`);
    }
    if (terms.mode === VerificationMode.Proven && current.mode !== VerificationMode.Proven) {
      const latest = await p.registry.getWeightsRoot(modelId, model.versionCount);
      if (BigInt(latest) === 0n) {
        fail(
          `--mode proven: version ${model.versionCount} of model ${modelId} has no weights root (it is not an ` +
            "integer profile model), and Proven mode needs one: publish a profile file first (model:quantize, " +
            "model:version)",
        );
      }
    }
    const receipt = await send(p, "setTerms", () => p.registry.setTerms(modelId, terms));
    const result: TermsResult = {
      modelId,
      terms: termsView((await p.registry.getModel(modelId)).terms),
      previous,
      transactionHash: receipt.hash,
    };
    return output(args.json, result, (r) => {
      say(`Terms of model ${modelId} set (tx ${receipt.hash})`);
      say(`  before ${formatTerms(p, previous)}`);
      say(`  now    ${formatTerms(p, r.terms)}`);
      say("  jobs already requested keep their terms; a request still pending under the old ones reverts unpaid");
    });
  });

task("model:deprecate", "Deprecates a model you own, for good: no new jobs or versions (jobs in flight go on)")
  .addParam("model", "model id (decimal or 0x hex)")
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: CommonArgs, hre): Promise<{ modelId: bigint; transactionHash: string }> => {
    const p = await connect(hre, args);
    requireSigner(p);
    const modelId = parseId(args.model, "--model");
    const receipt = await send(p, "deprecate", () => p.registry.deprecate(modelId));
    say(`Model ${modelId} deprecated (tx ${receipt.hash}): it takes no new jobs or versions; jobs in flight go on`);
    return { modelId, transactionHash: receipt.hash };
  });

/** What `model:transfer` and `model:accept` leave. */
export interface OwnershipResult {
  modelId: bigint;
  owner: string;
  /** The account the model is offered to; null when none. */
  pendingOwner: string | null;
  transactionHash: string;
}

task("model:transfer", "Offers a model you own to another account, which becomes its owner when it runs model:accept")
  .addParam("model", "model id (decimal or 0x hex)")
  .addOptionalParam("to", "the new owner's address")
  .addFlag("cancel", "withdraw a pending offer instead")
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: CommonArgs & { to?: string; cancel: boolean }, hre): Promise<OwnershipResult> => {
    if ((args.to === undefined) === !args.cancel) fail("give exactly one of --to <address> and --cancel");
    const to = args.cancel ? ZeroAddress : parseAddress(args.to!, "--to");
    if (!args.cancel && to === ZeroAddress) fail("--to: the zero address owns nothing; --cancel withdraws an offer");
    const p = await connect(hre, args);
    requireSigner(p);
    const modelId = parseId(args.model, "--model");
    const receipt = await send(p, "transferModelOwnership", () => p.registry.transferModelOwnership(modelId, to));
    const model = await p.registry.getModel(modelId);
    if (args.cancel) say(`Model ${modelId}: offer withdrawn, still owned by ${model.owner} (tx ${receipt.hash})`);
    else {
      say(`Model ${modelId} offered to ${to} (tx ${receipt.hash}); you own it until they accept:`);
      say(`  npx hardhat model:accept --model ${modelId} --from ${to}`);
    }
    return {
      modelId,
      owner: model.owner,
      pendingOwner: model.pendingOwner === ZeroAddress ? null : model.pendingOwner,
      transactionHash: receipt.hash,
    };
  });

task("model:accept", "Accepts a model offered to you (model:transfer): you become its owner and get its royalties")
  .addParam("model", "model id (decimal or 0x hex)")
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: CommonArgs, hre): Promise<OwnershipResult> => {
    const p = await connect(hre, args);
    const { address } = requireSigner(p);
    const modelId = parseId(args.model, "--model");
    const before = await modelOf(p, modelId);
    if (before.pendingOwner === ZeroAddress) {
      fail(`model ${modelId} is offered to nobody: its owner ${before.owner} offers it with model:transfer`);
    }
    if (before.pendingOwner !== address) {
      fail(`model ${modelId} is offered to ${before.pendingOwner}, not to ${address}`);
    }
    const receipt = await send(p, "acceptModelOwnership", () => p.registry.acceptModelOwnership(modelId));
    say(`You (${address}) now own model ${modelId}, from ${before.owner} (tx ${receipt.hash})`);
    say("  its royalties are yours from jobs requested now on; pending requests under the old owner revert unpaid");
    return { modelId, owner: address, pendingOwner: null, transactionHash: receipt.hash };
  });
