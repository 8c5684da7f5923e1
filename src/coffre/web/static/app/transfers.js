// Uploads and downloads: read, encrypt and send, or fetch, decrypt and write, chunk by
// chunk, with memory bounded by a small window (src/coffre/client/upload.py, download.py).
//
// Every version written is signed by this account (docs/crypto.md section 10): small files
// in their batch, larger ones at commit. Uploads read File slices one chunk at a time. Files of one chunk go many per request
// (POST /v1/files/small); larger ones go through POST /v1/uploads, ranged chunk PUTs and a
// commit. A chunk that is sent again after an error is the very same ciphertext (it is kept
// until the server has it), so a nonce never covers two plaintexts (SECURITY.md A16).
//
// Downloads authenticate each chunk before a byte of it is written (A15), compute the
// number of chunks from the authenticated size, check the content hash at the end, and
// write to the origin-private file system (OPFS): the file is handed to the browser's
// download only once all of it has checked out, and a failed download leaves nothing.
// Where OPFS is missing, the plaintext is gathered in memory (small files only).

import { Cancelled, IntegrityError, LocalError } from "../errors.js";
import { fromB64, fromHex, hex } from "../crypto/bytes.js";
import * as ca from "../crypto/account.js";
import * as cn from "../crypto/nodes.js";
import * as cs from "../crypto/stream.js";
import { equal } from "../crypto/primitives.js";
import { guessType } from "./format.js";

export const CHUNK_SIZE = cs.DEFAULT_CHUNK_SIZE;
const RANGE_BYTES = 4 * 1024 * 1024;
const WINDOW = 3;
const SMALL_BATCH_FILES = 500;
const SMALL_BATCH_BYTES = 2 * 1024 * 1024;
const MEMORY_LIMIT = 512 * 1024 * 1024;

/** One user-visible transfer (an upload of some files, or a download): progress, speed,
 * pause, resume, cancel. Listeners are told of every change. */
export class Transfer {
  constructor(kind, label, total) {
    this.id = crypto.randomUUID();
    this.kind = kind;
    this.label = label;
    this.total = total;
    this.done = 0;
    this.state = "queued";
    this.error = null;
    this.started = performance.now();
    this.samples = [];
    this.controller = new AbortController();
    this._resume = null;
    this.listeners = new Set();
  }

  get signal() {
    return this.controller.signal;
  }

  notify() {
    for (const fn of this.listeners) fn(this);
  }

  progress(n) {
    this.done += n;
    const now = performance.now();
    this.samples.push([now, this.done]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 3000) this.samples.shift();
    this.notify();
  }

  /** Bytes per second over the last few seconds. */
  get speed() {
    if (this.samples.length < 2 || this.state !== "running") return 0;
    const [t0, d0] = this.samples[0];
    const [t1, d1] = this.samples[this.samples.length - 1];
    return t1 > t0 ? ((d1 - d0) * 1000) / (t1 - t0) : 0;
  }

  setState(state, error = null) {
    this.state = state;
    this.error = error;
    this.notify();
  }

  pause() {
    if (this.state !== "running") return;
    this._paused = new Promise((resolve) => { this._resume = resolve; });
    this.samples = [];
    this.setState("paused");
  }

  resume() {
    if (this.state !== "paused") return;
    const resolve = this._resume;
    this._paused = null;
    this._resume = null;
    this.setState("running");
    resolve();
  }

  cancel() {
    if (["done", "failed", "cancelled"].includes(this.state)) return;
    this.controller.abort();
    const resolve = this._resume;
    this._paused = null;
    this.setState("cancelled");
    if (resolve) resolve();
  }

  /** Wait while paused; throw Cancelled once cancelled. Called between chunks. */
  async gate() {
    while (this._paused) await this._paused;
    if (this.signal.aborted) throw new Cancelled();
  }

  /** Run `work(this)`, recording how it ended. */
  async run(work) {
    this.setState("running");
    try {
      const result = await work(this);
      this.setState("done");
      return result;
    } catch (error) {
      if (error instanceof Cancelled || this.signal.aborted) {
        this.setState("cancelled");
        return null;
      }
      this.setState("failed", error);
      throw error;
    }
  }
}

/** Bytes `start` to `end` of a File, or a LocalError saying it could not be read. */
export async function readSlice(file, start, end) {
  try {
    return new Uint8Array(await file.slice(start, end).arrayBuffer());
  } catch {
    throw new LocalError(`${file.name}: the file could not be read (was it changed or moved?)`);
  }
}

// -- uploads -------------------------------------------------------------------------------------

export class Uploader {
  constructor(drive, { chunkSize = CHUNK_SIZE } = {}) {
    this.drive = drive;
    this.api = drive.api;
    this.chunkSize = chunkSize;
  }

  /** Find or make the folder `parts` below `parent`. */
  async folder(parent, parts) {
    let folder = parent;
    for (const part of parts) {
      let found = this.drive.childNamed(folder, part);
      if (found && !found.isFolder) throw new LocalError(`${part}: a file with this name is in the way`);
      if (!found) found = await this.drive.mkdir(folder, part);
      folder = found;
    }
    return folder;
  }

