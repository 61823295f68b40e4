import { describe, expect, it } from "vitest";
import { type AgentView, EMPTY_WORKLOAD } from "@worksteal/protocol";
import type { ScrapeFigures } from "@worksteal/store";
import { AGENT_SERIES_MAX, FleetMetrics } from "./metrics-scrape.js";

const agent = (id: string, queued: number, running: number): AgentView => ({
  id,
  capabilities: [],
  concurrency: 1,
  priority: 0,
  status: "alive",
  lastHeartbeat: 0,
  workload: { ...EMPTY_WORKLOAD, queued, running },
});

const figures = (agents: AgentView[]): ScrapeFigures => ({
  counts: { unassigned: 0, events: 0, deadLetters: 0, steals: 0, fence: 1 },
  counters: {},
  fold: { pending: 0, undelivered: 0 },
  agents,
});

const seriesOf = (text: string, name: string) => text.split("\n").filter((line) => line.startsWith(`${name}{`));

describe("FleetMetrics", () => {
  it("gives series of their own to the agents holding the most tasks only, and sums every agent in the totals", async () => {
    // Agent i holds i tasks (every fifth one running): the busiest are the highest numbers.
    const agents = Array.from({ length: 3 * AGENT_SERIES_MAX }, (_, i) => agent(`a${String(i).padStart(4, "0")}`, i - Math.floor(i / 5), Math.floor(i / 5)));
    const metrics = new FleetMetrics();
    metrics.set({ id: "r1", leaderFence: 1 }, figures(agents));
    const text = await metrics.registry.metrics();

    const queued = seriesOf(text, "worksteal_agent_queued");
    expect(queued).toHaveLength(AGENT_SERIES_MAX);
    expect(seriesOf(text, "worksteal_agent_running")).toHaveLength(AGENT_SERIES_MAX);
    const busiest = agents.slice(-AGENT_SERIES_MAX);
    expect(queued.map((line) => /agent="([^"]+)"/.exec(line)?.[1]).sort()).toEqual(busiest.map((a) => a.id));
    expect(text).toContain(`worksteal_agent_running{agent="a0299"} 59`);
    expect(text).toContain(`worksteal_tasks{state="queued"} ${agents.reduce((n, a) => n + a.workload.queued, 0)}`);
    expect(text).toContain(`worksteal_agents{status="alive"} ${agents.length}`);

    // An agent that empties leaves the series at the next scrape.
    metrics.set({ id: "r1", leaderFence: 1 }, figures([agent("a0299", 0, 0), agent("b", 1, 0)]));
    const after = await metrics.registry.metrics();
    expect(seriesOf(after, "worksteal_agent_queued")).toEqual(['worksteal_agent_queued{agent="b"} 1', 'worksteal_agent_queued{agent="a0299"} 0']);
  });
});
