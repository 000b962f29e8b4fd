// What a bare node:http2 server gives back to the OS after many sessions close — no xDS, no xdsd code. It is the
// reference for scenario D's "memory returns to its baseline" figure: whatever this process keeps, every Node
// server keeps.
//
//   node --expose-gc dist/bench/node-http2-memory.js [--sessions 5000] [--wait-s 20] [--malloc-trim]
//
// The server (this process) accepts --sessions HTTP/2 connections from a child process, one stream each, and
// writes 200 kB on each; the child then closes them all. Figures are taken at the baseline, with all sessions
// open, --wait-s seconds after the last closed, after forced full GCs (needs --expose-gc) and, with
// --malloc-trim, after glibc's malloc_trim(0) called in this process through gdb (a diagnosis, not something a
// server can do from JavaScript).
import http2 from "node:http2";
import { fork, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    sessions: { type: "string", default: "5000" },
    "wait-s": { type: "string", default: "20" },
    "malloc-trim": { type: "boolean", default: false },
    client: { type: "string" }, // internal: run as the client, connecting to this port
  },
});
const sessions = Number(values.sessions);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (values.client) await runClient(Number(values.client));
else await runServer();

async function runClient(port: number): Promise<void> {
  const open: http2.ClientHttp2Session[] = [];
  let answered = 0;
  const allAnswered = new Promise<void>((resolve) => {
    for (let i = 0; i < sessions; i++) {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      session.on("error", () => {});
      const stream = session.request({ ":method": "POST", ":path": "/" });
      stream.on("error", () => {});
      stream.once("data", () => {
        if (++answered === sessions) resolve();
      });
      stream.on("data", () => {});
      stream.write(Buffer.alloc(100));
      open.push(session);
    }
  });
  await allAnswered;
  process.send!("open");
  await new Promise((resolve) => process.once("message", resolve));
  for (const s of open) s.destroy();
  process.send!("closed");
}

async function runServer(): Promise<void> {
  const body = Buffer.alloc(200_000, 1);
  let live = 0;
  const server = http2.createServer({ maxSessionMemory: 256 });
  server.on("session", (s) => s.on("error", () => {}));
  server.on("stream", (stream) => {
    live++;
    stream.on("error", () => {});
    stream.on("close", () => live--);
    stream.on("data", () => {});
    stream.respond({ ":status": 200 });
    stream.write(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const rows: [string, Figures][] = [];
  await sleep(1000);
  rows.push(["baseline", figures()]);

  const child = fork(fileURLToPath(import.meta.url), ["--sessions", String(sessions), "--client", String(port)]);
  await new Promise((resolve) => child.once("message", resolve));
  await sleep(1000);
  rows.push([`${sessions} sessions open`, figures()]);
  child.send("close");
  await new Promise((resolve) => child.once("message", resolve));
  const deadline = Date.now() + 30_000;
  while (live > 0 && Date.now() < deadline) await sleep(100);
  await sleep(Number(values["wait-s"]) * 1000);
  rows.push([`${values["wait-s"]} s after all closed`, figures()]);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    // Several passes, as the benchmark servers' POST /gc does: each frees native objects whose JS side the
    // previous one collected.
    for (let pass = 0; pass < 5; pass++) {
      gc();
      await sleep(50);
    }
    await sleep(1000);
    rows.push(["after forced full GCs", figures()]);
  }
  if (values["malloc-trim"]) {
    const r = spawnSync("gdb", ["-p", String(process.pid), "-batch", "-ex", "call (int)malloc_trim(0)"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`gdb failed: ${r.stderr || r.error}`);
    rows.push(["after malloc_trim(0) (gdb)", figures()]);
  }
  child.kill();
  server.close();

  const mb = (n: number) => (n / 1048576).toFixed(1);
  console.log(`node ${process.version}, ${sessions} sessions, one stream and 200 kB written each\n`);
  console.log("| moment | RSS (MB) | RSS ÷ baseline | V8 heap used (MB) | V8 heap committed (MB) | malloc heap resident (MB) |");
  console.log("|---|---:|---:|---:|---:|---:|");
  const base = rows[0][1].rss;
  for (const [moment, f] of rows)
    console.log(`| ${moment} | ${mb(f.rss)} | ${(f.rss / base).toFixed(2)} | ${mb(f.heapUsed)} | ${mb(f.heapTotal)} | ${mb(f.brkHeapRss)} |`);
  process.exit(0);
}

interface Figures {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  /** Resident size of the [heap] mapping: glibc's main arena, where native objects (nghttp2, libuv) live. */
  brkHeapRss: number;
}

function figures(): Figures {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, brkHeapRss: brkHeapRss() };
}

function brkHeapRss(): number {
  const smaps = readFileSync("/proc/self/smaps", "utf8");
  const at = smaps.indexOf(" [heap]\n");
  if (at < 0) return 0;
  const rss = /\nRss:\s+(\d+) kB/.exec(smaps.slice(at));
  return rss ? Number(rss[1]) * 1024 : 0;
}
