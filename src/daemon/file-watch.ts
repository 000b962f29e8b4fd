// Watching a config file for changes. Editors and config management tools often replace a file by renaming a new
// one over it, which ends a watch on the file itself; so the directory is watched and events are filtered by
// name. Bursts of events (write, then chmod, then rename) are collapsed into one callback.
//
// A rename onto the file (how editors, config management and `mv` replace it) is a complete new file the moment it
// happens, so it is acted on at once (`renameDebounceMs`, 0: on the next turn of the event loop, after the other
// events of the same burst — a timer's 1 ms minimum and 2 ms of debounce were a tenth of a change's way to the first
// proxy: docs/performance.md); an in-place write may still be under way, so a change waits for `debounceMs` of quiet. Either way the reload compares content hashes, so an extra event costs
// a read, not a parse.
import { existsSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname, resolve } from "node:path";

export interface FileWatch {
  close(): void;
}

export function watchFile(path: string, onChange: () => void, debounceMs = 100, renameDebounceMs = 0): FileWatch {
  const file = resolve(path);
  const name = basename(file);
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const cancel = () => {
    clearTimeout(timer);
    clearImmediate(immediate);
  };
  const fire = (delay: number) => {
    cancel();
    if (delay === 0) immediate = setImmediate(onChange);
    else timer = setTimeout(onChange, delay);
  };
  const watcher: FSWatcher = watch(dirname(file), { persistent: false }, (event, changed) => {
    if (changed !== null && changed.toString() !== name) return;
    // A rename that took the file away (an editor's backup step) is followed by the new file: wait for it.
    fire(event === "rename" && existsSync(file) ? renameDebounceMs : debounceMs);
  });
  // The watched directory can go away or become unreadable; that must not end the process (the file is simply
  // not watched any more, and the last good config keeps being served).
  watcher.on("error", () => watcher.close());
  return {
    close() {
      cancel();
      watcher.close();
    },
  };
}
