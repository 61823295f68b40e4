/**
 * The compressed TTLs of the churn soak (`pnpm churn`) and the churn test: an agent TTL of 400 ms
 * instead of 15 s, about 40 times faster, so that 40 minutes stand for a day.
 */
export const CHURN_SETTINGS = {
  agentTtlMs: 400,
  heartbeatIntervalMs: 100,
  agentRetentionMs: 300,
  leaseTtlMs: 500,
  stealInterval: 200,
  maintenanceIntervalMs: 200,
  foldLeaseMs: 300,
  lockDurationMs: 1000,
  retentionMs: 1000,
} as const;
