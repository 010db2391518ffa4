/**
 * Tensors as JSON, for files people write by hand (`job:request --input`) and for printing decoded outputs:
 *
 *   { "tensors": [ { "name": "features", "type": "float32", "shape": [1, 4], "data": [0.5, 1, -2, 3] } ] }
 *
 * `data` lists the elements in row-major order (nested arrays are flattened). int64 elements may be numbers
 * (safe integers) or decimal strings; bool elements true/false or 0/1. The codec (packages/sdk/src/codec) then checks the
 * tensors and encodes them canonically.
 */
import { isElementType, type ElementType, type NamedTensors, type Tensor, type TensorData } from "./codec";

export interface TensorJson {
  name: string;
  type: ElementType;
  shape: number[];
  data: (number | string | boolean)[];
}

/** A JSON input that is not a tensor list, with the path of the bad field. */
export class TensorJsonError extends Error {}

const ARRAYS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint8: Uint8Array,
  int8: Int8Array,
} as const;

const INTEGER_RANGES: Partial<Record<ElementType, [number, number]>> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint8: [0, 255],
  int8: [-128, 127],
};

function flatten(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new TensorJsonError(`${where}: data must be an array`);
  return value.flat(Infinity);
}

function toBigInt(value: unknown, where: string): bigint {
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^-?\d+$/.test(value.trim())) return BigInt(value.trim());
  throw new TensorJsonError(
    `${where}: an int64 element must be a safe integer or a decimal string, got ${JSON.stringify(value)}`,
  );
}

function tensorFromJson(value: unknown, index: number): Tensor {
  const where = `tensors[${index}]`;
  if (value === null || typeof value !== "object") throw new TensorJsonError(`${where}: not an object`);
  const t = value as Record<string, unknown>;
  if (typeof t.name !== "string") throw new TensorJsonError(`${where}.name: must be a string`);
  const label = `${where} ("${t.name}")`;
  if (!isElementType(t.type)) {
    throw new TensorJsonError(
      `${label}.type: ${JSON.stringify(t.type)} is not float32, float64, int32, int64, uint8, int8 or bool`,
    );
  }
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new TensorJsonError(`${label}.shape: must be an array of non-negative integers`);
  }
  const elements = flatten(t.data, `${label}.data`);
  const type = t.type;
  let data: TensorData;
  if (type === "int64") {
    data = BigInt64Array.from(elements.map((e, i) => toBigInt(e, `${label}.data[${i}]`)));
  } else if (type === "bool") {
    data = Uint8Array.from(
      elements.map((e, i) => {
        if (e === true || e === 1) return 1;
        if (e === false || e === 0) return 0;
        throw new TensorJsonError(`${label}.data[${i}]: a bool element must be true, false, 0 or 1`);
      }),
    );
  } else {
    const numbers = elements.map((e, i) => {
      if (typeof e !== "number") throw new TensorJsonError(`${label}.data[${i}]: must be a number`);
      const range = INTEGER_RANGES[type];
      if (range !== undefined && !(Number.isInteger(e) && e >= range[0] && e <= range[1])) {
        throw new TensorJsonError(
          `${label}.data[${i}]: ${e} is not a ${type} (an integer in ${range[0]}..${range[1]})`,
        );
      }
      return e;
    });
    data = ARRAYS[type].from(numbers);
  }
  return { name: t.name, type, shape: t.shape as number[], data };
}

/** Parses `{ "tensors": [...] }` (or a bare array of tensors) into tensors; throws TensorJsonError. */
export function tensorsFromJson(value: unknown): NamedTensors {
  const list = Array.isArray(value) ? value : (value as { tensors?: unknown } | null)?.tensors;
  if (!Array.isArray(list)) throw new TensorJsonError(`expected { "tensors": [ ... ] }`);
  return list.map(tensorFromJson);
}

/** Tensors as plain JSON values: int64 elements as decimal strings, bool as true/false. */
export function tensorsToJson(tensors: NamedTensors): TensorJson[] {
  return tensors.map((t) => ({
    name: t.name,
    type: t.type,
    shape: [...t.shape],
    data:
      t.data instanceof BigInt64Array
        ? Array.from(t.data, (v) => v.toString())
        : t.type === "bool"
          ? Array.from(t.data as Uint8Array, (v) => v === 1)
          : Array.from(t.data as Exclude<TensorData, BigInt64Array>),
  }));
}
