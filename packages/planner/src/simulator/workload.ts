import type { SimTask } from "./model.js";
import { exponential, normal, seededRandom } from "./random.js";

export type DurationSpec =
  | { kind: "constant"; ms: number }
  | { kind: "exponential"; meanMs: number }
  /** Heavy tail: exp(N(ln median, sigma²)). */
  | { kind: "lognormal"; medianMs: number; sigma: number }
  | { kind: "bimodal"; shortMs: number; longMs: number; longShare: number };

export type ArrivalSpec = { kind: "burst"; count: number; atMs?: number } | { kind: "poisson"; count: number; perSecond: number };

/** One stream of tasks of one type. `target` sends them all to one agent (a skewed submitter); otherwise they are placed. */
export interface StreamSpec {
  type: string;
  arrivals: ArrivalSpec;
  duration: DurationSpec;
  /** Capability mix: each task draws one requirement set with these weights. */
  capabilities?: ReadonlyArray<{ required: readonly string[]; weight: number }>;
  target?: string;
  /** Submitters pass estimatedDurationMs = the stream's mean when true. */
  withEstimate?: boolean;
}

/** Tasks of every stream, seeded, sorted by arrival (ties by stream order), ids `<type>-<n>`. Durations are whole ms, at least 1. */
export function generateTasks(streams: readonly StreamSpec[], seed: number): SimTask[] {
  const random = seededRandom(seed);
  const all: SimTask[] = [];
  for (const stream of streams) {
    let clock = 0;
    for (let n = 0; n < stream.arrivals.count; n += 1) {
      const arrivals = stream.arrivals;
      const arrivesAt = arrivals.kind === "burst" ? (arrivals.atMs ?? 0) : (clock += Math.round(exponential(random, 1000 / arrivals.perSecond)));
      all.push({
        id: `${stream.type}-${n}`,
        type: stream.type,
        requiredCapabilities: drawCapabilities(stream.capabilities, random),
        durationMs: Math.max(1, Math.round(drawDuration(stream.duration, random))),
        arrivesAt,
        ...(stream.target === undefined ? {} : { target: stream.target }),
        ...(stream.withEstimate ? { estimatedDurationMs: Math.round(meanOf(stream.duration)) } : {}),
      });
    }
  }
  return all
    .map((task, i) => ({ task, i }))
    .sort((a, b) => a.task.arrivesAt - b.task.arrivesAt || a.i - b.i)
    .map(({ task }) => task);
}

function drawDuration(spec: DurationSpec, random: () => number): number {
  switch (spec.kind) {
    case "constant":
      return spec.ms;
    case "exponential":
      return exponential(random, spec.meanMs);
    case "lognormal":
      return spec.medianMs * Math.exp(spec.sigma * normal(random));
    case "bimodal":
      return random() < spec.longShare ? spec.longMs : spec.shortMs;
  }
}

export function meanOf(spec: DurationSpec): number {
  switch (spec.kind) {
    case "constant":
      return spec.ms;
    case "exponential":
      return spec.meanMs;
    case "lognormal":
      return spec.medianMs * Math.exp((spec.sigma * spec.sigma) / 2);
    case "bimodal":
      return spec.longShare * spec.longMs + (1 - spec.longShare) * spec.shortMs;
  }
}

function drawCapabilities(mix: StreamSpec["capabilities"], random: () => number): readonly string[] {
  if (!mix || mix.length === 0) return [];
  const total = mix.reduce((sum, m) => sum + m.weight, 0);
  let pick = random() * total;
  for (const m of mix) {
    pick -= m.weight;
    if (pick < 0) return m.required;
  }
  return mix[mix.length - 1]!.required;
}
