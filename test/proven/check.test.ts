import { expect } from "chai";
import { onnx } from "onnx-proto";
import { TYPE_CODES } from "../../packages/sdk/src/codec";
import { ProfileError, buildProfileModel, parseProfileModel, type ProfileModel } from "../../src/proven";

const MODEL: ProfileModel = {
  inputName: "x",
  outputName: "y",
  layers: [
    {
      nIn: 3,
      nOut: 2,
      weights: Int8Array.from([1, -2, 3, -4, 5, -128]),
      bias: Int32Array.from([7, -7]),
      multiplier: 3,
      shift: 2,
      activation: "relu",
    },
    {
      nIn: 2,
      nOut: 2,
      weights: Int8Array.from([127, -1, 0, 2]),
      bias: Int32Array.from([0, 1]),
      multiplier: 1,
      shift: 1,
      activation: "none",
    },
  ],
};

/** The model's file after `change` edits its decoded ModelProto. */
function mutated(change: (m: onnx.ModelProto, g: onnx.GraphProto) => void): Uint8Array {
  const model = onnx.ModelProto.decode(buildProfileModel(MODEL));
  change(model, model.graph as onnx.GraphProto);
  return onnx.ModelProto.encode(model).finish();
}

const initializer = (g: onnx.IGraphProto, name: string): onnx.ITensorProto =>
  g.initializer!.find((t) => t.name === name)!;
const int64 = (name: string, dims: number[], values: bigint[]): onnx.ITensorProto => ({
  name,
  dims,
  dataType: TYPE_CODES.int64,
  rawData: new Uint8Array(new BigInt64Array(values).buffer),
});
const replace = (g: onnx.IGraphProto, t: onnx.ITensorProto) => {
  g.initializer = g.initializer!.map((old) => (old.name === t.name ? t : old));
};

function refusal(bytes: Uint8Array): ProfileError {
  try {
    parseProfileModel(bytes);
  } catch (e) {
    expect(e).to.be.instanceOf(ProfileError);
    return e as ProfileError;
  }
  throw new Error("the checker accepted the file");
}

