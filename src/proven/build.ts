/**
 * Writes a profile model as an ONNX file: per layer the eight standard operators of docs/FRAUD-PROOFS.md,
 *
 *   MatMulInteger(x, W) → Add(b) → Cast(int64) → Mul(M) → Add(2^(s-1)) → Div(2^s) → Clip(min, 127) → Cast(int8)
 *
 * with every constant an initializer. Tensors inside layer ℓ are named "layerℓ/<step>", so no name can clash with
 * the model's input or output name unless that contains a "/".
 */
import { onnx } from "onnx-proto";
import { TYPE_CODES } from "../../packages/sdk/src/codec";
import { serialize, valueInfo } from "../models/build";
import { checkLayers, clampRange, type ProfileModel } from "./profile";

/** The steps of a layer, in the order of its nodes: each is the output tensor of one node. */
export const LAYER_STEPS = ["sum", "acc", "acc64", "scaled", "numerator", "quotient", "clipped", "value"] as const;
export type LayerStep = (typeof LAYER_STEPS)[number];

/** The operator of each step. */
export const STEP_OPS: Readonly<Record<LayerStep, string>> = {
  sum: "MatMulInteger",
  acc: "Add",
  acc64: "Cast",
  scaled: "Mul",
  numerator: "Add",
  quotient: "Div",
  clipped: "Clip",
  value: "Cast",
};

/** The tensor names buildProfileModel gives layer ℓ (from 1); the last layer's value is the model's output. */
export function layerTensorName(layer: number, step: LayerStep | "W" | "b" | "M" | "half" | "divisor" | "min" | "max") {
  return `layer${layer}/${step}`;
}

function rawTensor(name: string, dataType: number, dims: number[], data: ArrayBufferView): onnx.ITensorProto {
  return { name, dims, dataType, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

const int64Scalar = (name: string, value: bigint): onnx.ITensorProto =>
  rawTensor(name, TYPE_CODES.int64, [], new BigInt64Array([value]));

const castTo = (type: number): onnx.IAttributeProto => ({
  name: "to",
  type: onnx.AttributeProto.AttributeType.INT,
  i: type,
});

/**
 * The ONNX file of a profile model (IR version 8, opset 17), deterministic bytes, with `metadata` as its
 * metadata_props (which carry no semantics: the converter records its scales there). Checks the layers first
 * (LayerError) and throws RangeError when the input or output name is empty, equal to the other, or contains "/".
 */
export function buildProfileModel(model: ProfileModel, metadata: Record<string, string> = {}): Uint8Array {
  const { inputName, outputName, layers } = model;
  checkLayers(layers);
  for (const name of [inputName, outputName]) {
    if (typeof name !== "string" || name.length === 0 || name.includes("/")) {
      throw new RangeError(`input and output names must be non-empty and contain no "/", got ${JSON.stringify(name)}`);
    }
  }
  if (inputName === outputName) throw new RangeError(`the input and the output are both named ${inputName}`);
  const nodes: onnx.INodeProto[] = [];
  const initializer: onnx.ITensorProto[] = [];
  let previous = inputName;
  layers.forEach((layer, k) => {
    const n = k + 1;
    const t = (step: Parameters<typeof layerTensorName>[1]) => layerTensorName(n, step);
    const out = (step: LayerStep) => (step === "value" && n === layers.length ? outputName : t(step));
    const add = (step: LayerStep, inputs: string[], attribute: onnx.IAttributeProto[] = []) =>
      nodes.push({ name: t(step), opType: STEP_OPS[step], input: inputs, output: [out(step)], attribute });
    add("sum", [previous, t("W")]);
    add("acc", [out("sum"), t("b")]);
    add("acc64", [out("acc")], [castTo(TYPE_CODES.int64)]);
    add("scaled", [out("acc64"), t("M")]);
    add("numerator", [out("scaled"), t("half")]);
    add("quotient", [out("numerator"), t("divisor")]);
    add("clipped", [out("quotient"), t("min"), t("max")]);
    add("value", [out("clipped")], [castTo(TYPE_CODES.int8)]);
    previous = out("value");
    const [lo, hi] = clampRange(layer.activation);
    initializer.push(
      rawTensor(t("W"), TYPE_CODES.int8, [layer.nIn, layer.nOut], layer.weights),
      rawTensor(t("b"), TYPE_CODES.int32, [layer.nOut], layer.bias),
      int64Scalar(t("M"), BigInt(layer.multiplier)),
      int64Scalar(t("half"), 1n << BigInt(layer.shift - 1)),
      int64Scalar(t("divisor"), 1n << BigInt(layer.shift)),
      int64Scalar(t("min"), BigInt(lo)),
      int64Scalar(t("max"), BigInt(hi)),
    );
  });
  return serialize(
    {
      name: "trustml_integer_profile",
      node: nodes,
      initializer,
      input: [valueInfo(inputName, "int8", [1, layers[0].nIn])],
      output: [valueInfo(outputName, "int8", [1, layers[layers.length - 1].nOut])],
    },
    metadata,
  );
}
