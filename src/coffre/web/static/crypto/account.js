// From a password to the account's keys, and back again (src/coffre/crypto/account.py;
// docs/crypto.md section 3).
//
//   password ──Argon2id(salt, t, m, p)──▶ stretched (32 bytes)
//   stretched ──HKDF(info="coffre/v1 auth" 0x00 params)──▶ auth secret  (sent at login)
//   stretched ──HKDF(info="coffre/v1 kek"  0x00 params)──▶ key-encryption key (never leaves)
//   key-encryption key ──seal("master-key", user_id || params)──▶ wrapped master key
//   master key ──seal("identity-keys", user_id)──▶ X25519 and Ed25519 private keys
//   master key ──seal("root-key", user_id || root_id)──▶ root folder key
//   master key ──HKDF-Expand("coffre/v1 recovery-verifier")──▶ recovery verifier
//
// `params` is the 30-byte encoding of the Argon2id parameters, so other parameters give
// other keys; parameters below MINIMUM are refused before anything is derived (A2).

import { DowngradeError, UsageError } from "../errors.js";
import { concat, u32, u8, utf8 } from "./bytes.js";
import { Purpose, open, seal } from "./envelope.js";
import * as p from "./primitives.js";

export const KDF_ALGORITHM = 0x01; // Argon2id, version 0x13
export const SALT_SIZE = 16;
export const ID_SIZE = 16;
const MAX_SALT = 64;

/** Argon2id parameters and the account's salt, as stored by the server. */
export class KdfParams {
  constructor(timeCost, memoryKib, lanes, salt) {
    this.timeCost = timeCost;
    this.memoryKib = memoryKib;
    this.lanes = lanes;
    this.salt = salt;
    Object.freeze(this);
  }

  /** 0x01 || t u32 || m u32 || p u32 || salt_len u8 || salt (big-endian). */
  encode() {
    return concat(
      u8(KDF_ALGORITHM),
      u32(this.timeCost),
      u32(this.memoryKib),
      u32(this.lanes),
      u8(this.salt.length),
      this.salt,
    );
  }

  equals(other) {
    return p.equal(this.encode(), other.encode());
  }

  /** Refuse parameters weaker than `floor` (default MINIMUM) or absurdly large. */
  check(floor = null) {
    const f = floor || MINIMUM;
    if (
      this.timeCost < f.timeCost ||
      this.memoryKib < f.memoryKib ||
      this.lanes < f.lanes ||
      this.salt.length < SALT_SIZE
    ) {
      throw new DowngradeError(
        "the server offered password-hashing parameters weaker than this client accepts " +
          `(t=${this.timeCost}, m=${this.memoryKib} KiB, p=${this.lanes}, ` +
          `salt ${this.salt.length} bytes); refusing to derive keys with them`,
      );
    }
    if (
      this.timeCost > MAXIMUM.timeCost ||
      this.memoryKib > MAXIMUM.memoryKib ||
      this.lanes > MAXIMUM.lanes ||
      this.salt.length > MAX_SALT
    ) {
      throw new DowngradeError(
        "the server offered password-hashing parameters beyond what this client allows " +
          `(t=${this.timeCost}, m=${this.memoryKib} KiB, p=${this.lanes})`,
      );
    }
  }

  /** Fresh parameters with a new random salt. */
  static fresh(template = null) {
    const t = template || DEFAULT;
    return new KdfParams(t.timeCost, t.memoryKib, t.lanes, p.randomBytes(SALT_SIZE));
  }
}

export const DEFAULT = new KdfParams(3, 64 * 1024, 1, new Uint8Array(0));
export const MINIMUM = DEFAULT;
export const MAXIMUM = new KdfParams(16, 1024 * 1024, 8, new Uint8Array(0));

export function normalizePassword(password) {
  return utf8(password.normalize("NFC"));
}

/** Argon2id of the normalised `password` with `params`, refused below `floor` (A2). */
export function stretch(password, params, { floor = null } = {}) {
  params.check(floor);
  return p.argon2id(normalizePassword(password), params.salt, {
    timeCost: params.timeCost,
    memoryKib: params.memoryKib,
    lanes: params.lanes,
  });
}

/** Stretch `password` and derive {authSecret, kek}. */
export async function deriveLoginSecrets(password, params, { floor = null } = {}) {
  const stretched = await stretch(password, params, { floor });
  const encoded = params.encode();
  const [authSecret, kek] = await Promise.all([
    p.hkdf(stretched, concat(utf8("coffre/v1 auth\x00"), encoded), 32),
    p.hkdf(stretched, concat(utf8("coffre/v1 kek\x00"), encoded), 32),
  ]);
  return { authSecret, kek };
}

/** What the server stores to check an auth secret (or a recovery verifier). */
export function authHash(authSecret) {
  return p.sha256(concat(utf8("coffre/v1 auth-hash\x00"), authSecret));
}

export function newKey() {
  return p.randomBytes(32);
}

export function newId() {
  return p.randomBytes(ID_SIZE);
}

export function wrapMasterKey(kek, userId, params, masterKey) {
  return seal(kek, Purpose.MASTER_KEY, concat(userId, params.encode()), masterKey);
}

export function unwrapMasterKey(kek, userId, params, wrapped) {
  return open(kek, Purpose.MASTER_KEY, concat(userId, params.encode()), wrapped, "master key");
}

export function wrapRootKey(masterKey, userId, rootId, rootKey) {
  return seal(masterKey, Purpose.ROOT_KEY, concat(userId, rootId), rootKey);
}

export function unwrapRootKey(masterKey, userId, rootId, wrapped) {
  return open(masterKey, Purpose.ROOT_KEY, concat(userId, rootId), wrapped, "root folder key");
}

/** Proof of the master key for password reset; the key itself never leaves the client. */
export function recoveryVerifier(masterKey) {
  return p.hkdfExpand(masterKey, utf8("coffre/v1 recovery-verifier"), 32);
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function base32(bytes) {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

function fromBase32(text) {
  const out = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    const index = BASE32.indexOf(ch);
    if (index < 0) return null;
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

const RECOVERY_LABEL = utf8("coffre/v1 recovery-key\x00");

/** The master key as 11 groups of 5 base32 letters, with a 2-byte checksum. */
export async function encodeRecoveryKey(masterKey) {
  const check = (await p.sha256(concat(RECOVERY_LABEL, masterKey))).subarray(0, 2);
  const text = base32(concat(masterKey, check)).toLowerCase();
  return text.match(/.{1,5}/g).join("-");
}

export async function decodeRecoveryKey(text) {
  const letters = [...text].filter((ch) => /[\p{L}\p{N}]/u.test(ch)).join("").toUpperCase();
  const bad = new UsageError("that is not a Coffre recovery key (check for a typing mistake)");
  if (letters.length !== 55) throw bad;
  const raw = fromBase32(letters);
  if (raw === null || raw.length !== 34) throw bad;
  const key = raw.slice(0, 32);
  const check = (await p.sha256(concat(RECOVERY_LABEL, key))).subarray(0, 2);
  if (!p.equal(raw.subarray(32), check)) throw bad;
  return key;
}
