/**
 * A model version's declared signature: the names, element types and shapes of its inputs and outputs, format TMS1.
 *
 * This comment is the specification the Solidity parser follows; docs/TENSOR-ENCODING.md ("Model signatures
 * (TMS1)") repeats it with a worked example whose bytes a test checks.
 *
 *   offset  size  field
 *   0       4     magic and version: the ASCII bytes "TMS1" (54 4d 53 31)
 *   4       4     input count, u32, at least 1
 *   8       ...   the inputs, in strictly ascending order of name
 *   ...     4     output count, u32, at least 1
 *   ...     ...   the outputs, in strictly ascending order of name; nothing follows the last one
 *
 * and each input or output is:
 *
 *   size    field
 *   2       name length L in bytes, u16, 1..65535
 *   L       name, UTF-8 (well-formed: no overlong forms, no surrogates; a leading U+FEFF is part of the name)
 *   1       element type code, u8, as in TML1: 1 float32, 2 uint8, 3 int8, 6 int32, 7 int64, 9 bool, 11 float64
 *   1       rank R, u8, 0..255
 *   8 × R   dimensions, each u64, outermost first: a size in 0..2^53 − 1, or ff ff ff ff ff ff ff ff (DYNAMIC_DIM),
 *           a dimension of any size, which only an output may have
 *
 * Every integer is little-endian; there is no padding. Names are ordered as in TML1 (their UTF-8 bytes compared as
 * unsigned bytes, a prefix before its extensions) and strictly increasing within the inputs and within the
 * outputs; an input and an output may share a name. Each signature has exactly one encoding: the encoder sorts, and
 * the decoder rejects anything else (bad magic, truncation, trailing bytes, a count of 0, names empty, not UTF-8,
 * out of order or repeated, an unknown type code, a dynamic input dimension, a dimension over 2^53 − 1 other than
 * DYNAMIC_DIM).
 *
 * The registry stores keccak256 of the encoding (signatureHash) and the byte length every conforming input has
 * (signatureInputSize): the TML1 length of a list holding exactly the inputs, with their types and shapes,
 *   8 + Σ over inputs (2 + L + 1 + 1 + 8·R + elementSize · Π dims).
 * A requester checks an input against the signature (checkInputBytes) without the model.
 */
import { keccak256 } from "ethers";
import {
  CodecError,
  ELEMENT_SIZES,
  MAX_NAME_BYTES,
  TYPE_CODES,
  compareBytes,
  decodeName,
  decodeTensors,
  isElementType,
  validateTensors,
  type ElementType,
  type NamedTensors,
  type Tensor,
} from "./codec";
import type { ValueInfo } from "./onnx";
import { ByteReader } from "./codec/reader";

/** A declared input or output: a null dimension is dynamic (any size), which only an output may have. */
export interface TensorSpec {
  name: string;
  type: ElementType;
  shape: (number | null)[];
}

/** A model version's inputs and outputs, each list in any order (the encoding sorts by name). */
export interface IoSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/**
 * How deriveSignature fixes what a model leaves dynamic. `tensors` gives an input or output its whole shape (null,
 * a dynamic dimension, in an output only); `dims` gives every dimension with that symbolic name (a dim_param such
 * as "batch") a size, in inputs and outputs alike.
 */
export interface ShapeOverrides {
  tensors?: Record<string, (number | null)[]>;
  dims?: Record<string, number>;
}

/** Why tensors do not conform to a signature (SignatureMismatchError.problem). */
export type MismatchProblem =
  | "missing" // a declared tensor is absent
  | "unexpected" // a tensor the signature does not declare
  | "duplicate" // a name given twice
  | "invalid" // not a valid tensor (codec rules: data length, array type, name)
  | "encoding" // bytes that are not a TML1 encoding
  | "type"
  | "rank"
  | "dimension";

/** A signature that cannot be encoded or derived, bytes that are not a TMS1 encoding, or a bad override. */
export class SignatureError extends Error {
  /** The input or output concerned, when there is one. */
  readonly tensor?: string;
  /** Where in the bytes decoding failed. */
  readonly offset?: number;

  constructor(message: string, context: { tensor?: string; offset?: number } = {}) {
    super(message);
    this.name = "SignatureError";
    this.tensor = context.tensor;
    this.offset = context.offset;
  }
}

/** Tensors that do not conform to a signature. */
export class SignatureMismatchError extends Error {
  /** The tensor concerned (undefined only when the bytes are not TML1 before any tensor). */
  readonly tensor: string | undefined;
  readonly problem: MismatchProblem;

  constructor(message: string, tensor: string | undefined, problem: MismatchProblem, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SignatureMismatchError";
    this.tensor = tensor;
    this.problem = problem;
  }
}

