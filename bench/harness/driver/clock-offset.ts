// The driver stamps update times with its clock, the load generator stamps ACKs with its own. Both are
// timeOrigin + performance.now(), which agree to well under a millisecond on one machine, but the residual is
// measured anyway: the offset from the exchange with the shortest round trip (NTP's rule) of a few GET /now.
import { controlRequest } from "../lib/control-http.js";
import { now } from "../lib/clock.js";

/** loadgen clock − driver clock, in ms, and the round trip it was measured with. */
export async function clockOffset(loadgenPort: number, samples = 15): Promise<{ offsetMs: number; rttMs: number }> {
  let best = { offsetMs: 0, rttMs: Infinity };
  for (let i = 0; i < samples; i++) {
    const sent = now();
    const { now: remote } = await controlRequest<{ now: number }>(loadgenPort, "GET", "/now");
    const received = now();
    const rtt = received - sent;
    if (rtt < best.rttMs) best = { offsetMs: remote - (sent + received) / 2, rttMs: rtt };
  }
  return best;
}
