import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_ROOT } from '../harness.js';

/** One message of a benchmark group (a RealMem persona or a LoCoMo conversation), in time order. */
export interface Message {
  id: string;
  /** The session (RealMem) or conversation session (LoCoMo) it belongs to: its conversationId. */
  session: string;
  role: string;
  content: string;
  timestamp: number;
}

const T0 = Date.UTC(2025, 0, 1);
const SESSION_MS = 3_600_000;

/**
 * RealMem (Apache-2.0, github.com/QuantaAlpha RealMem, arXiv 2601.06966):
 * ten personas' multi-session user–assistant dialogues; a user turn whose
 * next assistant turn names the sessions its memory came from
 * (`memory_session_uuids`) is a query, those sessions its gold. Not
 * committed (fetched material): put the persona files in
 * data/recall/realmem/ (gitignored) or point LOOMDB_REALMEM_DIR at them.
 */
export const REALMEM_DIR = process.env.LOOMDB_REALMEM_DIR ?? join(BENCH_ROOT, 'data', 'recall', 'realmem');
export const REALMEM_HOW_TO_GET = `RealMem is not committed: copy the ten dataset/*_dialogues_256k.json files of the RealMem repository (Apache-2.0; zhiyuan5986/RealMemBench on GitHub, paper arXiv 2601.06966) into bench/data/recall/realmem/ (gitignored), or set LOOMDB_REALMEM_DIR to a folder holding them`;

interface Turn {
  speaker: string;
  content: string;
  memory_session_uuids?: string[];
  memory_used?: Array<{ session_uuid?: string } | string>;
}
interface Session {
  session_identifier: string;
  session_uuid?: string;
  dialogue_turns?: Turn[];
}
export interface Persona {
  name: string;
  sessions: Array<{ id: string; start: number; messages: Message[] }>;
  /** Official ground truth: query text → gold session ids (the last occurrence of a text wins, as in RealMem's script). */
  queries: Array<{ text: string; gold: string[]; session: number }>;
}

/** One persona file read as RealMem's compute_auto_metrics_for_realmem.py reads it. */
export function loadPersona(file: string): Persona {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { _metadata?: { person_name?: string }; dialogues: Session[] };
  const name = raw._metadata?.person_name ?? file;
  const uuidToSid = new Map<string, string>();
  for (const d of raw.dialogues) if (d.session_uuid) uuidToSid.set(d.session_uuid, d.session_identifier);
  const byText = new Map<string, { text: string; gold: string[]; session: number }>();
  const sessions = raw.dialogues.map((d, si) => {
    const turns = d.dialogue_turns ?? [];
    const start = T0 + si * SESSION_MS;
    turns.forEach((t, i) => {
      const text = (t.content ?? '').trim();
      const next = turns[i + 1];
      if (t.speaker !== 'User' || !text || next?.speaker !== 'Assistant') return;
      const gold = new Set<string>();
      for (const u of next.memory_session_uuids ?? []) if (uuidToSid.has(u)) gold.add(uuidToSid.get(u) as string);
      if (gold.size === 0) {
        for (const m of next.memory_used ?? []) {
          const u = typeof m === 'object' && m ? m.session_uuid : undefined;
          if (u && uuidToSid.has(u)) gold.add(uuidToSid.get(u) as string);
        }
      }
      if (gold.size) byText.set(text, { text, gold: [...gold], session: si });
    });
    return {
      id: d.session_identifier,
      start,
      messages: turns
        .filter((t) => (t.content ?? '').trim())
        .map((t, j) => ({ id: `s${si}t${j}`, session: d.session_identifier, role: t.speaker === 'User' ? 'user' : 'assistant', content: t.content.trim(), timestamp: start + j * 1000 })),
    };
  });
  return { name, sessions, queries: [...byText.values()] };
}

/**
 * LoCoMo (snap-research/locomo on GitHub, ACL 2024): ten long two-person
 * conversations (≈ 5.9k turns) with questions labelled by the turns that
 * hold their answer. The held-out set: LoomDB's defaults are never chosen
 * on it, it only checks them. Not committed (its licence does not say it
 * may be redistributed): unzip the repository's data/locomo10.zip and copy
 * data/multimodal_dialog/locomo10_v2/*.json into data/recall/locomo/
 * (gitignored), or point LOOMDB_LOCOMO_DIR at that folder.
 */
export const LOCOMO_DIR = process.env.LOOMDB_LOCOMO_DIR ?? join(BENCH_ROOT, 'data', 'recall', 'locomo');
export const LOCOMO_HOW_TO_GET = `LoCoMo is not committed: unzip data/locomo10.zip of the snap-research/locomo repository and copy data/multimodal_dialog/locomo10_v2/*.json into bench/data/recall/locomo/ (gitignored), or set LOOMDB_LOCOMO_DIR to that folder`;

/** LoCoMo's question categories kept: 1–4 (multi-hop, temporal, open-domain, single-hop); 5 (adversarial, unanswerable) has no answer to find. */
const LOCOMO_CATEGORIES = new Set([1, 2, 3, 4]);

export interface Conversation {
  name: string;
  messages: Message[];
  /** Questions and the dia_ids of the turns that hold their answer (evidence outside the conversation's turns dropped). */
  queries: Array<{ text: string; gold: string[] }>;
}

/**
 * One LoCoMo conversation file: a turn is a message whose content is
 * "<speaker>: <text>" (who said it is part of what a two-person memory
 * holds, and questions name people), id = its dia_id, session = session_N.
 */
export function loadConversation(file: string): Conversation {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & { qa: Array<{ question: string; evidence?: string[]; category: number }> };
  const messages: Message[] = [];
  for (let s = 1; Array.isArray(raw[`session_${s}`]); s++) {
    const turns = raw[`session_${s}`] as Array<{ speaker: string; dia_id: string; text?: string }>;
    turns.forEach((t, j) => {
      const text = (t.text ?? '').trim();
      if (text) messages.push({ id: t.dia_id, session: `session_${s}`, role: t.speaker, content: `${t.speaker}: ${text}`, timestamp: T0 + s * SESSION_MS + j * 1000 });
    });
  }
  const ids = new Set(messages.map((m) => m.id));
  const queries = raw.qa
    .filter((q) => LOCOMO_CATEGORIES.has(q.category))
    .map((q) => ({ text: q.question, gold: (q.evidence ?? []).filter((e) => ids.has(e)) }))
    .filter((q) => q.gold.length > 0);
  return { name: file.split('/').pop() as string, messages, queries };
}

/** The .json files of a data folder, sorted. */
export const jsonFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(dir, f));
