import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { readFileSync } from "node:fs";
import path from "node:path";
import { hexlify } from "ethers";
import type { TensorReaderHarness } from "../../typechain-types";
import {
  CodecError,
  ELEMENT_TYPES,
  TYPE_CODES,
  decodeTensors,
  encodeTensors,
  type ElementType,
  type Tensor,
  type TensorData,
} from "../../packages/sdk/src/codec";
import { argmax, f32, f64 } from "../fixtures/tensors";

/** A tensor's view, as the harness returns it and takes it back. */
type View = Awaited<ReturnType<TensorReaderHarness["find"]>>;
/** A view's fields as a plain object, which the harness takes back (a returned Result is read-only). */
interface ViewFields {
  nameAt: bigint | number;
  nameLength: bigint | number;
  typeCode: bigint | number;
  rank: bigint | number;
  dimsAt: bigint | number;
  elementCount: bigint | number;
  dataAt: bigint | number;
}

/**
 * Reproducible: fast-check's seed is fixed (PROPERTY_SEED overrides it); a failure prints the seed and path that
 * replay it.
 */
const SEED = process.env.PROPERTY_SEED ? Number(process.env.PROPERTY_SEED) : 0x7e450;
const READ_RUNS = 30;
const MUTATION_RUNS = 100;

const MAX_DIMENSION = 2 ** 53 - 1;
const mask = (types: readonly ElementType[]) => types.reduce((m, t) => m | (1n << BigInt(TYPE_CODES[t])), 0n);
const INTEGER_TYPES = mask(["uint8", "int8", "int32", "int64", "bool"]);
const FLOAT_TYPES = mask(["float32", "float64"]);
const NUMERIC_TYPES = mask(ELEMENT_TYPES);

const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/^0x/, "").replace(/\s+/g, ""), "hex"));
const isFloat = (type: ElementType) => type === "float32" || type === "float64";

/** The worked example's bytes, from the ```hex block of docs/TENSOR-ENCODING.md. */
function docExample(): Uint8Array {
  const doc = readFileSync(path.join(__dirname, "..", "..", "docs", "TENSOR-ENCODING.md"), "utf8");
  const block = /```hex\n([\s\S]*?)```/.exec(doc);
  if (block === null) throw new Error("no ```hex block in docs/TENSOR-ENCODING.md");
  return unhex(
    block[1]
      .split("\n")
      .map((line) => line.replace(/#.*$/, ""))
      .join(""),
  );
}

const EXAMPLE = docExample();

/**
 * The worked example's fields, [offset, size], in order: the offset a reader must report when the list ends inside
 * the field (a tensor's data is one field: the reader checks it whole).
 */
const EXAMPLE_FIELDS: readonly [number, number][] = [
  [0, 4], // magic
  [4, 4], // count
  [8, 2], // "delta": name length, name, type, rank, data
  [10, 5],
  [15, 1],
  [16, 1],
  [17, 8],
  [25, 2], // "mask": name length, name, type, rank, dim, data
  [27, 4],
  [31, 1],
  [32, 1],
  [33, 8],
  [41, 3],
  [44, 2], // "score": name length, name, type, rank, dim, data
  [46, 5],
  [51, 1],
  [52, 1],
  [53, 8],
  [61, 8],
];
/** The example's tensors: name, and the offset where each ends. */
const EXAMPLE_TENSORS = [
  { name: "delta", end: 25 },
  { name: "mask", end: 44 },
  { name: "score", end: 69 },
] as const;

/** The offset of the first field of the example that a list of its first `n` bytes cuts. */
function cutField(n: number): number {
  return EXAMPLE_FIELDS.find(([at, size]) => at + size > n)![0];
}

async function readerFixture(): Promise<{ reader: TensorReaderHarness }> {
  return { reader: (await ethers.deployContract("TensorReaderHarness")) as unknown as TensorReaderHarness };
}

/** `bytes` with `value` written little-endian over `size` bytes at `at`. */
function patched(bytes: Uint8Array, at: number, size: number, value: bigint): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let k = 0; k < size; k++) out[at + k] = Number((value >> BigInt(8 * k)) & 0xffn);
  return out;
}

/** A TML1 list holding `count` in its header and the given tensors' bytes in the given order (any order). */
function rawList(tensors: Tensor[], count = tensors.length): Uint8Array {
  const bodies = tensors.map((t) => encodeTensors([t]).subarray(8));
  const header = patched(encodeTensors([]), 4, 4, BigInt(count));
  return Uint8Array.from(Buffer.concat([header, ...bodies]));
}

/** A tensor from raw element values (the bits, for floats). */
function tensorOf(name: string, type: ElementType, shape: number[], raw: readonly bigint[]): Tensor {
  let data: TensorData;
  switch (type) {
    case "float32":
      data = new Float32Array(Uint32Array.from(raw, Number).buffer);
      break;
    case "float64":
      data = new Float64Array(BigUint64Array.from(raw).buffer);
      break;
    case "int64":
      data = BigInt64Array.from(raw, (v) => BigInt.asIntN(64, v));
      break;
    case "int32":
      data = Int32Array.from(raw, (v) => Number(BigInt.asIntN(32, v)));
      break;
    case "int8":
      data = Int8Array.from(raw, (v) => Number(BigInt.asIntN(8, v)));
      break;
    default:
      data = Uint8Array.from(raw, Number);
  }
  return { name, type, shape, data };
}

