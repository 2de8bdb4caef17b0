// The application state and everything that talks to the server. The decisions live in the
// pure modules under lib/ (tested); this file wires them to fetch, Socket.IO and storage.

import { io, type Socket } from "socket.io-client";
import { api } from "./api";
import { ApiError, sendErrorText } from "./lib/errors";
import { applyIncoming, markRead, sortConversations } from "./lib/conversations";
import { firstStoredId, fromServer, lastStoredId, mergeMessages } from "./lib/messages";
import {
  acknowledge,
  enqueue,
  isTransient,
  markFailed,
  parseQueue,
  retry,
  sendable,
  serializeQueue,
  settleFromServer,
} from "./lib/queue";
import { applyReceipt, noteAuthorRead, parseReceiptBook, type ReceiptBook } from "./lib/receipts";
import { newClientId } from "./lib/ids";
import type { ChatMessage, Contact, Conversation, Message, Presence, QueuedMessage, Receipt, User } from "./lib/types";

export interface Thread {
  messages: ChatMessage[];
  loaded: boolean;
  loading: boolean;
  hasMore: boolean;
  error: string | null;
}

export type Connection = "connecting" | "online" | "reconnecting";

export interface State {
  phase: "loading" | "signed-out" | "signed-in";
  me: User | null;
  connection: Connection;
  contacts: Contact[];
  conversations: Conversation[];
  conversationsLoaded: boolean;
  loadError: string | null;
  openId: number | null;
  openError: string | null;
  threads: Record<number, Thread>;
  queue: QueuedMessage[];
  receipts: ReceiptBook;
  presence: Record<number, { online: boolean; last_seen: number | null }>;
  typing: Record<number, Record<number, number>>;
  notice: string | null;
}

const initial: State = {
  phase: "loading",
  me: null,
  connection: "connecting",
  contacts: [],
  conversations: [],
  conversationsLoaded: false,
  loadError: null,
  openId: null,
  openError: null,
  threads: {},
  queue: [],
  receipts: {},
  presence: {},
  typing: {},
  notice: null,
};

let state: State = initial;
const listeners = new Set<() => void>();

export function getState(): State {
  return state;
}

export function subscribe(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Merges `patch` into the state and tells the subscribers (also for ./contacts). */
export function set(patch: Partial<State>): void {
  const prev = state;
  state = { ...state, ...patch };
  if (state.me && (patch.queue !== undefined && patch.queue !== prev.queue)) save(`queue.${state.me.id}`, serializeQueue(state.queue));
  if (state.me && (patch.receipts !== undefined && patch.receipts !== prev.receipts)) save(`receipts.${state.me.id}`, JSON.stringify(state.receipts));
  for (const fn of listeners) fn();
}

function save(key: string, value: string): void {
  try {
    localStorage.setItem(`parley.${key}`, value);
  } catch {
    /* storage full or disabled: the queue still lives in memory */
  }
}

function load(key: string): string | null {
  try {
    return localStorage.getItem(`parley.${key}`);
  } catch {
    return null;
  }
}

function forget(key: string): void {
  try {
    localStorage.removeItem(`parley.${key}`);
  } catch {
    /* ignore */
  }
}

let noticeTimer: ReturnType<typeof setTimeout> | undefined;
export function notify(text: string): void {
  clearTimeout(noticeTimer);
  set({ notice: text });
  noticeTimer = setTimeout(() => set({ notice: null }), 5000);
}

function thread(id: number): Thread {
  return state.threads[id] ?? { messages: [], loaded: false, loading: false, hasMore: true, error: null };
}

function setThread(id: number, patch: Partial<Thread>): void {
  set({ threads: { ...state.threads, [id]: { ...thread(id), ...patch } } });
}

// ---------------------------------------------------------------- session

let socket: Socket | null = null;
let lastId = 0;
let syncing = false;
let flushing = false;
const readSent = new Map<number, number>();

export async function boot(): Promise<void> {
  window.addEventListener("popstate", () => routeFromLocation(false));
  document.addEventListener("visibilitychange", () => markOpenRead());
  window.addEventListener("focus", () => markOpenRead());
  try {
    const { user } = await api.me();
    await startSession(user);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) set({ ...initial, phase: "signed-out" });
    else {
      set({ ...initial, phase: "signed-out", notice: null });
      // Offline at load: retry in a moment rather than pretend to be signed out forever.
      setTimeout(() => void boot(), 3000);
    }
  }
}

export async function startSession(user: User): Promise<void> {
  const queue = parseQueue(load(`queue.${user.id}`), user.id);
  const receipts = parseReceiptBook(load(`receipts.${user.id}`));
  set({ ...initial, phase: "signed-in", me: user, queue, receipts });
  await refreshLists();
  lastId = Math.max(lastId, ...state.conversations.map((c) => c.last_message?.id ?? 0));
  routeFromLocation(false);
  connect();
}

