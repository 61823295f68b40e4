/**
 * What the fleet bench reads while the coordinator runs: the coordinator process's memory (from
 * /proc), the fold's lag on the event stream (XINFO STREAM and the fold cursor), and the coordinator's own
 * histograms from its /metrics, as quantiles of what was observed between two scrapes.
 */
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { Keys } from "@worksteal/protocol";
import { foldCaughtUp, readFoldProgress } from "@worksteal/store";
import type { OutputLine } from "@worksteal/testkit";

/** Resident memory of a process, MB. */
export function residentMb(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : 0;
}

/** The parts of process.memoryUsage() the bench reports besides rss: V8's heap (reserved, used), and memory held outside it. */
export const MEMORY_PARTS = ["heapTotal", "heapUsed", "external", "arrayBuffers"] as const;
export type MemoryPart = (typeof MEMORY_PARTS)[number];

const MemoryLine = z.object({
  msg: z.literal("bench memory"),
  rss: z.number(),
  heapTotal: z.number(),
  heapUsed: z.number(),
  external: z.number(),
  arrayBuffers: z.number(),
});

/** The newest memory report (memory-probe.mjs) among a process's stdout lines, MB by part; undefined before the first. */
export function latestMemory(lines: readonly OutputLine[]): Record<MemoryPart, number> | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const parsed = MemoryLine.safeParse(lines[i]!.json);
    if (parsed.success) return Object.fromEntries(MEMORY_PARTS.map((part) => [part, parsed.data[part] / 2 ** 20])) as Record<MemoryPart, number>;
  }
  return undefined;
}

/** Milliseconds of a stream entry id (`<ms>-<seq>`). */
const idMs = (id: string): number => Number(id.split("-")[0]);

export interface FoldLag {
  /** Entries appended and not yet folded (entries-added less the fold cursor's count). */
  events: number;
  /** How much older the oldest unfolded entry is than the newest entry, seconds (0 when none is left). */
  seconds: number;
  /** Entries ever appended to the stream. */
  appended: number;
}

/** The fold cursor against the stream (the store's figures, with the lag also in seconds). */
export async function readFoldLag(redis: Redis, keys: Pick<Keys, "events" | "foldCursor">): Promise<FoldLag> {
  const progress = await readFoldProgress({ redis, keys });
  const { cursor, lastEntryId } = progress;
  const seconds = cursor === null || lastEntryId === null || foldCaughtUp(progress) ? 0 : Math.max(0, (idMs(lastEntryId) - idMs(cursor)) / 1000);
  return { events: progress.lag, seconds, appended: progress.appended };
}

/** Per histogram (and label set), cumulative bucket counts by upper bound, with sum and count. */
export interface HistogramSample {
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

const BUCKET = /^([a-zA-Z_:][a-zA-Z0-9_:]*)_bucket\{(.*)\} (\S+)$/;
const TOTAL = /^([a-zA-Z_:][a-zA-Z0-9_:]*)_(sum|count)(?:\{(.*)\})? (\S+)$/;

/** The histograms of a /metrics text, keyed `name` or `name{labels without le}`. */
export function parseHistograms(text: string): Map<string, HistogramSample> {
  const histograms = new Map<string, HistogramSample>();
  const get = (key: string) => {
    let h = histograms.get(key);
    if (!h) histograms.set(key, (h = { buckets: new Map(), sum: 0, count: 0 }));
    return h;
  };
  const keyOf = (name: string, labels: string | undefined) => (labels ? `${name}{${labels}}` : name);
  for (const line of text.split("\n")) {
    const bucket = BUCKET.exec(line);
    if (bucket) {
      const labels = bucket[2]!.split(",").filter((l) => !l.startsWith("le="));
      const le = /le="([^"]+)"/.exec(bucket[2]!)?.[1];
      get(keyOf(bucket[1]!, labels.join(",") || undefined)).buckets.set(le === "+Inf" ? Infinity : Number(le), Number(bucket[3]));
      continue;
    }
    const total = TOTAL.exec(line);
    if (total) get(keyOf(total[1]!, total[3]))[total[2] as "sum" | "count"] = Number(total[4]);
  }
  return histograms;
}

/** What a histogram observed between two scrapes. */
export function histogramDelta(before: HistogramSample | undefined, after: HistogramSample | undefined): HistogramSample {
  const buckets = new Map<number, number>();
  for (const [le, n] of after?.buckets ?? []) buckets.set(le, n - (before?.buckets.get(le) ?? 0));
  return { buckets, sum: (after?.sum ?? 0) - (before?.sum ?? 0), count: (after?.count ?? 0) - (before?.count ?? 0) };
}

/**
 * The `q` quantile of what a histogram observed, interpolated inside its bucket as Prometheus's
 * histogram_quantile does (the top bucket's lower bound when it falls past the last finite one);
 * undefined when nothing was observed.
 */
export function histogramQuantile(h: HistogramSample, q: number): number | undefined {
  if (h.count <= 0) return undefined;
  const bounds = [...h.buckets.keys()].sort((a, b) => a - b);
  const rank = q * h.count;
  let lower = 0;
  let below = 0;
  for (const le of bounds) {
    const cumulative = h.buckets.get(le)!;
    if (cumulative >= rank) {
      if (le === Infinity) return lower;
      const inBucket = cumulative - below;
      return inBucket === 0 ? le : lower + ((le - lower) * (rank - below)) / inBucket;
    }
    lower = le;
    below = cumulative;
  }
  return lower;
}
