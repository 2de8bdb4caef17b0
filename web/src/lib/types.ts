// Shapes of the public API (docs/api.md) and of the client's own state.

export interface User {
  id: number;
  name: string;
  phone: string;
  /** v2: the profile picture, null (or absent) when there is none. */
  avatar_url?: string | null;
  /** v2, one's own user object only: whether pushes carry the message text (default true). */
  notification_previews?: boolean;
}

/** A file sent to `POST /api/v1/uploads`, as the server describes it (type from the bytes). */
export interface Upload {
  id: number;
  kind: "image" | "file";
  mime: string;
  size: number;
  name: string;
  /** Images only: the pixel size of the original. */
  width?: number;
  height?: number;
}

/** An upload attached to a message: where to get it (`/media/{id}`, and a thumbnail for images). */
export interface Attachment extends Upload {
  url: string;
  thumbnail_url?: string;
}

/** What `GET /api/v1/config` says a client should check before asking (the server checks again). */
export interface ClientConfig {
  /** Null while unknown: the server's answer decides. */
  max_upload_bytes: number | null;
  max_attachments: number;
  max_message_length: number;
}

/** What a reply shows of the message it answers (the server takes it when the reply is read). */
export interface ReplyRef {
  id: number;
  sender_id: number;
  /** The first 100 characters of the quoted message's current body ("" once deleted). */
  body: string;
  deleted: boolean;
}

/** One emoji on a message and who chose it, in the order they reacted. */
export interface Reaction {
  emoji: string;
  user_ids: number[];
}

/**
 * A message object. The v2 fields (the conversation log) are optional here only so that the
 * client copes with an answer that lacks them; fromServer() fills in their defaults.
 */
export interface Message {
  id: number;
  conversation_id: number;
  sender_id: number;
  body: string;
  sent_at: number;
  client_id: string;
  /** The log position at which the message was created. */
  seq?: number;
  /** The log position of its latest change (edit, delete, reaction); equal to seq until then. */
  updated_seq?: number;
  edited_at?: number | null;
  deleted?: boolean;
  reply_to?: ReplyRef | null;
  reactions?: Reaction[];
  attachments?: Attachment[];
}

/** A member as a v2 conversation object lists them: the user, their role and their marks. */
export interface Member extends User {
  admin?: boolean;
  read_up_to?: number;
  delivered_up_to?: number;
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
  members: Member[];
  last_message: Message | null;
  unread_count: number;
  /** v2: the conversation's latest log position. */
  seq?: number;
  /** v2: until when (ms) the caller muted it; null, absent or past: not muted. */
  muted_until?: number | null;
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
  /** 0 while pending. */
  seq: number;
  /** Which of two copies of one message is newer (0 while pending). */
  updated_seq: number;
  edited_at: number | null;
  deleted: boolean;
  reply_to: ReplyRef | null;
  reactions: Reaction[];
  /** What the server says is attached (none on a tombstone). */
  attachments: Attachment[];
  /** A pending message's files, uploaded or still to upload. */
  pendingAttachments?: QueuedAttachment[];
  /** Set when the server refused the message for good (its error code). */
  failed?: string;
  failedMessage?: string;
}

export type MessageStatus = "pending" | "sent" | "delivered" | "read" | "failed";

/**
 * A file of a queued message: `upload` once the server has it (then only its id is sent);
 * until then its bytes wait on this device under `key` (./blobs), to be uploaded before the
 * message goes.
 */
export interface QueuedAttachment {
  key: string;
  name: string;
  size: number;
  mime: string;
  upload?: Upload;
}

/** An outgoing message that has no acknowledgement yet. */
export interface QueuedMessage {
  client_id: string;
  conversation_id: number;
  sender_id: number;
  body: string;
  created_at: number;
  /** The id of the message this one answers, and what the composer showed of it. */
  reply_to?: number;
  reply_preview?: ReplyRef;
  /** Its files, in the order chosen (the body may then be empty). */
  attachments?: QueuedAttachment[];
  failed?: string;
  failedMessage?: string;
}