  /** Upload `items` ({file, path}) into `parent`: `path` may name folders ("a/b/c.txt"),
   * which are made as needed. A file whose name exists becomes a new version of it. */
  async upload(parent, items, transfer) {
    const small = [];
    for (const { file, path } of items) {
      await transfer.gate();
      const parts = path.split("/").filter((p) => p && p !== ".");
      const name = cn.checkName(parts.pop());
      const folder = await this.folder(parent, parts);
      const existing = this.drive.childNamed(folder, name);
      if (existing && existing.isFolder) throw new LocalError(`${name}: a folder with this name is in the way`);
      if (file.size <= this.chunkSize) small.push({ file, folder, name, existing });
      else await this.putLarge(file, folder, name, existing, transfer);
    }
    let batch = [];
    let bytes = 0;
    for (const job of small) {
      if (batch.length && (batch.length >= SMALL_BATCH_FILES || bytes + job.file.size > SMALL_BATCH_BYTES)) {
        await this.putSmall(batch, transfer);
        batch = [];
        bytes = 0;
      }
      batch.push(job);
      bytes += job.file.size;
    }
    if (batch.length) await this.putSmall(batch, transfer);
    await this.drive.load();
  }

  async target(folder, name, existing) {
    if (existing) return { node: null, nodeId: existing.id, nodeKey: existing.key };
    const { request, key } = await this.drive.newNode(folder, name, cn.Kind.FILE);
    return { node: { ...request, name_tag: hex(request.name_tag) }, nodeId: request.id, nodeKey: key };
  }

  async putSmall(jobs, transfer) {
    await transfer.gate();
    const files = [];
    for (const { file, folder, name, existing } of jobs) {
      const data = await readSlice(file, 0, file.size);
      if (data.length !== file.size) throw new LocalError(`${file.name}: the file changed while it was read`);
      const contentKey = ca.newKey();
      const contentId = ca.newId();
      const versionId = ca.newId();
      const { header, chunks } = await cs.encryptAll(contentKey, contentId, data, this.chunkSize);
      const { node, nodeId, nodeKey } = await this.target(folder, name, existing);
      const info = {
        contentKey,
        contentId,
        size: data.length,
        mtimeMs: file.lastModified,
        mediaType: file.type || guessType(name),
        contentHash: await cs.contentHash([await cs.chunkDigest(data)]),
        chunkSize: this.chunkSize,
      };
      const envelope = await cn.sealVersion(nodeKey, fromHex(nodeId), versionId, info);
      files.push({
        node,
        node_id: node ? null : nodeId,
        version: {
          id: hex(versionId),
          header,
          content_id: hex(contentId),
          chunk_size: this.chunkSize,
          chunk_count: 1,
          size: chunks[0].length,
        },
        envelope,
        signature: await this.drive.signVersion(fromHex(nodeId), versionId, envelope, header),
        data: chunks[0],
      });
    }
    await this.api.smallFiles(files, transfer.signal);
    transfer.progress(jobs.reduce((sum, j) => sum + j.file.size, 0));
  }

