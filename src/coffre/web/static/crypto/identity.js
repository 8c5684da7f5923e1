// The account's identity: an X25519 key for receiving and an Ed25519 key for signing
// (src/coffre/crypto/identity.py; docs/crypto.md section 4).
//
//   statement = 0x01 || user_id(16) || x25519_public(32) || ed25519_public(32)     (81 bytes)
//   signature = Ed25519(ed25519_private, "coffre/v1 public-keys" 0x00 || statement)
//   published = statement || signature                                               (145 bytes)
//
// At every login the client checks that the published statement names the account,
// carries a valid signature, and matches the private keys it has just decrypted (A1).

import { IntegrityError } from "../errors.js";
import { concat, utf8 } from "./bytes.js";
import { Purpose, open, seal } from "./envelope.js";
import * as p from "./primitives.js";

export const STATEMENT_VERSION = 0x01;
export const STATEMENT_SIZE = 1 + 16 + 32 + 32;
export const PUBLISHED_SIZE = STATEMENT_SIZE + 64;
const SIGNING_LABEL = utf8("coffre/v1 public-keys\x00");
const FINGERPRINT_LABEL = utf8("coffre/v1 fingerprint\x00");

export class PublicIdentity {
  constructor(userId, x25519, ed25519) {
    this.userId = userId;
    this.x25519 = x25519;
    this.ed25519 = ed25519;
    Object.freeze(this);
  }

  statement() {
    return concat(Uint8Array.of(STATEMENT_VERSION), this.userId, this.x25519, this.ed25519);
  }

  equals(other) {
    return p.equal(this.statement(), other.statement());
  }

  /** 60 decimal digits in 12 groups, to be read aloud and compared (like Signal's). */
  async fingerprint() {
    const digest = await p.sha256(concat(FINGERPRINT_LABEL, this.statement()));
    let number = 0n;
    for (const byte of digest.subarray(0, 25)) number = (number << 8n) | BigInt(byte);
    const digits = (number % 10n ** 60n).toString().padStart(60, "0");
    return digits.match(/.{5}/g).join(" ");
  }
}

export class Identity {
  constructor(userId, x25519Private, ed25519Private) {
    this.userId = userId;
    this.x25519Private = x25519Private;
    this.ed25519Private = ed25519Private;
    Object.freeze(this);
  }

  static generate(userId) {
    return new Identity(userId, p.x25519Generate(), p.ed25519Generate());
  }

  async public() {
    return new PublicIdentity(
      this.userId,
      await p.x25519Public(this.x25519Private),
      await p.ed25519Public(this.ed25519Private),
    );
  }

  sign(label, message) {
    return p.ed25519Sign(this.ed25519Private, concat(label, message));
  }

  async publish() {
    const statement = (await this.public()).statement();
    return concat(statement, await this.sign(SIGNING_LABEL, statement));
  }

  seal(masterKey) {
    return seal(
      masterKey,
      Purpose.IDENTITY_KEYS,
      this.userId,
      concat(this.x25519Private, this.ed25519Private),
    );
  }

  static async open(masterKey, userId, sealed) {
    const raw = await open(masterKey, Purpose.IDENTITY_KEYS, userId, sealed, "identity keys");
    if (raw.length !== 64) throw new IntegrityError("identity keys");
    return new Identity(userId, raw.slice(0, 32), raw.slice(32));
  }
}

/** Check a published statement's layout, owner and self-signature. */
export async function verifyPublished(published, userId) {
  const what = "published public keys";
  if (published.length !== PUBLISHED_SIZE || published[0] !== STATEMENT_VERSION) {
    throw new IntegrityError(what);
  }
  const statement = published.subarray(0, STATEMENT_SIZE);
  const signature = published.subarray(STATEMENT_SIZE);
  if (!p.equal(statement.subarray(1, 17), userId)) throw new IntegrityError(what);
  const identity = new PublicIdentity(
    statement.slice(1, 17),
    statement.slice(17, 49),
    statement.slice(49, 81),
  );
  try {
    await p.ed25519Verify(identity.ed25519, signature, concat(SIGNING_LABEL, statement));
  } catch {
    throw new IntegrityError(what);
  }
  return identity;
}

/** At login: the published keys must be exactly those our private keys give. */
export async function checkOwnIdentity(identity, published) {
  const pub = await verifyPublished(published, identity.userId);
  if (!pub.equals(await identity.public())) throw new IntegrityError("published public keys");
}
