import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { State } from "../store";
import { editMessage } from "../actions";
import { removeContact, renameContact } from "../contacts";
import { closeConversation, noteTyping, sendMessage, sendTyping } from "../store";
import { displayName, otherMember } from "../lib/conversations";
import { fromQueued, mergeMessages, quoteOf, refreshQuotes } from "../lib/messages";
import { lastSeenLabel } from "../lib/time";
import type { Conversation } from "../lib/types";
import { Avatar, avatarId } from "./Avatar";
import { ConfirmFooter, Dialog, FormFooter } from "./Dialog";
import { GroupInfo } from "./GroupInfo";
import { IconBack, IconClose, IconSend } from "./icons";
import { isWide, useNow } from "./hooks";
import { MessageList, QuoteText, type Mode } from "./Messages";

const drafts = new Map<number, string>();

export function Chat({ s }: { s: State }) {
  const id = s.openId!;
  const me = s.me!;
  const live = s.conversations.find((c) => c.id === id);
  // One removed from the group, or who left it elsewhere, still sees what was loaded.
  const conv = live ?? s.former[id];
  const now = useNow(30_000);
  const [mode, setMode] = useState<Mode>(null);
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
  const shown = mergeMessages(t?.messages ?? [], pending);
  // A quote shows the quoted message as this client has it when it has it (pending replies too).
  const messages = refreshQuotes(shown, shown);
  // The message being answered or edited, as it is now (gone: the mode ends).
  const target = mode ? messages.find((m) => m.id === mode.message.id) : undefined;
  const current: Mode = mode && target && !target.deleted ? { kind: mode.kind, message: target } : null;
  return (
    <section class="chat" aria-labelledby="chat-title">
      <ChatHeader s={s} conv={conv} now={now} active={!!live} />
      <MessageList
        s={s}
        conv={conv}
        messages={messages}
        now={now}
        active={!!live}
        onMode={(m) => {
          setMode(m);
          document.getElementById("composer-text")?.focus();
        }}
      />
      {live ? (
        <Composer conversationId={id} mode={current} name={(u) => displayName(u, s.contacts, conv.members, me.id)} onMode={setMode} />
      ) : (
        <p class="closed" role="status">
          {conv.kind === "group" ? "You are no longer a member of this group." : "You are no longer in this conversation."}
        </p>
      )}
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

function ChatHeader({ s, conv, now, active }: { s: State; conv: Conversation; now: number; active: boolean }) {
  const me = s.me!;
  const other = conv.kind === "direct" ? otherMember(conv, me.id) : undefined;
  const contact = other ? s.contacts.find((c) => c.user.id === other.id) : undefined;
  // Presence is only known while connected.
  const pres = other && s.connection === "online" ? s.presence[other.id] : undefined;
  const [dialog, setDialog] = useState<"rename" | "remove" | "group" | null>(null);
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
      {conv.kind === "group" && active && (
        <div class="head-actions">
          <button type="button" class="ghost small" onClick={() => setDialog("group")}>
            Group info
          </button>
        </div>
      )}
      {dialog === "group" && conv.kind === "group" && active && <GroupInfo s={s} conv={conv} onClose={() => setDialog(null)} />}
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
  return (
    <Dialog title={`Remove ${name}?`} onClose={onClose}>
      <p>
        {name} will no longer be in your contacts. Your conversation and its messages are kept.
      </p>
      <ConfirmFooter confirm="Remove contact" run={() => removeContact(userId)} onDone={onClose} onCancel={onClose} />
    </Dialog>
  );
}

interface ComposerProps {
  conversationId: number;
  /** Answering a message (a bar above the box; the send carries reply_to), or editing one of
   *  one's own (the box holds its text; Enter saves, Escape cancels). */
  mode: Mode;
  name: (userId: number) => string;
  onMode: (mode: Mode) => void;
}

function Composer({ conversationId, mode, name, onMode }: ComposerProps) {
  const [text, setText] = useState(drafts.get(conversationId) ?? "");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLTextAreaElement>(null);
  const editing = mode?.kind === "edit" ? mode.message : null;
  const editingId = editing?.id ?? null;
  useEffect(() => {
    if (isWide()) ref.current?.focus();
    return () => sendTyping(conversationId, false);
  }, [conversationId]);
  // Editing puts the message's text in the box (the draft waits in `drafts`); ending it
  // brings the draft back.
  const caretToEnd = useRef(false);
  useEffect(() => {
    setError(null);
    if (editing) {
      setText(editing.body);
      sendTyping(conversationId, false);
      caretToEnd.current = true;
    } else setText(drafts.get(conversationId) ?? "");
  }, [editingId]);
  // The caret goes after the edited text in the same commit that renders it, never later:
  // a deferred move would land in the middle of whatever the user has typed or selected since.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!caretToEnd.current || !el || !editing || el.value !== editing.body) return;
    caretToEnd.current = false;
    el.setSelectionRange(el.value.length, el.value.length);
  }, [text, editingId]);

  const cancel = () => {
    onMode(null);
    setError(null);
    ref.current?.focus();
  };

  const submit = async () => {
    if (busy) return;
    if (editing) {
      setBusy(true);
      const err = await editMessage(editing, text);
      setBusy(false);
      if (err) return setError(err);
      return cancel();
    }
    const err = sendMessage(conversationId, text, mode?.kind === "reply" ? mode.message : null);
    if (err) {
      setError(err);
      return;
    }
    if (!text.trim()) return;
    setText("");
    drafts.delete(conversationId);
    setError(null);
    if (mode) onMode(null);
    ref.current?.focus();
  };
  const rows = Math.min(6, Math.max(1, text.split("\n").length));

  return (
    <form
      class="composer"
      id="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      {mode && (
        <div class={`compose-bar ${mode.kind}`}>
          <div class="compose-bar-text small">
            <strong>{mode.kind === "edit" ? "Editing your message" : `Replying to ${name(mode.message.sender_id)}`}</strong>
            <QuoteText q={quoteOf(mode.message)} />
          </div>
          <button type="button" class="icon-btn" aria-label={mode.kind === "edit" ? "Cancel edit" : "Cancel reply"} onClick={cancel}>
            <IconClose />
          </button>
        </div>
      )}
      {error && (
        <p class="error small composer-error" role="alert">
          {error}
        </p>
      )}
      <textarea
        ref={ref}
        id="composer-text"
        aria-label="Message"
        placeholder={editing ? "Edit your message" : "Type a message"}
        rows={rows}
        value={text}
        maxLength={20000}
        onInput={(e) => {
          const v = (e.currentTarget as HTMLTextAreaElement).value;
          setText(v);
          if (error) setError(null);
          if (editing) return;
          drafts.set(conversationId, v);
          if (v.trim()) noteTyping(conversationId);
          else sendTyping(conversationId, false);
        }}
        onKeyDown={(e) => {
          if (e.key === "Escape" && mode) {
            e.preventDefault();
            cancel();
          } else if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
            e.preventDefault();
            void submit();
          }
        }}
        onBlur={() => sendTyping(conversationId, false)}
      />
      <button type="submit" class="send" aria-label="Send" disabled={busy}>
        <IconSend />
      </button>
    </form>
  );
}
