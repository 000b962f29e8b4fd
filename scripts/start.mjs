#!/usr/bin/env node
// `npm start`: builds what is out of date (build.mjs --if-stale), then runs `xdsd` with this script's arguments in
// this same process. package.json runs it with `exec`, so npm's own child is this process: the SIGTERM or SIGINT
// that stops `npm start` reaches the daemon (which closes its streams and exits 0), and none is left behind on
// its ports. (Without the exec, npm signals the shell, the shell dies and the daemon carries on, orphaned.)
import { buildIfStale } from "./build.mjs";

buildIfStale();
await import("../dist/src/cli/main.js");
