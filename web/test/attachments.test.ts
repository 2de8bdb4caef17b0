import { describe, expect, it } from "vitest";
import {
  asAttachments,
  attachmentSummary,
  canSend,
  checkSize,
  defaultConfig,
  fitBox,
  humanSize,
  isReady,
  isRetryableUpload,
  parseConfig,
  toQueued,
  uploadErrorText,
  type DraftAttachment,
} from "../src/lib/attachments";
import { fromQueued, fromServer } from "../src/lib/messages";
import {
  attachmentKeys,
  missingUploads,
  parseQueue,
  serializeQueue,
  setUploaded,
  uploadIds,
} from "../src/lib/queue";
import type { Message, QueuedMessage, Upload } from "../src/lib/types";

const upload = (id: number, extra: Partial<Upload> = {}): Upload => ({
  id, kind: "image", mime: "image/png", size: 2048, name: `p${id}.png`, width: 640, height: 480, ...extra,
});

const draft = (key: string, state: DraftAttachment["state"], extra: Partial<DraftAttachment> = {}): DraftAttachment => ({
  key, name: `${key}.txt`, size: 10, mime: "text/plain", state, progress: state === "done" ? 100 : 0, ...extra,
});

describe("sizes and boxes", () => {
  it("writes sizes as people read them", () => {
    expect(humanSize(0)).toBe("0 B");
    expect(humanSize(1023)).toBe("1023 B");
    expect(humanSize(1024)).toBe("1 KB");
    expect(humanSize(3000)).toBe("2.9 KB");
    expect(humanSize(15 * 1024)).toBe("15 KB");
    expect(humanSize(1024 * 1024 - 1)).toBe("1 MB"); // never "1024 KB"
    expect(humanSize(25 * 1024 * 1024)).toBe("25 MB");
    expect(humanSize(-1)).toBe("");
  });

  it("fits an image in a box keeping its shape, never enlarging it", () => {
    expect(fitBox(64, 48, 300, 300)).toEqual({ width: 64, height: 48 });
    expect(fitBox(4000, 3000, 300, 300)).toEqual({ width: 300, height: 225 });
    expect(fitBox(1000, 4000, 300, 300)).toEqual({ width: 75, height: 300 });
    expect(fitBox(10000, 1, 300, 300)).toEqual({ width: 300, height: 1 });
  });
});

describe("the server's answers", () => {
  it("reads the config, keeping the defaults for what is missing or odd", () => {
    expect(parseConfig({ max_upload_bytes: 26214400, max_attachments: 10, max_message_length: 4000, edit_window_s: 86400 })).toEqual({
      max_upload_bytes: 26214400, max_attachments: 10, max_message_length: 4000,
    });
    expect(parseConfig(null)).toEqual(defaultConfig);
    expect(parseConfig({ max_attachments: "10", max_upload_bytes: -1 })).toEqual(defaultConfig);
  });

  it("reads attachments, leaving out malformed ones and filling in the url", () => {
    const list = asAttachments([
      { ...upload(1), url: "/media/1", thumbnail_url: "/media/1/thumbnail" },
      { id: 2, kind: "file", mime: "text/plain", size: 5, name: "a.txt" },
      { kind: "file" },
      null,
    ]);
    expect(list).toEqual([
      { ...upload(1), url: "/media/1", thumbnail_url: "/media/1/thumbnail" },
      { id: 2, kind: "file", mime: "text/plain", size: 5, name: "a.txt", url: "/media/2" },
    ]);
    expect(asAttachments(undefined)).toEqual([]);
  });

  it("shows no attachment on a tombstone, whatever the server left in it", () => {
    const m: Message = {
      id: 9, conversation_id: 7, sender_id: 2, body: "", sent_at: 1, client_id: "x", seq: 3, updated_seq: 4, deleted: true,
      attachments: [{ ...upload(1), url: "/media/1" }],
    };
    expect(fromServer(m).attachments).toEqual([]);
    expect(fromServer({ ...m, deleted: false }).attachments).toHaveLength(1);
  });

  it("names what a message without text carries", () => {
    expect(attachmentSummary([{ kind: "image", name: "a.png" }])).toBe("Photo");
    expect(attachmentSummary([{ kind: "file", name: "notes.txt" }])).toBe("notes.txt");
    expect(attachmentSummary([{ kind: "image", name: "a" }, { kind: "image", name: "b" }])).toBe("2 photos");
    expect(attachmentSummary([{ kind: "file", name: "a" }, { kind: "file", name: "b" }])).toBe("2 files");
    expect(attachmentSummary([{ kind: "image", name: "a" }, { kind: "file", name: "b" }])).toBe("2 attachments");
    expect(attachmentSummary([])).toBe("");
  });
});

