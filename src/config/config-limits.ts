// The limits on what a config document may make xdsd do before it is refused: each one stops an input that would
// otherwise exhaust the daemon's memory or stack (issue 10: a 50 MB file, "billion laughs" aliases, 10,000 levels of
// nesting). A config over a limit is refused with a located error like any other invalid config; the last good one
// keeps being served. docs/limits.md lists them with their flags.
export interface ConfigLimits {
  /** Size of the config file in bytes; checked before the file is read. */
  maxBytes: number;
  /** Levels of nested mappings and sequences. */
  maxDepth: number;
  /** Nodes that aliases (`*name`, `<<: *name`) may add to the document when expanded, in total. */
  maxAliasNodes: number;
  /**
   * Alias uses in the document. The `yaml` library resolves each alias by scanning every anchor and alias before
   * it, so its time grows with the square of this count: 20,000 aliases took 5 s, 5,000 about 0.5 s.
   */
  maxAliases: number;
}

export const defaultConfigLimits: Readonly<ConfigLimits> = Object.freeze({
  maxBytes: 16 * 1024 * 1024,
  // Envoy's own configs nest about 20 levels deep; protobuf's default recursion limit is 100.
  maxDepth: 100,
  maxAliasNodes: 1_000_000,
  maxAliases: 5_000,
});

/** The command-line flag that raises each limit, for error messages and docs. */
export const configLimitFlags: Readonly<Record<keyof ConfigLimits, string>> = Object.freeze({
  maxBytes: "--max-config-bytes",
  maxDepth: "--max-config-depth",
  maxAliasNodes: "--max-config-alias-nodes",
  maxAliases: "--max-config-aliases",
});

/** What a document nested deeper than `maxDepth` is told, the file's and the write API's alike. */
export function tooDeepMessage(maxDepth: number): string {
  return `nesting is deeper than ${maxDepth} levels, the limit (${configLimitFlags.maxDepth} raises it)`;
}
