// How many streams one connection may open in a burst and per second after it: a token bucket.
//
// Why there is one: nghttp2 (since 1.57, the fix for the HTTP/2 "rapid reset" attack, CVE-2023-44487) counts every
// RST_STREAM a server session receives, 1,000 in a burst and 33 a second after that, and past it ends the whole
// connection with GOAWAY INTERNAL_ERROR — healthy streams on it included, with nothing logged, and node:http2 on
// Node 20 cannot change those numbers. A client that opens streams and cancels them gets there. Every reset needs a
// stream the client opened, so bounding streams opened bounds resets. xDS streams live for as long as the proxy is
// connected, so a connection that opens hundreds of them in a burst is broken or hostile; with this limit below
// nghttp2's, such a client gets GOAWAY with ENHANCE_YOUR_CALM (the HTTP/2 code for exactly this, RFC 9113 §7) and is
// told why, while the streams it already has keep being served (http2-transport.ts).
export class StreamRateLimit {
  #tokens: number;
  #at: number;

  constructor(
    readonly burst: number,
    readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#tokens = burst;
    this.#at = now();
  }

  /** True if one more stream may open now (and counts it). */
  take(): boolean {
    const t = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((t - this.#at) / 1000) * this.perSecond);
    this.#at = t;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
