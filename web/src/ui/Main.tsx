import { useRef, useState } from "preact/hooks";
import { parsePhoneNumberFromString, type CountryCode } from "libphonenumber-js";
import type { State } from "../store";
import { logout, openConversation } from "../store";
import { addContact, createGroup, openDirect } from "../contacts";
import { attachmentSummary } from "../lib/attachments";
import { filterContacts, filterConversations, otherMember } from "../lib/conversations";
import { isMuted } from "../lib/notifications";
import type { Contact, Conversation } from "../lib/types";
import { shortStamp } from "../lib/time";
import { Chat } from "./Chat";
import { ContactChecklist } from "./ContactChecklist";
import { Dialog, FormFooter } from "./Dialog";
import { Avatar, avatarId } from "./Avatar";
import { useNow } from "./hooks";
import { IconBellOff } from "./icons";
import { NotificationsButton, PushMessage } from "./Notifications";
import { ProfileDialog } from "./Profile";
import { toE164 } from "./SignIn";

export function Main({ s }: { s: State }) {
  const [query, setQuery] = useState("");
  const [groupOpen, setGroupOpen] = useState(false);
  const [profileOpen, setProfileOpen] = useState(false);
  const me = s.me!;
  const open = s.openId != null;
  return (
    // One main landmark around both panes, with the page's heading: on a phone the list and
    // the chat take turns on the screen, so neither can hold them.
    <main class={`layout ${open ? "has-open" : ""}`}>
      <h1 class="sr-only">Parley</h1>
      <section class="sidebar" aria-label="Conversations">
        <header class="side-head">
          <Avatar id={me.id} name={me.name} url={me.avatar_url} />
          <div class="me">
            <strong>{me.name}</strong>
            <span class="muted small">{formatPhone(me.phone)}</span>
          </div>
          {/* A row of their own when the sidebar is too narrow for them next to the name. */}
          <div class="side-actions">
            <NotificationsButton s={s} />
            <button type="button" class="ghost" onClick={() => setGroupOpen(true)}>
              New group
            </button>
            <button type="button" class="ghost" onClick={() => setProfileOpen(true)}>
              Profile
            </button>
            <button type="button" class="ghost" onClick={() => void logout()}>
              Log out
            </button>
          </div>
        </header>
        <PushMessage s={s} />
        <ConnectionBanner s={s} />
        <AddContact me={me.phone} />
        <div class="search">
          <input
            type="search"
            aria-label="Search conversations"
            placeholder="Search"
            value={query}
            onInput={(e) => setQuery((e.currentTarget as HTMLInputElement).value)}
          />
        </div>
        <ConversationList s={s} query={query} />
      </section>
      <div class="chat-pane">
        {open ? (
          <Chat s={s} key={s.openId!} />
        ) : (
          <div class="empty">
            <span class="brand-mark big" aria-hidden="true" />
            <h2>Parley</h2>
            <p class="muted">Pick a conversation, or add a contact by phone number to start one.</p>
          </div>
        )}
      </div>
      {groupOpen && <GroupDialog contacts={s.contacts} onClose={() => setGroupOpen(false)} />}
      {profileOpen && <ProfileDialog me={me} onClose={() => setProfileOpen(false)} />}
      <div class="toast" role="status" aria-live="polite">
        {s.notice && <p>{s.notice}</p>}
      </div>
    </main>
  );
}

function formatPhone(e164: string): string {
  return parsePhoneNumberFromString(e164)?.formatInternational() ?? e164;
}

function ConnectionBanner({ s }: { s: State }) {
  const pending = s.queue.filter((q) => !q.failed).length;
  if (s.connection === "online") return null;
  return (
    <p class={`banner ${s.connection}`} role="status">
      <span class="spinner" aria-hidden="true" />
      {s.fromSnapshot
        ? "Offline: showing what this device saved. Reconnecting…"
        : s.connection === "connecting"
          ? "Connecting…"
          : "Reconnecting…"}
      {pending > 0 && ` ${pending} message${pending === 1 ? "" : "s"} waiting to be sent.`}
    </p>
  );
}

