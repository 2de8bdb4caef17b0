// Parley's service worker, served at /sw.js with the scope /. Built by vite.config.ts (the
// `serviceWorker` plugin) into one classic script, with the app shell's file list and a version
// made from those files' contents, so that every new build installs a new worker.
//
// - The app shell (index.html, the hashed bundle, icons, manifest) is cached at install.
//   Navigations go to the network first and fall back to the cached index.html, so the app
//   opens offline; its other files come from the cache first.
// - API calls (/api/, /socket.io/, /engine.io/) and media originals are never cached. Image
//   thumbnails (/media/{id}/thumbnail) go to the network first too; the last 200 answered 200
//   are kept only to be shown offline. The page empties that cache when one signs out.
// - `push` shows a notification, one per conversation (its tag), always: browsers require one
//   per push. `notificationclick` opens that conversation in a window of the app. Pages ask
//   (a message) which notifications to close; the worker lists and closes them in turn with
//   the ones it shows, never while one is being shown (CLOSE_NOTIFICATIONS in
//   lib/notifications.ts says why).

/// <reference lib="webworker" />
import {
  NOTIFICATIONS_CHANGED,
  OPEN_CONVERSATION,
  closeTag,
  closes,
  conversationPath,
  dataOf,
  notificationFor,
  parseCloseRequest,
  parsePushPayload,
  type CloseRule,
  type NotificationsChanged,
  type OpenConversation,
} from "../lib/notifications";

declare const self: ServiceWorkerGlobalScope;
// Filled in by the build (vite.config.ts).
declare const __SHELL_FILES__: string[];
declare const __SHELL_VERSION__: string;

const SHELL = `parley-shell-${__SHELL_VERSION__}`;
const MEDIA = "parley-media";
const MEDIA_LIMIT = 200;
const shellFiles = new Set(__SHELL_FILES__);

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL);
      // Revalidated with the server rather than taken from the HTTP cache as it stands.
      await cache.addAll(__SHELL_FILES__.map((path) => new Request(path, { cache: "no-cache" })));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith("parley-shell-") && name !== SHELL) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const path = url.pathname;
  if (/^\/media\/\d+\/thumbnail$/.test(path) && !request.headers.has("range")) return event.respondWith(thumbnail(request, path));
  if (/^\/(api|socket\.io|engine\.io|media)(\/|$)/.test(path)) return; // the network's, untouched
  if (request.mode === "navigate") return event.respondWith(navigation(request, path));
  if (shellFiles.has(path) || path.startsWith("/assets/")) event.respondWith(fromShell(request, path));
});

/** Network first; offline (or a proxy in front saying that the server is away), the cached
 *  index.html for any route of the app. */
async function navigation(request: Request, path: string): Promise<Response> {
  const last = path.slice(path.lastIndexOf("/") + 1);
  const fallback = () => caches.match(shellFiles.has(path) ? path : last.includes(".") ? path : "/", { cacheName: SHELL });
  let answer: Response;
  try {
    answer = await fetch(request);
  } catch (error) {
    const cached = await fallback();
    if (cached) return cached;
    throw error;
  }
  if (answer.status >= 502 && answer.status <= 504) return (await fallback()) ?? answer;
  return answer;
}

/** Cache first for the shell (versioned with this worker) and hashed assets (immutable). */
async function fromShell(request: Request, path: string): Promise<Response> {
  const cache = await caches.open(SHELL);
  const cached = await cache.match(path);
  if (cached) return cached;
  const answer = await fetch(request);
  if (answer.status === 200 && answer.type === "basic" && path.startsWith("/assets/")) await cache.put(path, answer.clone());
  return answer;
}

/** Network first (the server checks access every time); the last copy only when offline. */
async function thumbnail(request: Request, path: string): Promise<Response> {
  const cache = await caches.open(MEDIA);
  let answer: Response;
  try {
    answer = await fetch(request);
  } catch (error) {
    const cached = await cache.match(path);
    if (cached) return cached;
    throw error;
  }
  const storable = answer.status === 200 && answer.type === "basic" && !/no-store/i.test(answer.headers.get("cache-control") ?? "");
  if (storable) {
    await cache.put(path, answer.clone());
    const keys = await cache.keys();
    // Oldest first: a put moves an entry to the end.
    for (const old of keys.slice(0, Math.max(0, keys.length - MEDIA_LIMIT))) await cache.delete(old);
  } else if (answer.status >= 400 && answer.status < 500) {
    await cache.delete(path); // gone, or no longer one's to see
  }
  return answer;
}

// ---------------------------------------------------------------- push

/** Notifications are shown, listed and closed one job at a time, in the order asked; after
 *  each, the app's windows are told that the notifications changed. */
let turn: Promise<unknown> = Promise.resolve();
function inTurn<T>(job: () => Promise<T>): Promise<T> {
  const run = turn.then(job, job).finally(announceChange);
  turn = run.catch(() => undefined);
  return run;
}

async function announceChange(): Promise<void> {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const w of windows) w.postMessage({ type: NOTIFICATIONS_CHANGED } satisfies NotificationsChanged);
}

self.addEventListener("push", (event) => {
  let data: unknown = null;
  try {
    data = event.data?.json() ?? null;
  } catch {
    data = null; // not JSON: still a notification
  }
  const { title, options } = notificationFor(parsePushPayload(data));
  event.waitUntil(inTurn(() => self.registration.showNotification(title, options as NotificationOptions)));
});

// A page saw that some notifications are no longer news (read, deleted, left).
self.addEventListener("message", (event) => {
  const rule = parseCloseRequest(event.data);
  if (rule) event.waitUntil(inTurn(() => closeMatching(rule)));
});

async function closeMatching(rule: CloseRule): Promise<void> {
  const tag = closeTag(rule);
  for (const n of await self.registration.getNotifications(tag ? { tag } : undefined)) if (closes(rule, dataOf(n.data))) n.close();
}

self.addEventListener("notificationclick", (event) => {
  event.waitUntil(openFromNotification(event.notification).finally(announceChange));
});

/**
 * Closes the notification and opens its conversation: in a window of the app if there is one
 * (told by a message, then focused), else in a new window at the conversation's address.
 */
async function openFromNotification(notification: Notification): Promise<void> {
  notification.close();
  const { conversation_id } = dataOf(notification.data);
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const target = windows.find((w) => w.focused) ?? windows.find((w) => w.visibilityState === "visible") ?? windows[0];
  if (target) {
    if (conversation_id !== null) target.postMessage({ type: OPEN_CONVERSATION, conversation_id } satisfies OpenConversation);
    try {
      await target.focus();
    } catch {
      /* focus needs the click's user activation: the window is told all the same */
    }
    return;
  }
  await self.clients.openWindow(conversationPath(conversation_id));
}

// The push service replaced the subscription (rare): subscribe again with the same key and
// tell the server, with this browser's session cookie.
self.addEventListener("pushsubscriptionchange", (event) => {
  const change = event as Event & { oldSubscription?: PushSubscription | null; newSubscription?: PushSubscription | null };
  const renew = async () => {
    const options = change.oldSubscription?.options;
    const fresh = change.newSubscription ?? (options ? await self.registration.pushManager.subscribe(options) : null);
    const json = fresh?.toJSON();
    if (!json?.endpoint || !json.keys?.p256dh || !json.keys?.auth) return;
    await fetch("/api/v1/push/subscriptions", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ endpoint: json.endpoint, keys: { p256dh: json.keys.p256dh, auth: json.keys.auth } }),
    });
  };
  (event as ExtendableEvent).waitUntil(renew().catch(() => undefined));
});
