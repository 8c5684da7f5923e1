// The one module that calls WebCrypto (and, through a Web Worker, hash-wasm's Argon2id):
// the browser's counterpart of src/coffre/crypto/_primitives.py.
//
// - AES-256-GCM (12-byte nonce, 16-byte tag), the only cipher;
// - HKDF-SHA256, full (extract and expand) and expand-only (RFC 5869 section 2.3, built
//   from HMAC because WebCrypto's HKDF always extracts first);
// - HMAC-SHA256 and SHA-256;
// - Argon2id (hash-wasm, in a Web Worker so that the page stays responsive);
// - X25519 and Ed25519. WebCrypto imports their private keys as PKCS#8, not raw: the
//   32 raw bytes go after a fixed 16-byte DER header, and public keys come out of a JWK.
//
// Functions take and return Uint8Array; all are async.

import { concat, fromB64, fromHex, u8 } from "./bytes.js";

const subtle = globalThis.crypto.subtle;
export const KEY_SIZE = 32;
export const NONCE_SIZE = 12;
export const TAG_SIZE = 16;

/** A tag, a commitment or a signature did not verify. Never shown to users as is. */
export class AuthenticationFailed extends Error {}

export function randomBytes(n) {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) globalThis.crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

/** Constant-time comparison (for equal lengths). */
export function equal(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export async function sha256(data) {
  return new Uint8Array(await subtle.digest("SHA-256", data));
}

async function hmacKey(key) {
  return subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

export async function hmacSha256(key, data) {
  return new Uint8Array(await subtle.sign("HMAC", await hmacKey(key), data));
}

/** HKDF-SHA256 (RFC 5869) with extract and expand; an empty salt means 32 zero bytes. */
export async function hkdf(ikm, info, length, salt = new Uint8Array(0)) {
  const key = await subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const bits = await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, length * 8);
  return new Uint8Array(bits);
}

/** HKDF-Expand-SHA256 alone, for `key` that is already a uniformly random 256-bit key. */
export async function hkdfExpand(key, info, length) {
  if (length > 255 * 32) throw new RangeError("HKDF-Expand length too large");
  const prk = await hmacKey(key);
  const out = new Uint8Array(length);
  let previous = new Uint8Array(0);
  for (let i = 1, offset = 0; offset < length; i++) {
    previous = new Uint8Array(await subtle.sign("HMAC", prk, concat(previous, info, u8(i))));
    out.set(previous.subarray(0, Math.min(32, length - offset)), offset);
    offset += 32;
  }
  return out;
}

// -- Argon2id ------------------------------------------------------------------------------

let argon2Backend = null;

/** Replace how Argon2id runs (the worker calls hash-wasm directly). */
export function setArgon2Backend(fn) {
  argon2Backend = fn;
}

function workerArgon2(request) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("../worker/argon2.js", import.meta.url));
    worker.onmessage = (event) => {
      worker.terminate(); // frees the 64 MiB or more of WebAssembly memory at once
      if (event.data.error) reject(new Error(event.data.error));
      else resolve(new Uint8Array(event.data.result));
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error("the password hasher (hash-wasm) could not be loaded from this server; " +
        "its operator must run `npm ci` in src/coffre/web (make does)"));
    };
    worker.postMessage(request);
  });
}

/** Argon2id (RFC 9106), version 0x13, 32-byte output, no secret and no associated data. */
export async function argon2id(password, salt, { timeCost, memoryKib, lanes }) {
  const request = { password, salt, timeCost, memoryKib, lanes };
  return (argon2Backend || workerArgon2)(request);
}

// -- AES-256-GCM ---------------------------------------------------------------------------

/** AES-256-GCM under one key; constructing it once and reusing it saves the key import. */
export class Aead {
  constructor(key) {
    if (key.length !== KEY_SIZE) throw new RangeError("AES-256-GCM keys are 32 bytes");
    this._key = subtle.importKey("raw", key, "AES-GCM", false, ["encrypt", "decrypt"]);
  }

