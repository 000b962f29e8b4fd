// The child of the crash tests (crash.ts): writes to the store in a loop and, after each write is acknowledged
// (its promise resolved), says so on stdout with a synchronous write — so every "ack" line the parent reads is a
// write the store promised to keep. It never stops by itself: the parent kills it with SIGKILL.
//   node crash-writer.js STORE-URL FIRST [ETCD-PREFIX]
import { writeSync } from "node:fs";
import { openStore } from "../../src/store/open-store.js";

const [url, firstArg, prefix] = process.argv.slice(2);
const store = await openStore(url, prefix === undefined ? {} : { etcdPrefix: prefix });
let i = Number(firstArg);
for (;;) {
  // One put and one two-object transaction in turn: both kinds of write must survive.
  if (i % 2 === 0) await store.put("endpoint", `c/10.0.0.1:${i}`, { i });
  else
    await store.transaction([
      { op: "put", kind: "endpoint", name: `c/10.0.0.1:${i}`, value: { i } },
      { op: "put", kind: "cluster", name: `c${i}`, value: { i } },
    ]);
  writeSync(1, `ack ${i}\n`);
  i++;
}
