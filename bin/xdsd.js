#!/usr/bin/env node
// The installed command. The TypeScript build writes dist/: a published package ships it; in a clone of the
// repository, `npm install` builds it (the prepare script), and so does `npm start`.
import { existsSync } from "node:fs";

const main = new URL("../dist/src/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write("xdsd: dist/ is not built: run `npm run build` in the repository first (npm install and npm start do it)\n");
  process.exitCode = 1;
} else {
  await import(main.href);
}