export async function refreshLists(): Promise<void> {
  try {
    const [cs, ct] = await Promise.all([api.conversations(), api.contacts()]);
    const now = Date.now();
    const known = new Map(state.conversations.map((c) => [c.id, c]));
    const conversations = cs.conversations.map((c) => ({ ...c, seen_at: known.get(c.id)?.seen_at ?? now }));
    const presence = { ...state.presence };
    for (const c of ct.contacts) {
      if (typeof c.online === "boolean" && !presence[c.user.id]) presence[c.user.id] = { online: c.online, last_seen: null };
      else if (typeof c.online === "boolean") presence[c.user.id] = { ...presence[c.user.id], online: c.online };
    }
    // The open conversation is being read: its unread count stays at zero.
    const list = state.openId != null ? markRead(conversations, state.openId) : conversations;
    set({ conversations: sortConversations(list), contacts: ct.contacts, presence, conversationsLoaded: true, loadError: null });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return signedOut();
    set({ loadError: "Could not load your conversations.", conversationsLoaded: true });
  }
}

let refreshTimer: ReturnType<typeof setTimeout> | undefined;
export function refreshSoon(): void {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => void refreshLists(), 150);
}

function signedOut(): void {
  socket?.disconnect();
  socket = null;
  lastId = 0;
  readSent.clear();
  set({ ...initial, phase: "signed-out" });
  if (location.pathname !== "/") history.replaceState(null, "", "/");
}

export async function logout(): Promise<void> {
  const me = state.me;
  try {
    await api.logout();
  } catch {
    /* the session may already be gone: sign out locally all the same */
  }
  if (me) {
    forget(`queue.${me.id}`);
    forget(`receipts.${me.id}`);
  }
  signedOut();
}

// ---------------------------------------------------------------- socket

function connect(): void {
  socket?.disconnect();
  const s = io({ autoConnect: false });
  socket = s;
  set({ connection: "connecting" });

  s.on("connect", () => {
    const first = state.connection === "connecting";
    set({ connection: "online" });
    readSent.clear();
    void (async () => {
      await sync();
      if (!first) await refreshLists();
      markOpenRead();
      void flushQueue();
    })();
  });
  s.on("disconnect", (reason) => {
    if (socket !== s) return;
    set({ connection: "reconnecting" });
    if (reason === "io server disconnect") {
      // Logged out elsewhere, or the server refused us: ask whether the session still holds.
      void checkSession(s);
    }
  });
  s.on("connect_error", () => {
    if (socket !== s) return;
    set({ connection: state.connection === "online" ? "reconnecting" : state.connection === "connecting" ? "connecting" : "reconnecting" });
    if (!s.active) void checkSession(s);
  });
  s.on("message", (m: Message, ack?: (x?: unknown) => void) => {
    if (typeof ack === "function") ack({ ok: true });
    if (m && typeof m.id === "number") handleMessages([m]);
  });
  s.on("receipt", (r: Receipt) => {
    if (!r || typeof r.up_to !== "number") return;
    set({ receipts: applyReceipt(state.receipts, r) });
    if (r.kind === "read" && r.user_id === state.me?.id) {
      // Read on another device of ours.
      const c = state.conversations.find((x) => x.id === r.conversation_id);
      if (c && c.last_message && c.last_message.id <= r.up_to && c.unread_count) set({ conversations: markRead(state.conversations, c.id) });
    }
  });
  s.on("typing", (t: { conversation_id: number; user_id: number; typing: boolean }) => {
    if (!t || t.user_id === state.me?.id) return;
    const conv = { ...(state.typing[t.conversation_id] ?? {}) };
    if (t.typing) conv[t.user_id] = Date.now() + 6000;
    else delete conv[t.user_id];
    set({ typing: { ...state.typing, [t.conversation_id]: conv } });
    scheduleTypingSweep();
  });
  s.on("presence", (p: Presence) => {
    if (!p || typeof p.user_id !== "number") return;
    set({ presence: { ...state.presence, [p.user_id]: { online: p.online, last_seen: p.last_seen } } });
  });
  s.connect();
}

async function checkSession(s: Socket): Promise<void> {
  try {
    await api.me();
    // Still signed in: the drop was something else; try again shortly.
    setTimeout(() => {
      if (socket === s && !s.connected) s.connect();
    }, 2000);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) signedOut();
    else
      setTimeout(() => {
        if (socket === s && !s.connected) s.connect();
      }, 3000);
  }
}

