/** Promise wrappers over the standard IndexedDB API: nothing here runs until called. */

/** Opens `name` as it is; a name that does not exist is an error, and is not created (the upgrade is aborted). */
export function openDatabase(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    let missing = false;
    const request = factory.open(name);
    request.onupgradeneeded = (event) => {
      if (event.oldVersion === 0) {
        missing = true;
        request.transaction?.abort();
      }
    };
    request.onerror = () => reject(missing ? new Error(`IndexedDB database "${name}" does not exist`) : request.error);
    request.onblocked = () => reject(new Error(`IndexedDB database "${name}" is blocked by another connection`));
    request.onsuccess = () => resolve(request.result);
  });
}

export interface RawRecord {
  key: IDBValidKey;
  value: unknown;
}

/**
 * Reads up to `limit` records of `store` after `afterKey` (all when absent) in
 * one read-only transaction. The cursor is opened on a key range, so each
 * chunk is its own short transaction: nothing async but IndexedDB happens
 * inside it (it would auto-commit), and a resumed export starts at a key.
 */
export function readChunk(db: IDBDatabase, keyRange: typeof IDBKeyRange, store: string, afterKey: IDBValidKey | undefined, limit: number): Promise<RawRecord[]> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(store, 'readonly');
    const range = afterKey === undefined ? undefined : keyRange.lowerBound(afterKey, true);
    const request = tx.objectStore(store).openCursor(range);
    const records: RawRecord[] = [];
    request.onsuccess = () => {
      const cursor = request.result;
      if (!cursor || records.length >= limit) return;
      records.push({ key: cursor.primaryKey, value: cursor.value });
      if (records.length < limit) cursor.continue();
    };
    tx.oncomplete = () => resolve(records);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error(`reading store "${store}" was aborted`));
  });
}
