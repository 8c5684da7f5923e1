// File content: AES-256-GCM in the STREAM construction, one fresh key per file version
// (src/coffre/crypto/stream.py; docs/crypto.md section 6).
//
//   okm        = HKDF-Expand-SHA256(CK, "coffre/v1 content", 64)
//   chunk key  = okm[0:32]
//   commitment = okm[32:64]
//   header     = 0x01 || chunk_size u32 || commitment                     (37 bytes)
//   nonce_i    = 0x000000 || i u64 || last (0x01 for i = n-1, else 0x00)
//   AD         = 0x01 || "coffre/v1 content" || 0x00 || content_id || header
//   chunk_i    = AES-256-GCM(chunk key, nonce_i, plaintext_i, AD)
//
// The commitment is checked before any chunk is decrypted (A6); the index and final flag
// in the nonce make reordering, dropping, truncating or extending chunks an error (A5);
// each chunk is authenticated before a byte of it is released (A15).

import { IntegrityError } from "../errors.js";
import { concat, u32, u64, utf8, view } from "./bytes.js";
import * as p from "./primitives.js";

export const HEADER_VERSION = 0x01;
export const HEADER_SIZE = 37;
export const TAG_SIZE = p.TAG_SIZE;
export const DEFAULT_CHUNK_SIZE = 1 << 20;
export const MAX_CHUNK_SIZE = 1 << 26;
const LABEL = utf8("coffre/v1 content");
const WHAT = "file content";

export function chunkCount(size, chunkSize) {
  return Math.max(1, Math.ceil(size / chunkSize));
}

export function ciphertextSize(size, chunkSize) {
  return size + TAG_SIZE * chunkCount(size, chunkSize);
}

export function chunkPlaintextSize(size, chunkSize, index) {
  const n = chunkCount(size, chunkSize);
  if (!(index >= 0 && index < n)) throw new RangeError(`chunk index ${index}`);
  return index < n - 1 ? chunkSize : size - chunkSize * (n - 1);
}

function nonce(index, last) {
  return concat(new Uint8Array(3), u64(index), Uint8Array.of(last ? 1 : 0));
}

export class Header {
  constructor(chunkSize, commitment) {
    this.chunkSize = chunkSize;
    this.commitment = commitment;
  }

  encode() {
    return concat(Uint8Array.of(HEADER_VERSION), u32(this.chunkSize), this.commitment);
  }

  static decode(raw) {
    if (raw.length !== HEADER_SIZE || raw[0] !== HEADER_VERSION) throw new IntegrityError(WHAT);
    const chunkSize = view(raw).getUint32(1);
    if (!(chunkSize > 0 && chunkSize <= MAX_CHUNK_SIZE)) throw new IntegrityError(WHAT);
    return new Header(chunkSize, raw.slice(5));
  }
}

/**
 * Encrypts and decrypts the chunks of one version's content. Build it with
 * `await ContentCipher.create(...)` to encrypt, or `await ContentCipher.forDecryption(...)`,
 * which checks the header's version, chunk size and key commitment first.
 */
export class ContentCipher {
  constructor(aead, header, ad) {
    this._aead = aead;
    this.header = header;
    this._ad = ad;
  }

  static async create(contentKey, contentId, chunkSize) {
    if (contentKey.length !== 32 || contentId.length !== 16) {
      throw new RangeError("content keys are 32 bytes and content ids 16");
    }
    if (!(chunkSize > 0 && chunkSize <= MAX_CHUNK_SIZE)) {
      throw new RangeError(`chunk size must be 1..${MAX_CHUNK_SIZE}`);
    }
    const okm = await p.hkdfExpand(contentKey, LABEL, 64);
    const header = new Header(chunkSize, okm.slice(32));
    const ad = concat(Uint8Array.of(HEADER_VERSION), LABEL, Uint8Array.of(0), contentId, header.encode());
    return new ContentCipher(new p.Aead(okm.subarray(0, 32)), header, ad);
  }

  /** Check the header before anything is fetched or decrypted: its commitment, and its
   * chunk size against `chunkSize` from the (authenticated) version record. */
  static async forDecryption(contentKey, contentId, header, chunkSize = null) {
    const claimed = Header.decode(header);
    if (chunkSize !== null && claimed.chunkSize !== chunkSize) throw new IntegrityError(WHAT);
    const cipher = await ContentCipher.create(contentKey, contentId, claimed.chunkSize);
    if (!p.equal(cipher.header.commitment, claimed.commitment)) throw new IntegrityError(WHAT);
    return cipher;
  }

  get chunkSize() {
    return this.header.chunkSize;
  }

  encryptChunk(index, plaintext, last) {
    if (plaintext.length > this.chunkSize || (!last && plaintext.length !== this.chunkSize)) {
      throw new RangeError("only the last chunk may be short");
    }
    return this._aead.encrypt(nonce(index, last), plaintext, this._ad);
  }

  async decryptChunk(index, ciphertext, last) {
    let plaintext;
    try {
      plaintext = await this._aead.decrypt(nonce(index, last), ciphertext, this._ad);
    } catch (error) {
      if (error instanceof p.AuthenticationFailed) throw new IntegrityError(WHAT);
      throw error;
    }
    if (plaintext.length > this.chunkSize || (!last && plaintext.length !== this.chunkSize)) {
      throw new IntegrityError(WHAT);
    }
    return plaintext;
  }
}

/** SHA-256 of one plaintext chunk. */
export function chunkDigest(plaintext) {
  return p.sha256(plaintext);
}

/** The file's content hash: SHA-256 of its chunks' SHA-256 digests, in order. */
export function contentHash(digests) {
  return p.sha256(concat(...digests));
}

/** The header and every chunk of `data`, for small contents, tests and vectors. */
export async function encryptAll(contentKey, contentId, data, chunkSize = DEFAULT_CHUNK_SIZE) {
  const cipher = await ContentCipher.create(contentKey, contentId, chunkSize);
  const n = chunkCount(data.length, chunkSize);
  const chunks = [];
  for (let i = 0; i < n; i++) {
    chunks.push(await cipher.encryptChunk(i, data.subarray(i * chunkSize, (i + 1) * chunkSize), i === n - 1));
  }
  return { header: cipher.header.encode(), chunks };
}

/** Authenticated plaintext chunk by chunk; a stream without its final chunk fails. */
export async function* decryptAll(contentKey, contentId, header, chunks) {
  const cipher = await ContentCipher.forDecryption(contentKey, contentId, header);
  let pending = null;
  let index = 0;
  for await (const chunk of chunks) {
    if (pending !== null) {
      yield await cipher.decryptChunk(index, pending, false);
      index += 1;
    }
    pending = chunk;
  }
  if (pending === null) throw new IntegrityError(WHAT);
  yield await cipher.decryptChunk(index, pending, true);
}
