// What the load generator knows in advance: every version of every resource of the fixture, numbered, so that the
// hot path works on small integers. A received resource is identified by (type, name) → name id, then by its
// bytes → version id; the state of step 0 and the changes of every later step are lists of those ids.
//
// References (Cluster → its ClusterLoadAssignment, Listener → its RouteConfiguration) are read here, once per
// version, with the library's type registry: the generator subscribes like Envoy (EDS for the clusters it
// received, RDS for the listeners' routes) without decoding a resource on the hot path.
import { createHash } from "node:crypto";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { resourceType } from "../../../src/resource/types.js";
import { TypeUrl } from "../../../src/resource/type-urls.js";
import type { Fixture } from "../lib/fixture-file.js";

export interface TypeInfo {
  index: number;
  typeUrl: string;
  typeUrlBytes: Buffer;
  short: string;
  /** LDS/CDS: every response carries the complete set; a name missing from it is gone. */
  fullState: boolean;
  /** Subscribed with the wildcard (CDS, LDS) rather than by name (EDS, RDS). */
  wildcard: boolean;
  names: Map<string, number>;
  nameIds: number[];
  /** The type whose names this type's resources reference (CDS → EDS, LDS → RDS), if any. */
  dependent?: number;
}

/** The four types the generator subscribes to, in the order Envoy subscribes to them. */
const servedTypes = [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration];

export class FixtureIndex {
  readonly types: TypeInfo[] = [];
  readonly typeByUrl = new Map<string, TypeInfo>();
  // Per name id
  readonly nameText: string[] = [];
  readonly nameType: number[] = [];
  readonly versionsOfName: number[][] = [];
  // Per version id
  readonly versionBytes: Buffer[] = [];
  readonly versionName: number[] = [];
  /** First step whose state holds this version. */
  readonly versionStep: number[] = [];
  /** Name ids this version references (its cluster's CLA, its listener's routes). */
  readonly versionRefs: number[][] = [];
  #hashes: (string | undefined)[] = [];
  /** Per step: [nameId, versionId] pairs upserted, and name ids removed. */
  readonly stepUpserts: [number, number][][] = [];
  readonly stepRemoves: number[][] = [];
  /** Step 0: version per name id (-1: absent), and how many names it has. */
  readonly state0: Int32Array;
  readonly state0Count: number;

