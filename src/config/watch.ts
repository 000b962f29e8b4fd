// Watching a config file for changes. Editors and config management tools often replace a file by renaming a new
// one over it, which ends a watch on the file itself; so the directory is watched and events are filtered by
// name. Bursts of events (write, then chmod, then rename) are collapsed into one callback.
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname, resolve } from "node:path";

export interface FileWatch {
  close(): void;
}

export function watchFile(path: string, onChange: () => void, debounceMs = 100): FileWatch {
  const file = resolve(path);
  const name = basename(file);
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  };
  const watcher: FSWatcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
    if (changed === null || changed.toString() === name) fire();
  });
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
