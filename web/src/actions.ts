// What one does to a message: edit, delete for everyone, react, and find the message a reply
// quotes. Each change is a socket event with an ack carrying the message as it now is; the
// other sockets get it as `message:updated`. Each answers null, or the sentence to show.

import { changeErrorText } from "./lib/errors";
import { reactionToSend } from "./lib/reactions";
import type { ChatMessage, Message } from "./lib/types";
import { getState, thread } from "./state";
import { connectedSocket, handleChanges, loadHistory } from "./store";

type Action = "edit" | "delete" | "react";

async function change(event: string, payload: object, action: Action): Promise<string | null> {
  const s = connectedSocket();
  // No queue for changes: they name a message as it is now, and may be refused by then.
  if (!s) return changeErrorText(action, "offline", "");
  let res: any;
  try {
    res = await s.timeout(15000).emitWithAck(event, payload);
  } catch {
    return changeErrorText(action, "no_answer", "");
  }
  if (res?.ok && res.message && typeof res.message.id === "number") {
    handleChanges([res.message as Message]);
    return null;
  }
  const code = typeof res?.error?.code === "string" ? res.error.code : "bad_request";
  return changeErrorText(action, code, typeof res?.error?.message === "string" ? res.error.message : "");
}

/** `message:edit`: the same body rules as a send (empty only with attachments); an unchanged
 *  text sends nothing. */
export async function editMessage(m: ChatMessage, text: string): Promise<string | null> {
  const body = text.trim();
  if (m.id === null) return null;
  if (!body && m.attachments.length === 0) return "A message cannot be empty. To remove it, delete it.";
  const max = getState().config.max_message_length;
  if ([...body].length > max) return `This message is too long (at most ${max.toLocaleString("en-US")} characters).`;
  if (body === m.body) return null;
  return change("message:edit", { message_id: m.id, body }, "edit");
}

/** `message:delete`: the message becomes a tombstone for everyone. */
export async function deleteMessage(m: ChatMessage): Promise<string | null> {
  if (m.id === null) return null;
  return change("message:delete", { message_id: m.id }, "delete");
}

/** `reaction:set`: `emoji` becomes one's reaction, or is removed when it already was. */
export async function toggleReaction(m: ChatMessage, emoji: string): Promise<string | null> {
  const me = getState().me;
  if (!me || m.id === null) return null;
  return change("reaction:set", { message_id: m.id, emoji: reactionToSend(m.reactions, emoji, me.id) }, "react");
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Makes sure the thread holds message `messageId`, loading older pages over REST until it
 * does or there are none left. Resolves whether it is there.
 */
export async function findMessage(conversationId: number, messageId: number): Promise<boolean> {
  for (let round = 0; round < 1000; round++) {
    const t = thread(conversationId);
    if (t.messages.some((m) => m.id === messageId)) return true;
    if (t.error || getState().openId !== conversationId) return false;
    if (t.loading) {
      await pause(100);
      continue;
    }
    // Within the pages loaded and not there (from before one joined), or nothing older.
    if (!t.loaded || !t.hasMore || (t.oldest !== null && messageId > t.oldest)) return false;
    await loadHistory(conversationId, true);
  }
  return false;
}
