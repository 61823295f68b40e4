import { type AgentView, averageDurationMs } from "@worksteal/protocol";
import { readAgents } from "@worksteal/store";
import { EXIT, type CommandContext } from "../context.js";
import { formatAge } from "../format.js";
import { formatTable } from "../table.js";

export function agentsTable(agents: readonly AgentView[], now: number): string {
  return formatTable(
    ["ID", "STATUS", "SLOTS", "CAPABILITIES", "QUEUED", "RUNNING", "DONE", "FAILED", "AVG MS", "CPU %", "MEM MB", "HEARTBEAT"],
    agents.map((a) => {
      const avg = averageDurationMs(a.workload);
      return [
        a.id,
        a.status,
        a.concurrency,
        a.capabilities.length > 0 ? a.capabilities.join(",") : "-",
        a.workload.queued,
        a.workload.running,
        a.workload.done,
        a.workload.failed,
        avg === undefined ? null : Math.round(avg),
        a.workload.cpu,
        a.workload.memoryMb,
        formatAge(a.lastHeartbeat, now),
      ];
    }),
  );
}

export async function runAgents(ctx: CommandContext): Promise<number> {
  const [agents, now] = await Promise.all([readAgents(ctx.store, ctx.config.agentTtlMs), ctx.store.now()]);
  if (ctx.json) {
    ctx.out(JSON.stringify(agents));
  } else if (agents.length === 0) {
    ctx.out(`no agents registered in namespace ${ctx.store.namespace}`);
  } else {
    ctx.out(agentsTable(agents, now));
  }
  return EXIT.ok;
}
