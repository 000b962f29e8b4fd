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
  /**
   * The unit's text exactly as it is in the document (a slice of it: no copy), with the newline after its last
   * line when there is one. The cache key: the same source always reads as the same value.
   */
  source: string;
  /** How far a sequence item is indented in the document; its text is read with that much taken off every line. */
  indent: number;
}

export interface TopLevelEntry {
  key: string;
  /** A value read as one unit (`key: value…`, a block mapping, an empty value). */
  whole?: YamlUnit;
  /** A block sequence: one unit per item, in order. */
  items?: YamlUnit[];
}

/** What a unit reads as on its own: its source, dedented for a sequence item. */
export function unitText(unit: YamlUnit): string {
  if (unit.indent === 0) return unit.source;
  return unit.source
    .split("\n")
    .map((line) => line.slice(unit.indent))
    .join("\n");
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
  const starts = new Array<number>(lines.length);
  for (let i = 0, at = 0; i < lines.length; i++) {
    starts[i] = at;
    at += lines[i].length + 1;
  }
  /** Lines first..last (inclusive) of the text, and the newline after the last if there is one. */
  const unit = (first: number, last: number, indent: number): YamlUnit => ({
    source: text.slice(starts[first], Math.min(text.length, starts[last] + lines[last].length + 1)),
    indent,
  });
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
    const hasColumn0Item = () => lines.slice(i + 1, end).some((l) => l.startsWith("-"));
    let first = i + 1;
    while (first < end && blankOrComment.test(lines[first])) first++;
    const indent = first < end ? lines[first].length - lines[first].trimStart().length : -1;
    if (!inline && first < end && isItemStart(lines[first], indent)) {
      const items = sequenceItems(lines, first, end, indent, unit);
      if (!items) return undefined;
      entries.push({ key, items });
    } else {
      if (hasColumn0Item()) return undefined;
      entries.push({ key, whole: unit(i, end - 1, 0) });
    }
    i = end;
  }
  return entries;
}

function isItemStart(line: string, indent: number): boolean {
  return line.length > indent && line[indent] === "-" && (line.length === indent + 1 || line[indent + 1] === " ") && line.slice(0, indent).trim() === "";
}

/**
 * The items of the block sequence at `indent` in lines from..to (exclusive); undefined if a line fits neither an
 * item nor its body.
 */
function sequenceItems(
  lines: string[],
  from: number,
  to: number,
  indent: number,
  unit: (first: number, last: number, indent: number) => YamlUnit,
): YamlUnit[] | undefined {
  const items: YamlUnit[] = [];
  /** The current item's first line, and its last line so far. */
  let start = -1;
  let last = -1;
  /** A comment indented no deeper than the items has been seen since the current item's last content line. */
  let afterLowComment = false;
  for (let at = from; at < to; at++) {
    const line = lines[at];
    const lineIndent = line.length - line.trimStart().length;
    if (blankOrComment.test(line)) {
      if (start < 0) continue;
      if (line.trim() !== "" && lineIndent <= indent) afterLowComment = true;
      // A comment no deeper than the items ends the item's content: it cannot be a block scalar's line (those are
      // more indented than the `- `), so it is left out, and so is what follows it up to the next item (blank lines
      // there are no longer a kept block scalar's trailing lines). Blank lines before it stay with the item.
      else if (!afterLowComment) last = at;
      continue;
    }
    if (lineIndent === indent && isItemStart(line, indent)) {
      if (start >= 0) items.push(unit(start, last, indent));
      start = last = at;
      afterLowComment = false;
    } else if (lineIndent > indent && start >= 0 && !afterLowComment) last = at;
    // Content of the item after such a comment (valid YAML in a mapping, an error in a block scalar): the whole
    // text decides.
    else return undefined;
  }
  if (start >= 0) items.push(unit(start, last, indent));
  return items;
}
