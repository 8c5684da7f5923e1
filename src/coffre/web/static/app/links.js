// Public links in the browser: making them (the owner), and opening them with no account
// (anyone with the URL) - src/coffre/client/links.py.
//
// A link URL is BASE/s/LINK_ID#KEY; KEY never reaches the server: browsers do not send
// the fragment, and this code sends only HKDF-Expand(KEY, "coffre/v1 link-auth") in the
// X-Coffre-Link-Auth header. For a password link there is no KEY in the URL: it comes
// from the password (Argon2id in the Web Worker, then HKDF; docs/crypto.md section 9).
// Opening a link checks what the server returns exactly as the owner's client would: the
// node key must open from the link envelope bound to the link id, the node id and its
// kind, and every name, key and version below must open from there.

import { IntegrityError } from "../errors.js";
import { fromB64, fromHex, hex } from "../crypto/bytes.js";
import * as ca from "../crypto/account.js";
import * as cl from "../crypto/links.js";
import * as cn from "../crypto/nodes.js";
import { LinkApi } from "./api.js";
import { Drive, Entry } from "./drive.js";

function kdfModel(p) {
  return { algorithm: "argon2id", time_cost: p.timeCost, memory_kib: p.memoryKib, lanes: p.lanes, salt: p.salt };
}

export function linkUrl(linkId, key = null) {
  const url = `${location.origin}/s/${linkId}`;
  return key ? `${url}#${cl.encodeKey(key)}` : url;
}

/** Make a link to `entry`; returns {info, url}. The URL carries the key unless the link
 * has a password. `expires`: seconds since the epoch, or null. */
export async function createLink(drive, entry, { password = null, expires = null } = {}) {
  if (!entry.parentId) throw new IntegrityError("the root folder cannot be shared by a link");
  const linkId = ca.newId();
  let linkKey;
  let kdf = null;
  if (password) {
    const params = ca.KdfParams.fresh();
    linkKey = await cl.passwordKey(password, params);
    kdf = kdfModel(params);
  } else {
    linkKey = cl.newLinkKey();
  }
  const envelope = await cl.wrap(linkKey, linkId, fromHex(entry.id), cn.KIND[entry.kind], entry.key);
  const info = await drive.api.createLink({
    id: hex(linkId), node_id: entry.id, envelope, auth: await cl.linkAuth(linkKey), kdf, expires,
  });
  return { info, url: linkUrl(hex(linkId), password ? null : linkKey) };
}

// -- the visitor's side ------------------------------------------------------------------------

/** The key of a password link, from its public facts (PublicLink) and the password. */
export function passwordLinkKey(pub, password) {
  const k = pub.kdf;
  return cl.passwordKey(password, new ca.KdfParams(k.time_cost, k.memory_kib, k.lanes, fromB64(k.salt)));
}

/** A public folder link's tree: a Drive whose root is the linked folder, read through the
 * link's routes; records are opened as the owner's client opens them. */
export class LinkDrive extends Drive {
  constructor(reader, root) {
    super(reader, null, { root });
  }

  records() {
    return this.api.allNodes();
  }

  async prepare() {
    /* nothing to know beforehand: no writers' signatures are checked through a link */
  }
}

/**
 * Prove the link key to the server and open the linked node. Returns {root (Entry), drive
 * (a LinkDrive for a folder, loaded; null for a file), reader}. A wrong key or password is
 * the server's 403 link_auth_failed.
 */
export async function openLink(reader, pub, linkKey) {
  reader.prove(await cl.linkAuth(linkKey));
  const answer = await reader.root();
  const record = answer.node;
  if (!record.parent_id || !record.meta || record.kind !== pub.kind) throw new IntegrityError("link");
  const kind = cn.KIND[record.kind];
  if (kind === undefined) throw new IntegrityError("link");
  const nodeId = fromHex(record.id);
  const nodeKey = await cl.unwrap(linkKey, fromHex(reader.linkId), nodeId, kind, fromB64(answer.envelope));
  const name = await cn.openMeta(nodeKey, nodeId, fromHex(record.parent_id), kind, fromB64(record.meta));
  let version = null;
  if (record.kind === "file") {
    if (!record.version) throw new IntegrityError("file version");
    version = await cn.openVersion(nodeKey, nodeId, fromHex(record.version.id), fromB64(record.version.envelope));
  }
  const root = new Entry({ id: record.id, parentId: record.parent_id, kind: record.kind, name, key: nodeKey, record, version });
  let drive = null;
  if (record.kind === "folder") {
    drive = new LinkDrive(reader, root);
    await drive.load();
  }
  return { root, drive, reader };
}

export { LinkApi };
