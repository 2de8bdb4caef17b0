// Keeps a bounded copy of what the signed-in user sees (./lib/snapshot) in localStorage, so
// that the app, opened while the server cannot be reached (the service worker serves the app
// itself), shows the conversation list and their latest messages instead of the sign-in page.
// One copy per browser, of the last user; forgotten on sign-out.

import { parseCursors } from "./lib/cursors";
import { parseQueue } from "./lib/queue";
import { parseReceiptBook } from "./lib/receipts";
import { makeSnapshot, parseSnapshot, serializeSnapshot, type Snapshot } from "./lib/snapshot";
import { emptyThread, forget, getState, initial, load, save, subscribe, type State, type Thread } from "./state";

const KEY = "snapshot";
const DELAY = 1000;

let timer: ReturnType<typeof setTimeout> | undefined;
let saved: Pick<State, "me" | "conversations" | "contacts" | "threads"> | null = null;

function worthSaving(s: State): boolean {
  return s.phase === "signed-in" && !!s.me && s.conversationsLoaded && !s.loadError && !s.fromSnapshot;
}

function saveNow(): void {
  clearTimeout(timer);
  timer = undefined;
  const s = getState();
  if (!worthSaving(s)) return;
  saved = { me: s.me, conversations: s.conversations, contacts: s.contacts, threads: s.threads };
  const text = serializeSnapshot(makeSnapshot(s.me!, s.conversations, s.contacts, s.threads, Date.now()));
  if (text) save(KEY, text);
}

/** Saves a second after what it holds last changed, and when the page is hidden. */
export function startSnapshots(): void {
  subscribe(() => {
    const s = getState();
    if (!worthSaving(s)) return;
    if (saved && saved.me === s.me && saved.conversations === s.conversations && saved.contacts === s.contacts && saved.threads === s.threads)
      return;
    if (timer === undefined) timer = setTimeout(saveNow, DELAY);
  });
  const flush = () => {
    if (timer !== undefined) saveNow();
  };
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flush();
  });
  window.addEventListener("pagehide", flush);
}

export function loadSnapshot(): Snapshot | null {
  return parseSnapshot(load(KEY));
}

export function clearSnapshot(): void {
  clearTimeout(timer);
  timer = undefined;
  saved = null;
  forget(KEY);
}

/** The whole state to show from what this device saved (with the user's queue, receipts and
 *  cursors, as a session keeps them), or null when nothing is saved. */
export function snapshotState(): State | null {
  const snap = loadSnapshot();
  if (!snap) return null;
  const user = snap.user;
  return {
    ...initial,
    phase: "signed-in",
    me: user,
    fromSnapshot: true,
    connection: "reconnecting",
    queue: parseQueue(load(`queue.${user.id}`), user.id),
    receipts: parseReceiptBook(load(`receipts.${user.id}`)),
    cursors: parseCursors(load(`cursors.${user.id}`)),
    conversations: snap.conversations,
    contacts: snap.contacts,
    threads: threadsOf(snap),
    conversationsLoaded: true,
  };
}

/** The saved threads as the state holds them: loaded, with older pages behind them. */
function threadsOf(snapshot: Snapshot): Record<number, Thread> {
  const out: Record<number, Thread> = {};
  for (const [id, messages] of Object.entries(snapshot.threads)) {
    out[Number(id)] = { ...emptyThread, messages, loaded: true, hasMore: true, oldest: messages[0]?.id ?? null };
  }
  return out;
}
