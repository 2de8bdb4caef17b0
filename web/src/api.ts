// The REST half of the public contract. Same origin: the session cookie goes by itself.

import { ApiError, parseRetryAfter } from "./lib/errors";
import type { Contact, Conversation, Message, User } from "./lib/types";

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? { Accept: "application/json" } : { Accept: "application/json", "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
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
  if (!res.ok) {
    const err = data?.error ?? {};
    throw new ApiError(
      res.status,
      typeof err.code === "string" ? err.code : `http_${res.status}`,
      typeof err.message === "string" ? err.message : `The server answered ${res.status}.`,
      parseRetryAfter(res.headers.get("Retry-After")),
      typeof err.attempts_left === "number" ? err.attempts_left : null,
    );
  }
  return data as T;
}

export const api = {
  requestCode: (phone: string) =>
    call<{ phone: string; expires_in: number; resend_in: number }>("POST", "/api/v1/auth/code", { phone }),
  verify: (phone: string, code: string, name?: string) =>
    call<{ token: string; user: User; created: boolean }>("POST", "/api/v1/auth/verify", name ? { phone, code, name } : { phone, code }),
  logout: () => call<void>("POST", "/api/v1/auth/logout"),
  me: () => call<{ user: User }>("GET", "/api/v1/me"),
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
};