function AddContact({ me }: { me: string }) {
  const [phone, setPhone] = useState("");
  const [name, setName] = useState("");
  const [expanded, setExpanded] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const phoneRef = useRef<HTMLInputElement>(null);
  const country = (parsePhoneNumberFromString(me)?.country ?? "US") as CountryCode;

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setError(null);
    if (!phone.trim()) {
      // The button first opens the form (for a keyboard or touch user who starts here).
      setExpanded(true);
      phoneRef.current?.focus();
      return;
    }
    setBusy(true);
    const err = await addContact(toE164(phone, country), name);
    setBusy(false);
    if (err) setError(err);
    else {
      setPhone("");
      setName("");
      setExpanded(false);
    }
  };

  return (
    <form
      class="add-contact"
      onSubmit={submit}
      noValidate
      onFocusOut={(e) => {
        const to = (e as FocusEvent).relatedTarget as Node | null;
        if (!to || !(e.currentTarget as HTMLElement).contains(to)) setExpanded(false);
      }}
    >
      <div class="row">
        <input
          ref={phoneRef}
          type="tel"
          inputMode="tel"
          autoComplete="off"
          aria-label="Contact phone number"
          placeholder="Contact phone number"
          value={phone}
          onFocus={() => setExpanded(true)}
          onInput={(e) => {
            setPhone((e.currentTarget as HTMLInputElement).value);
            setError(null);
          }}
          aria-describedby={error ? "add-contact-error" : undefined}
        />
        <button type="submit" class="primary" disabled={busy}>
          Add contact
        </button>
      </div>
      {(expanded || phone || name) && (
        <input
          type="text"
          aria-label="Nickname (optional)"
          placeholder="Nickname (optional)"
          maxLength={64}
          value={name}
          onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
        />
      )}
      {error && (
        <p id="add-contact-error" class="error small" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function ConversationList({ s, query }: { s: State; query: string }) {
  const now = useNow(60_000);
  const me = s.me!;
  const convs = filterConversations(s.conversations, query);
  const inList = new Set(s.conversations.filter((c) => c.kind === "direct").map((c) => otherMember(c, me.id)?.id));
  const loose = filterContacts(
    s.contacts.filter((c) => !inList.has(c.user.id)),
    query,
  );
  if (!s.conversationsLoaded) return <p class="muted pad">Loading conversations…</p>;
  return (
    <nav class="list" aria-label="Conversation list">
      {s.loadError && <p class="error pad">{s.loadError}</p>}
      {convs.map((c) => (
        <ConversationLink key={c.id} c={c} s={s} now={now} />
      ))}
      {loose.length > 0 && <h2 class="list-head">Contacts</h2>}
      {loose.map((c) => (
        <ContactLink key={`u${c.user.id}`} c={c} s={s} />
      ))}
      {convs.length === 0 && loose.length === 0 && (
        <p class="muted pad">
          {query ? "Nothing matches your search." : "No conversations yet. Add a contact with their phone number to start."}
        </p>
      )}
    </nav>
  );
}

function ConversationLink({ c, s, now }: { c: Conversation; s: State; now: number }) {
  const me = s.me!;
  const other = c.kind === "direct" ? otherMember(c, me.id) : undefined;
  // While this client is not connected it knows nothing about others: no green dot then.
  const known = other ? s.presence[other.id] : undefined;
  const online = known ? s.connection === "online" && known.online : undefined;
  const typingIds = Object.keys(s.typing[c.id] ?? {});
  const last = c.last_message;
  const descId = `conv-desc-${c.id}`;
  let preview = "No messages yet";
  if (last) {
    // A member who has left is no longer in `members`: their message goes without a name.
    const sender = s.contacts.find((x) => x.user.id === last.sender_id)?.name ?? c.members.find((u) => u.id === last.sender_id)?.name;
    const who = last.sender_id === me.id ? "You: " : c.kind === "group" && sender ? `${sender}: ` : "";
    const text = last.body.replace(/\s+/g, " ").trim();
    preview = who + (last.deleted ? "This message was deleted" : text || attachmentSummary(last.attachments ?? []));
  }
  const typing = typingIds.length > 0;
  const muted = isMuted(c, now);
  // The link holds only the title, so its accessible name is exactly what it shows (the
  // contact or group); the rest of the row is its description. A stretched ::after makes the
  // whole row the link's click target (styles.css, .conv-link).
  return (
    <div class={`conv ${s.openId === c.id ? "current" : ""} ${c.unread_count ? "unread" : ""} ${muted ? "quiet" : ""}`}>
      <Avatar id={avatarId(c, other)} name={c.title} online={online} group={c.kind === "group"} url={other?.avatar_url} />
      <span class="conv-main">
        <span class="conv-top">
          <a
            href={`/c/${c.id}`}
            class="conv-title conv-link"
            aria-describedby={descId}
            aria-current={s.openId === c.id ? "page" : undefined}
            onClick={(e) => {
              if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
              e.preventDefault();
              void openConversation(c.id);
            }}
          >
            {c.title}
          </a>
          {last && <span class="conv-time small">{shortStamp(last.sent_at, now)}</span>}
        </span>
        <span class="conv-bottom" id={descId}>
          <span class={`conv-preview small ${typing ? "typing" : ""}`}>{typing ? "typing…" : preview}</span>
          {muted && (
            <span class="muted-mark" title="Muted">
              <IconBellOff />
              <span class="sr-only">, muted</span>
            </span>
          )}
          {c.unread_count > 0 && (
            <span class={`badge ${muted ? "quiet" : ""}`}>
              {c.unread_count}
              <span class="sr-only"> unread</span>
            </span>
          )}
          {online !== undefined && <span class="sr-only">{online ? ", online" : ", offline"}</span>}
        </span>
      </span>
    </div>
  );
}

function ContactLink({ c, s }: { c: Contact; s: State }) {
  const known = s.presence[c.user.id];
  const online = known ? s.connection === "online" && known.online : undefined;
  const [busy, setBusy] = useState(false);
  const descId = `contact-desc-${c.user.id}`;
  return (
    <div class="conv">
      <Avatar id={c.user.id} name={c.name} online={online} url={c.user.avatar_url} />
      <span class="conv-main">
        <span class="conv-top">
          <a
            href={`/u/${c.user.id}`}
            class="conv-title conv-link"
            aria-describedby={descId}
            aria-busy={busy}
            onClick={async (e) => {
              if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
              e.preventDefault();
              setBusy(true);
              await openDirect(c.user.id);
              setBusy(false);
            }}
          >
            {c.name}
          </a>
        </span>
        <span class="conv-bottom" id={descId}>
          <span class="conv-preview small">
            {formatPhone(c.user.phone)}
            {online !== undefined && <span class="sr-only">{online ? ", online" : ", offline"}</span>}
          </span>
        </span>
      </span>
    </div>
  );
}

function GroupDialog({ contacts, onClose }: { contacts: Contact[]; onClose: () => void }) {
  const [title, setTitle] = useState("");
  const [picked, setPicked] = useState<Set<number>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!title.trim()) return setError("Give the group a title.");
    if (picked.size < 2) return setError("Pick at least two contacts (for one person, open your conversation with them).");
    setBusy(true);
    const err = await createGroup(title, [...picked]);
    setBusy(false);
    if (err) setError(err);
    else onClose();
  };
  return (
    <Dialog title="New group" onClose={onClose}>
      <form onSubmit={submit} class="stack" noValidate>
        <label class="field">
          <span>Group title</span>
          <input type="text" maxLength={100} value={title} onInput={(e) => setTitle((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <ContactChecklist
          legend="Members"
          contacts={contacts}
          empty="Add contacts first: a group is made of your contacts."
          picked={picked}
          onChange={setPicked}
        />
        <FormFooter error={error} busy={busy} submit="Create group" onClose={onClose} />
      </form>
    </Dialog>
  );
}
