import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { keccak256 } from "ethers";
import {
  CodecError,
  ELEMENT_TYPES,
  TYPE_CODES,
  compareOutputs,
  decodeTensors,
  encodeTensors,
  hashBytes,
  hashTensors,
  type ElementType,
  type Tensor,
  type Tolerance,
} from "../packages/sdk/src/codec";
import { bool, f32, f64, i32, i64, i8, u8 } from "./fixtures/tensors";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const byName = (a: Tensor, b: Tensor): number => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));

/** Raw bit patterns of a float array, so NaN payloads and -0 are compared exactly. */
const bits = (t: Tensor): string => hex(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));

function expectSameTensors(actual: Tensor[], expected: Tensor[]): void {
  expect(actual.map((t) => t.name)).to.deep.equal(expected.map((t) => t.name));
  actual.forEach((t, i) => {
    const e = expected[i];
    expect(t.type, t.name).to.equal(e.type);
    expect(t.shape, t.name).to.deep.equal(e.shape);
    expect(t.data.constructor, t.name).to.equal(e.data.constructor);
    expect(bits(t), t.name).to.equal(bits(e));
  });
}

function roundTrip(tensors: Tensor[]): Tensor[] {
  const bytes = encodeTensors(tensors);
  const decoded = decodeTensors(bytes);
  expectSameTensors(decoded, [...tensors].sort(byName));
  expect(hex(encodeTensors(decoded))).to.equal(hex(bytes));
  return decoded;
}

function expectCodecError(fn: () => unknown, message: RegExp, tensor?: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, "expected a CodecError").to.be.instanceOf(CodecError);
  expect((thrown as CodecError).message).to.match(message);
  if (tensor !== undefined) expect((thrown as CodecError).tensor).to.equal(tensor);
}

/** A valid encoding built by hand: header, then each tensor as given (no sorting). */
function rawEncoding(count: number, ...tensors: Uint8Array[]): Uint8Array {
  const head = Buffer.alloc(8);
  head.write("TML1", 0, "ascii");
  head.writeUInt32LE(count, 4);
  return new Uint8Array(Buffer.concat([head, ...tensors]));
}

function rawTensor(name: string | Uint8Array, code: number, shape: bigint[], data: number[]): Uint8Array {
  const nameBytes = typeof name === "string" ? Buffer.from(name, "utf8") : Buffer.from(name);
  const head = Buffer.alloc(2);
  head.writeUInt16LE(nameBytes.length);
  const dims = Buffer.alloc(8 * shape.length);
  shape.forEach((d, i) => dims.writeBigUInt64LE(d, 8 * i));
  return new Uint8Array(Buffer.concat([head, nameBytes, Buffer.from([code, shape.length]), dims, Buffer.from(data)]));
}

