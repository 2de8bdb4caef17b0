// Pure logic for attachments and pictures: what `GET /api/v1/config` allows, sizes as people
// read them, the attachments of a message object, the box an image takes before it loads, and
// the files of the message being written (the preview strip above the composer).

import type { Attachment, ClientConfig, QueuedAttachment, Upload } from "./types";

/** What the client assumes until `GET /api/v1/config` answers (API.md: 10 attachments). */
export const defaultConfig: ClientConfig = { max_upload_bytes: null, max_attachments: 10, max_message_length: 4000 };

function positive(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : null;
}

/** The answer of `GET /api/v1/config`, each missing or odd field left at its default. */
export function parseConfig(v: unknown): ClientConfig {
  const o = (v && typeof v === "object" ? v : {}) as Record<string, unknown>;
  return {
    max_upload_bytes: positive(o.max_upload_bytes) ?? defaultConfig.max_upload_bytes,
    max_attachments: positive(o.max_attachments) ?? defaultConfig.max_attachments,
    max_message_length: positive(o.max_message_length) ?? defaultConfig.max_message_length,
  };
}

/** "512 B", "2.9 KB", "14 MB": one decimal below 10, binary multiples (as file managers do). */
export function humanSize(bytes: number): string {
  if (!(bytes >= 0)) return "";
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let i = 0;
  for (;;) {
    const rounded = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
    if (rounded < 1024 || i === units.length - 1) return `${rounded} ${units[i]}`;
    value /= 1024;
    i++;
  }
}

/** The size an image of `width` × `height` takes inside a `maxWidth` × `maxHeight` box: its
 *  own when it fits, else scaled down keeping its shape (never up, never below 1 px). */
export function fitBox(width: number, height: number, maxWidth: number, maxHeight: number): { width: number; height: number } {
  if (!(width > 0) || !(height > 0)) return { width: maxWidth, height: maxHeight };
  const scale = Math.min(1, maxWidth / width, maxHeight / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** An upload object from the server, or null when it is not one. */
export function asUpload(v: unknown): Upload | null {
  const o = v as Partial<Upload> | null;
  if (!o || typeof o !== "object" || typeof o.id !== "number") return null;
  const out: Upload = {
    id: o.id,
    kind: o.kind === "image" ? "image" : "file",
    mime: typeof o.mime === "string" ? o.mime : "application/octet-stream",
    size: typeof o.size === "number" ? o.size : 0,
    name: typeof o.name === "string" && o.name ? o.name : "file",
  };
  if (typeof o.width === "number" && typeof o.height === "number") {
    out.width = o.width;
    out.height = o.height;
  }
  return out;
}

/** A message object's `attachments`, the malformed ones left out. */
export function asAttachments(v: unknown): Attachment[] {
  if (!Array.isArray(v)) return [];
  const out: Attachment[] = [];
  for (const a of v) {
    const u = asUpload(a);
    if (!u) continue;
    const url = typeof a.url === "string" && a.url ? a.url : `/media/${u.id}`;
    const att: Attachment = { ...u, url };
    if (typeof a.thumbnail_url === "string" && a.thumbnail_url) att.thumbnail_url = a.thumbnail_url;
    out.push(att);
  }
  return out;
}

/** What a list of files is called in one line: "Photo", "3 photos", "notes.txt", "2 files". */
export function attachmentSummary(list: readonly { kind?: string; name: string }[]): string {
  if (list.length === 0) return "";
  const images = list.filter((a) => a.kind === "image").length;
  if (list.length === 1) return images ? "Photo" : list[0].name;
  if (images === list.length) return `${list.length} photos`;
  if (images === 0) return `${list.length} files`;
  return `${list.length} attachments`;
}

// ---------------------------------------------------------------- the message being written

/**
 * A file in the preview strip. `uploading` with its progress (0–100); `done` with the
 * server's upload; `waiting` when the server could not be reached (it goes with the message
 * and is uploaded once back online, by the queue); `failed` when the server refused it
 * (`error` says why, `retryable` whether trying again may help).
 */
export interface DraftAttachment {
  key: string;
  name: string;
  size: number;
  /** The browser's guess (for the request's Content-Type and whether to try a preview). */
  mime: string;
  state: "uploading" | "done" | "waiting" | "failed";
  progress: number;
  upload?: Upload;
  error?: string;
  retryable?: boolean;
}

/** Whether the file goes with the next message: uploaded, or to be uploaded once online. */
export function isReady(d: DraftAttachment): boolean {
  return d.state === "done" || d.state === "waiting";
}

/** Whether Send may be pressed for a new message: some text, or a file ready to go. */
export function canSend(text: string, drafts: readonly DraftAttachment[]): boolean {
  return text.trim().length > 0 || drafts.some(isReady);
}

/** The form a ready file takes in the outgoing queue. */
export function toQueued(d: DraftAttachment): QueuedAttachment {
  const q: QueuedAttachment = { key: d.key, name: d.name, size: d.size, mime: d.mime };
  if (d.state === "done" && d.upload) q.upload = d.upload;
  return q;
}

/** Whether the browser's guess says image (a preview is then tried). */
export function looksLikeImage(mime: string): boolean {
  return /^image\/(png|jpeg|gif|webp|avif|bmp)$/i.test(mime);
}

/** The refusal before any upload: a file over the server's limit. Null when it may go. */
export function checkSize(name: string, size: number, config: ClientConfig): string | null {
  if (config.max_upload_bytes !== null && size > config.max_upload_bytes)
    return `${name} is too large to send (at most ${humanSize(config.max_upload_bytes)}).`;
  return null;
}

/** Whether an upload refused with `code` may succeed when tried again. */
export function isRetryableUpload(code: string): boolean {
  return code !== "too_large" && code !== "bad_image";
}

/** The sentence for a refused upload: the server's own when it gave one. */
export function uploadErrorText(code: string, message: string): string {
  if (code === "network") return "Cannot reach Parley.";
  if (message) return message;
  switch (code) {
    case "too_large":
      return "This file is too large.";
    case "quota_exceeded":
      return "You have no room left for more files.";
    case "bad_image":
      return "This image cannot be read.";
    case "rate_limited":
      return "Too many uploads at once. Try again in a moment.";
    default:
      return "The upload failed.";
  }
}