  async putLarge(file, folder, name, existing, transfer) {
    const size = file.size;
    const contentKey = ca.newKey();
    const contentId = ca.newId();
    const versionId = ca.newId();
    const uploadId = hex(versionId);
    const cipher = await cs.ContentCipher.create(contentKey, contentId, this.chunkSize);
    const n = cs.chunkCount(size, this.chunkSize);
    const { node, nodeId, nodeKey } = await this.target(folder, name, existing);
    await this.api.startUpload(
      {
        node,
        node_id: node ? null : nodeId,
        version: {
          id: uploadId,
          header: cipher.header.encode(),
          content_id: hex(contentId),
          chunk_size: this.chunkSize,
          chunk_count: n,
          size: cs.ciphertextSize(size, this.chunkSize),
        },
      },
      transfer.signal,
    );
    try {
      const digests = new Array(n);
      const perRequest = Math.max(1, Math.floor(RANGE_BYTES / this.chunkSize));
      const inFlight = new Set();
      let failure = null;
      for (let first = 0; first < n && !failure; first += perRequest) {
        await transfer.gate();
        const count = Math.min(perRequest, n - first);
        const start = first * this.chunkSize;
        const end = Math.min(size, (first + count) * this.chunkSize);
        const plaintext = await readSlice(file, start, end);
        if (plaintext.length !== end - start) throw new LocalError(`${file.name}: the file changed while it was read`);
        const sealed = [];
        for (let i = 0; i < count; i++) {
          const index = first + i;
          const piece = plaintext.subarray(i * this.chunkSize, Math.min(plaintext.length, (i + 1) * this.chunkSize));
          digests[index] = await cs.chunkDigest(piece);
          sealed.push(await cipher.encryptChunk(index, piece, index === n - 1));
        }
        const body = new Blob(sealed);
        const send = (count === 1
          ? this.api.putChunk(uploadId, first, body, transfer.signal)
          : this.api.putChunks(uploadId, first, body, transfer.signal)
        ).then(
          () => transfer.progress(plaintext.length),
          (error) => { failure = failure || error; },
        );
        inFlight.add(send);
        send.finally(() => inFlight.delete(send));
        while (inFlight.size >= WINDOW) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      if (failure) throw failure;
      await transfer.gate();
      const info = {
        contentKey,
        contentId,
        size,
        mtimeMs: file.lastModified,
        mediaType: file.type || guessType(name),
        contentHash: await cs.contentHash(digests),
        chunkSize: this.chunkSize,
      };
      const envelope = await cn.sealVersion(nodeKey, fromHex(nodeId), versionId, info);
      const signature = await this.drive.signVersion(fromHex(nodeId), versionId, envelope, cipher.header.encode());
      await this.api.commitUpload(uploadId, envelope, signature, transfer.signal);
    } catch (error) {
      this.api.cancelUpload(uploadId).catch(() => {});
      throw error;
    }
  }
}

// -- downloads ---------------------------------------------------------------------------------

/**
 * Pass the plaintext of one version to `write` chunk by chunk, each after it is
 * authenticated; the content hash and size are checked after the last chunk. `api` is
 * anything with getChunks(versionId, first, count, signal): the account's Api, or a public
 * link's LinkApi.
 */
export async function streamVersion(api, record, info, write, transfer = null) {
  const cipher = await cs.ContentCipher.forDecryption(info.contentKey, info.contentId, fromB64(record.header), info.chunkSize);
  const n = cs.chunkCount(info.size, cipher.chunkSize);
  const perRequest = Math.max(1, Math.min(64, Math.floor(RANGE_BYTES / cipher.chunkSize)));
  const signal = transfer ? transfer.signal : undefined;
  const fetchRun = async (first) => {
    const count = Math.min(perRequest, n - first);
    const sizes = [];
    for (let i = first; i < first + count; i++) sizes.push(cs.chunkPlaintextSize(info.size, cipher.chunkSize, i) + cs.TAG_SIZE);
    const data = await api.getChunks(record.id, first, count, signal);
    if (data.length !== sizes.reduce((a, b) => a + b, 0)) throw new IntegrityError("file content");
    return { first, sizes, data };
  };
  const digests = [];
  const pending = [];
  let next = 0;
  while (next < n || pending.length) {
    while (next < n && pending.length < WINDOW) {
      const p = fetchRun(next);
      p.catch(() => {}); // awaited below, in order
      pending.push(p);
      next += perRequest;
    }
    if (transfer) await transfer.gate();
    const { first, sizes, data } = await pending.shift();
    let offset = 0;
    for (let i = 0; i < sizes.length; i++) {
      const index = first + i;
      const plaintext = await cipher.decryptChunk(index, data.subarray(offset, offset + sizes[i]), index === n - 1);
      offset += sizes[i];
      digests.push(await cs.chunkDigest(plaintext));
      await write(plaintext);
      if (transfer) transfer.progress(plaintext.length);
    }
  }
  if (!equal(await cs.contentHash(digests), info.contentHash)) throw new IntegrityError("file content");
}

/** Decrypt a whole (small) file into memory, e.g. for a preview. */
export async function readVersion(api, record, info, transfer = null) {
  if (info.size > MEMORY_LIMIT) throw new LocalError("this file is too large to open in the browser; download it");
  const parts = [];
  await streamVersion(api, record, info, (p) => parts.push(p), transfer);
  return new Blob(parts, { type: info.mediaType || "application/octet-stream" });
}

const DOWNLOADS = "coffre-downloads";

async function opfsFolder() {
  if (!navigator.storage || !navigator.storage.getDirectory) return null;
  try {
    const root = await navigator.storage.getDirectory();
    return await root.getDirectoryHandle(DOWNLOADS, { create: true });
  } catch {
    return null;
  }
}

/** Remove what earlier downloads left in the origin-private file system. */
export async function cleanDownloads() {
  try {
    const root = await navigator.storage.getDirectory();
    await root.removeEntry(DOWNLOADS, { recursive: true });
  } catch {
    /* nothing to clean */
  }
}

/**
 * A place to write a download: `write(bytes)`, then `finish()` gives a File (on disk in
 * OPFS, or a Blob in memory), or `abort()` removes everything written.
 */
export async function openSink(size) {
  const folder = await opfsFolder();
  if (folder) {
    const name = `${crypto.randomUUID()}.part`;
    const handle = await folder.getFileHandle(name, { create: true });
    const writable = await handle.createWritable();
    return {
      write: (bytes) => writable.write(bytes),
      finish: async () => { await writable.close(); return handle.getFile(); },
      abort: async () => {
        try { await writable.abort(); } catch { /* already closed */ }
        try { await folder.removeEntry(name); } catch { /* already gone */ }
      },
    };
  }
  if (size > MEMORY_LIMIT) {
    throw new LocalError("this browser offers no private file system: files this large cannot be downloaded here");
  }
  const parts = [];
  return {
    write: (bytes) => { parts.push(bytes); },
    finish: async () => new Blob(parts),
    abort: async () => { parts.length = 0; },
  };
}

/** Hand a verified file to the browser's download (it is saved under `name`). */
export function saveAs(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.rel = "noopener";
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10 * 60 * 1000);
}
