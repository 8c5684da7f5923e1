// Account flows in the browser: signup, login, password change, recovery
// (src/coffre/client/account.py). The password never leaves the browser: Argon2id runs in
// a Web Worker, and the server gets only the auth secret and sealed envelopes. Login never
// decrypts anything for the server's benefit (SECURITY.md A3).
//
// A signed-in tab keeps its session token and master key in sessionStorage (this tab only,
// gone when it closes) so that a reload does not ask for the password again; logging out
// clears them. docs/web.md discusses this choice.

import { IntegrityError } from "../errors.js";
import { b64, fromB64, fromHex, hex } from "../crypto/bytes.js";
import * as ca from "../crypto/account.js";
import { Identity, checkOwnIdentity } from "../crypto/identity.js";

const STORAGE_KEY = "coffre.session";

export function normalizeEmail(email) {
  return email.trim().toLowerCase();
}

function params(model) {
  return new ca.KdfParams(model.time_cost, model.memory_kib, model.lanes, fromB64(model.salt));
}

function model(p) {
  return { algorithm: "argon2id", time_cost: p.timeCost, memory_kib: p.memoryKib, lanes: p.lanes, salt: p.salt };
}

/** A short name for this session, as the sessions list shows it ("Coffre web, Chrome on Linux"). */
function device() {
  const ua = navigator.userAgent;
  const browser = (/(Edg|Firefox|Chrome|Safari)\//.exec(ua) || [null, "a browser"])[1].replace("Edg", "Edge");
  const os = (/(Windows|Android|iPhone|iPad|Mac OS X|Linux|CrOS)/.exec(ua) || [null, ""])[1].replace("Mac OS X", "macOS");
  return `Coffre web, ${browser}${os ? ` on ${os}` : ""}`.slice(0, 100);
}

/** The opened keys of a signed-in account. Never logged, never sent. */
export class AccountKeys {
  constructor({ userId, email, masterKey, identity, rootId, rootKey }) {
    Object.assign(this, { userId, email, masterKey, identity, rootId, rootKey });
    Object.freeze(this);
  }

  toString() {
    return `AccountKeys(${this.email}, <keys hidden>)`;
  }
}

/** Open the identity and root keys under `masterKey`, checking what binds them. */
export async function openKeys(masterKey, bundle) {
  const userId = fromHex(bundle.user_id);
  const rootId = fromHex(bundle.root_id);
  const identity = await Identity.open(masterKey, userId, fromB64(bundle.identity_keys));
  await checkOwnIdentity(identity, fromB64(bundle.public_keys));
  const rootKey = await ca.unwrapRootKey(masterKey, userId, rootId, fromB64(bundle.root_key));
  return new AccountKeys({ userId, email: bundle.email, masterKey, identity, rootId, rootKey });
}

export async function signup(api, email, password) {
  const p = ca.KdfParams.fresh();
  const secrets = await ca.deriveLoginSecrets(password, p);
  const userId = ca.newId();
  const rootId = ca.newId();
  const masterKey = ca.newKey();
  const rootKey = ca.newKey();
  const identity = Identity.generate(userId);
  const response = await api.signup({
    email,
    user_id: hex(userId),
    kdf: model(p),
    auth_secret: secrets.authSecret,
    recovery_verifier: await ca.recoveryVerifier(masterKey),
    master_key: await ca.wrapMasterKey(secrets.kek, userId, p, masterKey),
    identity_keys: await identity.seal(masterKey),
    public_keys: await identity.publish(),
    root_id: hex(rootId),
    root_key: await ca.wrapRootKey(masterKey, userId, rootId, rootKey),
    device: device(),
  });
  return { response, keys: await openKeys(masterKey, response.keys) };
}

/** Log in. With two-factor authentication on, `totp` is the code; without one, the server
 * asks for it and `askCode()` (a promise of the code, if given) is awaited for it. */
export async function login(api, email, password, { totp = null, askCode = null } = {}) {
  const p = params((await api.prelogin(email)).kdf);
  const secrets = await ca.deriveLoginSecrets(password, p);
  const request = { email, auth_secret: secrets.authSecret, device: device() };
  let response;
  try {
    response = await api.login(totp ? { ...request, totp } : request);
  } catch (error) {
    if (error.code !== "two_factor_required" || totp || !askCode) throw error;
    response = await api.login({ ...request, totp: await askCode() });
  }
  const bundle = response.keys;
  if (!params(bundle.kdf).equals(p) || bundle.email !== normalizeEmail(email)) {
    throw new IntegrityError("account key bundle");
  }
  const masterKey = await ca.unwrapMasterKey(secrets.kek, fromHex(bundle.user_id), p, fromB64(bundle.master_key));
  return { response, keys: await openKeys(masterKey, bundle) };
}

export async function changePassword(api, keys, oldPassword, newPassword) {
  const current = params((await api.prelogin(keys.email)).kdf);
  const old = await ca.deriveLoginSecrets(oldPassword, current);
  const p = ca.KdfParams.fresh();
  const fresh = await ca.deriveLoginSecrets(newPassword, p);
  await api.changePassword({
    auth_secret: old.authSecret,
    kdf: model(p),
    new_auth_secret: fresh.authSecret,
    master_key: await ca.wrapMasterKey(fresh.kek, keys.userId, p, keys.masterKey),
  });
}

/** Set a new password with the recovery key; the key is checked against the account's
 * keys before anything is changed. Every session of the account ends. */
export async function recover(api, email, recoveryKey, newPassword) {
  const masterKey = await ca.decodeRecoveryKey(recoveryKey);
  const verifier = await ca.recoveryVerifier(masterKey);
  const bundle = await api.recoveryKeys({ email, recovery_verifier: verifier });
  await openKeys(masterKey, bundle);
  const userId = fromHex(bundle.user_id);
  const p = ca.KdfParams.fresh();
  const fresh = await ca.deriveLoginSecrets(newPassword, p);
  const response = await api.recover({
    email,
    recovery_verifier: verifier,
    kdf: model(p),
    auth_secret: fresh.authSecret,
    master_key: await ca.wrapMasterKey(fresh.kek, userId, p, masterKey),
    device: device(),
  });
  if (response.keys.user_id !== bundle.user_id) throw new IntegrityError("account key bundle");
  return { response, keys: await openKeys(masterKey, response.keys) };
}

// -- this tab's saved session -------------------------------------------------------------------

export function save(response, keys) {
  sessionStorage.setItem(
    STORAGE_KEY,
    JSON.stringify({ token: response.token, sessionId: response.session_id, masterKey: b64(keys.masterKey) }),
  );
}

export function saved() {
  try {
    const value = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
    return value && typeof value.token === "string" ? value : null;
  } catch {
    return null;
  }
}

export function forget() {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** Reopen the saved session: fetch the key bundle with the token and open it again. */
export async function resume(api, stored) {
  api.token = stored.token;
  const bundle = await api.keys();
  return { sessionId: stored.sessionId, keys: await openKeys(fromB64(stored.masterKey), bundle) };
}
