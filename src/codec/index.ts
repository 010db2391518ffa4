export * from "./tensor";
