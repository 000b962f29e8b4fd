// The admin API's authentication (src/admin/admin-auth.ts): the token file's format with located errors, scopes,
// reads off loopback, and failed authentications slowed down per address with a bounded table.
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { test } from "node:test";
import { AdminAuth, AdminTokens, AuthFailureLimiter, parseTokenFile, type Refusal } from "../../src/admin/admin-auth.js";
import { AdminTokenFileError } from "../../src/errors.js";
import { isLoopback } from "../../src/server/transport/listen-address.js";

const writeToken = "write-token-0123456789";
const readToken = "read-token-0123456789a";

function request(authorization?: string, address = "192.0.2.7"): IncomingMessage {
  return { headers: authorization === undefined ? {} : { authorization }, socket: { remoteAddress: address } } as unknown as IncomingMessage;
}

function refused(result: ReturnType<AdminAuth["check"]>, status: number, detail: RegExp): Refusal {
  assert.equal(result.granted, false, JSON.stringify(result));
  const r = result as Refusal;
  assert.equal(r.problem.status, status, r.problem.detail);
  assert.match(r.problem.detail, detail);
  return r;
}

test("a token file: named tokens with scopes, comments and blank lines; one bare token is a write token named default", () => {
  const tokens = parseTokenFile(`# admin tokens\n\ndeploy write ${writeToken}\n  prometheus\tread ${readToken}  \n`, "tokens");
  assert.deepEqual(
    tokens.map((t) => [t.name, t.scope, t.digest.length]),
    [
      ["deploy", "write", 32],
      ["prometheus", "read", 32],
    ],
  );
  assert.deepEqual(
    parseTokenFile(`# the old format\n${writeToken}\n`, "tokens").map((t) => [t.name, t.scope]),
    [["default", "write"]],
  );
});

test("a bad token file: every bad line located file:line, and no token in any message", () => {
  const text = [
    `deploy write ${writeToken}`,
    "deploy read another-token-0123456789",
    "ci admin third-token-0123456789",
    "short write tooshort",
    `copy read ${writeToken}`,
    "bad/name read fourth-token-0123456789",
    "two fields",
    "loneToken-0123456789abc",
  ].join("\n");
  let error: AdminTokenFileError | undefined;
  try {
    parseTokenFile(text, "/etc/xdsd/tokens");
  } catch (err) {
    error = err as AdminTokenFileError;
  }
  assert.ok(error instanceof AdminTokenFileError);
  assert.equal(error.code, "XDSD_ADMIN_TOKENS_INVALID");
  assert.deepEqual(
    error.issues.map((i) => `${i.location.line}: ${i.message}`),
    [
      '2: the name "deploy" is already used on line 1',
      '3: the scope of "ci" is "admin"; expected read or write',
      '4: the token of "short" must be at least 16 characters',
      '5: the token of "copy" is the same as the token on line 1: each token must be its own',
      '6: the name "bad/name" must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit',
      "7: expected NAME SCOPE TOKEN (3 fields separated by spaces), found 2 fields",
      "8: a bare token is only allowed alone in the file; with several tokens, write NAME SCOPE TOKEN on each line",
    ],
  );
  assert.match(error.message, /^\/etc\/xdsd\/tokens:2: /);
  for (const secret of [writeToken, "another-token", "third-token", "tooshort", "fourth-token", "loneToken"])
    assert.ok(!error.message.includes(secret), secret);
  assert.throws(() => parseTokenFile("# nothing\n\n", "t"), /t:1: no token: write one line NAME SCOPE TOKEN/);
  assert.throws(() => parseTokenFile("short\n", "t"), /t:1: the token must be at least 16 characters/);
});

