"""``coffre contacts``, ``coffre share`` and ``coffre shares``."""

from __future__ import annotations

import sys
from typing import cast

import click

from coffre.cli.context import CliContext, pass_cli
from coffre.cli.output import table, warn
from coffre.client import sharing
from coffre.client.drive import Drive
from coffre.client.pins import Pins
from coffre.crypto.identity import verify_published
from coffre.errors import KeyChanged, NotFound, UsageError
from coffre.protocol import models as m


def _fingerprint(keys: m.UserKeys) -> str:
    return verify_published(keys.public_keys, bytes.fromhex(keys.user_id)).fingerprint()


def _pins(drive: Drive) -> Pins:
    return Pins(drive.keys.user_id.hex())


@click.group(invoke_without_command=True)
@click.pass_context
def contacts(ctx: click.Context) -> None:
    """Contacts: list (the default), invite, accept, decline, fingerprint, verify."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(contacts_ls)


@contacts.command("ls")
@pass_cli
def contacts_ls(cli: CliContext) -> None:
    """List contacts with their fingerprints, and pending invitations."""
    drive = cli.drive()
    pins = _pins(drive)
    listing = drive.api.contacts()
    rows = []
    for c in listing.contacts:
        keys = m.UserKeys(user_id=c.user_id, email=c.email, public_keys=c.public_keys)
        if pins.changed(keys):
            state = "KEYS CHANGED: verify before trusting"
        else:
            pins.check(keys)
            state = "verified" if pins.verified(c.user_id) else "not verified"
        rows.append([c.email, state, _fingerprint(keys)])
    for i in listing.incoming:
        rows.append([i.email, "invited you: coffre contacts accept " + i.email, ""])
    for i in listing.outgoing:
        rows.append([i.email, "invitation sent", ""])
    table(rows)


@contacts.command("invite")
@click.argument("email")
@pass_cli
def invite(cli: CliContext, email: str) -> None:
    """Invite someone (by email address) to be a contact."""
    invitation = cli.drive().api.invite(email)
    click.echo(f"Invited {invitation.email}.")


def _incoming(drive: Drive, email: str) -> m.Invitation:
    for invitation in drive.api.contacts().incoming:
        if invitation.email == email.strip().lower():
            return invitation
    raise NotFound("invitation_not_found", f"{email} has not invited you")


@contacts.command("accept")
@click.argument("email")
@pass_cli
def accept(cli: CliContext, email: str) -> None:
    """Accept an invitation; the inviter's keys are pinned now."""
    drive = cli.drive()
    keys = drive.api.accept_invitation(_incoming(drive, email).id)
    _pins(drive).check(keys)
    click.echo(f"{keys.email} is a contact. Fingerprint: {_fingerprint(keys)}")
    click.echo(f"Compare it with theirs, then: coffre contacts verify {keys.email}")


@contacts.command("decline")
@click.argument("email")
@pass_cli
def decline(cli: CliContext, email: str) -> None:
    """Decline someone's invitation (or withdraw yours to them)."""
    drive = cli.drive()
    listing = drive.api.contacts()
    wanted = email.strip().lower()
    for invitation in [*listing.incoming, *listing.outgoing]:
        if invitation.email == wanted:
            drive.api.decline_invitation(invitation.id)
            return
    raise NotFound("invitation_not_found", f"no invitation from or to {email}")


@contacts.command("fingerprint")
@pass_cli
def fingerprint(cli: CliContext) -> None:
    """Your own fingerprint, to read to a contact who verifies you."""
    click.echo(cli.drive().keys.identity.public.fingerprint())


@contacts.command("verify")
@click.argument("email")
@click.option("--fingerprint", "read_out", metavar="FP", help="The fingerprint they read to you.")
@pass_cli
def verify(cli: CliContext, email: str, read_out: str | None) -> None:
    """Check a contact's fingerprint and mark them verified."""
    drive = cli.drive()
    keys = sharing.contact(drive, email)
    theirs = _fingerprint(keys)
    pins = _pins(drive)
    if read_out is not None:
        if "".join(read_out.split()) != "".join(theirs.split()):
            raise KeyChanged(
                f"the fingerprint does not match {email}'s keys on this server; do not share "
                "with them until you know why"
            )
    else:
        click.echo(f"yours:  {drive.keys.identity.public.fingerprint()}")
        click.echo(f"theirs: {theirs}")
        if not sys.stdin.isatty():
            raise UsageError("compare the fingerprints, then run again with --fingerprint FP")
        if not click.confirm(f"Does {email} read you the same fingerprint?", default=False):
            raise UsageError("not verified")
    pins.accept_new(keys, verified=True)
    click.echo(f"{keys.email} is verified.")


