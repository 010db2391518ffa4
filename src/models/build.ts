/**
 * Small ONNX models built in code (onnx-proto), for tests and demos: no model file is downloaded or checked
 * in. Every builder returns the serialized ModelProto (IR version 8, default-domain opset 17); the bytes are
 * deterministic, so their sha256 is a stable content hash for the ModelRegistry.
 */
import { onnx } from "onnx-proto";
import { TYPE_CODES, type ElementType } from "../../packages/sdk/src/codec";

export const IR_VERSION = 8;
export const OPSET_VERSION = 17;

/** A declared dimension: a fixed size, or a symbolic name (any size). */
export type Dim = number | string;

/** The fixed weights of buildMlpClassifier: 4 features → 8 hidden (ReLU) → 3 classes. Row-major [in][out]. */
export const MLP_WEIGHTS: {
  w1: number[][];
  b1: number[];
  w2: number[][];
  b2: number[];
} = {
  // Multiples of 1/8, exact in float32.
  w1: [
    [0.5, -0.25, 0.75, 0.125, -0.5, 1, 0.25, -0.875],
    [-0.375, 0.625, 0.25, -0.75, 0.875, -0.125, 0.5, 0.375],
    [0.25, 0.5, -0.625, 0.375, 0.125, 0.75, -1, 0.5],
    [-0.125, -0.5, 0.375, 0.875, -0.25, 0.25, 0.625, -0.375],
  ],
  b1: [0.125, -0.25, 0, 0.5, -0.125, 0.25, -0.5, 0.375],
  w2: [
    [0.75, -0.5, 0.25],
    [-0.25, 0.875, -0.625],
    [0.5, 0.125, -0.375],
    [-0.875, 0.25, 0.75],
    [0.375, -0.75, 0.5],
    [0.125, 0.5, -0.25],
    [-0.5, 0.375, 0.625],
    [0.25, -0.125, -0.5],
  ],
  b2: [0.25, -0.125, 0],
};

/** A graph input or output of `type`; `shape` as in buildIdentityModel (null: no shape declared). */
export function valueInfo(name: string, type: ElementType, shape: Dim[] | null): onnx.IValueInfoProto {
  const tensorType: onnx.TypeProto.ITensor = { elemType: TYPE_CODES[type] };
  if (shape !== null) {
    tensorType.shape = { dim: shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) };
  }
  return { name, type: { tensorType } };
}

function floatTensor(name: string, dims: number[], values: number[]): onnx.ITensorProto {
  const data = new Float32Array(values);
  return { name, dims, dataType: TYPE_CODES.float32, rawData: new Uint8Array(data.buffer) };
}

function int64Tensor(name: string, dims: number[], values: number[]): onnx.ITensorProto {
  const data = new BigInt64Array(values.map(BigInt));
  return { name, dims, dataType: TYPE_CODES.int64, rawData: new Uint8Array(data.buffer) };
}

const intAttr = (name: string, i: number): onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INT,
  i,
});

function node(
  opType: string,
  input: string[],
  output: string[],
  attribute: onnx.IAttributeProto[] = [],
): onnx.INodeProto {
  return { opType, input, output, attribute, name: `${opType}_${output[0]}` };
}

/**
 * The graph as a serialized ModelProto (IR_VERSION, default-domain opset OPSET_VERSION, producer "trustml"), with
 * `metadata` as the model's metadata_props (none by default).
 */
export function serialize(graph: onnx.IGraphProto, metadata: Record<string, string> = {}): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: OPSET_VERSION }],
    producerName: "trustml",
    producerVersion: "1",
    graph,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  // protobufjs returns a Buffer under Node; hand back a plain Uint8Array.
  return new Uint8Array(onnx.ModelProto.encode(model).finish());
}

/**
 * A 3-class MLP classifier with the fixed weights MLP_WEIGHTS.
 * Input "features" float32 [N,4]. Outputs "probabilities" float32 [N,3] = Softmax(Gemm(Relu(Gemm(x, w1, b1)),
 * w2, b2)) over the last axis, and "label" int64 [N] = ArgMax of the logits (first index on ties).
 */
export function buildMlpClassifier(): Uint8Array {
  const { w1, b1, w2, b2 } = MLP_WEIGHTS;
  return serialize({
    name: "mlp_classifier",
    node: [
      node("Gemm", ["features", "w1", "b1"], ["hidden_pre"]),
      node("Relu", ["hidden_pre"], ["hidden"]),
      node("Gemm", ["hidden", "w2", "b2"], ["logits"]),
      node("Softmax", ["logits"], ["probabilities"], [intAttr("axis", -1)]),
      node("ArgMax", ["logits"], ["label"], [intAttr("axis", 1), intAttr("keepdims", 0)]),
    ],
    initializer: [
      floatTensor("w1", [4, 8], w1.flat()),
      floatTensor("b1", [8], b1),
      floatTensor("w2", [8, 3], w2.flat()),
      floatTensor("b2", [3], b2),
    ],
    input: [valueInfo("features", "float32", ["N", 4])],
    output: [valueInfo("probabilities", "float32", ["N", 3]), valueInfo("label", "int64", ["N"])],
  });
}

