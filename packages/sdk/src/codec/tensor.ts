/**
 * TrustML tensor encoding, version 1: the one byte format for the inputs and outputs of a job.
 *
 * This comment is the specification other implementations follow; docs/TENSOR-ENCODING.md repeats it with a
 * worked example whose bytes a test checks.
 *
 * A job's input or output is a list of named tensors. Its encoding is:
 *
 *   offset  size  field
 *   0       4     magic and version: the ASCII bytes "TML1" (54 4d 4c 31)
 *   4       4     count: the number of tensors, u32
 *   8       ...   the tensors, one after the other, in ascending order of name (see below)
 *
 * and each tensor is:
 *
 *   size      field
 *   2         name length L in bytes, u16, 1..65535
 *   L         name, UTF-8 (well-formed: no overlong forms, no surrogates; a leading U+FEFF is part of the name)
 *   1         element type code, u8 (the ONNX TensorProto.DataType number):
 *               1  float32  IEEE 754 binary32, 4 bytes
 *               2  uint8    1 byte
 *               3  int8     two's complement, 1 byte
 *               6  int32    two's complement, 4 bytes
 *               7  int64    two's complement, 8 bytes
 *               9  bool     1 byte, 0x00 (false) or 0x01 (true)
 *               11 float64  IEEE 754 binary64, 8 bytes
 *   1         rank R, u8, 0..255 (0 is a scalar, which has one element)
 *   8 × R     dimensions, each u64, outermost first; each at most 2^53 − 1
 *   E × size  data: the E = product(dimensions) elements in row-major (C) order; E = 0 when a dimension is 0
 *
 * Every integer field and every element is little-endian. There is no padding and nothing follows the last
 * tensor. Names are ordered by comparing their UTF-8 bytes as unsigned bytes (a name that is a prefix of
 * another comes first), and are strictly increasing: no two tensors share a name.
 *
 * Float elements are written as the bits the array holds: NaN payloads and the sign of zero are kept. So the
 * encoding is a bijection between tensor lists (as bits, in name order) and valid byte strings: every list has
 * exactly one encoding, and a decoder rejects any byte string that is not the encoding of some list (bad
 * magic, truncation, trailing bytes, names out of order or repeated, an empty or malformed name, an unknown
 * type code, a dimension over 2^53 − 1, a bool byte other than 0 or 1).
 *
 * The hash of an input or output is keccak256 of its encoding. Two outputs can agree under the model's
 * tolerance (compareOutputs) and still hash differently; the hash identifies bytes, compareOutputs decides
 * agreement.
 */
import { keccak256 } from "ethers";
import { ByteReader } from "./reader";

/** The element types a tensor can have. */
export type ElementType = "float32" | "float64" | "int32" | "int64" | "uint8" | "int8" | "bool";

/** The array that holds each element type's data; bool is a Uint8Array of 0 and 1. */
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

/** A named tensor: `data` holds product(shape) elements in row-major order. */
export interface Tensor {
  name: string;
  type: ElementType;
  shape: number[];
  data: TensorData;
}

/** A job's input or output. */
export type NamedTensors = Tensor[];

/** Agreement thresholds in parts per billion, as in IModelRegistry.ModelTerms. */
export interface Tolerance {
  relTolerance: number;
  absTolerance: number;
}

/** The result of comparing a posted output with a re-executed one. */
export interface Comparison {
  agree: boolean;
  /** Why they disagree: the first tensor (and flat element index) that differs. */
  reason?: string;
  /** Largest |posted − re-executed| over pairs of finite float elements; set when names, types and shapes match. */
  maxAbsDiff?: number;
}

/** A tensor list that cannot be encoded, or bytes that are not a valid encoding. */
export class CodecError extends Error {
  /** The tensor concerned, when there is one. */
  readonly tensor?: string;

  constructor(message: string, tensor?: string) {
    super(message);
    this.name = "CodecError";
    this.tensor = tensor;
  }
}

/** The four bytes every encoding starts with: ASCII "TML1", format version 1. */
export const MAGIC = new Uint8Array([0x54, 0x4d, 0x4c, 0x31]);

interface TypeInfo {
  code: number;
  size: number;
  /** Symbol.toStringTag of the array that holds the data. */
  array: string;
  make: (buffer: ArrayBuffer) => TensorData;
}

