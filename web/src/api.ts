// The REST half of the public contract. Same origin: the session cookie goes by itself.

import { ApiError, parseRetryAfter } from "./lib/errors";
import type { SubscriptionBody } from "./lib/notifications";
import type { Contact, Conversation, Message, Upload, User } from "./lib/types";

/** The error an answer's body describes (API.md: `{"error": {"code", "message"}}`). */
function errorOf(status: number, data: any, retryAfter: string | null): ApiError {
  const err = data?.error ?? {};
  return new ApiError(
    status,
    typeof err.code === "string" ? err.code : `http_${status}`,
    typeof err.message === "string" ? err.message : `The server answered ${status}.`,
    parseRetryAfter(retryAfter),
    typeof err.attempts_left === "number" ? err.attempts_left : null,
  );
}

/** A JSON body (`body`), or a file's raw bytes (`raw`, with the browser's guess of its type). */
async function call<T>(method: string, path: string, body?: unknown, raw?: Blob): Promise<T> {
  let res: Response;
  const headers: Record<string, string> = { Accept: "application/json" };
  if (raw) headers["Content-Type"] = raw.type || "application/octet-stream";
  else if (body !== undefined) headers["Content-Type"] = "application/json";
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers,
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
  } catch {
    throw new ApiError(0, "network", "Cannot reach the server.");
  }
  if (res.status === 204) return undefined as T;
  let data: any = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) throw errorOf(res.status, data, res.headers.get("Retry-After"));
  return data as T;
}

/** An upload under way: its answer, and how to stop it (the promise then rejects with "aborted"). */
export interface UploadCall {
  done: Promise<Upload>;
  abort: () => void;
}

/**
 * `POST /api/v1/uploads` with the file's bytes. XMLHttpRequest rather than fetch: it reports
 * the progress of the request body and can be aborted. `onProgress` gets 0–100.
 */
export function uploadFile(file: Blob, name: string, onProgress?: (percent: number) => void): UploadCall {
  const xhr = new XMLHttpRequest();
  const done = new Promise<Upload>((resolve, reject) => {
    xhr.open("POST", "/api/v1/uploads");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.setRequestHeader("X-Filename", encodeURIComponent(name));
    xhr.responseType = "text";
    if (onProgress)
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable && e.total > 0) onProgress(Math.min(100, Math.floor((e.loaded / e.total) * 100)));
      };
    xhr.onerror = () => reject(new ApiError(0, "network", "Cannot reach the server."));
    xhr.ontimeout = xhr.onerror;
    xhr.onabort = () => reject(new ApiError(0, "aborted", "The upload was cancelled."));
    xhr.onload = () => {
      let data: any = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && data?.upload && typeof data.upload.id === "number") resolve(data.upload as Upload);
      else reject(errorOf(xhr.status, data, xhr.getResponseHeader("Retry-After")));
    };
    xhr.send(file);
  });
  return { done, abort: () => xhr.abort() };
}

export const api = {
  requestCode: (phone: string) =>
    call<{ phone: string; expires_in: number; resend_in: number }>("POST", "/api/v1/auth/code", { phone }),
  verify: (phone: string, code: string, name?: string) =>
    call<{ token: string; user: User; created: boolean }>("POST", "/api/v1/auth/verify", name ? { phone, code, name } : { phone, code }),
  logout: () => call<void>("POST", "/api/v1/auth/logout"),
  me: () => call<{ user: User }>("GET", "/api/v1/me"),
  config: () => call<Record<string, unknown>>("GET", "/api/v1/config"),
  // Profile (v2): one's own name and picture.
  rename: (name: string) => call<{ user: User }>("PATCH", "/api/v1/me", { name }),
  setAvatar: (image: Blob) => call<{ user: User }>("PUT", "/api/v1/me/avatar", undefined, image),
  removeAvatar: () => call<void>("DELETE", "/api/v1/me/avatar"),
  contacts: () => call<{ contacts: Contact[] }>("GET", "/api/v1/contacts"),
  addContact: (phone: string, name?: string) =>
    call<{ contact: Contact }>("POST", "/api/v1/contacts", name ? { phone, name } : { phone }),
  renameContact: (userId: number, name: string) => call<{ contact: Contact }>("PATCH", `/api/v1/contacts/${userId}`, { name }),
  removeContact: (userId: number) => call<void>("DELETE", `/api/v1/contacts/${userId}`),
  conversations: () => call<{ conversations: Conversation[] }>("GET", "/api/v1/conversations"),
  openConversation: (members: number[], title?: string) =>
    call<{ conversation: Conversation }>("POST", "/api/v1/conversations", title ? { members, title } : { members }),
  history: (conversationId: number, before?: number, limit = 50) =>
    call<{ messages: Message[]; has_more: boolean }>(
      "GET",
      `/api/v1/conversations/${conversationId}/messages?limit=${limit}${before ? `&before=${before}` : ""}`,
    ),
  // Groups (v2): admins only, except leaving (removing oneself).
  renameGroup: (conversationId: number, title: string) =>
    call<{ conversation: Conversation }>("PATCH", `/api/v1/conversations/${conversationId}`, { title }),
  addMembers: (conversationId: number, userIds: number[]) =>
    call<{ conversation: Conversation }>("POST", `/api/v1/conversations/${conversationId}/members`, { user_ids: userIds }),
  removeMember: (conversationId: number, userId: number) =>
    call<void>("DELETE", `/api/v1/conversations/${conversationId}/members/${userId}`),
  setAdmin: (conversationId: number, userId: number, admin: boolean) =>
    call<{ conversation: Conversation }>("PATCH", `/api/v1/conversations/${conversationId}/members/${userId}`, { admin }),
  // Notifications (v2): Web Push for this browser, muting, previews.
  pushKey: () => call<{ public_key: string }>("GET", "/api/v1/push/key"),
  addPushSubscription: (subscription: SubscriptionBody) => call<unknown>("POST", "/api/v1/push/subscriptions", subscription),
  removePushSubscription: (endpoint: string) => call<void>("DELETE", "/api/v1/push/subscriptions", { endpoint }),
  setMuted: (conversationId: number, mutedUntil: number | null) =>
    call<{ conversation: Conversation }>("PATCH", `/api/v1/conversations/${conversationId}/settings`, { muted_until: mutedUntil }),
  setPreviews: (on: boolean) => call<{ user: User }>("PATCH", "/api/v1/me", { notification_previews: on }),
};
