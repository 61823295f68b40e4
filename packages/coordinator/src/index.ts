export * from "./folder.js";
export * from "./placement.js";
export * from "./replica.js";
