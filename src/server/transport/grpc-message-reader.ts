// Splits a gRPC request stream into messages (grpc/grpc doc/PROTOCOL-HTTP2.md, "Length-Prefixed-Message": a 1-byte
// compressed flag, a 4-byte big-endian length, the bytes). No I/O: the transport feeds it what the socket gave and
// gets whole messages back, or the status that ends the call. Every failure is a status the client can read, never
// an exception past the transport.
import { GrpcStatus } from "../../grpc-status.js";
import type { ByteBudget } from "./byte-budget.js";
import { GrpcFramingError } from "../../errors.js";

const headerBytes = 5;

/**
 * A message is assembled in a buffer of its own, allocated when its header arrives and charged to the budget for
 * its whole declared length at once. Keeping the socket's chunks instead would be cheaper to write but not to
 * bound: node hands out DATA frames as slices of its 64 KiB read buffers, so a client sending one byte of a message
 * per read would pin 64 KiB for each byte charged.
 */
export class GrpcMessageReader {
  readonly #header = Buffer.alloc(headerBytes);
  #headerFill = 0;
  /** The message being assembled (its declared length), or undefined while a header is read. */
  #body: Buffer | undefined;
  #bodyFill = 0;
  /** What the message being assembled holds of the budget. */
  #charged = 0;
  #failed = false;

  constructor(
    /** Largest message accepted (gRPC's default receive limit is 4 MiB). */
    private readonly maxMessageBytes: number,
    /** Charged for messages being assembled, so that many streams cannot add up to too much. */
    private readonly budget?: ByteBudget,
  ) {}

  /** Bytes of the message being assembled that have arrived (its header included). */
  get bufferedBytes(): number {
    return this.#body ? headerBytes + this.#bodyFill : this.#headerFill;
  }

  /**
   * Takes the next bytes of the stream; returns the messages they complete (without their 5-byte headers). A
   * message that arrives whole in one chunk is a view of that chunk, valid as long as the chunk. Throws
   * GrpcFramingError when the stream must end; the reader is then released and ignores anything more.
   */
  push(chunk: Buffer): Buffer[] {
    if (this.#failed) return [];
    const messages: Buffer[] = [];
    try {
      let pos = 0;
      while (pos < chunk.length) {
        if (!this.#body) {
          // Fast path: a whole header and a whole message in what is left of the chunk.
          if (this.#headerFill === 0 && chunk.length - pos >= headerBytes) {
            const length = this.#checkHeader(chunk[pos], chunk.readUInt32BE(pos + 1));
            if (chunk.length - pos - headerBytes >= length) {
              messages.push(chunk.subarray(pos + headerBytes, pos + headerBytes + length));
              pos += headerBytes + length;
              continue;
            }
          }
          const n = Math.min(headerBytes - this.#headerFill, chunk.length - pos);
          chunk.copy(this.#header, this.#headerFill, pos, pos + n);
          this.#headerFill += n;
          pos += n;
          if (this.#headerFill < headerBytes) break;
          this.#startBody(this.#checkHeader(this.#header[0], this.#header.readUInt32BE(1)));
          if (this.#body!.length > 0) continue;
        } else {
          const n = Math.min(this.#body.length - this.#bodyFill, chunk.length - pos);
          chunk.copy(this.#body, this.#bodyFill, pos, pos + n);
          this.#bodyFill += n;
          pos += n;
        }
        if (this.#bodyFill === this.#body!.length) messages.push(this.#finishBody());
      }
      return messages;
    } catch (err) {
      this.release();
      throw err;
    }
  }

  /**
   * The client half-closed. A partial message left over is an error (grpc-go answers INTERNAL too): a request
   * silently dropped would leave the client believing it was read.
   */
  end(): GrpcFramingError | undefined {
    const partial = this.bufferedBytes;
    this.release();
    if (partial === 0) return undefined;
    return new GrpcFramingError(GrpcStatus.INTERNAL, `the request stream ended inside a message (${partial} bytes of an incomplete message)`);
  }

  /** Drops what is buffered and gives its bytes back to the budget; the reader accepts nothing more. */
  release(): void {
    this.#failed = true;
    this.#body = undefined;
    this.#bodyFill = 0;
    this.#headerFill = 0;
    this.#giveBack();
  }

  #checkHeader(flag: number, length: number): number {
    if (length > this.maxMessageBytes) {
      throw new GrpcFramingError(GrpcStatus.RESOURCE_EXHAUSTED, `request of ${length} bytes exceeds the limit of ${this.maxMessageBytes}`);
    }
    if (flag !== 0) {
      // Checked before the message is complete: there is no point in buffering what will be refused.
      throw new GrpcFramingError(GrpcStatus.UNIMPLEMENTED, "compressed messages are not supported (grpc-accept-encoding: identity)");
    }
    return length;
  }

  #startBody(length: number): void {
    const cost = headerBytes + length;
    if (this.budget && !this.budget.tryTake(cost)) {
      const full = this.budget.exhaustedBy(cost)!;
      const which = full === this.budget ? "this connection" : "the server";
      throw new GrpcFramingError(
        GrpcStatus.RESOURCE_EXHAUSTED,
        `${which} already buffers ${full.used} bytes of incomplete requests; the limit is ${full.limit}`,
      );
    }
    this.#charged = this.budget ? cost : 0;
    this.#body = Buffer.allocUnsafe(length);
    this.#bodyFill = 0;
  }

  #finishBody(): Buffer {
    const body = this.#body!;
    this.#body = undefined;
    this.#bodyFill = 0;
    this.#headerFill = 0;
    this.#giveBack();
    return body;
  }

  #giveBack(): void {
    if (this.#charged > 0) this.budget?.give(this.#charged);
    this.#charged = 0;
  }
}
