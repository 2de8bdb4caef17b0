// Pure logic for the conversation list: ordering, incoming messages, unread counts, search.

import { logPosition } from "./messages";
import type { Contact, Conversation, Message, User } from "./types";

export function activityTime(c: Conversation): number {
  return c.last_message?.sent_at ?? c.seen_at ?? 0;
}

/** Most recent activity first; ties by higher id (as the server orders them). */
export function sortConversations(list: readonly Conversation[]): Conversation[] {
  return list.slice().sort((a, b) => activityTime(b) - activityTime(a) || b.id - a.id);
}

/**
 * A message arrived or changed (live, by sync, or in an ack). Returns the updated list, or
 * null when the conversation is unknown (the caller then fetches the list again). A message
 * newer than the conversation's last one becomes its last message; it counts as unread when
 * it is from someone else, not a tombstone, and that conversation is not the one being read
 * right now. A newer state of the last message itself (an edit, a delete, a reaction)
 * replaces it without counting anything.
 */
export function applyIncoming(
  list: readonly Conversation[],
  m: Message,
  selfId: number,
  openConversationId: number | null,
): Conversation[] | null {
  const i = list.findIndex((c) => c.id === m.conversation_id);
  if (i < 0) return null;
  const c = list[i];
  const last = c.last_message;
  const lastId = last?.id ?? 0;
  if (m.id < lastId) return list as Conversation[];
  if (last && m.id === lastId) {
    const [pm, pl] = [logPosition(m), logPosition(last)];
    const newer = pm !== pl ? pm > pl : pm === 0 && m.body !== last.body;
    if (!newer) return list as Conversation[];
    const next = list.slice();
    next[i] = { ...c, last_message: m };
    return next;
  }
  const counts = m.sender_id !== selfId && openConversationId !== m.conversation_id && !m.deleted;
  const unread = counts ? c.unread_count + 1 : m.sender_id === selfId ? 0 : c.unread_count;
  const next = list.slice();
  next[i] = { ...c, last_message: m, unread_count: unread };
  return sortConversations(next);
}

export function markRead(list: readonly Conversation[], conversationId: number): Conversation[] {
  return list.map((c) => (c.id === conversationId && c.unread_count !== 0 ? { ...c, unread_count: 0 } : c));
}

export function upsertConversation(list: readonly Conversation[], c: Conversation): Conversation[] {
  const rest = list.filter((x) => x.id !== c.id);
  return sortConversations([...rest, c]);
}

/**
 * A conversation object from the server (sync, the `conversation` event, a group call) takes
 * the place of the one shown, unless the shown one is from later in the log (then the same
 * list comes back). It keeps the local `seen_at`; the open conversation keeps no unread count.
 */
export function applyConversation(list: readonly Conversation[], c: Conversation, openConversationId: number | null): Conversation[] {
  const old = list.find((x) => x.id === c.id);
  if (old && typeof old.seq === "number" && typeof c.seq === "number" && c.seq < old.seq) return list as Conversation[];
  const next: Conversation = { ...c, seen_at: old?.seen_at ?? Date.now() };
  if (c.id === openConversationId) next.unread_count = 0;
  return upsertConversation(list, next);
}

/**
 * After a list refresh: the conversations its answer lacks that stay. One opened or created here
 * after the request went out is not in the answer yet. The open one stays too when it is an
 * empty direct conversation: the server lists those only for whoever created them, so the other
 * person, who opened it from their contacts, would otherwise lose the chat they are looking at.
 */
export function keptUnlisted(current: readonly Conversation[], listed: ReadonlySet<number>, asked: number, openId: number | null): Conversation[] {
  return current.filter(
    (c) => !listed.has(c.id) && ((c.seen_at ?? 0) >= asked || (c.id === openId && c.kind === "direct" && c.last_message == null)),
  );
}

export function removeConversation(list: readonly Conversation[], id: number): Conversation[] {
  return list.some((c) => c.id === id) ? list.filter((c) => c.id !== id) : (list as Conversation[]);
}

/** Whether `userId` is an admin of the group (direct conversations have none). */
export function isAdmin(c: Conversation, userId: number): boolean {
  return c.kind === "group" && c.members.some((u) => u.id === userId && u.admin === true);
}

/** The other member of a direct conversation. */
export function otherMember(c: Conversation, selfId: number): User | undefined {
  return c.members.find((u) => u.id !== selfId);
}

export function otherMemberIds(c: Conversation, selfId: number): number[] {
  return c.members.filter((u) => u.id !== selfId).map((u) => u.id);
}

function fold(s: string): string {
  return s.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

/** Search by title, member names and phone numbers (digits match with or without spaces). */
export function filterConversations(list: readonly Conversation[], query: string): Conversation[] {
  const q = fold(query.trim());
  if (!q) return list as Conversation[];
  const digits = q.replace(/[^\d]/g, "");
  return list.filter((c) => {
    if (fold(c.title).includes(q)) return true;
    return c.members.some(
      (u) => fold(u.name).includes(q) || (digits.length >= 3 && u.phone.replace(/[^\d]/g, "").includes(digits)),
    );
  });
}

export function filterContacts(list: readonly Contact[], query: string): Contact[] {
  const q = fold(query.trim());
  if (!q) return list as Contact[];
  const digits = q.replace(/[^\d]/g, "");
  return list.filter(
    (c) =>
      fold(c.name).includes(q) ||
      fold(c.user.name).includes(q) ||
      (digits.length >= 3 && c.user.phone.replace(/[^\d]/g, "").includes(digits)),
  );
}

/** The name to show for a user: one's own nickname for a contact, else their own name. */
export function displayName(userId: number, contacts: readonly Contact[], members: readonly User[], selfId: number): string {
  if (userId === selfId) return "You";
  const c = contacts.find((x) => x.user.id === userId);
  if (c) return c.name;
  return members.find((u) => u.id === userId)?.name ?? "Someone";
}