/**
 * Two inputs of different types. Inputs "x" float32 [N,3] and "scale" int64 [1]. Outputs "y" float32 [N,3] =
 * x * float(scale), "positive" bool [N,3] = y > 0, and "count" int32 [N] = the number of positive elements of
 * each row of y.
 */
export function buildTwoInputModel(): Uint8Array {
  return serialize({
    name: "two_input",
    node: [
      node("Cast", ["scale"], ["scale_f"], [intAttr("to", TYPE_CODES.float32)]),
      node("Mul", ["x", "scale_f"], ["y"]),
      node("Greater", ["y", "zero"], ["positive"]),
      node("Cast", ["positive"], ["positive_i"], [intAttr("to", TYPE_CODES.int32)]),
      node("ReduceSum", ["positive_i", "row_axis"], ["count"], [intAttr("keepdims", 0)]),
    ],
    initializer: [floatTensor("zero", [], [0]), int64Tensor("row_axis", [1], [1])],
    input: [valueInfo("x", "float32", ["N", 3]), valueInfo("scale", "int64", [1])],
    output: [
      valueInfo("y", "float32", ["N", 3]),
      valueInfo("positive", "bool", ["N", 3]),
      valueInfo("count", "int32", ["N"]),
    ],
  });
}

/**
 * Identity from input "x" to output "y" of the given element type. `shape` declares the input's shape (numbers
 * fixed, strings symbolic); null declares no shape at all, so any rank is accepted.
 */
export function buildIdentityModel(type: ElementType, shape: Dim[] | null = ["N"]): Uint8Array {
  return serialize({
    name: `identity_${type}`,
    node: [node("Identity", ["x"], ["y"])],
    input: [valueInfo("x", type, shape)],
    output: [valueInfo("y", type, shape)],
  });
}

/** One dense layer of a float MLP: W row-major [in][out], b [out], and whether ReLU follows it. */
export interface FloatDenseLayer {
  weights: number[][];
  bias: number[];
  relu: boolean;
}

/**
 * A float32 MLP: input "x" [N, in], output "y" [N, out], each layer a Gemm (style "gemm", with W stored transposed
 * and transB = 1, as PyTorch exports it) or a MatMul followed by an Add (style "matmul"), then Relu where asked.
 */
export function buildFloatMlp(layers: FloatDenseLayer[], style: "gemm" | "matmul" = "gemm"): Uint8Array {
  const nodes: onnx.INodeProto[] = [];
  const initializer: onnx.ITensorProto[] = [];
  let previous = "x";
  layers.forEach((layer, k) => {
    const [nIn, nOut] = [layer.weights.length, layer.bias.length];
    const out = k === layers.length - 1 && !layer.relu ? "y" : `dense${k + 1}`;
    if (style === "gemm") {
      const transposed = Array.from({ length: nOut }, (_, j) => layer.weights.map((row) => row[j]));
      initializer.push(
        floatTensor(`w${k + 1}`, [nOut, nIn], transposed.flat()),
        floatTensor(`b${k + 1}`, [nOut], layer.bias),
      );
      nodes.push(node("Gemm", [previous, `w${k + 1}`, `b${k + 1}`], [out], [intAttr("transB", 1)]));
    } else {
      initializer.push(
        floatTensor(`w${k + 1}`, [nIn, nOut], layer.weights.flat()),
        floatTensor(`b${k + 1}`, [nOut], layer.bias),
      );
      nodes.push(node("MatMul", [previous, `w${k + 1}`], [`product${k + 1}`]));
      nodes.push(node("Add", [`product${k + 1}`, `b${k + 1}`], [out]));
    }
    previous = out;
    if (layer.relu) {
      const relu = k === layers.length - 1 ? "y" : `relu${k + 1}`;
      nodes.push(node("Relu", [previous], [relu]));
      previous = relu;
    }
  });
  const [n0, nL] = [layers[0].weights.length, layers[layers.length - 1].bias.length];
  return serialize({
    name: `float_mlp_${style}`,
    node: nodes,
    initializer,
    input: [valueInfo("x", "float32", ["N", n0])],
    output: [valueInfo("y", "float32", ["N", nL])],
  });
}

/** A seeded generator of uniform numbers in [0, 1) (mulberry32): the same sequence for the same seed, everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * A float MLP of the given widths with uniform weights in ±sqrt(6 / fan-in) and biases in ±0.1, drawn from `random`
 * (a seeded generator gives the same model every time), ReLU after every layer but the last: a stand-in for a
 * trained MNIST-size classifier (784 → 128 → 64 → 10) in tests and the demo.
 */
export function randomFloatMlp(widths: readonly number[], random: () => number): FloatDenseLayer[] {
  return widths.slice(1).map((nOut, k) => {
    const nIn = widths[k];
    const limit = Math.sqrt(6 / nIn);
    return {
      weights: Array.from({ length: nIn }, () => Array.from({ length: nOut }, () => (random() * 2 - 1) * limit)),
      bias: Array.from({ length: nOut }, () => (random() * 2 - 1) * 0.1),
      relu: k < widths.length - 2,
    };
  });
}

/** `count` image-like rows of `width` pixels: most 0, the rest in (0, 1]. */
export function sparseImageRows(random: () => number, count: number, width: number): number[][] {
  return Array.from({ length: count }, () => Array.from({ length: width }, () => (random() < 0.8 ? 0 : random())));
}
