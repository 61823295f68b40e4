export * from "./client.js";
export type { WatchOptions } from "./task-lookups.js";
