import type { ModelInfo } from './model.js';

/** What a model worker is started with (`workerData`). */
export interface WorkerSetup {
  model: ModelInfo;
  /** onnxruntime intra-op threads for this worker's session. */
  threads: number;
}

/** Main thread → worker: embed these texts. */
export interface EmbedRequest {
  id: number;
  texts: string[];
}

/** Worker → main thread: the vectors of one request, row after row, or why not. */
export type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'vectors'; id: number; vectors: Float32Array }
  | { kind: 'error'; id: number | null; code: string; message: string };
