// Splits a gRPC request stream into messages (grpc/grpc doc/PROTOCOL-HTTP2.md, "Length-Prefixed-Message": a 1-byte
// compressed flag, a 4-byte big-endian length, the bytes). No I/O: the transport feeds it what the socket gave and
// gets whole messages back, or the status that ends the call. Every failure is a status the client can read, never
// an exception past the transport.
import { GrpcStatus, type GrpcStatusCode } from "./grpc-status.js";
import type { ByteBudget } from "./byte-budget.js";
import { GrpcFramingError } from "../errors.js";

const headerBytes = 5;

export class GrpcMessageReader {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** What the pending bytes hold of the budget. */
  #charged = 0;
  #failed = false;

  constructor(
    /** Largest message accepted (gRPC's default receive limit is 4 MiB). */
    private readonly maxMessageBytes: number,
    /** Charged for the bytes of incomplete messages, so that many streams cannot add up to too much. */
    private readonly budget?: ByteBudget,
  ) {}

  /** Bytes held for a message not yet complete. */
  get bufferedBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * Takes the next bytes of the stream; returns the messages they complete (without their 5-byte headers).
   * Throws GrpcFramingError when the stream must end; the reader is then released and ignores anything more.
   */
  push(chunk: Buffer): Buffer[] {
    if (this.#failed) return [];
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    const messages: Buffer[] = [];
    try {
      while (this.#pendingBytes >= headerBytes) {
        const head = this.#peekHeader();
        const length = head.readUInt32BE(1);
        if (length > this.maxMessageBytes) {
          throw new GrpcFramingError(GrpcStatus.RESOURCE_EXHAUSTED, `request of ${length} bytes exceeds the limit of ${this.maxMessageBytes}`);
        }
        if (head[0] !== 0) {
          // Checked before the message is complete: there is no point in buffering what will be refused.
          throw new GrpcFramingError(GrpcStatus.UNIMPLEMENTED, "compressed messages are not supported (grpc-accept-encoding: identity)");
        }
        if (this.#pendingBytes < headerBytes + length) break;
        messages.push(this.#take(headerBytes + length).subarray(headerBytes));
      }
      this.#charge();
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
    const partial = this.#pendingBytes;
    this.release();
    if (partial === 0) return undefined;
    return new GrpcFramingError(GrpcStatus.INTERNAL, `the request stream ended inside a message (${partial} bytes of an incomplete message)`);
  }

  /** Drops what is buffered and gives its bytes back to the budget; the reader accepts nothing more. */
  release(): void {
    this.#failed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.#charged > 0) this.budget?.give(this.#charged);
    this.#charged = 0;
  }

  #charge(): void {
    const delta = this.#pendingBytes - this.#charged;
    if (!this.budget || delta === 0) return;
    if (delta < 0) {
      this.budget.give(-delta);
    } else if (!this.budget.tryTake(delta)) {
      const full = this.budget.exhaustedBy(delta)!;
      const which = full === this.budget ? "this connection" : "the server";
      throw new GrpcFramingError(
        GrpcStatus.RESOURCE_EXHAUSTED,
        `${which} already buffers ${full.used} bytes of incomplete requests; the limit is ${full.limit}`,
      );
    }
    this.#charged = this.#pendingBytes;
  }

  #peekHeader(): Buffer {
    if (this.#pending[0].length < headerBytes) this.#pending = [Buffer.concat(this.#pending)];
    return this.#pending[0];
  }

  #take(n: number): Buffer {
    const all = this.#pending.length === 1 ? this.#pending[0] : Buffer.concat(this.#pending);
    const out = all.subarray(0, n);
    let rest = all.subarray(n);
    // A short tail of a large buffer would keep the whole buffer alive while the budget counts only the tail.
    if (rest.length > 0 && all.length - rest.length > 64 * 1024) rest = Buffer.from(rest);
    this.#pending = rest.length > 0 ? [rest] : [];
    this.#pendingBytes = rest.length;
    return out;
  }
}
