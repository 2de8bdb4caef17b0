import { describe, expect, it } from "vitest";
import { applyIncoming, displayName, filterConversations, keptUnlisted, markRead, sortConversations, upsertConversation } from "../src/lib/conversations";
import { ApiError, parseRetryAfter, signInErrorText } from "../src/lib/errors";
import { dayLabel, groupByDay } from "../src/lib/time";
import { fromServer } from "../src/lib/messages";
import type { Conversation, Message } from "../src/lib/types";

const alice = { id: 1, name: "Alice", phone: "+14155550101" };
const bob = { id: 2, name: "Bob", phone: "+14155550102" };
const carol = { id: 3, name: "Carol Ünal", phone: "+442079460958" };
const m = (id: number, conversation_id: number, sender_id: number, sent_at = id * 1000): Message => ({
  id, conversation_id, sender_id, body: `m${id}`, sent_at, client_id: `c${id}`,
});
const conv = (id: number, last: Message | null, unread = 0, extra: Partial<Conversation> = {}): Conversation => ({
  id, kind: "direct", title: id === 7 ? "Bobby" : "Carol", members: id === 7 ? [alice, bob] : [alice, carol],
  last_message: last, unread_count: unread, ...extra,
});

describe("conversation list", () => {
  it("keeps, after a refresh, what its answer could not list yet and the open empty direct chat", () => {
    const asked = 1_000;
    const current = [
      conv(7, null, 0, { seen_at: 1_200 }), // opened after the request went out
      conv(8, null, 0, { seen_at: 900 }), // open: empty, and listed only for its creator
      conv(9, m(3, 9, 3), 0, { seen_at: 900 }), // open elsewhere, gone from the answer: left
      conv(10, null, 0, { seen_at: 900 }), // neither
    ];
    expect(keptUnlisted(current, new Set([10]), asked, 8).map((c) => c.id)).toEqual([7, 8]);
    expect(keptUnlisted(current, new Set(), asked, 9).map((c) => c.id)).toEqual([7]);
    expect(keptUnlisted(current, new Set([7, 8]), asked, 8)).toEqual([]);
  });

  it("orders by last activity, then by higher id", () => {
    const list = sortConversations([conv(7, m(1, 7, 2)), conv(8, m(2, 8, 3)), conv(9, null, 0, { seen_at: 500 })]);
    expect(list.map((c) => c.id)).toEqual([8, 7, 9]);
    expect(sortConversations([conv(7, null), conv(8, null)]).map((c) => c.id)).toEqual([8, 7]);
  });

  it("raises the unread count of a conversation that is not open, and moves it up", () => {
    const list = [conv(8, m(5, 8, 3)), conv(7, m(4, 7, 2))];
    const next = applyIncoming(list, m(6, 7, 2), 1, 8)!;
    expect(next[0].id).toBe(7);
    expect(next[0].unread_count).toBe(1);
    expect(next[0].last_message?.id).toBe(6);
  });

  it("does not count messages in the open conversation, one's own, or ones already seen", () => {
    const list = [conv(7, m(4, 7, 2), 2)];
    expect(applyIncoming(list, m(5, 7, 2), 1, 7)![0].unread_count).toBe(2);
    expect(applyIncoming(list, m(5, 7, 1), 1, null)![0].unread_count).toBe(0);
    expect(applyIncoming(list, m(4, 7, 2), 1, null)).toBe(list);
    expect(applyIncoming(list, m(3, 7, 2), 1, null)).toBe(list);
  });

  it("says when a message belongs to a conversation it does not know", () => {
    expect(applyIncoming([conv(7, null)], m(5, 99, 2), 1, null)).toBeNull();
  });

  it("marks read and upserts", () => {
    const list = markRead([conv(7, m(4, 7, 2), 3)], 7);
    expect(list[0].unread_count).toBe(0);
    const up = upsertConversation(list, conv(8, m(9, 8, 3)));
    expect(up.map((c) => c.id)).toEqual([8, 7]);
  });

  it("filters by title, member name (accents folded) and phone digits", () => {
    const list = [conv(7, null), conv(8, null)];
    expect(filterConversations(list, "bob").map((c) => c.id)).toEqual([7]);
    expect(filterConversations(list, "unal").map((c) => c.id)).toEqual([8]);
    expect(filterConversations(list, "7946").map((c) => c.id)).toEqual([8]);
    expect(filterConversations(list, "  ")).toHaveLength(2);
    expect(filterConversations(list, "zzz")).toHaveLength(0);
  });

  it("names senders by nickname, else by their own name", () => {
    const contacts = [{ user: bob, name: "Bobby", conversation_id: 7 }];
    expect(displayName(2, contacts, [alice, bob], 1)).toBe("Bobby");
    expect(displayName(3, contacts, [alice, carol], 1)).toBe("Carol Ünal");
    expect(displayName(1, contacts, [alice], 1)).toBe("You");
  });
});

describe("days and errors", () => {
  it("labels days relative to now and groups messages per local day", () => {
    const now = new Date(2025, 5, 18, 15, 0).getTime();
    expect(dayLabel(new Date(2025, 5, 18, 1, 0).getTime(), now)).toBe("Today");
    expect(dayLabel(new Date(2025, 5, 17, 23, 59).getTime(), now)).toBe("Yesterday");
    const msgs = [
      m(1, 7, 2, new Date(2025, 5, 17, 10).getTime()),
      m(2, 7, 2, new Date(2025, 5, 17, 22).getTime()),
      m(3, 7, 1, new Date(2025, 5, 18, 9).getTime()),
    ].map(fromServer);
    const groups = groupByDay(msgs, now);
    expect(groups.map((g) => [g.label, g.messages.length])).toEqual([["Yesterday", 2], ["Today", 1]]);
  });

  it("says how many tries are left and how long to wait", () => {
    expect(signInErrorText(new ApiError(400, "invalid_code", "Wrong code.", null, 3))).toBe("Wrong code. 3 tries left.");
    expect(signInErrorText(new ApiError(400, "invalid_code", "Wrong code.", null, 1))).toContain("1 try left");
    expect(signInErrorText(new ApiError(429, "rate_limited", "Slow down", 25))).toContain("25 seconds");
    expect(signInErrorText(new ApiError(429, "rate_limited", "Slow down", 600))).toContain("10 minutes");
    expect(signInErrorText(new ApiError(410, "code_expired", "Expired"))).toContain("expired");
    expect(signInErrorText(new ApiError(429, "too_many_attempts", "x", 30))).toContain("Too many wrong tries");
    expect(signInErrorText(new ApiError(502, "sms_failed", "Carrier said no"))).toContain("Carrier said no");
    expect(parseRetryAfter("12")).toBe(12);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 0)).toBe(10);
  });
});
