#!/usr/bin/env node
// A demo agent for docker/compose.yaml: each task sleeps its payload's `ms` (default 200) times
// DEMO_SPEED, so that slower agents pile up work for faster ones to steal. Redis, namespace and
// the other settings come from the WORKSTEAL_* variables, as for the coordinator.
//   DEMO_AGENT_ID (default: the host name)  DEMO_CONCURRENCY (2)  DEMO_CAPABILITIES (a,b)  DEMO_SPEED (1)
import { hostname } from "node:os";
import process from "node:process";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent } from "@worksteal/agent";

const speed = Number(process.env.DEMO_SPEED ?? "1");
if (!(speed > 0)) {
  process.stderr.write(`worksteal-demo-agent: DEMO_SPEED must be a positive number, not '${process.env.DEMO_SPEED}'\n`);
  process.exit(2);
}
// The Agent validates the profile (id, concurrency, capabilities) and says what is wrong.
const agent = new Agent({
  id: process.env.DEMO_AGENT_ID || hostname(),
  concurrency: Number(process.env.DEMO_CONCURRENCY ?? "2"),
  capabilities: (process.env.DEMO_CAPABILITIES ?? "").split(",").filter(Boolean),
  handler: async (task) => {
    const ms = typeof task.payload?.ms === "number" && task.payload.ms >= 0 ? task.payload.ms : 200;
    await sleep(ms * speed);
    return { by: task.agentId };
  },
});

let closing;
const close = () => {
  closing ??= agent.close().then(() => process.exit(0));
};
process.once("SIGTERM", close);
process.once("SIGINT", close);
await agent.start();
