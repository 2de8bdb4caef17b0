// The message box under a conversation: text, `Attach` (a file picker; a paste of files into
// the box attaches them too, and so does a drop on the chat, see ./Chat), the preview strip of
// the files attached, reply and edit modes, and `Send`.

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { editMessage } from "../actions";
import { addFiles } from "../attach";
import { canSend, type DraftAttachment } from "../lib/attachments";
import { quoteOf } from "../lib/messages";
import { noteTyping, notify, sendMessage, sendTyping } from "../store";
import { AttachStrip } from "./AttachStrip";
import { isWide } from "./hooks";
import { IconAttach, IconClose, IconSend } from "./icons";
import { QuoteText, type Mode } from "./Messages";

const texts = new Map<number, string>();

/** The files a paste or a drop carries (none for plain text). */
export function filesOf(data: DataTransfer | null): File[] {
  if (!data) return [];
  const files = Array.from(data.files ?? []);
  if (files.length) return files;
  return Array.from(data.items ?? []).flatMap((item) => {
    const f = item.kind === "file" ? item.getAsFile() : null;
    return f ? [f] : [];
  });
}

interface ComposerProps {
  conversationId: number;
  /** Answering a message (a bar above the box; the send carries reply_to), or editing one of
   *  one's own (the box holds its text; Enter saves, Escape cancels; no files then). */
  mode: Mode;
  /** The files attached to the message being written. */
  drafts: DraftAttachment[];
  name: (userId: number) => string;
  onMode: (mode: Mode) => void;
}

export function Composer({ conversationId, mode, drafts, name, onMode }: ComposerProps) {
  const [text, setText] = useState(texts.get(conversationId) ?? "");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLTextAreaElement>(null);
  const picker = useRef<HTMLInputElement>(null);
  const editing = mode?.kind === "edit" ? mode.message : null;
  const editingId = editing?.id ?? null;
  useEffect(() => {
    if (isWide()) ref.current?.focus();
    return () => sendTyping(conversationId, false);
  }, [conversationId]);
  // Editing puts the message's text in the box (the draft waits in `texts`); ending it
  // brings the draft back.
  const caretToEnd = useRef(false);
  useEffect(() => {
    setError(null);
    if (editing) {
      setText(editing.body);
      sendTyping(conversationId, false);
      caretToEnd.current = true;
    } else setText(texts.get(conversationId) ?? "");
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

  const attach = (files: File[]) => {
    if (editing) return notify("Finish editing before attaching files: they go with a new message.");
    const err = addFiles(conversationId, files);
    if (err) notify(err);
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
    if (!canSend(text, drafts)) return;
    const err = sendMessage(conversationId, text, mode?.kind === "reply" ? mode.message : null);
    if (err) {
      setError(err);
      return;
    }
    setText("");
    texts.delete(conversationId);
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
      {!editing && <AttachStrip conversationId={conversationId} drafts={drafts} />}
      <button
        type="button"
        class="icon-btn attach"
        aria-label="Attach"
        title="Attach files"
        disabled={!!editing}
        onClick={() => picker.current?.click()}
      >
        <IconAttach />
      </button>
      <input
        ref={picker}
        type="file"
        multiple
        hidden
        tabIndex={-1}
        onChange={(e) => {
          const input = e.currentTarget as HTMLInputElement;
          const files = Array.from(input.files ?? []);
          input.value = ""; // the same file can be chosen again
          if (files.length) attach(files);
          ref.current?.focus();
        }}
      />
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
          texts.set(conversationId, v);
          if (v.trim()) noteTyping(conversationId);
          else sendTyping(conversationId, false);
        }}
        onPaste={(e) => {
          const files = filesOf(e.clipboardData);
          if (files.length === 0 || editing) return;
          e.preventDefault();
          attach(files);
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
      <button type="submit" class="send" aria-label="Send" disabled={busy || (!editing && !canSend(text, drafts))}>
        <IconSend />
      </button>
    </form>
  );
}