  async encrypt(nonce, plaintext, associatedData) {
    const params = { name: "AES-GCM", iv: nonce, additionalData: associatedData, tagLength: 128 };
    return new Uint8Array(await subtle.encrypt(params, await this._key, plaintext));
  }

  async decrypt(nonce, ciphertext, associatedData) {
    const params = { name: "AES-GCM", iv: nonce, additionalData: associatedData, tagLength: 128 };
    const key = await this._key;
    try {
      return new Uint8Array(await subtle.decrypt(params, key, ciphertext));
    } catch {
      throw new AuthenticationFailed();
    }
  }
}

// -- X25519 and Ed25519 ---------------------------------------------------------------------

const PKCS8_ED25519 = fromHex("302e020100300506032b657004220420");
const PKCS8_X25519 = fromHex("302e020100300506032b656e04220420");

async function importPrivate(raw, algorithm, usages) {
  if (raw.length !== 32) throw new RangeError(`${algorithm} private keys are 32 bytes`);
  const header = algorithm === "Ed25519" ? PKCS8_ED25519 : PKCS8_X25519;
  return subtle.importKey("pkcs8", concat(header, raw), { name: algorithm }, true, usages);
}

async function publicOf(raw, algorithm, usages) {
  const jwk = await subtle.exportKey("jwk", await importPrivate(raw, algorithm, usages));
  return fromB64(jwk.x);
}

/** A new raw 32-byte X25519 private key. */
export function x25519Generate() {
  return randomBytes(32);
}

export function x25519Public(privateKey) {
  return publicOf(privateKey, "X25519", ["deriveBits"]);
}

export async function x25519Shared(privateKey, peerPublic) {
  const priv = await importPrivate(privateKey, "X25519", ["deriveBits"]);
  const pub = await subtle.importKey("raw", peerPublic, { name: "X25519" }, false, []);
  return new Uint8Array(await subtle.deriveBits({ name: "X25519", public: pub }, priv, 256));
}

/** A new raw 32-byte Ed25519 private key (the seed). */
export function ed25519Generate() {
  return randomBytes(32);
}

export function ed25519Public(privateKey) {
  return publicOf(privateKey, "Ed25519", ["sign"]);
}

export async function ed25519Sign(privateKey, message) {
  const key = await importPrivate(privateKey, "Ed25519", ["sign"]);
  return new Uint8Array(await subtle.sign({ name: "Ed25519" }, key, message));
}

// The encodings of Ed25519's points of small order, the sign bit aside (three of them also
// as y + p): libsodium's list. A key or an R among them gives a "signature" that holds for
// many messages (the neutral point as both, with S = 0, for every message); libsodium, and
// so the Python client, refuses them, where WebCrypto may not.
const SMALL_ORDER = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
].map(fromHex);

function smallOrder(point) {
  return SMALL_ORDER.some((bad) => bad.every((byte, i) => (i === 31 ? point[i] & 0x7f : point[i]) === byte));
}

/** Whether a point's y, the sign bit aside, is below p = 2^255 - 19. */
function canonical(point) {
  if ((point[31] & 0x7f) !== 0x7f) return true;
  for (let i = 30; i > 0; i -= 1) if (point[i] !== 0xff) return true;
  return point[0] < 0xed;
}

export async function ed25519Verify(publicKey, signature, message) {
  if (
    publicKey.length !== 32 ||
    signature.length !== 64 ||
    !canonical(publicKey) ||
    smallOrder(publicKey) ||
    smallOrder(signature.subarray(0, 32))
  ) {
    throw new AuthenticationFailed();
  }
  let ok = false;
  try {
    const key = await subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    ok = await subtle.verify({ name: "Ed25519" }, key, signature, message);
  } catch {
    ok = false;
  }
  if (!ok) throw new AuthenticationFailed();
}

