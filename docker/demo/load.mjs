#!/usr/bin/env node
// Demo load for docker/compose.yaml: every DEMO_INTERVAL_MS (2000), submits DEMO_BATCH (20)
// tasks of DEMO_TASK_MS (300) ms each, all queued on DEMO_HOT_AGENT (agent-1) while it is alive,
// so that the coordinators have something to steal. With DEMO_TOTAL set, stops after that many.
import { randomUUID } from "node:crypto";
import process from "node:process";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "@worksteal/client";
import { isRefusedAgent } from "@worksteal/store";

/** A non-negative integer from the environment, or exit 2 naming the variable. */
function count(name, fallback) {
  const raw = process.env[name] || String(fallback);
  if (!/^\d+$/.test(raw)) {
    process.stderr.write(`worksteal-demo-load: ${name} must be a whole number, not '${raw}'\n`);
    process.exit(2);
  }
  return Number(raw);
}

const intervalMs = count("DEMO_INTERVAL_MS", 2000);
const batch = count("DEMO_BATCH", 20);
const taskMs = count("DEMO_TASK_MS", 300);
const total = process.env.DEMO_TOTAL ? count("DEMO_TOTAL", 0) : Infinity;
const hotAgent = process.env.DEMO_HOT_AGENT || "agent-1";

const client = new Client();
let stopping = false;
process.once("SIGTERM", () => (stopping = true));
process.once("SIGINT", () => (stopping = true));

let submitted = 0;
while (!stopping && submitted < total) {
  const size = Math.min(batch, total - submitted);
  for (let i = 0; i < size; i++) {
    const task = { id: `demo-${randomUUID()}`, type: "sleep", payload: { ms: taskMs } };
    // Refused while the hot agent is not up (not yet started, or dead): placement chooses then.
    await client.submit({ ...task, agentId: hotAgent }).catch((error) => {
      if (!isRefusedAgent(error)) throw error;
      return client.submit(task);
    });
  }
  submitted += size;
  process.stdout.write(`${JSON.stringify({ msg: "submitted", batch: size, submitted })}\n`);
  if (submitted < total) await sleep(intervalMs);
}
await client.close();
