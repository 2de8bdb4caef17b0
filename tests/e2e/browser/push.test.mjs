// Browser end-to-end tests of Parley as an installable app with notifications (v2), in
// Chromium (node's built-in test runner; the server, Chromium and the helpers as in
// web.test.mjs, see support.mjs): the service worker at /sw.js installs, controls the page and
// keeps the app shell, which then opens with the server stopped and shows the conversations
// this device saved; a push (delivered by the DevTools protocol, as a push service would)
// shows one notification per conversation, which closes when the conversation is read here or
// elsewhere, and whose click opens the conversation; `Notifications` asks for permission only
// when pressed; `Mute` and the Profile's previews checkbox change the server's settings.
//
// What headless Chromium cannot do, and how the tests stand in for it:
// - A push service: `ServiceWorker.deliverPushMessage` fires a real `push` event in the worker
//   with the plaintext the server encrypts (its format is the contract, API.md). The test
//   lists notifications only once Chromium says that the worker has handled the push (see
//   pushService).
// - Clicking a system notification: the test takes the Notification the worker showed
//   (`registration.getNotifications()`, in the worker) and dispatches a `notificationclick`
//   event with it there, so the worker's own listener runs. The one difference from a real
//   click is the missing user activation: `focus()` and `openWindow()` are refused, so only
//   the path with an open window (it is told to open the conversation) is exercised.
// - `pushManager.subscribe()`, which never settles offline: the scenario of turning
//   notifications on replaces the page's PushManager with a stand-in that returns a
//   subscription with real P-256 keys, and checks what the client sends to the server.
//
//   cd tests/e2e/browser && PARLEY_BINARY=../../../build/parley node --test push.test.mjs
//
// Screenshots (push-*.png) go to ./screenshots (or $PARLEY_SCREENSHOTS); on a failure, one of
// each open page (failure-*.png), whose text and unanswered requests are added to the error.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import path from "node:path";
import { after, before, describe } from "node:test";

import {
  SCREENSHOTS, TEST_TIMEOUT, WAIT, addContact, assertAccessible, chat, conversationLink, conversationRow, message,
  newPage, openConversation, pageErrors, people, pollPage, scenario, send, server, shown, signIn, startSuite,
  stopSuite, whileServerStopped,
} from "./support.mjs";

/** Counts, in every page of `context` from now on, the calls that may ask for permission. */
function countPermissionRequests(context) {
  return context.addInitScript(() => {
    const asked = (window.__asked = { permission: 0, subscribe: 0 });
    const request = Notification.requestPermission.bind(Notification);
    Notification.requestPermission = (...args) => {
      asked.permission += 1;
      return request(...args);
    };
    const subscribe = PushManager.prototype.subscribe;
    PushManager.prototype.subscribe = function (...args) {
      asked.subscribe += 1;
      return subscribe.apply(this, args);
    };
  });
}

/** A stand-in for the page's PushManager (see the top): subscribe() answers at once with a
 *  subscription holding `keys`; window.__push records what the client asked. */
function standInPushManager(context, keys) {
  return context.addInitScript(({ endpoint, p256dh, auth }) => {
    const state = (window.__push = { subscription: null, options: null, subscribed: 0, unsubscribed: 0 });
    const base64url = (bytes) =>
      btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    PushManager.prototype.subscribe = async function (options) {
      state.subscribed += 1;
      const key = options.applicationServerKey;
      const bytes = key instanceof ArrayBuffer ? new Uint8Array(key) : new Uint8Array(key.buffer, key.byteOffset, key.byteLength);
      state.options = { userVisibleOnly: options.userVisibleOnly, key: base64url(bytes) };
      const subscription = {
        endpoint,
        expirationTime: null,
        options: { userVisibleOnly: true, applicationServerKey: bytes.slice().buffer },
        toJSON: () => ({ endpoint, expirationTime: null, keys: { p256dh, auth } }),
        unsubscribe: async () => {
          state.unsubscribed += 1;
          state.subscription = null;
          window.dispatchEvent(new Event("parley:changed"));
          return true;
        },
      };
      state.subscription = subscription;
      window.dispatchEvent(new Event("parley:changed"));
      return subscription;
    };
    PushManager.prototype.getSubscription = async function () {
      return state.subscription;
    };
  }, keys);
}

/** What a browser's subscription holds: a push service URL and its keys (a P-256 point and an
 *  auth secret, base64url), as RFC 8291 has them. */
