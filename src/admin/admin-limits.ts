// The limits of the admin port's authentication (admin-auth.ts): how many failed authentications one address may
// make before it is slowed down, over what window, and how many addresses are remembered. docs/limits.md lists them
// with the flag that changes them.
import type { LimitFlags } from "../limit-flags.js";
export interface AdminLimits {
  /** Failed authentications (no token where one is needed, or a wrong one) one address may make in a window; then 429. */
  maxAuthFailures: number;
  /** The window failures are counted over, from an address's first failure; a blocked address waits for its end. */
  authFailureWindowMs: number;
  /** Addresses whose failures are remembered; past it the one that failed least recently is forgotten. */
  maxAuthFailureAddresses: number;
}

export const defaultAdminLimits: Readonly<AdminLimits> = Object.freeze({
  // A person mistyping, or a script with a stale token retrying, stays under it; guessing a 16-character token at
  // 10 a minute is hopeless.
  maxAuthFailures: 10,
  authFailureWindowMs: 60_000,
  // About 100 bytes each: a few MB at most, whatever the number of addresses a client sends from.
  maxAuthFailureAddresses: 10_000,
});

/** The `xdsd serve` flag of the limits an operator may change. */
export const adminLimitFlags: LimitFlags<AdminLimits> = {
  maxAuthFailures: "--max-admin-auth-failures",
};
