import type { Readable, Writable } from 'node:stream';
import { LoomError } from '@loomdb/db';
import { replyMessages } from './chunking.js';
import { FrameDecoder, MAX_INCOMING_BYTES } from './framing.js';
import { FrameWriter } from './frame-writer.js';
import { HANDLERS, type HostContext } from './handlers.js';
import type { HostLogger } from './log.js';
import { parseRequest, RequestError, type Reply, type Request, type RequestId } from './protocol.js';

/**
 * Requests handled at once; past this the host stops reading until one finishes, so a flood of pipelined requests cannot exhaust memory.
 *
 * @example
 * ```ts
 * // A connection answers up to MAX_IN_FLIGHT requests concurrently; more wait for a free slot.
 * console.log(MAX_IN_FLIGHT);
 * ```
 */
export const MAX_IN_FLIGHT = 64;

/**
 * Why a connection ended.
 *
 * @example
 * ```ts
 * const end: ConnectionEnd = await serveConnection({ input: process.stdin, output: process.stdout, context, log });
 * if (end === 'oversized') log.warn('the browser sent a message over the limit');
 * ```
 */
export type ConnectionEnd =
  /** The browser closed the pipe between messages. */
  | 'closed'
  /** The browser closed the pipe partway through a message (the partial message is dropped). */
  | 'closed-mid-message'
  /** A length prefix over the limit: what follows cannot be framed, so the host answered with an error and stopped. */
  | 'oversized';

/**
 * Options of serveConnection.
 *
 * @example
 * ```ts
 * const options: ConnectionOptions = { input: process.stdin, output: process.stdout, context, log: fileLogger() };
 * await serveConnection(options);
 * ```
 */
export interface ConnectionOptions {
  input: Readable;
  output: Writable;
  /** What requests are answered from; a LoomError when the database could not be opened, which every request then gets. */
  context: HostContext | LoomError;
  log: HostLogger;
  /** Largest message accepted; default {@link MAX_INCOMING_BYTES}. */
  maxIncomingBytes?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function errorReply(id: RequestId, e: unknown): Reply {
  const error = LoomError.is(e) ? e : new LoomError('INTERNAL', `unexpected failure: ${e instanceof Error ? e.message : String(e)}`);
  return { id, ok: false, error: { code: error.code, message: error.message } };
}

/** Decodes a frame's body into a request; throws a {@link RequestError} saying what is wrong with it. */
function readRequest(body: Buffer): Request {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new RequestError(null, 'INVALID_ARGUMENT', `a message of ${body.length} bytes is not valid UTF-8`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new RequestError(null, 'INVALID_ARGUMENT', `a message of ${body.length} bytes is not valid JSON: ${(e as Error).message}`);
  }
  return parseRequest(value);
}

/**
 * Serves one browser connection: reads framed requests from `input`,
 * answers each on `output` (chunked when over Chrome's 1 MB limit), and
 * resolves once the browser has closed `input` and every request read has
 * been answered. Requests run concurrently (replies carry their `id`);
 * a request that fails, for whatever reason, gets an error reply and the
 * connection carries on.
 *
 * @example
 * ```ts fragment
 * const end = await serveConnection({ input: process.stdin, output: process.stdout, context, log });
 * ```
 */
export function serveConnection(options: ConnectionOptions): Promise<ConnectionEnd> {
  const { input, output, context, log } = options;
  const maxIncomingBytes = options.maxIncomingBytes ?? MAX_INCOMING_BYTES;
  const decoder = new FrameDecoder(maxIncomingBytes);
  const writer = new FrameWriter(output);
  const inFlight = new Set<Promise<void>>();
  let paused = false;

  const send = (reply: Reply) => {
    let json: string;
    try {
      json = JSON.stringify(reply);
    } catch (e) {
      json = JSON.stringify(errorReply(reply.id, new LoomError('INTERNAL', `the result could not be written as JSON: ${(e as Error).message}`)));
    }
    return writer.write(...replyMessages(reply.id, json));
  };

  const answer = async (body: Buffer) => {
    let id: RequestId = null;
    try {
      const request = readRequest(body);
      id = request.id;
      if (LoomError.is(context)) throw context;
      const result = await (HANDLERS[request.type] as (c: HostContext, p: unknown) => Promise<unknown>)(context, request.params);
      await send({ id, ok: true, result: result ?? null });
    } catch (e) {
      const replyId = e instanceof RequestError ? e.requestId : id;
      if (!LoomError.is(e)) log.error('request failed unexpectedly', { id: replyId, error: e instanceof Error ? e.stack : String(e) });
      await send(errorReply(replyId, e));
    }
  };

  const track = (body: Buffer) => {
    const done = answer(body).finally(() => {
      inFlight.delete(done);
      if (paused && inFlight.size < MAX_IN_FLIGHT) {
        paused = false;
        input.resume();
      }
    });
    inFlight.add(done);
    if (inFlight.size >= MAX_IN_FLIGHT && !paused) {
      paused = true;
      input.pause();
    }
  };

  return new Promise<ConnectionEnd>((resolve) => {
    let ended = false;
    const finish = async (why: ConnectionEnd) => {
      if (ended) return;
      ended = true;
      input.off('data', onData);
      // Nothing more is read: a paused pipe would otherwise keep the process alive.
      input.destroy();
      while (inFlight.size > 0) await Promise.all(inFlight);
      await writer.flushed();
      resolve(why);
    };
    const onData = (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        if (frame.kind === 'frame') {
          track(frame.body);
          continue;
        }
        log.warn('message length over the limit; closing the connection', { length: frame.length, limit: maxIncomingBytes });
        void send(errorReply(null, new LoomError('INVALID_ARGUMENT', `a message of ${frame.length} bytes is over the ${maxIncomingBytes}-byte limit; the connection is closed`)));
        void finish('oversized');
        return;
      }
    };
    input.on('data', onData);
    input.once('end', () => void finish(decoder.bufferedBytes > 0 ? 'closed-mid-message' : 'closed'));
    input.once('close', () => void finish(decoder.bufferedBytes > 0 ? 'closed-mid-message' : 'closed'));
    input.once('error', (e) => {
      log.warn('reading the browser pipe failed', { error: e.message });
      void finish(decoder.bufferedBytes > 0 ? 'closed-mid-message' : 'closed');
    });
  });
}
