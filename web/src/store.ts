// The session and everything that talks to the server: sign-in state, the socket and its
// events, the send queue, read marks, typing, routing and history pages. The decisions live
// in the pure modules under lib/ (tested); the state itself in ./state; catching up with the
// conversation log in ./sync, applying messages and conversations in ./messages; edits,
// deletes, reactions and finding a quoted message in ./actions; groups in ./groups; files and
// their uploads in ./attach (bytes in ./blobs); one's profile and `user:updated` in ./profile;
// what is shown offline in ./offline; the service worker, notifications and Web Push in ./push.

import { io, type Socket } from "socket.io-client";
import { api } from "./api";
import { resumeWaiting, uploadQueued, withDrafts } from "./attach";
import { persistBlob, sweepBlobs } from "./blobs";
import { isReady, parseConfig, toQueued, uploadErrorText } from "./lib/attachments";
import { ApiError, sendErrorText } from "./lib/errors";
import { keptUnlisted, markRead, sortConversations } from "./lib/conversations";
import { parseCursors } from "./lib/cursors";
import { firstStoredId, fromServer, lastStoredId, mergeMessages, quoteOf } from "./lib/messages";
import {
  acknowledge,
  attachmentKeys,
  enqueue,
  isTransient,
  markFailed,
  missingUploads,
  parseQueue,
  retry,
  sendable,
  settleFromServer,
  uploadIds,
} from "./lib/queue";
import { applyMemberMarks, applyReceipt, noteAuthorRead, parseReceiptBook } from "./lib/receipts";
import { newClientId } from "./lib/ids";
import type { ChatMessage, Conversation, Message, Presence, QueuedMessage, Receipt, User } from "./lib/types";
import { applyConversations, applyLeft, applyMessages } from "./messages";
import { clearSnapshot, loadSnapshot, snapshotState, startSnapshots } from "./offline";
import { applyUser } from "./profile";
import { closeConversationNotifications, closeForDeleted, closeReadUpTo, closeStaleNotifications, forgetPush, initPush } from "./push";
import { forget, getState, initial, load, save, set, setThread, thread, type State } from "./state";
import { isSyncing, noteLiveConversation, noteLiveMessages, syncLog } from "./sync";

export { getState, notify, set, subscribe } from "./state";
export type { Connection, State, Thread } from "./state";

// ---------------------------------------------------------------- session

let socket: Socket | null = null;
let flushing = false;
const readSent = new Map<number, number>();

export async function boot(): Promise<void> {
  window.addEventListener("popstate", () => routeFromLocation(false));
  document.addEventListener("visibilitychange", () => markOpenRead());
  window.addEventListener("focus", () => markOpenRead());
  startSnapshots();
  await resume();
}

let resumeTimer: ReturnType<typeof setTimeout> | undefined;
const LOGOUT_PENDING = "logout.pending";

async function resume(): Promise<void> {
  clearTimeout(resumeTimer);
  const again = () => (resumeTimer = setTimeout(() => void resume(), 3000));
  if (load(LOGOUT_PENDING)) {
    // Signed out while the server could not be reached: that session ends first.
    if (getState().phase !== "signed-out") set({ ...initial, phase: "signed-out" });
    try {
      await api.logout();
    } catch (e) {
      if (e instanceof ApiError && e.code === "network") return void again();
    }
    forget(LOGOUT_PENDING);
    return;
  }
  try {
    const { user } = await api.me();
    await startSession(user);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      clearSnapshot();
      void forgetPush();
      set({ ...initial, phase: "signed-out" });
    } else {
      // Offline at load: show what this device saved (else the sign-in page), and try again
      // in a moment rather than pretend to be signed out forever.
      if (getState().phase !== "signed-in") {
        set(snapshotState() ?? { ...initial, phase: "signed-out", notice: null });
        if (getState().fromSnapshot) routeFromLocation(false);
      }
      again();
    }
  }
}

export async function startSession(user: User): Promise<void> {
  const queue = parseQueue(load(`queue.${user.id}`), user.id);
  const receipts = parseReceiptBook(load(`receipts.${user.id}`));
  const cursors = parseCursors(load(`cursors.${user.id}`));
  // Back from showing the saved copy: its list stays on screen until the server's replaces it.
  const prev = getState();
  const carried = prev.fromSnapshot && prev.me?.id === user.id ? { conversations: prev.conversations, contacts: prev.contacts, conversationsLoaded: true } : {};
  if (loadSnapshot()?.user.id !== user.id) clearSnapshot();
  forget(LOGOUT_PENDING); // a new session: the old cookie is gone
  clearTimeout(resumeTimer);
  set({ ...initial, phase: "signed-in", me: user, queue, receipts, cursors, ...carried });
  void initPush(user.id);
  // Files left in IndexedDB by a queue that is gone (sent from another tab, a crash).
  void sweepBlobs(attachmentKeys(queue));
  void loadConfig();
  await refreshLists();
  routeFromLocation(false);
  connect();
}

