// Subscriptions are mostly the same across proxies: a fleet of Envoys with one config subscribes every proxy to the
// same 500 EDS names, in the same order. Decoded per stream, that is 500 strings, their array and a copy of the
// request bytes per proxy and type — most of the JS heap a connected proxy costs, and the work of every new
// stream in a connect storm. Here a run of encoded `resource_names` fields is decoded once and the frozen list is
// shared by every stream that sent the same bytes (one table per transport; see RequestDecoder).
//
// The table is bounded in entries and in bytes of the encoded runs it keys on; the oldest entry goes first. An
// evicted list stays valid for the streams holding it: eviction only means the next stream decodes its own.
import { BinaryReader } from "@bufbuild/protobuf/wire";

export interface SharedNameList {
  /** The encoded run of resource_names fields, a copy owned by this entry. */
  readonly bytes: Buffer;
  readonly names: readonly string[];
}

export interface SharedNameListsOptions {
  maxEntries?: number;
  maxBytes?: number;
}

export class SharedNameLists {
  readonly #byBytes = new Map<string, SharedNameList>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(options: SharedNameListsOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 4096;
    // Of encoded bytes; the memory an entry takes is about 3.5 times that (its copy, its key, the decoded strings).
    this.#maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
  }

  /** The shared list for this run of encoded resource_names fields, decoding it if no stream sent it before. */
  get(run: Uint8Array): SharedNameList {
    const buffer = Buffer.from(run.buffer, run.byteOffset, run.byteLength);
    // latin1 maps each byte to one character: a lossless key for arbitrary bytes.
    const key = buffer.toString("latin1");
    const found = this.#byBytes.get(key);
    if (found) return found;
    const entry: SharedNameList = { bytes: Buffer.from(buffer), names: Object.freeze(decodeNames(run)) };
    this.#byBytes.set(key, entry);
    this.#bytes += run.byteLength;
    for (const [oldKey, old] of this.#byBytes) {
      if (this.#byBytes.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) break;
      this.#byBytes.delete(oldKey);
      this.#bytes -= old.bytes.byteLength;
    }
    return entry;
  }

  get size(): number {
    return this.#byBytes.size;
  }
}

/** Decodes a run of `resource_names` fields (each a tag and a length-delimited string). */
function decodeNames(run: Uint8Array): string[] {
  const names: string[] = [];
  const reader = new BinaryReader(run);
  while (reader.pos < reader.len) {
    reader.tag();
    names.push(reader.string(true)); // strict UTF-8, as fromBinary reads proto3 strings
  }
  return names;
}
