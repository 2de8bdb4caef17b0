import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { State } from "../store";
import { removeContact, renameContact } from "../contacts";
import {
  closeConversation,
  discardMessage,
  loadHistory,
  markOpenRead,
  noteTyping,
  retryMessage,
  sendMessage,
  sendTyping,
} from "../store";
import { displayName, otherMember, otherMemberIds } from "../lib/conversations";
import { fromQueued, mergeMessages, messageStatus, statusLabel } from "../lib/messages";
import { groupByDay, lastSeenLabel, timeLabel } from "../lib/time";
import type { ChatMessage, Conversation, MessageStatus } from "../lib/types";
import { Avatar, avatarId } from "./Avatar";
import { Dialog, FormFooter } from "./Dialog";
import { IconAlert, IconBack, IconCheck, IconClock, IconDoubleCheck, IconSend } from "./icons";
import { isWide, useNow } from "./hooks";

const drafts = new Map<number, string>();

export function Chat({ s }: { s: State }) {
  const id = s.openId!;
  const me = s.me!;
  const conv = s.conversations.find((c) => c.id === id);
  const now = useNow(30_000);
  if (s.openError)
    return (
      <section class="chat" aria-label="Conversation">
        <ChatHeaderBare title="Not found" />
        <p class="pad error">{s.openError}</p>
      </section>
    );
  if (!conv)
    return (
      <section class="chat" aria-label="Conversation">
        <ChatHeaderBare title={s.conversationsLoaded ? "Loading…" : "Loading…"} />
      </section>
    );
  const t = s.threads[id];
  const pending = s.queue.filter((q) => q.conversation_id === id).map(fromQueued);
  const messages = mergeMessages(t?.messages ?? [], pending);
  return (
    <section class="chat" aria-labelledby="chat-title">
      <ChatHeader s={s} conv={conv} now={now} />
      <MessageList s={s} conv={conv} messages={messages} now={now} />
      <Composer conversationId={id} selfId={me.id} />
    </section>
  );
}

function ChatHeaderBare({ title }: { title: string }) {
  return (
    <header class="chat-head">
      <button type="button" class="icon-btn back" aria-label="Back to conversations" onClick={() => closeConversation()}>
        <IconBack />
      </button>
      <h2 id="chat-title">{title}</h2>
    </header>
  );
}

function ChatHeader({ s, conv, now }: { s: State; conv: Conversation; now: number }) {
  const me = s.me!;
  const other = conv.kind === "direct" ? otherMember(conv, me.id) : undefined;
  const contact = other ? s.contacts.find((c) => c.user.id === other.id) : undefined;
  // Presence is only known while connected.
  const pres = other && s.connection === "online" ? s.presence[other.id] : undefined;
  const [dialog, setDialog] = useState<"rename" | "remove" | null>(null);
  const typers = Object.keys(s.typing[conv.id] ?? {}).map(Number);
  let subtitle = "";
  if (typers.length) {
    const names = typers.map((u) => displayName(u, s.contacts, conv.members, me.id));
    subtitle = conv.kind === "group" ? `${names.join(", ")} ${names.length === 1 ? "is" : "are"} typing…` : "typing…";
  } else if (conv.kind === "group") {
    subtitle = conv.members.map((u) => displayName(u.id, s.contacts, conv.members, me.id)).join(", ");
  } else if (pres?.online) subtitle = "online";
  else if (pres?.last_seen) subtitle = lastSeenLabel(pres.last_seen, now);
  else if (other) subtitle = other.phone;

  return (
    <header class="chat-head">
      <button type="button" class="icon-btn back" aria-label="Back to conversations" onClick={() => closeConversation()}>
        <IconBack />
      </button>
      <Avatar id={avatarId(conv, other)} name={conv.title} group={conv.kind === "group"} online={pres?.online} />
      <div class="chat-title">
        <h2 id="chat-title">{conv.title}</h2>
        <p class={`small muted subtitle ${typers.length ? "typing" : ""}`}>{subtitle}</p>
      </div>
      {contact && (
        <div class="head-actions">
          <button type="button" class="ghost small" onClick={() => setDialog("rename")}>
            Rename
          </button>
          <button type="button" class="ghost small danger" onClick={() => setDialog("remove")}>
            Remove
          </button>
        </div>
      )}
      {dialog === "rename" && contact && <RenameDialog userId={contact.user.id} current={contact.name} onClose={() => setDialog(null)} />}
      {dialog === "remove" && contact && <RemoveDialog userId={contact.user.id} name={contact.name} onClose={() => setDialog(null)} />}
    </header>
  );
}

