/**
 * Loaded into the benchmarked coordinator with `node --import` (through NODE_OPTIONS, so that the
 * built coordinator runs exactly as deployed otherwise): every second, one stdout line with the
 * process's memory by part (process.memoryUsage(), bytes), which the fleet bench reads from the
 * coordinator's output. Plain JavaScript: the built coordinator runs without tsx.
 */
import process from "node:process";
import { setInterval } from "node:timers";

const INTERVAL_MS = 1000;

setInterval(() => {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ msg: "bench memory", rss, heapTotal, heapUsed, external, arrayBuffers })}\n`);
}, INTERVAL_MS).unref();
