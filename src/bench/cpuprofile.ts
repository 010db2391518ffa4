/**
 * A V8 CPU profile (`node --cpu-prof`, a .cpuprofile file) summarised: where the process spent its time, by self
 * time per function and per component (a package under node_modules, a project file, Node's internals, GC, idle),
 * and by inclusive time for the functions that matter (their own time plus everything they called synchronously).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../network/processes";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
  /** Date.now() when the profile started (written by ./profile-preload.js; absent from --cpu-prof files). */
  wallStartMs?: number;
}

/** A part of the run, in Date.now() milliseconds. */
export interface Window {
  fromMs: number;
  toMs: number;
}

export interface Cost {
  name: string;
  ms: number;
  /** Share of the profile's wall time, in percent. */
  pct: number;
}

export interface ProfileSummary {
  file: string;
  /** The part of the run summarised; the whole profile when absent. */
  window?: Window;
  wallMs: number;
  /** Time not idle: JavaScript, native code, GC. */
  busyMs: number;
  busyPct: number;
  /** Self time by component, largest first. */
  components: Cost[];
  /** Self time by function, largest first. */
  selfTop: Cost[];
  /** Inclusive time by function (each sample counted once per function on its stack), largest first. */
  inclusiveTop: Cost[];
}

const SPECIAL = new Set(["(idle)", "(program)", "(garbage collector)", "(root)"]);

/** The component a frame belongs to: "(idle)", "ethers", "worker/service.ts", "node:internal/…", "(native)". */
export function componentOf(frame: CallFrame): string {
  if (SPECIAL.has(frame.functionName) && !frame.url) return frame.functionName;
  const url = frame.url.replace(/^file:\/\//, "");
  if (!url) return "(native)";
  if (url.startsWith("node:")) {
    const parts = url.split("/");
    return parts.length > 2 ? `${parts[0]}/${parts[1]}` : url;
  }
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const rel = path.relative(ROOT, url);
  if (rel.startsWith("src/")) return rel.slice(4);
  if (rel.startsWith("packages/sdk/src/")) return `sdk/${rel.slice("packages/sdk/src/".length)}`;
  return rel.startsWith("..") ? url : rel;
}

function frameName(frame: CallFrame): string {
  if (SPECIAL.has(frame.functionName) && !frame.url) return frame.functionName;
  const fn = frame.functionName || "(anonymous)";
  return `${fn} ${componentOf(frame)}:${frame.lineNumber + 1}`;
}

function top(map: Map<string, number>, wallMs: number, count: number): Cost[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, ms: Math.round(us / 1000), pct: Number(((us / 1000 / wallMs) * 100).toFixed(1)) }));
}

/** Summarises the whole profile, or the samples within `window` when the profile says when it started. */
export function summarizeProfile(file: string, window?: Window, count = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const self = new Map<string, number>();
  const components = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  const cut = window && profile.wallStartMs !== undefined ? window : undefined;
  let atUs = profile.startTime;
  // timeDeltas[i] is the time before sample i; the time after it (until the next one) is what sample i stands for.
  for (let i = 0; i < profile.samples.length; i++) {
    atUs += profile.timeDeltas[i];
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (us <= 0) continue;
    if (cut) {
      const atMs = profile.wallStartMs! + (atUs - profile.startTime) / 1000;
      if (atMs < cut.fromMs || atMs > cut.toMs) continue;
    }
    totalUs += us;
    const leaf = byId.get(profile.samples[i])!;
    const name = frameName(leaf.callFrame);
    if (name === "(idle)") idleUs += us;
    self.set(name, (self.get(name) ?? 0) + us);
    const component = componentOf(leaf.callFrame);
    components.set(component, (components.get(component) ?? 0) + us);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const key = frameName(byId.get(id)!.callFrame);
      if (seen.has(key) || SPECIAL.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const wallMs = cut ? totalUs / 1000 : Math.max(totalUs, profile.endTime - profile.startTime) / 1000;
  const busyMs = (totalUs - idleUs) / 1000;
  return {
    file,
    window: cut,
    wallMs: Math.round(wallMs),
    busyMs: Math.round(busyMs),
    busyPct: Number(((busyMs / wallMs) * 100).toFixed(1)),
    components: top(components, wallMs, count),
    selfTop: top(self, wallMs, count),
    inclusiveTop: top(inclusive, wallMs, count * 2),
  };
}

/** Summarises a profile given on the command line: `ts-node src/bench/cpuprofile.ts <file.cpuprofile>`. */
if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: ts-node src/bench/cpuprofile.ts <file.cpuprofile>");
    process.exit(2);
  }
  const s = summarizeProfile(file);
  console.log(`${file}: wall ${s.wallMs} ms, busy ${s.busyMs} ms (${s.busyPct} %)`);
  for (const [title, list] of [
    ["self time by component", s.components],
    ["self time by function", s.selfTop],
    ["inclusive time by function", s.inclusiveTop],
  ] as const) {
    console.log(`\n${title}:`);
    for (const c of list) console.log(`  ${String(c.ms).padStart(7)} ms ${c.pct.toFixed(1).padStart(5)} %  ${c.name}`);
  }
}
