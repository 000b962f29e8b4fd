// How the commands describe themselves. Each has a synopsis and a description: `xdsd CMD --help` prints both,
// `xdsd --help` every command's, and a usage error only the error, the command's synopsis and where to read more
// (issue 18, item 14: a wrong flag printed the 40 lines of every command's usage, burying the one line that mattered).

export interface CommandUsage {
  /** `xdsd CMD …` without indentation; continuation lines are indented as they line up under the first. */
  readonly synopsis: string;
  /** What the command does, a few lines without indentation. */
  readonly description: string;
}

/** The synopsis after `prefix` (e.g. `usage: `), its continuation lines shifted to stay aligned under it. */
export function synopsisAfter(prefix: string, usage: CommandUsage): string {
  return usage.synopsis
    .split("\n")
    .map((line, i) => (i === 0 ? prefix : " ".repeat(prefix.length)) + line)
    .join("\n");
}

/** The command's whole usage, as `--help` prints it: the synopsis, then the description indented under it. */
export function fullUsage(usage: CommandUsage): string {
  const description = usage.description
    .split("\n")
    .map((line) => `      ${line}`)
    .join("\n");
  return `${synopsisAfter("  ", usage)}\n${description}`;
}

/** What a usage error prints after the error itself: the command's synopsis, and where its whole usage is. */
export function usageHint(command: string, usage: CommandUsage): string {
  return `${synopsisAfter("usage: ", usage)}\nsee \`xdsd ${command} --help\``;
}
