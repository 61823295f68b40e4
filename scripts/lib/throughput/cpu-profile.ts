/**
 * A V8 CPU profile of this process over a stretch of it, written as a `.cpuprofile` file (open it
 * in Chrome DevTools or speedscope). Child processes take `--cpu-prof` on their command line; the
 * bench's own process, started by pnpm, profiles itself through the inspector instead.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { Session } from "node:inspector/promises";

/** Starts profiling; the returned function stops and writes the profile to `file`. */
export async function startCpuProfile(file: string): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return async () => {
    const { profile } = await session.post("Profiler.stop");
    session.disconnect();
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(profile));
  };
}