@click.command()
@click.argument("folder")
@click.argument("email")
@click.option(
    "--access",
    type=click.Choice(["read", "write", "full"]),
    default="read",
    show_default=True,
    help="read: see and download; write: also add and change; full: also remove.",
)
@click.option("--revoke", is_flag=True, help="Stop sharing FOLDER with EMAIL (and re-key it).")
@click.option(
    "--yes", "allow_unverified", is_flag=True, help="Share even if EMAIL is not verified."
)
@pass_cli
def share(
    cli: CliContext, folder: str, email: str, access: str, revoke: bool, allow_unverified: bool
) -> None:
    """Share one of your folders with a contact, or stop sharing it (--revoke)."""
    drive = cli.drive()
    entry = drive.resolve(folder)
    member = sharing.contact(drive, email)
    if revoke:
        sharing.revoke(drive, entry, member)
        click.echo(f"{member.email} no longer has access to {folder}; its keys were renewed.")
        return
    pins = _pins(drive)
    if not pins.verified(member.user_id) and not allow_unverified:
        pins.check(member)
        warn(f"{member.email} is not verified; their fingerprint: {_fingerprint(member)}")
        if not sys.stdin.isatty() or not click.confirm("Share anyway?", default=False):
            raise UsageError(
                f"not shared: verify {member.email} first (coffre contacts verify), or add --yes"
            )
        allow_unverified = True
    level = cast(m.AccessLevel, access)
    sharing.share_folder(drive, entry, member, level, allow_unverified=allow_unverified)
    click.echo(f"Shared {folder} with {member.email} ({access}).")


@click.group(invoke_without_command=True)
@click.pass_context
def shares(ctx: click.Context) -> None:
    """Shared folders: list (the default), accept OWNER_EMAIL:FOLDER, leave OWNER_EMAIL:FOLDER."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(shares_ls)


@shares.command("ls")
@pass_cli
def shares_ls(cli: CliContext) -> None:
    """Folders you share, and folders shared with you (pending until accepted)."""
    drive = cli.drive()
    listing = drive.api.shares()
    tree = drive.tree() if listing.outgoing else None
    rows = []
    for info in listing.outgoing:
        entry = tree.entries.get(info.folder_id) if tree else None
        where = tree.path(entry) if tree and entry else "(deleted)"
        state = "accepted" if info.accepted else "pending"
        rows.append(["out", where, info.member.email, info.access, state])
    for info in listing.incoming:
        opened = sharing.open_incoming(drive, info)
        name = sharing.ShareDrive(drive, opened).folder_name()
        state = "accepted" if info.accepted else "pending: coffre shares accept"
        rows.append(["in", f"{info.owner.email}:{name}", "", info.access, state])
    table(rows)


def _find(cli: CliContext, ref: str) -> sharing.OpenedShare:
    owner, sep, folder = ref.partition(":")
    if not sep or "@" not in owner or not folder.strip("/"):
        raise UsageError(f"{ref}: give OWNER_EMAIL:FOLDER")
    found = [
        o
        for o in sharing.find_incoming(cli.drive(), owner, None, pending=True)
        if sharing.ShareDrive(cli.drive(), o).folder_name() == folder.strip("/")
    ]
    if not found:
        raise NotFound("share_not_found", f"{owner} shares no folder called {folder!r} with you")
    return found[0]


@shares.command("accept")
@click.argument("ref", metavar="OWNER_EMAIL:FOLDER")
@pass_cli
def shares_accept(cli: CliContext, ref: str) -> None:
    """Accept a folder shared with you (its owner's signature is checked first)."""
    opened = _find(cli, ref)
    cli.drive().api.accept_share(opened.info.id)
    click.echo(f"Accepted; use it as {ref}/PATH, e.g. coffre ls {ref}")


@shares.command("leave")
@click.argument("ref", metavar="OWNER_EMAIL:FOLDER")
@pass_cli
def shares_leave(cli: CliContext, ref: str) -> None:
    """Stop receiving a shared folder."""
    cli.drive().api.remove_share(_find(cli, ref).info.id)