test("scopes: a write token writes and reads, a read token reads and is refused writes (403), an unknown token is 401", () => {
  const auth = new AdminAuth({
    tokens: AdminTokens.of([
      { name: "deploy", scope: "write", token: writeToken },
      { name: "prometheus", scope: "read", token: readToken },
    ]),
    readsNeedToken: true,
  });
  assert.deepEqual(auth.check(request(`Bearer ${writeToken}`), "write"), { granted: true, name: "deploy", scope: "write" });
  assert.deepEqual(auth.check(request(`Bearer ${writeToken}`), "read"), { granted: true, name: "deploy", scope: "write" });
  assert.deepEqual(auth.check(request(`Bearer ${readToken}`), "read"), { granted: true, name: "prometheus", scope: "read" });
  refused(auth.check(request(`Bearer ${readToken}`), "write"), 403, /the token "prometheus" is a read token; writes need a token with the scope write/);
  const unknown = refused(auth.check(request("Bearer not-a-token-at-all-000"), "read"), 401, /not one of --admin-token-file/);
  assert.equal(unknown.headers["www-authenticate"], 'Bearer realm="xdsd"');
  refused(auth.check(request(), "read"), 401, /reads on a non-loopback admin address need Authorization: Bearer/);
  refused(auth.check(request("Basic dXNlcjpwYXNz"), "read"), 401, /need Authorization: Bearer/);
});

test("reads on a loopback address need no token, but a token presented is checked; writes without a token file are 403", () => {
  const open = new AdminAuth({ tokens: AdminTokens.of([{ name: "deploy", scope: "write", token: writeToken }]) });
  assert.deepEqual(open.check(request(), "read"), { granted: true });
  refused(open.check(request("Bearer wrong-token-000000000000"), "read"), 401, /not one of/);
  refused(open.check(request(), "write"), 401, /writes need Authorization: Bearer <a write token/);
  assert.deepEqual(open.check(request(""), "read"), { granted: true }, "an empty Authorization header is none");
  refused(open.check(request("Basic dXNlcjpwYXNz"), "read"), 401, /the Authorization header is not Bearer <token>/);
  const none = new AdminAuth();
  assert.deepEqual(none.check(request(), "read"), { granted: true });
  assert.deepEqual(none.check(request(`Bearer ${writeToken}`), "read"), { granted: true }, "no tokens to check a presented one against");
  refused(none.check(request(`Bearer ${writeToken}`), "write"), 403, /start xdsd with --admin-token-file/);
  refused(new AdminAuth({ readsNeedToken: true }).check(request(), "read"), 403, /reads need a token: start xdsd with --admin-token-file/);
});

test("too many failed authentications from one address: 429 with Retry-After until the window ends, even with a good token; other addresses unaffected", () => {
  let now = 1_000_000;
  const auth = new AdminAuth({
    tokens: AdminTokens.of([{ name: "deploy", scope: "write", token: writeToken }]),
    readsNeedToken: true,
    limits: { maxAuthFailures: 3, authFailureWindowMs: 60_000 },
    now: () => now,
  });
  for (let i = 0; i < 3; i++) refused(auth.check(request(`Bearer guess-${i}-0000000000000000`), "read"), 401, /not one of/);
  now += 1000;
  const blocked = refused(
    auth.check(request(`Bearer ${writeToken}`), "write"),
    429,
    /3 requests from 192\.0\.2\.7 presented no token or a wrong one within 60 s; try again in 59 s/,
  );
  assert.equal(blocked.headers["retry-after"], "59");
  assert.equal(auth.check(request(`Bearer ${writeToken}`, "192.0.2.8"), "write").granted, true);
  now += 59_000;
  assert.equal(auth.check(request(`Bearer ${writeToken}`), "write").granted, true);
});

test("the table of failing addresses is bounded: past its size the address that failed least recently is forgotten", () => {
  let now = 0;
  const limiter = new AuthFailureLimiter({ maxAuthFailures: 2, authFailureWindowMs: 60_000, maxAuthFailureAddresses: 100 }, () => now);
  limiter.fail("10.0.0.1");
  limiter.fail("10.0.0.1");
  assert.ok(limiter.blockedFor("10.0.0.1") > 0);
  for (let i = 0; i < 10_000; i++) limiter.fail(`10.1.${i >> 8}.${i & 255}`);
  assert.equal(limiter.size, 100);
  assert.equal(limiter.blockedFor("10.0.0.1"), 0);
  now += 60_000;
  assert.equal(limiter.blockedFor("10.1.39.15"), 0);
});

test("loopback, as the admin port's open reads and the xDS port's plaintext warning decide it", () => {
  for (const host of ["127.0.0.1", "127.0.0.2", "::1", "localhost", "::ffff:127.0.0.1"]) assert.equal(isLoopback(host), true, host);
  for (const host of ["0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "128.0.0.1"]) assert.equal(isLoopback(host), false, host);
});
