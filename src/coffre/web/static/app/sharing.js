// Shared folders in the browser: sharing, changing the level, revoking (with new keys),
// accepting, and working inside someone else's folder (src/coffre/client/sharing.py).
//
// - Sharing seals the folder key to the contact's *pinned* X25519 key and signs the share
//   (docs/crypto.md section 10); a contact whose keys changed is refused (A10), and one
//   whose fingerprint was never compared needs the user's explicit consent.
// - A share received is opened only if its owner's pinned key signed it for this account,
//   this folder and this access level (A11); the server keeps it pending until accepted.
// - Inside a shared folder, every record must carry a valid signature of a writer: the
//   owner, or a member whose share (signed by the owner) grants write or full access. A
//   read-only member, even helped by the server, cannot make files that others accept.
// - Taking access away (revoking, or lowering write to read) first gives the folder and
//   every folder below it new keys and signs everything below again, then drops or
//   replaces the member's share, then sends the other members shares of the new key.

import { CoffreError, Conflict, IntegrityError, NotFound, UsageError } from "../errors.js";
import { fromB64, fromHex, hex } from "../crypto/bytes.js";
import * as ca from "../crypto/account.js";
import * as cn from "../crypto/nodes.js";
import * as csh from "../crypto/shares.js";
import { Drive, Entry, checkSignatures, shareFacts, signedWriters } from "./drive.js";

export const LEVEL_NAMES = { read: "Read", write: "Read and write", full: "Full (also remove)" };

/** An accepted contact, by email address, as UserKeys. */
export async function contact(drive, email) {
  const wanted = email.trim().toLowerCase();
  for (const c of (await drive.api.contacts()).contacts) {
    if (c.email === wanted) return { user_id: c.user_id, email: c.email, public_keys: c.public_keys };
  }
  throw new NotFound(`${email} is not one of your contacts (invite them first)`);
}

// -- the owner's side ---------------------------------------------------------------------------

/**
 * Share `folder` (one of this account's) with `member` (UserKeys) at `access` ("read",
 * "write", "full"). Their keys must be the pinned ones, and verified unless
 * `allowUnverified`. Taking write access away renews the folder's keys first.
 */
export async function shareFolder(drive, given, member, access, { allowUnverified = false, renewing = false } = {}) {
  const folder = drive.get(given.id) || given; // the freshest entry: its key may have been renewed
  if (!folder.isFolder || !folder.parentId) throw new UsageError("only folders (not the root) can be shared");
  const pins = drive.pins;
  const identity = await pins.check(member);
  const current = (await drive.api.shares()).outgoing
    .filter((s) => s.folder_id === folder.id && s.member.user_id === member.user_id);
  if (!renewing && current.length && csh.LEVELS[current[0].access] >= csh.Access.WRITE && csh.LEVELS[access] < csh.Access.WRITE) {
    return revoke(drive, folder, member, { keep: access });
  }
  if (!pins.verified(member.user_id) && !allowUnverified) {
    throw new UsageError(`${member.email} is not verified: compare fingerprints first, or confirm sharing anyway`);
  }
  if (!renewing) await signUnsigned(drive, folder);
  const shareId = ca.newId();
  const facts = new csh.ShareFacts(shareId, drive.keys.userId, identity.userId, fromHex(folder.id), csh.LEVELS[access]);
  const envelope = await csh.sealShare(drive.keys.identity, identity, facts, folder.key);
  return drive.api.share({ id: hex(shareId), folder_id: folder.id, member_id: member.user_id, access, envelope });
}

/**
 * Take `member`'s access to `folder` away (or, with `keep`, lower it). What they could
 * read before, they may have kept; what is written from now on is under keys they never had.
 */
export async function revoke(drive, folder, member, { keep = null } = {}) {
  const outgoing = (await drive.api.shares()).outgoing.filter((s) => s.folder_id === folder.id);
  const target = outgoing.find((s) => s.member.user_id === member.user_id);
  if (!target) throw new NotFound(`${folder.name} is not shared with ${member.email}`);
  const renewed = await rekey(drive, folder);
  let kept = null;
  if (keep === null) await drive.api.removeShare(target.id);
  else kept = await shareFolder(drive, renewed, member, keep, { allowUnverified: true, renewing: true });
  for (const info of outgoing) {
    if (info.member.user_id !== member.user_id) {
      await shareFolder(drive, renewed, info.member, info.access, { allowUnverified: true, renewing: true });
    }
  }
  await drive.load();
  return kept;
}

/**
 * Give `top` and every folder below it a new key; seal every key and name below again
 * accordingly, signed by this account (files keep their keys: their contents are what
 * they were; their current versions written by others are signed again by this account).
 */
