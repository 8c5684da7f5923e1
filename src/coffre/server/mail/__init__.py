"""Support mail, in and out (docs/mail.md).

Out: :func:`coffre.server.mail.outbox.send` writes each message to the outbox folder
(``DATA/outbox``); with ``COFFRE_SMTP_URL`` set, a background thread hands the folder's
messages to the SMTP server and removes each one once the server has taken it, retrying
when the server is down (:mod:`.delivery`). Without it, the folder and the log are where
mail ends up, so nothing needs a mail server to run.

In: :func:`coffre.server.mail.inbound.receive` takes one RFC 5322 message, recognises
auto-replies, bounces and loops (:mod:`.loops`), finds the ticket it answers (:mod:`.tokens`,
then Message-IDs, then the subject tag), strips the quoted history (:mod:`.quotes`) and
sanitises HTML (:mod:`.body`). The SMTP/LMTP receiver (:mod:`.receiver`) and the IMAP
poller (:mod:`.imap`) feed it.
"""