const TYPES: Record<ElementType, TypeInfo> = {
  float32: { code: 1, size: 4, array: "Float32Array", make: (b) => new Float32Array(b) },
  uint8: { code: 2, size: 1, array: "Uint8Array", make: (b) => new Uint8Array(b) },
  int8: { code: 3, size: 1, array: "Int8Array", make: (b) => new Int8Array(b) },
  int32: { code: 6, size: 4, array: "Int32Array", make: (b) => new Int32Array(b) },
  int64: { code: 7, size: 8, array: "BigInt64Array", make: (b) => new BigInt64Array(b) },
  bool: { code: 9, size: 1, array: "Uint8Array", make: (b) => new Uint8Array(b) },
  float64: { code: 11, size: 8, array: "Float64Array", make: (b) => new Float64Array(b) },
};

/** The element type code written in the encoding for each type (the ONNX TensorProto.DataType number). */
export const TYPE_CODES: Readonly<Record<ElementType, number>> = Object.freeze(
  Object.fromEntries(Object.entries(TYPES).map(([t, info]) => [t, info.code])) as Record<ElementType, number>,
);

const TYPE_BY_CODE = new Map<number, ElementType>((Object.keys(TYPES) as ElementType[]).map((t) => [TYPES[t].code, t]));

/** The size in bytes of one element of each type. */
export const ELEMENT_SIZES: Readonly<Record<ElementType, number>> = Object.freeze(
  Object.fromEntries(Object.entries(TYPES).map(([t, info]) => [t, info.size])) as Record<ElementType, number>,
);

/** The element types, in the order of their codes. */
export const ELEMENT_TYPES: readonly ElementType[] = [...TYPE_BY_CODE.entries()]
  .sort((a, b) => a[0] - b[0])
  .map(([, t]) => t);

/** Whether `type` is one of the element types the codec knows. */
export function isElementType(type: unknown): type is ElementType {
  return typeof type === "string" && Object.prototype.hasOwnProperty.call(TYPES, type);
}

/** The longest name, in bytes of UTF-8 (its length is a u16). */
export const MAX_NAME_BYTES = 0xffff;
const MAX_RANK = 0xff;
const MAX_COUNT = 0xffffffff;
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function quote(name: string): string {
  return JSON.stringify(name);
}

function typeTag(value: unknown): string {
  if (ArrayBuffer.isView(value)) return (value as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag];
  if (value === null) return "null";
  if (Array.isArray(value)) return "Array";
  return typeof value;
}

/** Number of elements of a shape, or a value above `limit` when it has more than `limit` elements. */
function elementCount(shape: readonly number[], limit: number): number {
  if (shape.some((d) => d === 0)) return 0;
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (count > limit) return limit + 1;
  }
  return count;
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/**
 * The order of names in an encoding: their UTF-8 bytes compared as unsigned bytes, a prefix before its extensions.
 * Negative when `a` comes first, 0 when equal.
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * A name read from its bytes: strict UTF-8 (no overlong forms, no surrogates), a leading U+FEFF kept as part of
 * the name. undefined when the bytes are not well-formed UTF-8.
 */
export function decodeName(bytes: Uint8Array): string | undefined {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** A name's UTF-8 bytes; throws when the string cannot round-trip through UTF-8 (a lone surrogate). */
function nameBytes(name: string, index: number): Uint8Array {
  if (typeof name !== "string" || name.length === 0) {
    throw new CodecError(`tensor #${index}: name must be a non-empty string, got ${quote(String(name))}`);
  }
  const bytes = utf8Encoder.encode(name);
  if (decodeName(bytes) !== name) {
    throw new CodecError(`tensor ${quote(name)}: name is not well-formed Unicode (lone surrogate)`, name);
  }
  if (bytes.length > MAX_NAME_BYTES) {
    throw new CodecError(
      `tensor ${quote(name.slice(0, 32))}...: name is ${bytes.length} bytes of UTF-8, at most ${MAX_NAME_BYTES}`,
      name,
    );
  }
  return bytes;
}

/** Checks one tensor against the format's rules (its name first); returns its type info and name bytes. */
function checkTensor(tensor: Tensor, index: number): { info: TypeInfo; nameBytes: Uint8Array } {
  if (typeof tensor !== "object" || tensor === null) throw new CodecError(`tensor #${index} is not an object`);
  const { name, type, shape, data } = tensor;
  const utf8 = nameBytes(name, index);
  const label = `tensor ${quote(name)}`;
  if (!isElementType(type)) {
    throw new CodecError(`${label}: unknown element type ${quote(String(type))}`, name);
  }
  const info = TYPES[type];
  if (!Array.isArray(shape)) throw new CodecError(`${label}: shape must be an array`, name);
  if (shape.length > MAX_RANK) throw new CodecError(`${label}: rank ${shape.length} exceeds ${MAX_RANK}`, name);
  shape.forEach((d, axis) => {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      throw new CodecError(
        `${label}: dimension ${axis} is ${String(d)}; dimensions must be integers in 0..2^53-1`,
        name,
      );
    }
  });
  if (typeTag(data) !== info.array) {
    throw new CodecError(`${label}: ${type} data must be a ${info.array}, got ${typeTag(data)}`, name);
  }
  const count = elementCount(shape, Number.MAX_SAFE_INTEGER);
  if (data.length !== count) {
    const needed = count > Number.MAX_SAFE_INTEGER ? "more than 2^53-1" : String(count);
    throw new CodecError(
      `${label}: data has ${data.length} elements but shape ${formatShape(shape)} needs ${needed}`,
      name,
    );
  }
  if (type === "bool") {
    const bytes = data as Uint8Array;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] > 1) throw new CodecError(`${label}: bool element ${i} is ${bytes[i]}, must be 0 or 1`, name);
    }
  }
  return { info, nameBytes: utf8 };
}

