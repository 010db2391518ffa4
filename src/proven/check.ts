/**
 * The profile checker: reads an ONNX file back into a ProfileModel, or says precisely why the file is not in the
 * integer profile (docs/FRAUD-PROOFS.md, "The ONNX pattern"). The check is structural and strict: the graph must
 * be the eight-node pattern per layer, in order, over one int8 input and one int8 output of fixed shape [1, n],
 * with every constant an initializer of the right type, shape and value, used exactly once. Anything else, even a
 * harmless extra, is refused: a judge can only vouch for the semantics written down, and an auditor should not
 * have to reason about anything else.
 */
import { onnx } from "onnx-proto";
import { TYPE_CODES } from "../../packages/sdk/src/codec";
import { LAYER_STEPS, STEP_OPS, type LayerStep } from "./build";
import {
  INT32_MAX,
  MAX_LAYERS,
  MAX_MULTIPLIER,
  MAX_SHIFT,
  MAX_WIDTH,
  MIN_SHIFT,
  maxAbsBias,
  type Activation,
  type DenseLayer,
  type ProfileModel,
} from "./profile";

/** The default-domain opset versions accepted: none of the eight operators changed for these types across them. */
export const MIN_OPSET = 13;
export const MAX_OPSET = 21;

/** A file outside the integer profile: the first node (name and index in graph.node) or graph part at fault. */
export class ProfileError extends Error {
  /** The index of the offending node in graph.node, when a node is at fault. */
  readonly nodeIndex?: number;
  /** That node's name ("" when it has none). */
  readonly nodeName?: string;

  constructor(message: string, node?: { index: number; name: string; opType: string }) {
    super(
      node === undefined ? message : `node #${node.index} ${JSON.stringify(node.name)} (${node.opType}): ${message}`,
    );
    this.name = "ProfileError";
    this.nodeIndex = node?.index;
    this.nodeName = node?.name;
  }
}

/** A checked profile file: its layers, and the names of the tensors each layer's nodes produce (for ONNX Runtime). */
export interface ParsedProfile {
  model: ProfileModel;
  /** Per layer, the output tensor of each step's node; the last layer's value is the model's output. */
  tensors: Record<LayerStep, string>[];
  opset: number;
}

const TYPE_NAMES: Record<number, string> = {
  1: "float32",
  2: "uint8",
  3: "int8",
  5: "int16",
  6: "int32",
  7: "int64",
  9: "bool",
  10: "float16",
  11: "float64",
  12: "uint32",
  13: "uint64",
  16: "bfloat16",
};
const typeName = (code: number | null | undefined): string => TYPE_NAMES[code ?? 0] ?? `type ${code ?? "unset"}`;
const quote = (s: string | null | undefined): string => JSON.stringify(s ?? "");
const toNumber = (v: number | { toString(): string }): number => (typeof v === "number" ? v : Number(v.toString()));
const toBigInt = (v: number | { toString(): string }): bigint => BigInt(typeof v === "number" ? v : v.toString());
const formatDims = (dims: readonly number[]): string => `[${dims.join(",")}]`;

/** An initializer's dims and elements (int8 and int32 as numbers, int64 as bigint); throws a message on bad storage. */
function readInitializer(t: onnx.ITensorProto): { dims: number[]; values: number[] | bigint[] } | string {
  if ((t.dataLocation ?? 0) !== 0 || (t.externalData?.length ?? 0) > 0) return "its data is external";
  if (t.segment != null) return "it is segmented";
  const dims = (t.dims ?? []).map(toNumber);
  const count = dims.reduce((a, b) => a * b, 1);
  const raw = t.rawData ?? new Uint8Array(0);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let values: number[] | bigint[];
  switch (t.dataType) {
    case TYPE_CODES.int8:
    case TYPE_CODES.int32: {
      const size = t.dataType === TYPE_CODES.int8 ? 1 : 4;
      if (raw.length > 0) {
        if (raw.length !== count * size) return `its raw data has ${raw.length} bytes, its shape needs ${count * size}`;
        values = Array.from({ length: count }, (_, i) => (size === 1 ? view.getInt8(i) : view.getInt32(4 * i, true)));
      } else {
        values = (t.int32Data ?? []).map(toNumber);
        const [lo, hi] = size === 1 ? [-128, 127] : [-(2 ** 31), INT32_MAX];
        if (values.some((v) => v < lo || v > hi)) return `its int32_data holds a value outside ${typeName(t.dataType)}`;
      }
      break;
    }
    case TYPE_CODES.int64:
      if (raw.length > 0) {
        if (raw.length !== count * 8) return `its raw data has ${raw.length} bytes, its shape needs ${count * 8}`;
        values = Array.from({ length: count }, (_, i) => view.getBigInt64(8 * i, true));
      } else {
        values = (t.int64Data ?? []).map(toBigInt);
      }
      break;
    default:
      return `its type is ${typeName(t.dataType)}`;
  }
  if (values.length !== count) return `it holds ${values.length} values, its shape ${formatDims(dims)} needs ${count}`;
  return { dims, values };
}

