// The bytes of files not sent yet, by the attachment's random key: in memory while the page
// runs (with a preview for images), and in IndexedDB for the files of queued messages that
// the server does not have yet, so that they survive a reload as the queue does (localStorage
// keeps only their descriptions). IndexedDB may be missing or refuse (private windows): the
// files then last as long as the page, and a queued message whose file is gone says so.
//
// Previews are object URLs (blob:); when the page's Content-Security-Policy refuses those
// (img-src without blob:), the first refusal switches every preview to a data: URL.

interface Entry {
  blob: Blob;
  url?: string;
  dataUrl?: string;
}

const memory = new Map<string, Entry>();
let blobUrlsRefused = false;

const DB_NAME = "parley-files";
const STORE = "files";
let opened: Promise<IDBDatabase | null> | null = null;

function db(): Promise<IDBDatabase | null> {
  opened ??= new Promise((resolve) => {
    try {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => resolve(null);
      req.onblocked = () => resolve(null);
    } catch {
      resolve(null);
    }
  });
  return opened;
}

/** Runs one request on the store; resolves with its result, or null when anything fails. */
async function request<T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest<T>): Promise<T | null> {
  const d = await db();
  if (!d) return null;
  return new Promise((resolve) => {
    try {
      const tx = d.transaction(STORE, mode);
      const req = run(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result ?? null);
      tx.onerror = () => resolve(null);
      tx.onabort = () => resolve(null);
    } catch {
      resolve(null);
    }
  });
}

/** Keeps `blob` in memory under `key` (a draft's file). */
export function holdBlob(key: string, blob: Blob): void {
  if (!memory.has(key)) memory.set(key, { blob });
}

/** The file under `key` in memory (this page's), or null. */
export function heldBlob(key: string): Blob | null {
  return memory.get(key)?.blob ?? null;
}

/** Writes the file held under `key` to IndexedDB too (a queued file still to upload). */
export async function persistBlob(key: string): Promise<void> {
  const e = memory.get(key);
  if (e) await request("readwrite", (s) => s.put(e.blob, key));
}

/** The file under `key`: from memory, else from IndexedDB (after a reload); null when gone. */
export async function getBlob(key: string): Promise<Blob | null> {
  const held = heldBlob(key);
  if (held) return held;
  const stored = await request<unknown>("readonly", (s) => s.get(key));
  if (!(stored instanceof Blob)) return null;
  memory.set(key, { blob: stored });
  return stored;
}

/** Forgets `key` in memory (revoking its preview); `stored` also deletes it from IndexedDB. */
export function releaseBlob(key: string, stored: boolean): void {
  const e = memory.get(key);
  if (e?.url) URL.revokeObjectURL(e.url);
  memory.delete(key);
  if (stored) void request("readwrite", (s) => s.delete(key));
}

/** Deletes from IndexedDB every file whose key is not in `keep` (left by a crash, or by a
 *  queue that was emptied elsewhere); with an empty set, all of them (logging out). */
export async function sweepBlobs(keep: ReadonlySet<string>): Promise<void> {
  const keys = await request<IDBValidKey[]>("readonly", (s) => s.getAllKeys());
  for (const k of keys ?? []) if (typeof k !== "string" || !keep.has(k)) await request("readwrite", (s) => s.delete(k));
}

/** The preview of the image under `key` now: an object URL, the data: URL once object URLs
 *  were refused, or null (then ask `previewFallback`). */
export function previewUrl(key: string): string | null {
  const e = memory.get(key);
  if (!e) return null;
  if (e.dataUrl) return e.dataUrl;
  if (blobUrlsRefused) return null;
  e.url ??= URL.createObjectURL(e.blob);
  return e.url;
}

/** Reads a file as a data: URL (null when it cannot be read). */
export function readDataUrl(blob: Blob): Promise<string | null> {
  return new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(typeof reader.result === "string" ? reader.result : null);
    reader.onerror = () => resolve(null);
    reader.readAsDataURL(blob);
  });
}

const MAX_DATA_URL_BYTES = 8 * 1024 * 1024;

/** A data: URL preview for `key`; `refused`: an object URL just failed to load (the policy),
 *  so every later preview goes this way at once. Null for a file too large to inline. */
export async function previewFallback(key: string, refused: boolean): Promise<string | null> {
  if (refused) blobUrlsRefused = true;
  const e = memory.get(key) ?? (await getBlob(key).then(() => memory.get(key)));
  if (!e || e.blob.size > MAX_DATA_URL_BYTES) return null;
  e.dataUrl ??= (await readDataUrl(e.blob)) ?? undefined;
  return e.dataUrl ?? null;
}
