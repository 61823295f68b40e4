/** Human durations: 850ms, 12.3s, 4m05s, 2h03m, 3d04h. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  const sign = ms < 0 ? "-" : "";
  const abs = Math.abs(ms);
  if (abs < 1000) return `${sign}${Math.round(abs)}ms`;
  if (abs < 60_000) return `${sign}${(abs / 1000).toFixed(1)}s`;
  const pad = (n: number) => String(n).padStart(2, "0");
  const s = Math.floor(abs / 1000);
  if (s < 3600) return `${sign}${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${sign}${Math.floor(s / 3600)}h${pad(Math.floor(s / 60) % 60)}m`;
  return `${sign}${Math.floor(s / 86_400)}d${pad(Math.floor(s / 3600) % 24)}h`;
}

/** Age of a timestamp on the Redis clock; "never" for 0 (no heartbeat recorded). */
export function formatAge(at: number, now: number): string {
  return at > 0 ? `${formatDuration(now - at)} ago` : "never";
}

/** ms since the epoch → `2024-05-01 12:00:00.123Z`. */
export function formatTime(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return "-";
  return new Date(ms).toISOString().replace("T", " ");
}

export function truncate(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, " ");
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}
