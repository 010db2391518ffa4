import { expect } from "chai";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import path from "node:path";
import { keccak256 } from "ethers";
import {
  ELEMENT_SIZES,
  ELEMENT_TYPES,
  TYPE_CODES,
  encodeTensors,
  type ElementType,
  type Tensor,
  type TensorData,
} from "../packages/sdk/src/codec";
import { buildIdentityModel, buildMlpClassifier, buildTwoInputModel, serialize, valueInfo } from "../src/models/build";
import {
  DYNAMIC_DIM,
  SignatureError,
  SignatureMismatchError,
  checkInputBytes,
  checkSignatureFits,
  checkInputs,
  checkOutputs,
  decodeSignature,
  deriveSignature,
  encodeSignature,
  formatSignature,
  parseShapeOverrides,
  signatureHash,
  signatureInputSize,
  MAX_INPUT_SIZE,
  type IoSignature,
  type MismatchProblem,
  type ShapeOverrides,
  type TensorSpec,
} from "../packages/sdk/src/signature";
import { loadModel, type LoadedModel } from "../packages/sdk/src/onnx";
import { modelLoader } from "./fixtures/onnx";

/**
 * TMS1, the model signature format (packages/sdk/src/signature.ts, docs/TENSOR-ENCODING.md "Model signatures (TMS1)"): the
 * documented example byte for byte, the encoder's and the decoder's every rejection, fast-check properties (round
 * trips, canonical bytes, the input size formula against real encodings, conformance and single mutations), and
 * derivation from ONNX models built in code. Properties run with a fixed seed (PROPERTY_SEED overrides it).
 */

const SEED = process.env.PROPERTY_SEED ? Number(process.env.PROPERTY_SEED) : 0x7e51;
const RUNS = 150;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const byName = (a: { name: string }, b: { name: string }): number =>
  Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
const sorted = (sig: IoSignature): IoSignature => ({
  inputs: [...sig.inputs].sort(byName),
  outputs: [...sig.outputs].sort(byName),
});

/** The documented example, in the order the doc gives it (not name order). */
const GOLDEN: IoSignature = {
  inputs: [
    { name: "scale", type: "int64", shape: [] },
    { name: "features", type: "float32", shape: [1, 4] },
  ],
  outputs: [
    { name: "probabilities", type: "float32", shape: [null, 3] },
    { name: "label", type: "int64", shape: [null] },
  ],
};

const ARRAYS: Record<ElementType, new (length: number) => TensorData> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  int8: Int8Array,
  bool: Uint8Array,
};

/** A tensor of `type` and `shape` holding zeros. */
function zeros(name: string, type: ElementType, shape: number[]): Tensor {
  return { name, type, shape, data: new ARRAYS[type](shape.reduce((n, d) => n * d, 1)) };
}

/** A tensor that conforms to `spec`, a dynamic dimension taking `dynamicSize`. */
const conforming = (spec: TensorSpec, dynamicSize = 2): Tensor =>
  zeros(
    spec.name,
    spec.type,
    spec.shape.map((d) => d ?? dynamicSize),
  );

function caught(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error");
}

function expectSignatureError(f: () => unknown, message: RegExp, context: { offset?: number; tensor?: string } = {}) {
  const e = caught(f);
  expect(e, e.message).to.be.instanceOf(SignatureError);
  expect(e.message).to.match(message);
  const { offset, tensor } = e as SignatureError;
  if ("offset" in context) expect(offset, "offset").to.equal(context.offset);
  if ("tensor" in context) expect(tensor, "tensor").to.equal(context.tensor);
  return e as SignatureError;
}

function expectMismatch(f: () => unknown, problem: MismatchProblem, tensor: string | undefined, message?: RegExp) {
  const e = caught(f);
  expect(e, e.message).to.be.instanceOf(SignatureMismatchError);
  const m = e as SignatureMismatchError;
  expect(m.problem, m.message).to.equal(problem);
  expect(m.tensor, m.message).to.equal(tensor);
  if (message !== undefined) expect(m.message).to.match(message);
  return m;
}

// Hand-built TMS1 bytes, for what the encoder never writes.
const u8 = (n: number): string => n.toString(16).padStart(2, "0");
const u16 = (n: number): string => hex(new Uint8Array(new Uint16Array([n]).buffer));
const u32 = (n: number): string => hex(new Uint8Array(new Uint32Array([n]).buffer));
const u64 = (n: bigint): string => hex(new Uint8Array(new BigUint64Array([n]).buffer));
/** One entry: `name` as hex of its bytes (or text), a type code, dimensions. */
function entry(name: string | Uint8Array, code: number, dims: bigint[]): string {
  const bytes = typeof name === "string" ? new TextEncoder().encode(name) : name;
  return u16(bytes.length) + hex(bytes) + u8(code) + u8(dims.length) + dims.map(u64).join("");
}
const MAGIC = "544d5331";
const sigHex = (inputs: string[], outputs: string[]): string =>
  MAGIC + u32(inputs.length) + inputs.join("") + u32(outputs.length) + outputs.join("");
const OUT = entry("y", 1, [DYNAMIC_DIM]);
const IN = entry("x", 1, [3n]);

