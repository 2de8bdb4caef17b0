import { describe, expect, it } from "vitest";
import { makeSnapshot, parseSnapshot, serializeSnapshot } from "../src/lib/snapshot";
import type { ChatMessage, Conversation, User } from "../src/lib/types";

const me: User = { id: 1, name: "Alice", phone: "+1" };
const conv = (id: number): Conversation => ({ id, kind: "group", title: `Group ${id}`, members: [me], last_message: null, unread_count: 0 });
const msg = (conversation: number, id: number | null, body = `m${id}`): ChatMessage => ({
  id, conversation_id: conversation, sender_id: 1, body, sent_at: 1, client_id: `c${id}`, seq: 0, updated_seq: 0,
  edited_at: null, deleted: false, reply_to: null, reactions: [], attachments: [],
});
const thread = (conversation: number, n: number) => ({
  loaded: true,
  messages: [...Array.from({ length: n }, (_, i) => msg(conversation, i + 1)), msg(conversation, null, "pending")],
});

describe("offline snapshot", () => {
  it("keeps the latest stored messages of the most recent conversations, within limits", () => {
    const conversations = [conv(3), conv(2), conv(1)];
    const limits = { conversations: 2, contacts: 5, threads: 1, messagesPerThread: 3, chars: 1e6 };
    const s = makeSnapshot(me, conversations, [], { 1: thread(1, 5), 2: thread(2, 5), 3: { loaded: false, messages: [] } }, 42, limits);
    expect(s.conversations.map((c) => c.id)).toEqual([3, 2]);
    expect(Object.keys(s.threads)).toEqual(["2"]);
    expect(s.threads[2].map((m) => m.id)).toEqual([3, 4, 5]); // no pending message
    expect(parseSnapshot(serializeSnapshot(s))).toEqual(s);
  });

  it("drops the least recent threads, then conversations, to fit", () => {
    const conversations = [conv(2), conv(1)];
    const s = makeSnapshot(me, conversations, [], { 1: thread(1, 20), 2: thread(2, 20) }, 1);
    const full = serializeSnapshot(s, 1e6)!;
    const smaller = parseSnapshot(serializeSnapshot(s, full.length - 10))!;
    expect(Object.keys(smaller.threads)).toEqual(["2"]);
    expect(serializeSnapshot(s, 10)).toBeNull();
  });

  it("refuses what is not a snapshot, and fills in what messages lack", () => {
    expect(parseSnapshot(null)).toBeNull();
    expect(parseSnapshot("{")).toBeNull();
    expect(parseSnapshot(JSON.stringify({ v: 2 }))).toBeNull();
    const odd = { v: 1, saved_at: 1, user: me, conversations: [conv(1), { id: "x" }], contacts: [], threads: { 1: [{ id: 4, conversation_id: 1, body: "hi" }, { id: "y" }] } };
    const s = parseSnapshot(JSON.stringify(odd))!;
    expect(s.conversations.map((c) => c.id)).toEqual([1]);
    expect(s.threads[1]).toHaveLength(1);
    expect(s.threads[1][0]).toMatchObject({ id: 4, body: "hi", reactions: [], attachments: [], deleted: false });
  });
});
