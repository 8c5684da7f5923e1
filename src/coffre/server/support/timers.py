"""First-response and resolution targets per category, and whether a ticket missed them.

``COFFRE_SUPPORT_TARGETS`` overrides the defaults, in hours: ``technical=4/48,billing=24/96``.
A ticket's first response is staff's first public reply; it is resolved when solved.
"""

from __future__ import annotations

from dataclasses import dataclass

from coffre.errors import UsageError
from coffre.protocol import tickets as tm
from coffre.server.db import tables as t

_HOUR = 3600.0

DEFAULTS: dict[str, tuple[float, float]] = {
    "technical": (8, 72),
    "billing": (24, 120),
    "account": (8, 72),
    "abuse": (24, 72),
}


@dataclass(frozen=True, slots=True)
class Target:
    first_response: float  # seconds
    resolution: float  # seconds


def parse(text: str) -> dict[str, Target]:
    """The targets per category, from the setting's text (empty: the defaults)."""
    hours = dict(DEFAULTS)
    for item in filter(None, (part.strip() for part in text.split(","))):
        category, _, value = item.partition("=")
        first, _, resolution = value.partition("/")
        category = category.strip()
        try:
            pair = (float(first), float(resolution))
        except ValueError:
            pair = (-1.0, -1.0)
        if category not in DEFAULTS or min(pair) <= 0:
            raise UsageError(
                f"COFFRE_SUPPORT_TARGETS: {item!r} is not CATEGORY=HOURS/HOURS with a "
                f"category among {', '.join(DEFAULTS)}"
            )
        hours[category] = pair
    return {name: Target(a * _HOUR, b * _HOUR) for name, (a, b) in hours.items()}


def timers(ticket: t.SupportTicket, targets: dict[str, Target], at: float) -> tm.Timers:
    target = targets[ticket.category]
    first_due = ticket.created_at + target.first_response
    resolution_due = ticket.created_at + target.resolution
    end = at  # a ticket that is over stops its clocks when it ended
    if ticket.state in ("solved", "closed"):
        end = ticket.solved_at if ticket.solved_at is not None else ticket.updated_at
    answered = ticket.first_response_at if ticket.first_response_at is not None else end
    return tm.Timers(
        first_response_due=first_due,
        resolution_due=resolution_due,
        first_response_breached=answered > first_due,
        resolution_breached=end > resolution_due,
    )
