export * from "./ids.js";
export * from "./keys.js";
export * from "./task.js";
export * from "./agent.js";
export * from "./events.js";
export * from "./effects.js";
export * from "./directive.js";
export * from "./config.js";
