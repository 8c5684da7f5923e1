"""Shared folders on the client: sharing, accepting, and working inside others' folders.

- Sharing seals the folder key to the contact's *pinned* X25519 key and signs the share
  (docs/crypto.md section 10); a contact whose keys changed is refused (A10).
- A share received is opened only if its owner's pinned key signed it for this account,
  this folder and this access level (A11); the server keeps it pending until accepted.
- Inside a shared folder, every record must carry a valid signature of a writer: the owner,
  or a member whose share (signed by the owner) grants write or full access. A read-only
  member, even helped by the server, cannot make files that others accept.
"""

from __future__ import annotations

from dataclasses import dataclass

from coffre.client.drive import KIND, Drive, Entry, Tree, build_tree
from coffre.client.pins import Pins
from coffre.crypto import account as ca
from coffre.crypto import nodes as cn
from coffre.crypto import shares as cs
from coffre.crypto.identity import PublicIdentity
from coffre.errors import Conflict, IntegrityError, NotFound, UsageError
from coffre.protocol import models as m

LEVELS = {"read": cs.Access.READ, "write": cs.Access.WRITE, "full": cs.Access.FULL}


def facts(info: m.ShareInfo) -> cs.ShareFacts:
    return cs.ShareFacts(
        bytes.fromhex(info.id),
        bytes.fromhex(info.owner.user_id),
        bytes.fromhex(info.member.user_id),
        bytes.fromhex(info.folder_id),
        LEVELS[info.access],
    )


class SignedWriters:
    """The writers a set of owner-signed shares allows, with their (pinned) public keys."""

    def __init__(self, identities: dict[str, PublicIdentity]) -> None:
        self.identities = identities

    def check(self, parent: Entry, record: m.NodeRecord) -> None:
        what = "writer's signature"
        writer = self.identities.get(record.author or "")
        if writer is None or record.signature is None or record.meta is None:
            raise IntegrityError(what)
        cs.verify_node(
            writer,
            record.signature,
            bytes.fromhex(record.id),
            bytes.fromhex(parent.id),
            KIND[record.kind],
            record.key,
            record.meta,
        )
        version = record.version
        if version is not None:
            version_writer = self.identities.get(version.author or "")
            if version_writer is None or version.signature is None:
                raise IntegrityError(what)
            cs.verify_version(
                version_writer,
                version.signature,
                bytes.fromhex(record.id),
                bytes.fromhex(version.id),
                version.envelope,
                version.header,
            )


def _allowed(
    owner: PublicIdentity, shares: list[m.ShareInfo], pins: Pins
) -> dict[str, PublicIdentity]:
    """Owner plus members that the owner's signed shares let write; keys pinned on the way."""
    writers = {owner.user_id.hex(): owner}
    for info in shares:
        cs.verify_share(owner, facts(info), info.envelope)
        if LEVELS[info.access] >= cs.Access.WRITE:
            writers[info.member.user_id] = pins.check(info.member)
    return writers


def owner_writers(drive: Drive) -> SignedWriters:
    """For one's own shared folders: oneself and the members one let write."""
    me = drive.keys.identity.public
    pins = Pins(drive.keys.user_id.hex())
    return SignedWriters(_allowed(me, drive.api.shares().outgoing, pins))


# -- the owner's side -----------------------------------------------------------------------