export async function rekey(drive, top) {
  await drive.load();
  const start = drive.get(top.id);
  const parent = start && start.parentId ? drive.get(start.parentId) : null;
  if (!start || !parent) throw new UsageError("the root folder cannot be re-keyed");
  // As the Python client, which stops when anything below fails its checks: what cannot
  // be opened and vouched for cannot be moved under the new keys either.
  const below = new Set([start.id, ...drive.walk(start).map(({ entry }) => entry.id)]);
  const failed = drive.broken.filter((b) => below.has(b.parentId)).length;
  if (failed) {
    throw new CoffreError(`the keys of ${start.name} cannot be renewed: ${failed} item${failed > 1 ? "s" : ""} in it ` +
      "failed an integrity check and cannot be moved under new keys. Nothing was changed.", "cannot_rekey");
  }
  const fresh = (entry) => new Entry({ ...entry, key: ca.newKey() });
  const renewed = await drive.move(fresh(start), parent, start.name);
  const queue = [[start, renewed]];
  while (queue.length) {
    const [old, neu] = queue.shift();
    for (const child of drive.listing(old)) {
      if (child.isFolder) {
        queue.push([child, await drive.move(fresh(child), neu, child.name)]);
        continue;
      }
      await drive.move(child, neu, child.name);
      await signVersionIfNeeded(drive, child, { othersToo: true });
    }
  }
  return renewed;
}

async function signVersionIfNeeded(drive, entry, { othersToo }) {
  const version = entry.record && entry.record.version;
  if (!version || (version.signature && !(othersToo && version.author !== drive.me))) return;
  const signature = await drive.signVersion(fromHex(entry.id), fromHex(version.id), fromB64(version.envelope), fromB64(version.header));
  await drive.api.signVersion(version.id, signature);
}

/**
 * Before a folder is first shared: sign, by moving in place, what was written without a
 * signature (by an earlier client) in it and below it, so that members accept it.
 */
export async function signUnsigned(drive, folder) {
  const todo = [folder, ...drive.walk(folder).map(({ entry }) => entry)];
  for (const entry of todo) {
    const parent = drive.get(entry.parentId);
    if (parent && entry.record && !entry.record.signature) await drive.move(entry, parent, entry.name);
    await signVersionIfNeeded(drive, drive.get(entry.id) || entry, { othersToo: false });
  }
}

// -- the member's side ----------------------------------------------------------------------------

/** Check and open a share received (ShareInfo): signed by its owner's pinned key, for this
 * account. Returns {info, owner (PublicIdentity), folderKey}. */
export async function openIncoming(drive, info) {
  if (info.member.user_id !== drive.me) throw new IntegrityError("share");
  const owner = await drive.pins.check(info.owner);
  const folderKey = await csh.openShare(drive.keys.identity, owner, shareFacts(info), fromB64(info.envelope));
  return { info, owner, folderKey };
}

/** The shared folder's entry, opened with the key from the share. */
export async function openSharedFolder(opened) {
  const record = opened.info.folder;
  if (!record || !record.parent_id || !record.meta || record.kind !== "folder") throw new IntegrityError("share");
  const nodeId = fromHex(record.id);
  const name = await cn.openMeta(opened.folderKey, nodeId, fromHex(record.parent_id), cn.Kind.FOLDER, fromB64(record.meta));
  return new Entry({ id: record.id, parentId: record.parent_id, kind: "folder", name, key: opened.folderKey, record, shared: true });
}

/** Another account's shared folder, seen by a member: the folder is the root. Every record
 * (the folder's own included) must carry a signature of a writer the owner allowed. */
export class ShareDrive extends Drive {
  constructor(api, keys, opened, root) {
    super(api, keys, { root });
    this.opened = opened;
    this.shareId = opened.info.id;
    this.access = opened.info.access;
  }

  static async open(api, keys, opened) {
    if (!opened.info.accepted) throw new Conflict("accept the share first", "share_not_accepted");
    return new ShareDrive(api, keys, opened, await openSharedFolder(opened));
  }

  records() {
    return this.api.shareNodes(this.shareId);
  }

  async prepare() {
    const members = await this.api.shareMembers(this.shareId);
    const { writers, changed } = await signedWriters(this.opened.owner, members, this.pins);
    this.writers = writers;
    this.keyWarnings = [...new Set(changed)];
    // The folder itself, under a stand-in for its (invisible) parent.
    const root = this.rootEntry;
    const parent = new Entry({ id: root.parentId, parentId: null, kind: "folder", name: "", key: new Uint8Array(32) });
    await checkSignatures(this.writers, parent, root.record);
  }

  /** The owner's rubbish bin is not the member's. */
  rubbish() {
    return [];
  }

  async refresh() {
    await this.load();
  }
}
