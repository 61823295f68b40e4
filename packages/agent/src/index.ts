export * from "./agent.js";
export { AttemptTimeoutError, TaskCancelledError } from "./run-control.js";
