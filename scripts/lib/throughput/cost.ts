/**
 * What a stretch of work cost: Redis commands by name (INFO commandstats: a Lua script's inner
 * calls are counted there too), Redis CPU (INFO cpu, main and background threads), the reads
 * Redis made from its clients' sockets (INFO stats: a read takes every command that arrived
 * together, so fewer reads per command is more batching), and the CPU
 * of Node processes (this one through process.cpuUsage, children through /proc/<pid>/stat).
 * Take a sample before and after, and subtract.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";

export interface RedisSample {
  /** Calls per command name, lower case (`evalsha`, `hincrby`...). */
  calls: Map<string, number>;
  cpuSeconds: number;
  /** Socket reads from clients (total_reads_processed). */
  reads: number;
}

/** INFO's own calls (the samples) are left out of every count. */
const SAMPLING_COMMANDS = new Set(["info"]);

export async function sampleRedis(redis: Redis): Promise<RedisSample> {
  const text = (await redis.call("INFO", "cpu", "commandstats", "stats")) as string;
  const calls = new Map<string, number>();
  let cpuSeconds = 0;
  let reads = 0;
  for (const line of text.split("\r\n")) {
    const command = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (command) calls.set(command[1]!.toLowerCase(), Number(command[2]));
    const cpu = /^used_cpu_(sys|user):([\d.]+)$/.exec(line);
    if (cpu) cpuSeconds += Number(cpu[2]);
    const read = /^total_reads_processed:(\d+)$/.exec(line);
    if (read) reads = Number(read[1]);
  }
  return { calls, cpuSeconds, reads };
}

export interface RedisCost {
  /** Commands run, per name, sampling excluded. */
  calls: Map<string, number>;
  totalCalls: number;
  cpuSeconds: number;
  /** Socket reads, the sampling's own included (one per sample). */
  reads: number;
}

export function redisCost(before: RedisSample, after: RedisSample): RedisCost {
  const calls = new Map<string, number>();
  let totalCalls = 0;
  for (const [name, count] of after.calls) {
    if (SAMPLING_COMMANDS.has(name)) continue;
    const delta = count - (before.calls.get(name) ?? 0);
    if (delta <= 0) continue;
    calls.set(name, delta);
    totalCalls += delta;
  }
  return { calls, totalCalls, cpuSeconds: after.cpuSeconds - before.cpuSeconds, reads: after.reads - before.reads };
}

const CLOCK_TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** CPU seconds (user + system, every thread) a process has used; this process when pid is undefined. */
export function processCpuSeconds(pid?: number): number {
  if (pid === undefined) {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ")".
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** CPU seconds per group of processes (`undefined` stands for this process). */
export function sampleProcesses(groups: Record<string, ReadonlyArray<number | undefined>>): Record<string, number> {
  return Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, pids.reduce<number>((sum, pid) => sum + processCpuSeconds(pid), 0)]));
}

export function processCost(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([name, seconds]) => [name, seconds - (before[name] ?? 0)]));
}
