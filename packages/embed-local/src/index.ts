/**
 * `@loomdb/embed-local`: sentence-transformers models as LoomDB embedders,
 * offline, in model processes (onnxruntime). Register it with
 * `localEmbedderPlugin()`; install models with `loomdb model install`.
 *
 * @packageDocumentation
 */
export { createLocalEmbedder, type LocalEmbedder, type LocalEmbedderOptions } from './embedder.js';
export { localEmbedderPlugin, defaultModel, LOCAL_EMBEDDER } from './plugin.js';
export { readModel, type ModelInfo, type Pooling, type TransformerConfig, type WeightsFormat } from './model.js';
export { installModel, listModels, modelsDirectory, modelDirectoryFor, type InstalledModel, type InstallOptions } from './store.js';
