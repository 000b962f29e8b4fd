// What is wrong with a .json config, in JSON's terms. A config is read by the YAML parser whatever its format
// (source.ts), and for JSON that parser's errors are in YAML's words ("Flow map in block collection must be
// sufficiently indented") and point where it gave up, far from the bracket left open. So a .json file is first
// checked as JSON (RFC 8259) — JSON.parse, native and strict — and only when that fails, this scanner finds the
// first error and says it the way a JSON user thinks of it, naming both places: where the scan stopped, and where
// the object, array or string it was in began. It also finds duplicate keys, which JSON.parse allows (the last one
// wins) and the YAML reader refuses, naming where the key first appeared.
//
// The scanner keeps its own stack and allocates nothing per value, so no text can exhaust it; past `maxDepth` it
// stops and leaves the nesting limit to the reader that enforces it (yaml-reader.ts).
import type { TextIssue } from "./yaml-reader.js";

/** A .json file name: such a file must be JSON, not YAML's flow style. */
export function isJsonFile(file: string): boolean {
  return /\.json$/i.test(file);
}

/** The 1-based line and column of `offset` (columns in UTF-16 units, as the YAML reader counts them). */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

interface Open {
  kind: "object" | "array";
  offset: number;
  /** An object's keys so far → where each first appeared. */
  keys?: Map<string, number>;
}

type Expect = "value" | "value-or-close" | "key" | "key-or-close" | "colon" | "comma-or-close" | "end";

/**
 * The duplicate keys and the first syntax error of `text` as JSON, in document order; none for valid JSON without
 * duplicate keys.
 */
