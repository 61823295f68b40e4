export * from "./folder.js";
export * from "./placement.js";
export * from "./replica.js";
export * from "./executor.js";
export * from "./planning.js";
export * from "./snapshot.js";
export * from "./leadership.js";
export * from "./reaper.js";
