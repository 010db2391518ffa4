import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { getAddress, keccak256, Wallet } from "ethers";
import { useNativeKeccak } from "../../src/worker/clients/keccak";

// The JavaScript Keccak-256 ethers ships, kept before the native one is registered.
const javascript = (data: Uint8Array) => keccak256(data);
const reference = new Map<number, string>();
const inputs = [0, 1, 31, 32, 135, 136, 137, 1000, 45_000].map((n) => randomBytes(n));
for (const d of inputs) reference.set(d.length, javascript(d));
const address = Wallet.createRandom().address.toLowerCase();
const checksummed = getAddress(address);

describe("worker Keccak-256", function () {
  it("uses the native binding on linux-x64 (its prebuild ships in the package), and hashes as ethers did", function () {
    const used = useNativeKeccak();
    if (process.platform === "linux" && process.arch === "x64") expect(used).to.equal("native");
    for (const d of inputs) expect(keccak256(d), `${d.length} bytes`).to.equal(reference.get(d.length));
    expect(getAddress(address)).to.equal(checksummed);
    expect(useNativeKeccak()).to.equal(used, "registered once");
  });
});
