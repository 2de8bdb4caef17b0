// The `Group info` dialog of a group: its title (admins rename it), its members with their
// role (admins make admins and remove members), adding contacts (admins), and leaving.

import { useEffect, useRef, useState } from "preact/hooks";
import { addMembers, leaveGroup, makeAdmin, removeMember, renameGroup } from "../groups";
import { displayName, isAdmin } from "../lib/conversations";
import type { Conversation } from "../lib/types";
import type { State } from "../store";
import { Avatar } from "./Avatar";
import { ConfirmFooter, Dialog } from "./Dialog";
import { ContactChecklist } from "./ContactChecklist";

export function GroupInfo({ s, conv, onClose }: { s: State; conv: Conversation; onClose: () => void }) {
  const me = s.me!;
  const admin = isAdmin(conv, me.id);
  const [leaving, setLeaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);
  const membersHead = useRef<HTMLHeadingElement>(null);
  const leaveButton = useRef<HTMLButtonElement>(null);
  const name = (userId: number) => displayName(userId, s.contacts, conv.members, me.id);

  /** Runs a call and says how it went; the button pressed may be gone after it, so focus
   *  goes to the members. Resolves whether it was done. */
  const act = async (call: () => Promise<string | null>, done: string): Promise<boolean> => {
    setBusy(true);
    setError(null);
    setStatus("");
    const err = await call();
    setBusy(false);
    if (err) {
      setError(err);
      return false;
    }
    setStatus(done);
    membersHead.current?.focus();
    return true;
  };

  if (leaving)
    return (
      <Dialog title="Group info" onClose={onClose}>
        <LeaveConfirm
          conv={conv}
          onCancel={() => {
            setLeaving(false);
            requestAnimationFrame(() => leaveButton.current?.focus());
          }}
          onLeft={onClose}
        />
      </Dialog>
    );

  return (
    <Dialog title="Group info" onClose={onClose} class="group-info">
      {admin ? (
        <RenameGroup conv={conv} busy={busy} onRename={(title) => act(() => renameGroup(conv.id, title), "The group was renamed.")} />
      ) : (
        <p class="group-title">{conv.title}</p>
      )}
      <h3 ref={membersHead} tabIndex={-1} class="members-head">
        {conv.members.length} {conv.members.length === 1 ? "member" : "members"}
      </h3>
      {/* Each member is a list item that names them, so the Remove and Make admin buttons in
          it need no name of their own beyond the word. */}
      <ul class="member-list">
        {conv.members.map((u) => (
          <li key={u.id} class="member">
            <Avatar id={u.id} name={u.name} url={u.avatar_url} />
            <span class="member-name">
              {name(u.id)}
              {u.admin && <span class="tag">Admin</span>}
            </span>
            {admin && u.id !== me.id && (
              <span class="member-actions">
                {!u.admin && (
                  <button
                    type="button"
                    class="ghost small"
                    disabled={busy}
                    onClick={() => act(() => makeAdmin(conv.id, u.id), `${name(u.id)} is now an admin.`)}
                  >
                    Make admin
                  </button>
                )}
                <button
                  type="button"
                  class="ghost small danger"
                  disabled={busy}
                  onClick={() => act(() => removeMember(conv.id, u.id), `${name(u.id)} was removed from the group.`)}
                >
                  Remove
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
      {admin && (
        <AddMembers
          s={s}
          conv={conv}
          busy={busy}
          onAdd={(ids) => act(() => addMembers(conv.id, ids), ids.length === 1 ? "1 member was added." : `${ids.length} members were added.`)}
        />
      )}
      <p class="small status-line" role="status">
        {status}
      </p>
      {error && (
        <p class="error small" role="alert">
          {error}
        </p>
      )}
      <div class="actions">
        <button ref={leaveButton} type="button" class="ghost danger" onClick={() => setLeaving(true)}>
          Leave group
        </button>
        <button type="button" class="ghost" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}

/** The confirmation of Leave group, in place of the dialog's content. */
function LeaveConfirm({ conv, onCancel, onLeft }: { conv: Conversation; onCancel: () => void; onLeft: () => void }) {
  const cancel = useRef<HTMLButtonElement>(null);
  // Not a new dialog (autofocus does not apply): focus Cancel as one would have.
  useEffect(() => cancel.current?.focus(), []);
  return (
    <>
      <p>Leave {conv.title}? You will no longer get its messages, and cannot read it again unless an admin adds you back.</p>
      <ConfirmFooter confirm="Leave group" run={() => leaveGroup(conv.id)} onDone={onLeft} onCancel={onCancel} cancelRef={cancel} />
    </>
  );
}

function RenameGroup({ conv, busy, onRename }: { conv: Conversation; busy: boolean; onRename: (title: string) => Promise<boolean> }) {
  const [title, setTitle] = useState(conv.title);
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      class="rename-group"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (!title.trim()) return setError("The group needs a title.");
        setError(null);
        if (title.trim() !== conv.title) void onRename(title);
      }}
    >
      <div class="row">
        <label class="field">
          <span>Group title</span>
          <input type="text" maxLength={100} value={title} onInput={(e) => setTitle((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="ghost" disabled={busy}>
          Rename
        </button>
      </div>
      {error && (
        <p class="error small" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function AddMembers({ s, conv, busy, onAdd }: { s: State; conv: Conversation; busy: boolean; onAdd: (ids: number[]) => Promise<boolean> }) {
  const [picked, setPicked] = useState<Set<number>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const first = useRef<HTMLInputElement>(null);
  const inGroup = new Set(conv.members.map((u) => u.id));
  const candidates = s.contacts.filter((c) => !inGroup.has(c.user.id));
  return (
    <form
      class="stack add-members"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        const ids = [...picked].filter((id) => !inGroup.has(id));
        if (ids.length === 0) {
          setError(candidates.length ? "Choose the contacts to add first." : "All your contacts are in this group already.");
          first.current?.focus();
          return;
        }
        setError(null);
        if (await onAdd(ids)) setPicked(new Set());
      }}
    >
      <ContactChecklist
        legend="Contacts to add"
        contacts={candidates}
        empty="All your contacts are in this group."
        picked={picked}
        firstRef={first}
        onChange={(next) => {
          setPicked(next);
          setError(null);
        }}
      />
      {error && (
        <p class="error small" role="alert">
          {error}
        </p>
      )}
      <div class="actions">
        <button type="submit" class="ghost" disabled={busy}>
          Add members
        </button>
      </div>
    </form>
  );
}
