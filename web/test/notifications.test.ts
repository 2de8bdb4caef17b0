import { describe, expect, it } from "vitest";
import {
  MUTED_FOREVER,
  NEUTRAL_BODY,
  CLOSE_NOTIFICATIONS,
  base64UrlToBytes,
  closeTag,
  closes,
  conversationPath,
  isMuted,
  isStale,
  muteUntil,
  mutedLabel,
  notificationFor,
  parseCloseRequest,
  parsePushPayload,
  readStates,
  subscriptionBody,
  type CloseRule,
} from "../src/lib/notifications";
import type { Conversation, Message } from "../src/lib/types";

const last = (id: number): Message => ({ id, conversation_id: 7, sender_id: 2, body: "hi", sent_at: 1, client_id: "c" });
const conv = (patch: Partial<Conversation> = {}): Conversation => ({
  id: 7,
  kind: "direct",
  title: "Bob",
  members: [{ id: 1, name: "Alice", phone: "+1", read_up_to: 10 }, { id: 2, name: "Bob", phone: "+2" }],
  last_message: last(12),
  unread_count: 2,
  ...patch,
});

describe("push payloads", () => {
  it("shows the conversation's title and the text, tagged per conversation", () => {
    const p = parsePushPayload({ conversation_id: 7, message_id: 12, title: "Bob", body: "Bob: hello" });
    const { title, options } = notificationFor(p, 1000);
    expect(title).toBe("Bob");
    expect(options).toMatchObject({ body: "Bob: hello", tag: "conversation-7", data: { conversation_id: 7, message_id: 12 }, renotify: true, timestamp: 1000 });
    expect(options.icon).toBe("/icons/icon-192.png");
    expect(options.badge).toBe("/icons/badge-96.png");
  });

  it("says only that there is a new message when previews are off", () => {
    const { title, options } = notificationFor(parsePushPayload({ conversation_id: 7, message_id: 12, title: "Hikers" }));
    expect(title).toBe("Hikers");
    expect(options.body).toBe(NEUTRAL_BODY);
  });

  it("still shows something for a payload it cannot read", () => {
    for (const bad of [null, "text", { conversation_id: "7", message_id: 1 }, { conversation_id: 7 }, { conversation_id: -1, message_id: 2 }]) {
      expect(parsePushPayload(bad)).toBeNull();
      const { title, options } = notificationFor(parsePushPayload(bad));
      expect(title).toBe("Parley");
      expect(options.body).toBe(NEUTRAL_BODY);
      expect(options.data).toEqual({ conversation_id: null, message_id: null });
    }
    expect(parsePushPayload({ conversation_id: 7, message_id: 12, title: " ", body: "" })).toEqual({ conversation_id: 7, message_id: 12, title: "Parley" });
  });

  it("opens the conversation's address", () => {
    expect(conversationPath(7)).toBe("/c/7");
    expect(conversationPath(null)).toBe("/");
  });
});

describe("stale notifications", () => {
  it("are those read here or elsewhere, of conversations one is no longer in, or with nothing unread", () => {
    const states = (patch: Partial<Conversation> = {}) => readStates([conv(patch)], 1);
    expect(states()).toEqual([{ id: 7, read_up_to: 10, last_id: 12, unread_count: 2 }]);
    expect(isStale({ conversation_id: 7, message_id: 12 }, states())).toBe(false);
    expect(isStale({ conversation_id: 7, message_id: 10 }, states())).toBe(true); // read mark
    expect(isStale({ conversation_id: 7, message_id: 12 }, [])).toBe(true); // gone
    expect(isStale({ conversation_id: 7, message_id: 12 }, states({ unread_count: 0 }))).toBe(true);
    // A message newer than what the list knows is news.
    expect(isStale({ conversation_id: 7, message_id: 13 }, states({ unread_count: 0 }))).toBe(false);
    expect(isStale({ conversation_id: null, message_id: null }, [])).toBe(false);
  });
});

