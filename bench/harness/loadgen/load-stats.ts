// The load generator's own counters: traffic, protocol anomalies, byte-identity mismatches, errors, and how long
// it takes itself to handle a response (so that a reader can tell whether the generator kept up).
import { createHistogram, type RecordableHistogram } from "node:perf_hooks";

const exampleLimit = 20;

export interface Mismatch {
  type: string;
  name: string;
  expectedSha256: string;
  receivedSha256: string;
}

export class LoadStats {
  bytesReceived = 0;
  responses = 0;
  readonly responsesByType: number[];
  acks = 0;
  requests = 0;
  disconnects = 0;
  sessionsConnected = 0;
  errors = 0;
  readonly errorExamples: string[] = [];
  readonly grpcStatuses: Record<string, number> = {};
  /** RST_STREAM codes of streams the server (or the connection) ended; GOAWAY frames received by code. */
  readonly closeCodes: Record<string, number> = {};
  readonly goaways: Record<string, number> = {};
  /** Resources whose bytes match no fixture version of their name (or whose name is not in the fixture). */
  mismatches = 0;
  readonly mismatchExamples: Mismatch[] = [];
  /** Resources not byte-identical to the fixture but equal as messages (another encoder's field order). */
  encodingDiffs = 0;
  readonly encodingDiffExamples: Mismatch[] = [];
  /** Things a real proxy would NACK or ignore: duplicate names, Any of another type, unsubscribed resources… */
  readonly anomalies: Record<string, number> = {};
  readonly anomalyExamples: string[] = [];
  /** First byte of a response → its last byte (transfer), and last byte → ACK written (the generator's own cost), µs. */
  readonly transferUs: RecordableHistogram = createHistogram();
  readonly handleUs: RecordableHistogram = createHistogram();

  constructor(typeCount: number) {
    this.responsesByType = new Array(typeCount).fill(0);
  }

  error(message: string): void {
    this.errors++;
    if (this.errorExamples.length < exampleLimit) this.errorExamples.push(message);
  }

  grpcStatus(code: string, message: string): void {
    const key = message ? `${code} ${message}` : code;
    this.grpcStatuses[key] = (this.grpcStatuses[key] ?? 0) + 1;
  }

  closeCode(code: number | undefined): void {
    const key = String(code ?? "none");
    this.closeCodes[key] = (this.closeCodes[key] ?? 0) + 1;
  }

  goaway(code: number): void {
    this.goaways[String(code)] = (this.goaways[String(code)] ?? 0) + 1;
  }

  mismatch(type: string, name: string, expectedSha256: string, receivedSha256: string): void {
    this.mismatches++;
    if (this.mismatchExamples.length < exampleLimit) this.mismatchExamples.push({ type, name, expectedSha256, receivedSha256 });
  }

  encodingDiff(type: string, name: string, expectedSha256: string, receivedSha256: string): void {
    this.encodingDiffs++;
    if (this.encodingDiffExamples.length < 5) this.encodingDiffExamples.push({ type, name, expectedSha256, receivedSha256 });
  }

  anomaly(kind: string, example: string): void {
    this.anomalies[kind] = (this.anomalies[kind] ?? 0) + 1;
    if (this.anomalyExamples.length < exampleLimit) this.anomalyExamples.push(example);
  }

  recordResponse(transferMs: number, handleMs: number): void {
    this.transferUs.record(Math.max(1, Math.round(transferMs * 1000)));
    this.handleUs.record(Math.max(1, Math.round(handleMs * 1000)));
  }

  toJSON(): Record<string, unknown> {
    const h = (x: RecordableHistogram) => (x.count === 0 ? { count: 0 } : { count: x.count, p50Us: x.percentile(50), p99Us: x.percentile(99), maxUs: x.max });
    return {
      bytesReceived: this.bytesReceived,
      responses: this.responses,
      responsesByType: this.responsesByType,
      acks: this.acks,
      requests: this.requests,
      sessionsConnected: this.sessionsConnected,
      disconnects: this.disconnects,
      errors: this.errors,
      errorExamples: this.errorExamples,
      grpcStatuses: this.grpcStatuses,
      closeCodes: this.closeCodes,
      goaways: this.goaways,
      mismatches: this.mismatches,
      mismatchExamples: this.mismatchExamples,
      encodingDiffs: this.encodingDiffs,
      encodingDiffExamples: this.encodingDiffExamples,
      anomalies: this.anomalies,
      anomalyExamples: this.anomalyExamples,
      transfer: h(this.transferUs),
      handle: h(this.handleUs),
    };
  }
}
