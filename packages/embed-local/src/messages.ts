import type { ModelInfo } from './model.js';

/** What a model process is started with (its first message). */
export interface WorkerSetup {
  model: ModelInfo;
  /** onnxruntime intra-op threads for this process's session. */
  threads: number;
}

/** Parent → model process: embed these texts. */
export interface EmbedRequest {
  id: number;
  texts: string[];
}

/** Model process → parent: the vectors of one request, row after row, or why not. */
export type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'vectors'; id: number; vectors: Float32Array }
  | { kind: 'error'; id: number | null; code: string; message: string };
