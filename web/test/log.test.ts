import { describe, expect, it } from "vitest";
import { applyConversation, applyIncoming, isAdmin } from "../src/lib/conversations";
import { firstChars, fromServer, mergeMessages, quoteOf, refreshQuotes } from "../src/lib/messages";
import { applyMemberMarks } from "../src/lib/receipts";
import { myReaction, reactionChips, reactionToSend } from "../src/lib/reactions";
import type { Conversation, Message } from "../src/lib/types";
import { mergeIntoThread } from "../src/messages";
import { emptyThread } from "../src/state";

const msg = (id: number, extra: Partial<Message> = {}): Message => ({
  id, conversation_id: 7, sender_id: 2, body: `m${id}`, sent_at: 1_700_000_000_000 + id, client_id: `c${id}`,
  seq: id, updated_seq: id, edited_at: null, deleted: false, reply_to: null, reactions: [], attachments: [], ...extra,
});

describe("message:updated (upsert by id)", () => {
  const list = mergeMessages([], [msg(1), msg(2), msg(3)].map(fromServer));

  it("replaces the message by a later state of it", () => {
    const edited = fromServer(msg(2, { body: "fixed", updated_seq: 5, edited_at: 1_700_000_100_000 }));
    const out = mergeMessages(list, [edited]);
    expect(out.map((m) => m.body)).toEqual(["m1", "fixed", "m3"]);
    expect(out[1].edited_at).not.toBeNull();
  });

  it("changes nothing when applied twice (the same array comes back)", () => {
    const edited = fromServer(msg(2, { body: "fixed", updated_seq: 5 }));
    const once = mergeMessages(list, [edited]);
    expect(mergeMessages(once, [edited])).toBe(once);
    expect(mergeMessages(once, [fromServer(msg(2, { body: "fixed", updated_seq: 5 }))])).toBe(once);
  });

  it("ignores an older state arriving after a newer one (live event, then a stale page)", () => {
    const deleted = fromServer(msg(2, { body: "", deleted: true, updated_seq: 9 }));
    const out = mergeMessages(list, [deleted]);
    expect(mergeMessages(out, [fromServer(msg(2, { body: "fixed", updated_seq: 5 }))])).toBe(out);
    expect(out[1].deleted).toBe(true);
  });

  it("makes a tombstone without body or reactions, whatever the server left in it", () => {
    const t = fromServer(msg(4, { deleted: true, body: "secret", reactions: [{ emoji: "👍", user_ids: [1] }] }));
    expect(t.body).toBe("");
    expect(t.reactions).toEqual([]);
  });

  it("fills in the v2 fields for a message object without them", () => {
    const m = fromServer({ id: 5, conversation_id: 7, sender_id: 2, body: "hi", sent_at: 1, client_id: "x" });
    expect(m).toMatchObject({ seq: 0, updated_seq: 0, edited_at: null, deleted: false, reply_to: null, reactions: [] });
  });
});

describe("quotes", () => {
  const reply = fromServer(msg(10, { reply_to: { id: 3, sender_id: 2, body: "m3", deleted: false } }));
  const list = mergeMessages([], [fromServer(msg(3)), reply]);

  it("follow the quoted message's own message:updated", () => {
    const edited = fromServer(msg(3, { body: "edited text", updated_seq: 12 }));
    const out = refreshQuotes(mergeMessages(list, [edited]), [edited]);
    expect(out[1].reply_to).toEqual({ id: 3, sender_id: 2, body: "edited text", deleted: false });
    // The reply itself did not change in the log.
    expect(out[1].updated_seq).toBe(10);
    const gone = fromServer(msg(3, { body: "", deleted: true, updated_seq: 13 }));
    expect(refreshQuotes(out, [gone])[1].reply_to).toEqual({ id: 3, sender_id: 2, body: "", deleted: true });
  });

  it("leave the list as it is when no quote changes", () => {
    expect(refreshQuotes(list, [fromServer(msg(3))])).toBe(list);
    expect(refreshQuotes(list, [fromServer(msg(4))])).toBe(list);
  });

  it("hold the first 100 characters, never half an emoji", () => {
    const long = "😀".repeat(150);
    expect([...firstChars(long)].length).toBe(100);
    expect(quoteOf(fromServer(msg(3, { body: long }))).body).toBe("😀".repeat(100));
  });

  it("are brought up to date even when the quoted message is older than the pages loaded", () => {
    const t = { ...emptyThread, loaded: true, hasMore: true, oldest: 10, messages: [reply] };
    const edited = fromServer(msg(3, { body: "later", updated_seq: 20 }));
    const out = mergeIntoThread(t, [edited]);
    // Message 3 waits for the older page; the reply's quote shows its new text now.
    expect(out.messages.map((m) => m.id)).toEqual([10]);
    expect(out.messages[0].reply_to?.body).toBe("later");
  });
});

