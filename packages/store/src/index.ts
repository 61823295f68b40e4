export * from "./errors.js";
export * from "./connection.js";
export * from "./store.js";
export * from "./views.js";
export * from "./queues.js";
