// The page's side of the service worker (src/sw/sw.ts) and of Web Push: registering the worker,
// opening the conversation a clicked notification names, having it close the notifications that
// are no longer news, and the `Notifications` switch (permission, subscription, the server's copy).
//
// Permission is asked only when `Notifications` is pressed, never on load. The subscription
// belongs to the user who turned it on (remembered per browser): at the next session start it
// is posted again (the server may have dropped it), unless someone else signs in here, and it
// is removed when one signs out.

import { api } from "./api";
import { ApiError } from "./lib/errors";
import {
  CLOSE_NOTIFICATIONS,
  NOTIFICATIONS_CHANGED,
  OPEN_CONVERSATION,
  base64UrlToBytes,
  readStates,
  subscriptionBody,
  type CloseNotifications,
  type CloseRule,
} from "./lib/notifications";
import type { Message } from "./lib/types";
import { applyConversations } from "./messages";
import { forget, getState, load, notificationsChanged, save, set, type PushUi } from "./state";

const OWNER = "push.owner";
/** How long to wait for the browser's push service before saying that it does not answer. */
const SUBSCRIBE_TIMEOUT = 30_000;

function workers(): ServiceWorkerContainer | null {
  return typeof navigator !== "undefined" && "serviceWorker" in navigator ? navigator.serviceWorker : null;
}

export function pushSupported(): boolean {
  return !!workers() && typeof window !== "undefined" && "PushManager" in window && "Notification" in window && window.isSecureContext;
}

/**
 * Registers /sw.js (production builds only: the dev server has none) and listens to it:
 * a clicked notification asks this window to open a conversation, and the worker says when
 * the notifications changed.
 */
export function startServiceWorker(open: (conversationId: number) => void): void {
  const sw = workers();
  if (!sw || !import.meta.env.PROD) return;
  sw.addEventListener("message", (e: MessageEvent) => {
    const d = e.data as { type?: unknown; conversation_id?: unknown } | null;
    if (d?.type === OPEN_CONVERSATION && typeof d.conversation_id === "number") open(d.conversation_id);
    else if (d?.type === NOTIFICATIONS_CHANGED) notificationsChanged();
  });
  sw.startMessages();
  // Once the page has loaded: installing fetches the whole shell again.
  const register = () =>
    sw.register("/sw.js", { scope: "/" }).catch(() => {
      /* no worker (private mode, policy): the app works without one, offline excepted */
    });
  if (document.readyState === "complete") void register();
  else window.addEventListener("load", () => void register(), { once: true });
}

