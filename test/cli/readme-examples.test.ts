// Every shell example of README.md runs as written (issue 18, item 12), in README order, as a user following it
// would: in a directory that is a copy of the clone (symlinks to its files; what the examples write — token,
// envoy.yaml, desired.yaml, xdsd-data/ — stays in that directory), one bash session for the whole walk, so that
// variables and exports carry from one example to the next, on the README's own addresses (127.0.0.1:18000 and
// :18001, Envoy's :10000 and :9901, the demo's upstreams :8081–:8084, as the examples and their outputs name them):
// the test fails, naming the port, if something else holds one.
//
// What the README's source says to the test, in an HTML comment before a ```sh block (invisible on GitHub):
//   <!-- readme-test: skip: WHY -->         not run, for the reason given (the test says which, and why)
//   <!-- readme-test: background: ready when URL answers 200 -->
//                                           keeps running (a server): started in the background, ready when URL
//                                           answers 200, stopped at the end
// Every other ```sh block runs command by command; each must exit 0. A `# → …` comment on a command says what it
// answers, and is checked: for curl, the HTTP status and ETag (`# → 201, ETag: "1"`); for anything else, text its
// output contains (`…` stands for anything). What follows ` — ` in such a comment is an explanation. A curl
// without one must get a 2xx. A bare ``` block right after a ```sh block is what its last command prints, line by
// line, numbers aside (which upstream Envoy picks first varies), npm's `> script` banner aside.
//
// Two things on PATH are the test's own: `curl` is the real one, also writing the response headers to a file the
// test reads (what it prints is unchanged); `envoy` is .tools' Envoy with --disable-hot-restart, like every Envoy
// of the suite (test/support/envoy.ts), so that it shares no shared-memory segment with other runs, nor leaves one.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { get as httpsGet } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { findEnvoyBinary } from "../support/envoy.js";
import { httpGet } from "../support/http.js";
import { repoRoot } from "../support/processes.js";

const root = repoRoot();
const readme = readFileSync(join(root, "README.md"), "utf8");

/** A ```sh block of the README: where it starts, its text, what its marker says, and the output shown after it. */
interface ShellBlock {
  line: number;
  text: string;
  marker?: { kind: "skip" | "background"; detail: string };
  output?: string;
}

function shellBlocks(markdown: string): ShellBlock[] {
  const lines = markdown.split("\n");
  const blocks: ShellBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\S*)\s*$/.exec(lines[i]);
    if (!fence) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i].startsWith("```"); i++) body.push(lines[i]);
    if (fence[1] !== "sh") continue;
    const block: ShellBlock = { line: start + 1, text: body.join("\n") };
    const before =
      lines
        .slice(0, start)
        .reverse()
        .find((l) => l.trim() !== "") ?? "";
    const m = /^<!-- readme-test: (skip|background):\s*(.*?)\s*-->$/.exec(before.trim());
    if (m) block.marker = { kind: m[1] as "skip" | "background", detail: m[2] };
    else assert.doesNotMatch(before, /readme-test/, `README.md:${start}: a readme-test marker this test does not read`);
    if (/^```(text)?\s*$/.test(lines[i + 1] ?? "")) {
      const output: string[] = [];
      for (i += 2; i < lines.length && !lines[i].startsWith("```"); i++) output.push(lines[i]);
      block.output = output.join("\n");
    }
    blocks.push(block);
  }
  return blocks;
}

/** One command of a block: its text as written (continuation lines and here-documents included), and its `# →`. */
interface Command {
  text: string;
  expect?: string;
}

function commandsOf(block: string): Command[] {
  const lines = block.split("\n");
  const commands: Command[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === "" || lines[i].trim().startsWith("#")) continue;
    const first = i;
    const heredoc = /<<-?\s*'?(\w+)'?/.exec(lines[i]);
    if (heredoc) while (i < lines.length - 1 && lines[i].trim() !== heredoc[1]) i++;
    else while (lines[i].endsWith("\\") && i < lines.length - 1) i++;
    const text = lines.slice(first, i + 1).join("\n");
    const comment = /\s#\s*→\s*(.*)$/.exec(heredoc ? lines[first] : lines[i]);
    commands.push({ text, expect: comment?.[1].split(" — ")[0].trim() });
  }
  return commands;
}

/** The ports the README's examples use (as they, their markers and their outputs say): each must be free. */
function portsOf(blocks: ShellBlock[]): number[] {
  const text = blocks.map((b) => `${b.marker?.kind === "skip" ? "" : `${b.marker?.detail ?? ""}\n${b.text}\n${b.output ?? ""}`}`).join("\n");
  return [...new Set([...text.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1])))].sort((a, b) => a - b);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

const work = mkdtempSync(join(tmpdir(), "xdsd-readme-"));
/** The directory the examples run in: the clone, as symlinks, and what the examples write. */
const clone = join(work, "xdsd");
/** The test's own: its curl and envoy (PATH), each command's output and exit status. */
const bin = join(work, "bin");
const runs = join(work, "runs");
const background: ChildProcess[] = [];

