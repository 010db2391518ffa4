import { expect } from "chai";
import assert from "node:assert/strict";
import { ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { IoSignatureHarness } from "../../typechain-types";
import { ELEMENT_SIZES, ELEMENT_TYPES, TYPE_CODES, compareBytes, decodeName } from "../../packages/sdk/src/codec";
import {
  DYNAMIC_DIM,
  MAX_INPUT_SIZE,
  SignatureError,
  decodeSignature,
  encodeSignature,
  signatureInputSize,
  type IoSignature,
  type TensorSpec,
} from "../../packages/sdk/src/signature";

/**
 * IoSignatureLib (contracts/libraries/IoSignatureLib.sol) through IoSignatureHarness: the documented example, every
 * rejection at the offset the library reports, and fast-check differential properties against the TypeScript
 * reference (src/signature.ts). Properties run with a fixed seed (PROPERTY_SEED overrides it).
 *
 * The library's offsets: the field at fault (magic 0, a count of 0, an empty name's length, a type code, a dimension);
 * for a name out of order or repeated, the name's first byte; for a name running past the end, its length field;
 * for any other truncation, the length of the bytes; for inputs past 2^64 - 1 bytes, the end of the input that takes
 * them there; for trailing bytes, the end of the last output.
 */

const SEED = process.env.PROPERTY_SEED ? Number(process.env.PROPERTY_SEED) : 0x10516;
const MAX_DIM = BigInt(Number.MAX_SAFE_INTEGER);

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const unhex = (digits: string): Uint8Array => new Uint8Array(Buffer.from(digits, "hex"));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const concat = (parts: readonly Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

// Hand-built TMS1 bytes, for what the encoder never writes (and for inputs past 2^64 - 1 bytes, which it refuses).

/** `value` as `width` little-endian bytes. */
function le(value: bigint | number, width: number): Uint8Array {
  const out = new Uint8Array(width);
  let v = BigInt(value);
  for (let k = 0; k < width; k++, v >>= 8n) out[k] = Number(v & 0xffn);
  return out;
}

/** One input or output: its name (text or raw bytes), a type code, dimensions (DYNAMIC_DIM for a dynamic one). */
function entry(name: string | Uint8Array, code: number, dims: readonly (bigint | number)[]): Uint8Array {
  const bytes = typeof name === "string" ? utf8(name) : name;
  return concat([le(bytes.length, 2), bytes, new Uint8Array([code, dims.length]), ...dims.map((d) => le(d, 8))]);
}

const MAGIC = utf8("TMS1");

/** TMS1 bytes of these entries, in the order given. */
function tms1(inputs: readonly Uint8Array[], outputs: readonly Uint8Array[]): Uint8Array {
  return concat([MAGIC, le(inputs.length, 4), ...inputs, le(outputs.length, 4), ...outputs]);
}

const byNameBytes = (a: TensorSpec, b: TensorSpec): number => compareBytes(utf8(a.name), utf8(b.name));
const sortedSide = (specs: readonly TensorSpec[]): TensorSpec[] => [...specs].sort(byNameBytes);
const specEntry = (s: TensorSpec): Uint8Array =>
  entry(
    s.name,
    TYPE_CODES[s.type],
    s.shape.map((d) => (d === null ? DYNAMIC_DIM : d)),
  );

/** The canonical bytes of any signature, inputs past 2^64 - 1 bytes included (encodeSignature refuses those). */
const encodeAnySize = (sig: IoSignature): Uint8Array =>
  tms1(sortedSide(sig.inputs).map(specEntry), sortedSide(sig.outputs).map(specEntry));

/** Where an entry of a canonical encoding starts, where its name starts, and where it ends. */
interface EntryAt {
  at: number;
  nameAt: number;
  end: number;
}

/** The entries' positions in the canonical encoding of `sig`, each list in name order. */
function layoutOf(sig: IoSignature): { inputs: EntryAt[]; outputs: EntryAt[] } {
  let at = MAGIC.length;
  const side = (specs: readonly TensorSpec[]): EntryAt[] => {
    at += 4;
    return sortedSide(specs).map((s) => {
      const start = at;
      at += 2 + utf8(s.name).length + 2 + 8 * s.shape.length;
      return { at: start, nameAt: start + 2, end: at };
    });
  };
  const inputs = side(sig.inputs);
  return { inputs, outputs: side(sig.outputs) };
}

/** Bytes of every conforming input, exactly (a bigint: the product of the dimensions is not bounded). */
const entryInputBytes = (s: TensorSpec): bigint =>
  BigInt(4 + utf8(s.name).length + 8 * s.shape.length) +
  BigInt(ELEMENT_SIZES[s.type]) * s.shape.reduce<bigint>((n, d) => n * BigInt(d!), 1n);

/** Where the library refuses inputs past 2^64 - 1 bytes: the end of the input that takes them there. */
function oversizeOffset(sig: IoSignature): number {
  const layout = layoutOf(sig).inputs;
  let size = 8n;
  for (const [i, spec] of sortedSide(sig.inputs).entries()) {
    size += entryInputBytes(spec);
    if (size > MAX_INPUT_SIZE) return layout[i].end;
  }
  throw new Error("the inputs fit in 2^64 - 1 bytes");
}

/**
 * What the harness did with some bytes, as text: `size N` or `malformed at N`. A bare eth_call, three times faster
 * than through the contract object, for the properties' thousands of calls.
 */
async function outcomeOf(harness: IoSignatureHarness, bytes: Uint8Array): Promise<string> {
  const call = { to: harness.target, data: harness.interface.encodeFunctionData("inputSize", [bytes]) };
  try {
    return `size ${BigInt(await network.provider.send("eth_call", [call, "latest"]))}`;
  } catch (e) {
    const data = (e as { data?: string }).data;
    const parsed = data === undefined ? null : harness.interface.parseError(data);
    if (parsed?.name !== "IoSignatureMalformed") throw e;
    return `malformed at ${parsed.args[0]}`;
  }
}

/** What the reference did with some bytes: the input size, or its error. */
function referenceOf(bytes: Uint8Array): { size: bigint } | { error: SignatureError } {
  try {
    decodeSignature(bytes);
  } catch (e) {
    if (!(e instanceof SignatureError)) throw e;
    return { error: e };
  }
  return { size: signatureInputSize(bytes) };
}

/**
 * Whether the reference refused `bytes` for a name that is not UTF-8, the one rule the library leaves to the
 * off-chain checkers: the message says so and the name at the error's offset fails the UTF-8 check.
 */
function refusedForUtf8(error: SignatureError, bytes: Uint8Array): boolean {
  if (!/name is not valid UTF-8$/.test(error.message)) return false;
  const at = error.offset!;
  const length = bytes[at] | (bytes[at + 1] << 8);
  return decodeName(bytes.subarray(at + 2, at + 2 + length)) === undefined;
}

/** The worked example of docs/TENSOR-ENCODING.md ("Model signatures (TMS1)"), from its hex block. */
function documentedExample(): Uint8Array {
  const doc = readFileSync(path.join(__dirname, "..", "..", "docs", "TENSOR-ENCODING.md"), "utf8");
  const section = doc.slice(doc.indexOf("## Model signatures (TMS1)"));
  const block = /```hex\n([\s\S]*?)```/.exec(section)![1];
  const digits = block
    .split("\n")
    .map((line) => line.replace(/#.*$/, ""))
    .join("")
    .replace(/\s+/g, "");
  return unhex(digits);
}

const GOLDEN = documentedExample();
/** The example's entries: "features" at 8, "scale" at 36; output count at 45; "label" at 49, "probabilities" at 66. */
const GOLDEN_NAMES = [
  { at: 8, length: 8 },
  { at: 36, length: 5 },
  { at: 49, length: 5 },
  { at: 66, length: 13 },
];

/** A valid input and output, for hand-built cases about the other side. */
const IN = entry("x", TYPE_CODES.float32, [3]);
const OUT = entry("y", TYPE_CODES.float32, [DYNAMIC_DIM]);
/** Size of the input of a signature whose one input is IN: 8 + 2 + 1 + 1 + 1 + 8 + 4 * 3. */
const IN_SIZE = 33n;

async function harnessFixture(): Promise<{ harness: IoSignatureHarness }> {
  return { harness: await ethers.deployContract("IoSignatureHarness") };
}

describe("IoSignatureLib", function () {
  describe("#inputSize", function () {
    /** Expects the harness to revert with IoSignatureMalformed(offset) on `bytes`, and the reference to refuse them. */
    async function expectMalformed(harness: IoSignatureHarness, bytes: Uint8Array, offset: number): Promise<void> {
      await expect(harness.inputSize(bytes))
        .to.be.revertedWithCustomError(harness, "IoSignatureMalformed")
        .withArgs(offset);
      expect(() => decodeSignature(bytes)).to.throw(SignatureError);
    }

    describe("when the signature is canonical TMS1", function () {
      it("returns 69 for the worked example of docs/TENSOR-ENCODING.md", async function () {
        const { harness } = await loadFixture(harnessFixture);
        expect(GOLDEN.length).to.equal(99);
        expect(await harness.inputSize(GOLDEN)).to.equal(69n);
        expect(signatureInputSize(GOLDEN)).to.equal(69n);
      });

      it("returns the size of a one-input signature, and counts every element size", async function () {
        const { harness } = await loadFixture(harnessFixture);
        expect(await harness.inputSize(tms1([IN], [OUT]))).to.equal(IN_SIZE);
        for (const type of ELEMENT_TYPES) {
          const bytes = tms1([entry("x", TYPE_CODES[type], [2, 3])], [OUT]);
          const expected = 8n + 2n + 1n + 2n + 16n + BigInt(ELEMENT_SIZES[type]) * 6n;
          expect(await harness.inputSize(bytes), type).to.equal(expected);
          expect(signatureInputSize(bytes), type).to.equal(expected);
        }
      });

      it("accepts dimensions of 2^53 - 1 and dynamic output dimensions", async function () {
        const { harness } = await loadFixture(harnessFixture);
        const bytes = tms1([entry("x", TYPE_CODES.uint8, [MAX_DIM])], [entry("y", 1, [MAX_DIM, DYNAMIC_DIM])]);
        expect(await harness.inputSize(bytes)).to.equal(8n + 2n + 1n + 2n + 8n + MAX_DIM);
      });

      it("accepts a zero dimension after dimensions whose product passes 2^64 - 1, and counts no data", async function () {
        const { harness } = await loadFixture(harnessFixture);
        // (2^53 - 1)^3 elements before the 0: the count saturates, then the 0 makes it 0.
        const bytes = tms1([entry("x", TYPE_CODES.float64, [MAX_DIM, MAX_DIM, MAX_DIM, 0])], [OUT]);
        expect(await harness.inputSize(bytes)).to.equal(8n + 2n + 1n + 2n + 32n);
        expect(signatureInputSize(bytes)).to.equal(8n + 2n + 1n + 2n + 32n);
      });

      it("accepts inputs of exactly 2^64 - 1 bytes", async function () {
        const { harness } = await loadFixture(harnessFixture);
        // "a": 4 + 1 + 16 + (2^53 - 1) * 2^11 bytes; "b": 4 + 1 + 8 + k; with 8 around them, 2^64 - 1 for k = 2005.
        const a = entry("a", TYPE_CODES.uint8, [MAX_DIM, 2n ** 11n]);
        const bytes = tms1([a, entry("b", TYPE_CODES.uint8, [2005])], [OUT]);
        expect(await harness.inputSize(bytes)).to.equal(MAX_INPUT_SIZE);
        expect(signatureInputSize(bytes)).to.equal(MAX_INPUT_SIZE);
      });

      it("accepts names that are not UTF-8 (the one rule left to the off-chain checkers), in byte order", async function () {
        const { harness } = await loadFixture(harnessFixture);
        // A stray byte, an overlong form, a surrogate, a cut sequence, a code point past U+10FFFF.
        for (const raw of ["ff", "c080", "c1bf", "eda080", "e282", "f4908080"]) {
          const name = unhex(raw);
          const bytes = tms1([entry("a", TYPE_CODES.int8, [1]), entry(name, TYPE_CODES.int8, [2])], [OUT]);
          // "a": 2 + 1 + 2 + 8 + 1 bytes; the other: 2 + its length + 2 + 8 + 2.
          const expected = 8n + 14n + 14n + BigInt(name.length);
          expect(await harness.inputSize(bytes), raw).to.equal(expected);
          expect(() => decodeSignature(bytes), raw).to.throw(SignatureError, /name is not valid UTF-8/);
        }
      });
    });

    describe("when the magic is not TMS1", function () {
      it("reverts with IoSignatureMalformed(0): TML1, lowercase, version 2, fewer than 4 bytes", async function () {
        const { harness } = await loadFixture(harnessFixture);
        for (const magic of ["TML1", "tms1", "TMS2"]) {
          await expectMalformed(harness, concat([utf8(magic), GOLDEN.subarray(4)]), 0);
        }
        await expectMalformed(harness, utf8("TMS"), 0);
      });
    });

    describe("when the signature is empty", function () {
      it("reverts with IoSignatureMalformed(0)", async function () {
        const { harness } = await loadFixture(harnessFixture);
        await expectMalformed(harness, new Uint8Array(0), 0);
      });
    });

    describe("when a count is 0", function () {
      it("reverts at the input count (4)", async function () {
        const { harness } = await loadFixture(harnessFixture);
        await expectMalformed(harness, tms1([], [OUT]), 4);
      });

      it("reverts at the output count", async function () {
        const { harness } = await loadFixture(harnessFixture);
        await expectMalformed(harness, tms1([IN], []), 8 + IN.length);
      });
    });

    describe("when a name is empty", function () {
      it("reverts at its length field, in the inputs and in the outputs", async function () {
        const { harness } = await loadFixture(harnessFixture);
        await expectMalformed(harness, tms1([entry("", 1, [])], [OUT]), 8);
        await expectMalformed(harness, tms1([IN], [OUT, entry("", 1, [])]), 8 + IN.length + 4 + OUT.length);
      });
    });

    describe("when the bytes stop short", function () {
      it("reverts at every proper prefix of the example: at a name's length field when the name is cut, else at the end", async function () {
        const { harness } = await loadFixture(harnessFixture);
        for (let n = 0; n < GOLDEN.length; n++) {
          const cutName = GOLDEN_NAMES.find(({ at, length }) => n >= at + 2 && n < at + 2 + length);
          await expectMalformed(harness, GOLDEN.subarray(0, n), n < 4 ? 0 : (cutName?.at ?? n));
        }
      });

      it("reverts at the end when a count promises more entries than follow", async function () {
        const { harness } = await loadFixture(harnessFixture);
        const bytes = concat([MAGIC, le(0xffffffff, 4), IN]);
        await expectMalformed(harness, bytes, bytes.length);
      });
    });

    describe("when names are out of order or repeated", function () {
      it("reverts at the first byte of the name that breaks the order, in the inputs and in the outputs", async function () {
        const { harness } = await loadFixture(harnessFixture);
        const [a, ab, b] = ["a", "ab", "b"].map((name) => entry(name, TYPE_CODES.float32, []));
        // Entries of one-letter names are 5 bytes, "ab"'s 6; a name starts 2 bytes into its entry.
        const cases: [Uint8Array[], Uint8Array[], number][] = [
          [[b, a], [OUT], 8 + 5 + 2],
          [[ab, a], [OUT], 8 + 6 + 2], // a prefix comes before its extensions
          [[a, a], [OUT], 8 + 5 + 2],
          [[a, ab, ab], [OUT], 8 + 5 + 6 + 2],
          [[a], [b, a], 8 + 5 + 4 + 5 + 2],
          [[a], [a, a], 8 + 5 + 4 + 5 + 2],
          [[a], [a, ab, a], 8 + 5 + 4 + 5 + 6 + 2],
        ];
        for (const [inputs, outputs, offset] of cases) await expectMalformed(harness, tms1(inputs, outputs), offset);
        // An input and an output may share a name, and a prefix before its extension is in order.
        expect(await harness.inputSize(tms1([a, ab], [a, ab]))).to.equal(8n + 9n + 10n);
      });

      it("compares names as unsigned bytes: é (c3 a9) after z, U+FEFF (ef bb bf) after é", async function () {
        const { harness } = await loadFixture(harnessFixture);
        const [z, e, bom] = ["z", "é", "\ufeff"].map((name) => entry(name, TYPE_CODES.bool, []));
        expect(await harness.inputSize(tms1([z, e, bom], [OUT]))).to.equal(8n + 6n + 7n + 8n);
        await expectMalformed(harness, tms1([e, z], [OUT]), 8 + 6 + 2);
        await expectMalformed(harness, tms1([bom, e], [OUT]), 8 + 7 + 2);
      });
    });

    describe("when a type code is unknown", function () {
      it("accepts exactly the seven TML1 codes and reverts at the code for the other 249", async function () {
        const { harness } = await loadFixture(harnessFixture);
        expect(ELEMENT_TYPES).to.have.lengthOf(7);
        const outcomes = await Promise.all(
          Array.from({ length: 256 }, (_, code) => outcomeOf(harness, tms1([entry("x", code, [])], [OUT]))),
        );
        // A scalar input "x": 8 + 2 + 1 + 1 + 1 bytes around its one element.
        const expected = outcomes.map((_, code) => {
          const type = ELEMENT_TYPES.find((t) => TYPE_CODES[t] === code);
          return type === undefined ? "malformed at 11" : `size ${13 + ELEMENT_SIZES[type]}`;
        });
        expect(outcomes).to.deep.equal(expected);
      });

      it("reverts at the code of an output", async function () {
        const { harness } = await loadFixture(harnessFixture);
        await expectMalformed(harness, tms1([IN], [entry("y", 4, [])]), 8 + IN.length + 4 + 2 + 1);
      });
    });

    describe("when an input dimension is dynamic", function () {
      it("reverts at the dimension", async function () {
        const { harness } = await loadFixture(harnessFixture);
        await expectMalformed(harness, tms1([entry("x", 1, [2, DYNAMIC_DIM])], [OUT]), 8 + 2 + 1 + 2 + 8);
      });
    });

    describe("when a dimension is over 2^53 - 1 and not the dynamic marker", function () {
      it("reverts at the dimension, in an input and in an output", async function () {
        const { harness } = await loadFixture(harnessFixture);
        for (const d of [MAX_DIM + 1n, 2n ** 63n, DYNAMIC_DIM - 1n]) {
          await expectMalformed(harness, tms1([entry("x", 1, [d])], [OUT]), 8 + 2 + 1 + 2);
          await expectMalformed(harness, tms1([IN], [entry("y", 1, [1, d])]), 8 + IN.length + 4 + 2 + 1 + 2 + 8);
        }
      });
    });

    describe("when bytes follow the last output", function () {
      it("reverts at the first of them", async function () {
        const { harness } = await loadFixture(harnessFixture);
        await expectMalformed(harness, concat([GOLDEN, new Uint8Array(1)]), GOLDEN.length);
        await expectMalformed(harness, concat([GOLDEN, GOLDEN]), GOLDEN.length);
      });
    });

    describe("when the inputs take more than 2^64 - 1 bytes", function () {
      it("reverts at the end of an input of more than 2^64 - 1 elements", async function () {
        const { harness } = await loadFixture(harnessFixture);
        const x = entry("x", TYPE_CODES.bool, [MAX_DIM, MAX_DIM, 1]);
        await expectMalformed(harness, tms1([x], [OUT]), 8 + x.length);
        // The count stays saturated through later dimensions of 1 and more.
        const y = entry("y", TYPE_CODES.bool, [2n ** 32n, 2n ** 32n, 1, 2]);
        await expectMalformed(harness, tms1([IN, y], [OUT]), 8 + IN.length + y.length);
      });

      it("reverts at the end of an input of fewer elements whose bytes pass 2^64 - 1", async function () {
        const { harness } = await loadFixture(harnessFixture);
        // (2^53 - 1) * 2^11 < 2^64 elements, of 8 bytes each.
        const x = entry("x", TYPE_CODES.float64, [MAX_DIM, 2n ** 11n]);
        await expectMalformed(harness, tms1([x], [OUT]), 8 + x.length);
      });

      it("reverts at the end of the input whose bytes take the sum past 2^64 - 1, one byte over", async function () {
        const { harness } = await loadFixture(harnessFixture);
        const a = entry("a", TYPE_CODES.uint8, [MAX_DIM, 2n ** 11n]);
        const b = entry("b", TYPE_CODES.uint8, [2006]);
        const bytes = tms1([a, b, entry("c", TYPE_CODES.uint8, [])], [OUT]);
        await expectMalformed(harness, bytes, 8 + a.length + b.length);
        expect(() => decodeSignature(bytes)).to.throw(SignatureError, /over 2\^64-1/);
      });
    });

    describe("against the TypeScript reference (src/signature.ts)", function () {
      const UNITS = fc.constantFrom("a", "b", "é", "€", "\ufeff", "😀");
      /** Names of one to three letters of a small alphabet (prefixes of one another) or any code points. */
      const NAME = fc.oneof(
        fc.string({ unit: UNITS, minLength: 1, maxLength: 3 }),
        fc.string({ unit: "binary", minLength: 1, maxLength: 4 }),
      );
      const TYPE = fc.constantFrom(...ELEMENT_TYPES);
      /** Mostly small dimensions, some 0, some huge: the product of a few huge ones passes 2^64. */
      const DIM = fc.oneof(
        { arbitrary: fc.nat(4), weight: 6 },
        { arbitrary: fc.constant(Number.MAX_SAFE_INTEGER), weight: 1 },
        { arbitrary: fc.maxSafeNat(), weight: 1 },
        { arbitrary: fc.integer({ min: 2 ** 16, max: 2 ** 33 }), weight: 1 },
      );
      const specs = (dim: fc.Arbitrary<number | null>, maxLength: number): fc.Arbitrary<TensorSpec[]> =>
        fc.uniqueArray(fc.record({ name: NAME, type: TYPE, shape: fc.array(dim, { maxLength: 4 }) }), {
          selector: (s) => s.name,
          minLength: 1,
          maxLength,
        });
      const signatures = (dim: fc.Arbitrary<number>): fc.Arbitrary<IoSignature> =>
        fc.record({ inputs: specs(dim, 4), outputs: specs(fc.option(dim, { nil: null }), 3) });
      /** Signatures whose inputs fit in 2^64 - 1 bytes, to mutate. */
      const SMALL = signatures(fc.nat(4));

      // node:assert inside the properties: hardhat-chai-matchers' expect costs about 1 ms a call.

      it("returns signatureInputSize for random signatures, and past 2^64 - 1 bytes reverts where it says", async function () {
        const { harness } = await loadFixture(harnessFixture);
        const seen = { accepted: 0, oversize: 0, zeroAmongHuge: 0 };
        const hugeBeside0 = (s: TensorSpec): boolean =>
          s.shape.includes(0) && s.shape.reduce<bigint>((n, d) => n * BigInt(d || 1), 1n) > MAX_INPUT_SIZE;
        await fc.assert(
          fc.asyncProperty(signatures(DIM), async (sig) => {
            const size = signatureInputSize(sig);
            const bytes = encodeAnySize(sig);
            const outcome = await outcomeOf(harness, bytes);
            if (sig.inputs.some(hugeBeside0)) seen.zeroAmongHuge++;
            if (size <= MAX_INPUT_SIZE) {
              seen.accepted++;
              assert.equal(hex(bytes), hex(encodeSignature(sig)));
              assert.equal(outcome, `size ${size}`);
            } else {
              seen.oversize++;
              assert.throws(() => decodeSignature(bytes), /over 2\^64-1/);
              assert.equal(outcome, `malformed at ${oversizeOffset(sig)}`);
            }
          }),
          { seed: SEED, numRuns: 150 },
        );
        expect(seen.accepted, JSON.stringify(seen)).to.be.above(75);
        expect(seen.oversize, JSON.stringify(seen)).to.be.above(25);
        expect(seen.zeroAmongHuge, JSON.stringify(seen)).to.be.above(0);
      });

      type Mutation =
        | { kind: "set"; at: number; value: number }
        | { kind: "insert"; at: number; value: number }
        | { kind: "delete"; at: number }
        | { kind: "truncate"; at: number }
        | { kind: "extend"; bytes: Uint8Array };
      const BYTE = fc.integer({ min: 0, max: 255 });
      const MUTATION: fc.Arbitrary<Mutation> = fc.oneof(
        { arbitrary: fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: BYTE }), weight: 4 },
        fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), value: BYTE }),
        fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
        fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
        fc.record({ kind: fc.constant("extend" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 9 }) }),
      );

      function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
        const at = "at" in m && bytes.length > 0 ? m.at % bytes.length : 0;
        switch (m.kind) {
          case "set": {
            const out = bytes.slice();
            if (out.length > 0) out[at] = m.value;
            return out;
          }
          case "insert":
            return concat([bytes.subarray(0, at), new Uint8Array([m.value]), bytes.subarray(at)]);
          case "delete":
            return concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
          case "truncate":
            return bytes.slice(0, at);
          case "extend":
            return concat([bytes, m.bytes]);
        }
      }

      it("on mutated encodings, reverts exactly when decodeSignature throws, else returns its size", async function () {
        const { harness } = await loadFixture(harnessFixture);
        const seen = { accepted: 0, malformed: 0, notUtf8: 0 };
        await fc.assert(
          fc.asyncProperty(SMALL, fc.array(MUTATION, { minLength: 1, maxLength: 3 }), async (sig, mutations) => {
            const bytes = mutations.reduce(mutate, encodeSignature(sig));
            const reference = referenceOf(bytes);
            if ("error" in reference && refusedForUtf8(reference.error, bytes)) {
              // The library takes such names (the property below); what follows them is not compared.
              seen.notUtf8++;
              return;
            }
            const outcome = await outcomeOf(harness, bytes);
            if ("size" in reference) {
              seen.accepted++;
              assert.equal(outcome, `size ${reference.size}`, hex(bytes));
            } else {
              seen.malformed++;
              assert.match(outcome, /^malformed at \d+$/, `${hex(bytes)}: ${reference.error.message}`);
            }
          }),
          { seed: SEED, numRuns: 200 },
        );
        expect(seen.accepted, JSON.stringify(seen)).to.be.above(10);
        expect(seen.malformed, JSON.stringify(seen)).to.be.above(100);
        expect(seen.notUtf8, JSON.stringify(seen)).to.be.above(0);
      });

      it("a name byte changed so that the name is not UTF-8: the same size while names stay in order", async function () {
        const { harness } = await loadFixture(harnessFixture);
        const seen = { accepted: 0, outOfOrder: 0, stillUtf8: 0 };
        await fc.assert(
          fc.asyncProperty(
            SMALL,
            fc.boolean(),
            fc.nat(),
            fc.nat(),
            fc.integer({ min: 0x80, max: 0xff }),
            async (sig, inInputs, pick, bytePick, value) => {
              const side = sortedSide(inInputs ? sig.inputs : sig.outputs);
              const layout = layoutOf(sig)[inInputs ? "inputs" : "outputs"];
              const i = pick % side.length;
              const names = side.map((s) => utf8(s.name));
              const k = bytePick % names[i].length;
              names[i][k] = value;
              if (decodeName(names[i]) !== undefined) {
                seen.stillUtf8++;
                return;
              }
              const bytes = encodeSignature(sig);
              bytes[layout[i].nameAt + k] = value;
              assert.throws(() => decodeSignature(bytes), /name is not valid UTF-8$/);
              const broken = names.findIndex((name, j) => j > 0 && compareBytes(names[j - 1], name) >= 0);
              if (broken < 0) {
                seen.accepted++;
                assert.equal(await outcomeOf(harness, bytes), `size ${signatureInputSize(sig)}`);
              } else {
                seen.outOfOrder++;
                assert.equal(await outcomeOf(harness, bytes), `malformed at ${layout[broken].nameAt}`);
              }
            },
          ),
          { seed: SEED, numRuns: 80 },
        );
        expect(seen.accepted, JSON.stringify(seen)).to.be.above(30);
        expect(seen.outOfOrder, JSON.stringify(seen)).to.be.above(0);
      });
    });
  });
});
