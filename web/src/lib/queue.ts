// The outgoing queue: messages typed but not yet acknowledged by the server. It survives
// reloads (persisted as JSON) and is replayed, with the same client_id, on every (re)connect.
// A message with files first uploads those the server does not have yet (each keeps its
// upload once done, so a retry never uploads it twice), then goes with their ids.

import { asUpload } from "./attachments";
import type { Message, QueuedAttachment, QueuedMessage, Upload } from "./types";

export type Queue = readonly QueuedMessage[];

export function enqueue(q: Queue, item: QueuedMessage): QueuedMessage[] {
  if (q.some((m) => m.client_id === item.client_id)) return q.slice();
  return [...q, item];
}

/** The ack came: the message is stored, it leaves the queue. */
export function acknowledge(q: Queue, clientId: string): QueuedMessage[] {
  return q.filter((m) => m.client_id !== clientId);
}

/** The server refused the message for good: it stays, marked failed, until retried or discarded. */
export function markFailed(q: Queue, clientId: string, code: string, message: string): QueuedMessage[] {
  return q.map((m) => (m.client_id === clientId ? { ...m, failed: code, failedMessage: message } : m));
}

export function retry(q: Queue, clientId: string): QueuedMessage[] {
  return q.map((m) => {
    if (m.client_id !== clientId) return m;
    const { failed: _f, failedMessage: _fm, ...rest } = m;
    return rest;
  });
}

/** Messages that arrive from the server (sync, another tab) settle queued copies too. */
export function settleFromServer(q: Queue, messages: readonly Message[], selfId: number): QueuedMessage[] {
  if (q.length === 0) return q.slice();
  const done = new Set(messages.filter((m) => m.sender_id === selfId).map((m) => m.client_id));
  return q.filter((m) => !done.has(m.client_id));
}

/** What to send now: everything not failed, oldest first. */
export function sendable(q: Queue): QueuedMessage[] {
  return q.filter((m) => !m.failed).sort((a, b) => a.created_at - b.created_at);
}

/** Whether an ack error means "try again later" rather than "never". */
export function isTransient(code: string): boolean {
  return code === "rate_limited" || code === "internal_error" || code === "timeout" || code === "unavailable";
}

/** The files of `item` the server does not have yet, in order. */
export function missingUploads(item: QueuedMessage): QueuedAttachment[] {
  return (item.attachments ?? []).filter((a) => !a.upload);
}

/** The upload ids to send with `item` (all of its files, once each is uploaded). */
export function uploadIds(item: QueuedMessage): number[] {
  return (item.attachments ?? []).flatMap((a) => (a.upload ? [a.upload.id] : []));
}

/** One file of a queued message was uploaded: it keeps the server's upload from now on. */
export function setUploaded(q: Queue, clientId: string, key: string, upload: Upload): QueuedMessage[] {
  return q.map((m) =>
    m.client_id === clientId && m.attachments?.some((a) => a.key === key)
      ? { ...m, attachments: m.attachments.map((a) => (a.key === key ? { ...a, upload } : a)) }
      : m,
  );
}

/** The keys of every file the queue holds (their bytes must be kept until it is sent). */
export function attachmentKeys(q: Queue): Set<string> {
  const out = new Set<string>();
  for (const m of q) for (const a of m.attachments ?? []) out.add(a.key);
  return out;
}

function validAttachment(a: unknown): a is QueuedAttachment {
  const o = a as QueuedAttachment | null;
  return (
    !!o &&
    typeof o.key === "string" &&
    typeof o.name === "string" &&
    typeof o.size === "number" &&
    typeof o.mime === "string" &&
    (o.upload === undefined || asUpload(o.upload) !== null)
  );
}

export function serializeQueue(q: Queue): string {
  return JSON.stringify(q);
}

export function parseQueue(text: string | null, selfId: number): QueuedMessage[] {
  if (!text) return [];
  try {
    const v = JSON.parse(text);
    if (!Array.isArray(v)) return [];
    return v.filter(
      (m): m is QueuedMessage =>
        m &&
        typeof m.client_id === "string" &&
        typeof m.conversation_id === "number" &&
        typeof m.body === "string" &&
        typeof m.created_at === "number" &&
        m.sender_id === selfId &&
        (m.attachments === undefined || (Array.isArray(m.attachments) && m.attachments.every(validAttachment))),
    );
  } catch {
    return [];
  }
}