/** Stops every process of a background example: each runs in a process group of its own. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // Gone already.
  }
}
process.once("exit", () => {
  for (const child of background) killGroup(child, "SIGKILL");
});

after(async () => {
  for (const child of background) {
    const exited = new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once("exit", resolve)));
    killGroup(child, "SIGTERM");
    const timer = setTimeout(() => killGroup(child, "SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(work, { recursive: true, force: true });
});

function which(command: string): string {
  const found = spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).stdout.trim();
  assert.ok(found, `the README's examples need ${command} on PATH`);
  return found;
}

/** The environment of a user's shell: the test's, less npm's own variables (npm would otherwise act on the repository). */
function userEnvironment(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_") && !k.startsWith("XDSD_")));
  return { ...env, PATH: `${bin}:${process.env.PATH}` };
}

function prepare(): void {
  mkdirSync(clone);
  for (const entry of readdirSync(root)) {
    // What the examples write is theirs to write; everything else is the clone's.
    if ([".git", "xdsd-data", "token", "envoy.yaml", "desired.yaml"].includes(entry)) continue;
    symlinkSync(join(root, entry), join(clone, entry));
  }
  mkdirSync(bin);
  mkdirSync(runs);
  const curl = which("curl");
  writeFileSync(join(bin, "curl"), `#!/bin/sh\nexec ${curl} -D "\${XDSD_README_CURL_HEADERS:-/dev/null}" "$@"\n`);
  writeFileSync(join(bin, "envoy"), `#!/bin/sh\nexec ${findEnvoyBinary()} --disable-hot-restart "$@"\n`);
  for (const f of ["curl", "envoy"]) chmodSync(join(bin, f), 0o755);
}

/** The bash session the examples run in, one command at a time; each one's output and status go to files. */
class Session {
  readonly #shell = spawn("bash", ["--noprofile", "--norc"], { cwd: clone, env: userEnvironment(), stdio: ["pipe", "inherit", "inherit"] });
  #count = 0;

  async run(command: string, timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string; headers: string }> {
    const n = ++this.#count;
    const file = (what: string) => join(runs, `${n}.${what}`);
    // The command reads nothing from the session's stdin (which is this stream of commands); a here-document is its own.
    this.#shell.stdin!.write(
      `export XDSD_README_CURL_HEADERS=${file("headers")}\n{\n${command}\n} >${file("out")} 2>${file("err")} </dev/null\necho $? >${file("rc.tmp")}; mv ${file("rc.tmp")} ${file("rc")}\n`,
    );
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(file("rc"))) {
      if (Date.now() > deadline) assert.fail(`no end within ${timeoutMs} ms of:\n${command}\n${readIf(file("err"))}`);
      if (this.#shell.exitCode !== null) assert.fail(`the shell exited (${this.#shell.exitCode}) running:\n${command}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { code: Number(readFileSync(file("rc"), "utf8")), stdout: readIf(file("out")), stderr: readIf(file("err")), headers: readIf(file("headers")) };
  }

  close(): void {
    this.#shell.stdin!.end("exit\n");
  }
}

function readIf(file: string): string {
  return existsSync(file) ? readFileSync(file, "utf8") : "";
}

/** Starts a background example (a server) in a process group of its own, and waits until `url` answers 200. */
async function startBackground(block: ShellBlock): Promise<void> {
  const url = /https?:\/\/\S+/.exec(block.marker!.detail)?.[0];
  assert.ok(url, `README.md:${block.line}: a background example says which URL answers 200 when it is ready`);
  const log = join(runs, `background-${block.line}.log`);
  const child = spawn("bash", ["--noprofile", "--norc", "-c", block.text], {
    cwd: clone,
    env: userEnvironment(),
    detached: true,
    stdio: ["ignore", openSync(log, "a"), openSync(log, "a")],
  });
  background.push(child);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = await ready(url);
    if (status === 200) return;
    if (child.exitCode !== null || Date.now() > deadline) {
      assert.fail(
        `README.md:${block.line}: ${child.exitCode !== null ? `exited ${child.exitCode}` : "not ready within 60 s"} (${url}):\n${block.text}\n${readIf(log)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The status `url` answers, 0 for none. An https:// URL is the README's own TLS server (its certificate made by the
 * README's openssl commands): readiness does not verify it; the examples that follow do, with --cacert/--admin-ca.
 */
function ready(url: string): Promise<number> {
  if (!url.startsWith("https:"))
    return httpGet(url).then(
      (r) => r.status,
      () => 0,
    );
  return new Promise((resolve) => {
    const req = httpsGet(url, { rejectUnauthorized: false, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
  });
}

/** `actual` is `expected`, line by line, but for numbers (and for npm's `> script` banner before a script's output). */
function assertPrints(actual: string, expected: string, what: string): void {
  const want = expected.trimEnd().split("\n");
  const lines = actual.trimEnd().split("\n");
  const got = lines.slice(lines.findIndex((l) => l.trim() !== "" && !l.startsWith("> ")));
  const pattern = (line: string) => new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\d+/g, "\\d+")}$`);
  assert.ok(got.length === want.length && want.every((line, i) => pattern(line).test(got[i])), `${what} printed:\n${actual}\nnot:\n${expected}`);
}

function check(block: ShellBlock, command: Command, r: { code: number; stdout: string; stderr: string; headers: string }): void {
  const where = `README.md:${block.line}: ${command.text}`;
  assert.equal(r.code, 0, `${where}\nexited ${r.code}:\n${r.stdout}${r.stderr}`);
  if (/^curl\s/.test(command.text)) {
    const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(r.headers)?.[1] ?? 0);
    const expected = command.expect === undefined ? undefined : Number(/^(\d{3})\b/.exec(command.expect)?.[1]);
    if (expected === undefined) assert.ok(status >= 200 && status < 300, `${where}\nanswered ${status}:\n${r.stdout}`);
    else assert.equal(status, expected, `${where}\nanswered ${status}, not ${expected}:\n${r.stdout}`);
    const etag = command.expect === undefined ? undefined : /ETag: ("\d+")/.exec(command.expect)?.[1];
    if (etag !== undefined) assert.equal(/^etag: (.*?)\r?$/im.exec(r.headers)?.[1], etag, `${where}\nheaders:\n${r.headers}`);
  } else if (command.expect !== undefined) {
    const out = `${r.stdout}${r.stderr}`;
    let from = 0;
    for (const part of command.expect.split("…")) {
      const at = out.indexOf(part, from);
      assert.ok(at >= 0, `${where}\nprinted:\n${out}\nnot: ${command.expect}`);
      from = at + part.length;
    }
  }
}

