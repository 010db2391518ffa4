/** One orchestration module for the demo and the end-to-end test: see ./local.ts. */
export * from "./jobs";
export * from "./local";
export * from "./processes";
