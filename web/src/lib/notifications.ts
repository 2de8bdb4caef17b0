// Pure logic of notifications, shared by the page and the service worker (src/sw/sw.ts): what a
// push shows, what a page asks the worker to close (and which notifications are stale), mute
// times, and the shapes Web Push uses.

import type { Conversation } from "./types";

/** What the server pushes, once the browser has decrypted it (API.md, "Notifications"). */
export interface PushPayload {
  conversation_id: number;
  message_id: number;
  /** The conversation's title as the recipient sees it. */
  title: string;
  /** The sender's name and the start of the text; absent when previews are off. */
  body?: string;
}

/** What a notification carries for its click and for closing it later. */
export interface NotificationData {
  conversation_id: number | null;
  message_id: number | null;
}

export interface NotificationSpec {
  title: string;
  options: {
    body: string;
    tag: string;
    data: NotificationData;
    icon: string;
    badge: string;
    renotify: boolean;
    timestamp?: number;
  };
}

/** What the service worker posts to a window of the app when a notification is clicked. */
export const OPEN_CONVERSATION = "parley:open-conversation";
export interface OpenConversation {
  type: typeof OPEN_CONVERSATION;
  conversation_id: number;
}

/** What the service worker posts to every window of the app once it has shown or closed
 *  notifications, so that a page (or a script watching it) learns of it without asking. */
export const NOTIFICATIONS_CHANGED = "parley:notifications-changed";
export interface NotificationsChanged {
  type: typeof NOTIFICATIONS_CHANGED;
}

/** The body shown when the server sends none (previews off) or the payload is unreadable. */
export const NEUTRAL_BODY = "New message";

/** One notification per conversation: a newer message replaces the older one. */
export function conversationTag(conversationId: number): string {
  return `conversation-${conversationId}`;
}

/** The app's address of a conversation (the client routes `/c/{id}`). */
export function conversationPath(conversationId: number | null): string {
  return conversationId === null ? "/" : `/c/${conversationId}`;
}

function positiveInteger(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v > 0;
}

/** The payload, or null when it is not one (a browser must show something all the same). */
export function parsePushPayload(data: unknown): PushPayload | null {
  if (!data || typeof data !== "object") return null;
  const p = data as Record<string, unknown>;
  if (!positiveInteger(p.conversation_id) || !positiveInteger(p.message_id)) return null;
  const title = typeof p.title === "string" && p.title.trim() ? p.title : "Parley";
  const out: PushPayload = { conversation_id: p.conversation_id, message_id: p.message_id, title };
  if (typeof p.body === "string" && p.body.trim()) out.body = p.body;
  return out;
}

/** What `registration.showNotification()` gets for a push: always something to show. */
export function notificationFor(payload: PushPayload | null, now = Date.now()): NotificationSpec {
  const common = { icon: "/icons/icon-192.png", badge: "/icons/badge-96.png", renotify: true, timestamp: now };
  if (!payload)
    return {
      title: "Parley",
      options: { ...common, body: NEUTRAL_BODY, tag: "parley", data: { conversation_id: null, message_id: null } },
    };
  return {
    title: payload.title,
    options: {
      ...common,
      body: payload.body ?? NEUTRAL_BODY,
      tag: conversationTag(payload.conversation_id),
      data: { conversation_id: payload.conversation_id, message_id: payload.message_id },
    },
  };
}

/** A notification's data as stored, or nulls. */
export function dataOf(data: unknown): NotificationData {
  const d = (data ?? {}) as Record<string, unknown>;
  return {
    conversation_id: positiveInteger(d.conversation_id) ? d.conversation_id : null,
    message_id: positiveInteger(d.message_id) ? d.message_id : null,
  };
}

// ---------------------------------------------------------------- closing

/**
 * What a page asks the service worker to close. Pages never list notifications themselves:
 * in Chromium, a getNotifications() that comes while a notification is being shown (written
 * to its notification database, not yet on screen) takes the new one for a notification that
 * was closed and deletes its data, after which it stays on screen but can be neither listed,
 * nor closed, nor clicked. So the worker, which shows them, also lists and closes them, one
 * job after the other (src/sw/sw.ts).
 */
export const CLOSE_NOTIFICATIONS = "parley:close-notifications";

/** A conversation as far as its notifications go: one's read mark, its last message, unread. */
export interface ReadState {
  id: number;
  read_up_to: number;
  last_id: number;
  unread_count: number;
}

export type CloseRule =
  /** Being read here: all of that conversation's. */
  | { kind: "conversation"; conversation_id: number }
  /** Read up to `up_to` (one's own read receipt, from another device). */
  | { kind: "read"; conversation_id: number; up_to: number }
  | { kind: "deleted"; message_ids: number[] }
  /** What the list or a sync says is no longer news (see isStale). */
  | { kind: "stale"; conversations: ReadState[] };

export interface CloseNotifications {
  type: typeof CLOSE_NOTIFICATIONS;
  rule: CloseRule;
}

export function readStates(conversations: readonly Conversation[], selfId: number): ReadState[] {
  return conversations.map((c) => ({
    id: c.id,
    read_up_to: c.members.find((u) => u.id === selfId)?.read_up_to ?? 0,
    last_id: c.last_message?.id ?? 0,
    unread_count: c.unread_count,
  }));
}

