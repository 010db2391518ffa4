/** The network page's charts, drawn by Chart.js through react-chartjs-2. */
import {
  BarElement,
  CategoryScale,
  Chart as ChartJS,
  Legend,
  LinearScale,
  PointElement,
  Tooltip,
  type ChartOptions,
} from "chart.js";
import { Bar, Scatter } from "react-chartjs-2";
import { dateTime } from "../format";
import type { NetworkStats } from "../sdk";

ChartJS.register(BarElement, CategoryScale, LinearScale, PointElement, Tooltip, Legend);

const MODES = ["None", "Optimistic", "Committee", "Proven"];
const OUTCOMES = ["Accepted", "Rejected", "Inconclusive", "Expired", "Abandoned"];
const COLORS: Record<string, string> = {
  None: "#8a94a6",
  Optimistic: "#3b82f6",
  Committee: "#8b5cf6",
  Proven: "#10b981",
  Accepted: "#16a34a",
  Rejected: "#dc2626",
  Inconclusive: "#f59e0b",
  Expired: "#6b7280",
  Abandoned: "#92400e",
};
const colorOf = (name: string) => COLORS[name] ?? "#64748b";

/** Names in a fixed order first, then any other the data has (a mode or outcome added later). */
function namesIn(known: string[], seen: Iterable<string>): string[] {
  const extra = [...new Set(seen)].filter((n) => !known.includes(n));
  return [...known, ...extra];
}

// Redrawn every 2 s with the latest data: no animation, so the charts do not flicker.
const stacked: ChartOptions<"bar"> = {
  animation: false,
  maintainAspectRatio: false,
  scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
  plugins: { legend: { position: "bottom" } },
};

function bucketLabel(start: number, bucketSeconds: number): string {
  const text = dateTime(start);
  return bucketSeconds >= 86400 ? text.slice(0, 10) : text.slice(11);
}

function Timeline({ stats, by, names }: { stats: NetworkStats; by: "byMode" | "byOutcome"; names: string[] }) {
  const present = namesIn(
    names,
    stats.timeline.flatMap((b) => Object.keys(b[by])),
  ).filter((n) => stats.timeline.some((b) => (b[by][n] ?? 0) > 0));
  const data = {
    labels: stats.timeline.map((b) => bucketLabel(b.start, stats.bucketSeconds)),
    datasets: present.map((name) => ({
      label: name,
      data: stats.timeline.map((b) => b[by][name] ?? 0),
      backgroundColor: colorOf(name),
    })),
  };
  return <Bar data={data} options={stacked} />;
}

export function JobsByModeChart({ stats }: { stats: NetworkStats }) {
  return <Timeline stats={stats} by="byMode" names={MODES} />;
}

export function JobsByOutcomeChart({ stats }: { stats: NetworkStats }) {
  return <Timeline stats={stats} by="byOutcome" names={OUTCOMES} />;
}

export function GasByModeChart({ stats }: { stats: NetworkStats }) {
  const rows = [...stats.gasByMode].sort((a, b) => MODES.indexOf(a.mode) - MODES.indexOf(b.mode));
  const data = {
    labels: rows.map((r) => `${r.mode} (${r.jobs} jobs)`),
    datasets: [
      {
        label: "average gas per settled job",
        data: rows.map((r) => r.averageGas),
        backgroundColor: rows.map((r) => colorOf(r.mode)),
      },
    ],
  };
  const options: ChartOptions<"bar"> = {
    animation: false,
    maintainAspectRatio: false,
    scales: { y: { beginAtZero: true } },
    plugins: { legend: { display: false } },
  };
  return <Bar data={data} options={options} />;
}

export function LatencyChart({ stats }: { stats: NetworkStats }) {
  const modes = namesIn(
    MODES,
    stats.latency.map((l) => l.mode),
  ).filter((m) => stats.latency.some((l) => l.mode === m));
  const data = {
    datasets: modes.map((mode) => ({
      label: mode,
      data: stats.latency.filter((l) => l.mode === mode).map((l) => ({ x: Number(l.nonce), y: l.seconds })),
      backgroundColor: colorOf(mode),
      pointRadius: 4,
    })),
  };
  const options: ChartOptions<"scatter"> = {
    animation: false,
    maintainAspectRatio: false,
    scales: {
      x: { title: { display: true, text: "request number (#)" }, ticks: { precision: 0 } },
      y: { title: { display: true, text: "seconds from request to settlement" }, beginAtZero: true },
    },
    plugins: {
      legend: { position: "bottom" },
      tooltip: { callbacks: { label: (c) => `#${c.parsed.x}: ${c.parsed.y} s (${c.dataset.label})` } },
    },
  };
  return <Scatter data={data} options={options} />;
}