export function jsonIssues(text: string, maxDepth = Number.POSITIVE_INFINITY): TextIssue[] {
  const issues: TextIssue[] = [];
  const stack: Open[] = [];
  const at = (offset: number): string => {
    const { line, column } = lineColumn(text, offset);
    return `${line}:${column}`;
  };
  /** `the array that began with "[" at 2:15`: the collection the scan is in. */
  const described = (open: Open): string => `the ${open.kind} that began with "${open.kind === "object" ? "{" : "["}" at ${at(open.offset)}`;
  /** ` (in the array that began …)`, or nothing at the top level. */
  const inside = (): string => {
    const open = stack[stack.length - 1];
    return open ? ` (in ${described(open)})` : "";
  };
  const fail = (offset: number, message: string): TextIssue[] => {
    issues.push({ offset, message: `invalid JSON: ${message}` });
    return issues;
  };

  let expect: Expect = "value";
  /** Where the top-level value ended, for text after it. */
  let topEnd = 0;
  let i = 0;
  const n = text.length;
  for (;;) {
    while (i < n && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
    if (i >= n) {
      if (expect === "end") return issues;
      const open = stack[stack.length - 1];
      if (!open) return fail(i, "the file is empty; expected a JSON object");
      const closer = open.kind === "object" ? "}" : "]";
      return fail(
        i,
        `the file ends inside the ${open.kind} that began with "${open.kind === "object" ? "{" : "["}" at ${at(open.offset)}: it needs a "${closer}"`,
      );
    }
    const c = text[i]!;
    const start = i;

    if (expect === "end") {
      return fail(start, `${found(text, start)} after the top-level value, which ended at ${at(topEnd)}: a JSON file holds one value`);
    }

    if (expect === "colon") {
      if (c === ":") {
        i++;
        expect = "value";
        continue;
      }
      return fail(start, `expected ":" after the key, ${found(text, start)}${inside()}`);
    }

    if (expect === "comma-or-close") {
      const open = stack[stack.length - 1]!;
      const closer = open.kind === "object" ? "}" : "]";
      if (c === ",") {
        i++;
        expect = open.kind === "object" ? "key" : "value";
        continue;
      }
      if (c === closer) {
        i++;
        stack.pop();
        expect = afterValue();
        if (expect === "end") topEnd = i - 1;
        continue;
      }
      const what = open.kind === "object" ? "a value" : "an element";
      const guess =
        c === "}" || c === "]" ? `is a "${closer}" missing?` : c === '"' || c === "{" || c === "[" || /[-0-9tfn]/.test(c) ? 'is a "," missing?' : "";
      return fail(start, `${described(open)} needs "," or "${closer}" after ${what} here, ${found(text, start)}${guess ? `; ${guess}` : ""}`);
    }

    if (expect === "key" || expect === "key-or-close") {
      if (c === "}" && expect === "key-or-close") {
        i++;
        stack.pop();
        expect = afterValue();
        if (expect === "end") topEnd = i - 1;
        continue;
      }
      if (c === '"') {
        const end = stringEnd(text, start);
        if (typeof end !== "number") return fail(end.offset, `${end.message}${inside()}`);
        const key = JSON.parse(text.slice(start, end)) as string;
        const open = stack[stack.length - 1]!;
        const first = open.keys!.get(key);
        if (first === undefined) open.keys!.set(key, start);
        else
          issues.push({
            offset: start,
            message: `invalid JSON: duplicate key ${JSON.stringify(key)}, first at ${at(first)}, in ${described(open)}; JSON readers differ on which one counts: keep one`,
          });
        i = end;
        expect = "colon";
        continue;
      }
      if (c === "}") return fail(start, `a trailing "," before "}": JSON allows none${inside()}`);
      return fail(start, `expected a key in double quotes, ${found(text, start)}${hint(text, start)}${inside()}`);
    }

    // A value.
    if (c === "]" && expect === "value-or-close") {
      i++;
      stack.pop();
      expect = afterValue();
      if (expect === "end") topEnd = i - 1;
      continue;
    }
    if (c === "]" && stack[stack.length - 1]?.kind === "array") {
      return fail(start, `a trailing "," before "]": JSON allows none${inside()}`);
    }
    if (c === "{" || c === "[") {
      if (stack.length >= maxDepth) return issues;
      stack.push(c === "{" ? { kind: "object", offset: start, keys: new Map() } : { kind: "array", offset: start });
      i++;
      expect = c === "{" ? "key-or-close" : "value-or-close";
      continue;
    }
    let end: number | TextIssue;
    if (c === '"') end = stringEnd(text, start);
    else if (c === "-" || (c >= "0" && c <= "9")) end = numberEnd(text, start);
    else {
      const word = /^[A-Za-z_$][\w$]*/.exec(text.slice(start, start + 64))?.[0];
      end = word === "true" || word === "false" || word === "null" ? start + word.length : { offset: start, message: "" };
    }
    if (typeof end !== "number") {
      const context = stack.length === 0 ? "" : inside();
      return fail(end.offset, end.message ? `${end.message}${context}` : `expected a value, ${found(text, start)}${hint(text, start)}${context}`);
    }
    i = end;
    expect = afterValue();
    if (expect === "end") topEnd = i - 1;
  }

  function afterValue(): Expect {
    return stack.length === 0 ? "end" : "comma-or-close";
  }

  /** The offset just past the string starting at `start`, or what is wrong with it. */
  function stringEnd(s: string, start: number): number | TextIssue {
    for (let j = start + 1; j < s.length; j++) {
      const ch = s.charCodeAt(j);
      if (ch === 0x22) return j + 1;
      if (ch === 0x5c) {
        const e = s[j + 1];
        if (e === "u") {
          if (!/^[0-9A-Fa-f]{4}$/.test(s.slice(j + 2, j + 6)))
            return { offset: j, message: `"\\u" takes four hex digits, in the string that began at ${at(start)}` };
          j += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) j++;
        else
          return {
            offset: j,
            message: `"\\${e ?? ""}" is no JSON escape (they are \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX), in the string that began at ${at(start)}`,
          };
      } else if (ch < 0x20) {
        return ch === 0x0a || ch === 0x0d
          ? { offset: j, message: `the string that began at ${at(start)} is not closed on its line (a JSON string cannot hold a line break; write \\n)` }
          : {
              offset: j,
              message: `a control character (U+${ch.toString(16).toUpperCase().padStart(4, "0")}) in the string that began at ${at(start)}; write it as \\u escape`,
            };
      }
    }
    return { offset: s.length, message: `the file ends inside the string that began at ${at(start)}` };
  }

  /** The offset just past the number starting at `start`, or what is wrong with it. */
  function numberEnd(s: string, start: number): number | TextIssue {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(s.slice(start, start + 400));
    const next = m ? s[start + m[0].length] : undefined;
    if (!m || (next !== undefined && /[\w.+-]/.test(next))) {
      const token = /^[-+\w.]+/.exec(s.slice(start, start + 40))?.[0] ?? s[start];
      return {
        offset: start,
        message: `\`${token}\` is not a JSON number (digits with an optional "-", fraction and exponent; no leading zeros, hex or "+")`,
      };
    }
    return start + m[0].length;
  }
}

/** found `}`, found `"endpoints"`, found `True`, found the end of the file. */
function found(text: string, offset: number): string {
  if (offset >= text.length) return "found the end of the file";
  const token = /^(?:"(?:[^"\\\n]|\\.){0,40}"?|\/[/*]|[\w$.+-]+)/.exec(text.slice(offset, offset + 48))?.[0] || text[offset];
  return `found \`${token}\``;
}

/** Advice for what YAML allows and JSON does not. */
function hint(text: string, offset: number): string {
  if (text.startsWith("//", offset) || text.startsWith("/*", offset)) return ": JSON has no comments";
  if (text[offset] === "'") return ": JSON strings take double quotes";
  const word = /^[A-Za-z_$][\w$]*/.exec(text.slice(offset, offset + 64))?.[0];
  if (word && ["true", "false", "null"].includes(word.toLowerCase())) return ": JSON's literals are true, false and null, in lower case";
  if (word) return ": JSON strings, keys included, take double quotes";
  return "";
}
