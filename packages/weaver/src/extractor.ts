import type { ExtractedEntity, Extractor, LoomPlugin } from '@loomdb/db';
import nlp from 'compromise';
import winkNLP from 'wink-nlp';
import winkModel from 'wink-eng-lite-web-model';

/**
 * The name the rule-based extractor (the old default, capitalised words as names) is registered under.
 *
 * @example
 * ```ts
 * const weaver = new WeaverController(db, { extractor: RULES_EXTRACTOR });
 * ```
 */
export const RULES_EXTRACTOR = 'rules';

/**
 * The name the NLP extractor, the weaver's default, is registered under.
 *
 * @example
 * ```ts
 * const weaver = new WeaverController(db, { extractor: NLP_EXTRACTOR }); // the default
 * ```
 */
export const NLP_EXTRACTOR = 'nlp';

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
const PRECISE_RULES: Rule[] = [
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
];

/** The old capitalised-words rule, kept for the `rules` extractor only. */
const NAME_RULE: Rule = {
    kind: 'name',
    // One to four capitalised words ("Ada Lovelace", "New York", "Rust").
    pattern: /(?<![\p{L}\p{N}_'’])\p{Lu}[\p{Ll}\p{Lu}'’-]*\p{Ll}[\p{Ll}'’-]*(?:\s+\p{Lu}[\p{Ll}\p{Lu}'’-]*\p{Ll}[\p{Ll}'’-]*){0,3}(?![\p{L}\p{N}_])/gu,
    name: (m) => {
      const words = m[0].split(/\s+/u);
      while (words.length > 0 && STOPWORDS.has(words[0]!)) words.shift();
      return words.length > 0 ? words.join(' ') : null;
    },
    normalise: (s) => lower(s.replace(/[’']s$/u, '')),
};

const RULES: Rule[] = [...PRECISE_RULES, NAME_RULE];

/**
 * Finds entities by rules, offline and deterministic: URLs, e-mail
 * addresses, @handles, #tags, code identifiers (backticked spans,
 * snake_case, camelCase, dotted calls) and capitalised names (one to four
 * words, without sentence-opening stopwords). Each entity's `key` is
 * `` `${kind}:${normalised name}` `` (lower-cased, except code), and
 * mentions with the same key in one text are merged.
 *
 * @example
 * ```ts
 * extractEntities('Ask @grace about #rust at https://example.com');
 * // entities of kinds 'handle' (@grace), 'tag' (#rust) and 'url', keyed by their normalised text
 * ```
 */
export function extractEntities(text: string): ExtractedEntity[] {
  const found = new Map<string, ExtractedEntity>();
  applyRules(RULES, text, found);
  return [...found.values()];
}

/** Runs `rules` in order into `found`; returns `text` with every match blanked out (same length, so offsets hold). */
function applyRules(rules: readonly Rule[], text: string, found: Map<string, ExtractedEntity>): string {
  let rest = text;
  for (const rule of rules) {
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
  return rest;
}

/**
 * A new rule-based {@link Extractor} (see {@link extractEntities}).
 *
 * @example
 * ```ts
 * const extractor = createRuleExtractor();
 * const entities = await extractor.extract('Meeting Alice in Paris');
 * ```
 */
export function createRuleExtractor(): Extractor {
  return { extract: extractEntities };
}

/**
 * Registers the rule-based extractor as `rules`, like any plugin (the weaver's default before the NLP extractor).
 *
 * @example
 * ```ts
 * const db = EmbeddedDB.open('./memory.loomdb', { plugins: [ruleExtractorPlugin] }); // built into the weaver already
 * const extractor = db.extractor('rules');
 * ```
 */
export const ruleExtractorPlugin: LoomPlugin = {
  name: 'loomdb:rule-extractor',
  register: (r) => r.registerExtractor(RULES_EXTRACTOR, createRuleExtractor),
};

/**
 * The kinds the NLP extractor gives proper names (all share the key prefix `name:`).
 *
 * @example
 * ```ts
 * const kinds: NameKind[] = ['person', 'place', 'organization', 'name'];
 * ```
 */
export type NameKind = 'person' | 'place' | 'organization' | 'name';

/** The key prefix of every proper name, whatever kind was guessed for it. */
const NAME_KEY = 'name';

type WinkNlp = ReturnType<typeof winkNLP>;
let wink: WinkNlp | undefined;
/** wink-nlp with its English model, loaded on first use (importing this module does no work). */
const winkNlp = (): WinkNlp => (wink ??= winkNLP(winkModel));

/** A small bounded memo (insertion order; the oldest half goes when full). */
function memo<T>(limit: number, compute: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const value = compute(key);
    if (cache.size >= limit) {
      let drop = limit >> 1;
      for (const k of cache.keys()) {
        if (drop-- <= 0) break;
        cache.delete(k);
      }
    }
    cache.set(key, value);
    return value;
  };
}

/** compromise's tags for `text` from its lexicon and pre-tagger (no post-tagger: cheap, and enough for words and short names). */
function compromiseTags(text: string): Set<string>[] {
  const doc = nlp.tokenize(text);
  doc.compute(['lexicon', 'preTagger']);
  return doc.json().flatMap((s: { terms: Array<{ tags: string[] }> }) => s.terms.map((t) => new Set(t.tags)));
}

/** compromise's tags of a word (lower-cased, on its own), memoised. */
const wordTags = memo(20_000, (word: string): Set<string> => compromiseTags(word.toLowerCase())[0] ?? new Set());

/** Tags of words that never begin a multi-word name ("Thanks Sarah", "Hi Maria", "Visit Rome"), unlike "New", "South", "Lake". */
const NOT_NAME_START = ['Expression', 'Verb', 'Plural', 'Adverb', 'Preposition', 'Conjunction', 'Determiner', 'Pronoun', 'QuestionWord'];

/**
 * Whether the capitalised word that opens a sentence begins a name
 * ("Sarah", "Lisbon", "Dr.", "New York", "Real Madrid") rather than being
 * an ordinary word capitalised by position ("Happy", "Flights", "Noted",
 * "Thanks Sarah"): compromise's lexicon and suffix rules tag the
 * lower-cased word, then the whole run (its lexicon has "new york").
 */
function opensName(word: string, run: string, words: number): boolean {
  const tags = wordTags(word);
  if (tags.has('ProperNoun')) return true;
  if (words === 1) return false;
  if (runTags(run)) return true;
  return !NOT_NAME_START.some((t) => tags.has(t));
}

/** Whether compromise's lexicon knows the lower-cased run as a name ("new york", "real madrid"). */
const runTags = memo(20_000, (run: string): boolean => compromiseTags(run.toLowerCase())[0]?.has('ProperNoun') === true);

/** The kind of a proper name, from compromise's tags of its words (organization, then place, then person; else `name`). */
const kindOfName = memo(20_000, (name: string): NameKind => {
  const tags = compromiseTags(name);
  const any = (tag: string) => tags.some((t) => t.has(tag));
  if (tags[0]?.has('Honorific')) return 'person';
  if (any('Organization')) return 'organization';
  if (any('Place')) return 'place';
  if (any('Person')) return 'person';
  return 'name';
});

/** The normalised name in a key: lower-cased, without a trailing possessive, full stops ("Dr. Patel" = "Dr Patel") or extra spaces. */
const normaliseName = (name: string) =>
  name
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[’']s$/u, '')
    .replace(/\./gu, '')
    .replace(/\s+/gu, ' ')
    .trim();

/** Words that may join two proper-noun runs into one name ("University of Michigan", "Bank of America"). */
const JOINERS = new Set(['of', 'de', 'del', 'da', 'van', 'von']);

/**
 * Proper names in `text` (which has its precise matches blanked out):
 * runs of tokens wink-nlp tags `PROPN`, outside its date, time and number
 * entities, joined across "of" ("Bank of America"); a run's sentence-opening
 * word is dropped unless it begins a name (see {@link opensName}).
 */
function properNames(text: string): Array<{ name: string; kind: NameKind }> {
  const w = winkNlp();
  const its = w.its;
  const doc = w.readDoc(text);
  const tokens = doc.tokens();
  const values = tokens.out() as string[];
  const pos = tokens.out(its.pos) as string[];
  const contraction = tokens.out(its.contractionFlag) as unknown as boolean[];
  const spaced = (tokens.out(its.precedingSpaces) as string[]).map((x) => x.length > 0);
  const starts: number[] = [];
  let cursor = 0;
  for (const v of values) {
    const at = text.indexOf(v, cursor);
    starts.push(at < 0 ? cursor : at);
    cursor = at < 0 ? cursor : at + v.length;
  }
  const excluded = new Uint8Array(values.length);
  for (const [from, to] of doc.entities().out(its.span) as unknown as Array<[number, number]>) excluded.fill(1, from, to + 1);
  const opening = new Uint8Array(values.length);
  for (const [from, to] of doc.sentences().out(its.span) as unknown as Array<[number, number]>) {
    let i = from;
    while (i <= to && pos[i] === 'PUNCT') i++;
    if (i <= to) opening[i] = 1;
  }
  // "I'm" can come out as one PROPN token; names never end in a contraction ("O'Brien" does not).
  const isName = (i: number) => pos[i] === 'PROPN' && !excluded[i] && !contraction[i] && /\p{L}/u.test(values[i]!) && !/['’](?:m|re|ll|ve|d|t)$/iu.test(values[i]!);
  // "Bre-X", "Jean-Luc": wink splits at the hyphen.
  const hyphen = (i: number) => values[i] === '-' && !spaced[i] && !spaced[i + 1];
  const out: Array<{ name: string; kind: NameKind }> = [];
  for (let i = 0; i < values.length; i++) {
    if (!isName(i)) continue;
    let from = i;
    let to = i;
    for (;;) {
      if (isName(to + 1)) to++;
      else if ((JOINERS.has(values[to + 1]!) || hyphen(to + 1)) && isName(to + 2)) to += 2;
      else break;
    }
    i = to;
    // An honorific starts a name: "Dear Mr. Chen" is "Mr. Chen".
    for (let h = to; h > from; h--) {
      if (wordTags(values[h]!).has('Honorific')) {
        from = h;
        break;
      }
    }
    const run = () => text.slice(starts[from], (starts[to] as number) + values[to]!.length);
    if (opening[from] && !opensName(values[from]!, run(), to - from + 1)) from++;
    while (from <= to && !isName(from)) from++;
    if (from > to) continue;
    const name = run();
    out.push({ name, kind: kindOfName(name) });
  }
  return out;
}

/**
 * Finds entities with field NLP libraries, offline and deterministic. The
 * precise rules of {@link extractEntities} come first (URLs, e-mail
 * addresses, @handles, #tags, code identifiers), then proper names:
 * wink-nlp's part-of-speech tagger finds them (multi-word names stay whole:
 * "Dr. Patel", "New York", "Bank of America"), its date and number
 * entities are not names, and a capitalised word that only opens a
 * sentence ("Happy birthday", "Flights to Lisbon") is kept only when
 * compromise's lexicon knows it as a name. compromise also guesses each
 * name's kind: `person`, `place`, `organization`, or `name` when it cannot
 * tell.
 *
 * Keys: precise entities keep `` `${kind}:${normalised}` `` (as the rules
 * extractor). A proper name's key is `` `name:${normalised}` `` whatever kind
 * was guessed, because kind guesses vary with context ("Jordan" the person
 * or the country, "Delta" the airline or the river) and one real entity
 * should be one node: the kind is a property of that node (the first guess),
 * not part of its identity. This is also the key the rules extractor gave
 * capitalised names, so memories woven with it join up. The normalised name
 * is lower-cased, without a trailing possessive, full stops or extra
 * spaces. Mentions with the same key in one text are merged.
 *
 * @example
 * ```ts
 * extractEntitiesNlp('Maria flew from Lisbon to visit Google');
 * // e.g. Maria (person), Lisbon (place), Google (organization), each keyed name:<normalised name>
 * ```
 */
export function extractEntitiesNlp(text: string): ExtractedEntity[] {
  const found = new Map<string, ExtractedEntity>();
  const rest = applyRules(PRECISE_RULES, text, found);
  if (/\p{L}/u.test(rest)) {
    for (const { name, kind } of properNames(rest)) {
      const key = `${NAME_KEY}:${normaliseName(name)}`;
      if (!found.has(key)) found.set(key, { name, kind, key });
    }
  }
  return [...found.values()];
}

/**
 * A new NLP {@link Extractor} (see {@link extractEntitiesNlp}).
 *
 * @example
 * ```ts
 * const extractor = createNlpExtractor();
 * const entities = await extractor.extract('Grace Hopper worked at Harvard');
 * ```
 */
export function createNlpExtractor(): Extractor {
  return { extract: extractEntitiesNlp };
}

/**
 * Registers the NLP extractor as `nlp`, like any plugin; the weaver uses it by default.
 *
 * @example
 * ```ts
 * const db = EmbeddedDB.open('./memory.loomdb', { plugins: [nlpExtractorPlugin] });
 * const extractor = db.extractor('nlp');
 * ```
 */
export const nlpExtractorPlugin: LoomPlugin = {
  name: 'loomdb:nlp-extractor',
  register: (r) => r.registerExtractor(NLP_EXTRACTOR, createNlpExtractor),
};