function subscriptionKeys() {
  const ecdh = crypto.createECDH("prime256v1");
  ecdh.generateKeys();
  return {
    endpoint: `https://fcm.googleapis.com/fcm/send/parley-e2e-${crypto.randomBytes(8).toString("hex")}`,
    p256dh: ecdh.getPublicKey().toString("base64url"),
    auth: crypto.randomBytes(16).toString("base64url"),
  };
}

/** Resolves once `page` is controlled by a service worker; with its script and scope. */
function controlled(page) {
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((resolve) => navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }));
    }
    return { script: navigator.serviceWorker.controller.scriptURL, scope: registration.scope, state: registration.active.state };
  });
}

/** The DevTools ServiceWorker domain for `page`: `push(payload)` delivers a push message to
 *  the origin's registration (its id from workerRegistrationUpdated), as a push service does,
 *  and resolves once the worker has handled it.
 *
 *  Handled, as Chromium reports it (the BackgroundService domain's "Push event completed",
 *  sent when every promise the worker passed to the push event's waitUntil() has settled):
 *  only then may the test list notifications. A getNotifications() that runs while a
 *  notification is being shown (in Chromium's notification database, not yet on screen) takes
 *  it for one that was closed and deletes its data, so that it is never listed afterwards —
 *  which is how a test that polled during the push lost the notification now and then. */
async function pushService(context, page) {
  const cdp = await context.newCDPSession(page);
  const live = new Map(); // registration id -> scope
  let changed = () => {};
  cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
    for (const r of registrations) {
      if (r.isDeleted) live.delete(r.registrationId);
      else live.set(r.registrationId, r.scopeURL);
    }
    changed();
  });
  // For the diagnosis of a failure: what happened to the worker, and its errors.
  const history = [];
  cdp.on("ServiceWorker.workerVersionUpdated", ({ versions }) =>
    history.push(...versions.map((v) => `version ${v.versionId} ${v.status} ${v.runningStatus}`)));
  cdp.on("ServiceWorker.workerErrorReported", ({ errorMessage: e }) => history.push(`error ${e.errorMessage} ${e.sourceURL}:${e.lineNumber}`));
  await cdp.send("ServiceWorker.enable");
  // The ends of push events, in order (the test delivers one at a time): their status.
  const ended = [];
  let onEnd = () => {};
  cdp.on("BackgroundService.backgroundServiceEventReceived", ({ backgroundServiceEvent: e }) => {
    if (e.service !== "pushMessaging" || e.origin !== `${server.url}/` || e.eventName !== "Push event completed") return;
    ended.push(e.eventMetadata.find((m) => m.key === "Status")?.value ?? "?");
    onEnd();
  });
  await cdp.send("BackgroundService.startObserving", { service: "pushMessaging" });
  await cdp.send("BackgroundService.setRecording", { service: "pushMessaging", shouldRecord: true });
  const registrationId = () =>
    new Promise((resolve, reject) => {
      const find = () => [...live].find(([, scope]) => scope === `${server.url}/`)?.[0];
      if (find() !== undefined) return resolve(find());
      const timer = setTimeout(() => reject(new Error(`no service worker registration for ${server.url}/`)), WAIT);
      changed = () => {
        if (find() === undefined) return;
        clearTimeout(timer);
        resolve(find());
      };
    });
  /** The status of the `n`th push event, once it has ended. */
  const end = (n) =>
    new Promise((resolve, reject) => {
      if (ended.length >= n) return resolve(ended[n - 1]);
      const timer = setTimeout(() => reject(new Error(`the service worker never finished handling push ${n}: ${history.join("; ")}`)), WAIT);
      onEnd = () => {
        if (ended.length < n) return;
        clearTimeout(timer);
        resolve(ended[n - 1]);
      };
    });
  let delivered = 0;
  return {
    async push(payload) {
      const data = typeof payload === "string" ? payload : JSON.stringify(payload);
      await cdp.send("ServiceWorker.deliverPushMessage", { origin: server.url, registrationId: await registrationId(), data });
      delivered += 1;
      const status = await end(delivered);
      history.push(`pushed ${data}: ${status}`);
      assert.equal(status, "Success", `the push event of ${data} ended with ${status}: ${history.join("; ")}`);
    },
    /** What the worker went through, and what it lists itself. */
    async diagnosis() {
      const worker = await serviceWorker(context);
      const listed = await worker.evaluate(() => self.registration.getNotifications().then((all) => all.map((n) => n.tag)));
      return `\n--- service worker: ${history.join("; ")}; the worker lists: ${JSON.stringify(listed)}`;
    },
  };
}

