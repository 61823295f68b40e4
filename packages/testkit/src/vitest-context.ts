/**
 * What the global setup (global-setup.ts) hands to tests through vitest's provide/inject:
 * `inject("redisUrl")` in any test file. Part of @worksteal/testkit's types so that a package whose
 * tests import the testkit gets the augmentation.
 */
// The type import makes "vitest" part of the program even where no test file imports it (build).
import type {} from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of the Redis for this test run (REDIS_URL, or a private redis-server / container). */
    redisUrl: string;
  }
}

export type TestkitProvidedContext = Pick<import("vitest").ProvidedContext, "redisUrl">;
