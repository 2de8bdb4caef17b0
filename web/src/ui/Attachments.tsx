// What a message carries: images inline from their thumbnails (sized before they load, so the
// history does not jump; a click opens the full image in a dialog), other files as download
// links with their size. A pending message shows its files from this device meanwhile.

import { fitBox, humanSize } from "../lib/attachments";
import type { Attachment, QueuedAttachment } from "../lib/types";
import { LocalImage } from "./AttachStrip";
import { Dialog } from "./Dialog";
import { IconFile } from "./icons";

/** The largest box an inline image takes (CSS narrows it further on a phone). */
const BOX = 300;

export function MessageAttachments({ list, onOpen }: { list: Attachment[]; onOpen: (a: Attachment) => void }) {
  const images = list.filter((a) => a.kind === "image");
  const files = list.filter((a) => a.kind !== "image");
  return (
    <div class="attachments">
      {images.length > 0 && (
        <div class={`att-images ${images.length > 1 ? "many" : ""}`}>
          {images.map((a) => {
            const box = a.width && a.height ? fitBox(a.width, a.height, BOX, BOX) : null;
            return (
              <button key={a.id} type="button" class="att-image" aria-haspopup="dialog" onClick={() => onOpen(a)}>
                <img
                  src={a.thumbnail_url ?? a.url}
                  alt={a.name}
                  width={box?.width}
                  height={box?.height}
                  loading="lazy"
                  decoding="async"
                />
              </button>
            );
          })}
        </div>
      )}
      {files.map((a) => (
        <FileLink key={a.id} name={a.name} size={a.size} href={a.url} />
      ))}
    </div>
  );
}

function FileLink({ name, size, href }: { name: string; size: number; href?: string }) {
  return (
    <span class="att-file">
      <IconFile />
      <span class="att-file-text">
        {href ? (
          <a href={href} download={name}>
            {name}
          </a>
        ) : (
          <span class="att-file-name">{name}</span>
        )}
        <span class="small muted">{humanSize(size)}</span>
      </span>
    </span>
  );
}

/** The files of a message not stored yet: previews from this device (or the server's
 *  thumbnail of an upload it already has), names and sizes. */
export function PendingAttachments({ list }: { list: QueuedAttachment[] }) {
  const toUpload = list.filter((a) => !a.upload).length;
  return (
    <div class="attachments pending">
      {list.map((a) => {
        const image = a.upload ? a.upload.kind === "image" : /^image\//.test(a.mime);
        if (!image) return <FileLink key={a.key} name={a.name} size={a.size} />;
        return (
          <span key={a.key} class="att-image local">
            {a.upload ? <img src={`/media/${a.upload.id}/thumbnail`} alt={a.name} decoding="async" /> : <LocalImage fileKey={a.key} alt={a.name} />}
          </span>
        );
      })}
      {toUpload > 0 && <span class="small muted">{toUpload === 1 ? "1 file to upload" : `${toUpload} files to upload`}</span>}
    </div>
  );
}

/** The full image: the original `/media/{id}`, Download and Close (Escape closes too). */
export function MediaViewer({ a, onClose }: { a: Attachment; onClose: () => void }) {
  return (
    <Dialog title={a.name} onClose={onClose} class="media-view">
      <img class="media-full" src={a.url} alt={a.name} decoding="async" />
      <div class="actions">
        <a class="button ghost" href={a.url} download={a.name}>
          Download
        </a>
        <button type="button" class="primary" autoFocus onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}