/** After every (re)connect: ask for everything after the last id seen, until has_more is false. */
async function sync(): Promise<void> {
  const s = socket;
  if (!s || syncing) return;
  syncing = true;
  try {
    for (let round = 0; round < 1000; round++) {
      const res = await s.timeout(15000).emitWithAck("messages:sync", { after: lastId, limit: 500 });
      if (!res || !res.ok || !Array.isArray(res.messages)) break;
      if (res.messages.length) handleMessages(res.messages as Message[]);
      if (!res.has_more || res.messages.length === 0) break;
    }
  } catch {
    /* timed out or disconnected: the next connect syncs again */
  } finally {
    syncing = false;
  }
}

function handleMessages(msgs: Message[]): void {
  const me = state.me;
  if (!me) return;
  let conversations = state.conversations;
  let receipts = state.receipts;
  let typing = state.typing;
  const threads = { ...state.threads };
  let unknown = false;
  let touchesOpen = false;
  const byConv = new Map<number, ChatMessage[]>();
  for (const m of msgs) {
    lastId = Math.max(lastId, m.id);
    const next = applyIncoming(conversations, m, me.id, visibleOpenId());
    if (next === null) unknown = true;
    else conversations = next;
    if (m.sender_id !== me.id) {
      receipts = noteAuthorRead(receipts, m.conversation_id, m.sender_id, m.id);
      if (typing[m.conversation_id]?.[m.sender_id]) {
        const t = { ...typing[m.conversation_id] };
        delete t[m.sender_id];
        typing = { ...typing, [m.conversation_id]: t };
      }
    }
    if (m.conversation_id === state.openId) touchesOpen = true;
    const arr = byConv.get(m.conversation_id) ?? [];
    arr.push(fromServer(m));
    byConv.set(m.conversation_id, arr);
  }
  for (const [cid, arr] of byConv) {
    const t = threads[cid] ?? { messages: [], loaded: false, loading: false, hasMore: true, error: null };
    threads[cid] = { ...t, messages: mergeMessages(t.messages, arr) };
  }
  set({ conversations, receipts, typing, threads, queue: settleFromServer(state.queue, msgs, me.id) });
  if (unknown) refreshSoon();
  if (touchesOpen) markOpenRead();
}

function visibleOpenId(): number | null {
  return document.visibilityState === "visible" ? state.openId : null;
}

/** Tell the server what the open conversation shows (only while the page is visible). */
export function markOpenRead(): void {
  const id = state.openId;
  if (id == null || document.visibilityState !== "visible") return;
  const c = state.conversations.find((x) => x.id === id);
  if (c && c.unread_count) set({ conversations: markRead(state.conversations, id) });
  const upTo = Math.max(lastStoredId(thread(id).messages), c?.last_message?.id ?? 0);
  const s = socket;
  if (!upTo || !s?.connected || (readSent.get(id) ?? 0) >= upTo) return;
  readSent.set(id, upTo);
  s.timeout(10000).emit("message:read", { conversation_id: id, up_to: upTo }, (err: unknown, res: any) => {
    if (err || !res?.ok) readSent.delete(id);
  });
}

// ---------------------------------------------------------------- sending

export function sendMessage(conversationId: number, text: string): string | null {
  const me = state.me;
  if (!me) return "Not signed in.";
  const body = text.trim();
  if (!body) return null;
  if ([...body].length > 4000) return "This message is too long (at most 4,000 characters).";
  const item: QueuedMessage = {
    client_id: newClientId(),
    conversation_id: conversationId,
    sender_id: me.id,
    body,
    created_at: Date.now(),
  };
  set({ queue: enqueue(state.queue, item) });
  sendTyping(conversationId, false);
  void flushQueue();
  return null;
}

export function retryMessage(clientId: string): void {
  set({ queue: retry(state.queue, clientId) });
  void flushQueue();
}

export function discardMessage(clientId: string): void {
  set({ queue: acknowledge(state.queue, clientId) });
}

