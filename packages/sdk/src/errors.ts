/**
 * Turns a failed call or transaction into one readable line: a custom error decoded by name with its arguments
 * (`JobEscrowFeeTooLow(modelId=1, price=1, minFee=1000000000000000)`), a require
 * reason, a panic code, or the provider's own message.
 */
import { AbiCoder, ErrorDescription, Interface, decodeBytes32String, hexlify, type BytesLike } from "ethers";
import { formatJobId } from "./job";

/** Something that knows custom errors: a contract (its `.interface`) or an Interface. */
export type ErrorSource = Interface | { interface: Interface };

const ERROR_STRING = "0x08c379a0"; // Error(string)
const PANIC = "0x4e487b71"; // Panic(uint256)

const PANIC_CODES: Record<number, string> = {
  0x01: "assertion failed",
  0x11: "arithmetic overflow or underflow",
  0x12: "division or modulo by zero",
  0x21: "invalid enum value",
  0x22: "invalid storage byte array",
  0x31: "pop on an empty array",
  0x32: "array index out of bounds",
  0x41: "out of memory",
  0x51: "call to an invalid internal function",
};

const isRevertData = (value: unknown): value is string =>
  typeof value === "string" && /^0x([0-9a-fA-F]{2})*$/.test(value) && value.length >= 10;

/** The revert data carried somewhere in an error from ethers, hardhat-ethers or a JSON-RPC provider. */
export function findRevertData(err: unknown, depth = 0): string | undefined {
  if (err === null || typeof err !== "object" || depth > 6) return undefined;
  const record = err as Record<string, unknown>;
  if (isRevertData(record.data)) return record.data;
  // Nested: ethers `info.error`, JSON-RPC `error.data`, `cause`, and data wrapped in an object.
  for (const key of ["data", "error", "info", "cause", "receipt"]) {
    const found = findRevertData(record[key], depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function formatValue(value: unknown, type: string): string {
  if (type === "bytes32" && typeof value === "string") {
    try {
      const text = decodeBytes32String(value);
      if (/^[\x20-\x7e]+$/.test(text)) return `"${text}"`;
    } catch {
      // not a short string: the hash itself
    }
  }
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return `[${value.map((v) => formatValue(v, "")).join(", ")}]`;
  return String(value);
}

/** `Name(arg=value, ...)` for a decoded custom error; a job id (an argument named `jobId`) as 0x and 64 hex digits. */
export function formatErrorDescription(description: ErrorDescription): string {
  const inputs = description.fragment.inputs;
  const args = inputs.map((input, i) => {
    const value =
      input.name === "jobId" && typeof description.args[i] === "bigint"
        ? formatJobId(description.args[i])
        : formatValue(description.args[i], input.type);
    return input.name ? `${input.name}=${value}` : value;
  });
  return `${description.name}(${args.join(", ")})`;
}

/** Decodes revert data against the sources' errors, then Error(string) and Panic(uint256). */
export function decodeRevertData(data: BytesLike, sources: readonly ErrorSource[]): string | undefined {
  const hex = hexlify(data);
  const selector = hex.slice(0, 10).toLowerCase();
  if (selector === ERROR_STRING) {
    const [reason] = AbiCoder.defaultAbiCoder().decode(["string"], "0x" + hex.slice(10));
    return `reverted: ${reason}`;
  }
  if (selector === PANIC) {
    const [code] = AbiCoder.defaultAbiCoder().decode(["uint256"], "0x" + hex.slice(10));
    return `panic 0x${code.toString(16)} (${PANIC_CODES[Number(code)] ?? "unknown panic"})`;
  }
  for (const source of sources) {
    const iface = source instanceof Interface ? source : source.interface;
    try {
      const description = iface.parseError(hex);
      if (description !== null) return formatErrorDescription(description);
    } catch {
      // the selector matched but the data did not decode: try the next source
    }
  }
  return undefined;
}

/** One line describing `err`, decoding a revert against the errors of `contracts`. */
export function describeError(err: unknown, contracts: readonly ErrorSource[]): string {
  const data = findRevertData(err);
  if (data !== undefined) {
    return decodeRevertData(data, contracts) ?? `reverted with unknown error data ${data.slice(0, 10)}…`;
  }
  if (err !== null && typeof err === "object") {
    const e = err as { shortMessage?: unknown; message?: unknown };
    if (typeof e.shortMessage === "string") return e.shortMessage;
    if (typeof e.message === "string") return e.message.split("\n")[0];
  }
  return String(err);
}

/** What went wrong, by name. */
export type TrustMLErrorCode =
  | "BAD_ARGUMENT" // an argument of the wrong type or out of range
  | "WRONG_CHAIN" // the deployment record is for another chain, or no contract is at an address
  | "UNKNOWN_MODEL"
  | "MODEL_DEPRECATED"
  | "TERMS_CHANGED" // the terms given are no longer the model's current ones
  | "INPUT_MISMATCH" // the input does not conform to the version's signature (or is not a tensor list)
  | "INSUFFICIENT_DEPOSIT" // paying from the deposit was asked for, and the deposit does not cover the fee
  | "INSUFFICIENT_FUNDS" // the account holds fewer tokens than it must pay
  | "NO_SIGNER" // a transaction needs a signer and the client has only a provider
  | "UNKNOWN_JOB"
  | "NOT_SETTLEABLE" // the job cannot be settled or refunded yet
  | "MODEL_MISMATCH" // the model bytes given are not the version's (sha256)
  | "TIMEOUT"
  | "ABORTED"
  | "REVERTED"; // a transaction or call reverted: `message` holds the decoded error

/** A failure of a client call; `code` says what kind, `message` says exactly what. */
export class TrustMLError extends Error {
  readonly code: TrustMLErrorCode;

  constructor(code: TrustMLErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TrustMLError";
    this.code = code;
  }
}
