import type { ExtractedEntity, Extractor, LoomPlugin } from '@loomdb/db';

/** The name the rule-based extractor is registered under. */
export const RULES_EXTRACTOR = 'rules';

/** Capitalised words that start sentences or address people, never names on their own. */
const STOPWORDS = new Set(
  'I A An And As At But By For From He Her His How If In Is It Its Me My No Not Of On Or Our She So That The Their Then There These They This To We What When Where Which Who Why Will With You Your Yes Hi Hello Hey Thanks Thank Please Ok Okay Sure Also Can Could Do Does Did Should Would Let Here Just Maybe Now Today Tomorrow Yesterday Monday Tuesday Wednesday Thursday Friday Saturday Sunday'.split(
    ' ',
  ),
);

interface Rule {
  kind: string;
  pattern: RegExp;
  /** The entity's display name from the match, or null to skip it. */
  name(match: RegExpExecArray): string | null;
  /** The normalised part of the key. */
  normalise(name: string): string;
}

const lower = (s: string) => s.toLowerCase();

/** Applied in order; each rule's matches are blanked out before the next runs, so a URL is never also a name. */
const RULES: Rule[] = [
  {
    kind: 'url',
    pattern: /\bhttps?:\/\/[^\s<>"'`]+/giu,
    name: (m) => m[0].replace(/[.,;:!?)\]}]+$/u, ''),
    normalise: (s) => {
      const url = s.replace(/\/+$/u, '');
      const at = url.indexOf('://') + 3;
      const slash = url.indexOf('/', at);
      return slash < 0 ? lower(url) : lower(url.slice(0, slash)) + url.slice(slash);
    },
  },
  {
    kind: 'email',
    pattern: /\b[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}\b/gu,
    name: (m) => m[0],
    normalise: lower,
  },
  { kind: 'handle', pattern: /(?<![\p{L}\p{N}_@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?/gu, name: (m) => m[0], normalise: lower },
  { kind: 'tag', pattern: /(?<![\p{L}\p{N}_#&])#[\p{L}_][\p{L}\p{N}_-]*/gu, name: (m) => m[0], normalise: lower },
  { kind: 'code', pattern: /`([^`\n]{1,100})`/gu, name: (m) => m[1]!.trim() || null, normalise: (s) => s },
  {
    kind: 'code',
    // snake_case, camelCase, PascalCase with an inner capital, dotted paths and calls.
    pattern: /\b(?:[A-Za-z_$][\w$]*\.)*(?:[a-z][a-z0-9]*(?:_[a-z0-9]+)+|[a-z]+[0-9]*(?:[A-Z][a-z0-9]*)+|[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+|[A-Za-z_$][\w$]*(?=\(\)))(?:\(\))?/gu,
    name: (m) => m[0],
    normalise: (s) => s.replace(/\(\)$/u, ''),
  },
  {
    kind: 'name',
    // One to four capitalised words ("Ada Lovelace", "New York", "Rust").
    pattern: /(?<![\p{L}\p{N}_'’])\p{Lu}[\p{Ll}\p{Lu}'’-]*\p{Ll}[\p{Ll}'’-]*(?:\s+\p{Lu}[\p{Ll}\p{Lu}'’-]*\p{Ll}[\p{Ll}'’-]*){0,3}(?![\p{L}\p{N}_])/gu,
    name: (m) => {
      const words = m[0].split(/\s+/u);
      while (words.length > 0 && STOPWORDS.has(words[0]!)) words.shift();
      return words.length > 0 ? words.join(' ') : null;
    },
    normalise: (s) => lower(s.replace(/[’']s$/u, '')),
  },
];

/**
 * Finds entities by rules, offline and deterministic: URLs, e-mail
 * addresses, @handles, #tags, code identifiers (backticked spans,
 * snake_case, camelCase, dotted calls) and capitalised names (one to four
 * words, without sentence-opening stopwords). Each entity's `key` is
 * `` `${kind}:${normalised name}` `` (lower-cased, except code), and
 * mentions with the same key in one text are merged.
 */
export function extractEntities(text: string): ExtractedEntity[] {
  let rest = text;
  const found = new Map<string, ExtractedEntity>();
  for (const rule of RULES) {
    rule.pattern.lastIndex = 0;
    const blanks: Array<[number, number]> = [];
    for (let m = rule.pattern.exec(rest); m; m = rule.pattern.exec(rest)) {
      blanks.push([m.index, m.index + m[0].length]);
      const name = rule.name(m);
      if (!name) continue;
      const key = `${rule.kind}:${rule.normalise(name)}`;
      if (!found.has(key)) found.set(key, { name, kind: rule.kind, key });
    }
    for (const [from, to] of blanks) rest = rest.slice(0, from) + ' '.repeat(to - from) + rest.slice(to);
  }
  return [...found.values()];
}

/** A new rule-based {@link Extractor} (see {@link extractEntities}). */
export function createRuleExtractor(): Extractor {
  return { extract: extractEntities };
}

/** Registers the rule-based extractor as `rules`, like any plugin; the weaver uses it by default. */
export const ruleExtractorPlugin: LoomPlugin = {
  name: 'loomdb:rule-extractor',
  register: (r) => r.registerExtractor(RULES_EXTRACTOR, createRuleExtractor),
};
