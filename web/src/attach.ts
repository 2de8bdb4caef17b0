// Files attached to messages. The message being written: its files per conversation, added
// from the picker, a paste or a drop, uploaded at once (progress, cancel, retry) and shown in
// the preview strip; `sendMessage` (./store) hands the ready ones to the outgoing queue. The
// queue: a queued message's files that the server does not have yet are uploaded before it
// goes (`uploadQueued`). The bytes live in ./blobs until neither a draft nor the queue names
// them any more.

import { uploadFile } from "./api";
import { getBlob, heldBlob, holdBlob, releaseBlob } from "./blobs";
import { checkSize, isRetryableUpload, uploadErrorText, type DraftAttachment } from "./lib/attachments";
import { ApiError } from "./lib/errors";
import { newClientId } from "./lib/ids";
import { attachmentKeys, missingUploads, setUploaded } from "./lib/queue";
import { getState, set, subscribe } from "./state";

/** How to stop the upload of each key under way (a draft's, or a queued message's). */
const aborts = new Map<string, () => void>();

function draftsOf(conversationId: number): DraftAttachment[] {
  return getState().drafts[conversationId] ?? [];
}

/** The drafts of every conversation with `list` for this one (none: the entry goes). */
export function withDrafts(conversationId: number, list: DraftAttachment[]): Record<number, DraftAttachment[]> {
  const all = { ...getState().drafts };
  if (list.length) all[conversationId] = list;
  else delete all[conversationId];
  return all;
}

function patch(conversationId: number, key: string, change: Partial<DraftAttachment>): void {
  const list = draftsOf(conversationId);
  if (!list.some((d) => d.key === key)) return; // removed meanwhile
  set({ drafts: withDrafts(conversationId, list.map((d) => (d.key === key ? { ...d, ...change } : d))) });
}

function nameOf(file: File): string {
  if (file.name) return file.name;
  const sub = /^image\/(\w+)$/.exec(file.type)?.[1];
  return sub ? `image.${sub === "jpeg" ? "jpg" : sub}` : "file";
}

/**
 * Attaches `files` to the message being written in a conversation and starts their uploads.
 * Files over the server's size limit are shown refused without being sent. Answers null, or
 * the sentence to show when some did not fit (at most `max_attachments` per message).
 */
export function addFiles(conversationId: number, files: readonly File[]): string | null {
  const config = getState().config;
  const current = draftsOf(conversationId);
  const taken = files.slice(0, Math.max(0, config.max_attachments - current.length));
  const added: DraftAttachment[] = taken.map((file) => {
    const key = newClientId();
    const name = nameOf(file);
    const refused = checkSize(name, file.size, config);
    holdBlob(key, file);
    const d: DraftAttachment = { key, name, size: file.size, mime: file.type || "application/octet-stream", state: "uploading", progress: 0 };
    return refused ? { ...d, state: "failed", error: refused, retryable: false } : d;
  });
  if (added.length) set({ drafts: withDrafts(conversationId, [...current, ...added]) });
  for (const d of added) if (d.state === "uploading") void start(conversationId, d.key);
  if (taken.length < files.length) return `At most ${config.max_attachments} files per message.`;
  return null;
}

async function start(conversationId: number, key: string): Promise<void> {
  const d = draftsOf(conversationId).find((x) => x.key === key);
  const blob = heldBlob(key);
  if (!d) return;
  if (!blob) return patch(conversationId, key, { state: "failed", error: "This file is no longer available.", retryable: false });
  patch(conversationId, key, { state: "uploading", progress: 0, error: undefined, retryable: undefined });
  const call = uploadFile(blob, d.name, (progress) => {
    const now = draftsOf(conversationId).find((x) => x.key === key);
    if (now?.state === "uploading" && now.progress !== progress) patch(conversationId, key, { progress });
  });
  aborts.set(key, call.abort);
  try {
    const upload = await call.done;
    patch(conversationId, key, { state: "done", progress: 100, upload });
  } catch (e) {
    const err = e instanceof ApiError ? e : new ApiError(0, "network", "");
    if (err.code === "aborted") return;
    if (err.code === "network") patch(conversationId, key, { state: "waiting", error: undefined, retryable: true });
    else patch(conversationId, key, { state: "failed", error: uploadErrorText(err.code, err.message), retryable: isRetryableUpload(err.code) });
  } finally {
    if (aborts.get(key) === call.abort) aborts.delete(key);
  }
}

/** Removes a file from the message being written (stopping its upload). */
export function removeDraft(conversationId: number, key: string): void {
  aborts.get(key)?.();
  set({ drafts: withDrafts(conversationId, draftsOf(conversationId).filter((d) => d.key !== key)) });
}

/** Uploads a file again after a failure (or at once when it was waiting for a connection). */
export function retryDraft(conversationId: number, key: string): void {
  if (!aborts.has(key)) void start(conversationId, key);
}

/** Back online: the files that could not reach the server try again. */
export function resumeWaiting(): void {
  for (const [cid, list] of Object.entries(getState().drafts))
    for (const d of list) if (d.state === "waiting" && !aborts.has(d.key)) void start(Number(cid), d.key);
}

// ---------------------------------------------------------------- the queue's uploads

/** Why a queued message's files could not all be uploaded: the error, and which file. */
export interface QueuedUploadError {
  error: ApiError;
  name: string;
}

/**
 * Uploads, one at a time, the files of queued message `clientId` that the server does not
 * have yet; each upload is kept in the queue as it comes, so that a retry goes on from there.
 * Resolves null once all are uploaded, else what stopped it ("aborted" when the message left
 * the queue meanwhile, "file_missing" when this device lost the file).
 */
export async function uploadQueued(clientId: string): Promise<QueuedUploadError | null> {
  for (;;) {
    const item = getState().queue.find((q) => q.client_id === clientId);
    if (!item) return { error: new ApiError(0, "aborted", ""), name: "" };
    const next = missingUploads(item)[0];
    if (!next) return null;
    const blob = await getBlob(next.key);
    if (!blob) return { error: new ApiError(0, "file_missing", "It is no longer on this device."), name: next.name };
    const call = uploadFile(blob, next.name);
    aborts.set(next.key, call.abort);
    try {
      const upload = await call.done;
      set({ queue: setUploaded(getState().queue, clientId, next.key, upload) });
    } catch (e) {
      return { error: e instanceof ApiError ? e : new ApiError(0, "network", ""), name: next.name };
    } finally {
      aborts.delete(next.key);
    }
  }
}

// ---------------------------------------------------------------- keeping the bytes

let liveKeys = new Set<string>();
let seen = { queue: getState().queue, drafts: getState().drafts, me: getState().me?.id ?? null };

/**
 * The bytes of a file go once neither a draft nor the queue names it: a sent message (its
 * ack), a discarded one, a removed draft (its upload stopped too). Signing out or in only
 * clears the memory: the queue's files in IndexedDB stay for the next session of that user
 * (`forgetFiles` clears them on logout).
 */
subscribe(() => {
  const s = getState();
  const me = s.me?.id ?? null;
  if (s.queue === seen.queue && s.drafts === seen.drafts && me === seen.me) return;
  const sameUser = me === seen.me;
  seen = { queue: s.queue, drafts: s.drafts, me };
  const now = attachmentKeys(s.queue);
  for (const list of Object.values(s.drafts)) for (const d of list) now.add(d.key);
  for (const key of liveKeys) {
    if (now.has(key)) continue;
    aborts.get(key)?.();
    releaseBlob(key, sameUser);
  }
  liveKeys = now;
});
