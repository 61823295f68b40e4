export { freePort } from "./port.js";
export { REDIS_SERVER_MISSING, hasRedisServerBinary, pingPort, startRedisServer, type RedisServer, type RedisServerOptions } from "./redis-server.js";
export { startSentinel, type Sentinel, type SentinelOptions } from "./sentinel.js";
export { provideRedis, type ProvidedRedis } from "./provide.js";
export { deleteNamespace, testNamespace } from "./namespace.js";
export { repoRoot, spawnNode, type ExitStatus, type NodeProcess, type OutputLine, type SpawnNodeOptions } from "./process.js";
export { eventually, sleep, type EventuallyOptions } from "./eventually.js";
export { NotReadyError, PROCESS_READY_TIMEOUT_MS, waitUntilReady, type ReadyOptions } from "./ready.js";
export type { TestkitProvidedContext } from "./vitest-context.js";
