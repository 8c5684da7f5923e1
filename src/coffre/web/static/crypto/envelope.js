// The sealed envelope: every small secret Coffre stores is one of these
// (src/coffre/crypto/envelope.py; docs/crypto.md section 2).
//
//   offset  size  field
//   0       1     format version, 0x01
//   1       12    nonce, random
//   13      32    commitment = HKDF-Expand(K, "coffre/v1 " + purpose, 64)[32:64]
//   45      n+16  AES-256-GCM(key = HKDF-Expand(...)[0:32], nonce, plaintext, AD)
//
//   AD = 0x01 || "coffre/v1 " + purpose || 0x00 || context
//
// The commitment is compared, in constant time, before any decryption (SECURITY.md A6).
// A wrong key, a flipped bit, a swapped context or a bad layout all throw the same
// IntegrityError.

import { IntegrityError } from "../errors.js";
import { concat, hex, utf8 } from "./bytes.js";
import * as p from "./primitives.js";

export const VERSION = 0x01;
export const HEADER_SIZE = 1 + p.NONCE_SIZE + 32;
export const OVERHEAD = HEADER_SIZE + p.TAG_SIZE;

/** What an envelope holds. The value is the label mixed into its subkey and AD. */
export const Purpose = Object.freeze({
  MASTER_KEY: "master-key",
  IDENTITY_KEYS: "identity-keys",
  ROOT_KEY: "root-key",
  NODE_KEY: "node-key",
  NODE_META: "node-meta",
  VERSION: "version",
  LINK_KEY: "link-key",
  REQUEST_KEY: "request-key",
  THUMBNAIL: "thumbnail",
  TREE_COPY: "tree-copy", // the command line's kept copy of its tree (docs/crypto.md 11)
});

const PURPOSES = new Set(Object.values(Purpose));

export function label(purpose) {
  if (!PURPOSES.has(purpose)) throw new TypeError(`unknown purpose ${purpose}`);
  return utf8(`coffre/v1 ${purpose}`);
}

const CACHE_SIZE = 4096;
const subkeyCache = new Map();

function subkeys(key, purpose) {
  const id = `${purpose} ${hex(key)}`;
  let entry = subkeyCache.get(id);
  if (entry === undefined) {
    entry = p.hkdfExpand(key, label(purpose), 64).then((okm) => ({
      aead: new p.Aead(okm.subarray(0, 32)),
      commitment: okm.slice(32, 64),
    }));
    if (subkeyCache.size >= CACHE_SIZE) subkeyCache.delete(subkeyCache.keys().next().value);
    subkeyCache.set(id, entry);
  }
  return entry;
}

export function associatedData(purpose, context) {
  return concat(Uint8Array.of(VERSION), label(purpose), Uint8Array.of(0), context);
}

/** Seal `plaintext`. `nonce` is for test vectors only; leave it to the default. */
export async function seal(key, purpose, context, plaintext, { nonce } = {}) {
  if (key.length !== p.KEY_SIZE) throw new RangeError("envelope keys are 32 bytes");
  const { aead, commitment } = await subkeys(key, purpose);
  const n = nonce || p.randomBytes(p.NONCE_SIZE);
  const sealed = await aead.encrypt(n, plaintext, associatedData(purpose, context));
  return concat(Uint8Array.of(VERSION), n, commitment, sealed);
}

/** Open an envelope sealed by seal(); `what` names it in the error message. */
export async function open(key, purpose, context, envelope, what) {
  if (key.length !== p.KEY_SIZE || envelope.length < OVERHEAD || envelope[0] !== VERSION) {
    throw new IntegrityError(what);
  }
  const { aead, commitment } = await subkeys(key, purpose);
  if (!p.equal(envelope.subarray(13, HEADER_SIZE), commitment)) throw new IntegrityError(what);
  try {
    return await aead.decrypt(
      envelope.subarray(1, 13),
      envelope.subarray(HEADER_SIZE),
      associatedData(purpose, context),
    );
  } catch (error) {
    if (error instanceof p.AuthenticationFailed) throw new IntegrityError(what);
    throw error;
  }
}
