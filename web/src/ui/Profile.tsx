// The `Profile` dialog: one's picture (choose or replace it, remove it; it changes at once,
// with a preview of the chosen image while it uploads) and one's name (saved with Save). Others
// see both change live (`user:updated`). Also whether notifications show the message text
// (saved as soon as it is changed).

import { useRef, useState } from "preact/hooks";
import { readDataUrl } from "../blobs";
import type { User } from "../lib/types";
import { removePicture, saveName, savePreviews, setPicture } from "../profile";
import { Avatar } from "./Avatar";
import { Dialog } from "./Dialog";

export function ProfileDialog({ me, onClose }: { me: User; onClose: () => void }) {
  const [name, setName] = useState(me.name);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState<"name" | "picture" | "previews" | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const picker = useRef<HTMLInputElement>(null);

  const run = async (what: "name" | "picture" | "previews", call: () => Promise<string | null>, done: string) => {
    setBusy(what);
    setError(null);
    setStatus("");
    const err = await call();
    setBusy(null);
    setPreview(null);
    if (err) setError(err);
    else setStatus(done);
  };

  const choose = async (file: File) => {
    // A data: URL, which the page's policy allows (blob: may not be).
    setPreview(await readDataUrl(file));
    await run("picture", () => setPicture(file), "Your picture was changed.");
  };

  return (
    <Dialog title="Profile" onClose={onClose} class="profile">
      <div class="profile-picture">
        {preview ? (
          <span class="avatar large pictured" aria-hidden="true">
            <img src={preview} alt="" />
          </span>
        ) : (
          <Avatar id={me.id} name={me.name} url={me.avatar_url} large />
        )}
        <div class="profile-picture-actions">
          <button type="button" class="ghost" disabled={busy !== null} onClick={() => picker.current?.click()}>
            {me.avatar_url ? "Replace picture" : "Choose picture"}
          </button>
          {me.avatar_url && (
            <button
              type="button"
              class="ghost danger"
              disabled={busy !== null}
              onClick={() => void run("picture", removePicture, "Your picture was removed.")}
            >
              Remove picture
            </button>
          )}
          {busy === "picture" && <span class="small muted">Uploading…</span>}
        </div>
        <input
          ref={picker}
          type="file"
          accept="image/png,image/jpeg,image/webp,image/gif"
          hidden
          tabIndex={-1}
          onChange={(e) => {
            const input = e.currentTarget as HTMLInputElement;
            const file = input.files?.[0];
            input.value = "";
            if (file) void choose(file);
          }}
        />
      </div>
      <div class="profile-notify">
        <label class="check">
          <input
            type="checkbox"
            checked={me.notification_previews !== false}
            aria-busy={busy === "previews"}
            aria-describedby="previews-hint"
            onChange={(e) => {
              const on = (e.currentTarget as HTMLInputElement).checked;
              void run("previews", () => savePreviews(on), on ? "Notifications show the message text." : "Notifications no longer show the message text.");
            }}
          />
          <span>Show message text in notifications</span>
        </label>
        <p class="hint" id="previews-hint">
          When this is off, a notification names only the conversation.
        </p>
      </div>
      <form
        class="stack"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (!name.trim()) return setError("Your name cannot be empty.");
          if (name.trim() === me.name) return setStatus("Your name is saved.");
          void run("name", () => saveName(name), "Your name was saved.");
        }}
      >
        <label class="field">
          <span>Your name</span>
          <input type="text" autoComplete="name" maxLength={64} value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <p class="hint">Others see your picture, and this name unless they saved you under one of their own.</p>
        <p class="small status-line" role="status">
          {status}
        </p>
        {error && (
          <p class="error small" role="alert">
            {error}
          </p>
        )}
        <div class="actions">
          <button type="button" class="ghost" onClick={onClose}>
            Close
          </button>
          <button type="submit" class="primary" disabled={busy !== null}>
            Save
          </button>
        </div>
      </form>
    </Dialog>
  );
}