describe("threads", () => {
  it("take new messages and changes within the pages loaded, not before them", () => {
    const t = { ...emptyThread, loaded: true, hasMore: true, oldest: 10, messages: [fromServer(msg(10)), fromServer(msg(11))] };
    const out = mergeIntoThread(t, [fromServer(msg(4, { updated_seq: 30 })), fromServer(msg(12)), fromServer(msg(11, { body: "x", updated_seq: 31 }))]);
    expect(out.messages.map((m) => [m.id, m.body])).toEqual([[10, "m10"], [11, "x"], [12, "m12"]]);
  });

  it("take everything once the whole history is loaded, and nothing before a first load", () => {
    const full = { ...emptyThread, loaded: true, hasMore: false, oldest: 10, messages: [fromServer(msg(10))] };
    expect(mergeIntoThread(full, [fromServer(msg(4))]).messages.map((m) => m.id)).toEqual([4, 10]);
    expect(mergeIntoThread(emptyThread, [fromServer(msg(4))])).toBe(emptyThread);
  });
});

describe("the conversation list and changes", () => {
  const alice = { id: 1, name: "Alice", phone: "+14155550101" };
  const bob = { id: 2, name: "Bob", phone: "+14155550102" };
  const conv = (last: Message | null, unread = 0, extra: Partial<Conversation> = {}): Conversation => ({
    id: 7, kind: "group", title: "G", members: [alice, bob], last_message: last, unread_count: unread, seq: 5, ...extra,
  });

  it("shows an edit or a delete of the last message without counting it unread", () => {
    const list = [conv(msg(5), 1)];
    const edited = applyIncoming(list, msg(5, { body: "new", updated_seq: 8 }), 1, null)!;
    expect(edited[0].last_message?.body).toBe("new");
    expect(edited[0].unread_count).toBe(1);
    expect(applyIncoming(edited, msg(5, { body: "new", updated_seq: 8 }), 1, null)).toBe(edited);
    expect(applyIncoming(edited, msg(5, { body: "old", updated_seq: 6 }), 1, null)).toBe(edited);
    expect(applyIncoming(edited, msg(4, { updated_seq: 9 }), 1, null)).toBe(edited);
  });

  it("does not count a tombstone as unread", () => {
    const out = applyIncoming([conv(msg(5))], msg(6, { deleted: true, body: "" }), 1, null)!;
    expect(out[0].unread_count).toBe(0);
    expect(out[0].last_message?.id).toBe(6);
  });

  it("takes a conversation object unless the one shown is from later in the log", () => {
    const list = [conv(msg(5), 0, { seq: 9, title: "Now" })];
    expect(applyConversation(list, conv(msg(5), 0, { seq: 7, title: "Before" }), null)).toBe(list);
    const renamed = applyConversation(list, conv(msg(5), 2, { seq: 10, title: "Later" }), null);
    expect(renamed[0].title).toBe("Later");
    expect(renamed[0].unread_count).toBe(2);
    expect(applyConversation(list, conv(msg(5), 2, { seq: 10 }), 7)[0].unread_count).toBe(0);
  });

  it("reads admins and the members' marks from a v2 conversation object", () => {
    const c = conv(null, 0, { members: [{ ...alice, admin: true }, { ...bob, admin: false, read_up_to: 4, delivered_up_to: 6 }] });
    expect(isAdmin(c, 1)).toBe(true);
    expect(isAdmin(c, 2)).toBe(false);
    expect(isAdmin({ ...c, kind: "direct" }, 1)).toBe(false);
    expect(applyMemberMarks({}, c, 1)).toEqual({ 7: { 2: { read: 4, delivered: 6 } } });
  });
});

describe("reactions", () => {
  const rs = [
    { emoji: "👍", user_ids: [2, 1] },
    { emoji: "❤️", user_ids: [3] },
  ];

  it("toggles: choosing one's own emoji removes it, another replaces it", () => {
    expect(myReaction(rs, 1)).toBe("👍");
    expect(reactionToSend(rs, "👍", 1)).toBeNull();
    expect(reactionToSend(rs, "❤️", 1)).toBe("❤️");
    expect(reactionToSend(rs, "👍", 4)).toBe("👍");
    // No normalisation: ❤ and ❤️ are two reactions.
    expect(reactionToSend([{ emoji: "❤️", user_ids: [1] }], "❤", 1)).toBe("❤");
  });

  it("shows chips with counts, in the server's order, pressed when one's own", () => {
    expect(reactionChips(rs, 1)).toEqual([
      { emoji: "👍", count: 2, mine: true, userIds: [2, 1] },
      { emoji: "❤️", count: 1, mine: false, userIds: [3] },
    ]);
    expect(reactionChips([{ emoji: "😂", user_ids: [] }], 1)).toEqual([]);
  });
});