/** The notifications the origin shows (tagged `tag`, or all), once `done(list)` holds;
 *  `service` (pushService) adds to the error what the worker went through. */
async function notificationsUntil(page, tag, done, what, service) {
  const list = (tag) =>
    navigator.serviceWorker.ready.then((registration) =>
      registration.getNotifications(tag ? { tag } : undefined).then((all) =>
        all.map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data, icon: n.icon, badge: n.badge }))));
  try {
    return await pollPage(page, list, tag, done, what);
  } catch (error) {
    if (service) error.message += await service.diagnosis().catch((e) => `\n--- service worker: ${e.message}`);
    throw error;
  }
}

/** The origin's service worker, as Playwright drives it. */
async function serviceWorker(context) {
  return context.serviceWorkers().find((w) => w.url().endsWith("/sw.js")) ??
    (await context.waitForEvent("serviceworker", { timeout: WAIT }));
}

/** Grants `context` the notifications permission and resolves once the worker sees it. */
async function allowNotifications(context) {
  await context.grantPermissions(["notifications"], { origin: server.url });
  const worker = await serviceWorker(context);
  const deadline = Date.now() + WAIT;
  while ((await worker.evaluate(() => Notification.permission)) !== "granted") {
    if (Date.now() > deadline) throw new Error("the service worker never saw the notifications permission");
  }
}

/** A click on the notification tagged `tag`: a notificationclick event with the Notification
 *  the worker showed, dispatched in the worker (see the top). */
async function clickNotification(context, tag) {
  const worker = await serviceWorker(context);
  await worker.evaluate(async (tag) => {
    const [notification] = await self.registration.getNotifications({ tag });
    if (!notification) throw new Error(`no notification tagged ${tag}`);
    self.dispatchEvent(new NotificationEvent("notificationclick", { notification }));
  }, tag);
}

/** The id of the message shown as `item`, once it is stored (`msg-{id}`). */
async function idOf(item) {
  const stored = item.and(item.page().locator("li[id^='msg-']"));
  await shown(stored);
  return Number((await stored.getAttribute("id")).slice("msg-".length));
}

function notificationsButton(page, pressed) {
  return page.getByRole("button", { name: "Notifications", exact: true, ...(pressed === undefined ? {} : { pressed }) });
}

/** The request the next action sends: `method` to a path ending with `suffix`. */
function nextRequest(page, method, suffix) {
  return page.waitForRequest((r) => r.method() === method && new URL(r.url()).pathname.endsWith(suffix), { timeout: WAIT });
}

