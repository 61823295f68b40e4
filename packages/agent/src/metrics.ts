/** CPU use of this process since the last call, in percent of one core, and its memory in MB. */
export function processSampler(): () => { cpu: number; memoryMb: number } {
  let lastUsage = process.cpuUsage();
  let lastTime = process.hrtime.bigint();
  return () => {
    const usage = process.cpuUsage();
    const time = process.hrtime.bigint();
    const elapsedMicros = Number(time - lastTime) / 1000;
    const busyMicros = usage.user - lastUsage.user + (usage.system - lastUsage.system);
    lastUsage = usage;
    lastTime = time;
    const cpu = elapsedMicros > 0 ? Math.min(100, (busyMicros / elapsedMicros) * 100) : 0;
    return { cpu, memoryMb: process.memoryUsage().rss / (1024 * 1024) };
  };
}
