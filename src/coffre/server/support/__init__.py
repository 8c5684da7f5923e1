"""Support tickets: filed by customers (signed in, anonymous, or by email), answered by staff.

A ticket moves through the states ``new`` (filed, nobody has answered), ``open`` (staff
are on it, or the customer wrote again), ``pending`` (staff answered and wait for the
customer), ``solved`` and ``closed``. Every change is written to the ticket's audit trail.
Each category has a first-response and a resolution target (:mod:`.timers`); the desk's
queue flags tickets past them.

Modules: :mod:`.store` (rows, views, the audit trail, attachments), :mod:`.tickets` (the
customer's side), :mod:`.desk` (staff), :mod:`.canned` (canned replies), :mod:`.notify`
(email out), :mod:`.inbound` (email in), :mod:`.timers`.
"""
