// Coffre's one exception tree, as in src/coffre/errors.py:
//
//   CoffreError
//   ├── UsageError          a wrong name, a wrong recovery key
//   ├── LocalError          a local file could not be read or written
//   ├── CryptoError
//   │   ├── IntegrityError  data failed authentication: it was changed
//   │   ├── DowngradeError  the server offered a weaker password KDF
//   │   └── KeyChanged      a contact's keys differ from those pinned when first seen
//   ├── ConnectionFailed    the server could not be reached
//   └── ApiError            the server refused; `code` says why (docs/api.md)
//
// The crypto core throws IntegrityError with one uniform message whatever check failed
// (tag, commitment, signature, layout), so that errors are no oracle (SECURITY.md A15).

export class CoffreError extends Error {
  constructor(message, code = "error") {
    super(message);
    this.name = this.constructor.name;
    this.code = code;
  }
}

export class UsageError extends CoffreError {
  constructor(message, code = "usage") {
    super(message, code);
  }
}

export class LocalError extends CoffreError {
  constructor(message, code = "local_error") {
    super(message, code);
  }
}

export class CryptoError extends CoffreError {}

export class IntegrityError extends CryptoError {
  constructor(what) {
    super(
      `integrity check failed for ${what}: the data was changed or is not ours; nothing was decrypted`,
      "integrity",
    );
    this.what = what;
  }
}

export class DowngradeError extends CryptoError {
  constructor(message) {
    super(message, "kdf_downgrade");
  }
}

export class KeyChanged extends CryptoError {
  constructor(message, email = null) {
    super(message, "key_changed");
    this.email = email;
  }
}

export class ConnectionFailed extends CoffreError {
  constructor(message) {
    super(message, "connection_failed");
  }
}

export class ApiError extends CoffreError {
  constructor(status, code, message, retryAfter = null) {
    super(message, code);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

export class Cancelled extends CoffreError {
  constructor(message = "cancelled") {
    super(message, "cancelled");
  }
}

/** Something asked for that is not there (a contact, a share), found on the client. */
export class NotFound extends CoffreError {
  constructor(message, code = "not_found") {
    super(message, code);
  }
}

/** A conflict found on the client, with the server's 409 codes (name_taken, not_a_file...). */
export class Conflict extends CoffreError {}
