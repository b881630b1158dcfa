import { describe, expect, it } from 'vitest';
import { EmbeddedDB } from '@loomdb/db';
import { extractEntities, extractEntitiesNlp, nlpExtractorPlugin, NLP_EXTRACTOR, ruleExtractorPlugin, RULES_EXTRACTOR } from '@loomdb/weaver';

const keys = (text: string) => extractEntitiesNlp(text).map((e) => e.key);
const names = (text: string) => extractEntitiesNlp(text).map((e) => e.name);

/** A text with one of each precise kind and a name; both extractors find the same precise entities in it. */
const SAMPLE =
  'Yesterday Ada Lovelace told @Grace_H about #Rust and https://Example.com/Docs/ (mail ada@Example.org); see `open_env` and insertNodesBatch() in WeaverController.';
const PRECISE = [
  { name: 'https://Example.com/Docs/', kind: 'url', key: 'url:https://example.com/Docs' },
  { name: 'ada@Example.org', kind: 'email', key: 'email:ada@example.org' },
  { name: '@Grace_H', kind: 'handle', key: 'handle:@grace_h' },
  { name: '#Rust', kind: 'tag', key: 'tag:#rust' },
  { name: 'open_env', kind: 'code', key: 'code:open_env' },
  { name: 'insertNodesBatch()', kind: 'code', key: 'code:insertNodesBatch' },
  { name: 'WeaverController', kind: 'code', key: 'code:WeaverController' },
];

describe('the NLP extractor (the default)', () => {
  it('finds handles, tags, URLs, e-mails and code identifiers by the precise rules, and names whole with a kind', () => {
    expect(extractEntitiesNlp(SAMPLE)).toEqual([
      ...PRECISE,
      { name: 'Ada Lovelace', kind: 'person', key: 'name:ada lovelace' },
    ]);
  });

  it.each([
    'Happy birthday to you!',
    'About the trip: should we fly on Monday?',
    'Noted, thanks.',
    'Great, that works.',
    'Second, the budget needs sign-off.',
    'Beagles are great dogs.',
    'Working from home today.',
    'Often the simplest fix is right.',
  ])('does not take sentence-opening words for names: %s', (text) => {
    expect(extractEntitiesNlp(text)).toEqual([]);
  });

  it('keeps the names in sentences that open with ordinary words', () => {
    expect(names('Flights to Lisbon are cheap in May.')).toEqual(['Lisbon']);
    expect(names('Congratulations on the new job at Google!')).toEqual(['Google']);
    expect(extractEntitiesNlp('Congratulations on the new job at Google!')[0]).toMatchObject({ kind: 'organization', key: 'name:google' });
    expect(names('Thanks Sarah, see you in Rome.')).toEqual(['Sarah', 'Rome']);
  });

  it('keeps multi-word names and titles whole', () => {
    expect(extractEntitiesNlp('I saw Dr. Patel yesterday.')).toEqual([{ name: 'Dr. Patel', kind: 'person', key: 'name:dr patel' }]);
    expect(extractEntitiesNlp('My mom wants to visit New York.')).toEqual([{ name: 'New York', kind: 'place', key: 'name:new york' }]);
    expect(names('New York is lovely in the fall.')).toEqual(['New York']);
    expect(names('Dear Mr. Chen, thank you.')).toEqual(['Mr. Chen']);
    expect(names('Sam got into the University of Michigan!')).toEqual(['Sam', 'University of Michigan']);
  });

  it('gives one entity one key whatever kind is guessed, and merges mentions by key', () => {
    expect(keys('Dr. Patel met Dr Patel. New York and NEW YORK and New York, #rust #RUST @Bob @bob')).toEqual([
      'handle:@bob',
      'tag:#rust',
      'name:dr patel',
      'name:new york',
    ]);
    // The rules extractor gave capitalised names the same keys, so memories woven with either join up.
    expect(keys("Ada Lovelace's notes")).toEqual(extractEntities("Ada Lovelace's notes").map((e) => e.key));
    expect(keys('no entities here, only 42 and #1')).toEqual([]);
    expect(keys('')).toEqual([]);
    expect(keys("I'm sure I'll manage on Friday.")).toEqual([]);
  });

  it('registers as the `nlp` extractor like any plugin', async () => {
    const db = EmbeddedDB.open(undefined, { storage: 'memory', plugins: [nlpExtractorPlugin] });
    expect(await db.extractor(NLP_EXTRACTOR).extract('Hi @ada, ask Grace Hopper')).toEqual([
      { name: '@ada', kind: 'handle', key: 'handle:@ada' },
      { name: 'Grace Hopper', kind: 'person', key: 'name:grace hopper' },
    ]);
    db.close();
  });
});

describe('the rule-based extractor (kept as `rules`)', () => {
  it('finds names, handles, tags, URLs, e-mails and code identifiers', () => {
    expect(extractEntities(SAMPLE)).toEqual([
      ...PRECISE,
      { name: 'Ada Lovelace', kind: 'name', key: 'name:ada lovelace' },
    ]);
  });

  it('merges mentions by key and skips sentence-opening stopwords', () => {
    expect(extractEntities('The weather. Hello. New York and NEW YORK and New York, #rust #RUST @Bob @bob').map((e) => e.key)).toEqual([
      'handle:@bob',
      'tag:#rust',
      'name:new york',
    ]);
  });

  it('registers as the `rules` extractor like any plugin', async () => {
    const db = EmbeddedDB.open(undefined, { storage: 'memory', plugins: [ruleExtractorPlugin] });
    expect(await db.extractor(RULES_EXTRACTOR).extract('Hi @ada')).toEqual([{ name: '@ada', kind: 'handle', key: 'handle:@ada' }]);
    db.close();
  });
});
