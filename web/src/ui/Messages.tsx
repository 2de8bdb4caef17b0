// The history of the open conversation: days, messages (quote, body or tombstone, attachments,
// edited mark, time and state, reactions, the Message actions menu), paging up, jumping to the
// message a reply quotes, and the full view of an image.

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { deleteMessage, findMessage, toggleReaction } from "../actions";
import { displayName, isAdmin, otherMemberIds } from "../lib/conversations";
import { firstChars, messageStatus, statusLabel } from "../lib/messages";
import { myReaction, reactionChips } from "../lib/reactions";
import { groupByDay, timeLabel } from "../lib/time";
import type { Attachment, ChatMessage, Conversation, MessageStatus, ReplyRef } from "../lib/types";
import type { State } from "../store";
import { discardMessage, loadHistory, markOpenRead, notify, retryMessage } from "../store";
import { MediaViewer, MessageAttachments, PendingAttachments } from "./Attachments";
import { ConfirmFooter, Dialog } from "./Dialog";
import { IconAlert, IconCheck, IconClock, IconDoubleCheck } from "./icons";
import { MessageActions } from "./MessageActions";

export type Mode = { kind: "reply" | "edit"; message: ChatMessage } | null;

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

/** What a quote shows: the quoted message's text, or that it was deleted (or that it is
 *  files only: a message without text has attachments). */
export function QuoteText({ q }: { q: ReplyRef }) {
  if (q.deleted) return <span class="quote-body deleted">This message was deleted</span>;
  if (!q.body.trim()) return <span class="quote-body deleted">Attachment</span>;
  return <span class="quote-body">{firstChars(q.body.replace(/\s+/g, " "))}</span>;
}

interface ListProps {
  s: State;
  conv: Conversation;
  messages: ChatMessage[];
  now: number;
  /** False once one is no longer a member: the history stays, without actions. */
  active: boolean;
  onMode: (mode: Mode) => void;
}

export function MessageList({ s, conv, messages, now, active, onMode }: ListProps) {
  const me = s.me!;
  const t = s.threads[conv.id];
  const ref = useRef<HTMLDivElement>(null);
  const prev = useRef<{ first: string | null; last: string | null; height: number; atBottom: boolean }>({
    first: null,
    last: null,
    height: 0,
    atBottom: true,
  });
  const [confirm, setConfirm] = useState<ChatMessage | null>(null);
  const [highlight, setHighlight] = useState<number | null>(null);
  const [viewing, setViewing] = useState<Attachment | null>(null);
  const others = otherMemberIds(conv, me.id);
  const receipts = s.receipts[conv.id];
  const admin = isAdmin(conv, me.id);
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

  // The highlight of a message jumped to fades after a while.
  useEffect(() => {
    if (highlight === null) return;
    const timer = setTimeout(() => setHighlight(null), 2500);
    return () => clearTimeout(timer);
  }, [highlight]);

  const jump = async (id: number) => {
    if (!(await findMessage(conv.id, id))) return notify("The original message is not available.");
    setHighlight(id);
    // After the render that holds it (older pages may just have been added).
    requestAnimationFrame(() => {
      const el = document.getElementById(`msg-${id}`);
      el?.scrollIntoView({ block: "center" });
      el?.focus({ preventScroll: true });
    });
  };

  const name = (userId: number) => displayName(userId, s.contacts, conv.members, me.id);

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
              const stored = m.id !== null && active;
              const chips = m.deleted ? [] : reactionChips(m.reactions, me.id);
              return (
                <li
                  key={keyOf(m)!}
                  id={m.id !== null ? `msg-${m.id}` : undefined}
                  tabIndex={m.id !== null ? -1 : undefined}
                  class={`msg ${own ? "own" : "theirs"} ${status ?? ""} ${m.deleted ? "tombstone" : ""} ${m.id !== null && highlight === m.id ? "highlight" : ""}`}
                >
                  {!own && conv.kind === "group" && <span class="sender small">{name(m.sender_id)}</span>}
                  {own && <span class="sr-only">You: </span>}
                  {m.reply_to && !m.deleted && (
                    <button type="button" class="quote small" onClick={() => void jump(m.reply_to!.id)}>
                      <span class="sr-only">In reply to </span>
                      <span class="quote-name">{name(m.reply_to.sender_id)}</span>
                      <span class="sr-only">: </span>
                      <QuoteText q={m.reply_to} />
                    </button>
                  )}
                  {!m.deleted && m.attachments.length > 0 && <MessageAttachments list={m.attachments} onOpen={setViewing} />}
                  {m.id === null && m.pendingAttachments?.length ? <PendingAttachments list={m.pendingAttachments} /> : null}
                  {m.deleted ? <p class="body deleted">This message was deleted</p> : m.body && <p class="body">{m.body}</p>}
                  {chips.length > 0 && (
                    <div class="reactions">
                      {chips.map((c) => (
                        <button
                          key={c.emoji}
                          type="button"
                          class="chip"
                          aria-pressed={c.mine}
                          title={c.userIds.map(name).join(", ")}
                          disabled={!stored}
                          onClick={async () => {
                            const err = await toggleReaction(m, c.emoji);
                            if (err) notify(err);
                          }}
                        >
                          {c.emoji} <span class="count">{c.count}</span>
                        </button>
                      ))}
                    </div>
                  )}
                  <span class="meta small">
                    {m.edited_at !== null && !m.deleted && <span class="edited">edited</span>}
                    <time dateTime={new Date(m.sent_at).toISOString()}>{timeLabel(m.sent_at)}</time>
                    {status && <StatusMark status={status} />}
                    {stored && !m.deleted && (
                      <MessageActions
                        canReply
                        canEdit={own}
                        canDelete={own || admin}
                        canReact
                        mine={myReaction(m.reactions, me.id)}
                        onReply={() => onMode({ kind: "reply", message: m })}
                        onEdit={() => onMode({ kind: "edit", message: m })}
                        onDelete={() => setConfirm(m)}
                        onReact={async (emoji) => {
                          const err = await toggleReaction(m, emoji);
                          if (err) notify(err);
                        }}
                      />
                    )}
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
      {viewing && messages.some((m) => m.attachments.some((a) => a.id === viewing.id)) && (
        // It closes by itself when its message is deleted.
        <MediaViewer a={viewing} onClose={() => setViewing(null)} />
      )}
      {confirm && (
        <DeleteDialog
          m={confirm}
          own={confirm.sender_id === me.id}
          onClose={(deleted) => {
            setConfirm(null);
            // A tombstone has no Message actions button to return to: focus the message.
            if (deleted) requestAnimationFrame(() => document.getElementById(`msg-${confirm.id}`)?.focus());
          }}
        />
      )}
    </div>
  );
}

function DeleteDialog({ m, own, onClose }: { m: ChatMessage; own: boolean; onClose: (deleted: boolean) => void }) {
  return (
    <Dialog title="Delete this message?" onClose={() => onClose(false)}>
      <p>
        {own ? "It" : "This message"} will be replaced by “This message was deleted” for everyone in this conversation. This cannot be
        undone.
      </p>
      <ConfirmFooter confirm="Delete for everyone" run={() => deleteMessage(m)} onDone={() => onClose(true)} onCancel={() => onClose(false)} />
    </Dialog>
  );
}
