import { describe, expect, it } from "vitest";
import { acknowledge, enqueue, isTransient, markFailed, parseQueue, retry, sendable, serializeQueue, settleFromServer } from "../src/lib/queue";
import { newClientId } from "../src/lib/ids";
import type { QueuedMessage } from "../src/lib/types";

const q = (client_id: string, created_at: number, sender_id = 1): QueuedMessage => ({
  client_id, conversation_id: 7, sender_id, body: `body ${client_id}`, created_at,
});

describe("outgoing queue", () => {
  it("enqueues once per client_id and sends oldest first", () => {
    let queue = enqueue([], q("b", 2));
    queue = enqueue(queue, q("a", 1));
    queue = enqueue(queue, q("a", 1));
    expect(queue).toHaveLength(2);
    expect(sendable(queue).map((m) => m.client_id)).toEqual(["a", "b"]);
  });

  it("removes a message on its ack", () => {
    const queue = acknowledge([q("a", 1), q("b", 2)], "a");
    expect(queue.map((m) => m.client_id)).toEqual(["b"]);
  });

  it("keeps refused messages aside until retried", () => {
    let queue = markFailed([q("a", 1), q("b", 2)], "a", "body_too_long", "Too long");
    expect(sendable(queue).map((m) => m.client_id)).toEqual(["b"]);
    expect(queue[0].failed).toBe("body_too_long");
    queue = retry(queue, "a");
    expect(queue[0].failed).toBeUndefined();
    expect(sendable(queue).map((m) => m.client_id)).toEqual(["a", "b"]);
  });

  it("settles messages the server already has (sync, another tab), own messages only", () => {
    const queue = [q("a", 1), q("b", 2)];
    const stored = [
      { id: 5, conversation_id: 7, sender_id: 1, body: "x", sent_at: 1, client_id: "a" },
      { id: 6, conversation_id: 7, sender_id: 2, body: "y", sent_at: 2, client_id: "b" },
    ];
    expect(settleFromServer(queue, stored, 1).map((m) => m.client_id)).toEqual(["b"]);
  });

  it("survives a reload through its JSON form, ignoring junk and other users' items", () => {
    const queue = [q("a", 1), q("b", 2, 9)];
    expect(parseQueue(serializeQueue(queue), 1).map((m) => m.client_id)).toEqual(["a"]);
    expect(parseQueue(null, 1)).toEqual([]);
    expect(parseQueue("{", 1)).toEqual([]);
    expect(parseQueue('{"a":1}', 1)).toEqual([]);
    expect(parseQueue('[null, {"client_id": 3}]', 1)).toEqual([]);
  });

  it("retries only transient refusals", () => {
    expect(isTransient("rate_limited")).toBe(true);
    expect(isTransient("bad_request")).toBe(false);
    expect(isTransient("body_too_long")).toBe(false);
  });

  it("makes RFC 4122 v4 client ids", () => {
    // Node 18 has no global `crypto` (browsers and Node 20 do), so the test brings its bytes.
    const random = (a: Uint8Array) => a.map(() => Math.floor(Math.random() * 256));
    const id = newClientId(random);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(newClientId(random)).not.toBe(id);
    expect(newClientId((a) => a.fill(0))).toBe("00000000-0000-4000-8000-000000000000");
  });
});
