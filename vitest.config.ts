import { defineConfig } from "vitest/config";

// Workspace packages resolve to their TypeScript sources through the "@worksteal/source" export
// condition. Setting conditions replaces vite's defaults, so those are repeated here
// (vite's defaultServerConditions / defaultClientConditions; vite is not a root dependency).
const serverConditions = ["@worksteal/source", "module", "node", "development|production"];
const clientConditions = ["@worksteal/source", "module", "browser", "development|production"];

/**
 * Tests that kill coordinators, agents or Redis and check timings or invariants under faults run
 * last and one file at a time: on a two-core machine, running them beside other files would
 * starve their processes and turn CPU contention into false failures.
 */
const FAULT_TESTS = ["tests/failover.test.ts", "tests/chaos.test.ts", "tests/reaping.test.ts", "tests/sentinel.test.ts", "tests/cluster.test.ts"];

/** Tests that drive a real headless Chromium against a running fleet: heavy, so alone, after the faults. */
const BROWSER_TESTS = ["tests/**/*.browser.test.ts"];

export default defineConfig({
  resolve: { conditions: clientConditions },
  // Tests run in vite's SSR environment, which has its own resolve options.
  ssr: { resolve: { conditions: serverConditions } },
  test: {
    // One Redis for the run (REDIS_URL, or a private redis-server on a free port); tests read it
    // with inject("redisUrl") and isolate themselves with testNamespace().
    globalSetup: "packages/testkit/src/global-setup.ts",
    testTimeout: 30_000,
    hookTimeout: 30_000,
    teardownTimeout: 30_000,
    // Child processes (redis-server, agents) are started by tests: forks keep each test file in
    // its own process, so the testkit's exit cleanup runs per file. Two cores: two files at a time.
    pool: "forks",
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: "unit and integration",
          include: ["packages/*/src/**/*.test.ts", "tests/**/*.test.ts"],
          exclude: [...FAULT_TESTS, ...BROWSER_TESTS],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: "faults", include: FAULT_TESTS, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        test: { name: "browser", include: BROWSER_TESTS, fileParallelism: false, sequence: { groupOrder: 2 } },
      },
    ],
  },
});
