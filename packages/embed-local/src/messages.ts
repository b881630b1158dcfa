import type { ModelInfo } from './model.js';

/** What a model process is started with (its first message). */
export interface WorkerSetup {
  model: ModelInfo;
  /** onnxruntime intra-op threads for this process's session. */
  threads: number;
}

/** Parent → model process: embed these texts (a process has one request at a time). */
export interface EmbedRequest {
  texts: string[];
}

/** Model process → parent: loaded or not, then per request its vectors (row after row) or why not. */
export type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'unloadable'; message: string }
  | { kind: 'vectors'; vectors: Float32Array }
  | { kind: 'error'; message: string };
