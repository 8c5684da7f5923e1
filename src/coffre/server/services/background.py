"""Background work: garbage collection and quota recounts, one process at a time.

``coffre serve`` runs a pass every ``COFFRE_GC_INTERVAL`` seconds; ``coffre worker`` runs
only these passes (then API processes can run with ``COFFRE_GC_INTERVAL=0``). However many
processes share the database, a database lock (:mod:`coffre.server.db.locks`) lets one of
them do a pass at a time; the others skip their turn. A pass collects expired uploads and
deleted blobs, restores links whose abuse-report period ended (docs/abuse.md), and
recounts every account's storage used when the last recount is older than
``COFFRE_RECOUNT_INTERVAL``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from coffre.server.context import Context, now
from coffre.server.db import locks
from coffre.server.services import abuse, quotas, support_codes, transfers

log = logging.getLogger("coffre.server")

JOB = "background"
RECOUNT = "recount"


@dataclass(frozen=True, slots=True)
class PassReport:
    blobs_deleted: int
    accounts_corrected: int | None
    """None when no recount was due."""
    links_restored: int = 0
    """Links disabled after a report whose period ended (docs/abuse.md)."""


def run_pass(ctx: Context, *, recount: bool | None = None) -> PassReport | None:
    """One pass, if no other process is running one (None then). ``recount`` forces a
    quota recount (True) or skips it (False); by default it runs when due."""
    with locks.exclusive(ctx.db, JOB) as held:
        if not held:
            log.debug("another process is running background work; skipping this pass")
            return None
        deleted = transfers.collect(ctx)
        restored = abuse.restore_due(ctx)
        support_codes.prune(ctx)
        corrected = None
        if recount is None:
            interval = ctx.settings.recount_interval
            last = locks.last_run(ctx.db, RECOUNT)
            recount = interval > 0 and (last is None or now() - last >= interval)
        if recount:
            started = now()
            corrected = quotas.recount(ctx)
            locks.mark_run(ctx.db, RECOUNT, started)
        return PassReport(deleted, corrected, restored)
