/**
 * Governance: `randomness:show`, `randomness:announce`, `randomness:activate` (the escrow's committee randomness
 * source, an IRandomnessSource: `requestSeed` gives a ticket at submission, `seedOf(ticket)` the seed once it
 * exists; changed only after a notice, and only to a source that answers `seedOf`) and `escrow:announce` (the staking contract's notice before an escrow may
 * be granted ESCROW_ROLE). Each sends from the escrow's owner or the staking admin; anyone else gets the
 * contract's own error.
 */
import { ZeroAddress, type ContractTransactionReceipt, type ContractTransactionResponse } from "ethers";
import { task } from "hardhat/config";
import {
  DEPLOYMENT_HELP,
  FROM_HELP,
  connect,
  fail,
  formatTime,
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
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: { deployment?: string }, hre): Promise<RandomnessView> => {
    const view = await randomnessOf(await connect(hre, args));
    printRandomness(view);
    return view;
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
