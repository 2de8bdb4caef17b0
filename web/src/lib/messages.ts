// Pure logic for the messages of one conversation: merging, dedupe, ordering, states.

import { asAttachments } from "./attachments";
import type { ChatMessage, Message, MessageStatus, QueuedMessage, ReplyRef } from "./types";
import type { ConversationReceipts } from "./receipts";

/** A message as the server sent it, with the v2 defaults filled in (a tombstone has no body,
 *  reactions or attachments). */
export function fromServer(m: Message): ChatMessage {
  const deleted = m.deleted === true;
  const seq = typeof m.seq === "number" ? m.seq : 0;
  return {
    id: m.id,
    conversation_id: m.conversation_id,
    sender_id: m.sender_id,
    body: deleted ? "" : m.body,
    sent_at: m.sent_at,
    client_id: m.client_id,
    seq,
    updated_seq: typeof m.updated_seq === "number" ? m.updated_seq : seq,
    edited_at: m.edited_at ?? null,
    deleted,
    reply_to: m.reply_to && typeof m.reply_to.id === "number" ? m.reply_to : null,
    reactions: deleted || !Array.isArray(m.reactions) ? [] : m.reactions.filter((r) => r && r.user_ids?.length > 0),
    attachments: deleted ? [] : asAttachments(m.attachments),
  };
}

/** The highest log position a message object shows (its seq or its latest change). */
export function logPosition(m: Pick<Message, "seq" | "updated_seq">): number {
  return Math.max(m.seq ?? 0, m.updated_seq ?? 0);
}

/** The first `n` characters (code points, never half a surrogate pair). */
export function firstChars(text: string, n = 100): string {
  const chars = [...text];
  return chars.length <= n ? text : chars.slice(0, n).join("");
}

/** What a reply to `m` quotes of it, as the server would (first 100 characters, or deleted). */
export function quoteOf(m: ChatMessage): ReplyRef {
  return { id: m.id ?? 0, sender_id: m.sender_id, body: m.deleted ? "" : firstChars(m.body), deleted: m.deleted };
}

function sameQuote(a: ReplyRef, b: ReplyRef): boolean {
  return a.id === b.id && a.sender_id === b.sender_id && a.body === b.body && a.deleted === b.deleted;
}

/**
 * Replies show their quote as it was when they were read; a change to the quoted message
 * does not come with the reply. Brings every quote of one of `changed` up to date (the same
 * array when none shows one of them).
 */
export function refreshQuotes(list: readonly ChatMessage[], changed: readonly ChatMessage[]): ChatMessage[] {
  const byId = new Map<number, ChatMessage>();
  for (const m of changed) if (m.id !== null) byId.set(m.id, m);
  if (byId.size === 0) return list as ChatMessage[];
  let out: ChatMessage[] | null = null;
  list.forEach((m, i) => {
    const src = m.reply_to ? byId.get(m.reply_to.id) : undefined;
    if (!src || !m.reply_to) return;
    const q = quoteOf(src);
    if (sameQuote(q, m.reply_to)) return;
    out ??= list.slice();
    out[i] = { ...m, reply_to: q };
  });
  return out ?? (list as ChatMessage[]);
}

export function fromQueued(q: QueuedMessage): ChatMessage {
  return {
    id: null,
    conversation_id: q.conversation_id,
    sender_id: q.sender_id,
    body: q.body,
    sent_at: q.created_at,
    client_id: q.client_id,
    seq: 0,
    updated_seq: 0,
    edited_at: null,
    deleted: false,
    reply_to: q.reply_preview ?? (q.reply_to ? { id: q.reply_to, sender_id: 0, body: "", deleted: false } : null),
    reactions: [],
    attachments: [],
    pendingAttachments: q.attachments,
    failed: q.failed,
    failedMessage: q.failedMessage,
  };
}

/** Stored messages first, by id; then pending ones in the order they were typed. */
export function compareMessages(a: ChatMessage, b: ChatMessage): number {
  if (a.id !== null && b.id !== null) return a.id - b.id;
  if (a.id !== null) return -1;
  if (b.id !== null) return 1;
  return a.sent_at - b.sent_at || (a.client_id < b.client_id ? -1 : a.client_id > b.client_id ? 1 : 0);
}

