export * from "./facade.js";