  constructor(fixture: Fixture) {
    for (const typeUrl of servedTypes) {
      const t = resourceType(typeUrl);
      const info: TypeInfo = {
        index: this.types.length,
        typeUrl,
        typeUrlBytes: Buffer.from(typeUrl),
        short: t.short,
        fullState: t.sotwFullState,
        wildcard: t.wildcardByDefault,
        names: new Map(),
        nameIds: [],
      };
      this.types.push(info);
      this.typeByUrl.set(typeUrl, info);
    }
    this.types[0].dependent = 1; // Cluster → ClusterLoadAssignment
    this.types[2].dependent = 3; // Listener → RouteConfiguration
    fixture.steps.forEach((step, i) => {
      const ups: [number, number][] = [];
      for (const u of step.upserts) {
        const type = this.typeByUrl.get(u.typeUrl);
        if (!type) throw new Error(`the load generator does not subscribe to ${u.typeUrl}`);
        const nameId = this.nameId(type, u.name);
        ups.push([nameId, this.#version(nameId, u.value, i)]);
      }
      this.stepUpserts.push(ups);
      this.stepRemoves.push(step.removes.map((r) => this.nameId(this.typeByUrl.get(r.typeUrl)!, r.name)));
    });
    // Resolve references after every name exists (a reference may name a resource defined later in the file).
    for (let v = 0; v < this.versionBytes.length; v++) {
      const type = this.types[this.nameType[this.versionName[v]]];
      const rt = resourceType(type.typeUrl);
      this.versionRefs[v] = rt.referencesOf(fromBinary(rt.schema, this.versionBytes[v])).map((ref) => {
        const to = this.typeByUrl.get(ref.typeUrl);
        if (!to) throw new Error(`${type.short} ${this.nameText[this.versionName[v]]} references unserved type ${ref.typeUrl}`);
        return this.nameId(to, ref.name);
      });
    }
    this.state0 = new Int32Array(this.nameText.length).fill(-1);
    let count = 0;
    for (const [n, v] of this.stepUpserts[0]) {
      if (this.state0[n] === -1) count++;
      this.state0[n] = v;
    }
    this.state0Count = count;
  }

  get nameCount(): number {
    return this.nameText.length;
  }

  type(typeUrl: string): TypeInfo {
    return this.typeByUrl.get(typeUrl)!;
  }

  /** Types present in step 0 (the generator subscribes only to those, see loadgen/proxy.ts). */
  presentTypes(): TypeInfo[] {
    return this.types.filter((t) => this.stepUpserts[0].some(([n]) => this.nameType[n] === t.index));
  }

  nameId(type: TypeInfo, name: string): number {
    let id = type.names.get(name);
    if (id === undefined) {
      id = this.nameText.length;
      type.names.set(name, id);
      type.nameIds.push(id);
      this.nameText.push(name);
      this.nameType.push(type.index);
      this.versionsOfName.push([]);
    }
    return id;
  }

  /**
   * Another encoding of a version, seen from a server: the same message with its fields in another order (Go
   * writes oneof fields after the others). Found once by decoding (findCanonical), then matched by bytes like the
   * fixture's own encoding. One per version: a server's encoder is deterministic.
   */
  readonly #alias: (Buffer | undefined)[] = [];
  /** Whether the last findVersion matched an alias rather than the fixture's bytes. */
  matchedAlias = false;

  /** The version id of these exact bytes for a name, or -1. Newest first: a client usually gets the latest. */
  findVersion(nameId: number, buf: Buffer, start: number, end: number): number {
    const versions = this.versionsOfName[nameId];
    const len = end - start;
    this.matchedAlias = false;
    for (let i = versions.length - 1; i >= 0; i--) {
      const bytes = this.versionBytes[versions[i]];
      if (bytes.length === len && bytes.compare(buf, start, end) === 0) return versions[i];
      const alias = this.#alias[versions[i]];
      if (alias !== undefined && alias.length === len && alias.compare(buf, start, end) === 0) {
        this.matchedAlias = true;
        return versions[i];
      }
    }
    return -1;
  }

  /**
   * The version whose message equals the one these bytes decode to, although the bytes differ: the same message
   * written by another encoder (field order of oneofs, say). Decoded with protobuf-es and re-encoded, then matched
   * by bytes. -1 if the message matches no version (or does not decode).
   */
  findCanonical(nameId: number, buf: Buffer, start: number, end: number): number {
    const schema = resourceType(this.types[this.nameType[nameId]].typeUrl).schema;
    try {
      const again = Buffer.from(toBinary(schema, fromBinary(schema, buf.subarray(start, end))));
      const v = this.findVersion(nameId, again, 0, again.length);
      if (v >= 0) this.#alias[v] = Buffer.from(buf.subarray(start, end));
      return v;
    } catch {
      return -1;
    }
  }

  /** SHA-256 (hex) of a version's bytes, computed on demand (the /wait?name=&hash= interface and reports). */
  hash(versionId: number): string {
    return (this.#hashes[versionId] ??= createHash("sha256").update(this.versionBytes[versionId]).digest("hex"));
  }

  versionByHash(nameId: number, hash: string): number {
    return this.versionsOfName[nameId].find((v) => this.hash(v) === hash) ?? -1;
  }

  #version(nameId: number, value: Buffer, step: number): number {
    const existing = this.findVersion(nameId, value, 0, value.length);
    if (existing >= 0) return existing;
    const id = this.versionBytes.length;
    this.versionBytes.push(value);
    this.versionName.push(nameId);
    this.versionStep.push(step);
    this.versionsOfName[nameId].push(id);
    return id;
  }
}
