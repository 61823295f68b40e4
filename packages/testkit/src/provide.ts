import { REDIS_SERVER_MISSING, hasRedisServerBinary, startRedisServer } from "./redis-server.js";

export interface ProvidedRedis {
  url: string;
  /** Where the server came from: REDIS_URL, a private redis-server child, or a Testcontainers container. */
  source: "env" | "redis-server" | "testcontainers";
  teardown(): Promise<void>;
}

interface StartedContainer {
  getConnectionUrl(): string;
  stop(): Promise<unknown>;
}
interface RedisContainerModule {
  RedisContainer: new (image: string) => { start(): Promise<StartedContainer> };
}

/**
 * A Redis for a test run. REDIS_URL, when set, is used as is (it is never flushed: tests keep to
 * their own namespaces). Otherwise a private redis-server on a free port if the binary is on PATH,
 * otherwise a redis:7 container through the optional @testcontainers/redis. Never the machine's
 * shared Redis on 6379 unless REDIS_URL names it.
 */
export async function provideRedis(): Promise<ProvidedRedis> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv !== undefined && fromEnv !== "") {
    return { url: fromEnv, source: "env", teardown: async () => {} };
  }
  if (hasRedisServerBinary()) {
    const server = await startRedisServer();
    return { url: server.url, source: "redis-server", teardown: () => server.stop() };
  }
  let reason: string;
  try {
    // A variable specifier: typecheck and build need not have the optional package.
    const specifier = "@testcontainers/redis";
    const { RedisContainer } = (await import(specifier)) as RedisContainerModule;
    const container = await new RedisContainer("redis:7").start();
    return {
      url: container.getConnectionUrl(),
      source: "testcontainers",
      teardown: async () => {
        await container.stop();
      },
    };
  } catch (err) {
    reason = err instanceof Error ? (err.message.split("\n")[0] ?? "") : String(err);
  }
  throw new Error(`${REDIS_SERVER_MISSING}\n(Testcontainers fallback failed too: ${reason})`);
}