interface Checked {
  tensor: Tensor;
  info: TypeInfo;
  nameBytes: Uint8Array;
}

/** Checks every tensor and returns them sorted by name bytes; throws on a duplicate name. */
function checkList(tensors: readonly Tensor[]): Checked[] {
  if (!Array.isArray(tensors)) throw new CodecError("tensors must be an array");
  if (tensors.length > MAX_COUNT) throw new CodecError(`${tensors.length} tensors, at most ${MAX_COUNT}`);
  const checked = tensors.map((tensor, i) => ({ tensor, ...checkTensor(tensor, i) }));
  checked.sort((a, b) => compareBytes(a.nameBytes, b.nameBytes));
  for (let i = 1; i < checked.length; i++) {
    if (compareBytes(checked[i - 1].nameBytes, checked[i].nameBytes) === 0) {
      const name = checked[i].tensor.name;
      throw new CodecError(`tensor ${quote(name)}: duplicate name`, name);
    }
  }
  return checked;
}

/**
 * Checks a tensor list against encodeTensors's rules without encoding it; throws the same CodecError.
 */
export function validateTensors(tensors: NamedTensors): void {
  checkList(tensors);
}

/** Copies elements of `size` bytes between little-endian bytes and host order (a no-op copy on LE hosts). */
function copyLittleEndian(source: Uint8Array, target: Uint8Array, offset: number, size: number): void {
  if (HOST_LITTLE_ENDIAN || size === 1) {
    target.set(source, offset);
    return;
  }
  for (let i = 0; i < source.length; i += size) {
    for (let j = 0; j < size; j++) target[offset + i + j] = source[i + size - 1 - j];
  }
}

function writeU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value % 2 ** 32, true);
  view.setUint32(offset + 4, Math.floor(value / 2 ** 32), true);
}

/**
 * Encodes a tensor list canonically (see the format at the top of this file). The list may be in any order;
 * the encoding sorts it by name. Throws CodecError naming the tensor for an empty, malformed or duplicate
 * name, an unknown type, data of the wrong array type or length, a bool other than 0/1, a rank over 255 or a
 * dimension that is negative, fractional or over 2^53 − 1.
 */
export function encodeTensors(tensors: NamedTensors): Uint8Array {
  const checked = checkList(tensors);
  let size = MAGIC.length + 4;
  for (const c of checked) size += 2 + c.nameBytes.length + 2 + 8 * c.tensor.shape.length + c.tensor.data.byteLength;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(4, checked.length, true);
  let offset = 8;
  for (const { tensor, info, nameBytes: name } of checked) {
    view.setUint16(offset, name.length, true);
    out.set(name, offset + 2);
    offset += 2 + name.length;
    out[offset++] = info.code;
    out[offset++] = tensor.shape.length;
    for (const d of tensor.shape) {
      writeU64(view, offset, d);
      offset += 8;
    }
    const data = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    copyLittleEndian(data, out, offset, info.size);
    offset += data.length;
  }
  return out;
}

/** The tensor-list decoder's cursor: running out of bytes is a CodecError naming the tensor. */
class Reader extends ByteReader {
  protected truncated(n: number, what: string, tensor?: string): never {
    const where = tensor === undefined ? "" : ` of tensor ${quote(tensor)}`;
    throw new CodecError(
      `truncated: ${what}${where} needs ${n} bytes at offset ${this.offset}, only ${this.remaining} left`,
      tensor,
    );
  }
}

