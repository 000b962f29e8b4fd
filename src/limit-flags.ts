// How an operator changes a limit: each set of limits (config, transport, admin, etcd, load reports) names the
// `xdsd serve` / `xdsd validate` flag of each limit it lets an operator change, in one shape — a map from the
// limit's key to its flag — which the command line, the usage text, the error messages that say what raises a
// limit, and the docs/limits.md test all read.

/** Each changeable limit's flag, `--max-request-bytes`; a limit without one is fixed. */
export type LimitFlags<T> = Readonly<Partial<Record<keyof T, string>>>;

/** Every limit of `defaults` changeable, each by its key in kebab case: `maxRequestBytes` → `--max-request-bytes`. */
export function kebabCaseFlags<T extends object>(defaults: T): Readonly<Record<keyof T, string>> {
  return Object.freeze(
    Object.fromEntries(Object.keys(defaults).map((key) => [key, `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`])) as Record<keyof T, string>,
  );
}

/** The flags with their defaults, for usage text: `--max-request-bytes 4194304, …`. */
export function flagsWithDefaults<T extends object>(defaults: T, flags: LimitFlags<T>): string {
  return (Object.keys(flags) as (keyof T)[]).map((k) => `${flags[k]} ${String(defaults[k])}`).join(", ");
}
