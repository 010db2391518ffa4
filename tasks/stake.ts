/**
 * Workers and verifiers: `stake:add`, `stake:unstake`, `stake:withdraw`, `stake:verifier`, `stake:complete-exit`,
 * `stake:show`; balances in the escrow: `escrow:deposit` (prepaying requests), `escrow:withdraw` (payouts, refunds,
 * unspent deposits); test tokens: `token:faucet`.
 */
import { task } from "hardhat/config";
import { toJob, type Job } from "../packages/sdk/src/job";
import { JobStatus } from "../packages/sdk/src/params";
import { requestedEvent } from "./job";
import {
  DEPLOYMENT_HELP,
  FROM_HELP,
  JSON_HELP,
  connect,
  ensureAllowance,
  fail,
  formatAmount,
  formatJobId,
  formatTime,
  output,
  parseAddress,
  parseAmount,
  queryEvents,
  requireSigner,
  say,
  send,
  type Protocol,
} from "./common";
import type { StakeView as AccountStake } from "../packages/sdk/src/history";

/** What stake:show prints: the account's stake as the explorer shows it (the SDK's StakeView), and more. */
export interface StakeView extends AccountStake {
  account: string;
  verifierWeight: bigint;
  minVerifierStake: bigint;
  unbondingPeriod: number;
  /** Token balance in the wallet. */
  balance: bigint;
  /** The balance in the escrow (payouts, refunds, unspent deposits): requests spend it, escrow:withdraw pays it. */
  escrowBalance: bigint;
}

const DAY = 86_400n;

interface CommonArgs {
  from?: string;
  deployment?: string;
}

export async function stakeOf(p: Protocol, account: string): Promise<StakeView> {
  const a = await p.staking.accountOf(account);
  return {
    account,
    active: a.active,
    locked: a.locked,
    free: a.active - a.locked,
    unbonding: a.unbonding,
    unbondingEnd: Number(a.unbondingEnd),
    verifier: a.verifier,
    leaving: a.leaving,
    exitAt: Number(a.exitAt),
    verifierWeight: await p.staking.verifierWeightOf(account),
    minVerifierStake: await p.staking.minVerifierStake(),
    unbondingPeriod: Number(await p.staking.unbondingPeriod()),
    balance: await p.token.balanceOf(account),
    escrowBalance: await p.escrow.balanceOf(account),
  };
}

function printStake(p: Protocol, s: StakeView): void {
  say(`Account ${s.account}`);
  say(`  active ${formatAmount(p, s.active)} (locked ${formatAmount(p, s.locked)}, free ${formatAmount(p, s.free)})`);
  if (s.unbonding > 0n) {
    say(`  unbonding ${formatAmount(p, s.unbonding)}, withdrawable from ${formatTime(s.unbondingEnd)}`);
  }
  say(
    `  verifier ${s.verifier ? "yes" : "no"} (weight ${formatAmount(p, s.verifierWeight)}; ` +
      `opt-in needs ${formatAmount(p, s.minVerifierStake)})`,
  );
  if (s.leaving) say(`  leaving: still drawn for committees until ${formatTime(s.exitAt)}; then stake:complete-exit`);
  say(`  wallet ${formatAmount(p, s.balance)}, balance in the escrow ${formatAmount(p, s.escrowBalance)}`);
}

task("stake:add", "Stakes tokens (approving the staking contract first when needed)")
  .addParam("amount", "tokens to stake (e.g. 100)")
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: CommonArgs & { amount: string }, hre): Promise<StakeView> => {
    const p = await connect(hre, args);
    const { address } = requireSigner(p);
    const amount = parseAmount(p, args.amount, "--amount");
    await ensureAllowance(p, await p.staking.getAddress(), amount);
    const receipt = await send(p, "stake", () => p.staking.stake(amount));
    say(`Staked ${formatAmount(p, amount)} (tx ${receipt.hash})`);
    const view = await stakeOf(p, address);
    printStake(p, view);
    return view;
  });

task("stake:unstake", "Starts unbonding free stake; withdraw it after the unbonding period")
  .addParam("amount", "tokens to unbond (e.g. 50)")
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: CommonArgs & { amount: string }, hre): Promise<StakeView> => {
    const p = await connect(hre, args);
    const { address } = requireSigner(p);
    const amount = parseAmount(p, args.amount, "--amount");
    const receipt = await send(p, "requestUnstake", () => p.staking.requestUnstake(amount));
    const view = await stakeOf(p, address);
    say(
      `Unbonding ${formatAmount(p, amount)}; withdrawable from ${formatTime(view.unbondingEnd)} ` +
        `(tx ${receipt.hash})`,
    );
    return view;
  });

/** A committee of this escrow that is seated and not settled, with what settling it takes. */
interface OpenCommittee {
  job: Job;
  /** The posted output (settling a job whose consumer wants a callback needs it). */
  output: string;
  revealEnd: number;
}

