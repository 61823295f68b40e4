import { describe, expect, it } from "vitest";
import type { FleetTally, ScrapeFigures } from "@worksteal/store";
import { FleetMetrics } from "./metrics-scrape.js";

const figures = (agents: FleetTally): ScrapeFigures => ({
  counts: { unassigned: 0, events: 0, deadLetters: 0, steals: 0, fence: 1 },
  counters: {},
  fold: { lag: 0, cursor: null, lastEntryId: null, appended: 0 },
  agents,
});

const seriesOf = (text: string, name: string) => text.split("\n").filter((line) => line.startsWith(`${name}{`));

describe("FleetMetrics", () => {
  it("serves the tally's totals, and series of their own for the busiest agents only, dropping those that left them", async () => {
    const metrics = new FleetMetrics();
    const byStatus = { alive: 7000, draining: 2, drained: 1, dead: 3 };
    metrics.set(
      { id: "r1", leaderFence: 1 },
      figures({
        byStatus,
        queued: 100_000,
        running: 50,
        busiest: [
          { id: "a", queued: 40, running: 2 },
          { id: "b", queued: 30, running: 1 },
        ],
      }),
    );
    const text = await metrics.registry.metrics();
    expect(text).toContain('worksteal_agents{status="alive"} 7000');
    expect(text).toContain('worksteal_agents{status="dead"} 3');
    expect(text).toContain('worksteal_tasks{state="queued"} 100000');
    expect(text).toContain('worksteal_tasks{state="running"} 50');
    expect(seriesOf(text, "worksteal_agent_queued")).toEqual(['worksteal_agent_queued{agent="a"} 40', 'worksteal_agent_queued{agent="b"} 30']);
    expect(seriesOf(text, "worksteal_agent_running")).toEqual(['worksteal_agent_running{agent="a"} 2', 'worksteal_agent_running{agent="b"} 1']);

    metrics.set({ id: "r1", leaderFence: 1 }, figures({ byStatus, queued: 5, running: 0, busiest: [{ id: "c", queued: 5, running: 0 }] }));
    expect(seriesOf(await metrics.registry.metrics(), "worksteal_agent_queued")).toEqual(['worksteal_agent_queued{agent="c"} 5']);
  });
});