function sameClientMessage(a: ChatMessage, b: ChatMessage): boolean {
  return a.client_id !== "" && a.client_id === b.client_id && a.sender_id === b.sender_id;
}

/**
 * Whether `m` is a newer state of the stored message `old` (same id): its latest change comes
 * later in the log. Without log positions (0), any difference in the text counts.
 */
export function isNewer(m: ChatMessage, old: ChatMessage): boolean {
  if (m.updated_seq !== old.updated_seq) return m.updated_seq > old.updated_seq;
  return m.updated_seq === 0 && (old.body !== m.body || old.sent_at !== m.sent_at);
}

/**
 * Merges `incoming` into `list` (which is sorted and free of duplicates) and returns a new
 * sorted list. A message is the same as another when it has the same id (the copy with the
 * later change wins, so applying one twice, or an older copy after a newer one, changes
 * nothing), or the same sender and client_id (a pending message meets its stored self). A
 * stored message always wins over a pending one; `list` is not modified.
 */
export function mergeMessages(list: readonly ChatMessage[], incoming: readonly ChatMessage[]): ChatMessage[] {
  if (incoming.length === 0) return list as ChatMessage[];
  const out = list.slice();
  const byId = new Map<number, number>();
  out.forEach((m, i) => {
    if (m.id !== null) byId.set(m.id, i);
  });
  let changed = false;
  for (const m of incoming) {
    if (m.id !== null && byId.has(m.id)) {
      const i = byId.get(m.id)!;
      if (isNewer(m, out[i])) {
        out[i] = m;
        changed = true;
      }
      continue;
    }
    const j = out.findIndex((o) => sameClientMessage(o, m));
    if (j >= 0) {
      const old = out[j];
      if (old.id !== null && m.id === null) continue; // already stored: the pending copy is stale
      if (old.id === null && m.id === null) {
        out[j] = { ...old, ...m };
      } else {
        out[j] = m;
        if (m.id !== null) byId.set(m.id, j);
      }
      changed = true;
      continue;
    }
    out.push(m);
    if (m.id !== null) byId.set(m.id, out.length - 1);
    changed = true;
  }
  if (!changed) return list as ChatMessage[];
  out.sort(compareMessages);
  return out;
}

/** Removes a pending message (by client_id) that was discarded by its author. */
export function removePending(list: readonly ChatMessage[], clientId: string): ChatMessage[] {
  return list.filter((m) => !(m.id === null && m.client_id === clientId));
}

/** The highest stored id in the list (0 when none). */
export function lastStoredId(list: readonly ChatMessage[]): number {
  for (let i = list.length - 1; i >= 0; i--) {
    const id = list[i].id;
    if (id !== null) return id;
  }
  return 0;
}

/** The lowest stored id in the list (null when none): the `before` cursor for older pages. */
export function firstStoredId(list: readonly ChatMessage[]): number | null {
  for (const m of list) if (m.id !== null) return m.id;
  return null;
}

/**
 * The state of one's own message: pending until the server stores it, sent once stored,
 * delivered once every other member has it, read once every other member read it.
 */
export function messageStatus(
  m: ChatMessage,
  otherMemberIds: readonly number[],
  receipts: ConversationReceipts | undefined,
): MessageStatus {
  if (m.failed) return "failed";
  if (m.id === null) return "pending";
  if (otherMemberIds.length === 0) return "sent";
  let allRead = true;
  let allDelivered = true;
  for (const uid of otherMemberIds) {
    const r = receipts?.[uid];
    const read = r?.read ?? 0;
    const delivered = Math.max(r?.delivered ?? 0, read);
    if (read < m.id) allRead = false;
    if (delivered < m.id) allDelivered = false;
  }
  if (allRead) return "read";
  if (allDelivered) return "delivered";
  return "sent";
}

export const statusLabel: Record<MessageStatus, string> = {
  pending: "Pending",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
  failed: "Not sent",
};
