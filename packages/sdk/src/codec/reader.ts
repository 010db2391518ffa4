/**
 * A little-endian cursor over bytes, shared by the tensor-list decoder (TML1, tensor.ts) and the signature decoder
 * (TMS1, ../signature.ts), which lay out their entries alike. Each decoder says how running out of bytes is
 * reported, in its own error class.
 */
export abstract class ByteReader {
  offset = 0;
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  /** Throws the decoder's error for the `n` bytes of `what` (of `tensor`) that are not there at `offset`. */
  protected abstract truncated(n: number, what: string, tensor?: string): never;

  /** The next `n` bytes (a view, not a copy). */
  take(n: number, what: string, tensor?: string): Uint8Array {
    if (n > this.remaining) this.truncated(n, what, tensor);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  u8(what: string, tensor?: string): number {
    return this.take(1, what, tensor)[0];
  }

  u16(what: string, tensor?: string): number {
    const at = this.offset;
    this.take(2, what, tensor);
    return this.view.getUint16(at, true);
  }

  u32(what: string, tensor?: string): number {
    const at = this.offset;
    this.take(4, what, tensor);
    return this.view.getUint32(at, true);
  }

  u64(what: string, tensor?: string): bigint {
    const at = this.offset;
    this.take(8, what, tensor);
    return this.view.getBigUint64(at, true);
  }
}
