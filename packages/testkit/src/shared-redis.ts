import { Redis } from "ioredis";
import { afterAll, inject } from "vitest";
import "./vitest-context.js";

/**
 * A connection to the test run's Redis (`inject("redisUrl")`, see global-setup.ts) for one test
 * file, closed after the file's last test. Call it at the top of a test file:
 * `const redis = sharedRedis();`. Tests on it isolate themselves with testNamespace(); none may
 * flush it. Apart from the main entry (`@worksteal/testkit/vitest`), since it imports vitest at
 * run time and the benchmarks import the testkit outside vitest.
 */
export function sharedRedis(): Redis {
  const redis = new Redis(inject("redisUrl"));
  afterAll(async () => {
    await redis.quit();
  });
  return redis;
}
