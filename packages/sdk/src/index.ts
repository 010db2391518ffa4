/**
 * @trustml/sdk: what requesters and integrators of TrustML need, without the repository's build.
 * - the tensor codec (TML1) and model signatures (TMS1);
 * - job records and ids, job terms, settlement math, vote commitments, protocol parameters;
 * - the contracts' ABIs as typed constants, and errors decoded by name;
 * - deployment records;
 * - `LogReader`: event logs in bounded ranges, retried, split when a node refuses a range, in chain order;
 * - `TrustMLClient`: connect, read models, publish, request, wait, settle, deposit, withdraw, verify.
 * ONNX Runtime helpers (loading and running a model) are in `@trustml/sdk/onnx`, which needs the optional peer
 * dependency `onnxruntime-node`; nothing here loads it until a result is verified.
 */
export * from "./codec";
export * from "./signature";
export * from "./tensor-json";
export * from "./params";
export * from "./job";
export * from "./terms";
export * from "./votes";
export * from "./events";
export * from "./settlement";
export * from "./errors";
export * from "./deployment";
export * from "./libraries";
export * from "./abi";
export * from "./client";
export * from "./history";
export * from "./refs";