/** Sends the queue one message at a time, in the order typed, while connected. */
async function flushQueue(): Promise<void> {
  if (flushing) return;
  flushing = true;
  try {
    for (;;) {
      const s = socket;
      if (!s?.connected || syncing) break;
      const next = sendable(state.queue)[0];
      if (!next) break;
      let res: any;
      try {
        res = await s.timeout(20000).emitWithAck("message:send", {
          conversation_id: next.conversation_id,
          body: next.body,
          client_id: next.client_id,
        });
      } catch {
        // No ack (timeout or dropped connection): it stays queued and goes again with the
        // same client_id, which the server answers with the stored message if it had it.
        if (s.connected) await sleep(1000);
        continue;
      }
      if (res?.ok && res.message) {
        set({ queue: acknowledge(state.queue, next.client_id) });
        handleMessages([res.message as Message]);
      } else {
        const code = res?.error?.code ?? "bad_request";
        const msg = res?.error?.message ?? "";
        if (isTransient(code)) {
          await sleep(1000);
        } else {
          set({ queue: markFailed(state.queue, next.client_id, code, sendErrorText(code, msg)) });
        }
      }
    }
  } finally {
    flushing = false;
  }
  if (syncing) setTimeout(() => void flushQueue(), 300);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------- typing

const typingSent = new Map<number, number>();
const typingStop = new Map<number, ReturnType<typeof setTimeout>>();

/** Called on every keystroke: sends typing:true at most every 3 s, and false after 4 s idle. */
export function noteTyping(conversationId: number): void {
  const now = Date.now();
  if (now - (typingSent.get(conversationId) ?? 0) > 3000) {
    typingSent.set(conversationId, now);
    socket?.connected && socket.emit("typing", { conversation_id: conversationId, typing: true });
  }
  clearTimeout(typingStop.get(conversationId));
  typingStop.set(conversationId, setTimeout(() => sendTyping(conversationId, false), 4000));
}

export function sendTyping(conversationId: number, typing: boolean): void {
  clearTimeout(typingStop.get(conversationId));
  typingStop.delete(conversationId);
  if (!typing) {
    if (!typingSent.has(conversationId)) return;
    typingSent.delete(conversationId);
  }
  if (socket?.connected) socket.emit("typing", { conversation_id: conversationId, typing });
}

let sweepTimer: ReturnType<typeof setTimeout> | undefined;
function scheduleTypingSweep(): void {
  clearTimeout(sweepTimer);
  sweepTimer = setTimeout(() => {
    const now = Date.now();
    let changed = false;
    const typing: State["typing"] = {};
    let any = false;
    for (const [cid, users] of Object.entries(state.typing)) {
      const kept: Record<number, number> = {};
      for (const [uid, until] of Object.entries(users)) {
        if (until > now) {
          kept[Number(uid)] = until;
          any = true;
        } else changed = true;
      }
      typing[Number(cid)] = kept;
    }
    if (changed) set({ typing });
    if (any) scheduleTypingSweep();
  }, 1000);
}

// ---------------------------------------------------------------- navigation

function routeFromLocation(push: boolean): void {
  const m = /^\/c\/(\d+)\/?$/.exec(location.pathname);
  if (m) void openConversation(Number(m[1]), push);
  else closeConversation(false);
}

export function closeConversation(push = true): void {
  if (state.openId != null) sendTyping(state.openId, false);
  set({ openId: null, openError: null });
  if (push && location.pathname !== "/") history.pushState(null, "", "/");
}

export async function openConversation(id: number, push = true): Promise<void> {
  if (state.openId !== null && state.openId !== id) sendTyping(state.openId, false);
  if (push && location.pathname !== `/c/${id}`) history.pushState(null, "", `/c/${id}`);
  set({ openId: id, openError: null });
  const t = thread(id);
  if (!t.loaded && !t.loading) await loadHistory(id, false);
  markOpenRead();
}

/** Loads the newest page (older = false) or the page before the oldest shown (older = true). */
export async function loadHistory(id: number, older: boolean): Promise<void> {
  const t = thread(id);
  if (t.loading || (older && (!t.hasMore || !t.loaded))) return;
  setThread(id, { loading: true, error: null });
  try {
    const before = older ? firstStoredId(t.messages) ?? undefined : undefined;
    const res = await api.history(id, before, 50);
    const cur = thread(id);
    const merged = mergeMessages(cur.messages, res.messages.map(fromServer));
    for (const m of res.messages) lastId = Math.max(lastId, m.id);
    // A newest page that is incomplete means older ones exist; an older page says so itself.
    setThread(id, { messages: merged, loaded: true, loading: false, hasMore: res.has_more });
    if (state.me) {
      // Whoever wrote a message had read everything before it (no receipt is sent for that).
      let receipts = state.receipts;
      for (const m of res.messages) if (m.sender_id !== state.me.id) receipts = noteAuthorRead(receipts, m.conversation_id, m.sender_id, m.id);
      set({ queue: settleFromServer(state.queue, res.messages, state.me.id), receipts });
    }
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      setThread(id, { loading: false });
      if (state.openId === id) set({ openError: "This conversation does not exist or you are not in it." });
    } else if (e instanceof ApiError && e.status === 401) {
      signedOut();
    } else {
      setThread(id, { loading: false, error: "Could not load messages." });
    }
  }
}

export function presenceOf(userId: number): { online: boolean; last_seen: number | null } | undefined {
  return state.presence[userId];
}

export function pendingFor(conversationId: number): QueuedMessage[] {
  return state.queue.filter((q) => q.conversation_id === conversationId);
}
