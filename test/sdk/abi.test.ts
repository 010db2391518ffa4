import { expect } from "chai";
import { readFileSync } from "node:fs";
import hre from "hardhat";
import { renderSdkAbi, SDK_ABI_FILE } from "../../src/sdk/abi";
import { jobEscrowAbi, modelRegistryAbi, provenJudgeAbi } from "../../packages/sdk/src/abi";

// The SDK ships the contracts' ABIs as constants: a contract change that moves an ABI must move the SDK with it.
describe("@trustml/sdk ABIs", function () {
  it("are the compiled contracts' (npm run sdk:abi rewrites them)", async function () {
    const rendered = await renderSdkAbi(hre.artifacts);
    expect(readFileSync(SDK_ABI_FILE, "utf8"), "packages/sdk/src/abi.ts is stale: run `npm run sdk:abi`").to.equal(
      rendered,
    );
  });

  it("carry what requesters use: requests, deposits, signatures, and the libraries' errors", function () {
    const names = (abi: readonly { type: string; name?: string }[], type: string) =>
      abi.filter((x) => x.type === type).map((x) => x.name);
    expect(names(jobEscrowAbi, "function")).to.include.members(["requestInference", "deposit", "settle", "withdraw"]);
    expect(names(jobEscrowAbi, "error")).to.include.members(["JobEscrowInputSizeMismatch", "JobEscrowTermsChanged"]);
    expect(names(modelRegistryAbi, "event")).to.include("VersionPublished");
    expect(names(modelRegistryAbi, "error")).to.include("IoSignatureMalformed");
    expect(names(provenJudgeAbi, "error")).to.include("ProvenNeuronCorrect");
  });
});