/**
 * Decodes bytes produced by encodeTensors; the result is in name order and owns fresh arrays. Throws
 * CodecError for anything that is not exactly the encoding of a tensor list: bad magic or version, truncation,
 * trailing bytes, names empty, not UTF-8, out of order or repeated, an unknown type code, a dimension over
 * 2^53 − 1, a bool byte other than 0 or 1.
 */
export function decodeTensors(bytes: Uint8Array): NamedTensors {
  if (typeTag(bytes) !== "Uint8Array") throw new CodecError(`bytes must be a Uint8Array, got ${typeTag(bytes)}`);
  const r = new Reader(bytes);
  const magic = r.take(MAGIC.length, "header");
  if (compareBytes(magic, MAGIC) !== 0) {
    throw new CodecError(`bad header: expected "TML1" (544d4c31), got ${Buffer.from(magic).toString("hex")}`);
  }
  const count = r.u32("tensor count");
  const tensors: Tensor[] = [];
  let previous: Uint8Array | undefined;
  let previousName = "";
  for (let i = 0; i < count; i++) {
    const nameStart = r.offset;
    const nameLength = r.u16(`name length of tensor #${i}`);
    if (nameLength === 0) throw new CodecError(`tensor #${i} at offset ${nameStart}: empty name`);
    const raw = r.take(nameLength, `name of tensor #${i}`);
    const name = decodeName(raw);
    if (name === undefined) throw new CodecError(`tensor #${i} at offset ${nameStart}: name is not valid UTF-8`);
    if (previous !== undefined) {
      const order = compareBytes(previous, raw);
      if (order === 0) throw new CodecError(`tensor ${quote(name)}: duplicate name`, name);
      if (order > 0) {
        throw new CodecError(
          `tensor ${quote(name)}: names not in ascending byte order (after ${quote(previousName)})`,
          name,
        );
      }
    }
    previous = raw;
    previousName = name;
    const code = r.u8("type code", name);
    const type = TYPE_BY_CODE.get(code);
    if (type === undefined) throw new CodecError(`tensor ${quote(name)}: unknown element type code ${code}`, name);
    const info = TYPES[type];
    const rank = r.u8("rank", name);
    const shape: number[] = [];
    for (let axis = 0; axis < rank; axis++) {
      const dimension = r.u64(`dimension ${axis}`, name);
      if (dimension > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new CodecError(`tensor ${quote(name)}: dimension ${axis} exceeds 2^53-1`, name);
      }
      shape.push(Number(dimension));
    }
    const maxElements = Math.floor(r.remaining / info.size);
    const elements = elementCount(shape, maxElements);
    if (elements > maxElements) {
      throw new CodecError(
        `truncated: data of tensor ${quote(name)} (shape ${formatShape(shape)}) is longer than the ` +
          `${r.remaining} bytes left at offset ${r.offset}`,
        name,
      );
    }
    const raw2 = r.take(elements * info.size, "data", name);
    const buffer = new ArrayBuffer(raw2.length);
    copyLittleEndian(raw2, new Uint8Array(buffer), 0, info.size);
    const data = info.make(buffer);
    if (type === "bool") {
      const b = data as Uint8Array;
      for (let k = 0; k < b.length; k++) {
        if (b[k] > 1) throw new CodecError(`tensor ${quote(name)}: bool element ${k} is ${b[k]}, must be 0 or 1`, name);
      }
    }
    tensors.push({ name, type, shape, data });
  }
  if (r.remaining !== 0) {
    throw new CodecError(`trailing bytes: ${r.remaining} bytes after the last tensor, at offset ${r.offset}`);
  }
  return tensors;
}

/** keccak256 of bytes, as 0x-prefixed lowercase hex. */
export function hashBytes(bytes: Uint8Array): string {
  return keccak256(bytes);
}

/** The hash of an input or output: keccak256 of its encoding, as 0x-prefixed lowercase hex. */
export function hashTensors(tensors: NamedTensors): string {
  return keccak256(encodeTensors(tensors));
}

function checkTolerance(name: string, value: number): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`${name} must be an integer number of parts per billion in 0..2^32-1, got ${String(value)}`);
  }
}

const isFloat = (type: ElementType): boolean => type === "float32" || type === "float64";

