import type { SimAgent } from "./model.js";
import type { StreamSpec } from "./workload.js";

export interface Scenario {
  name: string;
  description: string;
  agents: SimAgent[];
  streams: StreamSpec[];
}

const fleet = (n: number, init: Omit<SimAgent, "id"> | ((i: number) => Omit<SimAgent, "id">), prefix = "a"): SimAgent[] =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, ...(typeof init === "function" ? init(i) : init) }));

/** The balance report's matrix: skewed and even, bursts and Poisson streams, light and heavy tails, capabilities, mixed speeds. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: "skewed-burst",
    description: "8 agents × 2 slots; 400 tasks (exponential, mean 200 ms) all submitted to one agent",
    agents: fleet(8, { slots: 2 }),
    streams: [{ type: "job", arrivals: { kind: "burst", count: 400 }, duration: { kind: "exponential", meanMs: 200 }, target: "a0" }],
  },
  {
    name: "heavy-tail-placed",
    description: "8 agents × 2 slots; 400 tasks (log-normal, median 100 ms, σ 1.5) placed by the coordinator",
    agents: fleet(8, { slots: 2 }),
    streams: [{ type: "job", arrivals: { kind: "burst", count: 400 }, duration: { kind: "lognormal", medianMs: 100, sigma: 1.5 } }],
  },
  {
    name: "poisson-skewed",
    description: "6 agents × 1 slot; 600 tasks at 40/s (exponential, mean 100 ms), two thirds submitted to one agent",
    agents: fleet(6, { slots: 1 }),
    streams: [
      { type: "hot", arrivals: { kind: "poisson", count: 400, perSecond: 27 }, duration: { kind: "exponential", meanMs: 100 }, target: "a0" },
      { type: "cold", arrivals: { kind: "poisson", count: 200, perSecond: 13 }, duration: { kind: "exponential", meanMs: 100 } },
    ],
  },
  {
    name: "bimodal-half",
    description: "8 agents × 1 slot; 300 tasks (50 ms, or 2 s one time in ten) submitted to 4 of them",
    agents: fleet(8, { slots: 1 }),
    streams: [0, 1, 2, 3].map((i): StreamSpec => ({
      type: `job${i}`,
      arrivals: { kind: "burst", count: 75 },
      duration: { kind: "bimodal", shortMs: 50, longMs: 2000, longShare: 0.1 },
      target: `a${i}`,
    })),
  },
  {
    name: "capabilities",
    description: "4 agents × 2 slots and 2 gpu agents × 1 slot; 300 plain tasks (mean 150 ms) on one plain agent, 60 gpu tasks (mean 500 ms) on one gpu agent",
    agents: [...fleet(4, { slots: 2 }), ...fleet(2, { slots: 1, capabilities: ["gpu"] }, "g")],
    streams: [
      { type: "plain", arrivals: { kind: "burst", count: 300 }, duration: { kind: "exponential", meanMs: 150 }, target: "a0" },
      {
        type: "render",
        arrivals: { kind: "burst", count: 60 },
        duration: { kind: "exponential", meanMs: 500 },
        capabilities: [{ required: ["gpu"], weight: 1 }],
        target: "g0",
      },
    ],
  },
  {
    name: "mixed-speeds",
    description: "6 agents × 1 slot at speeds 1,1,1,2,2,4; 300 tasks of 100 ms placed by the coordinator",
    agents: fleet(6, (i) => ({ slots: 1, speed: [1, 1, 1, 2, 2, 4][i] })),
    streams: [{ type: "job", arrivals: { kind: "burst", count: 300 }, duration: { kind: "constant", ms: 100 } }],
  },
  {
    name: "even-burst",
    description: "8 agents × 2 slots; 400 tasks of 100 ms placed by the coordinator (nothing to steal)",
    agents: fleet(8, { slots: 2 }),
    streams: [{ type: "job", arrivals: { kind: "burst", count: 400 }, duration: { kind: "constant", ms: 100 } }],
  },
];
