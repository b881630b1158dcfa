import { MemoryStorage } from '@loomdb/db';
import { describeStorageConformance, withoutWriteBatches } from '@loomdb/db/testing';

describeStorageConformance('native (LMDB)', { storage: 'native' });
describeStorageConformance('memory (reference)', { storage: 'memory' });

describeStorageConformance('memory without write batches (the generic path)', { storage: () => withoutWriteBatches(new MemoryStorage()) });