/** A graph input or output's int8 [1, n] declaration, or what is wrong with it. */
function vectorShape(v: onnx.IValueInfoProto, what: string): number {
  const tensorType = v.type?.tensorType;
  if (tensorType == null) throw new ProfileError(`the ${what} ${quote(v.name)} is not a tensor`);
  if (tensorType.elemType !== TYPE_CODES.int8) {
    throw new ProfileError(`the ${what} ${quote(v.name)} is ${typeName(tensorType.elemType)}, the profile needs int8`);
  }
  const dims = tensorType.shape?.dim;
  if (dims == null) throw new ProfileError(`the ${what} ${quote(v.name)} declares no shape; the profile needs [1, n]`);
  if (dims.length !== 2) {
    throw new ProfileError(`the ${what} ${quote(v.name)} has rank ${dims.length}; the profile needs [1, n]`);
  }
  const sizes = dims.map((d) => (d.dimValue != null && d.dimParam == null ? toNumber(d.dimValue) : undefined));
  if (sizes.some((d) => d === undefined)) {
    const shown = dims.map((d) => d.dimParam || (d.dimValue != null ? String(d.dimValue) : "?")).join(",");
    throw new ProfileError(
      `the ${what} ${quote(v.name)} has a dynamic shape [${shown}]; the profile needs fixed [1, n]`,
    );
  }
  if (sizes[0] !== 1 || sizes[1]! < 1) {
    throw new ProfileError(`the ${what} ${quote(v.name)} has shape [${sizes.join(",")}]; the profile needs [1, n]`);
  }
  return sizes[1]!;
}

/** The initializers each step takes after its first input: [role, element type]. */
const CONSTANTS: Partial<Record<LayerStep, [string, number][]>> = {
  sum: [["W", TYPE_CODES.int8]],
  acc: [["b", TYPE_CODES.int32]],
  scaled: [["M", TYPE_CODES.int64]],
  numerator: [["2^(s-1)", TYPE_CODES.int64]],
  quotient: [["2^s", TYPE_CODES.int64]],
  clipped: [
    ["min", TYPE_CODES.int64],
    ["max", TYPE_CODES.int64],
  ],
};

/**
 * Reads an ONNX file as a profile model. Throws ProfileError for the first thing outside the profile, naming the
 * node (its name and index in graph.node) when a node is at fault: a wrong operator, domain, input, attribute or
 * output; an initializer of the wrong type, shape or value (a non-scalar M, a bias breaking the overflow bound, a
 * divisor that is not 2^s, a half that is not 2^(s-1), clamp bounds other than [-128, 127] or [0, 127]); a dynamic
 * or wrong input or output shape; an unused or extra initializer, input or output; value_info, sparse initializers,
 * functions, training info or another opset domain.
 */
