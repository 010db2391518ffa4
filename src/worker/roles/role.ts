/**
 * What a service does each tick, as roles: each one looks at the open jobs and this tick's view of the chain and
 * sends the transactions its duty calls for. `rolesFor` gives the roles of a configured role name, in the order a
 * tick runs them: work, draw, verify, settle.
 */
import type { RoleName } from "../config/config";
import type { RoleContext, TickView } from "../loop/context";
import { DrawRole } from "./draw";
import { SettleRole } from "./settle";
import { VerifierRole } from "./verifier";
import { WorkerRole } from "./worker";

export interface Role {
  /** Names the role in logs and metrics. */
  readonly name: string;
  /** Does this tick's share of the role's duties; a job it cannot do now is left for a later tick. */
  tick(view: TickView): Promise<void>;
  /** Waits for the transactions the role sent without waiting (stop calls it after the last tick). */
  drain?(): Promise<void>;
}

/** The roles of a `worker`, a `verifier`, or `both`. */
export function rolesFor(name: RoleName, ctx: RoleContext): Role[] {
  const works = name !== "verifier";
  const verifier = name === "worker" ? undefined : new VerifierRole(ctx);
  const draw = new DrawRole(ctx, {
    own: works,
    verifier: verifier !== undefined,
    challenged: (jobId) => verifier?.hasChallenged(jobId) ?? false,
  });
  return [...(works ? [new WorkerRole(ctx)] : []), draw, ...(verifier ? [verifier] : []), new SettleRole(ctx)];
}
