// Contacts: your fingerprint and theirs (60 digits in 12 groups, to compare by voice or in
// person), invitations both ways, and verification. Keys are pinned in this browser the
// first time they are seen (app/pins.js); keys that change afterwards get a loud warning
// and block sharing until the fingerprints are compared again.

import { app } from "../main.js";
import { fromB64, fromHex } from "../../crypto/bytes.js";
import { verifyPublished } from "../../crypto/identity.js";
import { KeyChanged } from "../../errors.js";
import { confirmDialog, describe, dialog, h, notify, notifyError, replace } from "../ui.js";

async function fingerprintOf(keys) {
  return (await verifyPublished(fromB64(keys.public_keys), fromHex(keys.user_id))).fingerprint();
}

function fingerprintBlock(id, text, labelText) {
  return h("div", { class: "fingerprint-block" },
    h("p", { class: "fingerprint-label", id: `${id}-label` }, labelText),
    h("code", { id, class: "fingerprint", tabindex: "0", "aria-labelledby": `${id}-label` }, text));
}

async function verifyDialog(keys, changed, redraw) {
  const mine = await (await app.keys.identity.public()).fingerprint();
  const theirs = await fingerprintOf(keys);
  const confirmLabel = changed ? "Trust the new keys" : "The fingerprints match";
  const el = dialog(`Verify ${keys.email}`, h("div", {},
    changed ? h("p", { class: "notice notice-error", role: "alert" },
      `The keys of ${keys.email} are not those this browser first saw. Trust the new ones only if ${keys.email} reads you exactly this fingerprint (they may have a new account, or the server may be attacking).`) : null,
    h("p", {}, `Call ${keys.email} or meet them. Each of you reads your own fingerprint aloud while the other compares it with what their screen shows. Mark them verified only if every digit matches.`),
    fingerprintBlock("verify-theirs", theirs, `${keys.email}'s fingerprint`),
    fingerprintBlock("verify-mine", mine, "Your fingerprint")),
  [h("button", { value: "", class: "button" }, "Cancel"), h("button", { value: "ok", class: changed ? "button danger" : "button primary" }, confirmLabel)],
  { wide: true, onClose: async (value) => {
    if (value !== "ok") return;
    try {
      await app.drive.pins.acceptNew(keys, { verified: true });
      notify(`${keys.email} is verified.`);
      await app.drive.load();
      await redraw();
    } catch (error) {
      notifyError(error);
    }
  } });
  return el;
}

function invitationsSection(listing, redraw) {
  const act = (fn, message) => async () => {
    try {
      await fn();
      if (message) notify(message);
      await redraw();
    } catch (error) {
      notifyError(error);
    }
  };
  const rows = [
    ...listing.incoming.map((i) => h("tr", { dataset: { id: i.id } },
      h("th", { scope: "row" }, i.email), h("td", {}, "invited you"),
      h("td", { class: "actions" },
        h("button", { type: "button", class: "button small primary", "aria-label": `Accept the invitation from ${i.email}`, onclick: act(async () => {
          const keys = await app.api.acceptInvitation(i.id);
          await app.drive.pins.check(keys); // pinned now, on first sight
        }, `${i.email} is a contact. Compare fingerprints with them, then mark them verified.`) }, "Accept"),
        h("button", { type: "button", class: "button small", "aria-label": `Decline the invitation from ${i.email}`, onclick: act(() => app.api.declineInvitation(i.id), "Invitation declined.") }, "Decline")))),
    ...listing.outgoing.map((i) => h("tr", { dataset: { id: i.id } },
      h("th", { scope: "row" }, i.email), h("td", {}, "invitation sent"),
      h("td", { class: "actions" },
        h("button", { type: "button", class: "button small", "aria-label": `Withdraw the invitation to ${i.email}`, onclick: act(() => app.api.declineInvitation(i.id), "Invitation withdrawn.") }, "Withdraw")))),
  ];
  const error = h("p", { class: "form-error", role: "alert" });
  const input = h("input", { id: "invite-email", name: "invite-email", type: "email", required: true, autocomplete: "off", spellcheck: "false" });
  const form = h("form", { class: "invite-form" },
    h("div", { class: "field" }, h("label", { for: "invite-email" }, "Invite by email"),
      h("div", { class: "copy-row" }, input, h("button", { type: "submit", class: "button primary" }, "Invite")),
      h("p", { class: "hint" }, "Once they accept, you can share folders with each other. The server does not say whether the address has an account.")),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const invitation = await app.api.invite(input.value.trim());
      notify(`Invited ${invitation.email}.`);
      await redraw();
    } catch (err) {
      error.textContent = err.code === "already_contacts" ? "You are contacts already." : describe(err);
    }
  });
  return h("section", { class: "card", "aria-labelledby": "invitations-title" },
    h("h2", { id: "invitations-title" }, "Invitations"), form,
    rows.length ? h("table", { class: "table" }, h("caption", { class: "visually-hidden" }, "Invitations"), h("tbody", {}, rows)) : null);
}

