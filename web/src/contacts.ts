// Contacts and groups: add, rename and remove contacts, open a direct conversation, create a
// group. Each answers null, or the sentence to show when the server refused.

import { api } from "./api";
import { ApiError, contactErrorText } from "./lib/errors";
import { otherMember, upsertConversation } from "./lib/conversations";
import { getState, notify, openConversation, refreshLists, refreshSoon, set } from "./store";

export async function addContact(phone: string, name: string): Promise<string | null> {
  try {
    const { contact } = await api.addContact(phone, name.trim() || undefined);
    set({ contacts: [...getState().contacts.filter((c) => c.user.id !== contact.user.id), contact].sort((a, b) => a.name.localeCompare(b.name)) });
    if (typeof contact.online === "boolean") set({ presence: { ...getState().presence, [contact.user.id]: { online: contact.online, last_seen: null } } });
    notify(`${contact.name} was added to your contacts.`);
    refreshSoon();
    return null;
  } catch (e) {
    return e instanceof ApiError ? contactErrorText(e) : "Could not add this contact.";
  }
}

export async function renameContact(userId: number, name: string): Promise<string | null> {
  try {
    const { contact } = await api.renameContact(userId, name.trim());
    set({ contacts: getState().contacts.map((c) => (c.user.id === userId ? { ...c, ...contact } : c)) });
    const me = getState().me;
    set({
      conversations: getState().conversations.map((c) =>
        c.kind === "direct" && me && otherMember(c, me.id)?.id === userId ? { ...c, title: contact.name } : c,
      ),
    });
    refreshSoon();
    return null;
  } catch (e) {
    return e instanceof ApiError ? contactErrorText(e) : "Could not rename this contact.";
  }
}

export async function removeContact(userId: number): Promise<string | null> {
  try {
    await api.removeContact(userId);
    const name = getState().contacts.find((c) => c.user.id === userId)?.name ?? "The contact";
    set({ contacts: getState().contacts.filter((c) => c.user.id !== userId) });
    notify(`${name} was removed from your contacts. Your messages are kept.`);
    await refreshLists();
    return null;
  } catch (e) {
    return e instanceof ApiError ? contactErrorText(e) : "Could not remove this contact.";
  }
}

/** Opens (creating if needed) the direct conversation with a user. */
export async function openDirect(userId: number): Promise<string | null> {
  try {
    const { conversation } = await api.openConversation([userId]);
    set({ conversations: upsertConversation(getState().conversations, { ...conversation, seen_at: Date.now() }) });
    set({ contacts: getState().contacts.map((c) => (c.user.id === userId ? { ...c, conversation_id: conversation.id } : c)) });
    await openConversation(conversation.id);
    return null;
  } catch (e) {
    return e instanceof ApiError ? contactErrorText(e) : "Could not open this conversation.";
  }
}

export async function createGroup(title: string, memberIds: number[]): Promise<string | null> {
  try {
    const { conversation } = await api.openConversation(memberIds, title.trim());
    set({ conversations: upsertConversation(getState().conversations, { ...conversation, seen_at: Date.now() }) });
    await openConversation(conversation.id);
    return null;
  } catch (e) {
    return e instanceof ApiError ? contactErrorText(e) : "Could not create the group.";
  }
}