/**
 * Compares an output a worker posted with the verifier's re-execution of the same job.
 *
 * They agree when both lists hold the same names, each name with the same element type and shape, and every
 * pair of elements agrees:
 * - integers (int8, int32, int64, uint8) and bools: exactly equal;
 * - floats, `a` posted and `b` re-executed: when both are finite, `|a - b| <= max(absTolerance / 1e9,
 *   (relTolerance / 1e9) * |b|)`, evaluated in IEEE 754 double precision as written, each operation rounded
 *   to nearest (float32 values widen to double exactly). The relative bound scales with the re-executed value. -0 and +0 are equal.
 *   Otherwise: NaN agrees only with NaN (whatever the payload or sign bit), +Infinity only with +Infinity,
 *   -Infinity only with -Infinity; a finite value never agrees with NaN or an infinity.
 *
 * Tolerances are parts per billion (IModelRegistry.ModelTerms), integers in 0..2^32-1, else RangeError.
 * Both lists must be valid tensor lists (encodeTensors's rules, any order), else CodecError.
 *
 * The reason names the first difference in name order: a missing or extra tensor, a type or shape mismatch,
 * or the first disagreeing element by flat (row-major) index. maxAbsDiff is the largest |a - b| over pairs of
 * finite float elements across all tensors; it is set whenever names, types and shapes match.
 */
export function compareOutputs(posted: NamedTensors, reexecuted: NamedTensors, tolerance: Tolerance): Comparison {
  checkTolerance("relTolerance", tolerance?.relTolerance);
  checkTolerance("absTolerance", tolerance?.absTolerance);
  const absTol = tolerance.absTolerance / 1e9;
  const relTol = tolerance.relTolerance / 1e9;
  const p = checkList(posted);
  const q = checkList(reexecuted);

  for (let i = 0; i < Math.max(p.length, q.length); i++) {
    const order = i >= p.length ? 1 : i >= q.length ? -1 : compareBytes(p[i].nameBytes, q[i].nameBytes);
    if (order > 0) {
      return { agree: false, reason: `tensor ${quote(q[i].tensor.name)} is missing from the posted output` };
    }
    if (order < 0) {
      return { agree: false, reason: `tensor ${quote(p[i].tensor.name)} is in the posted output only` };
    }
  }
  for (let i = 0; i < p.length; i++) {
    const a = p[i].tensor;
    const b = q[i].tensor;
    if (a.type !== b.type) {
      return { agree: false, reason: `tensor ${quote(a.name)}: type ${a.type} posted, ${b.type} re-executed` };
    }
    if (a.shape.length !== b.shape.length || a.shape.some((d, k) => d !== b.shape[k])) {
      return {
        agree: false,
        reason: `tensor ${quote(a.name)}: shape ${formatShape(a.shape)} posted, ${formatShape(b.shape)} re-executed`,
      };
    }
  }

  let reason: string | undefined;
  let maxAbsDiff = 0;
  for (let i = 0; i < p.length; i++) {
    const { name, type, data: x } = p[i].tensor;
    const y = q[i].tensor.data;
    if (isFloat(type)) {
      const xs = x as Float32Array | Float64Array;
      const ys = y as Float32Array | Float64Array;
      for (let k = 0; k < xs.length; k++) {
        const a = xs[k];
        const b = ys[k];
        let ok: boolean;
        let bound = 0;
        if (Number.isFinite(a) && Number.isFinite(b)) {
          const diff = Math.abs(a - b);
          if (diff > maxAbsDiff) maxAbsDiff = diff;
          bound = Math.max(absTol, relTol * Math.abs(b));
          ok = diff <= bound;
        } else {
          ok = Number.isNaN(a) ? Number.isNaN(b) : a === b;
        }
        if (!ok && reason === undefined) {
          const detail = Number.isFinite(a) && Number.isFinite(b) ? ` (|diff| ${Math.abs(a - b)} > ${bound})` : "";
          reason = `tensor ${quote(name)} element ${k}: posted ${a}, re-executed ${b}${detail}`;
        }
      }
    } else if (reason === undefined) {
      for (let k = 0; k < x.length; k++) {
        if (x[k] !== y[k]) {
          reason = `tensor ${quote(name)} element ${k}: posted ${x[k]}, re-executed ${y[k]} (${type}, exact)`;
          break;
        }
      }
    }
  }
  return reason === undefined ? { agree: true, maxAbsDiff } : { agree: false, reason, maxAbsDiff };
}
