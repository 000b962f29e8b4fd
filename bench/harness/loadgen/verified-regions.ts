// Responses already verified, by content. Every client of a scenario is sent the same resources, so the
// generator checks the resources of a response one by one (name → fixture version, by memcmp or SHA-256) only the
// first time it sees that exact byte region; later responses whose region is byte-identical (one memcmp of the
// whole region) reuse that result. The check stays exact — equal bytes, equal verdict — and the per-resource cost
// (a string per name, a map lookup, a compare call) is paid once per distinct content instead of once per client.
// Only clean results are kept: a response with a mismatch or an anomaly is checked (and counted) every time.

export interface VerifiedRegion {
  bytes: Buffer;
  nameIds: Int32Array;
  versionIds: Int32Array;
  /** Resources in this region whose bytes differ from the fixture's although their message is the same. */
  encodingDiffs: number;
}

/** A few recent contents per type: enough for a step's response and the one before it. */
const perType = 4;

export class VerifiedRegions {
  readonly #byType: VerifiedRegion[][];
  hits = 0;
  misses = 0;
  readonly #typeHits: number[];
  readonly #typeMisses: number[];

  constructor(typeCount: number) {
    this.#byType = Array.from({ length: typeCount }, () => []);
    this.#typeHits = new Array(typeCount).fill(0);
    this.#typeMisses = new Array(typeCount).fill(0);
  }

  find(type: number, buf: Buffer, start: number, end: number): VerifiedRegion | undefined {
    const list = this.#byType[type];
    const len = end - start;
    for (let i = list.length - 1; i >= 0; i--) {
      const e = list[i];
      if (e.bytes.length === len && e.bytes.compare(buf, start, end) === 0) {
        this.hits++;
        this.#typeHits[type]++;
        return e;
      }
    }
    this.misses++;
    this.#typeMisses[type]++;
    return undefined;
  }

  add(type: number, buf: Buffer, start: number, end: number, nameIds: number[], versionIds: number[], encodingDiffs: number): void {
    // A server that orders resources differently in every response (go-control-plane builds them from a map) never
    // repeats a region: once regions of a type keep missing, stop copying them.
    if (this.#typeMisses[type] > 16 && this.#typeHits[type] * 4 < this.#typeMisses[type]) return;
    const list = this.#byType[type];
    // A copy: the message may be a view into a chunk that would otherwise be kept alive, or reused.
    list.push({ bytes: Buffer.from(buf.subarray(start, end)), nameIds: Int32Array.from(nameIds), versionIds: Int32Array.from(versionIds), encodingDiffs });
    if (list.length > perType) list.shift();
  }
}
