import type { TestProject } from "vitest/node";
import { provideRedis } from "./provide.js";

/** vitest globalSetup: one Redis for the whole run, handed to tests as inject("redisUrl"). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await provideRedis();
  console.log(`[testkit] redis for this run: ${redis.url} (${redis.source})`);
  project.provide("redisUrl", redis.url);
  return () => redis.teardown();
}
