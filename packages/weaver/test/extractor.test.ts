import { describe, expect, it } from 'vitest';
import { EmbeddedDB } from '@loomdb/db';
import { extractEntities, ruleExtractorPlugin, RULES_EXTRACTOR } from '@loomdb/weaver';

const keys = (text: string) => extractEntities(text).map((e) => e.key);

describe('the rule-based extractor', () => {
  it('finds names, handles, tags, URLs, e-mails and code identifiers', () => {
    const found = extractEntities(
      'Yesterday Ada Lovelace told @Grace_H about #Rust and https://Example.com/Docs/ (mail ada@Example.org); see `open_env` and insertNodesBatch() in WeaverController.',
    );
    expect(found).toEqual([
      { name: 'https://Example.com/Docs/', kind: 'url', key: 'url:https://example.com/Docs' },
      { name: 'ada@Example.org', kind: 'email', key: 'email:ada@example.org' },
      { name: '@Grace_H', kind: 'handle', key: 'handle:@grace_h' },
      { name: '#Rust', kind: 'tag', key: 'tag:#rust' },
      { name: 'open_env', kind: 'code', key: 'code:open_env' },
      { name: 'insertNodesBatch()', kind: 'code', key: 'code:insertNodesBatch' },
      { name: 'WeaverController', kind: 'code', key: 'code:WeaverController' },
      { name: 'Ada Lovelace', kind: 'name', key: 'name:ada lovelace' },
    ]);
  });

  it('merges mentions by key and skips sentence-opening stopwords', () => {
    expect(keys('The weather. Hello. New York and NEW YORK and New York, #rust #RUST @Bob @bob')).toEqual([
      'handle:@bob',
      'tag:#rust',
      'name:new york',
    ]);
    expect(keys('no entities here, only 42 and #1')).toEqual([]);
    expect(keys('')).toEqual([]);
  });

  it('registers as the `rules` extractor like any plugin', async () => {
    const db = EmbeddedDB.open(undefined, { storage: 'memory', plugins: [ruleExtractorPlugin] });
    expect(await db.extractor(RULES_EXTRACTOR).extract('Hi @ada')).toEqual([{ name: '@ada', kind: 'handle', key: 'handle:@ada' }]);
    db.close();
  });
});
