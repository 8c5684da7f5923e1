"""Coffre's one exception tree, shared by the crypto core, the server, the library and the CLI.

Each error knows the HTTP status the server answers with, the exit code the CLI returns,
a stable machine-readable ``code`` and a message written for the person who reads it::

    CoffreError                       exit 1
    ├── UsageError                    exit 2    the command line is wrong
    ├── LocalError                    exit 3    a local file or folder is missing or unusable
    ├── CryptoError                   exit 7
    │   ├── IntegrityError                      data failed authentication: it was changed
    │   ├── DowngradeError                      the server offered a weaker password KDF
    │   └── KeyChanged                          a contact's keys are not those first seen
    ├── ConnectionFailed              exit 8    the server could not be reached
    └── ApiError                                the server refused; ``code`` says why
        ├── BadRequest          400   exit 2
        ├── Unauthenticated     401   exit 4
        ├── Forbidden           403   exit 4
        ├── QuotaExceeded       403   exit 6
        ├── NotFound            404   exit 3
        ├── Conflict            409   exit 5
        ├── Gone                410   exit 3
        ├── PayloadTooLarge     413   exit 2
        ├── LegallyUnavailable  451   exit 3
        ├── RateLimited         429   exit 9
        ├── ServiceUnavailable  503   exit 8
        └── InsufficientStorage 507   exit 8  the server's disk is full

The crypto core raises :class:`IntegrityError` with one uniform message whatever check
failed (tag, commitment, signature, layout), so that errors are no oracle (SECURITY.md A15).
"""

from __future__ import annotations

from typing import ClassVar


class CoffreError(Exception):
    status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1
    default_code: ClassVar[str] = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code

    def __str__(self) -> str:
        return self.message


class UsageError(CoffreError):
    status = 400
    exit_code = 2
    default_code = "usage"


class LocalError(CoffreError):
    exit_code = 3
    default_code = "local_error"

    @classmethod
    def of(cls, where: object, exc: OSError) -> LocalError:
        """The local file system's error about ``where`` (a path, or what stands for one)
        in one line: a full disk or a missing folder is not an internal error."""
        return cls(f"{where}: {exc.strerror or exc}")


class CryptoError(CoffreError):
    status = 400
    exit_code = 7
    default_code = "crypto_error"


class IntegrityError(CryptoError):
    """Authenticated decryption or a signature failed: somebody changed the data."""

    default_code = "integrity"

    def __init__(self, what: str) -> None:
        super().__init__(
            f"integrity check failed for {what}: the data was changed or is not ours; "
            "nothing was decrypted"
        )


class DowngradeError(CryptoError):
    default_code = "kdf_downgrade"


class KeyChanged(CryptoError):
    """A contact's published keys differ from those pinned when they were first seen."""

    default_code = "key_changed"


class ConnectionFailed(CoffreError):
    status = 503
    exit_code = 8
    default_code = "connection_failed"


class ApiError(CoffreError):
    """An error the server reported, or will report, as ``{"error": {"code", "message"}}``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


class BadRequest(ApiError):
    status = 400
    exit_code = 2


class Unauthenticated(ApiError):
    status = 401
    exit_code = 4


class Forbidden(ApiError):
    status = 403
    exit_code = 4


class QuotaExceeded(ApiError):
    status = 403
    exit_code = 6


class NotFound(ApiError):
    status = 404
    exit_code = 3


class Conflict(ApiError):
    status = 409
    exit_code = 5


class Gone(ApiError):
    status = 410
    exit_code = 3


class PayloadTooLarge(ApiError):
    status = 413
    exit_code = 2


class LegallyUnavailable(ApiError):
    """Disabled after an abuse or copyright report (HTTP 451)."""

    status = 451
    exit_code = 3


class RateLimited(ApiError):
    status = 429
    exit_code = 9

    def __init__(self, code: str, message: str, retry_after: int = 60) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class ServiceUnavailable(ApiError):
    status = 503
    exit_code = 8


class InsufficientStorage(ApiError):
    """The server's disk is full (HTTP 507): it kept nothing of the request."""

    status = 507
    exit_code = 8


_BY_STATUS: dict[int, type[ApiError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthenticated,
        Forbidden,
        NotFound,
        Conflict,
        Gone,
        PayloadTooLarge,
        LegallyUnavailable,
        RateLimited,
        ServiceUnavailable,
        InsufficientStorage,
    )
}


def api_error(status: int, code: str, message: str) -> ApiError:
    """Rebuild, on the client, the error the server reported."""
    if code in ("quota_exceeded", "transfer_quota_exceeded"):
        return QuotaExceeded(code, message)
    cls = _BY_STATUS.get(status, ApiError)
    return cls(code, message)
