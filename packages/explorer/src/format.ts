/** How the explorer writes amounts, hashes, addresses, times and tensor values. */
import { formatUnits } from "ethers";

/** An amount of the protocol's token (18 decimals). */
export const tml = (amount: bigint): string => `${formatUnits(amount, 18)} TML`;

/** 0x1234…abcd: the first and last digits of a long hex string. */
export function shortHex(hex: string, digits = 4): string {
  return hex.length <= 2 + 2 * digits + 1 ? hex : `${hex.slice(0, 2 + digits)}…${hex.slice(-digits)}`;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** A unix time as a local date and time: 2026-12-01 19:10:53. */
export function dateTime(unix: number): string {
  const d = new Date(unix * 1000);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** How long ago `unix` was, as of `now` (unix seconds): "12 s ago", "5 min ago", "in 8 s" for a time to come. */
export function ago(unix: number, now: number): string {
  const s = Math.round(now - unix);
  const span = (x: number) =>
    x < 120
      ? `${x} s`
      : x < 7200
        ? `${Math.round(x / 60)} min`
        : x < 172800
          ? `${Math.round(x / 3600)} h`
          : `${Math.round(x / 86400)} d`;
  return s >= 0 ? `${span(s)} ago` : `in ${span(-s)}`;
}

/** A duration in seconds: "12 s", "3 min 20 s", "2 h 5 min", "7 d". */
export function duration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)} min${seconds % 60 ? ` ${seconds % 60} s` : ""}`;
  if (seconds < 172800)
    return `${Math.floor(seconds / 3600)} h${seconds % 3600 >= 60 ? ` ${Math.floor((seconds % 3600) / 60)} min` : ""}`;
  return `${Math.round(seconds / 86400)} d`;
}

/** Parts per billion as a percentage: 10000 ppb → "0.001 %". */
export const ppb = (value: number): string => `${value / 1e7} %`;

/** Basis points as a percentage: 500 → "5 %". */
export const bps = (value: number | bigint): string => `${Number(value) / 100} %`;

/** The shortest decimal that reads back as the same float32 (0.887 rather than 0.8870000243186951). */
function float32Text(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  for (let p = 1; p <= 9; p++) {
    const t = Number(v.toPrecision(p));
    if (Math.fround(t) === v) return String(t);
  }
  return String(v);
}

/** One tensor element as text, by element type. */
export function elementText(value: number | string | boolean, type: string): string {
  if (typeof value === "number" && type === "float32") return float32Text(value);
  return String(value);
}

/** Elements shown in full; a longer tensor shows its first TRUNCATE_AT and says how many more it holds. */
export const SHOW_ALL_UP_TO = 64;
export const TRUNCATE_AT = 32;
