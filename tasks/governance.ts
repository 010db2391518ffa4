/**
 * Governance: `randomness:show`, `randomness:deploy-vrf`, `randomness:announce`, `randomness:activate` (the escrow's
 * committee randomness source, an IRandomnessSource: `requestSeed` gives a ticket at submission, `seedOf(ticket)`
 * the seed once it exists; changed only after a notice, and only to a source that answers `seedOf`) and
 * `escrow:announce` (the staking contract's notice before an escrow may be granted ESCROW_ROLE). Each sends from the
 * escrow's owner or the staking admin; anyone else gets the contract's own error.
 */
import { ZeroAddress, type ContractTransactionReceipt, type ContractTransactionResponse } from "ethers";
import { task } from "hardhat/config";
import {
  DEPLOYMENT_HELP,
  FROM_HELP,
  JSON_HELP,
  connect,
  fail,
  formatTime,
  output,
  parseAddress,
  requireSigner,
  say,
  send,
  type Protocol,
} from "./common";

interface CommonArgs {
  from?: string;
  deployment?: string;
}

export interface RandomnessView {
  /** The source committees are drawn from now. */
  current: string;
  /** The announced source (zero address: none) and when it can be activated (Unix seconds; 0: none). */
  next: string;
  readyAt: number;
}

async function randomnessOf(p: Protocol): Promise<RandomnessView> {
  const [next, readyAt] = await p.escrow.nextRandomnessSource();
  return { current: await p.escrow.randomnessSource(), next, readyAt: Number(readyAt) };
}

function printRandomness(view: RandomnessView): void {
  say(`Randomness source: ${view.current}`);
  say(
    view.next === ZeroAddress
      ? "  nothing announced"
      : `  announced: ${view.next}, can be activated from ${formatTime(view.readyAt)}`,
  );
}

/** `send`, with what a source must do when the escrow refuses one (JobEscrowRandomnessSourceUnusable). */
async function sendChecked(
  p: Protocol,
  what: string,
  transaction: () => Promise<ContractTransactionResponse>,
): Promise<ContractTransactionReceipt> {
  try {
    return await send(p, what, transaction);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.includes("JobEscrowRandomnessSourceUnusable")) throw err;
    fail(
      `${err.message}: a randomness source must be a contract whose seedOf(uint64 ticket) returns ` +
        "(bool ready, uint256 seed) within 100,000 gas (IRandomnessSource; BlockhashRandomness is the default)",
    );
  }
}

task("randomness:show", "Shows the escrow's committee randomness source and any announced one")
  .addFlag("json", JSON_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: { json?: boolean; deployment?: string }, hre): Promise<RandomnessView> => {
    return output(args.json, await randomnessOf(await connect(hre, args)), printRandomness);
  });

task(
  "randomness:announce",
  "Announces a new committee randomness source (escrow owner); usable after the unbonding period plus a day",
)
  .addParam("source", "address of the IRandomnessSource contract (answers requestSeed and seedOf)")
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: CommonArgs & { source: string }, hre): Promise<RandomnessView> => {
    const source = parseAddress(args.source, "--source");
    const p = await connect(hre, args);
    requireSigner(p);
    const receipt = await sendChecked(p, "announceRandomnessSource", () => p.escrow.announceRandomnessSource(source));
    const view = await randomnessOf(p);
    say(
      `Announced ${source} (tx ${receipt.hash}); activate it with randomness:activate from ${formatTime(view.readyAt)}`,
    );
    return view;
  });

task("randomness:activate", "Makes the announced randomness source the escrow's (escrow owner, after the notice)")
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: CommonArgs, hre): Promise<RandomnessView> => {
    const p = await connect(hre, args);
    requireSigner(p);
    const receipt = await sendChecked(p, "activateRandomnessSource", () => p.escrow.activateRandomnessSource());
    const view = await randomnessOf(p);
    say(`Committees are now drawn from ${view.current} (tx ${receipt.hash})`);
    return view;
  });

export interface VrfSourceView {
  /** The VrfRandomness deployed, owned by the sender, with the escrow authorised to request seeds. */
  source: string;
  coordinator: string;
  escrow: string;
}

