import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Why a request is refused before it reaches MCP, or null when it may pass. */
export interface Refusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

const LOCAL_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

/**
 * DNS rebinding defence: a web page can make a browser send requests to
 * 127.0.0.1 under its own host name, so both the Host header and any Origin
 * must name this loopback server itself.
 */
export function checkOrigin(req: IncomingMessage, port: number): Refusal | null {
  const allowed = new Set(LOCAL_HOSTS.map((h) => `${h}:${port}`));
  const host = req.headers.host;
  if (!host || !allowed.has(host)) return { status: 403, message: `Host ${JSON.stringify(host ?? '')} is not this server (127.0.0.1:${port})` };
  const origin = req.headers.origin;
  if (origin === undefined) return null;
  let originHost: string;
  try {
    const url = new URL(origin);
    originHost = url.protocol === 'http:' ? url.host : '';
  } catch {
    originHost = '';
  }
  if (!allowed.has(originHost)) return { status: 403, message: `Origin ${JSON.stringify(origin)} is not allowed` };
  return null;
}

/** With a token configured, every request needs `Authorization: Bearer <token>` (compared in constant time). */
export function checkToken(req: IncomingMessage, token: string | undefined): Refusal | null {
  if (!token) return null;
  const header = req.headers.authorization ?? '';
  const given = Buffer.from(header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '');
  const expected = Buffer.from(token);
  if (given.length === expected.length && timingSafeEqual(given, expected)) return null;
  return { status: 401, message: 'missing or wrong bearer token', headers: { 'WWW-Authenticate': 'Bearer' } };
}