/**
 * Whether a shown notification about `data` is stale now that the client knows `conversations`
 * (the list from the server, a sync): the conversation is gone (left, removed), or one has
 * read up to that message (here or on another device), or it has no unread message left.
 * Unknown conversations are kept while the list is not loaded (the page asks only once it is).
 */
export function isStale(data: NotificationData, conversations: readonly ReadState[]): boolean {
  if (data.conversation_id === null) return false;
  const c = conversations.find((x) => x.id === data.conversation_id);
  if (!c) return true;
  if (data.message_id !== null && c.read_up_to >= data.message_id) return true;
  return c.unread_count === 0 && data.message_id !== null && c.last_id >= data.message_id;
}

/** The tag of the notifications `rule` may close (one conversation's), or undefined for all. */
export function closeTag(rule: CloseRule): string | undefined {
  return rule.kind === "conversation" || rule.kind === "read" ? conversationTag(rule.conversation_id) : undefined;
}

/** Whether `rule` closes a notification carrying `data` (and tagged closeTag(rule)). */
export function closes(rule: CloseRule, data: NotificationData): boolean {
  switch (rule.kind) {
    case "conversation":
      return true;
    case "read":
      return data.message_id !== null && data.message_id <= rule.up_to;
    case "deleted":
      return data.message_id !== null && rule.message_ids.includes(data.message_id);
    case "stale":
      return isStale(data, rule.conversations);
  }
}

function count(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function readState(v: unknown): v is ReadState {
  const r = v as Record<string, unknown> | null;
  return !!r && typeof r === "object" && positiveInteger(r.id) && count(r.read_up_to) && count(r.last_id) && count(r.unread_count);
}

/** The rule of a page's CloseNotifications message, or null for any other message. */
export function parseCloseRequest(message: unknown): CloseRule | null {
  const m = message as { type?: unknown; rule?: Record<string, unknown> } | null;
  if (!m || typeof m !== "object" || m.type !== CLOSE_NOTIFICATIONS || !m.rule || typeof m.rule !== "object") return null;
  const r = m.rule;
  switch (r.kind) {
    case "conversation":
      return positiveInteger(r.conversation_id) ? { kind: "conversation", conversation_id: r.conversation_id } : null;
    case "read":
      return positiveInteger(r.conversation_id) && count(r.up_to) ? { kind: "read", conversation_id: r.conversation_id, up_to: r.up_to } : null;
    case "deleted":
      return Array.isArray(r.message_ids) && r.message_ids.every(positiveInteger) ? { kind: "deleted", message_ids: r.message_ids } : null;
    case "stale":
      return Array.isArray(r.conversations) && r.conversations.every(readState) ? { kind: "stale", conversations: r.conversations } : null;
    default:
      return null;
  }
}

// ---------------------------------------------------------------- muting

/** "Always": the end of year 9999, as the API takes a time in milliseconds. */
export const MUTED_FOREVER = Date.UTC(9999, 11, 31, 23, 59, 59);
export const HOUR = 3_600_000;

export const MUTE_CHOICES: readonly { label: string; ms: number | null }[] = [
  { label: "For 8 hours", ms: 8 * HOUR },
  { label: "For 1 week", ms: 7 * 24 * HOUR },
  { label: "Always", ms: null },
];

/** The muted_until to send for a choice (`ms` from now, or null for always). */
export function muteUntil(ms: number | null, now = Date.now()): number {
  return ms === null ? MUTED_FOREVER : now + ms;
}

export function isMuted(c: Pick<Conversation, "muted_until"> | undefined, now = Date.now()): boolean {
  return typeof c?.muted_until === "number" && c.muted_until > now;
}

/** How long a muted conversation stays so, in words ("" when it is not muted). */
export function mutedLabel(c: Pick<Conversation, "muted_until"> | undefined, now = Date.now()): string {
  if (!isMuted(c, now)) return "";
  const until = c!.muted_until!;
  if (until - now > 10 * 365 * 24 * HOUR) return "Muted";
  const at = new Date(until);
  const sameDay = at.toDateString() === new Date(now).toDateString();
  const time = at.toLocaleTimeString("en-US", { hour: "numeric", minute: "2-digit" });
  if (sameDay) return `Muted until ${time}`;
  const day = at.toLocaleDateString("en-US", { weekday: "short", month: "short", day: "numeric" });
  return `Muted until ${day}, ${time}`;
}

// ---------------------------------------------------------------- Web Push shapes

/** A base64url string (padding optional) as bytes: the applicationServerKey. */
export function base64UrlToBytes(text: string): Uint8Array {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/").replace(/\s+/g, "");
  const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
  const bin = atob(padded);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export interface SubscriptionBody {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** What `POST /api/v1/push/subscriptions` takes, from `PushSubscription.toJSON()`; null when
 *  the browser gave no keys. */
export function subscriptionBody(json: { endpoint?: string | null; keys?: Record<string, string> } | null | undefined): SubscriptionBody | null {
  const endpoint = json?.endpoint;
  const p256dh = json?.keys?.p256dh;
  const auth = json?.keys?.auth;
  if (!endpoint || !p256dh || !auth) return null;
  return { endpoint, keys: { p256dh, auth } };
}
