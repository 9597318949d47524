/**
 * Just enough of the ONNX protobuf (onnx/onnx.proto3) to check a model before onnxruntime runs
 * it: the opset imports, the graph's inputs/outputs (name, element type, shape) and its
 * operators. onnxruntime's JS API exposes inputs and outputs but not the opsets, and the loader
 * must refuse a graph whose opsets it was not built for (docs/contracts.md "Model artifact").
 *
 * Protobuf wire format: every field is a varint key `(field_number << 3) | wire_type`, then a
 * varint (type 0), 8 bytes (1), a varint length + bytes (2) or 4 bytes (5).
 */

export interface OnnxValueInfo {
  name: string;
  /** TensorProto.DataType: 1 = FLOAT, 11 = DOUBLE, 7 = INT64 … (0 when absent). */
  elemType: number;
  /** Dimensions: a number (dim_value) or a string (dim_param, symbolic) or null (unknown). */
  shape: (number | string | null)[];
}

export interface OnnxModelSummary {
  irVersion: number;
  producerName: string;
  /** domain ("" = ai.onnx) → version. */
  opsets: Record<string, number>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** `domain:op_type` of every node, in graph order ("" domain = ai.onnx). */
  ops: string[];
}

export const ONNX_FLOAT = 1;

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error("truncated varint");
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new Error("varint longer than 10 bytes");
  }

  /** Returns [fieldNumber, wireType]. */
  key(): [number, number] {
    const k = this.varint();
    return [Math.floor(k / 8), k & 7];
  }

  bytes(): Reader {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw new Error("length-delimited field runs past its message");
    this.pos += len;
    return new Reader(this.buf, start, start + len);
  }

  string(): string {
    const r = this.bytes();
    return new TextDecoder().decode(this.buf.subarray(r.pos, r.end));
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`unsupported protobuf wire type ${wireType}`);
    if (this.pos > this.end) throw new Error("field runs past its message");
  }
}

/** Calls `onField` for each field of the message in `r`; unhandled fields must be skipped by it. */
function fields(r: Reader, onField: (field: number, wire: number) => boolean): void {
  while (!r.done()) {
    const [field, wire] = r.key();
    if (!onField(field, wire)) r.skip(wire);
  }
}

function readDim(r: Reader): number | string | null {
  let dim: number | string | null = null;
  fields(r, (f, w) => {
    if (f === 1 && w === 0) dim = r.varint();
    else if (f === 2 && w === 2) dim = r.string();
    else return false;
    return true;
  });
  return dim;
}

function readTensorType(r: Reader, out: OnnxValueInfo): void {
  fields(r, (f, w) => {
    if (f === 1 && w === 0) out.elemType = r.varint();
    else if (f === 2 && w === 2) {
      const shape = r.bytes();
      fields(shape, (sf, sw) => {
        if (sf !== 1 || sw !== 2) return false;
        out.shape.push(readDim(shape.bytes()));
        return true;
      });
    } else return false;
    return true;
  });
}

function readValueInfo(r: Reader): OnnxValueInfo {
  const out: OnnxValueInfo = { name: "", elemType: 0, shape: [] };
  fields(r, (f, w) => {
    if (f === 1 && w === 2) out.name = r.string();
    else if (f === 2 && w === 2) {
      const type = r.bytes();
      fields(type, (tf, tw) => {
        if (tf !== 1 || tw !== 2) return false; // 1 = tensor_type
        readTensorType(type.bytes(), out);
        return true;
      });
    } else return false;
    return true;
  });
  return out;
}

function readNode(r: Reader): string {
  let opType = "";
  let domain = "";
  fields(r, (f, w) => {
    if (f === 4 && w === 2) opType = r.string();
    else if (f === 7 && w === 2) domain = r.string();
    else return false;
    return true;
  });
  return `${domain}:${opType}`;
}

/**
 * Reads the summary of a serialized ONNX ModelProto. Throws a plain Error on bytes that are not
 * a well-formed protobuf message; the caller wraps it into a ModelError.
 */
export function readOnnxSummary(bytes: Uint8Array): OnnxModelSummary {
  const out: OnnxModelSummary = {
    irVersion: 0,
    producerName: "",
    opsets: {},
    inputs: [],
    outputs: [],
    ops: [],
  };
  const r = new Reader(bytes);
  let sawGraph = false;
  fields(r, (f, w) => {
    if (f === 1 && w === 0) out.irVersion = r.varint();
    else if (f === 2 && w === 2) out.producerName = r.string();
    else if (f === 8 && w === 2) {
      const op = r.bytes();
      let domain = "";
      let version = 0;
      fields(op, (of, ow) => {
        if (of === 1 && ow === 2) domain = op.string();
        else if (of === 2 && ow === 0) version = op.varint();
        else return false;
        return true;
      });
      out.opsets[domain === "ai.onnx" ? "" : domain] = version;
    } else if (f === 7 && w === 2) {
      sawGraph = true;
      const g = r.bytes();
      fields(g, (gf, gw) => {
        if (gw !== 2) return false;
        if (gf === 1) out.ops.push(readNode(g.bytes()));
        else if (gf === 11) out.inputs.push(readValueInfo(g.bytes()));
        else if (gf === 12) out.outputs.push(readValueInfo(g.bytes()));
        else return false;
        return true;
      });
    } else return false;
    return true;
  });
  if (!sawGraph) throw new Error("no graph in the ONNX model");
  return out;
}
