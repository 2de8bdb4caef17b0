// What the client keeps on the device to show while the server cannot be reached: the
// signed-in user, the conversation list, contacts and the latest messages of the conversations
// most recently active, bounded in count and in size. Pure: ../offline stores it.

import type { ChatMessage, Contact, Conversation, User } from "./types";

export interface Snapshot {
  v: 1;
  saved_at: number;
  user: User;
  conversations: Conversation[];
  contacts: Contact[];
  /** Per conversation, its latest stored messages, oldest first. */
  threads: Record<number, ChatMessage[]>;
}

export const SNAPSHOT_LIMITS = {
  conversations: 200,
  contacts: 500,
  threads: 30,
  messagesPerThread: 40,
  /** Characters of JSON (localStorage holds about five million). */
  chars: 1_500_000,
};

/** The snapshot of what is shown now: threads of the most recent conversations first. */
export function makeSnapshot(
  user: User,
  conversations: readonly Conversation[],
  contacts: readonly Contact[],
  threads: Readonly<Record<number, { messages: readonly ChatMessage[]; loaded: boolean }>>,
  now: number,
  limits = SNAPSHOT_LIMITS,
): Snapshot {
  const kept = conversations.slice(0, limits.conversations);
  const out: Record<number, ChatMessage[]> = {};
  let count = 0;
  for (const c of kept) {
    if (count >= limits.threads) break;
    const t = threads[c.id];
    if (!t?.loaded) continue;
    // Only what the server has: pending messages live in the send queue.
    const stored = t.messages.filter((m) => m.id !== null && !m.failed && !m.pendingAttachments);
    if (stored.length === 0) continue;
    out[c.id] = stored.slice(-limits.messagesPerThread);
    count++;
  }
  return { v: 1, saved_at: now, user, conversations: kept, contacts: contacts.slice(0, limits.contacts), threads: out };
}

/** JSON within `maxChars`: threads go first (the least recent), then the list is cut. */
export function serializeSnapshot(snapshot: Snapshot, maxChars = SNAPSHOT_LIMITS.chars): string | null {
  let s = snapshot;
  let text = JSON.stringify(s);
  const order = s.conversations.map((c) => c.id).filter((id) => s.threads[id]);
  while (text.length > maxChars && order.length) {
    const threads = { ...s.threads };
    delete threads[order.pop()!];
    s = { ...s, threads };
    text = JSON.stringify(s);
  }
  while (text.length > maxChars && s.conversations.length > 1) {
    s = { ...s, conversations: s.conversations.slice(0, Math.floor(s.conversations.length / 2)) };
    text = JSON.stringify(s);
  }
  return text.length > maxChars ? null : text;
}

function normalize(m: any): ChatMessage {
  return {
    seq: 0,
    updated_seq: 0,
    edited_at: null,
    deleted: false,
    reply_to: null,
    sent_at: 0,
    client_id: "",
    sender_id: 0,
    ...m,
    reactions: Array.isArray(m.reactions) ? m.reactions : [],
    attachments: Array.isArray(m.attachments) ? m.attachments : [],
  };
}

/** A stored snapshot, or null when there is none or it is not one. */
export function parseSnapshot(text: string | null): Snapshot | null {
  if (!text) return null;
  let raw: any;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (!raw || raw.v !== 1 || typeof raw.user?.id !== "number" || typeof raw.user?.name !== "string") return null;
  if (!Array.isArray(raw.conversations) || !Array.isArray(raw.contacts) || !raw.threads || typeof raw.threads !== "object") return null;
  const conversations = raw.conversations.filter((c: any) => c && typeof c.id === "number" && Array.isArray(c.members) && typeof c.title === "string");
  const contacts = raw.contacts.filter((c: any) => c && typeof c.user?.id === "number" && typeof c.name === "string");
  const threads: Record<number, ChatMessage[]> = {};
  for (const [id, list] of Object.entries(raw.threads)) {
    if (!Array.isArray(list)) continue;
    const msgs = list.filter((m: any) => m && typeof m.id === "number" && typeof m.conversation_id === "number" && typeof m.body === "string");
    if (msgs.length) threads[Number(id)] = msgs.map(normalize);
  }
  return { v: 1, saved_at: Number(raw.saved_at) || 0, user: raw.user as User, conversations, contacts, threads };
}