/** Committee draws of this escrow (CommitteeDrawn events): the job and when its vote ends. */
type Draw = { jobId: bigint; revealEnd: bigint };

/** Of `draws`, the committees whose votes end on `day` (unix time / 86,400) and that have not settled. */
async function openCommitteesOn(p: Protocol, draws: readonly Draw[], day: bigint): Promise<OpenCommittee[]> {
  const open: OpenCommittee[] = [];
  for (const { jobId, revealEnd } of draws) {
    if (revealEnd / DAY !== day || (await p.escrow.jobState(jobId)).status !== BigInt(JobStatus.Voting)) continue;
    const requested = await requestedEvent(p, jobId);
    const from = p.deployment.startBlock;
    const [submitted] = await queryEvents(p.escrow, p.escrow.filters.ResultSubmitted(jobId), from, p.hre);
    if (submitted === undefined) {
      fail(`job ${formatJobId(jobId)} is under vote but its result was not found from block ${from}`);
    }
    open.push({ job: toJob(requested.args.job), output: submitted.args.output, revealEnd: Number(revealEnd) });
  }
  return open;
}

/**
 * Settles the committees that keep `address` from withdrawing (VerifierStaking.unsettledCommitteesFor), day by day;
 * fails, naming them, when `settle` is off or one of them cannot be settled yet.
 */
async function settleCommitteesFor(p: Protocol, address: string, settle: boolean): Promise<void> {
  let draws: Draw[] | undefined; // read once, at the first day that waits: settling draws no committee
  for (;;) {
    const [day, open] = await p.staking.unsettledCommitteesFor(address);
    if (open === 0n) return;
    draws ??= (await queryEvents(p.escrow, p.escrow.filters.CommitteeDrawn(), p.deployment.startBlock, p.hre)).map(
      (e) => ({ jobId: e.args.jobId, revealEnd: e.args.revealEnd }),
    );
    const committees = await openCommitteesOn(p, draws, day);
    const date = new Date(Number(day * DAY) * 1000).toISOString().slice(0, 10);
    const head =
      `${open} committee(s) whose votes end on ${date} have not settled, and this stake could sit on them ` +
      `(their penalties are owed from it), so the withdrawal waits for them`;
    if (committees.length === 0) {
      fail(`${head}; none of them is this escrow's: settle them at the escrow that seated them, then withdraw`);
    }
    const listed = committees.map((c) => `${formatJobId(BigInt(c.job.id))} (reveal ends ${formatTime(c.revealEnd)})`);
    if (!settle) {
      fail(
        `${head}: ${listed.join(", ")}. Settle them (anyone may): stake:withdraw --settle, or a worker with --settle-all`,
      );
    }
    const now = (await p.hre.ethers.provider.getBlock("latest"))!.timestamp;
    const due = committees.filter((c) => c.revealEnd < now);
    if (due.length < committees.length) {
      const waiting = committees.find((c) => c.revealEnd >= now)!;
      fail(`${head}: ${formatJobId(BigInt(waiting.job.id))} can be settled after ${formatTime(waiting.revealEnd)}`);
    }
    const receipt = await send(p, "settleBatch", () =>
      p.escrow.settleBatch(
        due.map((c) => c.job),
        due.map((c) => c.output),
      ),
    );
    say(`Settled ${due.length} committee(s) whose votes ended on ${date} (tx ${receipt.hash})`);
  }
}

task("stake:withdraw", "Withdraws stake whose unbonding period has ended, once the committees it could sit on settled")
  .addFlag("settle", "first settle the committees the withdrawal waits for (anyone may, once their reveal ended)")
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(
    async (args: CommonArgs & { settle?: boolean }, hre): Promise<{ amount: bigint; transactionHash: string }> => {
      const p = await connect(hre, args);
      const { address } = requireSigner(p);
      const { unbonding, unbondingEnd } = await p.staking.accountOf(address);
      const now = (await hre.ethers.provider.getBlock("latest"))!.timestamp;
      // Only once the stake is otherwise withdrawable: before that the contract's own reason says more.
      if (unbonding > 0n && now >= Number(unbondingEnd)) await settleCommitteesFor(p, address, args.settle === true);
      const before = await p.token.balanceOf(address);
      const receipt = await send(p, "withdraw", () => p.staking.withdraw());
      const amount = (await p.token.balanceOf(address)) - before;
      say(`Withdrew ${formatAmount(p, amount)} of stake (tx ${receipt.hash})`);
      return { amount, transactionHash: receipt.hash };
    },
  );

