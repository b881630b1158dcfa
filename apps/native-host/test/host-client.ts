/**
 * Test side of the native-messaging pipe: spawns the built host as Chrome
 * would and speaks frames to it, reassembling chunked replies as the
 * extension does. Frames are cut here with plain `readUInt32LE` (these
 * tests run on little-endian machines), independently of the host's own
 * decoder, so a framing bug cannot cancel itself out.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const HOST_BIN = resolve(__dirname, '..', 'bin', 'loomdb-native-host.cjs');

export interface RawMessage {
  /** Bytes of the frame's body as received. */
  bytes: number;
  value: Record<string, unknown>;
}

export interface Reply {
  id: string | number | null;
  ok: boolean;
  result?: any;
  error?: { code: string; message: string };
}

export function header(length: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32LE(length >>> 0, 0);
  return h;
}

export function frame(value: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  return Buffer.concat([header(body.length), body]);
}

/** A temp directory with a database path and a log file in it; `remove()` deletes it. */
export function tempDir(prefix = 'nh-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, db: join(dir, 'memory.loomdb'), log: join(dir, 'host.log'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export class HostProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Every message received, in order (chunks included, as sent). */
  readonly messages: RawMessage[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr = '';
  #buffer = Buffer.alloc(0);
  #waiters = new Map<string, (reply: Reply) => void>();
  #replies = new Map<string, Reply>();
  #chunks = new Map<string, string[]>();
  #nextId = 1;

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [HOST_BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.child.stdout.on('data', (d: Buffer) => this.#onData(d));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.stdin.on('error', () => {}); // EPIPE once the host has gone
    this.exited = new Promise((res) => this.child.once('exit', (code, signal) => res({ code, signal })));
  }

  /** Starts a host on `db`, logging to `log`, as Chrome does (the origin as first argument). */
  static start(db: string, log: string, env?: NodeJS.ProcessEnv): HostProcess {
    return new HostProcess(['chrome-extension://abcdefghijklmnopabcdefghijklmnop/', '--path', db, '--log-file', log], env);
  }

  #onData(d: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, d]);
    while (this.#buffer.length >= 4) {
      const n = this.#buffer.readUInt32LE(0);
      if (this.#buffer.length < 4 + n) break;
      const value = JSON.parse(this.#buffer.subarray(4, 4 + n).toString('utf8')) as Record<string, unknown>;
      this.#buffer = this.#buffer.subarray(4 + n);
      this.messages.push({ bytes: n, value });
      this.#receive(value);
    }
  }

  /** Reassembles chunks the way the extension does, then settles the request with that id. */
  #receive(value: Record<string, unknown>): void {
    const key = JSON.stringify(value.id);
    if (typeof value.chunks === 'number') {
      const parts = this.#chunks.get(key) ?? [];
      parts[value.chunk as number] = value.data as string;
      this.#chunks.set(key, parts);
      if (parts.filter((p) => p !== undefined).length < value.chunks) return;
      this.#chunks.delete(key);
      value = JSON.parse(parts.join('')) as Record<string, unknown>;
    }
    const reply = value as unknown as Reply;
    const waiter = this.#waiters.get(key);
    if (waiter) {
      this.#waiters.delete(key);
      waiter(reply);
    } else this.#replies.set(key, reply);
  }

  /** Writes raw bytes to the host's stdin. */
  write(bytes: Buffer): void {
    this.child.stdin.write(bytes);
  }

  /** The reply to the request with this id (which may already have come). */
  reply(id: string | number | null): Promise<Reply> {
    const key = JSON.stringify(id);
    const got = this.#replies.get(key);
    if (got) {
      this.#replies.delete(key);
      return Promise.resolve(got);
    }
    return new Promise((res) => this.#waiters.set(key, res));
  }

  /** Sends `{ id, type, ...params }` and waits for its reply. */
  request(type: string, params: Record<string, unknown> = {}): Promise<Reply> {
    const id = this.#nextId++;
    this.write(frame({ id, type, ...params }));
    return this.reply(id);
  }

  /** Like `request`, but the result, failing the test on an error reply. */
  async call(type: string, params: Record<string, unknown> = {}): Promise<any> {
    const r = await this.request(type, params);
    if (!r.ok) throw new Error(`${type} failed: ${r.error?.code} ${r.error?.message}`);
    return r.result;
  }

  /** Polls `stats` until the weaver has written everything in the inbox. */
  async settled(): Promise<any> {
    for (;;) {
      const s = await this.call('stats');
      if (s.inbox.pending === 0) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Closes stdin (as Chrome does when the port closes) and waits for the exit. */
  async close() {
    this.child.stdin.end();
    return this.exited;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** The log lines the host wrote. */
export function logLines(file: string): Array<Record<string, unknown>> {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A chat of `sessions` conversations, `perSession` alternating user/assistant messages each, about distinct topics. */
export const TOPICS = [
  { topic: 'hiking', user: 'We should plan the hiking trip to the Alps with Anna', assistant: 'The Alps trail near Zermatt suits a three day hike' },
  { topic: 'coffee', user: 'How do I brew better espresso with my grinder', assistant: 'Grind finer and keep the espresso shot near thirty seconds' },
  { topic: 'rust', user: 'Explain lifetimes in Rust borrow checking', assistant: 'Rust lifetimes tell the borrow checker how long references live' },
  { topic: 'garden', user: 'My tomato plants in the garden have yellow leaves', assistant: 'Yellow tomato leaves often mean the garden soil lacks nitrogen' },
] as const;

export function chatEvents(sessions: number, perSession: number, start = Date.UTC(2026, 0, 1)) {
  const events: Array<Record<string, unknown>> = [];
  for (let s = 0; s < sessions; s++) {
    const t = TOPICS[s % TOPICS.length] as (typeof TOPICS)[number];
    for (let i = 0; i < perSession; i++) {
      const role = i % 2 === 0 ? 'user' : 'assistant';
      events.push({
        id: `s${s}-m${i}`,
        type: 'message',
        conversationId: `session-${s}`,
        role,
        content: `${role === 'user' ? t.user : t.assistant} (part ${i})`,
        timestamp: start + s * 86_400_000 + i * 1000,
        source: 'test',
        ...(i === 0 ? { title: `About ${t.topic}` } : {}),
      });
    }
  }
  return events;
}
