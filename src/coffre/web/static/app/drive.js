// The decrypted tree: folders, moves, copies, the rubbish bin, versions, live updates
// (src/coffre/client/drive.py).
//
// The server hands out records of opaque envelopes; the Drive opens each with its parent's
// key and the ids the client itself asks about, so a record the server altered, moved,
// swapped or invented fails to open (SECURITY.md A7-A9). Names, sizes, times and types come
// only out of envelopes (A8). A record that fails is left out of the tree and listed in
// `drive.broken`, which the interface shows as an integrity warning.
//
// Every node and version this client writes carries its writer's Ed25519 signature
// (docs/crypto.md section 10). Inside a folder this account shares, a record must carry a
// valid signature by this account or by a member whose share (signed by this account)
// grants write or full access; other records need none (their keys alone keep the server
// out). src/coffre/client/sharing.py's ShareDrive is the member's side (app/sharing.js).

import { ApiError, Conflict, IntegrityError, KeyChanged, UsageError } from "../errors.js";
import { fromB64, fromHex, hex } from "../crypto/bytes.js";
import * as ca from "../crypto/account.js";
import * as cn from "../crypto/nodes.js";
import * as csh from "../crypto/shares.js";
import { Pins } from "./pins.js";

export class Entry {
  constructor({ id, parentId, kind, name, key, record = null, version = null, shared = false }) {
    Object.assign(this, { id, parentId, kind, name, key, record, version, shared });
  }

  get isFolder() {
    return this.kind === "folder";
  }

  get size() {
    return this.version ? this.version.size : 0;
  }

  get trashedSelf() {
    return Boolean(this.record && this.record.trashed);
  }
}

/** Open `record` as a child of `parent`; the server's claims are not trusted. */
export async function openRecord(parent, record) {
  const kind = cn.KIND[record.kind];
  if (kind === undefined) throw new IntegrityError("file or folder name");
  const nodeId = fromHex(record.id);
  const parentId = fromHex(parent.id);
  const key = await cn.unwrapNodeKey(parent.key, nodeId, parentId, kind, fromB64(record.key));
  if (!record.meta) throw new IntegrityError("file or folder name");
  const name = await cn.openMeta(key, nodeId, parentId, kind, fromB64(record.meta));
  let version = null;
  if (record.kind === "file") {
    if (!record.version) throw new IntegrityError("file version");
    version = await cn.openVersion(key, nodeId, fromHex(record.version.id), fromB64(record.version.envelope));
  }
  return new Entry({ id: record.id, parentId: parent.id, kind: record.kind, name, key, record, version });
}

/** The facts of a ShareInfo from the server, as the envelope binds them. */
export function shareFacts(info) {
  const access = csh.LEVELS[info.access];
  if (access === undefined) throw new IntegrityError("share");
  return new csh.ShareFacts(fromHex(info.id), fromHex(info.owner.user_id), fromHex(info.member.user_id), fromHex(info.folder_id), access);
}

/**
 * Who may write in a shared folder: its owner, and the members that the owner's signed
 * shares let write (their keys pinned on the way). Returns {writers: Map(user id hex ->
 * PublicIdentity), changed: [emails of members whose keys changed, left out]}.
 */
export async function signedWriters(owner, shares, pins) {
  const writers = new Map([[hex(owner.userId), owner]]);
  const changed = [];
  for (const info of shares) {
    if (csh.LEVELS[info.access] < csh.Access.WRITE) continue;
    try {
      await csh.verifyShare(owner, shareFacts(info), fromB64(info.envelope));
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      continue; // not signed by the owner for this member and level: not a writer
    }
    try {
      writers.set(info.member.user_id, await pins.check(info.member));
    } catch (error) {
      if (!(error instanceof KeyChanged)) throw error;
      changed.push(info.member.email);
    }
  }
  return { writers, changed };
}