describe("what a page asks the worker to close", () => {
  const n = (message_id: number | null, conversation_id: number | null = 7) => ({ conversation_id, message_id });

  it("picks one conversation's, those read up to a mark, deleted messages' or stale ones", () => {
    expect(closeTag({ kind: "conversation", conversation_id: 7 })).toBe("conversation-7");
    expect(closes({ kind: "conversation", conversation_id: 7 }, n(12))).toBe(true);
    const read: CloseRule = { kind: "read", conversation_id: 7, up_to: 12 };
    expect(closeTag(read)).toBe("conversation-7");
    expect([closes(read, n(12)), closes(read, n(13)), closes(read, n(null))]).toEqual([true, false, false]);
    const deleted: CloseRule = { kind: "deleted", message_ids: [12, 14] };
    expect(closeTag(deleted)).toBeUndefined();
    expect([closes(deleted, n(12)), closes(deleted, n(13))]).toEqual([true, false]);
    const stale: CloseRule = { kind: "stale", conversations: readStates([conv()], 1) };
    expect(closeTag(stale)).toBeUndefined();
    expect([closes(stale, n(10)), closes(stale, n(12)), closes(stale, n(5, 8)), closes(stale, n(null, null))]).toEqual([true, false, true, false]);
  });

  it("takes only well-formed requests", () => {
    const rules = [
      { kind: "conversation", conversation_id: 7 },
      { kind: "read", conversation_id: 7, up_to: 0 },
      { kind: "deleted", message_ids: [1, 2] },
      { kind: "stale", conversations: [{ id: 7, read_up_to: 0, last_id: 0, unread_count: 0 }] },
    ];
    for (const rule of rules) expect(parseCloseRequest({ type: CLOSE_NOTIFICATIONS, rule })).toEqual(rule);
    for (const bad of [
      null,
      "x",
      { type: "other", rule: rules[0] },
      { type: CLOSE_NOTIFICATIONS },
      { type: CLOSE_NOTIFICATIONS, rule: { kind: "conversation", conversation_id: "7" } },
      { type: CLOSE_NOTIFICATIONS, rule: { kind: "read", conversation_id: 7, up_to: -1 } },
      { type: CLOSE_NOTIFICATIONS, rule: { kind: "deleted", message_ids: [1, 0] } },
      { type: CLOSE_NOTIFICATIONS, rule: { kind: "stale", conversations: [{ id: 7 }] } },
      { type: CLOSE_NOTIFICATIONS, rule: { kind: "all" } },
    ])
      expect(parseCloseRequest(bad)).toBeNull();
  });
});

describe("muting", () => {
  const now = new Date(2030, 0, 1, 12, 0).getTime(); // local noon: an hour later is the same day
  it("is muted until a time in the future", () => {
    expect(isMuted({ muted_until: null }, now)).toBe(false);
    expect(isMuted({}, now)).toBe(false);
    expect(isMuted({ muted_until: now - 1 }, now)).toBe(false);
    expect(isMuted({ muted_until: now + 1 }, now)).toBe(true);
    expect(muteUntil(8 * 3600_000, now)).toBe(now + 8 * 3600_000);
    expect(muteUntil(null, now)).toBe(MUTED_FOREVER);
  });

  it("says until when", () => {
    expect(mutedLabel({ muted_until: null }, now)).toBe("");
    expect(mutedLabel({ muted_until: MUTED_FOREVER }, now)).toBe("Muted");
    expect(mutedLabel({ muted_until: now + 3600_000 }, now)).toMatch(/^Muted until \d{1,2}:\d\d [AP]M$/);
    expect(mutedLabel({ muted_until: now + 7 * 24 * 3600_000 }, now)).toMatch(/^Muted until \w{3}, \w{3} \d{1,2}, \d{1,2}:\d\d [AP]M$/);
  });
});

describe("Web Push shapes", () => {
  it("decodes a base64url key, with or without padding", () => {
    expect([...base64UrlToBytes("AQID_-8")]).toEqual([1, 2, 3, 255, 239]);
    expect([...base64UrlToBytes("AQID_-8=")]).toEqual([1, 2, 3, 255, 239]);
  });

  it("takes the endpoint and keys of a subscription, or nothing", () => {
    const json = { endpoint: "https://push.example/x", expirationTime: null, keys: { p256dh: "BA", auth: "AQ" } };
    expect(subscriptionBody(json)).toEqual({ endpoint: "https://push.example/x", keys: { p256dh: "BA", auth: "AQ" } });
    expect(subscriptionBody({ endpoint: "https://push.example/x" })).toBeNull();
    expect(subscriptionBody(null)).toBeNull();
  });
});
