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
import { normalizePassword } from "./account.js";
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
  params.check(floor);
  const stretched = await p.argon2id(normalizePassword(password), params.salt, {
    timeCost: params.timeCost,
    memoryKib: params.memoryKib,
    lanes: params.lanes,
  });
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