/** Check a record's writer's signatures (node, and current version) against `writers`. */
export async function checkSignatures(writers, parent, record) {
  const what = "writer's signature";
  const writer = writers.get(record.author || "");
  if (!writer || !record.signature || !record.meta) throw new IntegrityError(what);
  const nodeId = fromHex(record.id);
  await csh.verifyNode(writer, fromB64(record.signature), nodeId, fromHex(parent.id), cn.KIND[record.kind],
    fromB64(record.key), fromB64(record.meta));
  const version = record.version;
  if (version) {
    const versionWriter = writers.get(version.author || "");
    if (!versionWriter || !version.signature) throw new IntegrityError(what);
    await csh.verifyVersion(versionWriter, fromB64(version.signature), nodeId, fromHex(version.id),
      fromB64(version.envelope), fromB64(version.header));
  }
}

export class Drive {
  /** `root`: another root than the account's (a shared folder, a public link's folder). */
  constructor(api, keys, { root = null } = {}) {
    this.api = api;
    this.keys = keys;
    this.entries = new Map();
    this.children = new Map();
    this.broken = [];
    this.listeners = new Set();
    this.sharedRoots = new Set(); // the folders this account shares with others
    this.writers = new Map(); // who may write in them (user id hex -> PublicIdentity)
    this.keyWarnings = []; // members whose keys changed since they were pinned
    this.rootEntry = root || new Entry({ id: hex(keys.rootId), parentId: null, kind: "folder", name: "", key: keys.rootKey });
    this.entries.set(this.rootEntry.id, this.rootEntry);
  }

  /** This account's user id, in hex. */
  get me() {
    return hex(this.keys.userId);
  }

  get pins() {
    return new Pins(this.me);
  }

  /** Every record below the root, parents first or not (GET /v1/nodes for one's own). */
  records() {
    return this.api.allNodes();
  }

  /** Before the tree is opened: the folders this account shares, and who may write in
   * them (itself, and the members it let write). */
  async prepare() {
    const { outgoing } = await this.api.shares();
    this.sharedRoots = new Set(outgoing.map((s) => s.folder_id));
    const me = await this.keys.identity.public();
    const { writers, changed } = await signedWriters(me, outgoing, this.pins);
    this.writers = writers;
    this.keyWarnings = [...new Set(changed)];
  }

  get root() {
    return this.rootEntry;
  }

  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed() {
    for (const fn of this.listeners) fn();
  }

  // -- opening records ------------------------------------------------------------------------

  /** Open `record` as a child of `parent`; inside a shared folder its writer's
   * signatures must be those of someone allowed to write there. */
  async open(parent, record) {
    const entry = await openRecord(parent, record);
    entry.shared = parent.shared || this.sharedRoots.has(record.id);
    if (entry.shared && parent.shared) await checkSignatures(this.writers, parent, record);
    return entry;
  }

  /** Every node of the account, opened from the root down (the rubbish bin included). */
  async load() {
    await this.prepare();
    const byParent = new Map();
    for await (const record of this.records()) {
      if (record.parent_id === null) continue;
      if (!byParent.has(record.parent_id)) byParent.set(record.parent_id, []);
      byParent.get(record.parent_id).push(record);
    }
    this.entries = new Map([[this.rootEntry.id, this.rootEntry]]);
    this.children = new Map();
    this.broken = [];
    let frontier = [this.rootEntry];
    while (frontier.length) {
      const next = [];
      await Promise.all(
        frontier.map(async (folder) => {
          const records = byParent.get(folder.id) || [];
          const kids = await Promise.all(records.map((r) => this.open(folder, r).catch((error) => {
            this.broken.push({ id: r.id, parentId: folder.id, error });
            return null;
          })));
          const ids = new Set();
          for (const kid of kids) {
            if (!kid) continue;
            this.entries.set(kid.id, kid);
            ids.add(kid.id);
            if (kid.isFolder) next.push(kid);
          }
          this.children.set(folder.id, ids);
        }),
      );
      frontier = next;
    }
    this.changed();
  }

  get(id) {
    return this.entries.get(id) || null;
  }

  /** Whether `entry` is in the rubbish bin, itself or through a folder above it. */
  inBin(entry) {
    for (let e = entry; e; e = e.parentId ? this.entries.get(e.parentId) : null) {
      if (e.trashedSelf) return true;
    }
    return false;
  }

  listing(folder, { includeTrashed = false } = {}) {
    const ids = this.children.get(folder.id) || new Set();
    const out = [];
    for (const id of ids) {
      const e = this.entries.get(id);
      if (e && (includeTrashed || !e.trashedSelf)) out.push(e);
    }
    return out;
  }

