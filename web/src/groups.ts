// Group administration over REST (API.md, "Groups (v2)"): rename, add and remove members,
// make an admin, leave. The answer's conversation object is applied at once; the `conversation`
// event that the server also sends to every socket then changes nothing. Each call answers
// null, or the sentence to show.

import { api } from "./api";
import { ApiError, groupErrorText } from "./lib/errors";
import type { Conversation } from "./lib/types";
import { applyConversations, applyLeft } from "./messages";
import { getState, notify } from "./state";
import { closeConversation } from "./store";

async function run(call: () => Promise<{ conversation: Conversation } | void>, fallback: string): Promise<string | null> {
  try {
    const res = await call();
    if (res && res.conversation) applyConversations([res.conversation]);
    return null;
  } catch (e) {
    return e instanceof ApiError ? groupErrorText(e) : fallback;
  }
}

export function renameGroup(id: number, title: string): Promise<string | null> {
  return run(() => api.renameGroup(id, title.trim()), "Could not rename the group.");
}

export function addMembers(id: number, userIds: number[]): Promise<string | null> {
  return run(() => api.addMembers(id, userIds), "Could not add these people.");
}

export function makeAdmin(id: number, userId: number): Promise<string | null> {
  return run(() => api.setAdmin(id, userId, true), "Could not make them an admin.");
}

/** Removes someone else; the `conversation` event brings the group without them. */
export async function removeMember(id: number, userId: number): Promise<string | null> {
  const err = await run(() => api.removeMember(id, userId), "Could not remove them.");
  if (!err) {
    const c = getState().conversations.find((x) => x.id === id);
    // 204 has no body: show the group without them now rather than after the event.
    if (c && c.members.some((u) => u.id === userId)) applyConversations([{ ...c, members: c.members.filter((u) => u.id !== userId) }]);
  }
  return err;
}

/** Leaves the group (removes oneself): it leaves the list and the chat closes. */
export async function leaveGroup(id: number): Promise<string | null> {
  const me = getState().me;
  if (!me) return null;
  const title = getState().conversations.find((x) => x.id === id)?.title ?? "the group";
  const err = await run(() => api.removeMember(id, me.id), "Could not leave the group.");
  if (err) return err;
  if (getState().openId === id) closeConversation();
  applyLeft([id]);
  notify(`You left ${title}.`);
  return null;
}
