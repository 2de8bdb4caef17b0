import { describe, expect, it } from "vitest";
import { compareMessages, firstStoredId, fromQueued, fromServer, lastStoredId, mergeMessages, messageStatus, removePending } from "../src/lib/messages";
import { applyReceipt, noteAuthorRead, parseReceiptBook, type ReceiptBook } from "../src/lib/receipts";
import type { Message, QueuedMessage } from "../src/lib/types";

const msg = (id: number, client_id = `c${id}`, sender_id = 1, body = `m${id}`): Message => ({
  id, conversation_id: 7, sender_id, body, sent_at: 1_700_000_000_000 + id, client_id,
});
const queued = (client_id: string, created_at = 1_800_000_000_000, body = "hi"): QueuedMessage => ({
  client_id, conversation_id: 7, sender_id: 1, body, created_at,
});

describe("mergeMessages", () => {
  it("orders stored messages by id whatever the arrival order", () => {
    const out = mergeMessages([], [msg(5), msg(2), msg(9)].map(fromServer));
    expect(out.map((m) => m.id)).toEqual([2, 5, 9]);
  });

  it("drops duplicates by id (sync after a live event, overlapping pages)", () => {
    const a = mergeMessages([], [msg(1), msg(2)].map(fromServer));
    const b = mergeMessages(a, [msg(2), msg(3), msg(1)].map(fromServer));
    expect(b.map((m) => m.id)).toEqual([1, 2, 3]);
  });

  it("returns the same array when nothing changed", () => {
    const a = mergeMessages([], [msg(1), msg(2)].map(fromServer));
    expect(mergeMessages(a, [fromServer(msg(2))])).toBe(a);
  });

  it("replaces a pending message by its stored self (same sender and client_id)", () => {
    const withPending = mergeMessages([fromServer(msg(1))], [fromQueued(queued("abc"))]);
    expect(withPending.map((m) => m.id)).toEqual([1, null]);
    const settled = mergeMessages(withPending, [fromServer(msg(4, "abc"))]);
    expect(settled).toHaveLength(2);
    expect(settled.map((m) => m.id)).toEqual([1, 4]);
  });

  it("never lets a stale pending copy hide or duplicate a stored message", () => {
    const stored = mergeMessages([], [fromServer(msg(4, "abc"))]);
    expect(mergeMessages(stored, [fromQueued(queued("abc"))])).toBe(stored);
  });

  it("does not confuse equal client_ids of different senders", () => {
    const out = mergeMessages([], [fromServer(msg(1, "same", 1)), fromServer(msg(2, "same", 2))]);
    expect(out).toHaveLength(2);
  });

  it("keeps pending messages after stored ones, in the order they were typed", () => {
    const out = mergeMessages([], [fromQueued(queued("b", 20)), fromServer(msg(3)), fromQueued(queued("a", 10))]);
    expect(out.map((m) => m.id ?? m.client_id)).toEqual([3, "a", "b"]);
    expect(compareMessages(out[1], out[2])).toBeLessThan(0);
  });

  it("finds cursors and removes discarded pending messages", () => {
    const out = mergeMessages([], [fromServer(msg(3)), fromServer(msg(8)), fromQueued(queued("x"))]);
    expect(firstStoredId(out)).toBe(3);
    expect(lastStoredId(out)).toBe(8);
    expect(lastStoredId([])).toBe(0);
    expect(firstStoredId([])).toBeNull();
    expect(removePending(out, "x").map((m) => m.id)).toEqual([3, 8]);
  });
});

describe("message states", () => {
  const own = fromServer(msg(10));
  it("is pending without an id, failed when refused", () => {
    expect(messageStatus(fromQueued(queued("p")), [2], {})).toBe("pending");
    expect(messageStatus({ ...fromQueued(queued("p")), failed: "body_too_long" }, [2], {})).toBe("failed");
  });

  it("goes sent → delivered → read with cumulative receipts", () => {
    let book: ReceiptBook = {};
    expect(messageStatus(own, [2], book[7])).toBe("sent");
    book = applyReceipt(book, { conversation_id: 7, user_id: 2, kind: "delivered", up_to: 9 });
    expect(messageStatus(own, [2], book[7])).toBe("sent");
    book = applyReceipt(book, { conversation_id: 7, user_id: 2, kind: "delivered", up_to: 12 });
    expect(messageStatus(own, [2], book[7])).toBe("delivered");
    book = applyReceipt(book, { conversation_id: 7, user_id: 2, kind: "read", up_to: 10 });
    expect(messageStatus(own, [2], book[7])).toBe("read");
  });

  it("treats read as delivered too, and never moves a mark back", () => {
    let book = applyReceipt({}, { conversation_id: 7, user_id: 2, kind: "read", up_to: 15 });
    expect(book[7][2]).toEqual({ delivered: 15, read: 15 });
    const same = applyReceipt(book, { conversation_id: 7, user_id: 2, kind: "delivered", up_to: 3 });
    expect(same).toBe(book);
    book = applyReceipt(book, { conversation_id: 7, user_id: 2, kind: "read", up_to: 4 });
    expect(book[7][2].read).toBe(15);
  });

  it("in a group, needs every other member", () => {
    let book = applyReceipt({}, { conversation_id: 7, user_id: 2, kind: "read", up_to: 10 });
    expect(messageStatus(own, [2, 3], book[7])).toBe("sent");
    book = applyReceipt(book, { conversation_id: 7, user_id: 3, kind: "delivered", up_to: 10 });
    expect(messageStatus(own, [2, 3], book[7])).toBe("delivered");
    book = applyReceipt(book, { conversation_id: 7, user_id: 3, kind: "read", up_to: 11 });
    expect(messageStatus(own, [2, 3], book[7])).toBe("read");
  });

  it("counts an answer as reading what came before (the server sends no receipt for it)", () => {
    const book = noteAuthorRead({}, 7, 2, 11);
    expect(messageStatus(own, [2], book[7])).toBe("read");
  });

  it("reads a stored receipt book defensively", () => {
    expect(parseReceiptBook(null)).toEqual({});
    expect(parseReceiptBook("not json")).toEqual({});
    expect(parseReceiptBook("[1]")).toEqual({});
    expect(parseReceiptBook('{"7":{"2":{"delivered":3,"read":1}}}')[7][2].delivered).toBe(3);
  });
});