describe("model signatures (TMS1)", function () {
  describe("documented format", function () {
    const doc = readFileSync(path.join(__dirname, "..", "docs", "TENSOR-ENCODING.md"), "utf8");
    const section = doc.slice(doc.indexOf("## Model signatures (TMS1)"));

    it("the worked example in docs/TENSOR-ENCODING.md, byte for byte, with its hash and input size", function () {
      expect(doc.indexOf("## Model signatures (TMS1)")).to.be.above(0);
      const block = /```hex\n([\s\S]*?)```/.exec(section);
      expect(block, "a ```hex block in the section").to.not.equal(null);
      const docHex = block![1]
        .split("\n")
        .map((line) => line.replace(/#.*$/, ""))
        .join("")
        .replace(/\s+/g, "");
      const bytes = encodeSignature(GOLDEN);
      expect(hex(bytes)).to.equal(docHex);
      expect(section).to.contain(`these ${bytes.length} bytes`);
      expect(signatureHash(GOLDEN)).to.equal("0xecf5d5301fb3a918b9a72952e0679347b2678c4681a33e91bc7ed96d394c4eb8");
      expect(section).to.contain(`signature hash (keccak256): \`${signatureHash(GOLDEN)}\``);
      expect(signatureInputSize(GOLDEN)).to.equal(69n);
      expect(section).to.contain(`input size: ${signatureInputSize(GOLDEN)} bytes`);
      expect(decodeSignature(unhex(docHex))).to.deep.equal(sorted(GOLDEN));
    });

    it("the source header documents the same layout and codes", function () {
      const source = readFileSync(path.join(__dirname, "..", "packages", "sdk", "src", "signature.ts"), "utf8");
      const header = source.slice(0, source.indexOf("*/"));
      for (const [type, code] of Object.entries(TYPE_CODES)) expect(header).to.contain(`${code} ${type}`);
      expect(header).to.contain('"TMS1" (54 4d 53 31)');
      expect(section).to.contain("`TMS1` (`54 4d 53 31`)");
      const formula = "8 + Σ over inputs (2 + L + 1 + 1 + 8·R + ";
      expect(header).to.contain(formula + "elementSize · Π dims)");
      expect(section).to.contain(formula + "s·Π dims)");
    });
  });

  describe("#encodeSignature and #decodeSignature", function () {
    it("sorts each list by name bytes, a prefix first, and decodes to the sorted lists", function () {
      const sig: IoSignature = {
        inputs: [
          { name: "ab", type: "uint8", shape: [2] },
          { name: "b", type: "bool", shape: [] },
          { name: "a", type: "int8", shape: [0, 1] },
          { name: "é", type: "int32", shape: [1] }, // c3 a9: after every ASCII name
          { name: "Z", type: "float64", shape: [1] }, // uppercase sorts before lowercase
        ],
        outputs: [{ name: "a", type: "float32", shape: [null, 0, Number.MAX_SAFE_INTEGER] }],
      };
      const decoded = decodeSignature(encodeSignature(sig));
      expect(decoded.inputs.map((s) => s.name)).to.deep.equal(["Z", "a", "ab", "b", "é"]);
      expect(decoded).to.deep.equal(sorted(sig));
      expect(hex(encodeSignature(decoded))).to.equal(hex(encodeSignature(sig)));
    });

    it("keeps a leading U+FEFF, 65535-byte names, rank 255, and an input sharing a name with an output", function () {
      const sig: IoSignature = {
        inputs: [
          { name: "\ufeffx", type: "float32", shape: Array(255).fill(1) },
          { name: "n".repeat(65535), type: "bool", shape: [0] },
        ],
        outputs: [{ name: "\ufeffx", type: "float32", shape: [] }],
      };
      const bytes = encodeSignature(sig);
      // "n…" (6e) sorts before U+FEFF (ef bb bf), whose bytes are kept as they are.
      expect(hex(bytes.subarray(8, 10))).to.equal("ffff");
      expect(hex(bytes.subarray(8 + 2 + 65535 + 2 + 8, 8 + 2 + 65535 + 2 + 8 + 6))).to.equal("0400efbbbf78");
      expect(decodeSignature(bytes)).to.deep.equal(sorted(sig));
    });

    it("does not change the caller's lists or shapes", function () {
      const sig: IoSignature = structuredClone(GOLDEN);
      const decoded = decodeSignature(encodeSignature(sig));
      expect(sig).to.deep.equal(GOLDEN);
      decoded.inputs[0].shape.push(7);
      expect(sig.inputs[1].shape).to.deep.equal([1, 4]);
    });

    describe("the encoder rejects", function () {
      const spec = (s: Partial<TensorSpec> | null): IoSignature => ({
        inputs: [{ name: "x", type: "float32", shape: [1], ...s } as TensorSpec],
        outputs: [{ name: "y", type: "float32", shape: [null] }],
      });
      const outSpec = (s: Partial<TensorSpec>): IoSignature => ({
        inputs: [{ name: "x", type: "float32", shape: [1] }],
        outputs: [{ name: "y", type: "float32", shape: [1], ...s } as TensorSpec],
      });
      const cases: [string, unknown, RegExp, string | undefined][] = [
        ["no inputs", { inputs: [], outputs: GOLDEN.outputs }, /at least one input/, undefined],
        ["no outputs", { inputs: GOLDEN.inputs, outputs: [] }, /at least one output/, undefined],
        ["inputs that are not a list", { inputs: {}, outputs: GOLDEN.outputs }, /inputs must be an array/, undefined],
        ["a signature that is not an object", null, /must be an object/, undefined],
        [
          "an entry that is not an object",
          { inputs: [7], outputs: GOLDEN.outputs },
          /input #0 is not an object/,
          undefined,
        ],
        ["an empty name", spec({ name: "" }), /input #0: name must be a non-empty string/, undefined],
        ["a name that is not a string", spec({ name: 5 as unknown as string }), /input #0: name must be/, undefined],
        ["a lone surrogate", spec({ name: "a\ud800" }), /input "a\\ud800": name is not well-formed/, "a\ud800"],
        [
          "a 65536-byte name",
          spec({ name: "n".repeat(65536) }),
          /65536 bytes of UTF-8, at most 65535/,
          "n".repeat(65536),
        ],
        ["an unknown type", spec({ type: "float16" as ElementType }), /input "x": unknown element type "float16"/, "x"],
        ["a shape that is not a list", spec({ shape: 3 as unknown as number[] }), /shape must be an array/, "x"],
        ["rank 256", spec({ shape: Array(256).fill(1) }), /rank 256 exceeds 255/, "x"],
        [
          "a negative dimension",
          spec({ shape: [-1] }),
          /dimension 0 is -1; a dimension is an integer in 0..2\^53-1$/,
          "x",
        ],
        ["a fractional dimension", spec({ shape: [1, 1.5] }), /dimension 1 is 1.5/, "x"],
        ["a dimension of 2^53", spec({ shape: [2 ** 53] }), /dimension 0 is 9007199254740992/, "x"],
        ["a NaN dimension", spec({ shape: [NaN] }), /dimension 0 is NaN/, "x"],
        ["a string dimension", spec({ shape: ["3" as unknown as number] }), /dimension 0 is 3/, "x"],
        ["a dynamic input dimension", spec({ shape: [1, null] }), /input "x": dimension 1 is dynamic \(null\)/, "x"],
        [
          "a bad output dimension",
          outSpec({ shape: [-2] }),
          /output "y": dimension 0 is -2; .* or null \(dynamic\)/,
          "y",
        ],
        [
          "two inputs of one name",
          { inputs: [GOLDEN.inputs[0], { ...GOLDEN.inputs[0], type: "int8" }], outputs: GOLDEN.outputs },
          /input "scale": duplicate name/,
          "scale",
        ],
        [
          "two outputs of one name",
          { inputs: GOLDEN.inputs, outputs: [GOLDEN.outputs[1], GOLDEN.outputs[1]] },
          /output "label": duplicate name/,
          "label",
        ],
      ];
      for (const [what, sig, message, tensor] of cases) {
        it(what, function () {
          expectSignatureError(() => encodeSignature(sig as IoSignature), message, { tensor });
          expectSignatureError(() => signatureHash(sig as IoSignature), message);
          expectSignatureError(() => signatureInputSize(sig as IoSignature), message);
          expectSignatureError(() => checkInputs(sig as IoSignature, []), message);
        });
      }
    });

    describe("the decoder rejects", function () {
      const golden = encodeSignature(GOLDEN);

      it("anything but a Uint8Array", function () {
        expectSignatureError(() => decodeSignature([...golden] as unknown as Uint8Array), /must be a Uint8Array/);
        expectSignatureError(() => signatureHash(hex(golden) as unknown as Uint8Array), /must be an object|inputs/);
      });

      it("every proper prefix of a valid encoding (truncation), at the offset where bytes run out", function () {
        for (let n = 0; n < golden.length; n++) {
          const e = expectSignatureError(
            () => decodeSignature(golden.subarray(0, n)),
            /truncated: .* needs \d+ bytes, only \d+ left/,
          );
          expect(e.offset, `prefix of ${n}`).to.be.at.most(n);
          expect(e.message).to.match(new RegExp(`^at offset ${e.offset}: `));
        }
      });

      it("bytes after the last output", function () {
        const bytes = new Uint8Array([...golden, 0]);
        expectSignatureError(() => decodeSignature(bytes), /^at offset 99: 1 trailing bytes after the last output$/, {
          offset: 99,
        });
        expectSignatureError(() => signatureHash(bytes), /trailing bytes/);
      });

      it("a magic other than TMS1 (TML1, lowercase, version 2)", function () {
        for (const magic of ["544d4c31", "746d7331", "544d5332"]) {
          expectSignatureError(
            () => decodeSignature(unhex(magic + hex(golden).slice(8))),
            /bad magic: expected "TMS1"/,
            {
              offset: 0,
            },
          );
        }
      });

      it("an input or output count of 0", function () {
        expectSignatureError(() => decodeSignature(unhex(sigHex([], [OUT]))), /^at offset 4: input count is 0/, {
          offset: 4,
        });
        const noOutputs = unhex(sigHex([IN], []));
        expectSignatureError(() => decodeSignature(noOutputs), /output count is 0/, { offset: 8 + IN.length / 2 });
      });

      it("a count larger than the entries that follow (no allocation ahead of the bytes)", function () {
        const bytes = unhex(MAGIC + u32(0xffffffff) + IN);
        expectSignatureError(() => decodeSignature(bytes), /truncated: name length of input #1/);
      });

      it("an empty name", function () {
        expectSignatureError(() => decodeSignature(unhex(sigHex([entry("", 1, [])], [OUT]))), /input #0: empty name/, {
          offset: 8,
        });
        const second = unhex(sigHex([IN], [OUT, entry("", 1, [])]));
        expectSignatureError(() => decodeSignature(second), /output #1: empty name/, {
          offset: 8 + IN.length / 2 + 4 + OUT.length / 2,
        });
      });

      it("names that are not UTF-8: a stray byte, an overlong form, a surrogate, a cut sequence", function () {
        for (const raw of ["ff", "c080", "c1bf", "eda080", "e282", "f4908080"]) {
          const bytes = unhex(sigHex([entry(unhex(raw), 1, [])], [OUT]));
          expectSignatureError(() => decodeSignature(bytes), /^at offset 8: input #0: name is not valid UTF-8$/, {
            offset: 8,
            tensor: undefined,
          });
        }
      });

      it("names out of order or repeated, in the inputs and in the outputs", function () {
        const b = entry("b", 1, []);
        const a = entry("a", 1, []);
        const ab = entry("ab", 1, []);
        // Entries of one-letter names are 5 bytes; "ab"'s is 6.
        const cases: [string[], string[], RegExp, number][] = [
          [[b, a], [OUT], /input "a": inputs not in ascending order of name \(after "b"\)/, 8 + 5],
          [[ab, a], [OUT], /input "a": inputs not in ascending order of name \(after "ab"\)/, 8 + 6],
          [[a, a], [OUT], /input "a": duplicate name/, 8 + 5],
          [[a], [b, a], /output "a": outputs not in ascending order/, 8 + 5 + 4 + 5],
          [[a], [b, b], /output "b": duplicate name/, 8 + 5 + 4 + 5],
        ];
        for (const [inputs, outputs, message, offset] of cases) {
          const e = expectSignatureError(() => decodeSignature(unhex(sigHex(inputs, outputs))), message, { offset });
          expect(e.tensor).to.be.oneOf(["a", "b"]);
        }
      });

      it("unknown element type codes", function () {
        // Every code, as one list: what each decodes to, or its error's offset, tensor and message.
        const outcomes = Array.from({ length: 256 }, (_, code) => {
          try {
            return decodeSignature(unhex(sigHex([entry("x", code, [])], [OUT]))).inputs[0].type;
          } catch (e) {
            const { offset, tensor, message } = e as SignatureError;
            return `${offset} ${tensor} ${message}`;
          }
        });
        expect(outcomes).to.deep.equal(
          outcomes.map(
            (_, code) =>
              ELEMENT_TYPES.find((t) => TYPE_CODES[t] === code) ??
              `11 x at offset 11: input "x": unknown element type code ${code}`,
          ),
        );
        const outputs = unhex(sigHex([IN], [entry("y", 4, [])]));
        expectSignatureError(() => decodeSignature(outputs), /output "y": unknown element type code 4/, {
          tensor: "y",
        });
      });

      it("a dynamic input dimension, at the dimension's offset", function () {
        const bytes = unhex(sigHex([entry("x", 1, [2n, DYNAMIC_DIM])], [OUT]));
        expectSignatureError(
          () => decodeSignature(bytes),
          /input "x": dimension 1 is dynamic; every input dimension is fixed/,
          {
            offset: 21,
            tensor: "x",
          },
        );
      });

      it("a dimension over 2^53-1 that is not the dynamic marker, in an input or an output", function () {
        const max = BigInt(Number.MAX_SAFE_INTEGER);
        for (const d of [max + 1n, 2n ** 63n, DYNAMIC_DIM - 1n]) {
          expectSignatureError(
            () => decodeSignature(unhex(sigHex([entry("x", 1, [d])], [OUT]))),
            new RegExp(`input "x": dimension 0 is ${d}, over 2\\^53-1 and not the dynamic marker`),
            { offset: 13, tensor: "x" },
          );
          expectSignatureError(
            () => decodeSignature(unhex(sigHex([IN], [entry("y", 1, [1n, d])]))),
            /output "y": dimension 1 is/,
            { tensor: "y" },
          );
        }
        const edge = decodeSignature(unhex(sigHex([entry("x", 1, [max, 0n])], [entry("y", 1, [max, DYNAMIC_DIM])])));
        expect(edge.inputs[0].shape).to.deep.equal([Number.MAX_SAFE_INTEGER, 0]);
        expect(edge.outputs[0].shape).to.deep.equal([Number.MAX_SAFE_INTEGER, null]);
      });
    });
  });

  describe("#signatureHash", function () {
    it("is keccak256 of the encoding, whatever the order, and the same from the bytes", function () {
      const bytes = encodeSignature(GOLDEN);
      expect(signatureHash(GOLDEN)).to.equal(keccak256(bytes));
      expect(signatureHash(bytes)).to.equal(keccak256(bytes));
      expect(signatureHash(sorted(GOLDEN))).to.equal(keccak256(bytes));
      expect(signatureHash(Buffer.from(bytes))).to.equal(keccak256(bytes));
    });

    it("changes with any field: a name, a type, a dimension, a dynamic dimension made fixed", function () {
      const hashes = [
        GOLDEN,
        { ...GOLDEN, inputs: [{ ...GOLDEN.inputs[0], name: "scales" }, GOLDEN.inputs[1]] },
        { ...GOLDEN, inputs: [{ ...GOLDEN.inputs[0], type: "int32" as const }, GOLDEN.inputs[1]] },
        { ...GOLDEN, inputs: [GOLDEN.inputs[0], { ...GOLDEN.inputs[1], shape: [1, 5] }] },
        { ...GOLDEN, outputs: [GOLDEN.outputs[0], { ...GOLDEN.outputs[1], shape: [1] }] },
      ].map((s) => signatureHash(s));
      expect(new Set(hashes).size).to.equal(hashes.length);
    });
  });

  describe("#signatureInputSize", function () {
    it("is the TML1 length of a conforming input, from the signature or its bytes", function () {
      const input = GOLDEN.inputs.map((s) => conforming(s));
      expect(signatureInputSize(GOLDEN)).to.equal(BigInt(encodeTensors(input).length));
      expect(signatureInputSize(encodeSignature(GOLDEN))).to.equal(69n);
    });

    it("is exact beyond 2^64, and counts no data for a zero dimension", function () {
      const max = Number.MAX_SAFE_INTEGER;
      const huge: IoSignature = {
        inputs: [{ name: "x", type: "float64", shape: [max, max, max] }],
        outputs: [{ name: "y", type: "float64", shape: [null] }],
      };
      expect(signatureInputSize(huge)).to.equal(8n + 2n + 1n + 2n + 24n + 8n * BigInt(max) ** 3n);
      const empty = { ...huge, inputs: [{ name: "x", type: "float64" as const, shape: [max, 0, max] }] };
      expect(signatureInputSize(empty)).to.equal(8n + 2n + 1n + 2n + 24n);
      // The registry records at most 2^64 - 1 bytes: such a signature is neither encoded nor decoded.
      expectSignatureError(() => encodeSignature(huge), /over 2\^64-1/);
      const bytes = encodeSignature(empty);
      bytes[4 + 4 + 2 + 1 + 1 + 1 + 8] = 1; // the middle dimension, 0 → 1
      expectSignatureError(() => decodeSignature(bytes), /over 2\^64-1/);
      expect(decodeSignature(encodeSignature(empty)).inputs[0].shape).to.deep.equal([max, 0, max]);
    });

    it("the element sizes the input size uses are the codec's", function () {
      expect(ELEMENT_SIZES).to.deep.equal({ float32: 4, uint8: 1, int8: 1, int32: 4, int64: 8, bool: 1, float64: 8 });
      expect(Object.isFrozen(ELEMENT_SIZES)).to.equal(true);
    });

    it("rejects bytes that are not a signature", function () {
      expectSignatureError(() => signatureInputSize(new Uint8Array([0x54, 0x4d, 0x53, 0x31])), /truncated/);
    });
  });

  describe("#checkInputs, #checkOutputs and #checkInputBytes", function () {
    const sig: IoSignature = {
      inputs: [{ name: "x", type: "int64", shape: [1, 3] }, GOLDEN.inputs[0]],
      outputs: GOLDEN.outputs,
    };
    const x = (type: ElementType, shape: number[]): Tensor => zeros("x", type, shape);
    const scale = zeros("scale", "int64", []);

    it("accepts the inputs in any order", function () {
      checkInputs(sig, [x("int64", [1, 3]), scale]);
      checkInputs(sig, [scale, x("int64", [1, 3])]);
    });

    it("names the tensor and the problem: type, rank, dimension", function () {
      expectMismatch(
        () => checkInputs(sig, [x("float32", [3]), scale]),
        "type",
        "x",
        /^input "x": expected int64 \[1,3\], got float32 \[3\]$/,
      );
      expectMismatch(
        () => checkInputs(sig, [x("int64", [3]), scale]),
        "rank",
        "x",
        /^input "x": expected int64 \[1,3\], got int64 \[3\]$/,
      );
      expectMismatch(
        () => checkInputs(sig, [x("int64", [1, 4]), scale]),
        "dimension",
        "x",
        /^input "x": expected int64 \[1,3\], got int64 \[1,4\] \(dimension 1\)$/,
      );
      expectMismatch(
        () => checkInputs(sig, [x("int64", [1, 3]), zeros("scale", "int64", [1])]),
        "rank",
        "scale",
        /^input "scale": expected int64 \[\], got int64 \[1\]$/,
      );
    });

    it("names a missing, an unexpected and a repeated input", function () {
      expectMismatch(
        () => checkInputs(sig, [x("int64", [1, 3])]),
        "missing",
        "scale",
        /^missing input "scale" \(int64 \[\]\)$/,
      );
      expectMismatch(
        () => checkInputs(sig, [x("int64", [1, 3]), scale, zeros("extra", "bool", [2])]),
        "unexpected",
        "extra",
        /^unexpected input "extra" \(bool \[2\]\); the signature's inputs are "scale", "x"$/,
      );
      expectMismatch(
        () => checkInputs(sig, [scale, x("int64", [1, 3]), scale]),
        "duplicate",
        "scale",
        /"scale" is given twice/,
      );
    });

    it("rejects tensors the codec rejects, and entries that are not tensors", function () {
      const short: Tensor = { ...x("int64", [1, 3]), data: new BigInt64Array(2) };
      expectMismatch(
        () => checkInputs(sig, [short, scale]),
        "invalid",
        "x",
        /^invalid input: .*data has 2 elements but shape \[1,3\] needs 3/,
      );
      expectMismatch(
        () => checkInputs(sig, [scale, null as unknown as Tensor]),
        "invalid",
        undefined,
        /input #1: not a tensor/,
      );
      expectMismatch(
        () => checkInputs(sig, "x" as unknown as Tensor[]),
        "invalid",
        undefined,
        /inputs must be an array/,
      );
    });

    it("checks outputs, where a dynamic dimension takes any size", function () {
      for (const n of [0, 1, 5])
        checkOutputs(
          sig,
          sig.outputs.map((s) => conforming(s, n)),
        );
      expectMismatch(
        () => checkOutputs(sig, [zeros("label", "int64", [2]), zeros("probabilities", "float32", [2, 4])]),
        "dimension",
        "probabilities",
        /^output "probabilities": expected float32 \[\?,3\], got float32 \[2,4\] \(dimension 1\)$/,
      );
      expectMismatch(
        () => checkOutputs(sig, [zeros("label", "int64", [2])]),
        "missing",
        "probabilities",
        /^missing output/,
      );
      expectMismatch(
        () => checkOutputs(sig, [...sig.outputs.map((s) => conforming(s)), scale]),
        "unexpected",
        "scale",
        /the signature's outputs are "label", "probabilities"$/,
      );
    });

    it("checks encoded inputs: a conforming one is exactly signatureInputSize bytes", function () {
      const bytes = encodeTensors([x("int64", [1, 3]), scale]);
      checkInputBytes(sig, bytes);
      expect(BigInt(bytes.length)).to.equal(signatureInputSize(sig));
      expectMismatch(() => checkInputBytes(sig, encodeTensors([x("int64", [1, 2]), scale])), "dimension", "x");
      expectMismatch(() => checkInputBytes(sig, encodeTensors([x("int64", [1, 3])])), "missing", "scale");
    });

    it("reports bytes that are not TML1 as an encoding mismatch with the codec's error", function () {
      const bytes = encodeTensors([x("int64", [1, 3]), scale]);
      const cases: [Uint8Array, RegExp, string | undefined][] = [
        [
          encodeSignature(sig),
          /^input is not a TML1 encoding \(\d+ bytes, a conforming input is 70 bytes\): bad header/,
          undefined,
        ],
        [bytes.subarray(0, bytes.length - 1), /truncated: .*tensor "x"/, "x"],
        [new Uint8Array([...bytes, 0]), /trailing bytes/, undefined],
      ];
      for (const [input, message, tensor] of cases) {
        const e = expectMismatch(() => checkInputBytes(sig, input), "encoding", tensor, message);
        expect(e.cause).to.be.instanceOf(Error);
      }
      expectMismatch(
        () => checkInputBytes(sig, [1, 2] as unknown as Uint8Array),
        "encoding",
        undefined,
        /must be a Uint8Array/,
      );
    });

    it("throws SignatureError, not a mismatch, when the signature itself is invalid", function () {
      const bad = { ...sig, inputs: [{ name: "x", type: "int64" as const, shape: [null] }] };
      expectSignatureError(() => checkInputs(bad, []), /dynamic/);
      expectSignatureError(() => checkOutputs({ ...sig, outputs: [] }, []), /at least one output/);
      expectSignatureError(() => checkInputBytes(bad, new Uint8Array()), /dynamic/);
    });
  });

  describe("properties", function () {
    const NAME = fc.oneof(
      fc.string({ unit: fc.constantFrom("a", "b", "é", "\ufeff"), minLength: 1, maxLength: 3 }),
      fc.string({ unit: "binary", minLength: 1, maxLength: 6 }),
    );
    const TYPE = fc.constantFrom(...ELEMENT_TYPES);
    const BIG_DIM = fc.oneof(fc.nat(4), fc.constant(Number.MAX_SAFE_INTEGER), fc.maxSafeNat());
    const specs = (dim: fc.Arbitrary<number | null>, maxRank: number) =>
      fc.uniqueArray(fc.record({ name: NAME, type: TYPE, shape: fc.array(dim, { maxLength: maxRank }) }), {
        selector: (s) => s.name,
        minLength: 1,
        maxLength: 5,
      });
    /** Random signatures whose inputs the registry can record (at most MAX_INPUT_SIZE bytes). */
    const signatures = (dim: fc.Arbitrary<number>, maxRank: number): fc.Arbitrary<IoSignature> =>
      fc
        .record({ inputs: specs(dim, maxRank), outputs: specs(fc.option(dim, { nil: null }), maxRank) })
        .filter((sig) => signatureInputSize(sig) <= MAX_INPUT_SIZE);
    /** Small shapes, so a conforming input can be built and encoded. */
    const small = signatures(fc.nat(3), 3);
    const options = { seed: SEED, numRuns: RUNS };

    it("random signatures round-trip, in any order, to one encoding", function () {
      fc.assert(
        fc.property(signatures(BIG_DIM, 6), (sig) => {
          const bytes = encodeSignature(sig);
          // JSON, not deep.equal: hardhat-chai-matchers' deep equality costs ~15 ms a signature.
          expect(JSON.stringify(decodeSignature(bytes))).to.equal(JSON.stringify(sorted(sig)));
          const reversed = { inputs: [...sig.inputs].reverse(), outputs: [...sig.outputs].reverse() };
          expect(hex(encodeSignature(reversed))).to.equal(hex(bytes));
          expect(signatureHash(bytes)).to.equal(signatureHash(reversed));
        }),
        options,
      );
    });

    it("the decoder accepts only canonical bytes: a byte changed either fails or re-encodes to itself", function () {
      fc.assert(
        fc.property(signatures(BIG_DIM, 3), fc.nat(), fc.integer({ min: 1, max: 255 }), (sig, at, mask) => {
          const bytes = encodeSignature(sig);
          bytes[at % bytes.length] ^= mask;
          let decoded: IoSignature;
          try {
            decoded = decodeSignature(bytes);
          } catch (e) {
            expect(e).to.be.instanceOf(SignatureError);
            return;
          }
          expect(hex(encodeSignature(decoded))).to.equal(hex(bytes));
        }),
        options,
      );
    });

    it("signatureInputSize is the length of encodeTensors(a conforming input)", function () {
      fc.assert(
        fc.property(small, (sig) => {
          const bytes = encodeTensors(sig.inputs.map((s) => conforming(s)));
          expect(signatureInputSize(sig)).to.equal(BigInt(bytes.length));
          checkInputBytes(sig, bytes);
        }),
        options,
      );
    });

    type Mutation = "drop" | "extra" | "rename" | "type" | "grow rank" | "shrink rank" | "resize";
    const PROBLEMS: Record<Mutation, MismatchProblem> = {
      drop: "missing",
      extra: "unexpected",
      rename: "unexpected",
      type: "type",
      "grow rank": "rank",
      "shrink rank": "rank",
      resize: "dimension",
    };
    const MUTATIONS = Object.keys(PROBLEMS) as Mutation[];

    it("conforming inputs and outputs pass; one mutation fails, naming its tensor and problem", function () {
      fc.assert(
        fc.property(small, fc.nat(), fc.constantFrom(...MUTATIONS), fc.nat(4), (sig, pick, mutation, size) => {
          const inputs = sig.inputs.map((s) => conforming(s));
          checkInputs(sig, inputs);
          checkOutputs(
            sig,
            sig.outputs.map((s) => conforming(s, size)),
          );

          const i = pick % inputs.length;
          const t = inputs[i];
          const unused = (base: string): string => {
            let name = base;
            while (sig.inputs.some((s) => s.name === name)) name += "'";
            return name;
          };
          let named = t.name;
          const mutated = [...inputs];
          switch (mutation) {
            case "drop":
              mutated.splice(i, 1);
              break;
            case "extra":
              named = unused("extra");
              mutated.push(zeros(named, "float32", [1]));
              break;
            case "rename":
              named = unused(t.name + "_");
              mutated[i] = { ...t, name: named };
              break;
            case "type": {
              const type = ELEMENT_TYPES[(ELEMENT_TYPES.indexOf(t.type) + 1 + (pick % 6)) % ELEMENT_TYPES.length];
              mutated[i] = zeros(t.name, type, t.shape);
              break;
            }
            case "grow rank":
              mutated[i] = zeros(t.name, t.type, [...t.shape, 1]);
              break;
            case "shrink rank":
              if (t.shape.length === 0) return;
              mutated[i] = zeros(t.name, t.type, t.shape.slice(1));
              break;
            case "resize": {
              if (t.shape.length === 0) return;
              const axis = pick % t.shape.length;
              mutated[i] = zeros(
                t.name,
                t.type,
                t.shape.map((d, k) => (k === axis ? d + 1 + (size % 2) : d)),
              );
              break;
            }
          }
          expectMismatch(() => checkInputs(sig, mutated), PROBLEMS[mutation], named);
          expectMismatch(() => checkInputBytes(sig, encodeTensors(mutated)), PROBLEMS[mutation], named);
        }),
        options,
      );
    });
  });

  describe("#deriveSignature", function () {
    const load = modelLoader();

    /**
     * Inputs "tokens" int64 [batch, seq], "image" uint8 [batch, 2, unknown], "temperature" int64 scalar; an
     * unknown dimension is one with neither a size nor a name.
     */
    async function multiInput(): Promise<LoadedModel> {
      const image = valueInfo("image", "uint8", ["batch", 2, ""]);
      image.type!.tensorType!.shape!.dim![2] = {};
      const bytes = serialize({
        name: "multi",
        node: ["tokens", "image", "temperature"].map((n) => ({
          opType: "Identity",
          input: [n],
          output: [`${n}_out`],
          name: n,
        })),
        input: [valueInfo("tokens", "int64", ["batch", "seq"]), image, valueInfo("temperature", "int64", [])],
        output: [
          valueInfo("tokens_out", "int64", ["batch", "seq"]),
          valueInfo("image_out", "uint8", ["batch", 2, "width"]),
          valueInfo("temperature_out", "int64", []),
        ],
      });
      const m = await load(bytes);
      // What the test relies on: ONNX Runtime reports the symbols, "" for the unknown dimension, [] for the scalar.
      expect(m.inputs).to.deep.equal([
        { name: "tokens", type: "int64", shape: ["batch", "seq"] },
        { name: "image", type: "uint8", shape: ["batch", 2, ""] },
        { name: "temperature", type: "int64", shape: [] },
      ]);
      return m;
    }

    it("fixes a symbol everywhere with dims, outputs included", async function () {
      const m = await load(buildMlpClassifier());
      const sig = deriveSignature(m, { dims: { N: 1 } });
      expect(sig).to.deep.equal({
        inputs: [{ name: "features", type: "float32", shape: [1, 4] }],
        outputs: [
          { name: "label", type: "int64", shape: [1] },
          { name: "probabilities", type: "float32", shape: [1, 3] },
        ],
      });
      expect(formatSignature(sig)).to.equal(
        [
          "input  features      float32 [1,4]",
          "output label         int64   [1]",
          "output probabilities float32 [1,3]",
        ].join("\n"),
      );
    });

    it("a shape override sizes its symbols; outputs sized by nothing stay dynamic", async function () {
      const m = await load(buildTwoInputModel());
      expect(deriveSignature(m, { tensors: { x: [2, 3] } })).to.deep.equal({
        inputs: [
          { name: "scale", type: "int64", shape: [1] },
          { name: "x", type: "float32", shape: [2, 3] },
        ],
        outputs: [
          { name: "count", type: "int32", shape: [2] },
          { name: "positive", type: "bool", shape: [2, 3] },
          { name: "y", type: "float32", shape: [2, 3] },
        ],
      });
      const multi = await multiInput();
      const sig = deriveSignature(multi, { dims: { batch: 1, seq: 16 }, tensors: { image: [1, 2, 8] } });
      expect(sig).to.deep.equal({
        inputs: [
          { name: "image", type: "uint8", shape: [1, 2, 8] },
          { name: "temperature", type: "int64", shape: [] },
          { name: "tokens", type: "int64", shape: [1, 16] },
        ],
        outputs: [
          { name: "image_out", type: "uint8", shape: [1, 2, null] },
          { name: "temperature_out", type: "int64", shape: [] },
          { name: "tokens_out", type: "int64", shape: [1, 16] },
        ],
      });
      expect(signatureInputSize(sig)).to.equal(BigInt(encodeTensors(sig.inputs.map((s) => conforming(s))).length));
    });

    it("a model with fixed inputs needs no override; an output's size that depends on the data stays dynamic", async function () {
      // NonZero: indices int64 [1, nonzero], as many columns as x has non-zero elements.
      const m = await load(
        serialize({
          name: "nonzero",
          node: [{ opType: "NonZero", input: ["x"], output: ["indices"], name: "nonzero" }],
          input: [valueInfo("x", "float32", [3])],
          output: [valueInfo("indices", "int64", [1, "nonzero"])],
        }),
      );
      expect(deriveSignature(m)).to.deep.equal({
        inputs: [{ name: "x", type: "float32", shape: [3] }],
        outputs: [{ name: "indices", type: "int64", shape: [1, null] }],
      });
      expect(deriveSignature(m, { dims: { nonzero: 3 } }).outputs[0].shape).to.deep.equal([1, 3]);
      expect(deriveSignature(m, { tensors: { indices: [1, null] } }).outputs[0].shape).to.deep.equal([1, null]);
      expectSignatureError(() => deriveSignature(m, { tensors: { indices: [2, null] } }), /fixes it at 1$/);
    });

    it("an input with no declared shape takes any shape override", async function () {
      const m = await load(buildIdentityModel("int32", null));
      expect(m.inputs[0].shape).to.equal(null);
      const sig = deriveSignature(m, { tensors: { x: [3, 1, 2], y: [3, 1, 2] } });
      expect(sig.inputs).to.deep.equal([{ name: "x", type: "int32", shape: [3, 1, 2] }]);
    });

    describe("errors", function () {
      it("an input left dynamic: names the input, the dimension, its symbol, and the overrides that fix it", async function () {
        const m = await load(buildMlpClassifier());
        expectSignatureError(
          () => deriveSignature(m),
          /^input "features": dimension 0 \(symbol "N"\) is dynamic, and every input dimension must be fixed: size it with --dim N=<size> \(overrides.dims, everywhere "N" appears\) or --shape features=<N>,4 \(overrides.tensors\)$/,
          { tensor: "features" },
        );
        const multi = await multiInput();
        expectSignatureError(
          () => deriveSignature(multi, { dims: { batch: 1 } }),
          /^input "tokens": dimension 1 \(symbol "seq"\) is dynamic.*--dim seq=<size>.*--shape tokens=1,<seq>/,
          { tensor: "tokens" },
        );
        expectSignatureError(
          () => deriveSignature(multi, { dims: { batch: 1, seq: 4 } }),
          /^input "image": dimension 2 \(unnamed\) is dynamic, .*: give the input its whole shape with --shape image=1,2,<size> \(overrides.tensors\)$/,
          { tensor: "image" },
        );
      });

      it("a value with no declared shape and no override", async function () {
        const m = await load(buildIdentityModel("int32", null));
        expectSignatureError(
          () => deriveSignature(m),
          /^input "x": the model declares no shape; give it one with --shape x=<d0>,<d1>,/,
          {
            tensor: "x",
          },
        );
        expect(m.outputs[0].shape).to.equal(null);
        expectSignatureError(
          () => deriveSignature(m, { tensors: { x: [1] } }),
          /^output "y": the model declares no shape/,
          {
            tensor: "y",
          },
        );
      });

      it("an override naming an unknown tensor or symbol", async function () {
        const m = await load(buildTwoInputModel());
        expectSignatureError(
          () => deriveSignature(m, { tensors: { z: [1] } }),
          /^shape override for "z": the model has no input or output "z"; its inputs are "x", "scale" and its outputs "y", "positive", "count"$/,
          { tensor: "z" },
        );
        expectSignatureError(
          () => deriveSignature(m, { dims: { batch: 1 } }),
          /^dimension override "batch": the model has no symbolic dimension "batch"; its symbols are "N"$/,
        );
        const fixed = await load(buildIdentityModel("float64", [2]));
        expectSignatureError(() => deriveSignature(fixed, { dims: { N: 1 } }), /its symbols are none$/);
        const noPrototype = parseShapeOverrides(["--shape constructor=1", "--dim __proto__=1"]);
        expectSignatureError(
          () => deriveSignature(m, { tensors: noPrototype.tensors }),
          /no input or output "constructor"/,
        );
        expectSignatureError(() => deriveSignature(m, { dims: noPrototype.dims }), /no symbolic dimension "__proto__"/);
      });

      it("a shape of the wrong rank, or contradicting a size the model fixes", async function () {
        const m = await load(buildTwoInputModel());
        expectSignatureError(
          () => deriveSignature(m, { tensors: { x: [1, 3, 1] } }),
          /^shape override for input "x": rank 3 \(\[1,3,1\]\), the model declares rank 2 \(\[N,3\]\)$/,
          { tensor: "x" },
        );
        expectSignatureError(
          () => deriveSignature(m, { tensors: { x: [1, 4] } }),
          /^shape override for input "x": dimension 1 is 4, the model fixes it at 3$/,
          { tensor: "x" },
        );
        expectSignatureError(
          () => deriveSignature(m, { dims: { N: 1 }, tensors: { y: [1, null] } }),
          /^shape override for output "y": dimension 1 is \?, the model fixes it at 3$/,
        );
      });

      it("two overrides that size one symbol differently", async function () {
        const m = await load(buildTwoInputModel());
        expectSignatureError(
          () => deriveSignature(m, { dims: { N: 1 }, tensors: { x: [2, 3] } }),
          /^--shape x=2,3 makes dimension "N" 2, but --dim N=1 makes it 1$/,
        );
        expectSignatureError(
          () => deriveSignature(m, { tensors: { x: [2, 3], y: [5, 3] } }),
          /^--shape y=5,3 makes dimension "N" 5, but --shape x=2,3 makes it 2$/,
        );
      });

      it("a dynamic size in an input's override, or overrides that are not sizes", async function () {
        const m = await load(buildTwoInputModel());
        expectSignatureError(
          () => deriveSignature(m, { tensors: { x: [null, 3] } }),
          /^shape override for input "x": dimension 0 is dynamic; inputs are fixed$/,
          { tensor: "x" },
        );
        const bad: [ShapeOverrides, RegExp][] = [
          [{ tensors: { x: [-1, 3] } }, /^shape override for "x": \[-1,3\] is not a list of sizes/],
          [{ tensors: { x: 3 as unknown as number[] } }, /^shape override for "x": 3 is not a list of sizes/],
          [{ dims: { N: 1.5 } }, /^dimension override "N": 1.5 is not a size/],
          [{ dims: { N: 2 ** 53 } }, /^dimension override "N": 9007199254740992 is not a size/],
          [null as unknown as ShapeOverrides, /^overrides must be an object$/],
        ];
        for (const [overrides, message] of bad) expectSignatureError(() => deriveSignature(m, overrides), message);
      });
    });
  });

  describe("#checkSignatureFits", function () {
    const values = {
      inputs: [
        { name: "x", type: "float32" as const, shape: ["N", 4] },
        { name: "s", type: "int64" as const, shape: null },
      ],
      outputs: [{ name: "y", type: "float32" as const, shape: ["N", 3] }],
    };
    const fitting: IoSignature = {
      inputs: [
        { name: "x", type: "float32", shape: [2, 4] },
        { name: "s", type: "int64", shape: [] },
      ],
      outputs: [{ name: "y", type: "float32", shape: [null, 3] }],
    };
    const withInput = (i: number, spec: Partial<IoSignature["inputs"][number]>): IoSignature => ({
      ...fitting,
      inputs: fitting.inputs.map((x, k) => (k === i ? { ...x, ...spec } : x)),
    });

    it("accepts a signature the file takes: sizes where the file leaves a symbol, any shape where it has none", function () {
      checkSignatureFits(fitting, values);
      checkSignatureFits(withInput(1, { shape: [5, 5] }), values);
    });

    it("refuses, naming the tensor, every way the file does not take it", function () {
      const refused = (sig: IoSignature, tensor: string, problem: string, message: string) => {
        try {
          checkSignatureFits(sig, values);
        } catch (e) {
          expect(e).to.be.instanceOf(SignatureMismatchError);
          expect((e as SignatureMismatchError).tensor).to.equal(tensor);
          expect((e as SignatureMismatchError).problem).to.equal(problem);
          expect((e as Error).message).to.equal(message);
          return;
        }
        expect.fail(`accepted a signature refusing ${tensor}`);
      };
      refused(
        { ...fitting, inputs: [fitting.inputs[0]] },
        "s",
        "missing",
        'model input "s" is not in the declared signature',
      );
      refused(withInput(0, { name: "z" }), "x", "missing", 'model input "x" is not in the declared signature');
      refused(
        { ...fitting, inputs: [...fitting.inputs, { name: "t", type: "int8", shape: [1] }] },
        "t",
        "unexpected",
        'input "t": the model file has no such input',
      );
      refused(
        withInput(0, { type: "float64" }),
        "x",
        "type",
        'input "x": declared float64, the model file\'s is float32',
      );
      refused(withInput(0, { shape: [2, 4, 1] }), "x", "rank", 'input "x": declared rank 3, the model file\'s is 2');
      refused(
        withInput(0, { shape: [2, 5] }),
        "x",
        "dimension",
        'input "x": declared size 5 at dimension 1, the model file fixes 4',
      );
      refused(
        { ...fitting, outputs: [{ name: "y", type: "float32", shape: [2, 2] }] },
        "y",
        "dimension",
        'output "y": declared size 2 at dimension 1, the model file fixes 3',
      );
      refused(
        { ...fitting, outputs: [{ name: "p", type: "float32", shape: [3] }] },
        "p",
        "unexpected",
        'output "p": the model file has no such output',
      );
    });
  });

  describe("#parseShapeOverrides", function () {
    it("reads --shape and --dim as one string, with =, or as two argv words", function () {
      const expected = { tensors: { x: [1, 4], s: [], logits: [null, 10], "a=b": [2] }, dims: { batch: 1, seq: 0 } };
      const forms = [
        ["--shape x=1,4", "--shape s=[]", "--shape logits=?,10", "--shape a=b=2", "--dim batch=1", "--dim seq=0"],
        [
          "--shape=x=[1,4]",
          "--shape=s=[ ]",
          "--shape=logits=[?, 10]",
          "--shape=a=b=[2]",
          "--dim=batch=1",
          "--dim=seq=0",
        ],
        [
          "--shape",
          "x=1, 4",
          "--shape",
          "s=[]",
          "--shape",
          "logits=?,10",
          "--shape",
          "a=b=2",
          "--dim",
          "batch=1",
          "--dim",
          "seq=0",
        ],
      ];
      for (const form of forms) expect(parseShapeOverrides(form)).to.deep.equal(expected);
      expect(parseShapeOverrides([])).to.deep.equal({ tensors: {}, dims: {} });
      expect(parseShapeOverrides(["--shape x=9007199254740991"]).tensors.x).to.deep.equal([Number.MAX_SAFE_INTEGER]);
    });

    it("feeds deriveSignature", async function () {
      const m = await loadModel(buildMlpClassifier());
      try {
        const sig = deriveSignature(m, parseShapeOverrides(["--dim", "N=2"]));
        expect(sig.inputs).to.deep.equal([{ name: "features", type: "float32", shape: [2, 4] }]);
      } finally {
        await m.session.release();
      }
    });

    it("names the bad flag", function () {
      const cases: [string[], RegExp][] = [
        [["--shape x="], /^"--shape x=": no dimensions; a scalar is written x=\[\]$/],
        [["--shape x=1,a"], /^"--shape x=1,a": dimension 1 \("a"\) is not a size/],
        [["--shape x=1,-1"], /^"--shape x=1,-1": dimension 1 \("-1"\) is not a size/],
        [["--shape x=1.5"], /^"--shape x=1.5": dimension 0 \("1.5"\) is not a size/],
        [["--shape x=1,,2"], /^"--shape x=1,,2": dimension 1 \(""\) is not a size/],
        [["--shape x=9007199254740992"], /dimension 0 \("9007199254740992"\) is not a size/],
        [["--shape x"], /^"--shape x": expected --shape NAME=D0,D1,...$/],
        [["--shape =1"], /^"--shape =1": expected --shape NAME=/],
        [["--dim batch=?"], /^"--dim batch=\?": "\?" is not a size/],
        [["--dim batch="], /^"--dim batch=": "" is not a size/],
        [["--dim =1"], /^"--dim =1": expected --dim SYMBOL=SIZE$/],
        [["--size x=1"], /^"--size x=1": not a shape flag/],
        [["x=1"], /^"x=1": not a shape flag/],
        [["--shape"], /^--shape: needs a value$/],
        [["--shape x=1", "--shape x=2"], /^"--shape x=2": tensor "x" already has a shape \(\[1\]\)$/],
        [["--dim n=1", "--dim=n=1"], /^"--dim n=1": dimension "n" is already given \(--dim n=1\)$/],
      ];
      for (const [specs, message] of cases) expectSignatureError(() => parseShapeOverrides(specs), message);
    });
  });

  describe("#formatSignature", function () {
    it("one aligned line per tensor, inputs then outputs in name order, ? dynamic, [] scalar", function () {
      expect(formatSignature(GOLDEN)).to.equal(
        [
          "input  features      float32 [1,4]",
          "input  scale         int64   []",
          "output label         int64   [?]",
          "output probabilities float32 [?,3]",
        ].join("\n"),
      );
      expect(formatSignature(encodeSignature(GOLDEN))).to.equal(formatSignature(GOLDEN));
    });

    it("quotes a name that is not plainly a word", function () {
      const sig: IoSignature = {
        inputs: [{ name: "input ids", type: "int64", shape: [1] }],
        outputs: [{ name: "out/0:1", type: "bool", shape: [] }],
      };
      expect(formatSignature(sig)).to.equal(['input  "input ids" int64 [1]', "output out/0:1     bool  []"].join("\n"));
    });
  });
});