export async function renderContacts(main) {
  document.title = "Contacts · Coffre";
  const draw = async () => {
    let listing;
    try {
      listing = await app.api.contacts();
    } catch (error) {
      notifyError(error);
      return;
    }
    const pins = app.drive.pins;
    const changed = [];
    const rows = [];
    for (const c of listing.contacts) {
      const keys = { user_id: c.user_id, email: c.email, public_keys: c.public_keys };
      let state;
      let fingerprint;
      try {
        fingerprint = await fingerprintOf(keys);
        await pins.check(keys);
        state = pins.verified(c.user_id) ? "Verified" : "Not verified";
      } catch (error) {
        if (!(error instanceof KeyChanged)) {
          rows.push(h("tr", {}, h("th", { scope: "row" }, c.email), h("td", { colspan: "3", class: "form-error" }, describe(error))));
          continue;
        }
        state = "KEYS CHANGED";
        changed.push(c.email);
      }
      const isChanged = state === "KEYS CHANGED";
      rows.push(h("tr", { dataset: { id: c.user_id, state: isChanged ? "changed" : state === "Verified" ? "verified" : "unverified" } },
        h("th", { scope: "row" }, c.email),
        h("td", { class: isChanged ? "danger-text" : state === "Verified" ? "ok-text" : "" }, isChanged ? h("strong", {}, state) : state),
        h("td", {}, h("code", { class: "fingerprint small" }, fingerprint)),
        h("td", { class: "actions" },
          state === "Verified" ? null : h("button", { type: "button", class: isChanged ? "button small danger" : "button small primary", "aria-label": `Verify ${c.email}`,
            onclick: () => verifyDialog(keys, isChanged, draw) }, "Verify…"),
          h("button", { type: "button", class: "button small", "aria-label": `Remove ${c.email} from your contacts`, onclick: async () => {
            if (!(await confirmDialog("Remove contact", `Remove ${c.email} from your contacts? Folders you share with each other stay shared until you stop sharing them.`, "Remove", { danger: true }))) return;
            try {
              await app.api.removeContact(c.user_id);
              await draw();
            } catch (error) {
              notifyError(error);
            }
          } }, "Remove"))));
    }
    const mine = await (await app.keys.identity.public()).fingerprint();
    if (!main.isConnected) return;
    replace(main,
      h("div", { class: "page-head" }, h("h1", {}, "Contacts")),
      changed.length ? h("div", { class: "notice notice-error banner", role: "alert" },
        h("p", {}, h("strong", {}, "Warning: "), `the keys of ${changed.join(", ")} changed since this browser first saw them. `,
          "This may be an attack by the server, or a new account. Nothing will be shared with them, and what they write in your shared folders is not trusted, until you compare fingerprints again and verify them.")) : null,
      h("div", { class: "cards" },
        h("section", { class: "card", "aria-labelledby": "you-title" },
          h("h2", { id: "you-title" }, "Your fingerprint"),
          fingerprintBlock("my-fingerprint", mine, "Read it to a contact who verifies you:"),
          h("p", { class: "hint" }, "It is computed from your public keys. If someone reads you a different one for your account, the server is not giving them your keys.")),
        invitationsSection(listing, draw)),
      h("section", { class: "section", "aria-labelledby": "contacts-title" },
        h("h2", { id: "contacts-title" }, "Your contacts"),
        rows.length
          ? h("table", { class: "table contacts-table" },
            h("caption", { class: "visually-hidden" }, "Contacts, whether you verified them, and their fingerprints"),
            h("thead", {}, h("tr", {}, ["Contact", "State", "Their fingerprint", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, rows))
          : h("p", { class: "muted" }, "No contacts yet: invite someone above.")));
  };
  await draw();
  main.focus({ preventScroll: true });
}
