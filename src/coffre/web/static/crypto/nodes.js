// Folders and files: their keys, their names, their versions
// (src/coffre/crypto/nodes.py; docs/crypto.md sections 5 and 6).
//
//   node key   = seal(parent key, "node-key",  node_id || parent_id || kind, key)
//   node meta  = seal(node key,   "node-meta", node_id || parent_id || kind, padded JSON)
//   version    = seal(node key,   "version",   node_id || version_id,
//                     content_key(32) || content_id(16) || size u64 || mtime_ms i64
//                     || chunk_size u32 || content_hash(32) || type_length u8 || media type)
//   name tag   = HMAC-SHA256(HKDF-Expand(parent key, "coffre/v1 name-tag", 32), NFC name)[:16]
//
// Binding ids and kind into the associated data stops the server from swapping names or
// keys between nodes, moving a node, or turning a file into a folder (A7, A8); sealing
// under the parent's key stops it from injecting nodes (A9).

import { IntegrityError, UsageError } from "../errors.js";
import { concat, fromUtf8, hex, i64, u32, u64, u8, utf8, view } from "./bytes.js";
import { Purpose, open, seal } from "./envelope.js";
import * as p from "./primitives.js";

export const MAX_NAME_BYTES = 255;
const FORBIDDEN = /[/\\\x00-\x1f\x7f]/;
const PAD = 32;

export const Kind = Object.freeze({ FOLDER: 0x01, FILE: 0x02 });
export const KIND = Object.freeze({ folder: Kind.FOLDER, file: Kind.FILE });

function ctx(nodeId, parentId, kind) {
  return concat(nodeId, parentId, u8(kind));
}

function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Compact JSON with sorted keys, UTF-8, padded with spaces to a multiple of 32 bytes. */
export function packJson(obj) {
  const raw = utf8(canonical(obj));
  const padded = new Uint8Array(raw.length + ((PAD - (raw.length % PAD)) % PAD)).fill(0x20);
  padded.set(raw);
  return padded;
}

export function unpackJson(raw, what) {
  let obj;
  try {
    obj = JSON.parse(fromUtf8(raw));
  } catch {
    throw new IntegrityError(what);
  }
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw new IntegrityError(what);
  return obj;
}

/** Return `name` in NFC, or throw UsageError if it cannot be a file or folder name. */
export function checkName(name) {
  const nfc = name.normalize("NFC");
  if (nfc === "" || nfc === "." || nfc === "..") {
    throw new UsageError(`"${nfc}" is not a valid name`);
  }
  if (FORBIDDEN.test(nfc)) {
    throw new UsageError(`"${nfc}" is not a valid name: no slashes or control characters`);
  }
  const length = utf8(nfc).length;
  if (length > MAX_NAME_BYTES) {
    throw new UsageError(`name too long (${length} bytes, at most ${MAX_NAME_BYTES})`);
  }
  return nfc;
}

// -- node keys -------------------------------------------------------------------------------

export function wrapNodeKey(parentKey, nodeId, parentId, kind, nodeKey) {
  return seal(parentKey, Purpose.NODE_KEY, ctx(nodeId, parentId, kind), nodeKey);
}

export async function unwrapNodeKey(parentKey, nodeId, parentId, kind, wrapped) {
  const key = await open(parentKey, Purpose.NODE_KEY, ctx(nodeId, parentId, kind), wrapped, "node key");
  if (key.length !== 32) throw new IntegrityError("node key");
  return key;
}

// -- names -------------------------------------------------------------------------------------

export function sealMeta(nodeKey, nodeId, parentId, kind, name) {
  return seal(nodeKey, Purpose.NODE_META, ctx(nodeId, parentId, kind), packJson({ name: checkName(name) }));
}

/** The node's name, authenticated; a name that could escape a folder is refused. */
export async function openMeta(nodeKey, nodeId, parentId, kind, sealed) {
  const what = "file or folder name";
  const raw = await open(nodeKey, Purpose.NODE_META, ctx(nodeId, parentId, kind), sealed, what);
  const name = unpackJson(raw, what).name;
  if (typeof name !== "string") throw new IntegrityError(what);
  try {
    return checkName(name);
  } catch {
    throw new IntegrityError(what);
  }
}

const tagKeys = new Map();

function nameTagKey(parentKey) {
  const id = hex(parentKey);
  let key = tagKeys.get(id);
  if (key === undefined) {
    key = p.hkdfExpand(parentKey, utf8("coffre/v1 name-tag"), 32);
    if (tagKeys.size >= 4096) tagKeys.delete(tagKeys.keys().next().value);
    tagKeys.set(id, key);
  }
  return key;
}

export async function nameTag(parentKey, name) {
  const mac = await p.hmacSha256(await nameTagKey(parentKey), utf8(checkName(name)));
  return mac.slice(0, 16);
}

// -- versions ----------------------------------------------------------------------------------

const VERSION_FIXED = 32 + 16 + 8 + 8 + 4 + 32 + 1;

/**
 * What a version envelope holds: {contentKey, contentId, size, mtimeMs, mediaType,
 * contentHash, chunkSize}.
 */
export function sealVersion(nodeKey, nodeId, versionId, info) {
  let mediaType = utf8(info.mediaType);
  if (mediaType.length > 255) mediaType = mediaType.slice(0, 255);
  const plaintext = concat(
    info.contentKey,
    info.contentId,
    u64(info.size),
    i64(info.mtimeMs),
    u32(info.chunkSize),
    info.contentHash,
    u8(mediaType.length),
    mediaType,
  );
  return seal(nodeKey, Purpose.VERSION, concat(nodeId, versionId), plaintext);
}

export async function openVersion(nodeKey, nodeId, versionId, sealed) {
  const what = "file version";
  const raw = await open(nodeKey, Purpose.VERSION, concat(nodeId, versionId), sealed, what);
  if (raw.length < VERSION_FIXED) throw new IntegrityError(what);
  const v = view(raw);
  const size = v.getBigUint64(48);
  const mtime = v.getBigInt64(56);
  const chunkSize = v.getUint32(64);
  const typeLength = raw[100];
  const end = VERSION_FIXED + typeLength;
  if (raw.length < end || chunkSize === 0 || size > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new IntegrityError(what);
  }
  let mediaType;
  try {
    mediaType = fromUtf8(raw.subarray(VERSION_FIXED, end));
  } catch {
    throw new IntegrityError(what);
  }
  return Object.freeze({
    contentKey: raw.slice(0, 32),
    contentId: raw.slice(32, 48),
    size: Number(size),
    mtimeMs: Number(mtime),
    chunkSize,
    contentHash: raw.slice(68, 100),
    mediaType,
  });
}

// -- thumbnails --------------------------------------------------------------------------------

export const THUMBNAIL_MAX_BYTES = 64 * 1024;

/** A small preview image of one version, sealed under the file's node key and bound to the
 * node and the version (src/coffre/crypto/nodes.py). */
export function sealThumbnail(nodeKey, nodeId, versionId, image, { nonce } = {}) {
  if (image.length > THUMBNAIL_MAX_BYTES) throw new RangeError(`thumbnails are at most ${THUMBNAIL_MAX_BYTES} bytes`);
  return seal(nodeKey, Purpose.THUMBNAIL, concat(nodeId, versionId), image, nonce ? { nonce } : {});
}

export async function openThumbnail(nodeKey, nodeId, versionId, sealed) {
  const image = await open(nodeKey, Purpose.THUMBNAIL, concat(nodeId, versionId), sealed, "thumbnail");
  if (image.length > THUMBNAIL_MAX_BYTES) throw new IntegrityError("thumbnail");
  return image;
}
