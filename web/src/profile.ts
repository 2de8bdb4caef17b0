// One's profile (name and picture) over REST, and everyone's as it changes: the server sends
// `user:updated {"user"}` to those who have that person as a contact or share a conversation
// with them, and to their own other sockets. Each call answers null, or the sentence to show.

import { api } from "./api";
import { otherMember } from "./lib/conversations";
import { ApiError } from "./lib/errors";
import type { Conversation, User } from "./lib/types";
import { getState, set } from "./state";

/** The user fields a change may bring (the rest of each copy stays: roles, marks). */
function merged<T extends User>(old: T, user: User): T {
  const next = { ...old, name: user.name, avatar_url: user.avatar_url ?? null, phone: user.phone || old.phone };
  // Only one's own user object carries the notification setting.
  if (typeof user.notification_previews === "boolean") next.notification_previews = user.notification_previews;
  return next;
}

function inConversation(c: Conversation, user: User, contactIds: ReadonlySet<number>, selfId: number | undefined): Conversation {
  if (!c.members.some((u) => u.id === user.id)) return c;
  const next = { ...c, members: c.members.map((u) => (u.id === user.id ? merged(u, user) : u)) };
  // A direct conversation with someone who is not a contact is titled with their own name.
  if (c.kind === "direct" && selfId !== undefined && user.id !== selfId && otherMember(c, selfId)?.id === user.id && !contactIds.has(user.id))
    next.title = user.name;
  return next;
}

/** A user object from the server (`user:updated`, one's own call): every copy shown follows. */
export function applyUser(user: User): void {
  const s = getState();
  const selfId = s.me?.id;
  const contactIds = new Set(s.contacts.map((c) => c.user.id));
  const former: Record<number, Conversation> = {};
  for (const [id, c] of Object.entries(s.former)) former[Number(id)] = inConversation(c, user, contactIds, selfId);
  set({
    me: s.me && s.me.id === user.id ? merged(s.me, user) : s.me,
    // A contact's name is one's own nickname for them: only their user object changes.
    contacts: s.contacts.map((c) => (c.user.id === user.id ? { ...c, user: merged(c.user, user) } : c)),
    conversations: s.conversations.map((c) => inConversation(c, user, contactIds, selfId)),
    former,
  });
}

function errorText(e: unknown, fallback: string): string {
  if (!(e instanceof ApiError)) return fallback;
  switch (e.code) {
    case "invalid_name":
      return `That name cannot be used: ${e.message}`;
    case "network":
      return "Cannot reach Parley. Check your connection and try again.";
    default:
      return e.message || fallback;
  }
}

/** `PATCH /api/v1/me {"name"}`. */
export async function saveName(name: string): Promise<string | null> {
  try {
    const { user } = await api.rename(name.trim());
    applyUser(user);
    return null;
  } catch (e) {
    return errorText(e, "Could not save your name.");
  }
}

/** `PUT /api/v1/me/avatar` with the image's bytes. */
export async function setPicture(image: Blob): Promise<string | null> {
  try {
    const { user } = await api.setAvatar(image);
    applyUser(user);
    return null;
  } catch (e) {
    return errorText(e, "Could not change your picture.");
  }
}

/** `DELETE /api/v1/me/avatar`: initials again. */
export async function removePicture(): Promise<string | null> {
  try {
    await api.removeAvatar();
    const me = getState().me;
    if (me) applyUser({ ...me, avatar_url: null });
    return null;
  } catch (e) {
    return errorText(e, "Could not remove your picture.");
  }
}

/** `PATCH /api/v1/me {"notification_previews"}`: whether pushes carry the message text. */
export async function savePreviews(on: boolean): Promise<string | null> {
  try {
    const { user } = await api.setPreviews(on);
    applyUser({ ...user, notification_previews: typeof user.notification_previews === "boolean" ? user.notification_previews : on });
    return null;
  } catch (e) {
    return errorText(e, "Could not save this setting.");
  }
}
