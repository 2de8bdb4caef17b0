// Pure logic for the messages of one conversation: merging, dedupe, ordering, states.

import type { ChatMessage, Message, MessageStatus, QueuedMessage } from "./types";
import type { ConversationReceipts } from "./receipts";

export function fromServer(m: Message): ChatMessage {
  return {
    id: m.id,
    conversation_id: m.conversation_id,
    sender_id: m.sender_id,
    body: m.body,
    sent_at: m.sent_at,
    client_id: m.client_id,
  };
}

export function fromQueued(q: QueuedMessage): ChatMessage {
  return {
    id: null,
    conversation_id: q.conversation_id,
    sender_id: q.sender_id,
    body: q.body,
    sent_at: q.created_at,
    client_id: q.client_id,
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
 * Merges `incoming` into `list` (which is sorted and free of duplicates) and returns a new
 * sorted list. A message is the same as another when it has the same id, or the same
 * sender and client_id (a pending message meets its stored self). A stored message always
 * wins over a pending one; `list` is not modified.
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
      const old = out[i];
      if (old.body !== m.body || old.sent_at !== m.sent_at) {
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