task("stake:verifier", "Opts in to (--on) or out of (--off) verifier committees; opting out takes notice")
  .addFlag("on", "opt in: be drawn for committees (needs the minimum verifier stake); cancels an exit in notice")
  .addFlag("off", "opt out: you stay drawn for the exit notice, then run stake:complete-exit")
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: CommonArgs & { on: boolean; off: boolean }, hre): Promise<StakeView> => {
    if (args.on === args.off) fail("give exactly one of --on and --off");
    const p = await connect(hre, args);
    const { address } = requireSigner(p);
    const leaving = (await p.staking.accountOf(address)).leaving;
    const receipt = await send(p, "setVerifier", () => p.staking.setVerifier(args.on));
    const view = await stakeOf(p, address);
    if (args.on) say(`${leaving ? "Cancelled your exit; still a" : "Opted in as"} verifier (tx ${receipt.hash})`);
    else if (view.leaving) {
      say(
        `Opting out: you stay drawn for committees (and owe their votes) until ${formatTime(view.exitAt)}; ` +
          `then run stake:complete-exit (tx ${receipt.hash})`,
      );
    } else say(`Opted out as verifier (tx ${receipt.hash})`);
    return view;
  });

task("stake:complete-exit", "Takes a verifier whose exit notice has run out of committee draws (anyone may send it)")
  .addOptionalParam("account", "the leaving verifier (default: your own account)")
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: CommonArgs & { account?: string }, hre): Promise<StakeView> => {
    const given = args.account !== undefined ? parseAddress(args.account, "--account") : undefined;
    const p = await connect(hre, args);
    const account = given ?? requireSigner(p).address;
    const receipt = await send(p, "completeExit", () => p.staking.completeExit(account));
    say(`Exit of ${account} completed: no longer drawn for committees (tx ${receipt.hash})`);
    return stakeOf(p, account);
  });

task("stake:show", "Shows an account's stake, verifier status and balances")
  .addOptionalParam("account", "the account (default: the first account of the network)")
  .addFlag("json", JSON_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: { account?: string; json?: boolean; deployment?: string }, hre): Promise<StakeView> => {
    const p = await connect(hre, args);
    const account =
      args.account !== undefined
        ? parseAddress(args.account, "--account")
        : (p.address ?? fail("give --account: the network has no account of its own"));
    return output(args.json, await stakeOf(p, account), (view) => printStake(p, view));
  });

task(
  "escrow:deposit",
  "Pays tokens into your balance in the escrow (approving first when needed): requests take their fee from it",
)
  .addParam("amount", "tokens to deposit (e.g. 10)")
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(
    async (
      args: CommonArgs & { amount: string },
      hre,
    ): Promise<{ amount: bigint; balance: bigint; transactionHash: string }> => {
      const p = await connect(hre, args);
      const { address } = requireSigner(p);
      const amount = parseAmount(p, args.amount, "--amount");
      if (amount === 0n) fail("--amount 0: a deposit must be more than 0");
      await ensureAllowance(p, await p.escrow.getAddress(), amount);
      const receipt = await send(p, "deposit", () => p.escrow.deposit(amount));
      const balance = await p.escrow.balanceOf(address);
      say(
        `Deposited ${formatAmount(p, amount)}; your balance in the escrow is ${formatAmount(p, balance)} (tx ${receipt.hash})`,
      );
      say("  a request whose fee it covers is paid from it, with no approval; escrow:withdraw pays out what is left");
      return { amount, balance, transactionHash: receipt.hash };
    },
  );

task(
  "escrow:withdraw",
  "Withdraws your balance in the escrow: payouts (work, royalties, rewards), refunds and unspent deposits",
)
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: CommonArgs, hre): Promise<{ amount: bigint; transactionHash: string }> => {
    const p = await connect(hre, args);
    const { address } = requireSigner(p);
    const amount = await p.escrow.balanceOf(address);
    const receipt = await send(p, "withdraw", () => p.escrow.withdraw());
    say(`Withdrew ${formatAmount(p, amount)} of payouts (tx ${receipt.hash})`);
    return { amount, transactionHash: receipt.hash };
  });

task("token:faucet", "Mints test tokens to you from the TestToken faucet (TestToken deployments only)")
  .addOptionalParam("from", FROM_HELP)
  .addOptionalParam("deployment", DEPLOYMENT_HELP)
  .setAction(async (args: CommonArgs, hre): Promise<{ minted: bigint; balance: bigint }> => {
    const p = await connect(hre, args);
    const { address } = requireSigner(p);
    if (!p.deployment.testToken)
      fail(`the token of this deployment (${p.deployment.contracts.token.address}) is not a TestToken`);
    const minted = await p.token.FAUCET_AMOUNT();
    const receipt = await send(p, "faucet", () => p.token.faucet());
    const balance = await p.token.balanceOf(address);
    say(`Minted ${formatAmount(p, minted)} to ${address}; balance ${formatAmount(p, balance)} (tx ${receipt.hash})`);
    return { minted, balance };
  });
