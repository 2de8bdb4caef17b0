// Catching up with the conversation log over `sync` after every (re)connect, and keeping the
// per-conversation cursors current from live events.
//
// A cursor says "everything up to here is applied". Live events arrive in log order while
// connected, so each moves its conversation's cursor to the highest seq / updated_seq seen.
// During a sync they are applied at once but their cursor moves wait for the sync to end:
// the next page must still be asked from where the last one stopped. Acks (of a send, an
// edit, a group call over REST) move no cursor: an ack does not say that the changes before
// it in the log have arrived here.

import type { Socket } from "socket.io-client";
import { advance, fromConversations, mergeCursors, type Cursors } from "./lib/cursors";
import { logPosition } from "./lib/messages";
import { syncAll, type SyncPage } from "./lib/sync";
import type { Conversation, Message } from "./lib/types";
import { applyConversations, applyLeft, applyMessages, type Applied } from "./messages";
import { getState, set } from "./state";

let running = false;
let seenLive: Cursors = {};

/** Whether a sync is under way (the send queue waits for it). */
export function isSyncing(): boolean {
  return running;
}

function note(next: (c: Cursors) => Cursors): void {
  if (running) {
    seenLive = next(seenLive);
    return;
  }
  const cur = getState().cursors;
  const moved = next(cur);
  if (moved !== cur) set({ cursors: moved });
}

/** A `message` or `message:updated` event was applied. */
export function noteLiveMessages(msgs: readonly Message[]): void {
  note((c) => advance(c, msgs.filter((m) => m && typeof m.conversation_id === "number" && logPosition(m) > 0)));
}

/** A `conversation` event was applied: the object's seq is where that conversation stands. */
export function noteLiveConversation(c: Conversation): void {
  note((cur) => fromConversations(cur, [c]));
}

export interface SyncOutcome extends Applied {
  complete: boolean;
  /** Conversations that had no cursor: their history comes over REST (reload shown pages). */
  uncursored: number[];
}

/**
 * Brings the conversations and the messages of the loaded threads to the present. Resolves
 * with what the caller should follow up on; a sync already running makes this a no-op.
 */
export async function syncLog(s: Socket, visibleOpenId: () => number | null): Promise<SyncOutcome | null> {
  if (running) return null;
  running = true;
  seenLive = {};
  const out: SyncOutcome = { unknown: false, touchesOpen: false, complete: false, uncursored: [] };
  try {
    const apply = (page: SyncPage) => {
      // Messages first, then the conversation objects of the same snapshot (their unread
      // counts and marks are the server's), then the conversations one is no longer in.
      const a = applyMessages(page.messages, true, visibleOpenId());
      out.touchesOpen ||= a.touchesOpen;
      applyConversations(page.conversations);
      applyLeft(page.left);
      const known = new Set(getState().conversations.map((c) => c.id));
      out.unknown ||= a.unknown && page.messages.some((m) => !known.has(m.conversation_id));
    };
    const ask = (request: unknown) => s.timeout(15000).emitWithAck("sync", request);
    const result = await syncAll(ask, getState().cursors, apply, { limit: 200 });
    out.complete = result.complete;
    out.uncursored = result.uncursored;
    // Complete: the live events seen meanwhile count too. Cut short: only what the answers
    // covered, so that the next sync asks again from there.
    const kept = result.complete ? mergeCursors(result.cursors, seenLive) : result.cursors;
    set({ cursors: kept });
    return out;
  } finally {
    running = false;
    seenLive = {};
  }
}
