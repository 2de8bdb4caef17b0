// Pure logic for the conversation list: ordering, incoming messages, unread counts, search.

import type { Contact, Conversation, Message, User } from "./types";

export function activityTime(c: Conversation): number {
  return c.last_message?.sent_at ?? c.seen_at ?? 0;
}

/** Most recent activity first; ties by higher id (as the server orders them). */
export function sortConversations(list: readonly Conversation[]): Conversation[] {
  return list.slice().sort((a, b) => activityTime(b) - activityTime(a) || b.id - a.id);
}

/**
 * A message arrived (live or by sync). Returns the updated list, or null when the
 * conversation is unknown (the caller then fetches the list again). A message counts as
 * unread when it is from someone else, newer than anything seen in that conversation, and
 * that conversation is not the one being read right now.
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
  const lastId = c.last_message?.id ?? 0;
  if (m.id <= lastId) return list as Conversation[];
  const unread =
    m.sender_id !== selfId && openConversationId !== m.conversation_id ? c.unread_count + 1 : m.sender_id === selfId ? 0 : c.unread_count;
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
