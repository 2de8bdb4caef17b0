// Applies what the server says about messages and conversations to the state: new messages
// and changed ones (by id: the copy with the later change wins, so the live event, the sync
// answer and an ack can arrive in any order and any number of times), conversation objects,
// and conversations one is no longer a member of. No I/O here: the callers act on the result.

import { applyConversation, applyIncoming, removeConversation } from "./lib/conversations";
import { dropCursors } from "./lib/cursors";
import { fromServer, mergeMessages, refreshQuotes } from "./lib/messages";
import { settleFromServer } from "./lib/queue";
import { applyMemberMarks, noteAuthorRead } from "./lib/receipts";
import type { ChatMessage, Conversation, Message } from "./lib/types";
import { getState, set, type Thread } from "./state";

export interface Applied {
  /** A message named a conversation that is not in the list (fetch the list again). */
  unknown: boolean;
  /** Something changed in the open conversation (tell the server what it shows). */
  touchesOpen: boolean;
}

/** Whether a thread shows `m`: a thread not loaded shows nothing yet, and one with older
 *  pages still to load leaves messages before its oldest page to that page. */
function shows(t: Thread | undefined, m: ChatMessage): boolean {
  if (!t || (!t.loaded && !t.loading)) return false;
  return !t.hasMore || t.oldest === null || m.id === null || m.id >= t.oldest;
}

/** The thread with `incoming` merged in, and the quotes of changed messages brought up to date. */
export function mergeIntoThread(t: Thread, incoming: readonly ChatMessage[]): Thread {
  let messages = mergeMessages(t.messages, incoming.filter((m) => shows(t, m)));
  messages = refreshQuotes(messages, incoming);
  return messages === t.messages ? t : { ...t, messages };
}

/**
 * Messages from the server. `fresh`: they may be new (a `message` event, a sync answer, an
 * ack of a send): whoever wrote one has read what came before and stopped typing. Otherwise
 * they are changes (`message:updated`, the ack of an edit, delete or reaction).
 */
export function applyMessages(msgs: readonly Message[], fresh: boolean, visibleOpenId: number | null): Applied {
  const s = getState();
  const me = s.me;
  const out: Applied = { unknown: false, touchesOpen: false };
  if (!me || msgs.length === 0) return out;
  let conversations = s.conversations;
  let receipts = s.receipts;
  let typing = s.typing;
  const byConv = new Map<number, ChatMessage[]>();
  for (const m of msgs) {
    if (!m || typeof m.id !== "number" || typeof m.conversation_id !== "number") continue;
    const next = applyIncoming(conversations, m, me.id, visibleOpenId);
    if (next === null) out.unknown = true;
    else conversations = next;
    if (fresh && m.sender_id !== me.id) {
      receipts = noteAuthorRead(receipts, m.conversation_id, m.sender_id, m.id);
      if (typing[m.conversation_id]?.[m.sender_id]) {
        const t = { ...typing[m.conversation_id] };
        delete t[m.sender_id];
        typing = { ...typing, [m.conversation_id]: t };
      }
    }
    if (m.conversation_id === s.openId) out.touchesOpen = true;
    const arr = byConv.get(m.conversation_id) ?? [];
    arr.push(fromServer(m));
    byConv.set(m.conversation_id, arr);
  }
  let threads = s.threads;
  for (const [cid, arr] of byConv) {
    const t = threads[cid];
    if (!t) continue;
    const merged = mergeIntoThread(t, arr);
    if (merged !== t) threads = { ...threads, [cid]: merged };
  }
  set({ conversations, receipts, typing, threads, queue: settleFromServer(s.queue, msgs, me.id) });
  return out;
}

/** Conversation objects (a sync answer, the `conversation` event, a group call). */
export function applyConversations(list: readonly Conversation[]): void {
  const s = getState();
  const me = s.me;
  if (!me || list.length === 0) return;
  let conversations = s.conversations;
  let receipts = s.receipts;
  let former = s.former;
  for (const c of list) {
    if (!c || typeof c.id !== "number" || !Array.isArray(c.members)) continue;
    conversations = applyConversation(conversations, c, s.openId);
    receipts = applyMemberMarks(receipts, c, me.id);
    if (former[c.id]) {
      // Back in a group one had left (added again).
      former = { ...former };
      delete former[c.id];
    }
  }
  set({ conversations, receipts, former });
}

/**
 * Conversations one is no longer a member of (`conversation:left`, a sync answer's `left`):
 * they leave the list, their cursors and their typing; the open one stays on screen, closed.
 */
export function applyLeft(ids: readonly number[]): void {
  const s = getState();
  if (ids.length === 0) return;
  let conversations = s.conversations;
  let former = s.former;
  const threads = { ...s.threads };
  const typing = { ...s.typing };
  for (const id of ids) {
    const c = conversations.find((x) => x.id === id);
    if (c && id === s.openId) former = { ...former, [id]: c };
    conversations = removeConversation(conversations, id);
    if (id !== s.openId) delete threads[id];
    delete typing[id];
  }
  const contacts = s.contacts.map((c) => (c.conversation_id !== null && ids.includes(c.conversation_id) ? { ...c, conversation_id: null } : c));
  set({ conversations, former, threads, typing, contacts, cursors: dropCursors(s.cursors, ids) });
}