let configLoaded = false;
/** The server's limits (`GET /api/v1/config`); the defaults stand until it answers. */
async function loadConfig(): Promise<void> {
  try {
    const config = parseConfig(await api.config());
    configLoaded = true;
    set({ config });
  } catch {
    /* asked again at the next connect */
  }
}

export async function refreshLists(): Promise<void> {
  const asked = Date.now();
  try {
    const [cs, ct] = await Promise.all([api.conversations(), api.contacts()]);
    const now = Date.now();
    const known = new Map(getState().conversations.map((c) => [c.id, c]));
    const listed = new Set(cs.conversations.map((c) => c.id));
    const newer = keptUnlisted(getState().conversations, listed, asked, getState().openId);
    const conversations = [
      ...cs.conversations.map((c) => ({ ...c, seen_at: known.get(c.id)?.seen_at ?? now })),
      ...newer,
    ];
    const presence = { ...getState().presence };
    for (const c of ct.contacts) {
      if (typeof c.online === "boolean" && !presence[c.user.id]) presence[c.user.id] = { online: c.online, last_seen: null };
      else if (typeof c.online === "boolean") presence[c.user.id] = { ...presence[c.user.id], online: c.online };
    }
    // The open conversation is being read: its unread count stays at zero.
    const openId = getState().openId;
    const list = openId != null ? markRead(conversations, openId) : conversations;
    const me = getState().me;
    let receipts = getState().receipts;
    if (me) for (const c of conversations) receipts = applyMemberMarks(receipts, c, me.id);
    set({ conversations: sortConversations(list), contacts: ct.contacts, presence, receipts, conversationsLoaded: true, loadError: null });
    closeStaleNotifications();
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
  readSent.clear();
  clearSnapshot();
  void forgetPush();
  set({ ...initial, phase: "signed-out" });
  if (location.pathname !== "/") history.replaceState(null, "", "/");
}

export async function logout(): Promise<void> {
  const me = getState().me;
  // This browser gets no more pushes (the server drops the subscription with the session).
  const [reached] = await Promise.all([
    // Refused (the session may already be gone): signed out all the same.
    api.logout().then(
      () => true,
      (e) => !(e instanceof ApiError && e.code === "network"),
    ),
    forgetPush(),
  ]);
  clearTimeout(resumeTimer);
  // Offline (the app opened from what this device saved): the session ends once the server answers.
  if (!reached) {
    save(LOGOUT_PENDING, "1");
    resumeTimer = setTimeout(() => void resume(), 3000);
  }
  if (me) {
    forget(`queue.${me.id}`);
    forget(`receipts.${me.id}`);
    forget(`cursors.${me.id}`);
    void sweepBlobs(new Set());
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
    const first = getState().connection === "connecting";
    set({ connection: "online" });
    readSent.clear();
    resumeWaiting();
    if (!configLoaded) void loadConfig();
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
    set({ connection: getState().connection === "online" ? "reconnecting" : getState().connection === "connecting" ? "connecting" : "reconnecting" });
    if (!s.active) void checkSession(s);
  });
  s.on("message", (m: Message, ack?: (x?: unknown) => void) => {
    if (typeof ack === "function") ack({ ok: true });
    if (!m || typeof m.id !== "number") return;
    handleMessages([m]);
    noteLiveMessages([m]);
  });
  s.on("message:updated", (m: Message, ack?: (x?: unknown) => void) => {
    if (typeof ack === "function") ack({ ok: true });
    if (!m || typeof m.id !== "number") return;
    handleChanges([m]);
    noteLiveMessages([m]);
    closeForDeleted([m]);
  });
  s.on("conversation", (c: Conversation, ack?: (x?: unknown) => void) => {
    if (typeof ack === "function") ack({ ok: true });
    if (!c || typeof c.id !== "number" || !Array.isArray(c.members)) return;
    applyConversations([c]);
    noteLiveConversation(c);
  });
  s.on("conversation:left", (p: { conversation_id: number }, ack?: (x?: unknown) => void) => {
    if (typeof ack === "function") ack({ ok: true });
    if (p && typeof p.conversation_id === "number") {
      applyLeft([p.conversation_id]);
      closeStaleNotifications();
    }
  });
  s.on("receipt", (r: Receipt) => {
    if (!r || typeof r.up_to !== "number") return;
    set({ receipts: applyReceipt(getState().receipts, r) });
    if (r.kind === "read" && r.user_id === getState().me?.id) {
      // Read on another device of ours: its notifications are no longer news.
      closeReadUpTo(r.conversation_id, r.up_to);
      const c = getState().conversations.find((x) => x.id === r.conversation_id);
      if (c && c.last_message && c.last_message.id <= r.up_to && c.unread_count) set({ conversations: markRead(getState().conversations, c.id) });
    }
  });
  s.on("typing", (t: { conversation_id: number; user_id: number; typing: boolean }) => {
    if (!t || t.user_id === getState().me?.id) return;
    const conv = { ...(getState().typing[t.conversation_id] ?? {}) };
    if (t.typing) conv[t.user_id] = Date.now() + 6000;
    else delete conv[t.user_id];
    set({ typing: { ...getState().typing, [t.conversation_id]: conv } });
    scheduleTypingSweep();
  });
  s.on("user:updated", (p: { user?: User }, ack?: (x?: unknown) => void) => {
    if (typeof ack === "function") ack({ ok: true });
    if (p?.user && typeof p.user.id === "number") applyUser(p.user);
  });
  s.on("presence", (p: Presence) => {
    if (!p || typeof p.user_id !== "number") return;
    set({ presence: { ...getState().presence, [p.user_id]: { online: p.online, last_seen: p.last_seen } } });
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

/** After every (re)connect: catch up with the conversation log (./sync). */
async function sync(): Promise<void> {
  const s = socket;
  if (!s) return;
  const out = await syncLog(s, visibleOpenId);
  if (!out) return;
  closeStaleNotifications();
  if (out.unknown) refreshSoon();
  // A thread loaded over REST before its conversation had a cursor missed what came between
  // that page and the sync: load its newest page again.
  for (const id of out.uncursored) if (getState().threads[id]?.loaded) void loadHistory(id, false);
}

/** Messages that may be new: a `message` event, the ack of a send. */
function handleMessages(msgs: Message[]): void {
  const out = applyMessages(msgs, true, visibleOpenId());
  if (out.unknown) refreshSoon();
  if (out.touchesOpen) markOpenRead();
}

/** Changed messages: `message:updated`, the ack of an edit, a delete or a reaction (./actions). */
export function handleChanges(msgs: Message[]): void {
  applyMessages(msgs, false, visibleOpenId());
}

/** The socket while it is connected (for ./actions). */
export function connectedSocket(): Socket | null {
  return socket?.connected ? socket : null;
}

function visibleOpenId(): number | null {
  return document.visibilityState === "visible" ? getState().openId : null;
}

/** Tell the server what the open conversation shows (only while the page is visible). */
export function markOpenRead(): void {
  const id = getState().openId;
  if (id == null || document.visibilityState !== "visible") return;
  closeConversationNotifications(id);
  const c = getState().conversations.find((x) => x.id === id);
  if (c && c.unread_count) set({ conversations: markRead(getState().conversations, id) });
  const upTo = Math.max(lastStoredId(thread(id).messages), c?.last_message?.id ?? 0);
  const s = socket;
  if (!upTo || !s?.connected || (readSent.get(id) ?? 0) >= upTo) return;
  readSent.set(id, upTo);
  s.timeout(10000).emit("message:read", { conversation_id: id, up_to: upTo }, (err: unknown, res: any) => {
    if (err || !res?.ok) readSent.delete(id);
  });
}

// ---------------------------------------------------------------- sending

/**
 * Queues a message with the text and the ready files of the message being written (those
 * still uploading, or refused, stay in the strip for the next one). Answers null, or the
 * sentence to show; nothing to send (no text, no file) sends nothing.
 */
export function sendMessage(conversationId: number, text: string, replyTo?: ChatMessage | null): string | null {
  const me = getState().me;
  if (!me) return "Not signed in.";
  const body = text.trim();
  const drafts = getState().drafts[conversationId] ?? [];
  const ready = drafts.filter(isReady);
  if (!body && ready.length === 0) return null;
  const max = getState().config.max_message_length;
  if ([...body].length > max) return `This message is too long (at most ${max.toLocaleString("en-US")} characters).`;
  const item: QueuedMessage = {
    client_id: newClientId(),
    conversation_id: conversationId,
    sender_id: me.id,
    body,
    created_at: Date.now(),
  };
  if (replyTo && replyTo.id !== null) {
    item.reply_to = replyTo.id;
    item.reply_preview = quoteOf(replyTo);
  }
  if (ready.length) item.attachments = ready.map(toQueued);
  // A file still to upload must outlive a reload, as the message does.
  for (const d of ready) if (d.state === "waiting") void persistBlob(d.key);
  // One change for both, so that the files' bytes are never held by neither (./attach).
  set({
    queue: enqueue(getState().queue, item),
    drafts: ready.length ? withDrafts(conversationId, drafts.filter((d) => !isReady(d))) : getState().drafts,
  });
  sendTyping(conversationId, false);
  void flushQueue();
  return null;
}

export function retryMessage(clientId: string): void {
  set({ queue: retry(getState().queue, clientId) });
  void flushQueue();
}

export function discardMessage(clientId: string): void {
  set({ queue: acknowledge(getState().queue, clientId) });
}

/** Sends the queue one message at a time, in the order typed, while connected. */
async function flushQueue(): Promise<void> {
  if (flushing) return;
  flushing = true;
  try {
    for (;;) {
      const s = socket;
      if (!s?.connected || isSyncing()) break;
      let next = sendable(getState().queue)[0];
      if (!next) break;
      if (missingUploads(next).length) {
        // Its files first, each kept in the queue once uploaded.
        const failure = await uploadQueued(next.client_id);
        if (failure) {
          const { error, name } = failure;
          if (error.code === "aborted") continue; // discarded meanwhile
          if (error.code === "network" || error.code === "rate_limited" || error.status >= 500 || error.status === 401) {
            await sleep(Math.min(30, Math.max(2, error.retryAfter ?? 2)) * 1000);
          } else {
            set({ queue: markFailed(getState().queue, next.client_id, error.code, `${name}: ${uploadErrorText(error.code, error.message)}`) });
          }
          continue;
        }
        const now = getState().queue.find((q) => q.client_id === next.client_id);
        if (!now) continue;
        next = now;
      }
      const ids = uploadIds(next);
      let res: any;
      try {
        res = await s.timeout(20000).emitWithAck("message:send", {
          conversation_id: next.conversation_id,
          body: next.body,
          client_id: next.client_id,
          ...(next.reply_to ? { reply_to: next.reply_to } : {}),
          ...(ids.length ? { attachments: ids } : {}),
        });
      } catch {
        // No ack (timeout or dropped connection): it stays queued and goes again with the
        // same client_id, which the server answers with the stored message if it had it.
        if (s.connected) await sleep(1000);
        continue;
      }
      if (res?.ok && res.message) {
        set({ queue: acknowledge(getState().queue, next.client_id) });
        handleMessages([res.message as Message]);
      } else {
        const code = res?.error?.code ?? "bad_request";
        const msg = res?.error?.message ?? "";
        if (isTransient(code)) {
          await sleep(1000);
        } else {
          set({ queue: markFailed(getState().queue, next.client_id, code, sendErrorText(code, msg)) });
        }
      }
    }
  } finally {
    flushing = false;
  }
  if (isSyncing()) setTimeout(() => void flushQueue(), 300);
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
    for (const [cid, users] of Object.entries(getState().typing)) {
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
  const openId = getState().openId;
  if (openId != null) sendTyping(openId, false);
  set({ openId: null, openError: null });
  if (push && location.pathname !== "/") history.pushState(null, "", "/");
}

export async function openConversation(id: number, push = true): Promise<void> {
  const openId = getState().openId;
  if (openId !== null && openId !== id) sendTyping(openId, false);
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
    const before = older ? t.oldest ?? firstStoredId(t.messages) ?? undefined : undefined;
    const res = await api.history(id, before, 50);
    const cur = thread(id);
    const pageOldest = res.messages.reduce<number | null>((lo, m) => (lo === null || m.id < lo ? m.id : lo), null);
    const oldest = cur.oldest === null ? pageOldest : pageOldest === null ? cur.oldest : Math.min(cur.oldest, pageOldest);
    // An older page says whether more exist; a newest page does too, unless older ones were
    // loaded before it (then what they said stands).
    const hasMore = older || cur.oldest === null || oldest === pageOldest ? res.has_more : cur.hasMore;
    let merged = mergeMessages(cur.messages, res.messages.map(fromServer));
    // Changes to messages before the oldest page may have slipped in while it loaded: that
    // page will bring them, in their place.
    if (hasMore && oldest !== null) merged = merged.filter((m) => m.id === null || m.id >= oldest);
    setThread(id, { messages: merged, loaded: true, loading: false, hasMore, oldest });
    const me = getState().me;
    if (me) {
      // Whoever wrote a message had read everything before it (no receipt is sent for that).
      let receipts = getState().receipts;
      for (const m of res.messages) if (m.sender_id !== me.id) receipts = noteAuthorRead(receipts, m.conversation_id, m.sender_id, m.id);
      set({ queue: settleFromServer(getState().queue, res.messages, me.id), receipts });
    }
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      setThread(id, { loading: false });
      if (getState().openId === id) set({ openError: "This conversation does not exist or you are not in it." });
    } else if (e instanceof ApiError && e.status === 401) {
      signedOut();
    } else {
      setThread(id, { loading: false, error: "Could not load messages." });
    }
  }
}

export function presenceOf(userId: number): { online: boolean; last_seen: number | null } | undefined {
  return getState().presence[userId];
}

export function pendingFor(conversationId: number): QueuedMessage[] {
  return getState().queue.filter((q) => q.conversation_id === conversationId);
}
