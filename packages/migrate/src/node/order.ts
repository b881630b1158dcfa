/** Which stores a store's records reference, so those are written first (edges and vectors need their targets). */
import { isEmbeddingStore, isSkip, type Mapping } from './mapping.js';

export interface StoreOrder {
  /** Stores `store` references (other than itself). */
  dependencies(store: string): string[];
  /** `stores` sorted so referenced ones come first; cycles keep mapping order. */
  order(stores: string[]): string[];
}

const cache = new WeakMap<Mapping, StoreOrder>();

export function storeOrder(mapping: Mapping): StoreOrder {
  const cached = cache.get(mapping);
  if (cached) return cached;
  const deps = new Map<string, string[]>();
  for (const [store, rule] of Object.entries(mapping.stores)) {
    const targets = isSkip(rule) ? [] : isEmbeddingStore(rule)
      ? [rule.embeddingsOf]
      : [
        ...Object.values(rule.properties ?? {}).flatMap((s) => (typeof s === 'object' && s.ref ? [s.ref] : [])),
        ...(rule.edges ?? []).map((e) => e.to),
      ];
    deps.set(store, [...new Set(targets)].filter((t) => t !== store));
  }
  const dependencies = (store: string): string[] => deps.get(store) ?? [];
  const result: StoreOrder = {
    dependencies,
    order(stores) {
      const out: string[] = [];
      const visiting = new Set<string>();
      const visit = (s: string): void => {
        if (out.includes(s) || visiting.has(s)) return;
        visiting.add(s);
        for (const d of dependencies(s)) if (stores.includes(d)) visit(d);
        out.push(s);
      };
      stores.forEach(visit);
      return out;
    },
  };
  cache.set(mapping, result);
  return result;
}
