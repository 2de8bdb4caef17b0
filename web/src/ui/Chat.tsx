import { useEffect, useRef, useState } from "preact/hooks";
import type { State } from "../store";
import { addFiles } from "../attach";
import { removeContact, renameContact } from "../contacts";
import { closeConversation, notify } from "../store";
import { displayName, otherMember } from "../lib/conversations";
import { fromQueued, mergeMessages, refreshQuotes } from "../lib/messages";
import { lastSeenLabel } from "../lib/time";
import type { Conversation } from "../lib/types";
import { Avatar, avatarId } from "./Avatar";
import { Composer, filesOf } from "./Composer";
import { ConfirmFooter, Dialog, FormFooter } from "./Dialog";
import { GroupInfo } from "./GroupInfo";
import { IconBack } from "./icons";
import { useNow } from "./hooks";
import { MessageList, type Mode } from "./Messages";
import { MuteButton } from "./Notifications";

function carriesFiles(e: DragEvent): boolean {
  return Array.from(e.dataTransfer?.types ?? []).includes("Files");
}

/** Files dropped anywhere else on the page must not replace it with the file. */
function useNoDropNavigation(): void {
  useEffect(() => {
    const stop = (e: DragEvent) => {
      if (carriesFiles(e)) e.preventDefault();
    };
    window.addEventListener("dragover", stop);
    window.addEventListener("drop", stop);
    return () => {
      window.removeEventListener("dragover", stop);
      window.removeEventListener("drop", stop);
    };
  }, []);
}

export function Chat({ s }: { s: State }) {
  const id = s.openId!;
  const me = s.me!;
  const live = s.conversations.find((c) => c.id === id);
  // One removed from the group, or who left it elsewhere, still sees what was loaded.
  const conv = live ?? s.former[id];
  const now = useNow(30_000);
  const [mode, setMode] = useState<Mode>(null);
  // Files dragged over the chat: a hint over it (enter and leave come for every child).
  const [dragging, setDragging] = useState(false);
  const depth = useRef(0);
  useNoDropNavigation();
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
  const onDrag = (e: DragEvent) => {
    if (!live || !carriesFiles(e)) return;
    e.preventDefault();
    if (e.type === "dragover" && e.dataTransfer) e.dataTransfer.dropEffect = "copy";
    if (e.type === "dragenter") depth.current++;
    if (e.type === "dragleave") depth.current = Math.max(0, depth.current - 1);
    setDragging(e.type !== "drop" && depth.current > 0);
    if (e.type !== "drop") return;
    depth.current = 0;
    if (current?.kind === "edit") return notify("Finish editing before attaching files: they go with a new message.");
    const err = addFiles(id, filesOf(e.dataTransfer));
    if (err) notify(err);
  };
  return (
    <section
      class={`chat ${dragging ? "dragging" : ""}`}
      aria-labelledby="chat-title"
      onDragEnter={onDrag}
      onDragOver={onDrag}
      onDragLeave={onDrag}
      onDrop={onDrag}
    >
      {dragging && (
        <div class="drop-hint" aria-hidden="true">
          Drop files to attach them
        </div>
      )}
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
        <Composer
          conversationId={id}
          mode={current}
          drafts={s.drafts[id] ?? []}
          name={(u) => displayName(u, s.contacts, conv.members, me.id)}
          onMode={setMode}
        />
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
      <Avatar id={avatarId(conv, other)} name={conv.title} group={conv.kind === "group"} online={pres?.online} url={other?.avatar_url} />
      <div class="chat-title">
        <h2 id="chat-title">{conv.title}</h2>
        <p class={`small muted subtitle ${typers.length ? "typing" : ""}`}>{subtitle}</p>
      </div>
      {active && (
        <div class="head-actions">
          <MuteButton conv={conv} />
        </div>
      )}
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
