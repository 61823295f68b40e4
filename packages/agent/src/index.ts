export * from "./agent.js";
export * from "./client.js";
