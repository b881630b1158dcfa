/**
 * `@loomdb/migrate/browser`: the exporter. Runs wherever the standard
 * IndexedDB API does (extension page, service worker, web page); importing
 * it touches no browser global.
 *
 * @module
 */
export { exportIndexedDB, type ExportOptions, type ExportProgress } from './export.js';
export { callbackSink, nativeMessagingSink, ndjsonDownloadSink, NativeHostError, type ExportSink, type NativeMessagingSinkOptions, type NativePort } from './sinks.js';
export type { ExportBatch, ExportHeader, ExportManifest, ExportMessage, ExportedRecord, StoreInfo, StoreManifest } from '../format/messages.js';
