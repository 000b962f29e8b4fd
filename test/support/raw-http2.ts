// An HTTP/2 client at the frame level, for tests that must do what node:http2's client never does: open streams past
// the server's SETTINGS_MAX_CONCURRENT_STREAMS (its nghttp2 holds them back), or before it has read the server's
// SETTINGS. It writes exactly the frames a test asks for and records every frame the server sends (RFC 9113 §4).
import net from "node:net";
import { adsPath } from "./raw-grpc.js";

export const FrameType = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 } as const;
const END_HEADERS = 0x4;
const ACK = 0x1;

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK string literal, not Huffman-coded (RFC 7541 §5.2); the values here are all under 127 bytes. */
function literal(s: string): Buffer {
  if (s.length > 126) throw new Error("literal too long for a one-byte length");
  return Buffer.concat([Buffer.from([s.length]), Buffer.from(s)]);
}

/** The request headers of a gRPC call to `path`, HPACK-encoded without the dynamic table (RFC 7541 §6.1, §6.2.2). */
function grpcRequestHeaders(path: string, authority: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x83, 0x86]), // :method POST, :scheme http (static table 3 and 6)
    Buffer.from([0x04]), // :path (static name 4), literal value
    literal(path),
    Buffer.from([0x01]), // :authority (static name 1)
    literal(authority),
    Buffer.from([0x0f, 0x10]), // content-type (static name 31: 15 + 16)
    literal("application/grpc"),
    Buffer.from([0x00]), // a new name
    literal("te"),
    literal("trailers"),
  ]);
}

export class RawHttp2Connection {
  /** Every frame the server sent, in order. */
  readonly frames: Frame[] = [];
  #closed = false;
  readonly #socket: net.Socket;
  readonly #authority: string;
  #pending: Buffer = Buffer.alloc(0);
  #changed: () => void = () => {};

  private constructor(socket: net.Socket, authority: string) {
    this.#socket = socket;
    this.#authority = authority;
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
    socket.on("error", () => {});
    socket.once("close", () => {
      this.#closed = true;
      this.#changed();
    });
  }

  /** The server closed the connection (or the test destroyed it). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Connected, nothing sent yet. */
  static open(address: string): Promise<RawHttp2Connection> {
    const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host, () => resolve(new RawHttp2Connection(socket, address)));
      socket.once("error", reject);
    });
  }

  /** The connection preface and an empty SETTINGS (RFC 9113 §3.4). */
  preface(): Buffer {
    return Buffer.concat([preface, frame(FrameType.SETTINGS, 0, 0)]);
  }

  ackSettings(): Buffer {
    return frame(FrameType.SETTINGS, ACK, 0);
  }

  /** HEADERS opening a gRPC call on `streamId` (odd, increasing). */
  openStream(streamId: number, path = adsPath): Buffer {
    return frame(FrameType.HEADERS, END_HEADERS, streamId, grpcRequestHeaders(path, this.#authority));
  }

  data(streamId: number, payload: Buffer): Buffer {
    return frame(FrameType.DATA, 0, streamId, payload);
  }

  /** Writes frames as one write: the server reads them together, before anything it answers reaches this client. */
  send(...frames: Buffer[]): void {
    this.#socket.write(Buffer.concat(frames));
  }

  /** Frames from the server matching `match`. */
  received(match: Partial<Pick<Frame, "type" | "streamId" | "flags">>): Frame[] {
    return this.frames.filter((f) => (Object.keys(match) as (keyof typeof match)[]).every((k) => f[k] === match[k]));
  }

  /** Resolves once `predicate` holds, looked at after every read and at the close; rejects after `timeoutMs`. */
  async until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out waiting for ${what}; received ${JSON.stringify(this.frames.map(({ type, streamId }) => ({ type, streamId })))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#changed = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #read(chunk: Buffer): void {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 9) {
      const length = this.#pending.readUIntBE(0, 3);
      if (this.#pending.length < 9 + length) break;
      this.frames.push({
        type: this.#pending[3],
        flags: this.#pending[4],
        streamId: this.#pending.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.#pending.subarray(9, 9 + length)),
      });
      this.#pending = this.#pending.subarray(9 + length);
    }
    this.#changed();
  }
}

/** RST_STREAM's and GOAWAY's error code; GOAWAY's last stream id. */
export const errorCodeOf = (f: Frame) => f.payload.readUInt32BE(f.type === FrameType.GOAWAY ? 4 : 0);
export const lastStreamIdOf = (f: Frame) => f.payload.readUInt32BE(0) & 0x7fffffff;
