// Shared folders: the "Share with a contact" dialog, and the Shared page: folders shared
// with you (accept after the owner's signature is checked with their pinned key, open,
// leave) and folders you share (change the level, stop sharing: both renew the folder's
// keys when they take write access away).

import { app } from "../main.js";
import { KeyChanged } from "../../errors.js";
import { LEVEL_NAMES, openIncoming, openSharedFolder, revoke, shareFolder } from "../sharing.js";
import { confirmDialog, describe, dialog, h, notify, notifyError, replace } from "../ui.js";

const LEVEL_OPTIONS = [["read", LEVEL_NAMES.read], ["write", LEVEL_NAMES.write], ["full", LEVEL_NAMES.full]];
const RANK = { read: 1, write: 2, full: 3 };

function changedMessage(email) {
  return `The keys of ${email} changed since this browser first saw them: this may be an attack by the server, ` +
    "or they made a new account. Compare fingerprints with them again (Contacts) before you share anything.";
}

/** Ask for consent before sharing with a contact whose fingerprint was not compared; refuse
 * one whose keys changed. Returns {allowUnverified} or null (do not share). */
async function consent(keys, { existing = false } = {}) {
  const pins = app.drive.pins;
  if (pins.changed(keys)) {
    notify(changedMessage(keys.email), { kind: "error" });
    return null;
  }
  if (pins.verified(keys.user_id)) return { allowUnverified: false };
  if (existing) return { allowUnverified: true }; // agreed to when the folder was first shared
  const ok = await confirmDialog(`${keys.email} is not verified`,
    `You have not compared fingerprints with ${keys.email}, so this browser cannot be sure that the keys it ` +
    "encrypts to are theirs (the server could have swapped them). Verify them in Contacts first, or share anyway.",
    "Share anyway");
  return ok ? { allowUnverified: true } : null;
}

async function share(folder, keys, access, { existing = false } = {}) {
  const ok = await consent(keys, { existing });
  if (!ok) return false;
  await shareFolder(app.drive, folder, keys, access, ok);
  await app.drive.load();
  notify(`Shared ${folder.name} with ${keys.email} (${LEVEL_NAMES[access].toLowerCase()}).`);
  return true;
}

export async function shareDialog(folder) {
  let contacts;
  try {
    contacts = (await app.api.contacts()).contacts;
  } catch (error) {
    notifyError(error);
    return;
  }
  const pins = app.drive.pins;
  if (!contacts.length) {
    dialog(`Share ${folder.name}`, h("p", {}, "You have no contacts yet: invite someone first, on the ",
      h("a", { href: "/contacts", "data-link": "" }, "Contacts"), " page."), [h("button", { value: "", class: "button primary" }, "Close")]);
    return;
  }
  const error = h("p", { class: "form-error", role: "alert" });
  const who = h("select", { id: "share-contact" }, contacts.map((c) => h("option", { value: c.user_id },
    `${c.email}${pins.changed(c) ? " (keys changed!)" : pins.verified(c.user_id) ? " (verified)" : " (not verified)"}`)));
  const access = h("select", { id: "share-access" }, LEVEL_OPTIONS.map(([v, t]) => h("option", { value: v }, t)));
  const go = h("button", { type: "button", class: "button primary" }, "Share");
  const el = dialog(`Share ${folder.name}`, h("div", {},
    h("p", {}, "The folder's key is encrypted to your contact's public key and signed by you: the server cannot read it."),
    h("div", { class: "field" }, h("label", { for: "share-contact" }, "Contact"), who),
    h("div", { class: "field" }, h("label", { for: "share-access" }, "Access"), access,
      h("p", { class: "hint" }, "Read: see and download. Read and write: also add and change. Full: also remove.")),
    error), [h("button", { value: "", class: "button" }, "Cancel"), go]);
  go.addEventListener("click", async () => {
    error.textContent = "";
    const c = contacts.find((x) => x.user_id === who.value);
    const keys = { user_id: c.user_id, email: c.email, public_keys: c.public_keys };
    go.disabled = true;
    try {
      if (await share(folder, keys, access.value)) el.close("");
    } catch (err) {
      error.textContent = err instanceof KeyChanged ? changedMessage(keys.email) : describe(err);
    } finally {
      go.disabled = false;
    }
  });
}

// -- the Shared page -----------------------------------------------------------------------------

