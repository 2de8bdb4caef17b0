// The sync cursors: per conversation, the last log position (seq / updated_seq) this client
// has applied. `sync` answers everything after them; they survive reloads (localStorage).

import { logPosition } from "./messages";
import type { Conversation, Message } from "./types";

export type Cursors = Readonly<Record<number, number>>;

/** Moves one conversation's cursor forward (never back); the same object when nothing moves. */
export function noteSeq(cursors: Cursors, conversationId: number, seq: number | undefined): Cursors {
  if (typeof seq !== "number" || !(seq > 0) || (cursors[conversationId] ?? 0) >= seq) return cursors;
  return { ...cursors, [conversationId]: seq };
}

/** The cursors after applying `messages` (each counts for its seq and its updated_seq). */
export function advance(cursors: Cursors, messages: readonly Message[]): Cursors {
  let out = cursors;
  for (const m of messages) out = noteSeq(out, m.conversation_id, logPosition(m));
  return out;
}

/** The cursors once conversation objects are applied: each object's `seq` is where it stands. */
export function fromConversations(cursors: Cursors, conversations: readonly Conversation[]): Cursors {
  let out = cursors;
  for (const c of conversations) out = noteSeq(out, c.id, c.seq);
  return out;
}

/** The highest of two sets of cursors, conversation by conversation. */
export function mergeCursors(a: Cursors, b: Cursors): Cursors {
  let out = a;
  for (const [id, seq] of Object.entries(b)) out = noteSeq(out, Number(id), seq);
  return out;
}

export function dropCursors(cursors: Cursors, ids: readonly number[]): Cursors {
  if (!ids.some((id) => id in cursors)) return cursors;
  const out: Record<number, number> = { ...cursors };
  for (const id of ids) delete out[id];
  return out;
}

/** The `cursors` list of a `sync` request. */
export function cursorList(cursors: Cursors): { conversation_id: number; seq: number }[] {
  return Object.entries(cursors).map(([id, seq]) => ({ conversation_id: Number(id), seq }));
}

export function serializeCursors(cursors: Cursors): string {
  return JSON.stringify(cursors);
}

/** Reads stored cursors defensively: anything that is not a positive integer is left out. */
export function parseCursors(text: string | null): Cursors {
  if (!text) return {};
  try {
    const v = JSON.parse(text);
    if (!v || typeof v !== "object" || Array.isArray(v)) return {};
    const out: Record<number, number> = {};
    for (const [k, seq] of Object.entries(v)) {
      const id = Number(k);
      if (Number.isSafeInteger(id) && id > 0 && typeof seq === "number" && Number.isSafeInteger(seq) && seq > 0) out[id] = seq;
    }
    return out;
  } catch {
    return {};
  }
}