def share_folder(
    drive: Drive,
    folder: Entry,
    member: m.UserKeys,
    access: m.AccessLevel,
    *,
    allow_unverified: bool = False,
    renewing: bool = False,
) -> m.ShareInfo:
    """Share ``folder`` with a contact; their keys must be the pinned ones (and verified,
    unless ``allow_unverified``)."""
    if not folder.is_folder or folder.parent_id is None:
        raise UsageError("only folders (not the root) can be shared")
    pins = Pins(drive.keys.user_id.hex())
    identity = pins.check(member)
    current = [
        s
        for s in drive.api.shares().outgoing
        if s.folder_id == folder.id and s.member.user_id == member.user_id
    ]
    if not renewing and current and LEVELS[current[0].access] >= cs.Access.WRITE > LEVELS[access]:
        # Taking write away: renew the keys first, as for a revocation.
        kept = revoke(drive, folder, member, keep=access)
        assert kept is not None
        return kept
    if not pins.verified(member.user_id) and not allow_unverified:
        raise UsageError(
            f"{member.email} is not verified: compare fingerprints first "
            f"('coffre contacts verify {member.email}'), or confirm sharing anyway"
        )
    share_id = ca.new_id()
    share_facts = cs.ShareFacts(
        share_id, drive.keys.user_id, identity.user_id, bytes.fromhex(folder.id), LEVELS[access]
    )
    envelope = cs.seal_share(drive.keys.identity, identity, share_facts, folder.key)
    return drive.api.share(
        m.ShareCreate(
            id=share_id.hex(),
            folder_id=folder.id,
            member_id=member.user_id,
            access=access,
            envelope=envelope,
        )
    )


def contact(drive: Drive, email: str) -> m.UserKeys:
    """An accepted contact, by email address."""
    for entry in drive.api.contacts().contacts:
        if entry.email == email.strip().lower():
            return m.UserKeys(
                user_id=entry.user_id, email=entry.email, public_keys=entry.public_keys
            )
    raise NotFound("not_a_contact", f"{email} is not one of your contacts (invite them first)")


def revoke(
    drive: Drive, folder: Entry, member: m.UserKeys, *, keep: m.AccessLevel | None = None
) -> m.ShareInfo | None:
    """Take a member's access to ``folder`` away (or, with ``keep``, lower it).

    First the folder and every folder below it get new keys, and everything below is
    signed again by the owner (while the member still counts as a writer, so that what they
    wrote can be vouched for); then the server drops the share; then the remaining members
    get shares of the new key. What is written from now on is under keys the member never
    had; what they could read before, they may have kept (docs/threat-model.md).
    """
    outgoing = [s for s in drive.api.shares().outgoing if s.folder_id == folder.id]
    target = [s for s in outgoing if s.member.user_id == member.user_id]
    if not target:
        raise NotFound("share_not_found", f"{folder.name} is not shared with {member.email}")
    new_folder = rekey(drive, folder)
    kept = None
    if keep is None:
        drive.api.remove_share(target[0].id)
    else:  # the share is replaced in place: it stays accepted, at the lower level
        kept = share_folder(drive, new_folder, member, keep, allow_unverified=True, renewing=True)
    for info in outgoing:
        if info.member.user_id != member.user_id:
            share_folder(
                drive, new_folder, info.member, info.access, allow_unverified=True, renewing=True
            )
    return kept


def rekey(drive: Drive, top: Entry) -> Entry:
    """Give ``top`` and every folder below it a new key; seal every key and name below
    again accordingly, signed by this account (files keep their keys: their contents are
    what they were; their current versions are signed again too)."""
    tree = drive.tree()
    start = tree.entries[top.id]
    parent = tree.entries[start.parent_id] if start.parent_id else None
    if parent is None:
        raise UsageError("the root folder cannot be re-keyed")
    renewed = _with_key(start, ca.new_key())
    drive.move(renewed, parent, start.name)
    me = drive.keys.user_id.hex()
    queue = [(start, renewed)]
    while queue:
        old, new = queue.pop(0)
        for child in tree.listing(old):
            if child.trashed:
                continue
            if child.is_folder:
                fresh = _with_key(child, ca.new_key())
                drive.move(fresh, new, child.name)
                queue.append((child, fresh))
                continue
            drive.move(child, new, child.name)
            version = child.record.version if child.record else None
            if version is not None and version.author != me:
                node_id, version_id = bytes.fromhex(child.id), bytes.fromhex(version.id)
                signature = cs.sign_version(
                    drive.keys.identity, node_id, version_id, version.envelope, version.header
                )
                drive.api.sign_version(version.id, signature)
    return renewed