async function incomingRow(info, redraw) {
  const owner = info.owner.email;
  let name = null;
  let problem = null;
  try {
    name = (await openSharedFolder(await openIncoming(app.drive, info))).name;
  } catch (error) {
    problem = error instanceof KeyChanged ? changedMessage(owner) : describe(error);
  }
  const label = name || "(cannot be opened)";
  const buttons = [];
  if (!problem && !info.accepted) {
    buttons.push(h("button", { type: "button", class: "button small primary", "aria-label": `Accept ${label} from ${owner}`, onclick: async () => {
      try {
        await openIncoming(app.drive, info); // the owner's signature, with their pinned key, first
        await app.api.acceptShare(info.id);
        notify(`You can now open ${label}.`);
        await redraw();
      } catch (error) {
        notifyError(error);
      }
    } }, "Accept"));
  }
  if (!problem && info.accepted) {
    buttons.push(h("a", { href: `/shared/${info.id}`, class: "button small primary", "data-link": "", "aria-label": `Open ${label} from ${owner}` }, "Open"));
  }
  buttons.push(h("button", { type: "button", class: "button small danger", "aria-label": `Leave ${label} from ${owner}`, onclick: async () => {
    if (!(await confirmDialog(info.accepted ? "Leave shared folder" : "Decline shared folder",
      `Stop receiving ${label} from ${owner}?`, info.accepted ? "Leave" : "Decline", { danger: true }))) return;
    try {
      await app.api.removeShare(info.id);
      await redraw();
    } catch (error) {
      notifyError(error);
    }
  } }, info.accepted ? "Leave" : "Decline"));
  return h("tr", { dataset: { id: info.id } },
    h("th", { scope: "row", class: "name-cell" }, h("span", { class: "entry-name" }, label),
      problem ? h("p", { class: "form-error" }, problem) : null),
    h("td", {}, owner),
    h("td", {}, LEVEL_NAMES[info.access]),
    h("td", {}, info.accepted ? "Accepted" : "Waiting for you"),
    h("td", { class: "actions" }, buttons));
}

function outgoingRow(info, redraw) {
  const drive = app.drive;
  const folder = drive.get(info.folder_id);
  const where = folder ? drive.path(folder) : "(deleted)";
  const member = info.member;
  const changed = drive.pins.changed(member);
  const level = h("select", { "aria-label": `Access of ${member.email} to ${where}`, disabled: !folder },
    LEVEL_OPTIONS.map(([v, t]) => h("option", { value: v, selected: v === info.access }, t)));
  level.addEventListener("change", async () => {
    const wanted = level.value;
    const lowering = RANK[info.access] >= RANK.write && RANK[wanted] < RANK.write;
    if (lowering && !(await confirmDialog("Take write access away",
      `${member.email} will only read ${where}. The folder and everything in it get new keys first; this can take a while for a large folder.`, "Change"))) {
      level.value = info.access;
      return;
    }
    level.disabled = true;
    try {
      if (await share(folder, member, wanted, { existing: true })) await redraw();
      else level.value = info.access;
    } catch (error) {
      level.value = info.access;
      notifyError(error);
    } finally {
      level.disabled = false;
    }
  });
  const stop = h("button", { type: "button", class: "button small danger", "aria-label": `Stop sharing ${where} with ${member.email}`, onclick: async () => {
    if (!(await confirmDialog("Stop sharing",
      `${member.email} will lose access to ${where}. The folder and everything in it get new keys, so that what is written from now on stays out of their reach (what they could read before, they may have kept).`,
      "Stop sharing", { danger: true }))) return;
    stop.disabled = true;
    try {
      if (folder) await revoke(drive, folder, member);
      else await app.api.removeShare(info.id);
      notify(`${member.email} no longer has access to ${where}.`);
      await redraw();
    } catch (error) {
      notifyError(error);
      stop.disabled = false;
    }
  } }, "Stop sharing");
  return h("tr", { dataset: { id: info.id } },
    h("th", { scope: "row", class: "name-cell" }, h("span", { class: "entry-name" }, where)),
    h("td", {}, member.email, changed ? h("strong", { class: "danger-text" }, " (keys changed!)") : null),
    h("td", {}, level),
    h("td", {}, info.accepted ? "Accepted" : "Pending"),
    h("td", { class: "actions" }, stop));
}

export async function renderShares(main) {
  document.title = "Shared · Coffre";
  const draw = async () => {
    let listing;
    try {
      listing = await app.api.shares();
    } catch (error) {
      notifyError(error);
      return;
    }
    const incoming = await Promise.all(listing.incoming.map((info) => incomingRow(info, draw)));
    const outgoing = listing.outgoing.map((info) => outgoingRow(info, draw));
    if (!main.isConnected) return;
    const table = (caption, heads, rows) => h("table", { class: "table" },
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows));
    replace(main,
      h("div", { class: "page-head" }, h("h1", {}, "Shared folders")),
      h("section", { class: "section", "aria-labelledby": "incoming-title" },
        h("h2", { id: "incoming-title" }, "Shared with you"),
        incoming.length
          ? table("Folders shared with you", ["Folder", "Owner", "Access", "State", "Actions"], incoming)
          : h("p", { class: "muted" }, "Nobody shares a folder with you yet.")),
      h("section", { class: "section", "aria-labelledby": "outgoing-title" },
        h("h2", { id: "outgoing-title" }, "Shared by you"),
        outgoing.length
          ? table("Folders you share", ["Folder", "With", "Access", "State", "Actions"], outgoing)
          : h("p", { class: "muted" }, "You share no folder yet: use “Share with a contact…” in a folder's actions.")));
  };
  await draw();
  main.focus({ preventScroll: true });
}