describe("installable app and notifications in Chromium", { timeout: 10 * TEST_TIMEOUT }, () => {
  const s = {}; // what the scenarios share: pages and contexts per person, ids

  before(startSuite);
  after(stopSuite);

  scenario("the service worker installs, controls the page and keeps the app shell; nothing asks for permission", async () => {
    for (const key of ["alice", "bob"]) s[key] = await newPage();
    await countPermissionRequests(s.alice.context);
    const { alice, bob } = { alice: s.alice.page, bob: s.bob.page };
    await Promise.all([signIn(alice, people.alice), signIn(bob, people.bob)]);
    await addContact(alice, people.bob);
    await addContact(bob, people.alice);

    const worker = await controlled(alice);
    assert.deepEqual(worker, { script: `${server.url}/sw.js`, scope: `${server.url}/`, state: "activated" });
    // The shell's cache holds the page and every script and stylesheet it loaded; no cache
    // holds an API answer.
    const loaded = await alice.evaluate(() =>
      [...document.querySelectorAll("script[src], link[rel=stylesheet]")].map((e) => new URL(e.src || e.href).pathname));
    assert.ok(loaded.length >= 2, JSON.stringify(loaded));
    const caches = await alice.evaluate(async () => {
      const out = {};
      for (const name of await caches.keys()) out[name] = (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname);
      return out;
    });
    const shell = Object.entries(caches).find(([name]) => name.startsWith("parley-shell-"))?.[1] ?? [];
    for (const file of ["/", "/manifest.webmanifest", "/icons/icon-192.png", ...loaded]) assert.ok(shell.includes(file), `${file} in ${shell}`);
    assert.deepEqual(Object.values(caches).flat().filter((p) => /^\/(api|socket\.io)\//.test(p)), []);

    // Installable: the manifest parses without errors and names the app, its scope and icons.
    const cdp = await s.alice.context.newCDPSession(alice);
    const { errors, url } = await cdp.send("Page.getAppManifest");
    assert.equal(url, `${server.url}/manifest.webmanifest`);
    assert.deepEqual(errors, []);
    // Chromium finds nothing missing for an install (only that a test context is incognito).
    const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
    assert.deepEqual(installabilityErrors.map((e) => e.errorId).filter((id) => id !== "in-incognito"), []);
    const answer = await alice.request.get(url);
    assert.equal(answer.status(), 200);
    assert.match(answer.headers()["content-type"], /^application\/manifest\+json/);
    const manifest = await answer.json();
    assert.equal(manifest.name, "Parley");
    assert.equal(manifest.start_url, "/");
    assert.equal(manifest.scope, "/");
    assert.equal(manifest.display, "standalone");
    const sizes = manifest.icons.filter((i) => i.type === "image/png").map((i) => `${i.sizes} ${i.purpose}`);
    for (const want of ["192x192 any", "512x512 any", "512x512 maskable"]) assert.ok(sizes.includes(want), `${want} in ${sizes}`);
    for (const icon of manifest.icons) {
      const got = await alice.request.get(server.url + icon.src);
      assert.equal(got.status(), 200, icon.src);
      assert.equal(got.headers()["content-type"], icon.type, icon.src);
    }
    // The worker script and the page are revalidated on every load, never kept long.
    for (const file of ["/sw.js", "/"]) {
      const got = await alice.request.get(server.url + file);
      assert.equal(got.headers()["cache-control"], "no-cache", file);
    }
    assert.match((await alice.request.get(`${server.url}/sw.js`)).headers()["content-type"], /^text\/javascript/);

    // Signing in and loading asked nothing: permission is asked only by `Notifications`.
    await shown(notificationsButton(alice, false));
    assert.deepEqual(await alice.evaluate(() => window.__asked), { permission: 0, subscribe: 0 });
    assert.equal(await alice.evaluate(() => Notification.permission), "default");
  });

  scenario("a push shows one notification per conversation, closed once read elsewhere; a click opens it", async () => {
    const { alice, bob } = { alice: s.alice.page, bob: s.bob.page };
    const context = s.alice.context;
    await allowNotifications(context);
    const service = await pushService(context, alice);
    s.direct = await openConversation(bob, people.alice.name);
    const tag = `conversation-${s.direct}`;
    // Alice is on her list, the conversation not open: a message there is news.
    await shown(conversationLink(alice, people.bob.name));
    const first = "push-first-message";
    await send(bob, first);
    const firstId = await idOf(message(bob, first));
    await shown(conversationRow(alice, people.bob.name).locator(".badge"));

    await service.push({ conversation_id: s.direct, message_id: firstId, title: people.bob.name, body: `${people.bob.name}: ${first}` });
    let [shownNow] = await notificationsUntil(alice, tag, (list) => list.length === 1, "the first notification", service);
    assert.equal(shownNow.title, people.bob.name);
    assert.equal(shownNow.body, `${people.bob.name}: ${first}`);
    assert.equal(shownNow.tag, tag);
    assert.deepEqual(shownNow.data, { conversation_id: s.direct, message_id: firstId });
    assert.equal(shownNow.icon, `${server.url}/icons/icon-192.png`);
    assert.equal(shownNow.badge, `${server.url}/icons/badge-96.png`);

    // A second message, with previews off (no body): it replaces the first (same tag) and
    // says only that there is a new message.
    const second = "push-second-message";
    await send(bob, second);
    const secondId = await idOf(message(bob, second));
    await service.push({ conversation_id: s.direct, message_id: secondId, title: people.bob.name });
    [shownNow] = await notificationsUntil(alice, tag, (list) => list.length === 1 && list[0].data.message_id === secondId,
                                          "the second notification in place of the first", service);
    assert.equal(shownNow.body, "New message");
    assert.equal(shownNow.title, people.bob.name);

    // Something that is not the payload still shows a notification (browsers require one).
    await service.push("not json");
    const [neutral] = await notificationsUntil(alice, "parley", (list) => list.length === 1, "a neutral notification", service);
    assert.deepEqual([neutral.title, neutral.body], ["Parley", "New message"]);
    await alice.evaluate(async () => {
      for (const n of await (await navigator.serviceWorker.ready).getNotifications({ tag: "parley" })) n.close();
    });

    // Alice reads the conversation on another device (another window with her session): her
    // read mark reaches this page, which closes the notification.
    const elsewhere = await newPage();
    await elsewhere.context.addCookies(await context.cookies());
    await elsewhere.page.goto(`${server.url}/c/${s.direct}`);
    await shown(message(elsewhere.page, second));
    await notificationsUntil(alice, tag, (list) => list.length === 0, "the notification closed after reading elsewhere", service);
    await elsewhere.context.close();

    // A third message and its push; a click on the notification opens the conversation here.
    const third = "push-third-message";
    await send(bob, third);
    const thirdId = await idOf(message(bob, third));
    await service.push({ conversation_id: s.direct, message_id: thirdId, title: people.bob.name, body: `${people.bob.name}: ${third}` });
    await notificationsUntil(alice, tag, (list) => list.length === 1, "the third notification", service);
    await clickNotification(context, tag);
    await shown(chat(alice, people.bob.name));
    await shown(message(alice, third));
    assert.equal(new URL(alice.url()).pathname, `/c/${s.direct}`);
    await notificationsUntil(alice, tag, (list) => list.length === 0, "the clicked notification closed", service);

    // Opening the conversation in this tab closes its notification too.
    await alice.goBack(); // to the list, where the click came from
    await shown(chat(alice, people.bob.name), "hidden");
    const fourth = "push-fourth-message";
    await send(bob, fourth);
    const fourthId = await idOf(message(bob, fourth));
    await service.push({ conversation_id: s.direct, message_id: fourthId, title: people.bob.name, body: fourth });
    await notificationsUntil(alice, tag, (list) => list.length === 1, "the fourth notification", service);
    await openConversation(alice, people.bob.name);
    await notificationsUntil(alice, tag, (list) => list.length === 0, "the notification closed by opening the conversation", service);
  });

  scenario("Notifications asks for permission only when pressed; refused, it says so; signing out forgets this device", async () => {
    const { context, page } = await newPage();
    await countPermissionRequests(context);
    await signIn(page, people.carol);
    const button = notificationsButton(page, false);
    await shown(button);
    assert.deepEqual(await page.evaluate(() => window.__asked), { permission: 0, subscribe: 0 });
    await controlled(page);

    // Headless Chromium answers a permission request it may not show with a refusal.
    await button.click();
    const alert = page.getByRole("alert").filter({ hasText: "Notifications" });
    await shown(alert);
    assert.match(await alert.innerText(), /blocked|permission/);
    assert.deepEqual(await page.evaluate(() => window.__asked), { permission: 1, subscribe: 0 });
    await shown(notificationsButton(page, false));
    await page.screenshot({ path: path.join(SCREENSHOTS, "push-notifications-refused.png") });
    await assertAccessible(page, "the refused Notifications message");
    await alert.getByRole("button", { name: "Dismiss", exact: true }).click();
    await shown(alert, "hidden");

    // What this device saved for offline use goes when one signs out.
    await pollPage(page, () => localStorage.getItem("parley.snapshot") ?? "", undefined, (text) => text.includes(people.carol.name),
                   "the saved copy of Carol's conversations");
    await page.getByRole("button", { name: "Log out", exact: true }).click();
    await shown(page.getByLabel("Phone number", { exact: true }));
    await pollPage(page, () => localStorage.getItem("parley.snapshot"), undefined, (text) => text === null, "the saved copy gone");
    await context.close();
  });

  scenario("Notifications subscribes with the server's key and posts it, then removes it; signing out unsubscribes", async () => {
    const { context, page } = await newPage();
    const keys = subscriptionKeys();
    await standInPushManager(context, keys);
    await context.grantPermissions(["notifications"], { origin: server.url });
    await signIn(page, people.dave);
    await controlled(page);

    const [posted] = await Promise.all([nextRequest(page, "POST", "/api/v1/push/subscriptions"), notificationsButton(page, false).click()]);
    assert.deepEqual(posted.postDataJSON(), { endpoint: keys.endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } });
    assert.equal((await posted.response()).status(), 201);
    const publicKey = await page.evaluate(() => fetch("/api/v1/push/key").then((r) => r.json()).then((j) => j.public_key));
    assert.deepEqual(await page.evaluate(() => window.__push.options), { userVisibleOnly: true, key: publicKey });
    await shown(notificationsButton(page, true));

    const [deleted] = await Promise.all([nextRequest(page, "DELETE", "/api/v1/push/subscriptions"), notificationsButton(page, true).click()]);
    assert.deepEqual(deleted.postDataJSON(), { endpoint: keys.endpoint });
    assert.equal((await deleted.response()).status(), 204);
    await shown(notificationsButton(page, false));
    assert.equal(await page.evaluate(() => window.__push.subscription), null);

    // On again, then Log out: this browser's subscription goes with the session.
    await Promise.all([nextRequest(page, "POST", "/api/v1/push/subscriptions"), notificationsButton(page, false).click()]);
    await shown(notificationsButton(page, true));
    await page.getByRole("button", { name: "Log out", exact: true }).click();
    await shown(page.getByLabel("Phone number", { exact: true }));
    await pollPage(page, () => window.__push.subscription, undefined, (sub) => sub === null, "the subscription removed");
    assert.equal(await page.evaluate(() => window.__push.unsubscribed), 2);
    await context.close();
  });

  scenario("Mute sends the conversation's settings and shows it muted, in the header and the list", async () => {
    const alice = s.alice.page;
    await openConversation(alice, people.bob.name);
    const header = chat(alice, people.bob.name).locator("header");
    const mute = header.getByRole("button", { name: "Mute", exact: true });
    assert.equal(await mute.getAttribute("aria-pressed"), "false");
    await mute.click();
    const menu = alice.getByRole("menu", { name: "Mute", exact: true });
    await shown(menu);
    await alice.screenshot({ path: path.join(SCREENSHOTS, "push-mute-menu.png") });

    const before = Date.now();
    const [patched] = await Promise.all([
      nextRequest(alice, "PATCH", `/api/v1/conversations/${s.direct}/settings`),
      menu.getByRole("menuitem", { name: "For 8 hours", exact: true }).click(),
    ]);
    const { muted_until: until } = patched.postDataJSON();
    const eight = 8 * 3600 * 1000;
    assert.ok(until >= before + eight && until <= Date.now() + eight, `muted_until ${until}`);
    assert.equal((await patched.response()).status(), 200);
    await shown(header.getByRole("button", { name: "Mute", exact: true, pressed: true }));
    await shown(header.getByText(/^Muted until /));
    await shown(conversationRow(alice, people.bob.name).locator(".muted-mark"));
    await header.screenshot({ path: path.join(SCREENSHOTS, "push-mute-header.png") });
    await alice.screenshot({ path: path.join(SCREENSHOTS, "push-muted.png") });
    await assertAccessible(alice, "a muted conversation");

    // After a reload the server's conversation object says so too.
    await alice.reload();
    await shown(header.getByRole("button", { name: "Mute", exact: true, pressed: true }));

    // Pressed again: unmuted.
    const [unmuted] = await Promise.all([nextRequest(alice, "PATCH", `/api/v1/conversations/${s.direct}/settings`), mute.click()]);
    assert.deepEqual(unmuted.postDataJSON(), { muted_until: null });
    await shown(header.getByRole("button", { name: "Mute", exact: true, pressed: false }));
    await shown(conversationRow(alice, people.bob.name).locator(".muted-mark"), "hidden");

    // Always: a time far in the future, shown as muted with no end.
    await mute.click();
    const [always] = await Promise.all([
      nextRequest(alice, "PATCH", `/api/v1/conversations/${s.direct}/settings`),
      menu.getByRole("menuitem", { name: "Always", exact: true }).click(),
    ]);
    assert.ok(always.postDataJSON().muted_until > Date.now() + 50 * 365 * 24 * 3600 * 1000);
    await shown(header.getByText("Muted", { exact: true }));
    await Promise.all([nextRequest(alice, "PATCH", `/api/v1/conversations/${s.direct}/settings`), mute.click()]);
    await shown(header.getByRole("button", { name: "Mute", exact: true, pressed: false }));
  });

  scenario("Show message text in notifications, in Profile, sends the setting", async () => {
    const alice = s.alice.page;
    const open = async () => {
      await alice.getByRole("button", { name: "Profile", exact: true }).click();
      const dialog = alice.getByRole("dialog", { name: "Profile", exact: true });
      return { dialog, box: dialog.getByRole("checkbox", { name: "Show message text in notifications", exact: true }) };
    };
    let { dialog, box } = await open();
    await shown(box);
    assert.equal(await box.isChecked(), true, "previews are on by default");
    const [patched] = await Promise.all([nextRequest(alice, "PATCH", "/api/v1/me"), box.click()]);
    assert.deepEqual(patched.postDataJSON(), { notification_previews: false });
    assert.equal((await patched.response()).status(), 200);
    await shown(dialog.getByText("Notifications no longer show the message text.", { exact: true }));
    assert.equal(await box.isChecked(), false);
    await dialog.screenshot({ path: path.join(SCREENSHOTS, "push-profile-dialog.png") });
    await assertAccessible(alice, "the Profile dialog");

    // Kept by the server: still off after a reload; then on again.
    await alice.reload();
    ({ dialog, box } = await open());
    await shown(box);
    assert.equal(await box.isChecked(), false);
    const [again] = await Promise.all([nextRequest(alice, "PATCH", "/api/v1/me"), box.click()]);
    assert.deepEqual(again.postDataJSON(), { notification_previews: true });
    await shown(dialog.getByText("Notifications show the message text.", { exact: true }));
    await dialog.getByRole("button", { name: "Close", exact: true }).click();
  });

  scenario("with the server stopped, a reload opens the app with the conversations and messages it had", async () => {
    const { alice, bob } = { alice: s.alice.page, bob: s.bob.page };
    await alice.goto(`${server.url}/c/${s.direct}`);
    await shown(chat(alice, people.bob.name));
    const body = "push-offline-shell-message";
    await send(bob, body);
    await shown(message(alice, body));
    await pollPage(alice, () => localStorage.getItem("parley.snapshot") ?? "", undefined, (text) => text.includes(body),
                   "the saved copy with the last message");

    await whileServerStopped(async () => {
      await alice.reload();
      await shown(chat(alice, people.bob.name));
      await shown(message(alice, body));
      await shown(conversationLink(alice, people.bob.name));
      await shown(alice.getByRole("status").filter({ hasText: "Offline: showing what this device saved." }));
      assert.equal(await alice.getByLabel("Phone number", { exact: true }).count(), 0);
      // Another address of the app opens as well; the API is never answered from a cache.
      await alice.goto(`${server.url}/`);
      await shown(conversationLink(alice, people.bob.name));
      assert.equal(await alice.evaluate(() => fetch("/api/v1/me").then((r) => `answered ${r.status}`, () => "failed")), "failed");
      await alice.screenshot({ path: path.join(SCREENSHOTS, "push-offline.png") });
    });

    // The server is back: the page reconnects by itself and carries on.
    await shown(alice.getByRole("status").filter({ hasText: "Offline" }), "hidden");
    await openConversation(alice, people.bob.name);
    const after = "push-after-restart";
    await send(bob, after);
    await shown(message(alice, after));
  });

  scenario("signing out while the server cannot be reached ends the session once it answers", async () => {
    const bob = s.bob.page;
    await pollPage(bob, () => localStorage.getItem("parley.snapshot") ?? "", undefined, (text) => text.includes("push-after-restart"),
                   "Bob's saved copy");
    const session = (await s.bob.context.cookies()).find((c) => c.name === "parley_session").value;
    assert.equal((await server.request("GET", "/api/v1/me", { cookie: session })).status, 200);
    await whileServerStopped(async () => {
      await bob.reload();
      await shown(bob.getByRole("status").filter({ hasText: "Offline: showing what this device saved." }));
      await bob.getByRole("button", { name: "Log out", exact: true }).click();
      await shown(bob.getByLabel("Phone number", { exact: true }));
      assert.equal(await bob.evaluate(() => localStorage.getItem("parley.snapshot")), null);
    });
    // Back: the page ends the session by itself, and a reload stays signed out.
    await pollPage(bob, () => localStorage.getItem("parley.logout.pending"), undefined, (flag) => flag === null, "the pending sign-out done");
    assert.equal((await server.request("GET", "/api/v1/me", { cookie: session })).status, 401);
    await bob.reload();
    await shown(bob.getByLabel("Phone number", { exact: true }));
  });

  scenario("no page had an uncaught exception", async () => {
    assert.deepEqual(pageErrors, []);
  });
});