def _with_key(entry: Entry, key: bytes) -> Entry:
    return Entry(entry.id, entry.parent_id, entry.kind, entry.name, key, entry.record)


# -- the member's side ----------------------------------------------------------------------


@dataclass
class OpenedShare:
    info: m.ShareInfo
    owner: PublicIdentity
    folder_key: bytes


def open_incoming(drive: Drive, info: m.ShareInfo) -> OpenedShare:
    """Check and open a share received: signed by its owner's pinned key, for this account."""
    if info.member.user_id != drive.keys.user_id.hex():
        raise IntegrityError("share")
    pins = Pins(drive.keys.user_id.hex())
    owner = pins.check(info.owner)
    key = cs.open_share(drive.keys.identity, owner, facts(info), info.envelope)
    return OpenedShare(info, owner, key)


def find_incoming(
    drive: Drive, owner_email: str, folder_name: str | None, *, pending: bool = False
) -> list[OpenedShare]:
    """Accepted (or, with ``pending``, any) shares from ``owner_email``: all of them, or
    those whose folder has that name."""
    found = []
    for info in drive.api.shares().incoming:
        if info.owner.email != owner_email.strip().lower() or not (info.accepted or pending):
            continue
        opened = open_incoming(drive, info)
        if folder_name is None or ShareDrive(drive, opened).folder_name() == folder_name:
            found.append(opened)
    return found


class ShareDrive(Drive):
    """Another account's shared folder, seen by a member: the folder is the root."""

    def __init__(self, drive: Drive, opened: OpenedShare) -> None:
        super().__init__(drive.api, drive.keys)
        self.opened = opened
        self._root: Entry | None = None

    def shared_roots(self) -> set[str]:
        return {self.opened.info.folder_id}

    def writer_check(self) -> SignedWriters:
        if self.writers is None:
            pins = Pins(self.keys.user_id.hex())
            members = self.api.share_members(self.opened.info.id)
            self.writers = SignedWriters(_allowed(self.opened.owner, members, pins))
        assert isinstance(self.writers, SignedWriters)
        return self.writers

    def folder_name(self) -> str:
        """The shared folder's name (checked), accepted or not."""
        record = self.opened.info.folder
        if record is None:
            raise IntegrityError("share")
        return _open_with_key(record, self.opened.folder_key).name

    def root(self) -> Entry:
        if self._root is None:
            record = self.opened.info.folder
            if record is None or record.parent_id is None:
                raise IntegrityError("share")
            if not self.opened.info.accepted:
                raise Conflict("share_not_accepted", "accept the share first")
            # The folder's key comes from the share; its name and signature are checked
            # as for any record, under a stand-in for its (invisible) parent.
            parent = Entry(record.parent_id, None, "folder", "", b"\0" * 32, shared=True)
            entry = _open_with_key(record, self.opened.folder_key)
            self.writer_check().check(parent, record)
            entry.shared = True
            self._root = entry
        return self._root

    def tree(self) -> Tree:
        return build_tree(self.root(), self.api.share_nodes(self.opened.info.id), self.open)

    def rubbish(self) -> list[tuple[str, Entry]]:
        raise UsageError("the rubbish bin of a shared folder is its owner's")


def _open_with_key(record: m.NodeRecord, key: bytes) -> Entry:
    """Open a record whose node key is already known (a shared folder's)."""
    if record.meta is None or record.parent_id is None:
        raise IntegrityError("file or folder name")
    node_id, parent_id = bytes.fromhex(record.id), bytes.fromhex(record.parent_id)
    name = cn.open_meta(key, node_id, parent_id, KIND[record.kind], record.meta)
    return Entry(record.id, record.parent_id, record.kind, name, key, record)