describe("tensor codec", function () {
  describe("round trips", function () {
    it("every element type", function () {
      roundTrip([f32("a", [2, 2], [1.5, -0, 3.4028234663852886e38, 1e-45])]);
      roundTrip([f64("a", [3], [Math.PI, -Number.MAX_VALUE, Number.MIN_VALUE])]);
      roundTrip([i32("a", [4], [0, -1, 2147483647, -2147483648])]);
      roundTrip([u8("a", [3], [0, 128, 255])]);
      roundTrip([i8("a", [4], [-128, -1, 0, 127])]);
      roundTrip([bool("a", [2, 2], [1, 0, 0, 1])]);
      roundTrip([i64("a", [3], [0n, -1n, 1234567890123456789n])]);
      expect([...ELEMENT_TYPES].sort()).to.deep.equal([
        "bool",
        "float32",
        "float64",
        "int32",
        "int64",
        "int8",
        "uint8",
      ]);
      expect(TYPE_CODES).to.deep.equal({ float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float64: 11 });
    });

    it("int8 is code 3, one two's complement byte per element", function () {
      const bytes = encodeTensors([i8("q", [1, 3], [-128, -1, 127])]);
      expect(hex(bytes)).to.equal(
        "544d4c3101000000" + "0100" + "71" + "03" + "02" + "0100000000000000" + "0300000000000000" + "80ff7f",
      );
      expect([...(decodeTensors(bytes)[0].data as Int8Array)]).to.deep.equal([-128, -1, 127]);
      expect(decodeTensors(bytes)[0].data).to.be.instanceOf(Int8Array);
    });

    it("int64 extremes -2^63 and 2^63-1", function () {
      const [t] = roundTrip([i64("x", [2], [-(2n ** 63n), 2n ** 63n - 1n])]);
      expect([...(t.data as BigInt64Array)]).to.deep.equal([-(2n ** 63n), 2n ** 63n - 1n]);
      expect(hex(encodeTensors([t])).slice(-32)).to.equal("0000000000000080ffffffffffffff7f");
    });

    it("float bits exactly, including NaN payloads, infinities and -0", function () {
      const raw = new Uint32Array([0x7fc00001, 0xffc12345, 0x7f800000, 0xff800000, 0x80000000]);
      const t: Tensor = { name: "f", type: "float32", shape: [5], data: new Float32Array(raw.buffer) };
      const [d] = roundTrip([t]);
      expect([...new Uint32Array(d.data.buffer)]).to.deep.equal([...raw]);
      roundTrip([f64("g", [4], [NaN, Infinity, -Infinity, -0])]);
    });

    it("a rank-0 scalar has one element and no dimensions", function () {
      const [t] = roundTrip([f32("s", [], [42])]);
      expect(t.shape).to.deep.equal([]);
      expect(encodeTensors([t]).length).to.equal(8 + 2 + 1 + 2 + 4);
    });

    it("empty tensors (a zero dimension), with large other dimensions", function () {
      roundTrip([f32("e", [0], []), i64("f", [3, 0, 2], []), u8("g", [0, Number.MAX_SAFE_INTEGER], [])]);
    });

    it("an empty list", function () {
      expect(hex(encodeTensors([]))).to.equal("544d4c3100000000");
      expect(decodeTensors(unhex("544d4c3100000000"))).to.deep.equal([]);
    });

    it("sorts by UTF-8 bytes, whatever the input order", function () {
      const names = ["b", "a", "ab", "B", "é", "z", "\u{1F600}", "\uFFFD", "a\u0000"];
      const tensors = names.map((n, i) => i32(n, [1], [i]));
      const decoded = roundTrip(tensors);
      expect(decoded.map((t) => t.name)).to.deep.equal([
        "B",
        "a",
        "a\u0000",
        "ab",
        "b",
        "z",
        "é",
        "\uFFFD",
        "\u{1F600}",
      ]);
      // String order would put U+FFFD after the surrogate pair of U+1F600; byte order does the opposite.
      expect("\u{1F600}" < "\uFFFD").to.equal(true);
      const reversed = encodeTensors([...tensors].reverse());
      expect(hex(reversed)).to.equal(hex(encodeTensors(tensors)));
    });

    it("a leading U+FEFF stays part of the name", function () {
      const [t] = roundTrip([u8("\uFEFFx", [1], [1])]);
      expect(t.name).to.equal("\uFEFFx");
    });

    it("views with a byte offset encode only their own elements", function () {
      const backing = new Float32Array([9, 1, 2, 9]);
      const view: Tensor = { name: "v", type: "float32", shape: [2], data: backing.subarray(1, 3) };
      expect(hex(encodeTensors([view]))).to.equal(hex(encodeTensors([f32("v", [2], [1, 2])])));
      const fromBuffer = decodeTensors(
        encodeTensors([{ name: "b", type: "uint8", shape: [3], data: Buffer.from([1, 2, 3]) }]),
      );
      expectSameTensors(fromBuffer, [u8("b", [3], [1, 2, 3])]);
    });

    it("decoded arrays are fresh and aligned, not views into the input", function () {
      const bytes = encodeTensors([u8("a", [1], [1]), f64("b", [2], [1, 2])]);
      const [, b] = decodeTensors(bytes);
      expect(b.data.byteOffset).to.equal(0);
      bytes.fill(0, bytes.length - 16);
      expect([...(b.data as Float64Array)]).to.deep.equal([1, 2]);
    });
  });

  describe("documented format", function () {
    const doc = readFileSync(path.join(__dirname, "..", "docs", "TENSOR-ENCODING.md"), "utf8");
    const example = [f32("score", [2], [1.5, -2]), bool("mask", [3], [1, 0, 1]), i64("delta", [], [-2n])];

    it("the worked example in docs/TENSOR-ENCODING.md, byte for byte", function () {
      const block = /```hex\n([\s\S]*?)```/.exec(doc);
      expect(block, "a ```hex block in the doc").to.not.equal(null);
      const docHex = block![1]
        .split("\n")
        .map((line) => line.replace(/#.*$/, ""))
        .join("")
        .replace(/\s+/g, "");
      const bytes = encodeTensors(example);
      expect(hex(bytes)).to.equal(docHex);
      expect(doc).to.contain(`these ${bytes.length} bytes`);
      expect(doc).to.contain(`keccak256: \`${hashTensors(example)}\``);
      expectSameTensors(decodeTensors(unhex(docHex)), [...example].sort(byName));
    });

    it("the source header documents the same layout and codes", function () {
      const source = readFileSync(path.join(__dirname, "..", "packages", "sdk", "src", "codec", "tensor.ts"), "utf8");
      const header = source.slice(0, source.indexOf("*/"));
      for (const [type, code] of Object.entries(TYPE_CODES)) {
        expect(header).to.match(new RegExp(`\\b${code}\\s+${type}\\b`));
        expect(doc).to.match(new RegExp(`\\| ${code}\\s+\\| ${type}\\s+\\|`));
      }
      expect(header).to.contain('"TML1" (54 4d 4c 31)');
      expect(doc).to.contain("`TML1` (`54 4d 4c 31`)");
    });
  });

  describe("hashing", function () {
    it("hashTensors is keccak256 of the encoding; hashBytes is keccak256", function () {
      const tensors = [f32("b", [1], [1]), i32("a", [1], [2])];
      const bytes = encodeTensors(tensors);
      expect(hashTensors(tensors)).to.equal(keccak256(bytes));
      expect(hashBytes(bytes)).to.equal(keccak256(bytes));
      expect(hashTensors([...tensors].reverse())).to.equal(keccak256(bytes));
      expect(hashTensors(tensors)).to.match(/^0x[0-9a-f]{64}$/);
      expect(hashTensors([f32("b", [1], [1.0000001])])).to.not.equal(hashTensors([f32("b", [1], [1])]));
    });
  });

  describe("encode errors (CodecError naming the tensor)", function () {
    it("duplicate names", function () {
      expectCodecError(
        () => encodeTensors([f32("x", [1], [1]), i32("y", [], [1]), u8("x", [], [1])]),
        /"x".*duplicate name/,
        "x",
      );
    });

    it("empty or malformed names", function () {
      expectCodecError(() => encodeTensors([f32("", [1], [1])]), /tensor #0: name must be a non-empty string/);
      const nameless = { name: undefined, type: "float16", shape: [1], data: new Uint8Array(2) } as unknown as Tensor;
      expectCodecError(
        () => encodeTensors([nameless]),
        /^tensor #0: name must be a non-empty string, got "undefined"$/,
      );
      expectCodecError(
        () => encodeTensors([f32("ok", [], [1]), { ...f32("", [], [1]), name: undefined as unknown as string }]),
        /tensor #1: name must be a non-empty string/,
      );
      expectCodecError(() => encodeTensors([f32("a\uD800", [1], [1])]), /not well-formed Unicode/, "a\uD800");
      expectCodecError(() => encodeTensors([f32("é".repeat(32768), [1], [1])]), /65536 bytes of UTF-8, at most 65535/);
      roundTrip([f32("n".repeat(65535), [1], [1])]);
    });

    it("data length differs from product(shape)", function () {
      expectCodecError(
        () => encodeTensors([f32("m", [2, 3], [1, 2, 3, 4, 5])]),
        /"m": data has 5 elements but shape \[2,3\] needs 6/,
        "m",
      );
      expectCodecError(() => encodeTensors([f32("s", [], [])]), /"s": data has 0 elements but shape \[\] needs 1/, "s");
      expectCodecError(
        () => encodeTensors([u8("z", [0, 5], [1])]),
        /"z": data has 1 elements but shape \[0,5\] needs 0/,
      );
      expectCodecError(
        () => encodeTensors([u8("h", [2 ** 30, 2 ** 30], [1])]),
        /"h": data has 1 elements but shape \[1073741824,1073741824\] needs more than 2\^53-1/,
      );
    });

    it("bool values other than 0 and 1", function () {
      expectCodecError(
        () => encodeTensors([bool("flag", [3], [1, 0, 2])]),
        /"flag": bool element 2 is 2, must be 0 or 1/,
        "flag",
      );
    });

    it("unknown element type", function () {
      const t = { name: "q", type: "float16", shape: [1], data: new Uint8Array(2) } as unknown as Tensor;
      expectCodecError(() => encodeTensors([t]), /"q": unknown element type "float16"/, "q");
    });

    it("data in the wrong array for its type", function () {
      expectCodecError(
        () => encodeTensors([{ name: "w", type: "float32", shape: [1], data: new Float64Array(1) }]),
        /"w": float32 data must be a Float32Array, got Float64Array/,
        "w",
      );
      expectCodecError(
        () => encodeTensors([{ name: "w", type: "int64", shape: [1], data: [1] as unknown as BigInt64Array }]),
        /"w": int64 data must be a BigInt64Array, got Array/,
      );
      expectCodecError(
        () =>
          encodeTensors([
            { name: "w", type: "bool", shape: [1], data: new Uint8ClampedArray(1) as unknown as Uint8Array },
          ]),
        /"w": bool data must be a Uint8Array, got Uint8ClampedArray/,
      );
      expectCodecError(
        () => encodeTensors([{ name: "w", type: "int8", shape: [1], data: new Uint8Array(1) }]),
        /"w": int8 data must be a Int8Array, got Uint8Array/,
      );
      expectCodecError(
        () => encodeTensors([{ name: "w", type: "uint8", shape: [1], data: new Int8Array(1) }]),
        /"w": uint8 data must be a Uint8Array, got Int8Array/,
      );
    });

    it("rank over 255", function () {
      roundTrip([u8("r", new Array(255).fill(1), [7])]);
      expectCodecError(() => encodeTensors([u8("r", new Array(256).fill(1), [7])]), /"r": rank 256 exceeds 255/, "r");
    });

    it("negative, fractional or unsafe dimensions", function () {
      expectCodecError(() => encodeTensors([f32("d", [2, -1], [])]), /"d": dimension 1 is -1/, "d");
      expectCodecError(() => encodeTensors([f32("d", [1.5], [1])]), /"d": dimension 0 is 1.5/, "d");
      expectCodecError(() => encodeTensors([f32("d", [NaN], [1])]), /"d": dimension 0 is NaN/);
      expectCodecError(() => encodeTensors([f32("d", [0, 2 ** 53], [])]), /"d": dimension 1 is 9007199254740992/);
      expectCodecError(() => encodeTensors([f32("d", ["2" as unknown as number], [1, 2])]), /"d": dimension 0 is 2/);
    });

    it("a list that is not an array, an entry that is not an object", function () {
      expectCodecError(() => encodeTensors({} as unknown as Tensor[]), /tensors must be an array/);
      expectCodecError(() => encodeTensors([null as unknown as Tensor]), /tensor #0 is not an object/);
    });
  });

  describe("decode errors", function () {
    const valid = encodeTensors([f32("a", [2], [1, 2]), bool("b", [1], [1])]);

    it("bad header", function () {
      expectCodecError(
        () => decodeTensors(unhex("544d4c3200000000")),
        /bad header: expected "TML1" \(544d4c31\), got 544d4c32/,
      );
      expectCodecError(
        () => decodeTensors(unhex("544d4c")),
        /truncated: header needs 4 bytes at offset 0, only 3 left/,
      );
      expectCodecError(() => decodeTensors(new Uint8Array()), /truncated: header/);
      expectCodecError(() => decodeTensors([1, 2] as unknown as Uint8Array), /bytes must be a Uint8Array, got Array/);
    });

    it("truncation at every length", function () {
      for (let n = 0; n < valid.length; n++) {
        expectCodecError(() => decodeTensors(valid.subarray(0, n)), /^truncated: /);
      }
      expectCodecError(() => decodeTensors(valid.subarray(0, valid.length - 1)), /truncated: data of tensor "b"/, "b");
      expect(decodeTensors(valid)).to.have.length(2);
    });

    it("a count larger than the tensors present", function () {
      const bytes = valid.slice();
      bytes[4] = 3;
      expectCodecError(() => decodeTensors(bytes), /truncated: name length of tensor #2 needs 2 bytes/);
    });

    it("a huge shape is truncation, not a huge allocation", function () {
      const t = rawTensor("h", 1, [2n ** 40n, 2n ** 12n], [0, 0, 0, 0]);
      expectCodecError(
        () => decodeTensors(rawEncoding(1, t)),
        /truncated: data of tensor "h" \(shape \[1099511627776,4096\]\)/,
      );
    });

    it("trailing bytes", function () {
      const bytes = new Uint8Array([...valid, 0]);
      expectCodecError(() => decodeTensors(bytes), /trailing bytes: 1 bytes after the last tensor/);
      const fewer = valid.slice();
      fewer[4] = 1;
      expectCodecError(() => decodeTensors(fewer), /trailing bytes: 14 bytes after the last tensor, at offset 29/);
    });

    it("names out of order or repeated", function () {
      const a = rawTensor("a", 2, [], [1]);
      const b = rawTensor("b", 2, [], [1]);
      const ab = rawTensor("ab", 2, [], [1]);
      expect(decodeTensors(rawEncoding(3, a, ab, b)).map((t) => t.name)).to.deep.equal(["a", "ab", "b"]);
      expectCodecError(
        () => decodeTensors(rawEncoding(2, b, a)),
        /"a": names not in ascending byte order \(after "b"\)/,
        "a",
      );
      expectCodecError(() => decodeTensors(rawEncoding(2, ab, a)), /"a": names not in ascending byte order/);
      expectCodecError(() => decodeTensors(rawEncoding(2, a, a)), /"a": duplicate name/, "a");
    });

    it("empty or invalid UTF-8 names", function () {
      expectCodecError(
        () => decodeTensors(rawEncoding(1, rawTensor("", 2, [], [1]))),
        /tensor #0 at offset 8: empty name/,
      );
      for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
        expectCodecError(
          () => decodeTensors(rawEncoding(1, rawTensor(new Uint8Array(bad), 2, [], [1]))),
          /tensor #0 at offset 8: name is not valid UTF-8/,
        );
      }
    });

    it("unknown type codes", function () {
      for (const code of [0, 4, 5, 8, 10, 12, 255]) {
        expectCodecError(
          () => decodeTensors(rawEncoding(1, rawTensor("t", code, [], [1]))),
          new RegExp(`"t": unknown element type code ${code}$`),
          "t",
        );
      }
    });

    it("dimensions over 2^53-1", function () {
      const ok = rawTensor("d", 2, [0n, 2n ** 53n - 1n], []);
      expect(decodeTensors(rawEncoding(1, ok))[0].shape).to.deep.equal([0, Number.MAX_SAFE_INTEGER]);
      const big = rawTensor("d", 2, [0n, 2n ** 53n], []);
      expectCodecError(() => decodeTensors(rawEncoding(1, big)), /"d": dimension 1 exceeds 2\^53-1/, "d");
      const huge = rawTensor("d", 2, [2n ** 64n - 1n], []);
      expectCodecError(() => decodeTensors(rawEncoding(1, huge)), /"d": dimension 0 exceeds 2\^53-1/);
    });

    it("bool bytes other than 00 and 01", function () {
      expectCodecError(
        () => decodeTensors(rawEncoding(1, rawTensor("m", 9, [2n], [1, 2]))),
        /"m": bool element 1 is 2, must be 0 or 1/,
        "m",
      );
      expectCodecError(
        () => decodeTensors(rawEncoding(1, rawTensor("m", 9, [], [0xff]))),
        /"m": bool element 0 is 255/,
      );
    });
  });

  describe("compareOutputs", function () {
    const exact: Tolerance = { relTolerance: 0, absTolerance: 0 };
    // abs floor 1e-6, relative 1e-3
    const tol: Tolerance = { relTolerance: 1_000_000, absTolerance: 1_000 };

    it("identical outputs agree with zero tolerance, in any order", function () {
      const out = [f32("p", [2], [0.25, 0.75]), i64("label", [1], [1n]), bool("ok", [], [1])];
      const r = compareOutputs(out, [...out].reverse(), exact);
      expect(r).to.deep.equal({ agree: true, maxAbsDiff: 0 });
    });

    it("the absolute floor: small values within 1e-6 agree, beyond do not", function () {
      expect(compareOutputs([f64("y", [2], [0, 1e-7])], [f64("y", [2], [0.9e-6, 0])], tol)).to.deep.include({
        agree: true,
      });
      const r = compareOutputs([f64("y", [2], [0, 1.1e-6])], [f64("y", [2], [0, 0])], tol);
      expect(r.agree).to.equal(false);
      expect(r.reason).to.match(
        /^tensor "y" element 1: posted 0\.0000011, re-executed 0 \(\|diff\| 0\.0000011 > 0\.000001\)$/,
      );
      expect(r.maxAbsDiff).to.be.closeTo(1.1e-6, 1e-18);
    });

    it("the relative bound scales with the re-executed value", function () {
      // 1e-3 relative of 1000 is 1
      expect(compareOutputs([f64("y", [1], [1000.9])], [f64("y", [1], [1000])], tol).agree).to.equal(true);
      expect(compareOutputs([f64("y", [1], [1001.1])], [f64("y", [1], [1000])], tol).agree).to.equal(false);
      expect(compareOutputs([f64("y", [1], [-999.1])], [f64("y", [1], [-1000])], tol).agree).to.equal(true);
      // relative to |b| (re-executed), not |a|: at 50%, |1900 - 1000| = 900 > 500 = 0.5 * 1000, though 900 <= 0.5 * 1900
      const half: Tolerance = { relTolerance: 500_000_000, absTolerance: 0 };
      expect(compareOutputs([f64("y", [1], [1900])], [f64("y", [1], [1000])], half).agree).to.equal(false);
      expect(compareOutputs([f64("y", [1], [1000])], [f64("y", [1], [1900])], half).agree).to.equal(true);
    });

    it("float32 values compare as their exact double values", function () {
      const a = f32("p", [1], [0.1]);
      const b = f64("p", [1], [0.1]);
      expect(compareOutputs([a], [f32("p", [1], [0.1])], exact).agree).to.equal(true);
      expect(compareOutputs([a], [b], exact).reason).to.equal('tensor "p": type float32 posted, float64 re-executed');
      const next = new Float32Array([0.1]);
      new Uint32Array(next.buffer)[0] += 1; // one ulp above
      const r = compareOutputs([{ ...a, data: next }], [a], exact);
      expect(r.agree).to.equal(false);
      expect(r.maxAbsDiff).to.equal(next[0] - (a.data as Float32Array)[0]);
      expect(compareOutputs([{ ...a, data: next }], [a], { relTolerance: 100, absTolerance: 0 }).agree).to.equal(true);
    });

    it("NaN agrees only with NaN, whatever the payload", function () {
      const nans = new Float32Array(new Uint32Array([0x7fc00000, 0xffc00001]).buffer);
      const other = new Float32Array(new Uint32Array([0x7f800001, 0x7fffffff]).buffer);
      const a: Tensor = { name: "n", type: "float32", shape: [2], data: nans };
      const b: Tensor = { name: "n", type: "float32", shape: [2], data: other };
      expect(compareOutputs([a], [b], exact)).to.deep.equal({ agree: true, maxAbsDiff: 0 });
      expect(hashTensors([a])).to.not.equal(hashTensors([b]));
      const big: Tolerance = { relTolerance: 1e9, absTolerance: 2 ** 32 - 1 };
      for (const v of [0, 1, Infinity, -Infinity]) {
        expect(compareOutputs([f64("n", [1], [NaN])], [f64("n", [1], [v])], big).agree, `NaN vs ${v}`).to.equal(false);
        expect(compareOutputs([f64("n", [1], [v])], [f64("n", [1], [NaN])], big).agree, `${v} vs NaN`).to.equal(false);
      }
      expect(compareOutputs([f64("n", [2], [1, NaN])], [f64("n", [2], [1, 0])], big).reason).to.equal(
        'tensor "n" element 1: posted NaN, re-executed 0',
      );
    });

    it("+Inf agrees only with +Inf, -Inf only with -Inf", function () {
      const big: Tolerance = { relTolerance: 1e9, absTolerance: 2 ** 32 - 1 };
      expect(
        compareOutputs([f32("i", [2], [Infinity, -Infinity])], [f32("i", [2], [Infinity, -Infinity])], exact).agree,
      ).to.equal(true);
      const cases: [number, number][] = [
        [Infinity, -Infinity],
        [-Infinity, Infinity],
        [Infinity, Number.MAX_VALUE],
        [Number.MAX_VALUE, Infinity],
        [-Infinity, -3.4e38],
      ];
      for (const [a, b] of cases) {
        expect(compareOutputs([f64("i", [1], [a])], [f64("i", [1], [b])], big).agree, `${a} vs ${b}`).to.equal(false);
      }
      expect(
        compareOutputs([f64("i", [1], [Number.MAX_VALUE])], [f64("i", [1], [-Number.MAX_VALUE])], big).agree,
      ).to.equal(false);
    });

    it("-0 equals +0", function () {
      expect(compareOutputs([f32("z", [2], [-0, 0])], [f32("z", [2], [0, -0])], exact)).to.deep.equal({
        agree: true,
        maxAbsDiff: 0,
      });
      expect(compareOutputs([f64("z", [1], [-0])], [f64("z", [1], [0])], exact).agree).to.equal(true);
    });

    it("integers and bools compare exactly, whatever the tolerance", function () {
      const big: Tolerance = { relTolerance: 1e9, absTolerance: 2 ** 32 - 1 };
      expect(compareOutputs([i32("c", [3], [1, 2, 3])], [i32("c", [3], [1, 2, 4])], big).reason).to.equal(
        'tensor "c" element 2: posted 3, re-executed 4 (int32, exact)',
      );
      expect(compareOutputs([i64("c", [1], [2n ** 63n - 1n])], [i64("c", [1], [2n ** 63n - 2n])], big).reason).to.equal(
        'tensor "c" element 0: posted 9223372036854775807, re-executed 9223372036854775806 (int64, exact)',
      );
      expect(compareOutputs([u8("c", [1], [7])], [u8("c", [1], [8])], big).agree).to.equal(false);
      expect(compareOutputs([i8("c", [2], [-128, 5])], [i8("c", [2], [-127, 5])], big).reason).to.equal(
        'tensor "c" element 0: posted -128, re-executed -127 (int8, exact)',
      );
      expect(compareOutputs([i8("c", [1], [-1])], [u8("c", [1], [255])], big).reason).to.equal(
        'tensor "c": type int8 posted, uint8 re-executed',
      );
      expect(compareOutputs([bool("c", [2], [0, 1])], [bool("c", [2], [0, 0])], big).reason).to.equal(
        'tensor "c" element 1: posted 1, re-executed 0 (bool, exact)',
      );
      expect(compareOutputs([i64("c", [1], [-5n])], [i64("c", [1], [-5n])], exact).agree).to.equal(true);
    });

    it("names the first disagreeing tensor (name order) and flat index; maxAbsDiff covers all", function () {
      const posted = [f32("b", [2, 2], [1, 2, 3, 4.5]), f32("a", [3], [1, 2, 3]), f32("c", [1], [10])];
      const reexec = [f32("a", [3], [1, 2, 3]), f32("b", [2, 2], [1, 2, 3, 4]), f32("c", [1], [0])];
      const r = compareOutputs(posted, reexec, tol);
      expect(r).to.deep.equal({
        agree: false,
        reason: 'tensor "b" element 3: posted 4.5, re-executed 4 (|diff| 0.5 > 0.004)',
        maxAbsDiff: 10,
      });
    });

    it("names, types and shapes must match", function () {
      const x = f32("x", [2], [1, 2]);
      expect(compareOutputs([x], [x, f32("y", [1], [1])], tol)).to.deep.equal({
        agree: false,
        reason: 'tensor "y" is missing from the posted output',
      });
      expect(compareOutputs([x, f32("w", [1], [1])], [x], tol).reason).to.equal(
        'tensor "w" is in the posted output only',
      );
      expect(compareOutputs([f32("a", [1], [1])], [f32("b", [1], [1])], tol).reason).to.equal(
        'tensor "a" is in the posted output only',
      );
      expect(compareOutputs([], [x], tol).reason).to.equal('tensor "x" is missing from the posted output');
      expect(compareOutputs([x], [i32("x", [2], [1, 2])], tol).reason).to.equal(
        'tensor "x": type float32 posted, int32 re-executed',
      );
      expect(compareOutputs([x], [f32("x", [1, 2], [1, 2])], tol).reason).to.equal(
        'tensor "x": shape [2] posted, [1,2] re-executed',
      );
      expect(compareOutputs([f32("x", [2, 1], [1, 2])], [f32("x", [1, 2], [1, 2])], tol).reason).to.equal(
        'tensor "x": shape [2,1] posted, [1,2] re-executed',
      );
      expect(compareOutputs([], [], exact)).to.deep.equal({ agree: true, maxAbsDiff: 0 });
    });

    it("rejects invalid lists and tolerances", function () {
      const x = f32("x", [1], [1]);
      expectCodecError(() => compareOutputs([x, x], [x], tol), /"x": duplicate name/);
      expectCodecError(
        () => compareOutputs([x], [f32("x", [2], [1])], tol),
        /data has 1 elements but shape \[2\] needs 2/,
      );
      for (const bad of [-1, 1.5, NaN, 2 ** 32, "5" as unknown as number]) {
        expect(() => compareOutputs([x], [x], { relTolerance: bad, absTolerance: 0 })).to.throw(
          RangeError,
          /relTolerance/,
        );
        expect(() => compareOutputs([x], [x], { relTolerance: 0, absTolerance: bad })).to.throw(
          RangeError,
          /absTolerance/,
        );
      }
    });
  });

  it("every element type round-trips through a multi-tensor list", function () {
    const all: Tensor[] = ELEMENT_TYPES.map((type: ElementType, i) => {
      const n = `t${i}`;
      switch (type) {
        case "float32":
          return f32(n, [2], [1, 2]);
        case "float64":
          return f64(n, [2], [1, 2]);
        case "int32":
          return i32(n, [2], [1, 2]);
        case "int64":
          return i64(n, [2], [1n, 2n]);
        case "uint8":
          return u8(n, [2], [1, 2]);
        case "int8":
          return i8(n, [2], [-1, 2]);
        case "bool":
          return bool(n, [2], [1, 0]);
      }
    });
    roundTrip(all);
  });
});
