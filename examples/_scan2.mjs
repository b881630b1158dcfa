import { EmbeddedDB } from '@loomdb/db';
import { loadAddon } from '@loomdb/core-native';
