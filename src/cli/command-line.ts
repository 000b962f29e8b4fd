// The one reader of a command's arguments: node's parseArgs, with one difference. An option's value may start with a
// dash — a config version is base64url and one in 64 starts with "-" — so `--version -Abc` means the value "-Abc",
// where parseArgs alone refuses it as ambiguous. A next argument that is itself one of the command's options is
// left alone: `--version -o json` still says that --version lacks its value.
import { type ParseArgsConfig, parseArgs } from "node:util";

export function parseCommandLine<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  // Only `args` differs from T, and the result's type depends on the options, not on the arguments.
  return parseArgs({ ...config, args: joinDashValues(config.args ?? [], config.options ?? {}) }) as ReturnType<typeof parseArgs<T>>;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** `--name -value` → `--name=-value` where --name takes a value and -value is not an option of the command. */
export function joinDashValues(args: readonly string[], options: Options): string[] {
  const takesValue = (arg: string): string | undefined => {
    if (arg.startsWith("--")) return options[arg.slice(2)]?.type === "string" ? arg : undefined;
    if (/^-[^-]$/.test(arg)) {
      const long = Object.entries(options).find(([, o]) => o.short === arg.slice(1));
      return long?.[1].type === "string" ? `--${long[0]}` : undefined;
    }
    return undefined;
  };
  const isOption = (arg: string): boolean =>
    arg.startsWith("--") ? arg.slice(2).split("=")[0]! in options : Object.values(options).some((o) => o.short === arg[1]);
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    const long = takesValue(arg);
    if (long && next?.startsWith("-") && next !== "-" && next !== "--" && !isOption(next)) {
      out.push(`${long}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}