/** The elements as the reader returns them: integers as bigint, floats as their IEEE 754 bits. */
function elementsOf(t: Tensor): bigint[] {
  if (t.type === "float32") return [...new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length)].map(BigInt);
  if (t.type === "float64") return [...new BigUint64Array(t.data.buffer, t.data.byteOffset, t.data.length)];
  return [...(t.data as Exclude<TensorData, Float32Array | Float64Array>)].map((v) => BigInt(v));
}

/** TensorReader's argmax of a tensor's elements. */
const argmaxOf = (t: Tensor): number | undefined => argmax(t.data as ArrayLike<number | bigint>);

const product = (shape: readonly number[]) => shape.reduce((a, d) => a * d, 1);

/**
 * Checks every accessor of the reader on `list` against `tensors`, its decoding: for each tensor, through the
 * harness's `read` (at, name, find, shape, intAt or floatBitsAt on every element) and `argmaxOf` (find, argmax).
 */
async function expectReadsLike(reader: TensorReaderHarness, list: Uint8Array, tensors: Tensor[]): Promise<void> {
  const [count, validated] = await Promise.all([reader.count(list), reader.validate(list)]);
  expect([count, validated]).to.deep.equal([BigInt(tensors.length), BigInt(tensors.length)]);
  await Promise.all(
    tensors.map(async (t, i) => {
      const label = `tensor #${i} ${JSON.stringify(t.name)}`;
      const best = argmaxOf(t);
      const argmax =
        best === undefined
          ? expect(reader.argmaxOf(list, t.name), label)
              .to.be.revertedWithCustomError(reader, "TensorReaderNoArgmax")
              .withArgs(product(t.shape))
          : expect(reader.argmaxOf(list, t.name), label).to.eventually.equal(BigInt(best));
      const [view, found, name, shape, ints, bits] = await reader.read(list, i);
      expect(viewFields(found), label).to.deep.equal(viewFields(view));
      expect(name, label).to.equal(t.name);
      expect([view.typeCode, view.rank, view.elementCount], label).to.deep.equal(
        [TYPE_CODES[t.type], t.shape.length, product(t.shape)].map(BigInt),
      );
      expect(shape, label).to.deep.equal(t.shape.map(BigInt));
      expect(isFloat(t.type) ? bits : ints, label).to.deep.equal(elementsOf(t));
      expect((isFloat(t.type) ? ints : bits).length, label).to.equal(0);
      await argmax;
    }),
  );
}

// Arbitraries: random tensor lists, with the values where readers go wrong over-represented.
const F32_SPECIAL = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x7f800001, 1, 0x80000001];
const F32_COMMON = [0x3fc00000, 0xc0000000, 0x3f800000, 0xbf800000]; // 1.5, -2, 1, -1: ties
const F64_SPECIAL = [
  0n,
  1n << 63n,
  0x7ff0000000000000n,
  0xfff0000000000000n,
  0x7ff8000000000000n,
  0xfff0000000000001n,
  1n,
  (1n << 63n) | 1n,
  0x3ff8000000000000n, // 1.5
  0xc000000000000000n, // -2
];

function elementArb(type: ElementType): fc.Arbitrary<bigint> {
  const int = (min: number, max: number, special: number[]) =>
    fc.oneof(fc.constantFrom(...special), fc.integer({ min, max })).map(BigInt);
  switch (type) {
    case "float32":
      return fc
        .oneof(fc.constantFrom(...F32_SPECIAL, ...F32_COMMON), fc.integer({ min: 0, max: 0xffffffff }))
        .map(BigInt);
    case "float64":
      return fc.oneof(fc.constantFrom(...F64_SPECIAL), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));
    case "int64":
      return fc.oneof(
        fc.constantFrom(-(1n << 63n), (1n << 63n) - 1n, -1n, 0n),
        fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
      );
    case "int32":
      return int(-(2 ** 31), 2 ** 31 - 1, [-(2 ** 31), 2 ** 31 - 1, -1, 0]);
    case "int8":
      return int(-128, 127, [-128, 127, -1, 0]);
    case "uint8":
      return int(0, 255, [0, 255, 128]);
    case "bool":
      return int(0, 1, [0, 1]);
  }
}

/** Names: any Unicode, with prefixes of each other and names longer than a word over-represented. */
const nameArb = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 6 }),
  fc.constantFrom("a", "ab", "b", "x".repeat(31) + "y", "x".repeat(32), "x".repeat(33), "é", "\u{1f600}"),
);

/** Shapes of up to 64 elements, now and then with huge dimensions beside a 0. */
const shapeArb = fc
  .tuple(fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }), fc.integer({ min: 0, max: 9 }))
  .map(([shape, odd]) => (odd === 0 ? [...shape, MAX_DIMENSION, 0, MAX_DIMENSION] : shape));

const tensorArb: fc.Arbitrary<Tensor> = fc
  .record({ name: nameArb, type: fc.constantFrom(...ELEMENT_TYPES), shape: shapeArb })
  .chain(({ name, type, shape }) => {
    const n = product(shape);
    return fc.array(elementArb(type), { minLength: n, maxLength: n }).map((raw) => tensorOf(name, type, shape, raw));
  });

const listArb = fc.uniqueArray(tensorArb, { selector: (t) => t.name, maxLength: 5 });