describe("profile checker (parseProfileModel)", function () {
  describe("accepts", function () {
    it("buildProfileModel's files, reading back the same layers and naming each step's tensor", function () {
      const parsed = parseProfileModel(buildProfileModel(MODEL));
      expect(parsed.model).to.deep.equal(MODEL);
      expect(parsed.opset).to.equal(17);
      expect(parsed.tensors[0].sum).to.equal("layer1/sum");
      expect(parsed.tensors[1].value).to.equal("y");
    });

    it("constants stored in int32_data and int64_data instead of raw_data, and opset 13", function () {
      const bytes = mutated((m, g) => {
        m.opsetImport[0].version = 13;
        const w = initializer(g, "layer1/W");
        w.int32Data = Array.from(new Int8Array(w.rawData!.buffer, w.rawData!.byteOffset, w.rawData!.length));
        w.rawData = new Uint8Array(0);
        const M = initializer(g, "layer2/M");
        M.int64Data = [1];
        M.rawData = new Uint8Array(0);
      });
      expect(parseProfileModel(bytes).model).to.deep.equal(MODEL);
    });
  });

  describe("refuses, naming the first node at fault and why", function () {
    const cases: [string, (m: onnx.ModelProto, g: onnx.GraphProto) => void, RegExp, number?][] = [
      [
        "a wrong operator",
        (_m, g) => {
          g.node[1].opType = "Sub";
        },
        /^node #1 "layer1\/acc" \(Sub\): layer 1: expected Add \(step acc\), found Sub$/,
        1,
      ],
      [
        "an operator from another domain",
        (_m, g) => {
          g.node[9].domain = "com.microsoft";
        },
        /^node #9 "layer2\/acc" \(Add\): layer 2: operator domain "com.microsoft"$/,
        9,
      ],
      [
        "MatMulInteger with zero points",
        (m, g) => {
          g.node[0].input!.push("zp", "zp2");
          g.initializer.push({ name: "zp", dims: [], dataType: TYPE_CODES.int8, rawData: new Uint8Array([0]) });
          void m;
        },
        /^node #0 "layer1\/sum" \(MatMulInteger\): layer 1: takes 4 inputs .* takes 2 \(no zero points\)$/,
        0,
      ],
      [
        "a step that does not consume the previous step",
        (_m, g) => {
          g.node[3].input![0] = "layer1/acc";
        },
        /^node #3 "layer1\/scaled" \(Mul\): layer 1: its first input is "layer1\/acc", not the previous step's "layer1\/acc64"$/,
        3,
      ],
      [
        "a constant computed by the graph instead of an initializer",
        (_m, g) => {
          g.node[4].input![1] = "layer1/scaled";
        },
        /^node #4 .*: layer 1: its 2\^\(s-1\) input "layer1\/scaled" is not an initializer$/,
        4,
      ],
      [
        "weights of the wrong type (uint8)",
        (_m, g) => {
          initializer(g, "layer1/W").dataType = TYPE_CODES.uint8;
        },
        /^node #0 .*: W \("layer1\/W"\) is uint8, the profile needs int8$/,
        0,
      ],
      [
        "a bias that breaks the overflow bound",
        (_m, g) => {
          replace(g, {
            name: "layer1/b",
            dims: [2],
            dataType: TYPE_CODES.int32,
            rawData: new Uint8Array(new Int32Array([0, -(2 ** 31 - 1 - 3 * 16384 + 1)]).buffer),
          });
        },
        /^node #1 .*: b\[1\] = -2147434496 breaks the overflow bound nIn·16384 \+ \|b\[j\]\| ≤ 2\^31 - 1 \(\|b\[j\]\| ≤ 2147434495 at nIn = 3\)$/,
        1,
      ],
      [
        "a non-scalar M",
        (_m, g) => replace(g, int64("layer1/M", [1], [3n])),
        /^node #3 "layer1\/scaled" \(Mul\): layer 1: M has shape \[1\]; the profile needs a scalar \(shape \[\]\)$/,
        3,
      ],
      [
        "M out of range",
        (_m, g) => replace(g, int64("layer2/M", [], [2n ** 31n])),
        /^node #11 .*: layer 2: M = 2147483648 is not in 1\.\.2\^31 - 1$/,
        11,
      ],
      [
        "a rounding term that is not a power of two",
        (_m, g) => replace(g, int64("layer1/half", [], [3n])),
        /^node #4 .*: the rounding term 3 is not 2\^\(s-1\) for an s in 1\.\.62$/,
        4,
      ],
      [
        "a divisor that is not 2^s",
        (_m, g) => replace(g, int64("layer1/divisor", [], [8n])),
        /^node #5 "layer1\/quotient" \(Div\): .*the divisor is 8, not 2\^s = 4 \(s = 2, from the rounding term\)$/,
        5,
      ],
      [
        "clamp bounds other than [-128, 127] or [0, 127]",
        (_m, g) => replace(g, int64("layer2/min", [], [-127n])),
        /^node #14 "layer2\/clipped" \(Clip\): layer 2: clips to \[-127, 127\]/,
        14,
      ],
      [
        "a Cast to the wrong type",
        (_m, g) => {
          g.node[2].attribute![0].i = TYPE_CODES.int32;
        },
        /^node #2 "layer1\/acc64" \(Cast\): layer 1: casts to int32, the profile casts to int64 here$/,
        2,
      ],
      [
        "a Cast with a second attribute",
        (_m, g) => {
          g.node[7].attribute!.push({ name: "saturate", type: onnx.AttributeProto.AttributeType.INT, i: 1 });
        },
        /^node #7 .*: the profile's Cast has exactly one attribute, "to" \(an int\)$/,
        7,
      ],
      [
        "an attribute on another operator",
        (_m, g) => {
          g.node[5].attribute!.push({ name: "foo", type: onnx.AttributeProto.AttributeType.INT, i: 1 });
        },
        /^node #5 .*: has attribute "foo"; the profile's Div has none$/,
        5,
      ],
      [
        "one initializer used twice",
        (_m, g) => {
          g.node[13].input![1] = "layer2/half";
        },
        /^node #13 "layer2\/quotient" \(Div\): layer 2: the initializer "layer2\/half" is used twice$/,
        13,
      ],
      [
        "a node output reusing a name",
        (_m, g) => {
          g.node[1].output![0] = "layer1/W";
        },
        /^node #1 .*: its output "layer1\/W" reuses an existing name$/,
        1,
      ],
    ];
    for (const [what, change, message, node] of cases) {
      it(what, function () {
        const e = refusal(mutated(change));
        expect(e.message).to.match(message);
        expect(e.nodeIndex).to.equal(node);
        if (node !== undefined) expect(e.nodeName).to.be.a("string");
      });
    }

    it("the first of two faults, in node order", function () {
      const e = refusal(
        mutated((_m, g) => {
          replace(g, int64("layer1/min", [], [5n])); // node #6
          replace(g, int64("layer1/M", [], [0n])); // node #3
        }),
      );
      expect(e.nodeIndex).to.equal(3);
      expect(e.message).to.match(/M = 0 is not in/);
    });
  });

  describe("refuses the graph around the nodes", function () {
    const cases: [string, (m: onnx.ModelProto, g: onnx.GraphProto) => void, RegExp][] = [
      [
        "a dynamic input shape",
        (_m, g) => (g.input[0].type!.tensorType!.shape!.dim![0] = { dimParam: "N" }),
        /the input "x" has a dynamic shape \[N,3\]; the profile needs fixed \[1, n\]/,
      ],
      [
        "an input that is not int8",
        (_m, g) => (g.input[0].type!.tensorType!.elemType = TYPE_CODES.uint8),
        /the input "x" is uint8, the profile needs int8/,
      ],
      [
        "an input of shape [2, n]",
        (_m, g) => (g.input[0].type!.tensorType!.shape!.dim![0] = { dimValue: 2 }),
        /the input "x" has shape \[2,3\]; the profile needs \[1, n\]/,
      ],
      [
        "two inputs",
        (_m, g) => g.input.push({ ...g.input[0], name: "x2" }),
        /the graph has 2 inputs \("x", "x2"\); the profile has one/,
      ],
      ["two outputs", (_m, g) => g.output.push({ ...g.output[0], name: "layer1/value" }), /the graph has 2 outputs/],
      [
        "an output that is not the last Cast",
        (_m, g) => (g.output[0].name = "z"),
        /the graph output is "z"; the profile's output is the last Cast's "y"/,
      ],
      [
        'an output name with a "/" (hidden vectors are posted as <output>/<layer>)',
        (_m, g) => (g.output[0].name = "layer2/clipped"),
        /the graph output is named "layer2\/clipped"; the profile needs a non-empty name without "\/"/,
      ],
      [
        'an input name with a "/"',
        (_m, g) => (g.input[0].name = "x/0"),
        /the graph input is named "x\/0"; the profile needs a non-empty name without "\/"/,
      ],
      [
        "an output of the wrong width",
        (_m, g) => (g.output[0].type!.tensorType!.shape!.dim![1] = { dimValue: 3 }),
        /the output "y" declares width 3, the last layer produces 2/,
      ],
      [
        "an unused initializer",
        (_m, g) => g.initializer.push(int64("spare", [], [1n])),
        /the initializer "spare" is not used by the pattern/,
      ],
      [
        "value_info",
        (_m, g) => g.valueInfo.push({ ...g.output[0], name: "layer1/value" }),
        /the graph has value_info \("layer1\/value", \.\.\.\); the profile allows none/,
      ],
      [
        "another opset domain",
        (m) => m.opsetImport.push({ domain: "com.microsoft", version: 1 }),
        /imports opset domain "com.microsoft"/,
      ],
      [
        "an opset outside 13..21",
        (m) => (m.opsetImport[0].version = 11),
        /default-domain opset 11; the profile accepts 13\.\.21/,
      ],
      [
        "a node count that is not 8 per layer",
        (_m, g) => g.node.pop(),
        /the graph has 15 nodes; the profile has 8 per layer/,
      ],
      [
        "external initializer data",
        (_m, g) => {
          const w = initializer(g, "layer1/W");
          w.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
          w.externalData = [{ key: "location", value: "weights.bin" }];
        },
        /W \("layer1\/W"\): its data is external/,
      ],
    ];
    for (const [what, change, message] of cases) {
      it(what, function () {
        expect(refusal(mutated(change)).message).to.match(message);
      });
    }

    it("bytes that are not ONNX", function () {
      expect(refusal(new Uint8Array([0xff, 0xff, 0xff])).message).to.match(/^not an ONNX model: /);
    });

    it("weights wider than any bias allows (131072 inputs)", function () {
      const nIn = 131072;
      const narrower = { nIn: nIn - 1, nOut: 1, weights: new Int8Array(nIn - 1), bias: new Int32Array(1) };
      const model = onnx.ModelProto.decode(
        buildProfileModel({ ...MODEL, layers: [{ ...MODEL.layers[1], ...narrower }] }),
      );
      model.graph!.input![0].type!.tensorType!.shape!.dim![1] = { dimValue: nIn };
      replace(model.graph!, {
        name: "layer1/W",
        dims: [nIn, 1],
        dataType: TYPE_CODES.int8,
        rawData: new Uint8Array(nIn),
      });
      expect(refusal(onnx.ModelProto.encode(model).finish()).message).to.match(
        /^node #0 .*: input width 131072 exceeds 131071: no bias keeps int32 exact$/,
      );
    });
  });
});