  ancestors(entry) {
    const out = [];
    for (let e = entry; e; e = e.parentId ? this.entries.get(e.parentId) : null) out.unshift(e);
    return out;
  }

  path(entry) {
    return "/" + this.ancestors(entry).slice(1).map((e) => e.name).join("/");
  }

  /** Live entries (not in the bin) whose name contains `query`, case-insensitively. */
  search(query) {
    const q = query.normalize("NFC").toLocaleLowerCase();
    const out = [];
    for (const e of this.entries.values()) {
      if (e.parentId && e.name.toLocaleLowerCase().includes(q) && !this.inBin(e)) out.push(e);
    }
    return out;
  }

  /** Every file below `folder` (not in the bin), with its path relative to it. */
  walk(folder, prefix = "") {
    const out = [];
    for (const e of this.listing(folder).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      out.push({ path: rel, entry: e });
      if (e.isFolder) out.push(...this.walk(e, rel));
    }
    return out;
  }

  childNamed(folder, name) {
    const nfc = name.normalize("NFC");
    return this.listing(folder).find((e) => e.name === nfc) || null;
  }

  /** `name`, or "name (2).ext", "name (3).ext"... whichever is free in `folder`. */
  freeName(folder, name) {
    if (!this.childNamed(folder, name)) return name;
    const dot = name.lastIndexOf(".");
    const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
    for (let i = 2; ; i++) {
      const candidate = `${stem} (${i})${ext}`;
      if (!this.childNamed(folder, candidate)) return candidate;
    }
  }

  _place(entry) {
    const old = this.entries.get(entry.id);
    if (old && old.parentId !== entry.parentId) this.children.get(old.parentId)?.delete(entry.id);
    this.entries.set(entry.id, entry);
    if (!this.children.has(entry.parentId)) this.children.set(entry.parentId, new Set());
    this.children.get(entry.parentId).add(entry.id);
    if (entry.isFolder && !this.children.has(entry.id)) this.children.set(entry.id, new Set());
  }

  _remove(id) {
    const entry = this.entries.get(id);
    if (!entry) return;
    for (const child of this.children.get(id) || []) this._remove(child);
    this.children.delete(id);
    this.children.get(entry.parentId)?.delete(id);
    this.entries.delete(id);
  }

  // -- making and changing ----------------------------------------------------------------------

  /** A NewNode request (signed by this account) and the new node's key. */
  async newNode(parent, name, kind) {
    const nodeId = ca.newId();
    const key = ca.newKey();
    const parentId = fromHex(parent.id);
    const wrapped = await cn.wrapNodeKey(parent.key, nodeId, parentId, kind, key);
    const meta = await cn.sealMeta(key, nodeId, parentId, kind, name);
    return {
      request: {
        id: hex(nodeId),
        parent_id: parent.id,
        key: wrapped,
        meta,
        name_tag: await cn.nameTag(parent.key, name),
        signature: await csh.signNode(this.keys.identity, nodeId, parentId, kind, wrapped, meta),
      },
      key,
    };
  }

  /** This account's signature of a version it writes. */
  signVersion(nodeId, versionId, envelope, header) {
    return csh.signVersion(this.keys.identity, nodeId, versionId, envelope, header);
  }

  async mkdir(parent, name) {
    const { request } = await this.newNode(parent, name, cn.Kind.FOLDER);
    const record = await this.api.mkdir({ ...request, name_tag: hex(request.name_tag) });
    const entry = await this.open(parent, record);
    this._place(entry);
    this.changed();
    return entry;
  }

  /** Move and/or rename: the key and name are sealed again for the new place. */
  async move(entry, newParent, newName) {
    const kind = cn.KIND[entry.kind];
    const nodeId = fromHex(entry.id);
    const parentId = fromHex(newParent.id);
    if (entry.isFolder && this.ancestors(newParent).some((a) => a.id === entry.id)) {
      throw new UsageError("a folder cannot go inside itself");
    }
    const wrapped = await cn.wrapNodeKey(newParent.key, nodeId, parentId, kind, entry.key);
    const meta = await cn.sealMeta(entry.key, nodeId, parentId, kind, newName);
    const record = await this.api.move(entry.id, {
      parent_id: newParent.id,
      key: wrapped,
      meta,
      name_tag: hex(await cn.nameTag(newParent.key, newName)),
      signature: await csh.signNode(this.keys.identity, nodeId, parentId, kind, wrapped, meta),
    });
    const moved = await this.open(newParent, record);
    this._place(moved);
    this.changed();
    return moved;
  }