test("every shell example of README.md runs as written, and answers what its comments say", { timeout: 600_000 }, async (t) => {
  const blocks = shellBlocks(readme);
  assert.ok(blocks.length >= 6, `README.md has ${blocks.length} shell examples`);
  const ports = portsOf(blocks);
  assert.ok(ports.includes(18001) && ports.includes(10000), ports.join(", "));
  for (const port of ports) {
    assert.ok(await portFree(port), `port ${port} is in use: the README's examples run on the README's own addresses; stop what holds it`);
  }
  t.diagnostic(`on the README's ports ${ports.join(", ")}`);
  prepare();
  const session = new Session();
  try {
    for (const block of blocks) {
      if (block.marker?.kind === "skip") {
        assert.ok(block.marker.detail.length > 10, `README.md:${block.line}: a skipped example says why`);
        t.diagnostic(`README.md:${block.line} not run: ${block.marker.detail}`);
        continue;
      }
      if (block.marker?.kind === "background") {
        await startBackground(block);
        continue;
      }
      let last = { code: 0, stdout: "", stderr: "", headers: "" };
      for (const command of commandsOf(block.text)) {
        // Installing in the copy of the clone, or running the suite from within itself, is never what a test means.
        assert.doesNotMatch(
          command.text,
          /^npm (install|ci|test)\b/,
          `README.md:${block.line}: ${command.text}: mark the example <!-- readme-test: skip: WHY -->`,
        );
        last = await session.run(command.text);
        check(block, command, last);
      }
      if (block.output !== undefined) assertPrints(last.stdout, block.output, `README.md:${block.line}`);
    }
  } finally {
    session.close();
  }
});

test("README.md's prerequisites name Python with pip, and what the scripts install with it (issue 18, item 21)", () => {
  const prerequisites = /## Quick start\n\n(.*?)\n\n/s.exec(readme)?.[1] ?? "";
  assert.match(prerequisites, /Python 3 with pip/);
  const scripts = readdirSync(join(root, "scripts")).filter((f) => /^install-.*\.mjs$/.test(f));
  const withPip = scripts.filter((f) => readFileSync(join(root, "scripts", f), "utf8").includes("pipInstallTarget("));
  assert.ok(withPip.length >= 2, withPip.join(", "));
  for (const f of withPip) {
    const tool = /^install-(.*)\.mjs$/.exec(f)![1];
    assert.match(prerequisites, new RegExp(tool, "i"), `the prerequisites name ${tool}, which scripts/${f} installs with pip`);
  }
});

test("the README's examples are read as they are meant: commands, here-documents, expectations, markers", () => {
  const blocks = shellBlocks(
    [
      "<!-- readme-test: skip: not here -->",
      "```sh",
      "npm test",
      "```",
      "```sh",
      "cat > f <<'EOF'",
      "a: 1",
      "EOF",
      "curl -X PUT \\",
      "     -d '{}' 127.0.0.1:1/x     # → 201, ETag: \"1\" — why",
      "```",
      "```",
      "out",
      "```",
    ].join("\n"),
  );
  assert.deepEqual(
    blocks.map((b) => [b.line, b.marker?.kind, b.output]),
    [
      [2, "skip", undefined],
      [5, undefined, "out"],
    ],
  );
  assert.deepEqual(commandsOf(blocks[1].text), [
    { text: "cat > f <<'EOF'\na: 1\nEOF", expect: undefined },
    { text: "curl -X PUT \\\n     -d '{}' 127.0.0.1:1/x     # → 201, ETag: \"1\" — why", expect: '201, ETag: "1"' },
  ]);
});
