/**
 * Committee draws. A Committee-mode submission or an optimistic challenge leaves its job in Drawing: the escrow
 * asked the randomness source for a seed that did not exist yet (the ticket, in `JobState.revealEnd`), and anyone
 * draws the committee once that seed exists, even after draw-by (`JobState.windowEnd`, which only bounds the wait
 * for a seed that does not come: settling a job past draw-by draws it when its seed exists, else ends it
 * Inconclusive; settleTick).
 *
 * Who draws: the worker its own jobs and a verifier the jobs it challenged, as soon as the seed exists (the
 * sooner the draw, the less time anyone who reads the seed has to move stake before it); a verifier also draws
 * any job it follows once less than half of its draw window is left, so that one honest party suffices. A tick
 * reads each ticket's seed from the source (`seedOf`) and sends one `drawCommittees` for every job it can draw,
 * or nothing: no transaction goes out for a seed that does not exist yet, and a batch that would draw nothing
 * (another party was first) is not sent.
 */
import type { Interface, Log } from "ethers";
import type { IJobEscrow } from "../../../typechain-types";
import { IRandomnessSource__factory } from "../../factories";
import { JobOutcome, JobStatus } from "../../../packages/sdk/src/params";
import type { JobRecord } from "../clients/chain";
import { same, type RoleContext, type TickView } from "../loop/context";
import { txCall } from "../clients/sender";
import type { Role } from "./role";

export interface DrawDuties {
  /** Draw the jobs this account submitted, as soon as their seed exists (the worker role). */
  own: boolean;
  /** Draw the jobs this account challenged as soon as their seed exists, and any job near draw-by (verifier). */
  verifier: boolean;
  /** Whether this process sent a challenge on the job (its ResultChallenged event may not be read yet). */
  challenged?: (jobId: string) => boolean;
}

/** What one drawCommittees transaction did, from its events. */
export interface DrawResult {
  /** Jobs whose committee was drawn (CommitteeDrawn). */
  drawn: string[];
  /** Jobs settled Inconclusive because too few verifiers were eligible. */
  tooFew: string[];
}

export class DrawRole implements Role {
  readonly name = "draw";
  /** Draw window length by parameter version (a version never changes). */
  private readonly drawWindows = new Map<string, number>();

  constructor(
    private readonly ctx: RoleContext,
    private readonly duties: DrawDuties,
  ) {}

  async tick(view: TickView): Promise<void> {
    const { ctx } = this;
    const wanted: { rec: JobRecord; ticket: bigint; drawBy: bigint }[] = [];
    for (const rec of ctx.cursor.jobs.values()) {
      const state = view.states.get(rec.job.id);
      if (!state || Number(state.status) !== JobStatus.Drawing) continue;
      if (await this.wants(rec, state, view.now)) {
        wanted.push({ rec, ticket: state.revealEnd, drawBy: state.windowEnd });
      }
    }
    if (wanted.length === 0) return;

    const ready = await this.readyTickets(wanted.map((w) => w.ticket));
    const drawable = wanted.filter((w) => ready.has(w.ticket));
    const pending = wanted.filter((w) => !ready.has(w.ticket));
    if (pending.length > 0) {
      ctx.log.debug(
        { jobIds: pending.map((w) => w.rec.job.id), tickets: pending.map((w) => String(w.ticket)) },
        "seed pending",
      );
    }
    if (drawable.length > 0) {
      const drawBy = drawable.reduce((d, w) => (w.drawBy < d ? w.drawBy : d), drawable[0].drawBy);
      await this.draw(
        drawable.map((w) => w.rec),
        drawBy,
      );
    }
  }

  /** Whether this service should draw the job now: its own or challenged job, or any job near its draw-by. */
  private async wants(rec: JobRecord, state: IJobEscrow.JobStateStructOutput, now: number): Promise<boolean> {
    const { ctx, duties } = this;
    const jobId = rec.job.id;
    if (duties.own && same(state.worker, ctx.address)) return true;
    if (!duties.verifier) return false;
    if (same(rec.challenger, ctx.address) || duties.challenged?.(jobId)) return true;
    return Number(state.windowEnd) - now <= (await this.drawWindow(rec)) / 2;
  }

  /** The job's draw window, in seconds: as long as its commit window. */
  private async drawWindow(rec: JobRecord): Promise<number> {
    const key = rec.job.paramsId;
    let window = this.drawWindows.get(key);
    if (window === undefined) {
      window = Number((await this.ctx.contracts.escrow.paramsOf(key)).commitWindow);
      this.drawWindows.set(key, window);
    }
    return window;
  }

  /** The tickets whose seed exists now, asked of the escrow's current source once per ticket. */
  private async readyTickets(tickets: bigint[]): Promise<Set<bigint>> {
    const { ctx } = this;
    const source = IRandomnessSource__factory.connect(await ctx.contracts.escrow.randomnessSource(), ctx.provider);
    const ready = new Set<bigint>();
    // Asked together: one JSON-RPC batch, not a round trip per ticket.
    await Promise.all(
      [...new Set(tickets)].map(async (ticket) => {
        try {
          if ((await source.seedOf(ticket)).ready) ready.add(ticket);
        } catch (e) {
          // A source that does not answer draws nothing: its jobs settle Inconclusive after draw-by.
          ctx.log.warn(
            { ticket: String(ticket), err: (e as Error).message },
            "the randomness source did not answer seedOf",
          );
        }
      }),
    );
    return ready;
  }

  /** Draws the committees of `recs` in one transaction, due by the earliest draw-by among them. */
  private async draw(recs: JobRecord[], drawBy: bigint): Promise<void> {
    const { ctx } = this;
    const { escrow } = ctx.contracts;
    const jobIds = recs.map((r) => r.job.id);
    const outcome = await ctx.sender.send(
      "drawCommittees",
      txCall(
        escrow.drawCommittees,
        recs.map((r) => r.job as IJobEscrow.JobStruct),
      ),
      { jobIds },
      { skipIf: (n) => (n === 0n ? "nothing left to draw: drawn by another party" : undefined), deadline: drawBy },
    );
    if (!outcome.ok) return;
    const result = drawResultOf(escrow.interface, outcome.receipt?.logs ?? []);
    ctx.metrics.draws.inc({ result: "committee" }, result.drawn.length);
    ctx.metrics.draws.inc({ result: "too-few" }, result.tooFew.length);
    if (result.drawn.length > 0) {
      ctx.log.info({ jobIds: result.drawn, txHash: outcome.hash }, `drew ${result.drawn.length} committees`);
    }
    for (const jobId of result.tooFew) {
      ctx.log.warn({ jobId, txHash: outcome.hash }, "too few eligible verifiers at the draw: settled Inconclusive");
    }
  }
}

/** The jobs a draw transaction drew, and those it settled Inconclusive for too few verifiers, from its logs. */
export function drawResultOf(iface: Interface, logs: readonly Log[]): DrawResult {
  const result: DrawResult = { drawn: [], tooFew: [] };
  for (const log of logs) {
    let parsed;
    try {
      parsed = iface.parseLog(log);
    } catch {
      continue; // another contract's event (the staking contract's)
    }
    if (parsed?.name === "CommitteeDrawn") result.drawn.push(String(parsed.args[0]));
    else if (parsed?.name === "JobSettled" && Number(parsed.args.outcome) === JobOutcome.Inconclusive) {
      result.tooFew.push(String(parsed.args[0]));
    }
  }
  return result;
}
