import { beforeEach, describe, expect, it } from "vitest";
import { advance, cursorList, dropCursors, fromConversations, mergeCursors, noteSeq, parseCursors, serializeCursors } from "../src/lib/cursors";
import { syncAll, type SyncRequest } from "../src/lib/sync";
import type { Conversation, Message } from "../src/lib/types";
import { getState, initial, set } from "../src/state";
import { noteLiveMessages, syncLog } from "../src/sync";

const me = { id: 1, name: "Me", phone: "+14155550101" };
const bob = { id: 2, name: "Bob", phone: "+14155550102" };

/** A server's conversation log, enough to answer `sync` as API.md says. */
class FakeLog {
  convs = new Map<number, { conv: Conversation; messages: Message[] }>();
  requests: SyncRequest[] = [];
  member = new Set<number>();

  add(id: number): void {
    this.convs.set(id, {
      conv: { id, kind: "group", title: `G${id}`, members: [me, bob], last_message: null, unread_count: 0, seq: 0 },
      messages: [],
    });
    this.member.add(id);
  }
  /** A new message: the conversation's next seq. */
  send(cid: number, body: string): Message {
    const c = this.convs.get(cid)!;
    const seq = ++c.conv.seq!;
    const m: Message = {
      id: cid * 1000 + seq, conversation_id: cid, sender_id: 2, body, sent_at: seq, client_id: `c${cid}.${seq}`,
      seq, updated_seq: seq, edited_at: null, deleted: false, reply_to: null, reactions: [], attachments: [],
    };
    c.messages.push(m);
    c.conv.last_message = m;
    return m;
  }
  edit(cid: number, id: number, body: string): Message {
    const c = this.convs.get(cid)!;
    const i = c.messages.findIndex((m) => m.id === id);
    c.messages[i] = { ...c.messages[i], body, edited_at: 5, updated_seq: ++c.conv.seq! };
    return c.messages[i];
  }
  rename(cid: number, title: string): void {
    const c = this.convs.get(cid)!;
    c.conv = { ...c.conv, title, seq: c.conv.seq! + 1 };
  }
  answer(req: SyncRequest) {
    this.requests.push(structuredClone(req));
    const cursors = new Map(req.cursors.map((c) => [c.conversation_id, c.seq]));
    const conversations: Conversation[] = [];
    let messages: Message[] = [];
    for (const [id, { conv, messages: ms }] of [...this.convs].sort((a, b) => a[0] - b[0])) {
      if (!this.member.has(id)) continue;
      const cur = cursors.get(id);
      if (cur === undefined) {
        conversations.push(structuredClone(conv));
        continue;
      }
      if (conv.seq! > cur) conversations.push(structuredClone(conv));
      messages = messages.concat(ms.filter((m) => m.updated_seq! > cur).sort((a, b) => a.updated_seq! - b.updated_seq!));
    }
    const left = [...cursors.keys()].filter((id) => !this.member.has(id));
    return { ok: true, conversations, messages: structuredClone(messages.slice(0, req.limit)), left, has_more: messages.length > req.limit };
  }
  ask = async (req: SyncRequest) => this.answer(req);
}

describe("cursors", () => {
  it("only move forward, by seq and updated_seq", () => {
    const c = noteSeq({}, 7, 5);
    expect(noteSeq(c, 7, 3)).toBe(c);
    expect(noteSeq(c, 7, 5)).toBe(c);
    expect(noteSeq(c, 7, undefined)).toBe(c);
    const m = (seq: number, updated_seq: number) => ({ id: 1, conversation_id: 7, sender_id: 2, body: "", sent_at: 0, client_id: "", seq, updated_seq });
    expect(advance(c, [m(6, 9), m(4, 4)])).toEqual({ 7: 9 });
  });

  it("take conversation objects' seq, merge by the highest, drop left ones", () => {
    const conv = (id: number, seq: number) => ({ id, kind: "group" as const, title: "", members: [], last_message: null, unread_count: 0, seq });
    expect(fromConversations({ 7: 4 }, [conv(7, 8), conv(9, 2)])).toEqual({ 7: 8, 9: 2 });
    expect(mergeCursors({ 7: 4, 8: 9 }, { 7: 6, 8: 1, 10: 3 })).toEqual({ 7: 6, 8: 9, 10: 3 });
    const c = { 7: 4 };
    expect(dropCursors(c, [8])).toBe(c);
    expect(dropCursors({ 7: 4, 8: 1 }, [8])).toEqual({ 7: 4 });
    expect(cursorList({ 7: 4 })).toEqual([{ conversation_id: 7, seq: 4 }]);
  });

  it("survive a reload, and stored nonsense is left out", () => {
    expect(parseCursors(serializeCursors({ 7: 4, 12: 99 }))).toEqual({ 7: 4, 12: 99 });
    expect(parseCursors(null)).toEqual({});
    expect(parseCursors("nope")).toEqual({});
    expect(parseCursors("[1,2]")).toEqual({});
    expect(parseCursors('{"7": 3, "x": 4, "8": -1, "9": "5", "10": 1.5}')).toEqual({ 7: 3 });
  });
});