function RenameDialog({ userId, current, onClose }: { userId: number; current: string; onClose: () => void }) {
  const [name, setName] = useState(current);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title={`Rename ${current}`} onClose={onClose}>
      <form
        class="stack"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          if (!name.trim()) return setError("The name cannot be empty.");
          setBusy(true);
          const err = await renameContact(userId, name);
          setBusy(false);
          if (err) setError(err);
          else onClose();
        }}
      >
        <label class="field">
          <span>Nickname</span>
          <input type="text" maxLength={64} value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <p class="hint">Only you see this name.</p>
        <FormFooter error={error} busy={busy} submit="Save" onClose={onClose} />
      </form>
    </Dialog>
  );
}

function RemoveDialog({ userId, name, onClose }: { userId: number; name: string; onClose: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title={`Remove ${name}?`} onClose={onClose}>
      <p>
        {name} will no longer be in your contacts. Your conversation and its messages are kept.
      </p>
      {error && (
        <p class="error small" role="alert">
          {error}
        </p>
      )}
      <div class="actions">
        <button type="button" class="ghost" autoFocus onClick={onClose}>
          Cancel
        </button>
        <button
          type="button"
          class="primary danger"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            const err = await removeContact(userId);
            setBusy(false);
            if (err) setError(err);
            else onClose();
          }}
        >
          Remove contact
        </button>
      </div>
    </Dialog>
  );
}

function StatusMark({ status }: { status: MessageStatus }) {
  return (
    <span class={`status ${status}`}>
      {status === "pending" && <IconClock />}
      {status === "sent" && <IconCheck />}
      {(status === "delivered" || status === "read") && <IconDoubleCheck />}
      {status === "failed" && <IconAlert />}
      <span class="sr-only">{statusLabel[status]}</span>
    </span>
  );
}

