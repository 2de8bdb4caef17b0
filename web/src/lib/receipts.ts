// Cumulative receipts: per conversation, per member, the highest id delivered and read.

import type { Conversation, Receipt } from "./types";

export interface MemberMarks {
  delivered: number;
  read: number;
}
export type ConversationReceipts = Record<number, MemberMarks>;
export type ReceiptBook = Record<number, ConversationReceipts>;

/** Applies one receipt; marks never move back, and reading implies delivery. */
export function applyReceipt(book: ReceiptBook, r: Receipt): ReceiptBook {
  const conv = book[r.conversation_id] ?? {};
  const old = conv[r.user_id] ?? { delivered: 0, read: 0 };
  const next: MemberMarks = { ...old };
  if (r.kind === "read") {
    next.read = Math.max(old.read, r.up_to);
    next.delivered = Math.max(old.delivered, r.up_to);
  } else if (r.kind === "delivered") {
    next.delivered = Math.max(old.delivered, r.up_to);
  } else {
    return book;
  }
  if (next.read === old.read && next.delivered === old.delivered) return book;
  return { ...book, [r.conversation_id]: { ...conv, [r.user_id]: next } };
}

/**
 * A member who sent message N has certainly received and seen everything before it in the
 * conversation (the server marks what they answer as read for them).
 */
export function noteAuthorRead(book: ReceiptBook, conversationId: number, senderId: number, messageId: number): ReceiptBook {
  return applyReceipt(book, { conversation_id: conversationId, user_id: senderId, kind: "read", up_to: messageId });
}

/** The marks a v2 conversation object carries for each member (not for oneself). */
export function applyMemberMarks(book: ReceiptBook, c: Conversation, selfId: number): ReceiptBook {
  let out = book;
  for (const u of c.members) {
    if (u.id === selfId) continue;
    if (typeof u.delivered_up_to === "number" && u.delivered_up_to > 0)
      out = applyReceipt(out, { conversation_id: c.id, user_id: u.id, kind: "delivered", up_to: u.delivered_up_to });
    if (typeof u.read_up_to === "number" && u.read_up_to > 0)
      out = applyReceipt(out, { conversation_id: c.id, user_id: u.id, kind: "read", up_to: u.read_up_to });
  }
  return out;
}

export function parseReceiptBook(text: string | null): ReceiptBook {
  if (!text) return {};
  try {
    const v = JSON.parse(text);
    return v && typeof v === "object" && !Array.isArray(v) ? (v as ReceiptBook) : {};
  } catch {
    return {};
  }
}