/** A whole number within [min, max] from a task flag, or a clear failure naming the flag. */
function parseInteger(value: string, flag: string, min: bigint, max: bigint): bigint {
  if (!/^\d+$/.test(value.trim())) fail(`${flag}: "${value}" is not a whole number`);
  const n = BigInt(value.trim());
  if (n < min || n > max) fail(`${flag}: ${n} is outside ${min}..${max}`);
  return n;
}

task(
  "randomness:deploy-vrf",
  "Deploys a VrfRandomness (Chainlink VRF v2.5) owned by the sender, with the escrow allowed to request seeds",
)
  .addParam("coordinator", "address of the network's VRF v2.5 coordinator")
  .addParam("keyHash", "the VRF key hash (gas lane), 32 bytes in hex")
  .addParam("subId", "the VRF subscription id (a decimal number)")
  .addOptionalParam("confirmations", "blocks the VRF waits before answering (1..200)", "3")
  .addOptionalParam("callbackGas", "gas for the fulfilment callback (60000..2500000)", "100000")
  .addFlag("native", "pay the VRF in the native coin instead of LINK")
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(
    async (
      args: CommonArgs & {
        coordinator: string;
        keyHash: string;
        subId: string;
        confirmations: string;
        callbackGas: string;
        native: boolean;
      },
      hre,
    ): Promise<VrfSourceView> => {
      const coordinator = parseAddress(args.coordinator, "--coordinator");
      if (!/^0x[0-9a-fA-F]{64}$/.test(args.keyHash)) fail(`--key-hash: "${args.keyHash}" is not 32 bytes in hex`);
      const subId = parseInteger(args.subId, "--sub-id", 0n, 2n ** 256n - 1n);
      const confirmations = parseInteger(args.confirmations, "--confirmations", 1n, 200n);
      const callbackGas = parseInteger(args.callbackGas, "--callback-gas", 60_000n, 2_500_000n);
      const p = await connect(hre, args);
      const { signer, address } = requireSigner(p);
      if ((await hre.ethers.provider.getCode(coordinator)) === "0x") {
        fail(
          `--coordinator: ${coordinator} has no code on ${hre.network.name}: give the network's VRF v2.5 coordinator`,
        );
      }
      const factory = await hre.ethers.getContractFactory("VrfRandomness", signer);
      const source = await factory.deploy(
        coordinator,
        args.keyHash,
        subId,
        confirmations,
        callbackGas,
        args.native,
        address,
      );
      await source.waitForDeployment();
      const escrow = await p.escrow.getAddress();
      await send(p, "setRequester", () => source.setRequester(escrow, true));
      const view = { source: await source.getAddress(), coordinator, escrow };
      say(
        `Deployed VrfRandomness ${view.source} on coordinator ${coordinator}; the escrow ${escrow} may request seeds.`,
      );
      say(`Next: add ${view.source} as a consumer of VRF subscription ${subId}, then (escrow owner)`);
      say(`  npx hardhat --network ${hre.network.name} randomness:announce --source ${view.source}`);
      say("and randomness:activate once its notice has run.");
      return view;
    },
  );

task(
  "escrow:announce",
  "Announces an escrow contract to the staking contract (staking admin): ESCROW_ROLE can be granted after the notice",
)
  .addParam("escrow", "address of the escrow contract")
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: CommonArgs & { escrow: string }, hre): Promise<{ readyAt: number; expiresAt: number }> => {
    const escrow = parseAddress(args.escrow, "--escrow");
    const p = await connect(hre, args);
    requireSigner(p);
    const receipt = await send(p, "announceEscrow", () => p.staking.announceEscrow(escrow));
    const readyAt = Number(await p.staking.escrowReadyAt(escrow));
    const expiresAt = Number(await p.staking.escrowNoticeExpiresAt(escrow));
    say(
      `Announced escrow ${escrow} (tx ${receipt.hash}); ESCROW_ROLE can be granted from ${formatTime(readyAt)} ` +
        `until ${formatTime(expiresAt)}`,
    );
    return { readyAt, expiresAt };
  });
