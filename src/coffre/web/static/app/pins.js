// Contacts' public keys, pinned on first use in this browser, per account (SECURITY.md A10;
// src/coffre/client/pins.py does the same for the command line).
//
// The server relays public keys but cannot vouch for them. The first time this browser
// sees a contact's published keys (docs/crypto.md section 4) it keeps them in localStorage
// under "coffre.pins.ACCOUNT_ID"; from then on, different keys for the same account are
// refused loudly (KeyChanged) until the user compares fingerprints again and accepts the
// new keys. A contact is *verified* once its fingerprint was compared; sharing with one
// that is not needs explicit consent.

import { KeyChanged } from "../errors.js";
import { b64, fromB64, fromHex } from "../crypto/bytes.js";
import { verifyPublished } from "../crypto/identity.js";
import { equal } from "../crypto/primitives.js";

const PREFIX = "coffre.pins.";

export class Pins {
  /** `accountId` is this account's user id, in hex. */
  constructor(accountId) {
    this.key = PREFIX + accountId;
  }

  _load() {
    try {
      const raw = JSON.parse(localStorage.getItem(this.key) || "{}");
      return raw && typeof raw === "object" && !Array.isArray(raw) ? raw : {};
    } catch {
      return {};
    }
  }

  _save(pins) {
    localStorage.setItem(this.key, JSON.stringify(pins));
  }

  /** {email, published (Uint8Array), verified, pinnedAt} or null. */
  get(userId) {
    const pin = this._load()[userId];
    if (!pin || typeof pin.published !== "string") return null;
    return { email: pin.email, published: fromB64(pin.published), verified: Boolean(pin.verified), pinnedAt: pin.pinnedAt };
  }

  /** Whether `keys` (a UserKeys from the server) differ from what was pinned. */
  changed(keys) {
    const pin = this.get(keys.user_id);
    return pin !== null && !equal(pin.published, fromB64(keys.public_keys));
  }

  verified(userId) {
    const pin = this.get(userId);
    return pin !== null && pin.verified;
  }

  /** The contact's PublicIdentity: pinned now if new, refused if it changed since. */
  async check(keys) {
    const published = fromB64(keys.public_keys);
    const identity = await verifyPublished(published, fromHex(keys.user_id));
    const pins = this._load();
    const pin = pins[keys.user_id];
    if (!pin) {
      pins[keys.user_id] = { email: keys.email, published: b64(published), verified: false, pinnedAt: Date.now() / 1000 };
      this._save(pins);
    } else if (!equal(fromB64(pin.published), published)) {
      throw new KeyChanged(
        `the keys of ${keys.email} are not those this browser first saw: this may be an attack by ` +
          "the server, or a new account. Compare fingerprints with them before you share anything again.",
        keys.email,
      );
    }
    return identity;
  }

  /** Pin `keys`, replacing what was pinned (after the user compared fingerprints). */
  async acceptNew(keys, { verified }) {
    const published = fromB64(keys.public_keys);
    const identity = await verifyPublished(published, fromHex(keys.user_id));
    const pins = this._load();
    pins[keys.user_id] = { email: keys.email, published: b64(published), verified, pinnedAt: Date.now() / 1000 };
    this._save(pins);
    return identity;
  }
}