async function registration(): Promise<ServiceWorkerRegistration | undefined> {
  try {
    return await workers()?.getRegistration("/");
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- closing notifications

/** Asks the service worker to close the notifications `rule` picks: it lists and closes them
 *  in turn with the ones it shows (CLOSE_NOTIFICATIONS in lib/notifications.ts says why the
 *  page does not list them itself). No active worker, no notifications to close. */
function closeWhere(rule: CloseRule): void {
  void registration().then((reg) => reg?.active?.postMessage({ type: CLOSE_NOTIFICATIONS, rule } satisfies CloseNotifications));
}

/** The conversation is being read in this tab. */
export function closeConversationNotifications(conversationId: number): void {
  closeWhere({ kind: "conversation", conversation_id: conversationId });
}

/** One read up to `upTo` in that conversation (on another device: its own read receipt). */
export function closeReadUpTo(conversationId: number, upTo: number): void {
  closeWhere({ kind: "read", conversation_id: conversationId, up_to: upTo });
}

/** Deleted messages take their notifications with them. */
export function closeForDeleted(msgs: readonly Message[]): void {
  const gone = msgs.filter((m) => m?.deleted).map((m) => m.id);
  if (gone.length) closeWhere({ kind: "deleted", message_ids: gone });
}

/** After the list or a sync: what was read elsewhere, or left, is no longer news. */
export function closeStaleNotifications(): void {
  const s = getState();
  if (!s.me || !s.conversationsLoaded || s.loadError || s.fromSnapshot) return;
  closeWhere({ kind: "stale", conversations: readStates(s.conversations, s.me.id) });
}

// ---------------------------------------------------------------- the switch

function setPush(patch: Partial<PushUi>): void {
  set({ push: { ...getState().push, ...patch } });
}

const TEXT = {
  unsupported:
    "This browser cannot receive notifications from Parley. (On an iPhone or iPad, add Parley to the Home Screen first.)",
  denied: "Notifications are blocked for Parley in this browser. Allow them in the site settings, then press Notifications again.",
  dismissed: "Notifications stay off: the browser was not given permission.",
  noWorker: "Notifications need Parley's offline support, which this browser has not started. Reload the page and try again.",
  timeout: "The browser's push service did not answer. Try again later.",
  failed: "The browser could not subscribe to notifications. Try again later.",
};

function serverText(e: unknown): string {
  if (e instanceof ApiError && e.code === "network") return "Cannot reach Parley. Check your connection and try again.";
  if (e instanceof ApiError && e.status === 404) return "This Parley server does not offer notifications.";
  return e instanceof ApiError && e.message ? e.message : "Parley could not turn notifications on.";
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

function sameKey(a: ArrayBuffer | null | undefined, b: Uint8Array): boolean {
  if (!a) return false;
  const x = new Uint8Array(a);
  return x.length === b.length && x.every((v, i) => v === b[i]);
}

/** At the start of a session: what the switch shows, and the server told again of a
 *  subscription this user made here. Asks nothing. */
export async function initPush(userId: number): Promise<void> {
  if (!pushSupported()) return setPush({ status: "unsupported" });
  if (Notification.permission === "denied") return setPush({ status: "denied" });
  const reg = await registration();
  const sub = await reg?.pushManager.getSubscription().catch(() => null);
  if (!sub) return setPush({ status: "off" });
  if (load(OWNER) !== String(userId) || Notification.permission !== "granted") {
    // Someone else's, or no longer allowed: not this user's to keep.
    await sub.unsubscribe().catch(() => false);
    forget(OWNER);
    return setPush({ status: "off" });
  }
  setPush({ status: "on" });
  const body = subscriptionBody(sub.toJSON());
  if (body) await api.addPushSubscription(body).catch(() => undefined);
}

/** `Notifications` pressed: on (asking for permission now, and only now) or off. */
export async function togglePush(): Promise<void> {
  const status = getState().push.status;
  if (status === "busy") return;
  if (status === "on") return turnOff();
  if (!pushSupported()) return setPush({ status: "unsupported", message: TEXT.unsupported });
  // First, while the click's user activation lasts.
  const permission = await Notification.requestPermission();
  if (permission !== "granted")
    return setPush({ status: permission === "denied" ? "denied" : "off", message: permission === "denied" ? TEXT.denied : TEXT.dismissed });
  setPush({ status: "busy", message: null });
  let key: Uint8Array;
  try {
    key = base64UrlToBytes((await api.pushKey()).public_key);
  } catch (e) {
    return setPush({ status: "off", message: serverText(e) });
  }
  // Subscribing needs an active worker (it may still be installing on a first visit).
  const reg = await withTimeout(workers()!.ready, 10_000).catch(() => undefined);
  if (!reg) return setPush({ status: "off", message: TEXT.noWorker });
  let sub: PushSubscription;
  try {
    let old = await reg.pushManager.getSubscription();
    if (old && !sameKey(old.options.applicationServerKey, key)) {
      // Made for another server key: the push service would refuse our pushes.
      await old.unsubscribe();
      old = null;
    }
    sub = old ?? (await withTimeout(reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }), SUBSCRIBE_TIMEOUT));
  } catch (e) {
    return setPush({ status: "off", message: e instanceof Error && e.message === "timeout" ? TEXT.timeout : TEXT.failed });
  }
  const body = subscriptionBody(sub.toJSON());
  try {
    if (!body) throw new Error("no keys");
    await api.addPushSubscription(body);
  } catch (e) {
    await sub.unsubscribe().catch(() => false);
    return setPush({ status: "off", message: e instanceof ApiError ? serverText(e) : TEXT.failed });
  }
  const me = getState().me;
  if (me) save(OWNER, String(me.id));
  setPush({ status: "on", message: null });
}

async function turnOff(): Promise<void> {
  setPush({ status: "busy", message: null });
  const failed = await unsubscribe(false);
  setPush({ status: "off", message: failed });
}

/** Removes this browser's subscription, here and on the server (unless `quick`: signing out,
 *  when the server drops it with the session anyway). Answers null, or the sentence to show. */
async function unsubscribe(quick: boolean): Promise<string | null> {
  forget(OWNER);
  const reg = await registration();
  const sub = await reg?.pushManager.getSubscription().catch(() => null);
  if (!sub) return null;
  const endpoint = sub.endpoint;
  await sub.unsubscribe().catch(() => false);
  if (quick) return null;
  try {
    await api.removePushSubscription(endpoint);
    return null;
  } catch (e) {
    // Already gone there: nothing is left to do.
    if (e instanceof ApiError && e.status === 404) return null;
    return "Notifications are off in this browser; Parley will drop the subscription when it can.";
  }
}

/** Signing out (or signed out): no more pushes to this browser, no saved thumbnails. */
export async function forgetPush(): Promise<void> {
  await withTimeout(unsubscribe(true), 5000).catch(() => null);
  try {
    if (typeof caches !== "undefined") await caches.delete("parley-media");
  } catch {
    /* no cache storage here */
  }
}

export function dismissPushMessage(): void {
  setPush({ message: null });
}

// ---------------------------------------------------------------- muting

/** `PATCH /api/v1/conversations/{id}/settings {"muted_until"}`: null unmutes. Answers null, or
 *  the sentence to show. */
export async function setMuted(conversationId: number, mutedUntil: number | null): Promise<string | null> {
  try {
    const { conversation } = await api.setMuted(conversationId, mutedUntil);
    applyConversations([{ ...conversation, muted_until: conversation.muted_until !== undefined ? conversation.muted_until : mutedUntil }]);
    return null;
  } catch (e) {
    if (e instanceof ApiError && e.code === "network") return "Cannot reach Parley. Check your connection and try again.";
    if (e instanceof ApiError && e.status === 404) return "Parley could not change this conversation's notifications.";
    return e instanceof ApiError && e.message ? e.message : "Could not change this conversation's notifications.";
  }
}