function MessageList({ s, conv, messages, now }: { s: State; conv: Conversation; messages: ChatMessage[]; now: number }) {
  const me = s.me!;
  const t = s.threads[conv.id];
  const ref = useRef<HTMLDivElement>(null);
  const prev = useRef<{ first: string | null; last: string | null; height: number; atBottom: boolean }>({
    first: null,
    last: null,
    height: 0,
    atBottom: true,
  });
  const others = otherMemberIds(conv, me.id);
  const receipts = s.receipts[conv.id];
  const groups = groupByDay(messages, now);
  const keyOf = (m: ChatMessage | undefined) => (m ? (m.id !== null ? `i${m.id}` : `c${m.client_id}`) : null);
  const first = keyOf(messages.find((m) => m.id !== null) ?? messages[0]);
  const lastMsg = messages[messages.length - 1];
  const last = keyOf(lastMsg);

  // Keep the view where the reader is: at the bottom for new messages (if they were there,
  // or if the message is their own), and in place when older ones are added on top.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const p = prev.current;
    if (p.first === null && p.last === null) {
      el.scrollTop = el.scrollHeight;
    } else if (first !== p.first && last === p.last) {
      el.scrollTop += el.scrollHeight - p.height;
    } else if (last !== p.last && (p.atBottom || lastMsg?.sender_id === me.id)) {
      el.scrollTop = el.scrollHeight;
    }
    prev.current = { first, last, height: el.scrollHeight, atBottom: prev.current.atBottom };
  });

  const onScroll = () => {
    const el = ref.current!;
    prev.current.atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
    prev.current.height = el.scrollHeight;
    if (el.scrollTop < 300 && t?.hasMore && t.loaded && !t.loading) void loadHistory(conv.id, true);
    if (prev.current.atBottom) markOpenRead();
  };

  // A short first page that does not fill the view: fetch older ones until it does.
  useEffect(() => {
    const el = ref.current;
    if (el && t?.loaded && t.hasMore && !t.loading && el.scrollHeight <= el.clientHeight + 50) void loadHistory(conv.id, true);
  }, [t?.loaded, t?.loading, t?.hasMore, messages.length]);

  return (
    <div class="messages-scroll" ref={ref} onScroll={onScroll} tabIndex={0} role="region" aria-label="Conversation history">
      {t?.loading && <p class="muted small center" role="status">Loading messages…</p>}
      {t?.error && (
        <p class="error small center">
          {t.error}{" "}
          <button type="button" class="link" onClick={() => void loadHistory(conv.id, t.loaded)}>
            Try again
          </button>
        </p>
      )}
      {t?.loaded && !t.hasMore && messages.length > 0 && <p class="muted small center">This is the beginning of the conversation.</p>}
      {t?.loaded && messages.length === 0 && <p class="muted center pad">No messages yet. Say hello!</p>}
      {groups.map((g) => (
        <div key={g.key} class="day">
          <h3 class="day-label">
            <span>{g.label}</span>
          </h3>
          <ol class="msgs">
            {g.messages.map((m) => {
              const own = m.sender_id === me.id;
              const status = own ? messageStatus(m, others, receipts) : null;
              return (
                <li key={m.id !== null ? `i${m.id}` : `c${m.client_id}`} class={`msg ${own ? "own" : "theirs"} ${status ?? ""}`}>
                  {!own && conv.kind === "group" && (
                    <span class={`sender small ${conv.members.length ? "" : ""}`}>{displayName(m.sender_id, s.contacts, conv.members, me.id)}</span>
                  )}
                  {own && <span class="sr-only">You: </span>}
                  <p class="body">{m.body}</p>
                  <span class="meta small">
                    <time dateTime={new Date(m.sent_at).toISOString()}>{timeLabel(m.sent_at)}</time>
                    {status && <StatusMark status={status} />}
                  </span>
                  {m.failed && (
                    <span class="failed small">
                      {m.failedMessage ?? "Not sent."}{" "}
                      <button type="button" class="link" onClick={() => retryMessage(m.client_id)}>
                        Retry
                      </button>{" "}
                      <button type="button" class="link" onClick={() => discardMessage(m.client_id)}>
                        Discard
                      </button>
                    </span>
                  )}
                </li>
              );
            })}
          </ol>
        </div>
      ))}
    </div>
  );
}

function Composer({ conversationId, selfId: _selfId }: { conversationId: number; selfId: number }) {
  const [text, setText] = useState(drafts.get(conversationId) ?? "");
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (isWide()) ref.current?.focus();
    return () => sendTyping(conversationId, false);
  }, [conversationId]);

  const submit = () => {
    const err = sendMessage(conversationId, text);
    if (err) {
      setError(err);
      return;
    }
    if (!text.trim()) return;
    setText("");
    drafts.delete(conversationId);
    setError(null);
    ref.current?.focus();
  };
  const rows = Math.min(6, Math.max(1, text.split("\n").length));

  return (
    <form
      class="composer"
      id="composer"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      {error && (
        <p class="error small composer-error" role="alert">
          {error}
        </p>
      )}
      <textarea
        ref={ref}
        aria-label="Message"
        placeholder="Type a message"
        rows={rows}
        value={text}
        maxLength={20000}
        onInput={(e) => {
          const v = (e.currentTarget as HTMLTextAreaElement).value;
          setText(v);
          drafts.set(conversationId, v);
          if (error) setError(null);
          if (v.trim()) noteTyping(conversationId);
          else sendTyping(conversationId, false);
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
            e.preventDefault();
            submit();
          }
        }}
        onBlur={() => sendTyping(conversationId, false)}
      />
      <button type="submit" class="send" aria-label="Send">
        <IconSend />
      </button>
    </form>
  );
}