export function parseProfileModel(bytes: Uint8Array): ParsedProfile {
  let proto: onnx.ModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw new ProfileError(`not an ONNX model: ${(cause as Error).message}`);
  }
  const graph = proto.graph;
  if (graph == null) throw new ProfileError("the model has no graph");
  const opsets = proto.opsetImport ?? [];
  const foreign = opsets.find((o) => o.domain !== "" && o.domain !== "ai.onnx" && o.domain != null);
  if (foreign) {
    throw new ProfileError(
      `the model imports opset domain ${quote(foreign.domain)}; the profile uses only the default domain`,
    );
  }
  if (opsets.length !== 1) {
    throw new ProfileError(
      `the model imports ${opsets.length} opsets; the profile needs exactly one, the default domain`,
    );
  }
  const opset = toNumber(opsets[0].version ?? 0);
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new ProfileError(`default-domain opset ${opset}; the profile accepts ${MIN_OPSET}..${MAX_OPSET}`);
  }
  if ((proto.functions?.length ?? 0) > 0) throw new ProfileError("the model defines local functions");
  if ((proto.trainingInfo?.length ?? 0) > 0) throw new ProfileError("the model carries training info");
  if ((graph.sparseInitializer?.length ?? 0) > 0) throw new ProfileError("the graph has sparse initializers");
  if ((graph.valueInfo?.length ?? 0) > 0) {
    throw new ProfileError(
      `the graph has value_info (${quote(graph.valueInfo![0].name)}, ...); the profile allows none`,
    );
  }

  const initializers = new Map<string, onnx.ITensorProto>();
  for (const t of graph.initializer ?? []) {
    if (initializers.has(t.name ?? "")) throw new ProfileError(`two initializers are named ${quote(t.name)}`);
    initializers.set(t.name ?? "", t);
  }
  const inputs = graph.input ?? [];
  if (inputs.length !== 1) {
    throw new ProfileError(
      `the graph has ${inputs.length} inputs (${inputs.map((i) => quote(i.name)).join(", ")}); the profile has one`,
    );
  }
  const inputName = inputs[0].name ?? "";
  if (initializers.has(inputName)) throw new ProfileError(`the graph input ${quote(inputName)} is also an initializer`);
  let width = vectorShape(inputs[0], "input");
  const outputs = graph.output ?? [];
  if (outputs.length !== 1) {
    throw new ProfileError(
      `the graph has ${outputs.length} outputs (${outputs.map((o) => quote(o.name)).join(", ")}); the profile has one`,
    );
  }
  const outputName = outputs[0].name ?? "";
  // A Proven job posts its hidden vectors under "<output>/<layer>" (src/proven/trace.ts), and the judge tells the
  // output from them by that "/": neither name may contain one (nor be empty).
  for (const [what, name] of [
    ["input", inputName],
    ["output", outputName],
  ]) {
    if (name === "" || name.includes("/")) {
      throw new ProfileError(
        `the graph ${what} is named ${quote(name)}; the profile needs a non-empty name without "/" ` +
          `(a Proven job posts its hidden vectors as "<output>/<layer>")`,
      );
    }
  }

  const nodes = graph.node ?? [];
  if (nodes.length === 0 || nodes.length % LAYER_STEPS.length !== 0) {
    throw new ProfileError(`the graph has ${nodes.length} nodes; the profile has ${LAYER_STEPS.length} per layer`);
  }
  if (nodes.length / LAYER_STEPS.length > MAX_LAYERS) throw new ProfileError(`more than ${MAX_LAYERS} layers`);
  const produced = new Set<string>([inputName, ...initializers.keys()]);
  const used = new Set<string>();
  const layers: DenseLayer[] = [];
  const tensors: Record<LayerStep, string>[] = [];
  let previous = inputName;

  for (let k = 0; k < nodes.length; k += LAYER_STEPS.length) {
    const layerNumber = k / LAYER_STEPS.length + 1;
    const names = {} as Record<LayerStep, string>;
    const layer: DenseLayer = {
      nIn: width,
      nOut: 0,
      weights: new Int8Array(0),
      bias: new Int32Array(0),
      multiplier: 0,
      shift: 0,
      activation: "none",
    };
    for (let s = 0; s < LAYER_STEPS.length; s++) {
      const step = LAYER_STEPS[s];
      const n = nodes[k + s];
      const at = { index: k + s, name: n.name ?? "", opType: n.opType ?? "" };
      const fail = (message: string): ProfileError => new ProfileError(`layer ${layerNumber}: ${message}`, at);
      const op = STEP_OPS[step];
      if (n.opType !== op) throw fail(`expected ${op} (step ${step}), found ${n.opType}`);
      if (n.domain !== "" && n.domain !== "ai.onnx" && n.domain != null)
        throw fail(`operator domain ${quote(n.domain)}`);
      const wanted = CONSTANTS[step] ?? [];
      const input = n.input ?? [];
      if (input.length !== 1 + wanted.length || input.some((i) => i === "")) {
        throw fail(
          `takes ${input.length} inputs (${input.map(quote).join(", ")}); the profile's ${op} here takes ` +
            `${1 + wanted.length}${step === "sum" ? " (no zero points)" : ""}`,
        );
      }
      if (input[0] !== previous) {
        throw fail(`its first input is ${quote(input[0])}, not the previous step's ${quote(previous)}`);
      }
      const constants: { dims: number[]; values: number[] | bigint[] }[] = [];
      for (const [w, [role, type]] of wanted.entries()) {
        const name = input[1 + w];
        const t = initializers.get(name);
        if (t === undefined) throw fail(`its ${role} input ${quote(name)} is not an initializer`);
        if (used.has(name)) throw fail(`the initializer ${quote(name)} is used twice`);
        used.add(name);
        if (t.dataType !== type) {
          throw fail(`${role} (${quote(name)}) is ${typeName(t.dataType)}, the profile needs ${typeName(type)}`);
        }
        const read = readInitializer(t);
        if (typeof read === "string") throw fail(`${role} (${quote(name)}): ${read}`);
        constants.push(read);
      }
      const scalar = (c: number): bigint => {
        const { dims, values } = constants[c];
        if (dims.length !== 0) {
          throw fail(`${wanted[c][0]} has shape ${formatDims(dims)}; the profile needs a scalar (shape [])`);
        }
        return (values as bigint[])[0];
      };
      switch (step) {
        case "sum": {
          const { dims, values } = constants[0];
          if (dims.length !== 2) throw fail(`W has shape ${formatDims(dims)}; the profile needs [nIn, nOut]`);
          if (dims[0] !== width) throw fail(`W has ${dims[0]} rows, the layer's input has width ${width}`);
          if (width > MAX_WIDTH) throw fail(`input width ${width} exceeds ${MAX_WIDTH}: no bias keeps int32 exact`);
          if (dims[1] < 1) throw fail(`W has shape ${formatDims(dims)}; a layer has at least one output`);
          layer.nOut = dims[1];
          layer.weights = Int8Array.from(values as number[]);
          break;
        }
        case "acc": {
          const { dims, values } = constants[0];
          if (dims.length !== 1 || dims[0] !== layer.nOut) {
            throw fail(`b has shape ${formatDims(dims)}; the profile needs [${layer.nOut}]`);
          }
          const bound = maxAbsBias(width);
          const j = (values as number[]).findIndex((v) => Math.abs(v) > bound);
          if (j >= 0) {
            throw fail(
              `b[${j}] = ${values[j]} breaks the overflow bound nIn·16384 + |b[j]| ≤ 2^31 - 1 ` +
                `(|b[j]| ≤ ${bound} at nIn = ${width})`,
            );
          }
          layer.bias = Int32Array.from(values as number[]);
          break;
        }
        case "scaled": {
          const M = scalar(0);
          if (M < 1n || M > BigInt(MAX_MULTIPLIER)) throw fail(`M = ${M} is not in 1..2^31 - 1`);
          layer.multiplier = Number(M);
          break;
        }
        case "numerator": {
          const half = scalar(0);
          for (let e = MIN_SHIFT; e <= MAX_SHIFT; e++) if (half === 1n << BigInt(e - 1)) layer.shift = e;
          if (layer.shift === 0) {
            throw fail(`the rounding term ${half} is not 2^(s-1) for an s in ${MIN_SHIFT}..${MAX_SHIFT}`);
          }
          break;
        }
        case "quotient": {
          const divisor = scalar(0);
          if (divisor !== 1n << BigInt(layer.shift)) {
            throw fail(
              `the divisor is ${divisor}, not 2^s = ${1n << BigInt(layer.shift)} (s = ${layer.shift}, from the rounding term)`,
            );
          }
          break;
        }
        case "clipped": {
          const [min, max] = [scalar(0), scalar(1)];
          if (max !== 127n || (min !== -128n && min !== 0n)) {
            throw fail(`clips to [${min}, ${max}]; the profile clips to [-128, 127] (none) or [0, 127] (ReLU)`);
          }
          layer.activation = min === 0n ? "relu" : "none";
          break;
        }
        case "acc64":
        case "value": {
          const attributes = n.attribute ?? [];
          const to = attributes[0];
          if (attributes.length !== 1 || to.name !== "to" || to.type !== onnx.AttributeProto.AttributeType.INT) {
            throw fail(`the profile's Cast has exactly one attribute, "to" (an int)`);
          }
          const want = step === "acc64" ? TYPE_CODES.int64 : TYPE_CODES.int8;
          if (toNumber(to.i ?? 0) !== want) {
            throw fail(`casts to ${typeName(toNumber(to.i ?? 0))}, the profile casts to ${typeName(want)} here`);
          }
          break;
        }
      }
      if (step !== "acc64" && step !== "value" && (n.attribute?.length ?? 0) > 0) {
        throw fail(`has attribute ${quote(n.attribute![0].name)}; the profile's ${op} has none`);
      }
      const output = n.output ?? [];
      if (output.length !== 1 || output[0] === "")
        throw fail(`has ${output.length} outputs; the profile's ${op} has one`);
      if (produced.has(output[0])) throw fail(`its output ${quote(output[0])} reuses an existing name`);
      produced.add(output[0]);
      names[step] = output[0];
      previous = output[0];
    }
    layers.push(layer);
    tensors.push(names);
    width = layer.nOut;
  }

  for (const name of initializers.keys()) {
    if (!used.has(name)) throw new ProfileError(`the initializer ${quote(name)} is not used by the pattern`);
  }
  if (outputName !== previous) {
    throw new ProfileError(
      `the graph output is ${quote(outputName)}; the profile's output is the last Cast's ${quote(previous)}`,
    );
  }
  const outputWidth = vectorShape(outputs[0], "output");
  if (outputWidth !== width)
    throw new ProfileError(
      `the output ${quote(outputName)} declares width ${outputWidth}, the last layer produces ${width}`,
    );
  return { model: { inputName, outputName, layers }, tensors, opset };
}
