/** The Proven mode's TypeScript side: the integer profile, its reference executor, trace, leaves and judge. */
export * from "./profile";
export * from "./reference";
export * from "./build";
export * from "./check";
export * from "./runtime";
export * from "./trace";
export * from "./merkle";
export * from "./leaves";
export * from "./judge";
export * from "./quantize";