describe("the sync paging loop", () => {
  it("pages while has_more, advancing from the messages, then keeps each conversation's seq", async () => {
    const log = new FakeLog();
    log.add(7);
    log.add(8);
    for (let i = 0; i < 5; i++) log.send(7, `a${i}`);
    for (let i = 0; i < 3; i++) log.send(8, `b${i}`);
    log.rename(8, "renamed"); // seq 4 of conversation 8: no message carries it
    const pages: number[][] = [];
    const res = await syncAll(log.ask, { 7: 0, 8: 0 }, (p) => pages.push(p.messages.map((m) => m.id)), { limit: 3 });
    expect(res.complete).toBe(true);
    expect(pages.flat()).toEqual([7001, 7002, 7003, 7004, 7005, 8001, 8002, 8003]);
    expect(log.requests.map((r) => r.cursors)).toEqual([
      [{ conversation_id: 7, seq: 0 }, { conversation_id: 8, seq: 0 }],
      [{ conversation_id: 7, seq: 3 }, { conversation_id: 8, seq: 0 }],
      [{ conversation_id: 7, seq: 5 }, { conversation_id: 8, seq: 1 }],
    ]);
    expect(log.requests.every((r) => r.limit === 3)).toBe(true);
    expect(res.cursors).toEqual({ 7: 5, 8: 4 });
    // Caught up: the next sync gets nothing.
    const again = await syncAll(log.ask, res.cursors, () => {});
    expect(log.answer({ cursors: cursorList(again.cursors), limit: 200 })).toMatchObject({ conversations: [], messages: [], has_more: false });
  });

  it("brings edits of old messages, and conversations without a cursor as objects only", async () => {
    const log = new FakeLog();
    log.add(7);
    log.add(9);
    const first = log.send(7, "hello");
    log.send(7, "second");
    log.send(9, "in nine");
    log.edit(7, first.id, "hello!");
    const seen: Message[] = [];
    const convs: number[] = [];
    const res = await syncAll(log.ask, { 7: 2 }, (p) => {
      seen.push(...p.messages);
      convs.push(...p.conversations.map((c) => c.id));
    });
    expect(seen.map((m) => [m.id, m.body])).toEqual([[first.id, "hello!"]]);
    expect(convs.sort()).toEqual([7, 9]);
    expect(res.uncursored).toEqual([9]);
    expect(res.cursors).toEqual({ 7: 3, 9: 1 });
  });

  it("drops the conversations one is no longer a member of", async () => {
    const log = new FakeLog();
    log.add(7);
    log.add(8);
    log.send(8, "x");
    log.member.delete(8);
    const left: number[] = [];
    const res = await syncAll(log.ask, { 7: 0, 8: 0, 99: 3 }, (p) => left.push(...p.left));
    expect(left.sort()).toEqual([8, 99]);
    expect(res.cursors).toEqual({ 7: 0 });
  });

  it("stops on an error or a missing ack, keeping only the pages applied", async () => {
    const log = new FakeLog();
    log.add(7);
    for (let i = 0; i < 4; i++) log.send(7, `a${i}`);
    let calls = 0;
    const flaky = async (req: SyncRequest) => {
      if (++calls === 2) throw new Error("timeout");
      return log.answer(req);
    };
    const res = await syncAll(flaky, { 7: 0 }, () => {}, { limit: 2 });
    expect(res).toMatchObject({ complete: false, error: "no_answer", cursors: { 7: 2 } });
    const refused = await syncAll(async () => ({ ok: false, error: { code: "rate_limited", message: "slow down" } }), { 7: 2 }, () => {});
    expect(refused).toMatchObject({ complete: false, error: "rate_limited", cursors: { 7: 2 } });
  });

  it("does not loop forever on has_more without messages", async () => {
    let calls = 0;
    const res = await syncAll(async () => (calls++, { ok: true, conversations: [], messages: [], left: [], has_more: true }), { 7: 1 }, () => {});
    expect(calls).toBe(1);
    expect(res.complete).toBe(false);
  });
});

