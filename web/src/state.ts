// The application state: one immutable object, replaced by set() and watched by the UI. The
// queue, the receipts and the sync cursors are kept in localStorage per user as they change.

import { defaultConfig, type DraftAttachment } from "./lib/attachments";
import { serializeCursors, type Cursors } from "./lib/cursors";
import { serializeQueue } from "./lib/queue";
import type { ReceiptBook } from "./lib/receipts";
import type { ChatMessage, ClientConfig, Contact, Conversation, QueuedMessage, User } from "./lib/types";

export interface Thread {
  messages: ChatMessage[];
  loaded: boolean;
  loading: boolean;
  hasMore: boolean;
  error: string | null;
  /** The lowest id of the pages loaded over REST: the next older page is `before` it, and
   *  a change to an older message (live or by sync) waits for that page instead. */
  oldest: number | null;
}

export type Connection = "connecting" | "online" | "reconnecting";

/** Web Push in this browser (./push): its state, and the sentence to show about it. */
export interface PushUi {
  status: "unknown" | "unsupported" | "denied" | "off" | "busy" | "on";
  message: string | null;
}

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
  /** Per conversation, the last log position applied (see ./sync). */
  cursors: Cursors;
  /** Conversations one was removed from or left while this client ran: shown closed if open. */
  former: Record<number, Conversation>;
  /** The server's limits (`GET /api/v1/config`). */
  config: ClientConfig;
  /** Per conversation, the files attached to the message being written (./attach). */
  drafts: Record<number, DraftAttachment[]>;
  /** Shown from what this device saved (./offline) while the server cannot be reached. */
  fromSnapshot: boolean;
  push: PushUi;
}

export const initial: State = {
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
  cursors: {},
  former: {},
  config: defaultConfig,
  drafts: {},
  fromSnapshot: false,
  push: { status: "unknown", message: null },
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

/** Merges `patch` into the state and tells the subscribers. */
export function set(patch: Partial<State>): void {
  const prev = state;
  state = { ...state, ...patch };
  const me = state.me;
  if (me && patch.queue !== undefined && patch.queue !== prev.queue) save(`queue.${me.id}`, serializeQueue(state.queue));
  if (me && patch.receipts !== undefined && patch.receipts !== prev.receipts) save(`receipts.${me.id}`, JSON.stringify(state.receipts));
  if (me && patch.cursors !== undefined && patch.cursors !== prev.cursors) save(`cursors.${me.id}`, serializeCursors(state.cursors));
  for (const fn of listeners) fn();
}

/** Dispatched on window after the app saved or forgot something in localStorage, and after
 *  the service worker showed or closed notifications: what a script watching the page (the
 *  browser tests) waits for instead of reading it again and again. */
export const PAGE_CHANGED = "parley:changed";

function changed(): void {
  if (typeof window !== "undefined") window.dispatchEvent(new Event(PAGE_CHANGED));
}

export function save(key: string, value: string): void {
  try {
    localStorage.setItem(`parley.${key}`, value);
  } catch {
    /* storage full or disabled: the state still lives in memory */
  }
  changed();
}

export function load(key: string): string | null {
  try {
    return localStorage.getItem(`parley.${key}`);
  } catch {
    return null;
  }
}

export function forget(key: string): void {
  try {
    localStorage.removeItem(`parley.${key}`);
  } catch {
    /* ignore */
  }
  changed();
}

/** The service worker changed the notifications (./push). */
export function notificationsChanged(): void {
  changed();
}

let noticeTimer: ReturnType<typeof setTimeout> | undefined;
/** Shows a short sentence in the status area (a polite live region) for five seconds. */
export function notify(text: string): void {
  clearTimeout(noticeTimer);
  set({ notice: text });
  noticeTimer = setTimeout(() => set({ notice: null }), 5000);
}

export const emptyThread: Thread = { messages: [], loaded: false, loading: false, hasMore: true, error: null, oldest: null };

export function thread(id: number): Thread {
  return state.threads[id] ?? emptyThread;
}

export function setThread(id: number, patch: Partial<Thread>): void {
  set({ threads: { ...state.threads, [id]: { ...thread(id), ...patch } } });
}
