// The preview strip above the composer: each file attached to the message being written, with
// its preview (images) or its name and size, its upload's progress (Cancel stops it), why the
// server refused it (Retry when that may help), and Remove.

import { useEffect, useState } from "preact/hooks";
import { removeDraft, retryDraft } from "../attach";
import { previewFallback, previewUrl } from "../blobs";
import { humanSize, looksLikeImage, type DraftAttachment } from "../lib/attachments";
import { IconClose, IconFile } from "./icons";

export function AttachStrip({ conversationId, drafts }: { conversationId: number; drafts: DraftAttachment[] }) {
  if (drafts.length === 0) return null;
  // Not a list: list items on the page are messages only (web/README.md).
  return (
    <div class="strip" role="group" aria-label="Attachments">
      {drafts.map((d) => (
        <DraftItem key={d.key} conversationId={conversationId} d={d} />
      ))}
    </div>
  );
}

function DraftItem({ conversationId, d }: { conversationId: number; d: DraftAttachment }) {
  return (
    <div class={`draft ${d.state}`}>
      <span class="draft-thumb">{looksLikeImage(d.mime) ? <LocalImage fileKey={d.key} alt="" /> : <IconFile />}</span>
      <span class="draft-info">
        <span class="draft-name" title={d.name}>
          {d.name}
        </span>
        <span class="small muted">{humanSize(d.size)}</span>
        {d.state === "uploading" && (
          <span class="draft-progress small">
            <progress max={100} value={d.progress} aria-label={`Uploading ${d.name}`} />
            <span aria-hidden="true">{d.progress}%</span>
          </span>
        )}
        {d.state === "waiting" && <span class="small muted">Uploads when back online</span>}
        {d.state === "failed" && (
          <span class="small error" role="alert">
            {d.error}
          </span>
        )}
      </span>
      <span class="draft-actions">
        {(d.state === "failed" && d.retryable) || d.state === "waiting" ? (
          <button type="button" class="link small" aria-label={`Retry ${d.name}`} onClick={() => retryDraft(conversationId, d.key)}>
            Retry
          </button>
        ) : null}
        <button
          type="button"
          class="icon-btn remove"
          aria-label={d.state === "uploading" ? `Cancel ${d.name}` : `Remove ${d.name}`}
          title={d.state === "uploading" ? "Cancel the upload" : "Remove"}
          onClick={() => removeDraft(conversationId, d.key)}
        >
          <IconClose />
        </button>
      </span>
    </div>
  );
}

/** An image preview of a file on this device (an object URL, or a data: URL when the page's
 *  policy refuses those); the file icon when it cannot be shown. */
export function LocalImage({ fileKey, alt }: { fileKey: string; alt: string }) {
  const [src, setSrc] = useState<string | null>(() => previewUrl(fileKey));
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    if (!src && !failed) void previewFallback(fileKey, false).then((u) => live && (u ? setSrc(u) : setFailed(true)));
    return () => {
      live = false;
    };
  }, [fileKey]);
  if (failed || !src) return <IconFile />;
  return (
    <img
      src={src}
      alt={alt}
      decoding="async"
      onError={() => {
        if (src.startsWith("data:")) return setFailed(true);
        void previewFallback(fileKey, true).then((u) => (u ? setSrc(u) : setFailed(true)));
      }}
    />
  );
}