type Mutation =
  | { kind: "cut"; at: number }
  | { kind: "xor"; at: number; mask: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "append"; bytes: number[] };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("xor" as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.constantFrom(0, 1, 2, 0x80, 0xff) }),
  fc.record({ kind: fc.constant("append" as const), bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 3 }) }),
);

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  if (m.kind === "append") return Uint8Array.from([...bytes, ...m.bytes]);
  if (m.kind === "cut") return bytes.slice(0, m.at % bytes.length);
  const out = Uint8Array.from(bytes);
  const at = m.at % out.length;
  out[at] = m.kind === "xor" ? out[at] ^ m.mask : m.value;
  return out;
}

/** The name of the error a call reverted with (parsed from the harness's ABI), or "panic"/"empty" otherwise. */
async function refusal(call: Promise<unknown>, reader: TensorReaderHarness): Promise<string | undefined> {
  try {
    await call;
    return undefined;
  } catch (e) {
    const data = (e as { data?: string }).data;
    if (data === undefined || data === "0x") return "empty";
    return reader.interface.parseError(data)?.name ?? "unknown";
  }
}

describe("TensorReader", function () {
  describe("on the worked example of docs/TENSOR-ENCODING.md", function () {
    it("counts and validates its three tensors and finds each at the offsets the layout gives", async function () {
      const { reader } = await loadFixture(readerFixture);
      expect(await reader.count(EXAMPLE)).to.equal(3);
      expect(await reader.validate(EXAMPLE)).to.equal(3);
      // [nameAt, nameLength, typeCode, rank, dimsAt, elementCount, dataAt]
      const delta = [10n, 5n, 7n, 0n, 17n, 1n, 17n];
      const mask = [27n, 4n, 9n, 1n, 33n, 3n, 41n];
      const score = [46n, 5n, 1n, 1n, 53n, 2n, 61n];
      expect(await reader.find(EXAMPLE, "delta")).to.deep.equal(delta);
      expect(await reader.find(EXAMPLE, "mask")).to.deep.equal(mask);
      expect(await reader.find(EXAMPLE, "score")).to.deep.equal(score);
      expect(await reader.at(EXAMPLE, 0)).to.deep.equal(delta);
      expect(await reader.at(EXAMPLE, 1)).to.deep.equal(mask);
      expect(await reader.at(EXAMPLE, 2)).to.deep.equal(score);
      for (const [i, name] of ["delta", "mask", "score"].entries()) {
        expect(await reader.name(EXAMPLE, viewFields(await reader.at(EXAMPLE, i)))).to.equal(name);
      }
    });

    it("reads delta = -2 (int64 scalar), mask = [1, 0, 1], score = [1.5, -2] as float32 bits, and their argmax", async function () {
      const { reader } = await loadFixture(readerFixture);
      const delta = viewFields(await reader.find(EXAMPLE, "delta"));
      const mask = viewFields(await reader.find(EXAMPLE, "mask"));
      const score = viewFields(await reader.find(EXAMPLE, "score"));
      expect(await reader.shape(EXAMPLE, delta)).to.deep.equal([]);
      expect(await reader.intAt(EXAMPLE, delta, 0)).to.equal(-2n);
      expect(await reader.shape(EXAMPLE, mask)).to.deep.equal([3n]);
      expect(await reader.dim(EXAMPLE, mask, 0)).to.equal(3n);
      expect(await reader.ints(EXAMPLE, mask)).to.deep.equal([1n, 0n, 1n]);
      expect(await reader.shape(EXAMPLE, score)).to.deep.equal([2n]);
      expect(await reader.floatBitsAt(EXAMPLE, score, 0)).to.equal(0x3fc00000n);
      expect(await reader.floatBitsAt(EXAMPLE, score, 1)).to.equal(0xc0000000n);
      expect(await reader.argmax(EXAMPLE, delta)).to.equal(0n);
      expect(await reader.argmax(EXAMPLE, mask)).to.equal(0n);
      expect(await reader.argmax(EXAMPLE, score)).to.equal(0n);
      expect(await reader.argmaxOf(EXAMPLE, "score")).to.equal(0n);
    });

    it("reads it as the TypeScript codec decodes it", async function () {
      const { reader } = await loadFixture(readerFixture);
      await expectReadsLike(reader, EXAMPLE, decodeTensors(EXAMPLE));
    });
  });

  describe("property: random lists encoded by the TypeScript codec", function () {
    it(`every accessor returns what decodeTensors gives (${READ_RUNS} runs, seed ${SEED})`, async function () {
      const { reader } = await loadFixture(readerFixture);
      await fc.assert(
        fc.asyncProperty(listArb, async (tensors) => {
          const list = encodeTensors(tensors);
          await expectReadsLike(reader, list, decodeTensors(list));
          const absent = "\u0000absent";
          expect(await reader.tryFind(list, absent)).to.deep.equal([false, [0n, 0n, 0n, 0n, 0n, 0n, 0n]]);
          await expect(reader.find(list, absent))
            .to.be.revertedWithCustomError(reader, "TensorReaderNotFound")
            .withArgs(absent);
        }),
        { numRuns: READ_RUNS, seed: SEED },
      );
    });

    it(`validate accepts what decodeTensors accepts and refuses the rest but bad UTF-8, on mutated encodings; no reader panics (${MUTATION_RUNS} runs, seed ${SEED})`, async function () {
      const { reader } = await loadFixture(readerFixture);
      const seen: Record<string, number> = {};
      await fc.assert(
        fc.asyncProperty(listArb, mutationArb, async (tensors, mutation) => {
          const list = mutate(encodeTensors(tensors), mutation);
          let decoded: Tensor[] | undefined;
          let reason = "valid";
          try {
            decoded = decodeTensors(list);
          } catch (e) {
            if (!(e instanceof CodecError)) throw e;
            reason = e.message.includes("UTF-8") ? "utf8" : "invalid";
          }
          seen[`${mutation.kind} ${reason}`] = (seen[`${mutation.kind} ${reason}`] ?? 0) + 1;
          const label = `${hexlify(list)} (${reason})`;
          if (decoded !== undefined) {
            await expectReadsLike(reader, list, decoded);
          } else if (reason === "invalid") {
            expect(await refusal(reader.validate(list), reader), label).to.equal("TensorReaderMalformed");
          }
          // Whatever the bytes, a lazy reader returns or reverts with one of its named errors.
          const named = [
            undefined,
            "TensorReaderMalformed",
            "TensorReaderNotFound",
            "TensorReaderIndexOutOfRange",
            "TensorReaderNoArgmax",
          ];
          const calls = tensors.flatMap((t, i) => [
            refusal(reader.argmaxOf(list, t.name), reader),
            refusal(reader.at(list, i), reader),
          ]);
          for (const outcome of await Promise.all(calls)) expect(named, label).to.include(outcome);
        }),
        { numRuns: MUTATION_RUNS, seed: SEED },
      );
      // The mutations reach each outcome: some leave the list valid (a float's bits), most make it invalid.
      expect(Object.keys(seen).filter((k) => k.endsWith(" invalid")).length, JSON.stringify(seen)).to.be.at.least(3);
      expect(
        Object.keys(seen).some((k) => k.endsWith(" valid")),
        JSON.stringify(seen),
      ).to.equal(true);
    });
  });

  describe("#argmax", function () {
    /** The argmax of `t` as a consumer reads it: found by name in a list of its own. */
    async function argmaxOn(reader: TensorReaderHarness, t: Tensor): Promise<bigint> {
      return reader.argmaxOf(encodeTensors([{ ...t, name: "v" }]), "v");
    }

    it("orders floats by value from their bits: -0 equals +0, infinities at the ends, the first of equals", async function () {
      const { reader } = await loadFixture(readerFixture);
      const cases: [number[], number][] = [
        [[1.5, -2], 0],
        [[-0, 0], 0],
        [[0, -0], 0],
        [[-1, -0], 1],
        [[-3, -2, -2.5], 1],
        [[-Infinity, -3.4e38], 1],
        [[3.4e38, Infinity, Infinity], 1],
        [[0, 1e-45], 1], // the smallest subnormal
        [[-1e-45, -0], 1],
        [[7, 7, 7], 0],
      ];
      for (const [values, expected] of cases) {
        expect(await argmaxOn(reader, f32("v", [values.length], values)), `float32 ${values}`).to.equal(expected);
        expect(await argmaxOn(reader, f64("v", [values.length], values)), `float64 ${values}`).to.equal(expected);
      }
      expect(await argmaxOn(reader, f64("v", [2], [0, 5e-324]))).to.equal(1n);
      expect(await argmaxOn(reader, f64("v", [2], [1, 1 + 2 ** -52]))).to.equal(1n);
    });

    it("skips every NaN, whatever its sign or payload; the first index wins among equals", async function () {
      const { reader } = await loadFixture(readerFixture);
      // Quiet, signalling and negative NaNs, around 1, 3, 3 and -infinity.
      const bits32 = [0x7fc00000n, 0x3f800000n, 0x7f800001n, 0x40400000n, 0xffffffffn, 0x40400000n, 0xff800000n];
      expect(await argmaxOn(reader, tensorOf("v", "float32", [7], bits32))).to.equal(3n);
      const bits64 = [0xfff8000000000000n, 0xfff0000000000000n, 0x7ff0000000000001n];
      expect(await argmaxOn(reader, tensorOf("v", "float64", [3], bits64))).to.equal(1n);
    });

    it("reverts with TensorReaderNoArgmax(n) when no element is a number: no elements, or all NaN", async function () {
      const { reader } = await loadFixture(readerFixture);
      const nan32 = tensorOf("v", "float32", [2, 1], [0x7fc00000n, 0xff800001n]);
      const nan64 = tensorOf("v", "float64", [3], [0x7ff8000000000000n, 0xfff8000000000000n, 0x7fffffffffffffffn]);
      for (const [t, n] of [
        [nan32, 2],
        [nan64, 3],
        [f32("v", [0], []), 0],
        [f32("v", [MAX_DIMENSION, 0], []), 0],
        [tensorOf("v", "int8", [2, 0], []), 0],
      ] as const) {
        await expect(argmaxOn(reader, t)).to.be.revertedWithCustomError(reader, "TensorReaderNoArgmax").withArgs(n);
      }
    });

    it("orders integers and bools by value, signed types sign-extended, over the flat index", async function () {
      const { reader } = await loadFixture(readerFixture);
      const cases: [ElementType, number[], bigint[], number][] = [
        ["int8", [3], [-128n, 127n, 127n], 1],
        ["int8", [2], [-1n, -128n], 0],
        ["uint8", [2], [255n, 0n], 0],
        ["int32", [3], [-5n, -3n, -(2n ** 31n)], 1],
        ["int64", [2], [-(2n ** 63n), 2n ** 63n - 1n], 1],
        ["int64", [2], [-1n, -(2n ** 63n)], 0],
        ["int64", [], [-7n], 0],
        ["bool", [4], [0n, 0n, 1n, 1n], 2],
        ["bool", [2], [0n, 0n], 0],
        ["int32", [2, 2], [1n, 2n, 9n, 0n], 2],
      ];
      for (const [type, shape, values, expected] of cases) {
        expect(await argmaxOn(reader, tensorOf("v", type, shape, values)), `${type} ${values}`).to.equal(expected);
      }
    });
  });

  describe("#intAt and #floatBitsAt", function () {
    it("sign-extends int8, int32 and int64 and keeps uint8 unsigned", async function () {
      const { reader } = await loadFixture(readerFixture);
      const list = encodeTensors([
        tensorOf("a", "int8", [3], [-128n, -1n, 127n]),
        tensorOf("b", "uint8", [2], [255n, 128n]),
        tensorOf("c", "int32", [2], [-(2n ** 31n), 2n ** 31n - 1n]),
        tensorOf("d", "int64", [2], [-(2n ** 63n), -1n]),
      ]);
      expect(await reader.ints(list, viewFields(await reader.find(list, "a")))).to.deep.equal([-128n, -1n, 127n]);
      expect(await reader.ints(list, viewFields(await reader.find(list, "b")))).to.deep.equal([255n, 128n]);
      expect(await reader.ints(list, viewFields(await reader.find(list, "c")))).to.deep.equal([
        -(2n ** 31n),
        2n ** 31n - 1n,
      ]);
      expect(await reader.ints(list, viewFields(await reader.find(list, "d")))).to.deep.equal([-(2n ** 63n), -1n]);
    });

    it("returns float bits as posted: NaN payloads and the sign of zero", async function () {
      const { reader } = await loadFixture(readerFixture);
      const list = encodeTensors([
        tensorOf("f", "float32", [3], [0x80000000n, 0xffc00001n, 0x7f800001n]),
        tensorOf("g", "float64", [2], [1n << 63n, 0x7ff0000000000001n]),
      ]);
      expect(await reader.floatBits(list, viewFields(await reader.find(list, "f")))).to.deep.equal([
        0x80000000n,
        0xffc00001n,
        0x7f800001n,
      ]);
      expect(await reader.floatBits(list, viewFields(await reader.find(list, "g")))).to.deep.equal([
        1n << 63n,
        0x7ff0000000000001n,
      ]);
    });
  });

  describe("#find, #tryFind and #at", function () {
    it("compare names as bytes: a prefix or an extension of a name is another name", async function () {
      const { reader } = await loadFixture(readerFixture);
      for (const name of ["scor", "scores", "Score", "", "delta\u0000"]) {
        await expect(reader.find(EXAMPLE, name))
          .to.be.revertedWithCustomError(reader, "TensorReaderNotFound")
          .withArgs(name);
        expect((await reader.tryFind(EXAMPLE, name))[0]).to.equal(false);
      }
    });

    it("read the header only of an empty list", async function () {
      const { reader } = await loadFixture(readerFixture);
      const empty = encodeTensors([]);
      expect(await reader.count(empty)).to.equal(0n);
      expect(await reader.validate(empty)).to.equal(0n);
      await expect(reader.find(empty, "x")).to.be.revertedWithCustomError(reader, "TensorReaderNotFound").withArgs("x");
      await expect(reader.at(empty, 0))
        .to.be.revertedWithCustomError(reader, "TensorReaderIndexOutOfRange")
        .withArgs(0, 0);
    });

    it("read dimensions up to 2^53 - 1 and shapes whose product would overflow before a 0", async function () {
      const { reader } = await loadFixture(readerFixture);
      const shape = [MAX_DIMENSION, MAX_DIMENSION, MAX_DIMENSION, MAX_DIMENSION, MAX_DIMENSION, MAX_DIMENSION, 0];
      const list = encodeTensors([f32("huge", shape, [])]);
      const view = viewFields(await reader.find(list, "huge"));
      expect(view.elementCount).to.equal(0n);
      expect(await reader.shape(list, view)).to.deep.equal(shape.map(BigInt));
      expect(await reader.validate(list)).to.equal(1n);
    });

    it("are lazy: a list cut or spoilt after the tensor asked for still gives it; validate refuses it", async function () {
      const { reader } = await loadFixture(readerFixture);
      const cut = EXAMPLE.slice(0, 44);
      expect(await reader.find(cut, "mask")).to.deep.equal(await reader.find(EXAMPLE, "mask"));
      await expect(reader.validate(cut)).to.be.revertedWithCustomError(reader, "TensorReaderMalformed").withArgs(44);
      const trailing = Uint8Array.from([...EXAMPLE, 0]);
      expect(await reader.find(trailing, "score")).to.deep.equal(await reader.find(EXAMPLE, "score"));
      await expect(reader.validate(trailing))
        .to.be.revertedWithCustomError(reader, "TensorReaderMalformed")
        .withArgs(69);
    });

    it("take the first of repeated names and do not check the order; validate refuses both at the later name", async function () {
      const { reader } = await loadFixture(readerFixture);
      const a1 = tensorOf("a", "int8", [1], [1n]);
      const a2 = tensorOf("a", "int8", [1], [2n]);
      const b = tensorOf("b", "int8", [1], [3n]);
      // Each tensor is 2 + 1 + 1 + 1 + 8 + 1 = 14 bytes; the second's name is at 8 + 14 + 2.
      const repeated = rawList([a1, a2]);
      expect(await reader.intAt(repeated, viewFields(await reader.find(repeated, "a")), 0)).to.equal(1n);
      await expect(reader.validate(repeated))
        .to.be.revertedWithCustomError(reader, "TensorReaderMalformed")
        .withArgs(24);
      const reversed = rawList([b, a1]);
      expect(await reader.intAt(reversed, viewFields(await reader.find(reversed, "a")), 0)).to.equal(1n);
      await expect(reader.validate(reversed))
        .to.be.revertedWithCustomError(reader, "TensorReaderMalformed")
        .withArgs(24);
      expect(await reader.validate(rawList([a1, b]))).to.equal(2n);
    });

    it("validate orders names as unsigned bytes, a prefix first, beyond the first 32 bytes", async function () {
      const { reader } = await loadFixture(readerFixture);
      const t = (name: string) => tensorOf(name, "uint8", [], [0n]);
      const long = "x".repeat(40);
      const pairs: [string, string, boolean][] = [
        ["a", "ab", true],
        ["ab", "a", false],
        [long + "a", long + "b", true],
        [long + "b", long + "a", false],
        [long, long + "a", true],
        [long + "a", long, false],
        ["x".repeat(32), "x".repeat(31) + "y", true],
        ["\u007f", "\u0080", true], // 7f < c2 80: bytes, unsigned
        ["\u0080", "\u007f", false],
      ];
      for (const [first, second, ascending] of pairs) {
        const list = rawList([t(first), t(second)]);
        if (ascending) {
          expect(await reader.validate(list), `${first} < ${second}`).to.equal(2n);
        } else {
          const secondNameAt = 8 + (2 + Buffer.byteLength(first) + 2 + 1) + 2;
          await expect(reader.validate(list), `${first} > ${second}`)
            .to.be.revertedWithCustomError(reader, "TensorReaderMalformed")
            .withArgs(secondNameAt);
        }
      }
    });
  });

  describe("errors", function () {
    it("a list cut at every length reverts TensorReaderMalformed at the field cut, for validate and the walks that reach it", async function () {
      const { reader } = await loadFixture(readerFixture);
      const checks: Promise<void>[] = [];
      for (let n = 0; n < EXAMPLE.length; n++) {
        const cut = EXAMPLE.slice(0, n);
        const where = cutField(n);
        const malformed = (call: Promise<unknown>, what: string) =>
          expect(call, `${what} on the first ${n} bytes`)
            .to.be.revertedWithCustomError(reader, "TensorReaderMalformed")
            .withArgs(where);
        checks.push(malformed(reader.validate(cut), "validate"));
        if (n < 8) checks.push(malformed(reader.count(cut), "count"));
        EXAMPLE_TENSORS.forEach(({ name, end }, i) => {
          if (n >= end) return;
          checks.push(malformed(reader.find(cut, name), `find ${name}`));
          checks.push(malformed(reader.at(cut, i), `at ${i}`));
        });
      }
      await Promise.all(checks);
    });

    it("bad magic, short headers, and a count that does not match the tensors", async function () {
      const { reader } = await loadFixture(readerFixture);
      const malformed = (bytes: Uint8Array | string, offset: number) =>
        expect(reader.validate(bytes), hexlify(bytes))
          .to.be.revertedWithCustomError(reader, "TensorReaderMalformed")
          .withArgs(offset);
      await malformed("0x", 0);
      await malformed("0x544d4c", 0);
      await malformed("0x544d4c32" + "03000000", 0); // TML2
      await malformed("0x4d4c3154" + "00000000", 0);
      await malformed("0x544d4c31", 4);
      await malformed("0x544d4c31000000", 4);
      await expect(reader.count("0x544d4c3200000000"))
        .to.be.revertedWithCustomError(reader, "TensorReaderMalformed")
        .withArgs(0);
      // A count of 4: the fourth tensor would start at the end.
      const four = patched(EXAMPLE, 4, 4, 4n);
      await malformed(four, 69);
      await expect(reader.find(four, "absent"))
        .to.be.revertedWithCustomError(reader, "TensorReaderMalformed")
        .withArgs(69);
      expect(await reader.argmaxOf(four, "score")).to.equal(0n);
      // A count of 2: "score" is trailing bytes, and beyond the walk.
      const two = patched(EXAMPLE, 4, 4, 2n);
      await malformed(two, 44);
      await expect(reader.find(two, "score"))
        .to.be.revertedWithCustomError(reader, "TensorReaderNotFound")
        .withArgs("score");
      await expect(reader.at(two, 2))
        .to.be.revertedWithCustomError(reader, "TensorReaderIndexOutOfRange")
        .withArgs(2, 2);
      await malformed(patched(EXAMPLE, 4, 4, 0n), 8);
      await malformed(patched(EXAMPLE, 4, 4, 0xffffffffn), 69);
    });

    it("an empty name, a name past the end, an unknown type code, a dimension over 2^53 - 1, data past the end", async function () {
      const { reader } = await loadFixture(readerFixture);
      const expectMalformed = async (bytes: Uint8Array, offset: number, what: string) => {
        const calls = [reader.validate(bytes), reader.find(bytes, "score"), reader.at(bytes, 2)];
        await Promise.all(
          calls.map((call) =>
            expect(call, what).to.be.revertedWithCustomError(reader, "TensorReaderMalformed").withArgs(offset),
          ),
        );
      };
      await expectMalformed(patched(EXAMPLE, 25, 2, 0n), 25, "mask's name length 0");
      await expectMalformed(patched(EXAMPLE, 25, 2, 0xffffn), 27, "mask's name length 65535");
      await expectMalformed(patched(EXAMPLE, 25, 2, 42n), 69, "mask's name ending at the end: its type cut");
      await expectMalformed(patched(EXAMPLE, 25, 2, 43n), 27, "mask's name ending 1 byte past the end");
      for (const code of [0, 4, 5, 8, 10, 12, 16, 255]) {
        await expectMalformed(patched(EXAMPLE, 31, 1, BigInt(code)), 31, `mask's type code ${code}`);
      }
      await expectMalformed(patched(EXAMPLE, 33, 8, 2n ** 53n), 33, "mask's dimension 2^53");
      await expectMalformed(patched(EXAMPLE, 33, 8, 2n ** 64n - 1n), 33, "mask's dimension 2^64 - 1");
      await expectMalformed(patched(EXAMPLE, 33, 8, 2n ** 53n - 1n), 41, "mask's dimension 2^53 - 1");
      await expectMalformed(patched(EXAMPLE, 33, 8, 29n), 41, "mask's data 1 byte past the end");
      // mask's rank 2: its second dimension would be the bytes 01 00 01 05 00 73 63 6f, over 2^53 - 1.
      await expectMalformed(patched(EXAMPLE, 32, 1, 2n), 41, "mask's rank 2");
    });

    it("dimensions past the end, and a product of dimensions past the end however large", async function () {
      const { reader } = await loadFixture(readerFixture);
      // "z", uint8 [1, 1, 1] = [7]: name length at 8, name 10, type 11, rank 12, dimensions 13, 21, 29, data 37.
      const z = encodeTensors([tensorOf("z", "uint8", [1, 1, 1], [7n])]);
      const malformed = (bytes: Uint8Array, offset: number, what: string) =>
        expect(reader.find(bytes, "z"), what)
          .to.be.revertedWithCustomError(reader, "TensorReaderMalformed")
          .withArgs(offset);
      await malformed(patched(z, 12, 1, 4n), 37, "rank 4: the fourth dimension has 1 byte");
      await malformed(patched(z, 12, 1, 255n), 37, "rank 255");
      await malformed(patched(z, 21, 8, 2n), 37, "[1, 2, 1]: 2 bytes of data, 1 there");
      let huge = z;
      for (const at of [13, 21, 29]) huge = patched(huge, at, 8, BigInt(MAX_DIMENSION));
      await malformed(huge, 37, "(2^53 - 1)^3 elements");
      // Rank 0: a scalar of one byte at 13, the rest trailing bytes, which only validate sees.
      const scalar = patched(z, 12, 1, 0n);
      const view = viewFields(await reader.find(scalar, "z"));
      expect([view.rank, view.elementCount, view.dataAt]).to.deep.equal([0n, 1n, 13n]);
      expect(await reader.intAt(scalar, view, 0)).to.equal(1n);
      await expect(reader.validate(scalar)).to.be.revertedWithCustomError(reader, "TensorReaderMalformed").withArgs(14);
    });

    it("a bool other than 0 or 1: validate and the readers of that element, not the others", async function () {
      const { reader } = await loadFixture(readerFixture);
      const spoilt = patched(EXAMPLE, 42, 1, 2n);
      const mask = viewFields(await reader.find(spoilt, "mask"));
      await expect(reader.validate(spoilt)).to.be.revertedWithCustomError(reader, "TensorReaderMalformed").withArgs(42);
      await expect(reader.intAt(spoilt, mask, 1))
        .to.be.revertedWithCustomError(reader, "TensorReaderMalformed")
        .withArgs(42);
      await expect(reader.argmax(spoilt, mask))
        .to.be.revertedWithCustomError(reader, "TensorReaderMalformed")
        .withArgs(42);
      expect(await reader.intAt(spoilt, mask, 2)).to.equal(1n);
      // In a long bool tensor, past the first 32 bytes.
      const bools = tensorOf("b", "bool", [40], Array(40).fill(1n));
      const list = encodeTensors([bools]);
      const dataAt = 8 + 2 + 1 + 2 + 8;
      for (const k of [0, 31, 32, 39]) {
        await expect(reader.validate(patched(list, dataAt + k, 1, 0x80n)), `element ${k}`)
          .to.be.revertedWithCustomError(reader, "TensorReaderMalformed")
          .withArgs(dataAt + k);
      }
      expect(await reader.validate(list)).to.equal(1n);
    });

    it("TensorReaderIndexOutOfRange(index, count) for a position, a dimension or an element past the last", async function () {
      const { reader } = await loadFixture(readerFixture);
      const [delta, mask, score] = await Promise.all(
        [0, 1, 2].map(async (i) => viewFields(await reader.at(EXAMPLE, i))),
      );
      const outOfRange = (call: Promise<unknown>, index: bigint | number, count: number) =>
        expect(call).to.be.revertedWithCustomError(reader, "TensorReaderIndexOutOfRange").withArgs(index, count);
      const huge = 2n ** 256n - 1n;
      await outOfRange(reader.at(EXAMPLE, 3), 3, 3);
      await outOfRange(reader.at(EXAMPLE, huge), huge, 3);
      await outOfRange(reader.dim(EXAMPLE, delta, 0), 0, 0);
      await outOfRange(reader.dim(EXAMPLE, mask, 1), 1, 1);
      await outOfRange(reader.intAt(EXAMPLE, delta, 1), 1, 1);
      await outOfRange(reader.intAt(EXAMPLE, mask, 3), 3, 3);
      await outOfRange(reader.intAt(EXAMPLE, mask, huge), huge, 3);
      await outOfRange(reader.floatBitsAt(EXAMPLE, score, 2), 2, 2);
    });

    it("TensorReaderTypeMismatch(typeCode, accepted) for an integer read of a float, a float read of an integer", async function () {
      const { reader } = await loadFixture(readerFixture);
      expect(await reader.typeMasks()).to.deep.equal([INTEGER_TYPES, FLOAT_TYPES, NUMERIC_TYPES]);
      const [delta, mask, score] = await Promise.all(
        [0, 1, 2].map(async (i) => viewFields(await reader.at(EXAMPLE, i))),
      );
      const mismatch = (call: Promise<unknown>, code: number, accepted: bigint) =>
        expect(call).to.be.revertedWithCustomError(reader, "TensorReaderTypeMismatch").withArgs(code, accepted);
      await mismatch(reader.intAt(EXAMPLE, score, 0), 1, INTEGER_TYPES);
      await mismatch(reader.floatBitsAt(EXAMPLE, mask, 0), 9, FLOAT_TYPES);
      await mismatch(reader.floatBitsAt(EXAMPLE, delta, 0), 7, FLOAT_TYPES);
      const f64list = encodeTensors([f64("g", [1], [1])]);
      await mismatch(reader.intAt(f64list, viewFields(await reader.find(f64list, "g")), 0), 11, INTEGER_TYPES);
      // A view made up with an unknown type code.
      const forged: ViewFields = { ...score, typeCode: 4 };
      await mismatch(reader.argmax(EXAMPLE, forged), 4, NUMERIC_TYPES);
      await mismatch(reader.intAt(EXAMPLE, forged, 0), 4, INTEGER_TYPES);
      await mismatch(reader.floatBitsAt(EXAMPLE, forged, 0), 4, FLOAT_TYPES);
    });

    it("a view used with another list, or made up, never reads past the list's end", async function () {
      const { reader } = await loadFixture(readerFixture);
      const score = viewFields(await reader.find(EXAMPLE, "score"));
      const short = encodeTensors([]);
      const malformed = (call: Promise<unknown>, offset: bigint | number) =>
        expect(call).to.be.revertedWithCustomError(reader, "TensorReaderMalformed").withArgs(offset);
      await malformed(reader.floatBitsAt(short, score, 0), 61);
      await malformed(reader.argmax(short, score), 61);
      await malformed(reader.shape(short, score), 53);
      await malformed(reader.dim(short, score, 0), 53);
      await malformed(reader.name(short, score), 46);
      // One byte short of the example: the last element would end past the end.
      await malformed(reader.floatBits(EXAMPLE.slice(0, 68), score), 61);
      const huge = 2n ** 256n - 1n;
      await malformed(reader.floatBitsAt(EXAMPLE, { ...score, elementCount: huge }, 0), 61);
      await malformed(reader.floatBitsAt(EXAMPLE, { ...score, dataAt: huge }, 0), huge);
      await malformed(reader.intAt(EXAMPLE, { ...score, typeCode: 7, dataAt: 62, elementCount: 1 }, 0), 62);
      await malformed(reader.name(EXAMPLE, { ...score, nameLength: 24 }), 46);
      await malformed(reader.name(EXAMPLE, { ...score, nameAt: huge }), huge);
      await malformed(reader.shape(EXAMPLE, { ...score, rank: 3 }), 53);
      // Inside the list, a made-up view reads the list's own bytes.
      expect(await reader.name(EXAMPLE, { ...score, nameLength: 13 })).to.equal(
        Buffer.from(EXAMPLE.subarray(46, 59)).toString("latin1"),
      );
    });

    it("elementSize: the TML1 table, 0 for other codes", async function () {
      const { reader } = await loadFixture(readerFixture);
      const sizes: Record<number, number> = { 1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 9: 1, 11: 8 };
      const codes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 128, 255];
      const all = await Promise.all(codes.map((code) => reader.elementSize(code)));
      all.forEach((size, k) => expect(size, `code ${codes[k]}`).to.equal(sizes[codes[k]] ?? 0));
    });
  });
});

/** A view's fields as a plain object, to pass it back or change some of them. */
function viewFields(v: View): ViewFields {
  const { nameAt, nameLength, typeCode, rank, dimsAt, elementCount, dataAt } = v;
  return { nameAt, nameLength, typeCode, rank, dimsAt, elementCount, dataAt };
}
