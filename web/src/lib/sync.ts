// The `sync` paging loop (API.md, "Catching up: sync"), apart from the socket so that it can be
// tested with a fake one: ask with the cursors, apply the answer, advance the cursors from
// the messages received while `has_more`, and once it is false take each conversation
// object's `seq`.

import { advance, cursorList, dropCursors, fromConversations, type Cursors } from "./cursors";
import type { Conversation, Message } from "./types";

export interface SyncRequest {
  cursors: { conversation_id: number; seq: number }[];
  limit: number;
}

export interface SyncPage {
  conversations: Conversation[];
  messages: Message[];
  /** Ids from the cursors of conversations the caller is no longer a member of. */
  left: number[];
  has_more: boolean;
}

/** Sends one `sync` and resolves with its ack (rejects when there is none). */
export type AskSync = (request: SyncRequest) => Promise<unknown>;

export interface SyncResult {
  /** Whether the client is now up to date (every answer came, the last without has_more). */
  complete: boolean;
  /** The cursors to keep: complete, or advanced as far as the answers applied go. */
  cursors: Cursors;
  /** Conversations that had no cursor when the sync started (their history is REST's). */
  uncursored: number[];
  /** Error code of a refused sync, "no_answer" when the ack did not come, else null. */
  error: string | null;
}

function asPage(v: unknown): SyncPage | null {
  const r = v as Partial<SyncPage> & { ok?: unknown };
  if (!r || r.ok !== true || !Array.isArray(r.messages) || !Array.isArray(r.conversations)) return null;
  return {
    conversations: r.conversations,
    messages: r.messages,
    left: Array.isArray(r.left) ? r.left.filter((x): x is number => typeof x === "number") : [],
    has_more: r.has_more === true,
  };
}

/**
 * Runs `sync` until the client has everything. `apply` is called with each answer before the
 * next question (so what it applies is what the cursors then say). Without an answer, or with
 * an error, it stops and returns the cursors of the answers applied so far.
 */
export async function syncAll(
  ask: AskSync,
  start: Cursors,
  apply: (page: SyncPage) => void,
  options: { limit?: number; maxRounds?: number } = {},
): Promise<SyncResult> {
  const limit = options.limit ?? 200;
  const maxRounds = options.maxRounds ?? 1000;
  let cursors = start;
  const uncursored = new Set<number>();
  for (let round = 0; round < maxRounds; round++) {
    let raw: unknown;
    try {
      raw = await ask({ cursors: cursorList(cursors), limit });
    } catch {
      return { complete: false, cursors, uncursored: [...uncursored], error: "no_answer" };
    }
    const page = asPage(raw);
    if (!page) {
      const code = (raw as { error?: { code?: unknown } } | null)?.error?.code;
      return { complete: false, cursors, uncursored: [...uncursored], error: typeof code === "string" ? code : "bad_answer" };
    }
    for (const c of page.conversations) if (!(c.id in start)) uncursored.add(c.id);
    apply(page);
    cursors = dropCursors(advance(cursors, page.messages), page.left);
    if (!page.has_more) {
      return { complete: true, cursors: fromConversations(cursors, page.conversations), uncursored: [...uncursored], error: null };
    }
    // has_more without a message would ask the same question forever: stop, try next time.
    if (page.messages.length === 0) break;
  }
  return { complete: false, cursors, uncursored: [...uncursored], error: "no_progress" };
}