  /** Copy `entry` (a whole folder, or a file's current version) into `dest` as `name`:
   * new ids and keys, versions that share the source's content (no chunk sent again). */
  async copy(entry, dest, name) {
    const plan = [];
    const queue = [[entry, dest, name]];
    while (queue.length) {
      const [source, parent, newName] = queue.shift();
      const kind = cn.KIND[source.kind];
      const { request, key } = await this.newNode(parent, newName, kind);
      const versions = [];
      if (source.version && source.record && source.record.version) {
        const versionId = ca.newId();
        const nodeId = fromHex(request.id);
        const envelope = await cn.sealVersion(key, nodeId, versionId, source.version);
        versions.push({
          id: hex(versionId),
          envelope,
          source: source.record.version.id,
          signature: await this.signVersion(nodeId, versionId, envelope, fromB64(source.record.version.header)),
        });
      }
      plan.push({ ...request, name_tag: hex(request.name_tag), kind: source.kind, versions });
      if (source.isFolder) {
        const placed = new Entry({ id: request.id, parentId: parent.id, kind: "folder", name: newName, key, shared: parent.shared });
        for (const child of this.listing(source)) queue.push([child, placed, child.name]);
      }
    }
    for (let i = 0; i < plan.length; i += 2000) await this.api.copy(plan.slice(i, i + 2000));
    await this.load();
  }

  async trash(entry) {
    if (!entry.parentId) throw new UsageError("the root folder cannot be removed");
    const record = await this.api.trash(entry.id);
    entry.record = record;
    this.changed();
  }

  async restore(entry) {
    const record = await this.api.restore(entry.id);
    entry.record = record;
    this.changed();
  }

  async deleteForGood(entry) {
    await this.api.deleteNode(entry.id);
    this._remove(entry.id);
    this.changed();
  }

  async emptyRubbish() {
    await this.api.emptyRubbish();
    for (const e of this.rubbish()) this._remove(e.id);
    this.changed();
  }

  /** What was put in the bin itself (not what is inside binned folders). */
  rubbish() {
    const out = [];
    for (const e of this.entries.values()) if (e.trashedSelf) out.push(e);
    return out;
  }

  async versions(entry) {
    if (entry.isFolder) throw new Conflict("not_a_file", `${entry.name}: folders have no versions`);
    const nodeId = fromHex(entry.id);
    const records = await this.api.versions(entry.id);
    return Promise.all(
      records.map(async (record) => ({
        record,
        info: await cn.openVersion(entry.key, nodeId, fromHex(record.id), fromB64(record.envelope)),
      })),
    );
  }

  async deleteVersion(entry, versionId) {
    await this.api.deleteVersion(versionId);
    await this.refresh(entry.id);
  }

  // -- live updates -----------------------------------------------------------------------------

  /** Read one node again and put it in place (or take it out if it is gone). */
  async refresh(id) {
    let record;
    try {
      record = await this.api.node(id);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this._remove(id);
        this.changed();
        return;
      }
      throw error;
    }
    const parent = record.parent_id ? this.entries.get(record.parent_id) : null;
    if (!parent) {
      await this.load(); // a parent we do not know: read everything again
      return;
    }
    try {
      this._place(await this.open(parent, record));
    } catch (error) {
      this._remove(id);
      this.broken.push({ id, parentId: parent.id, error });
    }
    this.changed();
  }

  /** Apply events from the change feed (docs/api.md), in order. */
  async apply(events) {
    for (const event of events) {
      if (!event.node_id) continue;
      if (event.kind === "node.deleted") {
        this._remove(event.node_id);
        this.changed();
      } else {
        await this.refresh(event.node_id);
      }
    }
  }
}
