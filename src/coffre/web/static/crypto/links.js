// Public links: a node key handed to whoever holds a URL, and nobody else
// (src/coffre/crypto/links.py). The URL is https://HOST/s/LINK_ID#LK, the link key LK in
// unpadded URL-safe base64 in the fragment, which browsers never send (SECURITY.md A12).
// For a password link, LK comes from the password:
//
//   stretched = Argon2id(password, salt, t, m, p)
//   LK        = HKDF-SHA256(stretched, "", "coffre/v1 link-password" 0x00 params, 32)
//   envelope  = seal(LK, "link-key", link_id || node_id || kind, node key)
//   link auth = HKDF-Expand(LK, "coffre/v1 link-auth", 32)   (the server keeps its hash)

import { IntegrityError, UsageError } from "../errors.js";
import { b64, concat, fromB64, u8, utf8 } from "./bytes.js";
import { stretch } from "./account.js";
import { Purpose, open, seal } from "./envelope.js";
import * as p from "./primitives.js";

export function newLinkKey() {
  return p.randomBytes(32);
}

export function encodeKey(linkKey) {
  return b64(linkKey).replace(/=+$/, "");
}

export function decodeKey(text) {
  const bad = new UsageError("that link key is not valid (check the part after '#')");
  const t = text.trim();
  if (t.length !== 43 || !/^[A-Za-z0-9_-]+$/.test(t)) throw bad;
  const key = fromB64(t);
  if (key.length !== 32 || encodeKey(key) !== t) throw bad;
  return key;
}

/** The link key of a password link. */
export async function passwordKey(password, params, { floor = null } = {}) {
  const stretched = await stretch(password, params, { floor });
  return p.hkdf(stretched, concat(utf8("coffre/v1 link-password\x00"), params.encode()), 32);
}

/** What a visitor sends to show it holds the link key. */
export function linkAuth(linkKey) {
  return p.hkdfExpand(linkKey, utf8("coffre/v1 link-auth"), 32);
}

function ctx(linkId, nodeId, kind) {
  return concat(linkId, nodeId, u8(kind));
}

export function wrap(linkKey, linkId, nodeId, kind, nodeKey) {
  return seal(linkKey, Purpose.LINK_KEY, ctx(linkId, nodeId, kind), nodeKey);
}

export async function unwrap(linkKey, linkId, nodeId, kind, envelope) {
  const key = await open(linkKey, Purpose.LINK_KEY, ctx(linkId, nodeId, kind), envelope, "link");
  if (key.length !== 32) throw new IntegrityError("link");
  return key;
}

// -- upload-only links (file requests) -----------------------------------------------------------
//
// The URL's fragment carries the request's X25519 public key, not a link key. An uploader
// encrypts each new file's node key to it and keeps nothing that opens the file afterwards:
//
//   envelope = 0x01 || E(32) || nonce(12) || commitment(32) || AES-256-GCM(node key)(48)
//   okm      = HKDF-SHA256(X25519(e, public), salt = E || public,
//                          info = "coffre/v1 request" 0x00 || AD, 64);  AD = 0x01 || link_id || node_id
//   AES key  = okm[0:32], commitment = okm[32:64]

export const REQUEST_SUITE = 0x01;
export const REQUEST_ENVELOPE_SIZE = 1 + 32 + 12 + 32 + 48;
const REQUEST_INFO = "coffre/v1 request\x00";

async function requestKeys(shared, ephemeral, publicKey, ad) {
  const okm = await p.hkdf(shared, concat(utf8(REQUEST_INFO), ad), 64, concat(ephemeral, publicKey));
  return { aead: new p.Aead(okm.slice(0, 32)), commitment: okm.slice(32) };
}

/** A file's node key, encrypted by an uploader to the request's public key.
 * (`ephemeralPrivate` and `nonce` are for known-answer vectors only: leave them out.) */
export async function sealToRequest(publicKey, linkId, nodeId, nodeKey, { ephemeralPrivate = p.x25519Generate(), nonce = p.randomBytes(p.NONCE_SIZE) } = {}) {
  const ephemeral = await p.x25519Public(ephemeralPrivate);
  const ad = concat(u8(REQUEST_SUITE), linkId, nodeId);
  const { aead, commitment } = await requestKeys(
    await p.x25519Shared(ephemeralPrivate, publicKey), ephemeral, publicKey, ad);
  return concat(u8(REQUEST_SUITE), ephemeral, nonce, commitment, await aead.encrypt(nonce, nodeKey, ad));
}

/** The owner's side: the node key out of an uploader's envelope. */
export async function openFromRequest(privateKey, linkId, nodeId, envelope) {
  const what = "file received through a request";
  if (envelope.length !== REQUEST_ENVELOPE_SIZE || envelope[0] !== REQUEST_SUITE) throw new IntegrityError(what);
  const ephemeral = envelope.subarray(1, 33);
  const nonce = envelope.subarray(33, 45);
  const commitment = envelope.subarray(45, 77);
  const ad = concat(u8(REQUEST_SUITE), linkId, nodeId);
  let shared;
  try {
    shared = await p.x25519Shared(privateKey, ephemeral);
  } catch {
    throw new IntegrityError(what);
  }
  const keys = await requestKeys(shared, ephemeral, await p.x25519Public(privateKey), ad);
  if (!p.equal(commitment, keys.commitment)) throw new IntegrityError(what);
  try {
    return await keys.aead.decrypt(nonce, envelope.subarray(77), ad);
  } catch {
    throw new IntegrityError(what);
  }
}
