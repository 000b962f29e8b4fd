// The config text cut into units that can be read on their own: each top-level key (`clusters:`, `resources:`,
// `nodes:` …) and, when its value is a block sequence, each item of it. A reload then reads only the units whose
// text changed since the last good load and takes the others' values from the cache: one cluster edited in a 2 MB
// file is one item read, not 2 MB.
//
// The cut is purely lexical and deliberately narrow: it accepts only the layout a person or a tool writes for a
// config (top-level keys at column 0, items introduced by `- ` at one indentation per sequence, anything more
// indented belonging to the item above) and gives up, returning undefined, on anything else — a JSON document, a
// flow collection at the top, a tab, a line that fits no rule. Giving up is always safe: the caller then reads
// the whole text as before. Why reading a unit alone gives the value it has inside the document, in this layout:
// - a block sequence item's content is everything more indented than its `- ` up to the next `- ` at the same
//   indentation or the next line indented less (YAML 1.2, 8.2.1), which is exactly the unit;
// - full-line comments and blank lines carry no content, wherever they are;
// - the text has no anchors, aliases, tags or directives (the fast reader's `positionedOnly` screen, which the
//   caller applies to each unit it reads), so no unit refers to another;
// - duplicate top-level keys are refused here, as the whole-text reader refuses them.
export interface YamlUnit {
  /** The unit's text, dedented for a sequence item (it is the cache key, and what is read). */
  text: string;
}

export interface TopLevelEntry {
  key: string;
  /** A value read as one unit (`key: value…`, a block mapping, an empty value). */
  whole?: YamlUnit;
  /** A block sequence: one unit per item, in order. */
  items?: YamlUnit[];
}

const keyLine = /^([A-Za-z_][A-Za-z0-9_-]*)[ ]*:(?:[ ]+(#.*)?|)$/; // `key:` with nothing (or a comment) after
const keyWithValue = /^([A-Za-z_][A-Za-z0-9_-]*)[ ]*:[ ]+[^#\s]/; // `key: value`
const blankOrComment = /^[ ]*(?:#.*)?$/;

/** The text's top-level entries, or undefined when its layout is not the simple one described above. */
export function topLevelEntries(text: string): TopLevelEntry[] | undefined {
  if (text.includes("\t") || text.includes("\r")) return undefined;
  // Every line of the text ends with a newline except perhaps the last; each unit keeps that, since a block scalar
  // at the end of a unit reads differently with and without its final line break.
  const finalNewline = text.endsWith("\n");
  const lines = (finalNewline ? text.slice(0, -1) : text).split("\n");
  // A last line of spaces with no newline after it still counts as a line in a kept block scalar; dedented to
  // nothing it would not. Rare enough to leave to the whole-text reader.
  if (!finalNewline && /^ +$/.test(lines[lines.length - 1])) return undefined;
  const close = (unitLines: string[], last: boolean) => unitLines.join("\n") + (last && !finalNewline ? "" : "\n");
  const entries: TopLevelEntry[] = [];
  const seen = new Set<string>();
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (blankOrComment.test(line)) {
      i++;
      continue;
    }
    const bare = keyLine.exec(line);
    const inline = bare ? undefined : keyWithValue.exec(line);
    const key = bare?.[1] ?? inline?.[1];
    if (key === undefined || key === "__proto__" || seen.has(key)) return undefined;
    seen.add(key);
    // The entry's body: every following line that is indented, blank, a comment, or a column-0 sequence item.
    let end = i + 1;
    while (end < lines.length && (lines[end].startsWith(" ") || lines[end].startsWith("-") || blankOrComment.test(lines[end]))) end++;
    const body = lines.slice(i + 1, end);
    if (inline) {
      if (body.some((l) => l.startsWith("-"))) return undefined;
      entries.push({ key, whole: { text: close(lines.slice(i, end), end === lines.length) } });
    } else {
      const first = body.find((l) => !blankOrComment.test(l));
      const indent = first === undefined ? -1 : first.length - first.trimStart().length;
      if (first !== undefined && isItemStart(first, indent)) {
        const items = sequenceItems(body, indent, (unitLines, last) => close(unitLines, last && end === lines.length));
        if (!items) return undefined;
        entries.push({ key, items });
      } else {
        if (body.some((l) => l.startsWith("-"))) return undefined;
        entries.push({ key, whole: { text: close(lines.slice(i, end), end === lines.length) } });
      }
    }
    i = end;
  }
  return entries;
}

function isItemStart(line: string, indent: number): boolean {
  return line.length > indent && line[indent] === "-" && (line.length === indent + 1 || line[indent + 1] === " ") && line.slice(0, indent).trim() === "";
}

/** A block sequence's items at `indent`, each dedented by it; undefined if a line fits neither an item nor its body. */
function sequenceItems(body: string[], indent: number, close: (lines: string[], last: boolean) => string): YamlUnit[] | undefined {
  const items: YamlUnit[] = [];
  let current: string[] | undefined;
  /** A comment indented no deeper than the items has been seen since the current item's last content line. */
  let afterLowComment = false;
  /** Whether the current item's last line is the body's last line (then it ends the text, newline or not). */
  let endsBody = false;
  for (const [at, line] of body.entries()) {
    const push = (l: string) => {
      current!.push(l);
      endsBody = at === body.length - 1;
    };
    const lineIndent = line.length - line.trimStart().length;
    if (blankOrComment.test(line)) {
      if (!current) continue;
      if (line.trim() !== "" && lineIndent <= indent) afterLowComment = true;
      // A comment no deeper than the items ends the item's content: it cannot be a block scalar's line (those are
      // more indented than the `- `), so it is dropped, and so is what follows it up to the next item (blank lines
      // there are no longer a kept block scalar's trailing lines). Blank lines before it stay with the item.
      else if (!afterLowComment) push(line.slice(indent));
      continue;
    }
    if (lineIndent === indent && isItemStart(line, indent)) {
      if (current) items.push({ text: close(current, false) });
      current = [];
      push(line.slice(indent));
      afterLowComment = false;
    } else if (lineIndent > indent && current && !afterLowComment) push(line.slice(indent));
    // Content of the item after such a comment (valid YAML in a mapping, an error in a block scalar): the whole
    // text decides.
    else return undefined;
  }
  if (current) items.push({ text: close(current, endsBody) });
  return items;
}