describe("the message being written", () => {
  it("may be sent with text, or with a file uploaded or waiting for a connection", () => {
    expect(canSend("", [])).toBe(false);
    expect(canSend("  \n", [draft("a", "uploading"), draft("b", "failed")])).toBe(false);
    expect(canSend("hi", [draft("a", "uploading")])).toBe(true);
    expect(canSend("", [draft("a", "done", { upload: upload(1) })])).toBe(true);
    expect(canSend("", [draft("a", "waiting")])).toBe(true);
    expect([draft("a", "done"), draft("b", "waiting"), draft("c", "uploading"), draft("d", "failed")].map(isReady)).toEqual([
      true, true, false, false,
    ]);
  });

  it("hands the queue the upload of a done file, and only the description of a waiting one", () => {
    expect(toQueued(draft("a", "done", { upload: upload(4) }))).toEqual({ key: "a", name: "a.txt", size: 10, mime: "text/plain", upload: upload(4) });
    expect(toQueued(draft("b", "waiting"))).toEqual({ key: "b", name: "b.txt", size: 10, mime: "text/plain" });
  });

  it("refuses a file over the server's limit before uploading it, once the limit is known", () => {
    expect(checkSize("big.bin", 11, { ...defaultConfig, max_upload_bytes: 10 })).toBe("big.bin is too large to send (at most 10 B).");
    expect(checkSize("ok.bin", 10, { ...defaultConfig, max_upload_bytes: 10 })).toBeNull();
    expect(checkSize("any.bin", 1e12, defaultConfig)).toBeNull();
  });

  it("shows the server's reason for a refused upload, and retries only what may succeed", () => {
    expect(uploadErrorText("quota_exceeded", "You have used your 1 GB.")).toBe("You have used your 1 GB.");
    expect(uploadErrorText("bad_image", "")).toBe("This image cannot be read.");
    expect(uploadErrorText("network", "Cannot reach the server.")).toBe("Cannot reach Parley.");
    expect(isRetryableUpload("rate_limited")).toBe(true);
    expect(isRetryableUpload("quota_exceeded")).toBe(true);
    expect(isRetryableUpload("too_large")).toBe(false);
    expect(isRetryableUpload("bad_image")).toBe(false);
  });
});

describe("queued messages with files", () => {
  const item: QueuedMessage = {
    client_id: "m1", conversation_id: 7, sender_id: 1, body: "", created_at: 1,
    attachments: [
      { key: "k1", name: "a.png", size: 2048, mime: "image/png", upload: upload(11) },
      { key: "k2", name: "b.txt", size: 5, mime: "text/plain" },
    ],
  };

  it("uploads only what the server does not have, and sends every id once all are uploaded", () => {
    expect(missingUploads(item).map((a) => a.key)).toEqual(["k2"]);
    const [done] = setUploaded([item], "m1", "k2", upload(12, { kind: "file", name: "b.txt" }));
    expect(missingUploads(done)).toEqual([]);
    expect(uploadIds(done)).toEqual([11, 12]);
    // The same client_id goes with it: a retry after a lost ack is the same message.
    expect(done.client_id).toBe("m1");
    expect(setUploaded([item], "other", "k2", upload(12))[0]).toBe(item);
  });

  it("keeps its files across a reload, and drops an item whose files are malformed", () => {
    const broken = { ...item, client_id: "m2", attachments: [{ key: 3 }] } as unknown as QueuedMessage;
    const notArray = { ...item, client_id: "m3", attachments: "k1" } as unknown as QueuedMessage;
    const parsed = parseQueue(serializeQueue([item, broken, notArray]), 1);
    expect(parsed).toEqual([item]);
    expect([...attachmentKeys(parsed)]).toEqual(["k1", "k2"]);
  });

  it("shows a pending message with its files, and none from the server yet", () => {
    const m = fromQueued(item);
    expect(m.id).toBeNull();
    expect(m.attachments).toEqual([]);
    expect(m.pendingAttachments).toEqual(item.attachments);
  });
});