/** The four bytes every signature starts with: ASCII "TMS1", format version 1. */
export const SIGNATURE_MAGIC = new Uint8Array([0x54, 0x4d, 0x53, 0x31]);

/** The u64 that encodes a dynamic dimension: all bits set. */
export const DYNAMIC_DIM = 0xffff_ffff_ffff_ffffn;

type Kind = "input" | "output";

const MAX_RANK = 0xff;
const MAX_COUNT = 0xffffffff;
const MAX_DIM = Number.MAX_SAFE_INTEGER;
const TYPE_BY_CODE = new Map<number, ElementType>(
  (Object.keys(TYPE_CODES) as ElementType[]).map((t) => [TYPE_CODES[t], t]),
);
const utf8Encoder = new TextEncoder();

const quote = (s: string): string => JSON.stringify(s);
const isDim = (d: unknown): d is number => Number.isSafeInteger(d) && (d as number) >= 0;
const shapeText = (shape: readonly (number | null)[]): string => `[${shape.map((d) => d ?? "?").join(",")}]`;
const specText = (spec: { type: string; shape: readonly (number | null)[] }): string =>
  `${spec.type} ${shapeText(spec.shape)}`;
const nameList = (names: readonly string[]): string => (names.length === 0 ? "none" : names.map(quote).join(", "));

interface CheckedSpec {
  spec: TensorSpec;
  nameBytes: Uint8Array;
}

interface CheckedSignature {
  inputs: CheckedSpec[];
  outputs: CheckedSpec[];
}

function checkSpec(spec: TensorSpec, kind: Kind, index: number): CheckedSpec {
  if (typeof spec !== "object" || spec === null) throw new SignatureError(`${kind} #${index} is not an object`);
  const { name, type, shape } = spec;
  if (typeof name !== "string" || name.length === 0) {
    throw new SignatureError(`${kind} #${index}: name must be a non-empty string, got ${quote(String(name))}`);
  }
  const label = `${kind} ${quote(name)}`;
  const nameBytes = utf8Encoder.encode(name);
  if (decodeName(nameBytes) !== name) {
    throw new SignatureError(`${label}: name is not well-formed Unicode (lone surrogate)`, { tensor: name });
  }
  if (nameBytes.length > MAX_NAME_BYTES) {
    throw new SignatureError(
      `${kind} ${quote(name.slice(0, 32))}...: name is ${nameBytes.length} bytes of UTF-8, at most ${MAX_NAME_BYTES}`,
      { tensor: name },
    );
  }
  if (!isElementType(type)) {
    throw new SignatureError(`${label}: unknown element type ${quote(String(type))}`, { tensor: name });
  }
  if (!Array.isArray(shape)) throw new SignatureError(`${label}: shape must be an array`, { tensor: name });
  if (shape.length > MAX_RANK) {
    throw new SignatureError(`${label}: rank ${shape.length} exceeds ${MAX_RANK}`, { tensor: name });
  }
  shape.forEach((d, axis) => {
    if (d === null && kind === "input") {
      throw new SignatureError(`${label}: dimension ${axis} is dynamic (null); every input dimension is fixed`, {
        tensor: name,
      });
    }
    if (d !== null && !isDim(d)) {
      throw new SignatureError(
        `${label}: dimension ${axis} is ${String(d)}; a dimension is an integer in 0..2^53-1` +
          (kind === "output" ? " or null (dynamic)" : ""),
        { tensor: name },
      );
    }
  });
  return { spec: { name, type, shape: [...shape] }, nameBytes };
}

function checkSide(specs: readonly TensorSpec[], kind: Kind): CheckedSpec[] {
  if (!Array.isArray(specs)) throw new SignatureError(`${kind}s must be an array`);
  if (specs.length === 0) throw new SignatureError(`a signature has at least one ${kind}, got none`);
  if (specs.length > MAX_COUNT) throw new SignatureError(`${specs.length} ${kind}s, at most ${MAX_COUNT}`);
  const checked = specs.map((s, i) => checkSpec(s, kind, i));
  checked.sort((a, b) => compareBytes(a.nameBytes, b.nameBytes));
  for (let i = 1; i < checked.length; i++) {
    if (compareBytes(checked[i - 1].nameBytes, checked[i].nameBytes) === 0) {
      const name = checked[i].spec.name;
      throw new SignatureError(`${kind} ${quote(name)}: duplicate name`, { tensor: name });
    }
  }
  return checked;
}

