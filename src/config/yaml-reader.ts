// YAML (and JSON) text → a `yaml` Document with source positions, refusing, with a located issue, what would
// exhaust the process on the way: nesting deeper than the limit (the composer recurses per level; thousands of
// levels overflow the stack and worse), aliases that expand to more than the limit ("billion laughs"), aliases
// with no anchor. The `yaml` library's own alias guard throws an unlocated error, and refuses legitimate files that
// use an anchor a few thousand times, so it is replaced by the count here.
//
// The order matters: the CST parser works with an explicit stack and survives any nesting, so depth is measured
// on its tokens before anything recursive runs; aliases are counted on the composed document before toJS.
import { Composer, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, Parser, type CST, type Document, type Node } from "yaml";
import type { ConfigLimits } from "./config-limits.js";
import { configLimitFlags, tooDeepMessage } from "./config-limits.js";

/** A problem at an offset in the text; the caller turns offsets into lines and columns. */
export interface TextIssue {
  offset: number;
  message: string;
  /** The parser's code for it (yaml's DUPLICATE_KEY, …), when it came from the parser. */
  code?: string;
}

export interface YamlReadResult {
  doc: Document | undefined;
  lines: LineCounter;
  issues: TextIssue[];
  /** The document as plain data, when there are no issues. */
  value?: unknown;
}

export function readYaml(text: string, limits: Pick<ConfigLimits, "maxDepth" | "maxAliasNodes" | "maxAliases">): YamlReadResult {
  const lines = new LineCounter();
  const tokens = [...new Parser(lines.addNewLine).parse(text)];
  const tooDeep = firstTooDeep(tokens, limits.maxDepth);
  if (tooDeep !== undefined) {
    return {
      doc: undefined,
      lines,
      issues: [{ offset: tooDeep, message: tooDeepMessage(limits.maxDepth) }],
    };
  }
  // `merge` lets users share blocks with `<<: *anchor`, as Envoy's own YAML loader allows.
  const composer = new Composer({ merge: true });
  const docs = [...composer.compose(tokens, true, text.length)];
  const doc = docs[0];
  const issues: TextIssue[] = doc.errors.map((e) => ({
    offset: e.pos[0],
    code: e.code,
    // The parser's advice is for programmers calling it; a config author needs a different one.
    message: e.code === "MULTIPLE_DOCS" ? "a config file holds one YAML document; remove the `---` separator" : e.message,
  }));
  if (docs.length > 1) issues.push({ offset: docs[1].range[0], message: "a config file holds one YAML document; remove the `---` separator" });
  if (issues.length === 0) issues.push(...aliasIssues(doc, limits));
  if (issues.length > 0) return { doc, lines, issues };
  try {
    return { doc, lines, issues, value: doc.toJS({ maxAliasCount: -1 }) };
  } catch (err) {
    // A backstop: whatever else the library refuses while building values is a located issue, never an exception.
    return { doc, lines, issues: [{ offset: doc.contents?.range?.[0] ?? 0, message: (err as Error).message }] };
  }
}

/** The offset of the first collection nested deeper than `maxDepth`, walking the CST without recursion. */
function firstTooDeep(tokens: readonly CST.Token[], maxDepth: number): number | undefined {
  const stack: { token: CST.Token; depth: number }[] = tokens.map((token) => ({ token, depth: 0 }));
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!;
    switch (token.type) {
      case "document":
        if (token.value) stack.push({ token: token.value, depth });
        break;
      case "block-map":
      case "block-seq":
      case "flow-collection": {
        if (depth + 1 > maxDepth) return token.offset;
        for (const item of token.items) {
          if (item.key) stack.push({ token: item.key, depth: depth + 1 });
          if (item.value) stack.push({ token: item.value, depth: depth + 1 });
        }
        break;
      }
      default:
        break;
    }
  }
  return undefined;
}

/**
 * Aliases with no anchor, aliases inside the node they name, and aliases that expand to more than `maxAliasNodes`
 * nodes in all. A node's expanded size is memoized, so the count costs one pass however often an anchor is used;
 * anchors come before their aliases (YAML 1.2 §3.2.2.2), so a target is always measured before it is used.
 */
function aliasIssues(doc: Document, { maxAliasNodes, maxAliases }: Pick<ConfigLimits, "maxAliasNodes" | "maxAliases">): TextIssue[] {
  const sizes = new Map<unknown, number>();
  const inProgress = new Set<unknown>();
  // Anchors as met in document order; an alias names the latest one before it. (Alias.resolve without a context
  // walks the whole document per call: aliases × nodes, which a file of a million aliases never finishes.)
  const anchors = new Map<string, unknown>();
  const issues: TextIssue[] = [];
  let expanded = 0;
  let aliases = 0;
  const sizeOf = (node: unknown): number => {
    if (issues.length > 0) return 0;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    let size = 1;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      const offset = node.range?.[0] ?? 0;
      if (++aliases > maxAliases) {
        issues.push({ offset, message: `more than ${maxAliases} aliases, the limit (${configLimitFlags.maxAliases} raises it)` });
        return 0;
      }
      if (!target) {
        issues.push({ offset, message: `alias *${node.source} has no anchor &${node.source} before it` });
        return 0;
      }
      if (inProgress.has(target)) {
        issues.push({ offset, message: `alias *${node.source} is inside the node it names; a config cannot be recursive` });
        return 0;
      }
      size = sizeOf(target);
      expanded += size;
      if (expanded > maxAliasNodes) {
        issues.push({
          offset,
          message: `aliases expand to more than ${maxAliasNodes} nodes in all, the limit (${configLimitFlags.maxAliasNodes} raises it)`,
        });
        return 0;
      }
      // Not memoized: each use of an alias adds its expansion again.
      return size;
    }
    inProgress.add(node);
    const anchor = (node as { anchor?: string } | null)?.anchor;
    if (anchor) anchors.set(anchor, node);
    if (isMap(node) || isSeq(node)) {
      for (const item of node.items) size += sizeOf(item);
    } else if (isPair(node)) {
      size = sizeOf(node.key) + sizeOf(node.value);
      // Only a plain `<<` is a merge key; a quoted "<<" is an ordinary key.
      if (isScalar(node.key) && node.key.value === "<<" && node.key.type === "PLAIN") checkMerge(node.value);
    } else if (!isScalar(node)) {
      size = node === null || node === undefined ? 0 : 1;
    }
    inProgress.delete(node);
    sizes.set(node, size);
    return size;
  };
  /** `<<: *a` (or `<<: [*a, *b]`) merges mappings; anything else makes the library throw an unlocated error. */
  function checkMerge(value: unknown): void {
    const sources = isSeq(value) ? value.items : [value];
    for (const source of sources) {
      const target = isAlias(source) ? anchors.get(source.source) : source;
      if (issues.length === 0 && !isMap(target)) {
        const offset = (source as Node | null)?.range?.[0] ?? 0;
        issues.push({ offset, message: "a merge key `<<` takes an alias of a mapping, or a list of them; this is not one" });
      }
    }
  }
  sizeOf(doc.contents as Node | null);
  return issues;
}
