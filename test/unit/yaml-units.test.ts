// The fast reader's unit-by-unit read (yaml-units.ts, unlocated-source.ts): whatever text it reads by units, it
// must read as js-yaml reads the whole text — same value, and no value where the whole text does not parse. The
// cut itself must give up on layouts it does not know.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import jsyaml from "js-yaml";
import YAML from "yaml";
import { TranslationCache } from "../../src/config/translation-cache.js";
import { UnlocatedSource } from "../../src/config/unlocated-source.js";
import { topLevelEntries } from "../../src/config/yaml-units.js";

const seed = 20261202;

function whole(text: string): { value: unknown } | undefined {
  try {
    return { value: jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA }) };
  } catch {
    return undefined;
  }
}

/** Reads `text` by units (twice: from scratch, then from the units kept by the first read) and checks both. */
function checkAgainstWhole(text: string): boolean {
  const cache = new TranslationCache();
  const first = UnlocatedSource.read(text, "t.yaml", {}, cache);
  cache.commit();
  const again = UnlocatedSource.read(text, "t.yaml", {}, cache);
  if (!first) {
    assert.equal(again, undefined);
    return false;
  }
  const expected = whole(text);
  assert.ok(expected, `read by units, but js-yaml refuses the whole text:\n${text}`);
  assert.deepEqual(first.value, expected.value, `different value by units:\n${text}`);
  assert.deepEqual(again!.value, expected.value, `different value from kept units:\n${text}`);
  return cache.count("yaml") > 0;
}

test("block scalars, comments, blank lines and column-0 items read as in the whole text", () => {
  const cases = [
    "clusters:\n  - |\n    line1\n\n    line2\n  - b\n",
    "clusters:\n  - |+\n    kept\n\n\n# comment\n  - b\n",
    "clusters:\n  - |-\n    stripped\n\n  - >\n    folded\n    text\n\n    para\n",
    "resources:\n- {a: 1}\n# between\n- {b: 2}\n\n- c: 3\n  d: [1, 2]\n",
    "clusters:\n  - name: a\n    text: |\n      # not a comment\n      x\n  # a comment\n  - name: b\n",
    "clusters:\n  - a\n  - b",
    "clusters:\n  - |\n    no final newline",
    "nodes:\n  g/x:\n    clusters: []\nclusters:\n  - plain scalar\n    continued\n",
    "listeners: []\nclusters:\n  -\n  - - nested\n    - seq\n",
    "a: 1\nb: two words # comment\nc:\nd: |\n  block\n",
  ];
  for (const text of cases) assert.ok(checkAgainstWhole(text), `not read by units:\n${text}`);
});

test("layouts the cut does not know are left to the whole-text reader", () => {
  for (const text of [
    '{"clusters": []}\n',
    "clusters: [\n  {name: a}\n]\n",
    "clusters:\n\t- a\n",
    "clusters: []\nclusters: []\n",
    "__proto__:\n  - a\n",
    'clusters:\n  - "a\n  - b"\n',
    "- a\n- b\n",
    "clusters:\n  - a\n   - b\n",
  ]) {
    const entries = topLevelEntries(text);
    if (entries) {
      // Cut, but then one of its units does not read alone: the whole text decides.
      const cache = new TranslationCache();
      const read = UnlocatedSource.read(text, "t.yaml", {}, cache);
      assert.deepEqual(read?.value, whole(text)?.value, text);
    }
  }
  assert.equal(topLevelEntries('{"clusters": []}\n'), undefined);
  assert.equal(topLevelEntries("clusters: [\n  {name: a}\n]\n"), undefined);
  assert.equal(topLevelEntries("clusters: []\nclusters: []\n"), undefined);
  assert.equal(topLevelEntries("__proto__:\n  - a\n"), undefined);
});

test("a changed item is read again, the others are the same frozen values", () => {
  const cache = new TranslationCache();
  const text = (x: number) => `clusters:\n  - {name: a, port: 1}\n  - {name: b, port: ${x}}\n`;
  const first = UnlocatedSource.read(text(1), "t.yaml", {}, cache)!.value as { clusters: object[] };
  cache.commit();
  const second = UnlocatedSource.read(text(2), "t.yaml", {}, cache)!.value as { clusters: object[] };
  assert.equal(second.clusters[0], first.clusters[0]);
  assert.notEqual(second.clusters[1], first.clusters[1]);
  assert.ok(Object.isFrozen(second.clusters[0]) && Object.isFrozen(second.clusters[1]));
});

// Random documents in the layouts people and tools write (the `yaml` library's output with random indentation,
// line width and scalar styles), with random blank and comment lines inserted: by units or not, never different.
const jsonish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string({ maxLength: 30 }),
    fc.constantFrom("multi\nline\n", "trailing\n\n", "  leading", "# hash", "a: b", "- dash", "line\n\n\nkeep\n", ""),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), tie("value"), { maxKeys: 4 }),
  ),
})).value;

test("property: read by units or not, the value is the whole text's", () => {
  let byUnits = 0;
  fc.assert(
    fc.property(
      fc.dictionary(fc.constantFrom("clusters", "listeners", "resources", "nodes", "other_key"), fc.oneof(fc.array(jsonish, { maxLength: 5 }), jsonish), {
        minKeys: 1,
        maxKeys: 4,
      }),
      fc.record({
        indent: fc.integer({ min: 1, max: 4 }),
        indentSeq: fc.boolean(),
        lineWidth: fc.constantFrom(0, 20, 80),
        blockQuote: fc.constantFrom(true, false, "literal", "folded"),
      }),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom("", "#c", "  #c", "    # c", "   ", "      ")), { maxLength: 4 }),
      fc.boolean(),
      (doc, options, inserts, finalNewline) => {
        let text = YAML.stringify(doc, {
          indent: options.indent,
          indentSeq: options.indentSeq,
          lineWidth: options.lineWidth,
          blockQuote: options.blockQuote as never,
        });
        const lines = text.split("\n");
        for (const [at, line] of inserts) lines.splice(at % (lines.length + 1), 0, line);
        text = lines.join("\n");
        if (!finalNewline) text = text.replace(/\n+$/, "");
        if (checkAgainstWhole(text)) byUnits++;
      },
    ),
    { seed, numRuns: 1500 },
  );
  assert.ok(byUnits > 300, `only ${byUnits} of 1500 documents were read by units: the property would not test the cut`);
});
