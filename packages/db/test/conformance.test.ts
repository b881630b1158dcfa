import { describeStorageConformance } from '@loomdb/db/testing';

describeStorageConformance('native (LMDB)', { storage: 'native' });
describeStorageConformance('memory (reference)', { storage: 'memory' });