describe("syncLog with a fake socket", () => {
  const fakeSocket = (log: FakeLog, during?: (round: number) => void) => {
    let round = 0;
    return {
      timeout: () => ({
        emitWithAck: async (event: string, req: SyncRequest) => {
          expect(event).toBe("sync");
          during?.(round++);
          return log.answer(req);
        },
      }),
    } as never;
  };

  beforeEach(() => {
    set({ ...initial, phase: "signed-in", me, cursors: {} });
  });

  it("applies conversations and messages of loaded threads, and keeps the cursors in the state", async () => {
    const log = new FakeLog();
    log.add(7);
    log.send(7, "one");
    const conv = log.convs.get(7)!.conv;
    set({ conversations: [structuredClone(conv)], cursors: { 7: 1 }, threads: { 7: { messages: [], loaded: true, loading: false, hasMore: false, error: null, oldest: null } } });
    log.send(7, "two");
    log.rename(7, "New title");
    const out = await syncLog(fakeSocket(log), () => null);
    expect(out?.complete).toBe(true);
    expect(getState().threads[7].messages.map((m) => m.body)).toEqual(["two"]);
    expect(getState().conversations[0].title).toBe("New title");
    expect(getState().cursors).toEqual({ 7: 3 });
  });

  it("asks the next page from where the last stopped even when live events come meanwhile", async () => {
    const log = new FakeLog();
    log.add(7);
    for (let i = 0; i < 450; i++) log.send(7, `a${i}`);
    set({ conversations: [structuredClone(log.convs.get(7)!.conv)], cursors: { 7: 0 } });
    let live: Message | null = null;
    const s = fakeSocket(log, (round) => {
      // A live message arrives while the first answer is on its way (and is in the snapshot).
      if (round === 0) noteLiveMessages([(live = log.send(7, "live"))]);
    });
    const out = await syncLog(s, () => null);
    expect(live).not.toBeNull();
    expect(out?.complete).toBe(true);
    expect(log.requests.map((r) => r.cursors[0].seq)).toEqual([0, 200, 400]);
    expect(getState().cursors).toEqual({ 7: 451 });
  });

  it("keeps only what the answers covered when a sync is cut short", async () => {
    const log = new FakeLog();
    log.add(7);
    for (let i = 0; i < 250; i++) log.send(7, `a${i}`);
    set({ conversations: [structuredClone(log.convs.get(7)!.conv)], cursors: { 7: 0 } });
    const s = {
      timeout: () => ({
        emitWithAck: async (_event: string, req: SyncRequest) => {
          if (log.requests.length === 1) {
            noteLiveMessages([log.send(7, "live")]);
            throw new Error("disconnected");
          }
          return log.answer(req);
        },
      }),
    } as never;
    const out = await syncLog(s, () => null);
    expect(out?.complete).toBe(false);
    // Not 251: messages 201 to 250 are still to come.
    expect(getState().cursors).toEqual({ 7: 200 });
  });

  it("moves cursors from live events at once when no sync runs", () => {
    set({ cursors: { 7: 3 } });
    const m = { id: 1, conversation_id: 7, sender_id: 2, body: "", sent_at: 0, client_id: "", seq: 2, updated_seq: 6 };
    noteLiveMessages([m]);
    expect(getState().cursors).toEqual({ 7: 6 });
  });
});