/** Checks a signature against the format's rules and sorts each list by name; the specs are fresh copies. */
function checkSignature(sig: IoSignature): CheckedSignature {
  if (typeof sig !== "object" || sig === null) throw new SignatureError("a signature must be an object");
  return { inputs: checkSide(sig.inputs, "input"), outputs: checkSide(sig.outputs, "output") };
}

function checkedOf(sig: IoSignature | Uint8Array): CheckedSignature {
  return checkSignature(sig instanceof Uint8Array ? decodeSignature(sig) : sig);
}

function writeDim(view: DataView, offset: number, d: number | null): void {
  if (d === null) {
    view.setBigUint64(offset, DYNAMIC_DIM, true);
  } else {
    view.setUint32(offset, d % 2 ** 32, true);
    view.setUint32(offset + 4, Math.floor(d / 2 ** 32), true);
  }
}

/**
 * Encodes a signature canonically (format at the top of this file); each list may be in any order. Throws
 * SignatureError naming the input or output for an empty, malformed, duplicate or over-long name, an unknown
 * type, a rank over 255, a dimension that is not an integer in 0..2^53-1, a dynamic (null) input dimension, or
 * an empty list.
 */
export function encodeSignature(sig: IoSignature): Uint8Array {
  const checked = checkSignature(sig);
  checkInputSize(checked.inputs);
  const sides = [checked.inputs, checked.outputs];
  let size = SIGNATURE_MAGIC.length;
  for (const side of sides) {
    size += 4;
    for (const c of side) size += 2 + c.nameBytes.length + 2 + 8 * c.spec.shape.length;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(SIGNATURE_MAGIC, 0);
  let offset = SIGNATURE_MAGIC.length;
  for (const side of sides) {
    view.setUint32(offset, side.length, true);
    offset += 4;
    for (const { spec, nameBytes } of side) {
      view.setUint16(offset, nameBytes.length, true);
      out.set(nameBytes, offset + 2);
      offset += 2 + nameBytes.length;
      out[offset++] = TYPE_CODES[spec.type];
      out[offset++] = spec.shape.length;
      for (const d of spec.shape) {
        writeDim(view, offset, d);
        offset += 8;
      }
    }
  }
  return out;
}

/** The signature decoder's cursor: every refusal is a SignatureError with the offset. */
class Reader extends ByteReader {
  fail(message: string, at: number, tensor?: string): never {
    throw new SignatureError(`at offset ${at}: ${message}`, { tensor, offset: at });
  }

  protected truncated(n: number, what: string, tensor?: string): never {
    this.fail(`truncated: ${what} needs ${n} bytes, only ${this.remaining} left`, this.offset, tensor);
  }
}

function readSide(r: Reader, kind: Kind): TensorSpec[] {
  const countAt = r.offset;
  const count = r.u32(`${kind} count`);
  if (count === 0) r.fail(`${kind} count is 0; a signature has at least one ${kind}`, countAt);
  const specs: TensorSpec[] = [];
  let previous: Uint8Array | undefined;
  for (let i = 0; i < count; i++) {
    const start = r.offset;
    const length = r.u16(`name length of ${kind} #${i}`);
    if (length === 0) r.fail(`${kind} #${i}: empty name`, start);
    const raw = r.take(length, `name of ${kind} #${i}`);
    const name = decodeName(raw);
    if (name === undefined) r.fail(`${kind} #${i}: name is not valid UTF-8`, start);
    const label = `${kind} ${quote(name)}`;
    if (previous !== undefined) {
      const order = compareBytes(previous, raw);
      if (order === 0) r.fail(`${label}: duplicate name`, start, name);
      if (order > 0) {
        r.fail(`${label}: ${kind}s not in ascending order of name (after ${quote(specs[i - 1].name)})`, start, name);
      }
    }
    previous = raw;
    const codeAt = r.offset;
    const code = r.u8(`type code of ${label}`, name);
    const type = TYPE_BY_CODE.get(code);
    if (type === undefined) r.fail(`${label}: unknown element type code ${code}`, codeAt, name);
    const rank = r.u8(`rank of ${label}`, name);
    const shape: (number | null)[] = [];
    for (let axis = 0; axis < rank; axis++) {
      const dimAt = r.offset;
      const d = r.u64(`dimension ${axis} of ${label}`, name);
      if (d === DYNAMIC_DIM) {
        if (kind === "input")
          r.fail(`${label}: dimension ${axis} is dynamic; every input dimension is fixed`, dimAt, name);
        shape.push(null);
      } else if (d > BigInt(MAX_DIM)) {
        r.fail(`${label}: dimension ${axis} is ${d}, over 2^53-1 and not the dynamic marker`, dimAt, name);
      } else {
        shape.push(Number(d));
      }
    }
    specs.push({ name, type, shape });
  }
  return specs;
}

/**
 * Decodes bytes produced by encodeSignature; each list comes back in name order. Throws SignatureError, with
 * the offset and the input or output concerned, for anything that is not exactly the encoding of a signature:
 * bad magic, truncation, trailing bytes, a count of 0, names empty, not UTF-8, out of order or repeated, an
 * unknown type code, a dynamic input dimension, a dimension over 2^53-1 other than DYNAMIC_DIM.
 */
export function decodeSignature(bytes: Uint8Array): IoSignature {
  if (!(bytes instanceof Uint8Array)) throw new SignatureError("signature bytes must be a Uint8Array");
  const r = new Reader(bytes);
  const magic = r.take(SIGNATURE_MAGIC.length, "magic");
  if (compareBytes(magic, SIGNATURE_MAGIC) !== 0) {
    r.fail(`bad magic: expected "TMS1" (544d5331), got ${Buffer.from(magic).toString("hex")}`, 0);
  }
  const inputs = readSide(r, "input");
  const outputs = readSide(r, "output");
  if (r.offset !== bytes.length) r.fail(`${bytes.length - r.offset} trailing bytes after the last output`, r.offset);
  const signature = { inputs, outputs };
  checkInputSize(checkSignature(signature).inputs);
  return signature;
}

/**
 * keccak256 of the signature's encoding, as 0x-prefixed lowercase hex: what the registry stores. Bytes are
 * hashed as given once decodeSignature accepts them (else SignatureError), so only canonical bytes get a hash.
 */
export function signatureHash(sig: IoSignature | Uint8Array): string {
  if (sig instanceof Uint8Array) {
    decodeSignature(sig);
    return keccak256(sig);
  }
  return keccak256(encodeSignature(sig));
}

/** The registry's signature hash of a version that declares none. */
export const NO_SIGNATURE_HASH = "0x" + "00".repeat(32);

/**
 * The signature a model version declares, from the bytes its VersionPublished event carries (`ioSignature`) and the
 * hash the registry stores for it (getVersion's `ioSignatureHash`): null when the version declares none (a zero
 * hash). The stored hash is what binds the bytes, so they are taken only when they hash to it: SignatureError
 * otherwise (another version's event, a wrong log), and when they do not decode.
 */
export function declaredSignature(eventBytes: Uint8Array, storedHash: string): IoSignature | null {
  if (storedHash.toLowerCase() === NO_SIGNATURE_HASH) return null;
  const hash = keccak256(eventBytes);
  if (hash !== storedHash.toLowerCase()) {
    throw new SignatureError(
      `the signature bytes (${eventBytes.length} bytes) hash to ${hash}, but the registry stores ${storedHash}`,
    );
  }
  return decodeSignature(eventBytes);
}

/**
 * The byte length of every TML1 input that conforms to the signature (given as a signature or its encoding):
 * 8 + Σ over inputs (2 + L + 1 + 1 + 8·R + elementSize·Π dims). A bigint, because the format bounds each
 * dimension (2^53-1), not their product.
 */
export function signatureInputSize(sig: IoSignature | Uint8Array): bigint {
  return inputSizeOf(checkedOf(sig).inputs);
}

/** The largest input size a signature may fix: the registry records it in 64 bits (IoSignatureLib). */
export const MAX_INPUT_SIZE = 2n ** 64n - 1n;

function inputSizeOf(inputs: readonly CheckedSpec[]): bigint {
  let size = 8n;
  for (const { spec, nameBytes } of inputs) {
    let elements = 1n;
    for (const d of spec.shape) elements *= BigInt(d!);
    size += BigInt(2 + nameBytes.length + 2 + 8 * spec.shape.length) + BigInt(ELEMENT_SIZES[spec.type]) * elements;
  }
  return size;
}

/** Refuses inputs larger than MAX_INPUT_SIZE bytes, which the registry cannot record. */
function checkInputSize(inputs: readonly CheckedSpec[]): void {
  const size = inputSizeOf(inputs);
  if (size > MAX_INPUT_SIZE) {
    throw new SignatureError(`the inputs take ${size} bytes, over 2^64-1, the largest input size the registry records`);
  }
}

function checkTensors(kind: Kind, specs: readonly CheckedSpec[], tensors: NamedTensors): void {
  if (!Array.isArray(tensors))
    throw new SignatureMismatchError(`${kind}s must be an array of tensors`, undefined, "invalid");
  const declared = new Map(specs.map((c) => [c.spec.name, c.spec]));
  const given = new Map<string, Tensor>();
  for (const [index, t] of tensors.entries()) {
    if (typeof t?.name !== "string") {
      throw new SignatureMismatchError(`${kind} #${index}: not a tensor with a name`, undefined, "invalid");
    }
    const name = t.name;
    if (given.has(name)) throw new SignatureMismatchError(`${kind} ${quote(name)} is given twice`, name, "duplicate");
    given.set(name, t);
    const spec = declared.get(name);
    if (spec === undefined) {
      const shape = Array.isArray(t?.shape) ? ` (${t.type} ${shapeText(t.shape)})` : "";
      throw new SignatureMismatchError(
        `unexpected ${kind} ${quote(name)}${shape}; the signature's ${kind}s are ${nameList([...declared.keys()])}`,
        name,
        "unexpected",
      );
    }
  }
  for (const { spec } of specs) {
    if (!given.has(spec.name)) {
      throw new SignatureMismatchError(`missing ${kind} ${quote(spec.name)} (${specText(spec)})`, spec.name, "missing");
    }
  }
  try {
    validateTensors(tensors);
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    throw new SignatureMismatchError(`invalid ${kind}: ${e.message}`, e.tensor, "invalid", { cause: e });
  }
  for (const { spec } of specs) {
    const t = given.get(spec.name)!;
    const mismatch = (problem: MismatchProblem, detail = ""): SignatureMismatchError =>
      new SignatureMismatchError(
        `${kind} ${quote(spec.name)}: expected ${specText(spec)}, got ${specText(t)}${detail}`,
        spec.name,
        problem,
      );
    if (t.type !== spec.type) throw mismatch("type");
    if (t.shape.length !== spec.shape.length) throw mismatch("rank");
    spec.shape.forEach((d, axis) => {
      if (d !== null && t.shape[axis] !== d) throw mismatch("dimension", ` (dimension ${axis})`);
    });
  }
}

/**
 * Checks that `tensors` (any order) are exactly the signature's inputs: every input present once, nothing else,
 * each a valid tensor (the codec's rules) of the declared type and shape. Throws SignatureMismatchError naming
 * the tensor and the problem; SignatureError when the signature itself is invalid.
 */
export function checkInputs(sig: IoSignature, tensors: NamedTensors): void {
  checkTensors("input", checkSignature(sig).inputs, tensors);
}

/** As checkInputs, for the outputs: a dynamic (null) dimension takes any size. */
export function checkOutputs(sig: IoSignature, tensors: NamedTensors): void {
  checkTensors("output", checkSignature(sig).outputs, tensors);
}

/**
 * Checks an encoded input (TML1 bytes) against the signature: bytes that are not a TML1 encoding throw
 * SignatureMismatchError with problem "encoding" (the codec's error as cause), then as checkInputs. Inputs that
 * pass are exactly signatureInputSize(sig) bytes long: that formula is the length of their canonical encoding.
 */
export function checkInputBytes(sig: IoSignature, bytes: Uint8Array): void {
  const checked = checkSignature(sig);
  let tensors: NamedTensors;
  try {
    tensors = decodeTensors(bytes);
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    const size = bytes instanceof Uint8Array ? `${bytes.length} bytes, ` : "";
    throw new SignatureMismatchError(
      `input is not a TML1 encoding (${size}a conforming input is ${signatureInputSize(sig)} bytes): ${e.message}`,
      e.tensor,
      "encoding",
      { cause: e },
    );
  }
  checkTensors("input", checked.inputs, tensors);
}

const hasOwn = (record: object | undefined, key: string): boolean =>
  record !== undefined && Object.prototype.hasOwnProperty.call(record, key);

function checkOverrides(overrides: ShapeOverrides): void {
  if (typeof overrides !== "object" || overrides === null) throw new SignatureError("overrides must be an object");
  for (const [name, shape] of Object.entries(overrides.tensors ?? {})) {
    if (!Array.isArray(shape) || !shape.every((d) => d === null || isDim(d))) {
      throw new SignatureError(
        `shape override for ${quote(name)}: ${JSON.stringify(shape)} is not a list of sizes (integers in ` +
          `0..2^53-1, or null for a dynamic output dimension)`,
        { tensor: name },
      );
    }
  }
  for (const [symbol, size] of Object.entries(overrides.dims ?? {})) {
    if (!isDim(size)) {
      throw new SignatureError(
        `dimension override ${quote(symbol)}: ${JSON.stringify(size)} is not a size (an integer in 0..2^53-1)`,
      );
    }
  }
}

const declaredText = (shape: readonly (number | string)[]): string =>
  `[${shape.map((d) => (d === "" ? "?" : d)).join(",")}]`;

/** The --shape flag that fixes an input: its known sizes as they are, the others as <symbol> or <size>. */
function shapeFlag(name: string, declared: readonly (number | string)[], sizes: readonly (number | null)[]): string {
  const dims = declared.map((d, axis) => sizes[axis] ?? (d === "" ? "<size>" : `<${d}>`));
  return `--shape ${name}=${dims.join(",")}`;
}

/**
 * A model version's signature from the inputs and outputs a loaded model declares (loadModel in
 * packages/sdk/src/onnx.ts; each list sorted by name in the result).
 *
 * The owner fixes what the model leaves dynamic: `overrides.tensors` gives a tensor its whole shape (it must
 * keep the declared rank and fixed sizes), `overrides.dims` gives a symbolic dimension a size everywhere it
 * appears. A symbol is one size throughout the model, as in ONNX: a tensor override also sizes the symbols of
 * the dimensions it fixes, and two overrides that size one symbol differently are an error. Output dimensions
 * left unsized stay dynamic (null).
 *
 * Throws SignatureError for an input still dynamic after the overrides (naming the input, the dimension, its
 * symbol, and the override that fixes it), a value with no declared shape and no override, an override naming
 * an unknown tensor or symbol, a shape override of the wrong rank or contradicting a fixed size, conflicting
 * sizes for a symbol, or a dynamic (null) size in an input's override.
 */
export function deriveSignature(
  model: { inputs: readonly ValueInfo[]; outputs: readonly ValueInfo[] },
  overrides: ShapeOverrides = {},
): IoSignature {
  checkOverrides(overrides);
  const values: ModelValue[] = [
    ...model.inputs.map((value) => ({ kind: "input" as const, value })),
    ...model.outputs.map((value) => ({ kind: "output" as const, value })),
  ];
  const sizes = symbolSizes(model, values, overrides);
  const resolve = (v: ModelValue): TensorSpec => resolveValue(v, overrides, sizes);
  const checked = checkSignature({
    inputs: values.filter((v) => v.kind === "input").map(resolve),
    outputs: values.filter((v) => v.kind === "output").map(resolve),
  });
  return { inputs: checked.inputs.map((c) => c.spec), outputs: checked.outputs.map((c) => c.spec) };
}

/**
 * Checks that a model file takes the signature declared for its version: the same input names, each of the
 * declared type with a shape the file accepts (same rank, equal where the file fixes a size; a value declared
 * without a shape takes any), and every declared output among the file's, of the same type and with equal fixed
 * sizes. Throws SignatureMismatchError naming the tensor: a worker refuses such a version, whose inputs would be
 * paid for and never run.
 */
export function checkSignatureFits(
  sig: IoSignature,
  model: { inputs: readonly ValueInfo[]; outputs: readonly ValueInfo[] },
): void {
  const checked = checkSignature(sig);
  const sides: [Kind, readonly CheckedSpec[], readonly ValueInfo[]][] = [
    ["input", checked.inputs, model.inputs],
    ["output", checked.outputs, model.outputs],
  ];
  for (const [kind, specs, values] of sides) {
    const byName = new Map(values.map((v) => [v.name, v]));
    if (kind === "input") {
      const declared = new Set(specs.map((c) => c.spec.name));
      const undeclared = values.find((v) => !declared.has(v.name));
      if (undeclared !== undefined) {
        throw new SignatureMismatchError(
          `model input ${quote(undeclared.name)} is not in the declared signature`,
          undeclared.name,
          "missing",
        );
      }
    }
    for (const { spec } of specs) {
      const value = byName.get(spec.name);
      const label = `${kind} ${quote(spec.name)}`;
      if (value === undefined) {
        throw new SignatureMismatchError(`${label}: the model file has no such ${kind}`, spec.name, "unexpected");
      }
      if (value.type !== spec.type) {
        throw new SignatureMismatchError(
          `${label}: declared ${spec.type}, the model file's is ${value.type}`,
          spec.name,
          "type",
        );
      }
      if (value.shape === null) continue;
      if (value.shape.length !== spec.shape.length) {
        throw new SignatureMismatchError(
          `${label}: declared rank ${spec.shape.length}, the model file's is ${value.shape.length}`,
          spec.name,
          "rank",
        );
      }
      value.shape.forEach((size, axis) => {
        const declared = spec.shape[axis];
        if (typeof size === "number" && declared !== null && size !== declared) {
          throw new SignatureMismatchError(
            `${label}: declared size ${declared} at dimension ${axis}, the model file fixes ${size}`,
            spec.name,
            "dimension",
          );
        }
      });
    }
  }
}

interface ModelValue {
  kind: Kind;
  value: ValueInfo;
}

/**
 * The size of each symbolic dimension the overrides fix: from `dims`, and from each tensor override at the axes
 * where the model declares a symbol. Checks every override against the model on the way.
 */
function symbolSizes(
  model: { inputs: readonly ValueInfo[]; outputs: readonly ValueInfo[] },
  values: readonly ModelValue[],
  overrides: ShapeOverrides,
): Map<string, number> {
  const symbols = new Set(
    values.flatMap(({ value }) => (value.shape ?? []).filter((d): d is string => typeof d === "string" && d !== "")),
  );
  // Each size with the flag that set it, for the message when another flag disagrees.
  const sizes = new Map<string, { size: number; source: string }>();
  const bind = (symbol: string, size: number, source: string): void => {
    const bound = sizes.get(symbol);
    if (bound === undefined) {
      sizes.set(symbol, { size, source });
    } else if (bound.size !== size) {
      throw new SignatureError(
        `${source} makes dimension ${quote(symbol)} ${size}, but ${bound.source} makes it ${bound.size}`,
      );
    }
  };

  for (const [symbol, size] of Object.entries(overrides.dims ?? {})) {
    if (!symbols.has(symbol)) {
      throw new SignatureError(
        `dimension override ${quote(symbol)}: the model has no symbolic dimension ${quote(symbol)}; its symbols are ` +
          nameList([...symbols]),
      );
    }
    bind(symbol, size, `--dim ${symbol}=${size}`);
  }

  for (const [name, shape] of Object.entries(overrides.tensors ?? {})) {
    const targets = values.filter((v) => v.value.name === name);
    if (targets.length === 0) {
      throw new SignatureError(
        `shape override for ${quote(name)}: the model has no input or output ${quote(name)}; its inputs are ` +
          `${nameList(model.inputs.map((v) => v.name))} and its outputs ${nameList(model.outputs.map((v) => v.name))}`,
        { tensor: name },
      );
    }
    const source = `--shape ${name}=${shape.length === 0 ? "[]" : shape.map((d) => d ?? "?").join(",")}`;
    for (const { kind, value } of targets) {
      const label = `shape override for ${kind} ${quote(name)}`;
      const declared = value.shape;
      if (kind === "input" && shape.includes(null)) {
        const axis = shape.indexOf(null);
        throw new SignatureError(`${label}: dimension ${axis} is dynamic; inputs are fixed`, { tensor: name });
      }
      if (declared === null) continue;
      if (shape.length !== declared.length) {
        throw new SignatureError(
          `${label}: rank ${shape.length} (${shapeText(shape)}), the model declares rank ${declared.length} ` +
            `(${declaredText(declared)})`,
          { tensor: name },
        );
      }
      declared.forEach((d, axis) => {
        const size = shape[axis];
        if (typeof d === "number" && size !== d) {
          throw new SignatureError(`${label}: dimension ${axis} is ${size ?? "?"}, the model fixes it at ${d}`, {
            tensor: name,
          });
        }
        if (typeof d === "string" && d !== "" && size !== null) bind(d, size, source);
      });
    }
  }
  return new Map([...sizes].map(([symbol, { size }]) => [symbol, size]));
}

/** A value's shape after the overrides; an input left dynamic or a value with no shape is an error. */
function resolveValue({ kind, value }: ModelValue, overrides: ShapeOverrides, sizes: Map<string, number>): TensorSpec {
  const { name, type } = value;
  if (hasOwn(overrides.tensors, name)) return { name, type, shape: [...overrides.tensors![name]] };
  if (value.shape === null) {
    throw new SignatureError(
      `${kind} ${quote(name)}: the model declares no shape; give it one with --shape ${name}=<d0>,<d1>,... ` +
        `(overrides.tensors[${quote(name)}])`,
      { tensor: name },
    );
  }
  const shape = value.shape.map((d) => (typeof d === "number" ? d : (sizes.get(d) ?? null)));
  const axis = kind === "input" ? shape.indexOf(null) : -1;
  if (axis >= 0) {
    const symbol = value.shape[axis] as string;
    const flag = `${shapeFlag(name, value.shape, shape)} (overrides.tensors)`;
    const fixes =
      symbol === ""
        ? `give the input its whole shape with ${flag}`
        : `size it with --dim ${symbol}=<size> (overrides.dims, everywhere ${quote(symbol)} appears) or ${flag}`;
    throw new SignatureError(
      `input ${quote(name)}: dimension ${axis} (${symbol === "" ? "unnamed" : `symbol ${quote(symbol)}`}) is ` +
        `dynamic, and every input dimension must be fixed: ${fixes}`,
      { tensor: name },
    );
  }
  return { name, type, shape };
}

/** A record with no prototype, so a name like "__proto__" is an ordinary key. */
const record = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

function parseSize(text: string, allowDynamic: boolean): number | null | undefined {
  if (allowDynamic && text === "?") return null;
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * The overrides of CLI flags, for deriveSignature. Each flag is one string, `--shape NAME=D0,D1,...` or
 * `--dim SYMBOL=SIZE` (also `--shape=NAME=...`, or the flag and its value as two strings, as argv holds them):
 *
 *   --shape features=1,4   the tensor "features" is [1,4]; `--shape x=[1,4]` is the same, `--shape s=[]` a scalar
 *   --shape logits=?,10    an output's dimension left dynamic
 *   --dim batch=1          every dimension named "batch" is 1
 *
 * A name runs to the last "=" (so it may hold one); sizes are decimal integers in 0..2^53-1. Throws
 * SignatureError naming the flag for anything else, and for a tensor or symbol given twice.
 */
export function parseShapeOverrides(specs: readonly string[]): Required<ShapeOverrides> {
  const tensors = record<(number | null)[]>();
  const dims = record<number>();
  for (let i = 0; i < specs.length; i++) {
    const token = specs[i];
    const match = typeof token === "string" ? /^--(shape|dim)(?:[= ]([\s\S]*))?$/.exec(token) : null;
    if (match === null) {
      throw new SignatureError(
        `${quote(String(token))}: not a shape flag (--shape NAME=D0,D1,... or --dim SYMBOL=SIZE)`,
      );
    }
    const flag = match[1] as "shape" | "dim";
    let value = match[2];
    if (value === undefined) {
      value = specs[++i];
      if (typeof value !== "string") throw new SignatureError(`--${flag}: needs a value`);
    }
    const text = `--${flag} ${value}`;
    const eq = value.lastIndexOf("=");
    const name = value.slice(0, Math.max(eq, 0));
    const rest = value.slice(eq + 1).trim();
    if (eq < 0 || name === "") {
      const form = flag === "shape" ? "NAME=D0,D1,..." : "SYMBOL=SIZE";
      throw new SignatureError(`${quote(text)}: expected --${flag} ${form}`);
    }
    if (flag === "dim") {
      if (Object.prototype.hasOwnProperty.call(dims, name)) {
        throw new SignatureError(
          `${quote(text)}: dimension ${quote(name)} is already given (--dim ${name}=${dims[name]})`,
        );
      }
      const size = parseSize(rest, false);
      if (size == null)
        throw new SignatureError(`${quote(text)}: ${quote(rest)} is not a size (an integer in 0..2^53-1)`);
      dims[name] = size;
      continue;
    }
    if (Object.prototype.hasOwnProperty.call(tensors, name)) {
      throw new SignatureError(
        `${quote(text)}: tensor ${quote(name)} already has a shape (${shapeText(tensors[name])})`,
        {
          tensor: name,
        },
      );
    }
    const inner = /^\[([\s\S]*)\]$/.exec(rest)?.[1] ?? rest;
    if (inner.trim() === "" && inner === rest) {
      throw new SignatureError(`${quote(text)}: no dimensions; a scalar is written ${name}=[]`, { tensor: name });
    }
    const parts = inner.trim() === "" ? [] : inner.split(",").map((s) => s.trim());
    tensors[name] = parts.map((part, axis) => {
      const size = parseSize(part, true);
      if (size === undefined) {
        throw new SignatureError(
          `${quote(text)}: dimension ${axis} (${quote(part)}) is not a size (an integer in 0..2^53-1, or ? for a ` +
            `dynamic output dimension)`,
          { tensor: name },
        );
      }
      return size;
    });
  }
  return { tensors, dims };
}

/** A name as it appears in formatSignature: bare when it is plainly a word, else JSON-quoted. */
const displayName = (name: string): string => (/^[\w.:/-]+$/.test(name) ? name : quote(name));

/**
 * The signature for people, one line per tensor, inputs then outputs, each list in name order, columns aligned:
 *
 *   input  features float32 [1,4]
 *   output label    int64   [?]
 *
 * `?` is a dynamic dimension, `[]` a scalar.
 */
export function formatSignature(sig: IoSignature | Uint8Array): string {
  const checked = checkedOf(sig);
  const rows = [
    ...checked.inputs.map((c) => ["input", c.spec] as const),
    ...checked.outputs.map((c) => ["output", c.spec] as const),
  ].map(([kind, spec]) => [kind, displayName(spec.name), spec.type, shapeText(spec.shape)]);
  const widths = [0, 1, 2].map((col) => Math.max(...rows.map((row) => row[col].length)));
  return rows.map((row) => row.map((cell, col) => (col < 3 ? cell.padEnd(widths[col]) : cell)).join(" ")).join("\n");
}
