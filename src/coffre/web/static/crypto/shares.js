// Shared folders: a folder key sent to a contact, and writers' signatures
// (src/coffre/crypto/shares.py; docs/crypto.md section 10).
//
// The share envelope carries a folder key from its owner to a member, encrypted to the
// member's X25519 key and signed with the owner's Ed25519 key (SECURITY.md A10, A11):
//
//   offset  size  field
//   0       1     suite: 0x01 = X25519 + HKDF-SHA256 + AES-256-GCM, Ed25519 signature
//   1       32    ephemeral X25519 public key E
//   33      12    nonce, random
//   45      32    commitment
//   77      48    AES-256-GCM ciphertext of the folder key (32) and its tag (16)
//   125     64    Ed25519 signature
//
//   AD        = 0x01 || share_id || owner_id || member_id || folder_id || access(1)
//   okm       = HKDF-SHA256(X25519(e, member_x25519), salt = E || member_x25519,
//                           info = "coffre/v1 share" 0x00 || AD, 64)
//   signature = Ed25519(owner, "coffre/v1 share-signature" 0x00 || AD || bytes 1..125)
//
// Writers' signatures: inside a shared folder every node and version carries its writer's
// Ed25519 signature over
//
//   node:    "coffre/v1 node-signature" 0x00 || node_id || parent_id || kind
//            || SHA-256(key envelope) || SHA-256(name envelope)
//   version: "coffre/v1 version-signature" 0x00 || node_id || version_id
//            || SHA-256(version envelope) || SHA-256(content header)
//
// Every client signs every node and version it writes, shared or not.

import { IntegrityError } from "../errors.js";
import { concat, u8, utf8 } from "./bytes.js";
import * as p from "./primitives.js";

export const SUITE_X25519 = 0x01;
export const ENVELOPE_SIZE = 1 + 32 + 12 + 32 + 48 + 64;
const INFO = utf8("coffre/v1 share\x00");
const SIGNING = utf8("coffre/v1 share-signature\x00");
const NODE_LABEL = utf8("coffre/v1 node-signature\x00");
const VERSION_LABEL = utf8("coffre/v1 version-signature\x00");
const WHAT = "share";

export const Access = Object.freeze({ READ: 1, WRITE: 2, FULL: 3 });
export const LEVELS = Object.freeze({ read: Access.READ, write: Access.WRITE, full: Access.FULL });

/** What a share says in the clear ({shareId, ownerId, memberId, folderId, access}); all of
 * it is bound into the envelope. */
export class ShareFacts {
  constructor(shareId, ownerId, memberId, folderId, access) {
    Object.assign(this, { shareId, ownerId, memberId, folderId, access });
    Object.freeze(this);
  }

  associatedData() {
    return concat(u8(SUITE_X25519), this.shareId, this.ownerId, this.memberId, this.folderId, u8(this.access));
  }
}

async function keys(shared, ephemeral, memberX25519, ad) {
  const okm = await p.hkdf(shared, concat(INFO, ad), 64, concat(ephemeral, memberX25519));
  return { aead: new p.Aead(okm.subarray(0, 32)), commitment: okm.slice(32, 64) };
}

/**
 * Seal `folderKey` for `member` (a PublicIdentity), signed by `owner` (an Identity).
 * `ephemeralPrivate` and `nonce` are for test vectors only; leave them to the defaults.
 */
export async function sealShare(owner, member, facts, folderKey, { ephemeralPrivate, nonce } = {}) {
  if (!p.equal(facts.ownerId, owner.userId) || !p.equal(facts.memberId, member.userId)) {
    throw new RangeError("the share's facts name other people than its keys");
  }
  const e = ephemeralPrivate || p.x25519Generate();
  const ephemeral = await p.x25519Public(e);
  const shared = await p.x25519Shared(e, member.x25519);
  const ad = facts.associatedData();
  const { aead, commitment } = await keys(shared, ephemeral, member.x25519, ad);
  const n = nonce || p.randomBytes(p.NONCE_SIZE);
  const body = concat(ephemeral, n, commitment, await aead.encrypt(n, folderKey, ad));
  return concat(u8(SUITE_X25519), body, await owner.sign(SIGNING, concat(ad, body)));
}

/** Check that `owner` (a PublicIdentity) signed this share with these facts. */
export async function verifyShare(owner, facts, envelope) {
  if (envelope.length !== ENVELOPE_SIZE || envelope[0] !== SUITE_X25519) throw new IntegrityError(WHAT);
  if (!p.equal(facts.ownerId, owner.userId)) throw new IntegrityError(WHAT);
  try {
    await p.ed25519Verify(owner.ed25519, envelope.subarray(125),
      concat(SIGNING, facts.associatedData(), envelope.subarray(1, 125)));
  } catch {
    throw new IntegrityError(WHAT);
  }
}

/** The folder key, from a share the owner signed for this member (an Identity). */
export async function openShare(member, owner, facts, envelope) {
  await verifyShare(owner, facts, envelope);
  if (!p.equal(facts.memberId, member.userId)) throw new IntegrityError(WHAT);
  const ephemeral = envelope.slice(1, 33);
  const nonce = envelope.slice(33, 45);
  const commitment = envelope.subarray(45, 77);
  const ciphertext = envelope.slice(77, 125);
  let shared;
  try {
    shared = await p.x25519Shared(member.x25519Private, ephemeral);
  } catch {
    throw new IntegrityError(WHAT);
  }
  const ad = facts.associatedData();
  const { aead, commitment: expected } = await keys(shared, ephemeral, (await member.public()).x25519, ad);
  if (!p.equal(commitment, expected)) throw new IntegrityError(WHAT);
  let key;
  try {
    key = await aead.decrypt(nonce, ciphertext, ad);
  } catch {
    throw new IntegrityError(WHAT);
  }
  if (key.length !== 32) throw new IntegrityError(WHAT);
  return key;
}

// -- writers' signatures ---------------------------------------------------------------------

export async function nodeStatement(nodeId, parentId, kind, keyEnvelope, metaEnvelope) {
  return concat(NODE_LABEL, nodeId, parentId, u8(kind), await p.sha256(keyEnvelope), await p.sha256(metaEnvelope));
}

export async function versionStatement(nodeId, versionId, envelope, header) {
  return concat(VERSION_LABEL, nodeId, versionId, await p.sha256(envelope), await p.sha256(header));
}

export async function signNode(writer, nodeId, parentId, kind, keyEnvelope, metaEnvelope) {
  return writer.sign(new Uint8Array(0), await nodeStatement(nodeId, parentId, kind, keyEnvelope, metaEnvelope));
}

export async function verifyNode(writer, signature, nodeId, parentId, kind, keyEnvelope, metaEnvelope) {
  try {
    await p.ed25519Verify(writer.ed25519, signature, await nodeStatement(nodeId, parentId, kind, keyEnvelope, metaEnvelope));
  } catch {
    throw new IntegrityError("writer's signature");
  }
}

export async function signVersion(writer, nodeId, versionId, envelope, header) {
  return writer.sign(new Uint8Array(0), await versionStatement(nodeId, versionId, envelope, header));
}

export async function verifyVersion(writer, signature, nodeId, versionId, envelope, header) {
  try {
    await p.ed25519Verify(writer.ed25519, signature, await versionStatement(nodeId, versionId, envelope, header));
  } catch {
    throw new IntegrityError("writer's signature");
  }
}
