// Shapes of the public API (docs/api.md) and of the client's own state.

export interface User {
  id: number;
  name: string;
  phone: string;
}

export interface Message {
  id: number;
  conversation_id: number;
  sender_id: number;
  body: string;
  sent_at: number;
  client_id: string;
}

export interface Contact {
  user: User;
  name: string;
  conversation_id: number | null;
  online?: boolean;
}

export interface Conversation {
  id: number;
  kind: "direct" | "group";
  title: string;
  members: User[];
  last_message: Message | null;
  unread_count: number;
  /** Local only: when the conversation was first seen (orders conversations without messages). */
  seen_at?: number;
}

export interface Receipt {
  conversation_id: number;
  user_id: number;
  kind: "delivered" | "read";
  up_to: number;
}

export interface Presence {
  user_id: number;
  online: boolean;
  last_seen: number;
}

/** A message as the client shows it: stored (has an id) or still on its way (pending). */
export interface ChatMessage {
  id: number | null;
  conversation_id: number;
  sender_id: number;
  body: string;
  sent_at: number;
  client_id: string;
  /** Set when the server refused the message for good (its error code). */
  failed?: string;
  failedMessage?: string;
}

export type MessageStatus = "pending" | "sent" | "delivered" | "read" | "failed";

/** An outgoing message that has no acknowledgement yet. */
export interface QueuedMessage {
  client_id: string;
  conversation_id: number;
  sender_id: number;
  body: string;
  created_at: number;
  failed?: string;
  failedMessage?: string;
}
