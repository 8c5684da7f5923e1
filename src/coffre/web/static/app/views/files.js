// The file manager: breadcrumbs, list and grid views, sort, search, folders, uploads by
// picker or drag and drop, downloads (files, and folders as a zip built here), rename,
// move (drag onto a folder, or "Move to…"), copy, rubbish bin, versions, previews, links
// and sharing. It shows one's own files, or a folder someone shares with this account (a
// ShareDrive, at /shared/SHARE_ID/...), with the actions its access level allows.

import { fromHex } from "../../crypto/bytes.js";
import * as cn from "../../crypto/nodes.js";
import { app } from "../main.js";
import { Transfer, readVersion } from "../transfers.js";
import { downloadFile as download, downloadFolder as downloadZip } from "../downloads.js";
import { humanDate, humanSize, iconName, previewKind, typeLabel } from "../format.js";
import { announce, confirmDialog, dialog, h, iconImg, menuButton, notify, notifyError, promptDialog, replace } from "../ui.js";
import { addTransfer } from "./transfers.js";
import { openPreview } from "./preview.js";
import { createLinkDialog } from "./links.js";
import { shareDialog } from "./shares.js";

/**
 * What the file manager shows: {drive, uploader, base ("/files" or "/shared/SHARE_ID"),
 * rootLabel, own (one's own files), canWrite, canRemove}. Set by renderFiles.
 */
let view = null;

export function ownView() {
  return { drive: app.drive, uploader: app.uploader, base: "/files", rootLabel: "My files", own: true, canWrite: true, canRemove: true };
}

function isRoot(folder) {
  return folder.id === view.drive.root.id;
}

function href(folder) {
  return isRoot(folder) ? view.base : `${view.base}/${folder.id}`;
}

function label(folder) {
  return isRoot(folder) ? view.rootLabel : folder.name;
}

const NODE_TYPE = "application/x-coffre-node";
const prefs = {
  get view() { return localStorage.getItem("coffre.view") || "list"; },
  set view(v) { localStorage.setItem("coffre.view", v); },
  get sort() { return localStorage.getItem("coffre.sort") || "name"; },
  set sort(v) { localStorage.setItem("coffre.sort", v); },
  get desc() { return localStorage.getItem("coffre.desc") === "1"; },
  set desc(v) { localStorage.setItem("coffre.desc", v ? "1" : "0"); },
};

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

function sortEntries(entries) {
  const key = prefs.sort;
  const sign = prefs.desc ? -1 : 1;
  const by = {
    name: (a, b) => collator.compare(a.name, b.name),
    size: (a, b) => a.size - b.size || collator.compare(a.name, b.name),
    modified: (a, b) => (a.version?.mtimeMs ?? 0) - (b.version?.mtimeMs ?? 0) || collator.compare(a.name, b.name),
    type: (a, b) => collator.compare(typeLabel(a), typeLabel(b)) || collator.compare(a.name, b.name),
  }[key];
  return entries.sort((a, b) => (b.isFolder - a.isFolder) || sign * by(a, b));
}

// -- actions -----------------------------------------------------------------------------------

async function run(fn, success) {
  try {
    await fn();
    if (success) notify(success);
  } catch (error) {
    notifyError(error);
  }
}

export function downloadFile(entry, record = entry.record.version, info = entry.version, name = entry.name) {
  return download(view.drive.api, entry, record, info, name);
}

function downloadFolder(folder) {
  return downloadZip(view.drive, folder, folder.name || "Coffre");
}

async function rename(entry) {
  const name = await promptDialog(`Rename ${entry.isFolder ? "folder" : "file"}`, "New name", entry.name, "Rename");
  if (!name || name === entry.name) return;
  const { drive } = view;
  const parent = drive.get(entry.parentId);
  await run(() => drive.move(entry, parent, name), `Renamed to ${name}`);
}

function folderPicker(title, confirmLabel, exclude) {
  const { drive } = view;
  return new Promise((resolve) => {
    const list = h("ul", { class: "folder-tree", role: "radiogroup", "aria-label": "Folders" });
    const add = (folder, depth) => {
      if (exclude && folder.id === exclude.id) return;
      const id = `pick-${folder.id}`;
      list.append(h("li", { class: "depth", dataset: { depth: String(Math.min(depth, 8)) } },
        h("input", { type: "radio", name: "folder", id, value: folder.id, checked: depth === 0 }),
        h("label", { for: id }, label(folder))));
      const kids = drive.listing(folder).filter((e) => e.isFolder);
      for (const kid of kids.sort((a, b) => collator.compare(a.name, b.name))) add(kid, depth + 1);
    };
    add(drive.root, 0);
    const el = dialog(title, list, [
      h("button", { value: "", class: "button" }, "Cancel"),
      h("button", { value: "ok", class: "button primary" }, confirmLabel),
    ], { onClose: (v) => {
      const picked = el.querySelector("input[name=folder]:checked");
      resolve(v === "ok" && picked ? drive.get(picked.value) : null);
    } });
    el.querySelector("input[name=folder]")?.focus();
  });
}

async function moveTo(entry, folder) {
  if (!folder || folder.id === entry.parentId) return;
  const { drive } = view;
  await run(() => drive.move(entry, folder, entry.name), `Moved ${entry.name} to ${label(folder)}`);
}

async function copyTo(entry) {
  const folder = await folderPicker(`Copy ${entry.name} to…`, "Copy here", null);
  if (!folder) return;
  const { drive } = view;
  const name = drive.freeName(folder, entry.name);
  await run(() => drive.copy(entry, folder, name), `Copied ${entry.name}`);
}

async function trash(entry) {
  const { drive, own } = view;
  await run(() => drive.trash(entry), own ? `${entry.name} moved to the rubbish bin` : `${entry.name} moved to its owner's rubbish bin`);
}

async function newFolder(parent) {
  const name = await promptDialog("New folder", "Folder name", "", "Create");
  if (!name) return;
  const { drive } = view;
  await run(() => drive.mkdir(parent, name), `Folder ${name} created`);
}

async function showVersions(entry) {
  const { drive, canRemove } = view;
  let versions;
  try {
    versions = (await view.drive.versions(entry)).sort((a, b) => b.record.number - a.record.number);
  } catch (error) {
    notifyError(error);
    return;
  }
  const current = entry.record.version.id;
  const rows = versions.map(({ record, info }) => h("tr", {},
    h("th", { scope: "row" }, `${record.number}${record.id === current ? " (current)" : ""}`),
    h("td", {}, humanSize(info.size)),
    h("td", {}, humanDate(info.mtimeMs)),
    h("td", {}, humanDate(record.created * 1000)),
    h("td", { class: "actions" },
      h("button", { type: "button", class: "button small", "aria-label": `Download version ${record.number}`,
        onclick: () => downloadFile(entry, record, info, versionName(entry.name, record.number)) }, "Download"),
      versions.length > 1 && canRemove
        ? h("button", { type: "button", class: "button small danger", "aria-label": `Delete version ${record.number}`,
          onclick: async () => {
            if (!(await confirmDialog("Delete version", `Delete version ${record.number} of ${entry.name} for good?`, "Delete", { danger: true }))) return;
            el.close("");
            await run(() => drive.deleteVersion(entry, record.id), `Version ${record.number} deleted`);
          } }, "Delete")
        : null)));
  const el = dialog(`Versions of ${entry.name}`, h("table", { class: "table" },
    h("thead", {}, h("tr", {}, ["Version", "Size", "Modified", "Uploaded", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows)), [h("button", { value: "", class: "button" }, "Close")], { wide: true });
}

function versionName(name, number) {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? `${name.slice(0, dot)} (version ${number})${name.slice(dot)}` : `${name} (version ${number})`;
}

/** The drive's latest entry for one drawn in the list: the list is drawn again a moment
 * after a change, and a new version must not be downloaded or listed as the old one. */
function latest(shown) {
  return view.drive.get(shown.id) || shown;
}

function actions(shown, open) {
  const { canWrite, canRemove, own } = view;
  return () => {
    const entry = latest(shown);
    const file = !entry.isFolder;
    return [
      { label: file ? (previewKind(entry.version.mediaType, entry.name) ? "Preview" : "Open") : "Open", action: open },
      { label: file ? "Download" : "Download as zip", action: () => (file ? downloadFile(entry) : downloadFolder(entry)) },
      own ? { label: "Get a link…", action: () => createLinkDialog(entry) } : null,
      own && !file ? { label: "Share with a contact…", action: () => shareDialog(entry) } : null,
      canWrite ? { label: "Rename…", action: () => rename(entry) } : null,
      canWrite ? { label: "Move to…", action: async () => moveTo(entry, await folderPicker(`Move ${entry.name} to…`, "Move here", entry)) } : null,
      canWrite ? { label: "Copy to…", action: () => copyTo(entry) } : null,
      file ? { label: "Versions…", action: () => showVersions(entry) } : null,
      canRemove ? { label: "Move to rubbish bin", action: () => trash(entry), danger: true } : null,
    ];
  };
}

// -- uploads ------------------------------------------------------------------------------------

export async function upload(folder, items, title = null) {
  if (!items.length) return;
  const { drive, uploader } = view;
  const total = items.reduce((sum, { file }) => sum + file.size, 0);
  const name = title || (items.length === 1 ? items[0].path : `${items.length} files`);
  const t = addTransfer(new Transfer("upload", name, total));
  try {
    await t.run(() => uploader.upload(folder, items, t));
    if (t.state === "done") announce(`${name} uploaded`);
  } catch (error) {
    notifyError(error);
    await drive.load().catch(() => {});
  }
}

async function readEntry(entry, prefix, out) {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) {
    out.push({ file: await new Promise((resolve, reject) => entry.file(resolve, reject)), path });
  } else if (entry.isDirectory) {
    out.push({ folder: path });
    const reader = entry.createReader();
    for (;;) {
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (!batch.length) break;
      for (const child of batch) await readEntry(child, path, out);
    }
  }
}

/** Files and folders dropped from the desktop: [{file, path}], folders walked. */
async function droppedItems(dataTransfer) {
  const entries = [...dataTransfer.items].map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry()).filter(Boolean);
  if (!entries.length) return [...dataTransfer.files].map((file) => ({ file, path: file.name }));
  const out = [];
  for (const entry of entries) await readEntry(entry, "", out);
  return out;
}

async function uploadDropped(folder, dataTransfer) {
  const found = await droppedItems(dataTransfer);
  for (const { folder: path } of found.filter((f) => f.folder)) {
    await view.uploader.folder(folder, path.split("/")).catch(notifyError);
  }
  const files = found.filter((f) => f.file);
  const top = new Set(files.map(({ path }) => path.split("/")[0]));
  await upload(folder, files, top.size === 1 && files.length > 1 ? [...top][0] : null);
}

function dropTarget(el, target) {
  el.addEventListener("dragover", (event) => {
    const types = event.dataTransfer.types;
    if (types.includes(NODE_TYPE) || types.includes("Files")) {
      event.preventDefault();
      event.stopPropagation();
      event.dataTransfer.dropEffect = types.includes(NODE_TYPE) ? "move" : "copy";
      el.classList.add("drop-here");
    }
  });
  el.addEventListener("dragleave", () => el.classList.remove("drop-here"));
  el.addEventListener("drop", (event) => {
    el.classList.remove("drop-here");
    const id = event.dataTransfer.getData(NODE_TYPE);
    if (!id && !event.dataTransfer.types.includes("Files")) return;
    event.preventDefault();
    event.stopPropagation();
    const folder = typeof target === "function" ? target() : target;
    if (id) {
      const entry = view.drive.get(id);
      if (entry && entry.id !== folder.id) moveTo(entry, folder);
    } else {
      uploadDropped(folder, event.dataTransfer);
    }
  });
}

// -- thumbnails ----------------------------------------------------------------------------------
//
// Each image's thumbnail is made here from the decrypted image the first time it is shown,
// then sealed under the file's node key, bound to its node and version (docs/crypto.md,
// purpose "thumbnail"), and stored on the server, so other tabs and devices fetch a few KB
// instead of the whole image. A stored thumbnail that fails its check is not shown.

const thumbnails = new Map();
const THUMBNAIL_SOURCE_MAX_BYTES = 16 * 1024 * 1024;
let thumbQueue = Promise.resolve();

async function storedThumbnail(api, entry, versionId) {
  const sealed = await api.getThumbnail(versionId);
  if (!sealed) return null;
  const image = await cn.openThumbnail(entry.key, fromHex(entry.id), fromHex(versionId), sealed);
  return new Blob([image], { type: "image/webp" });
}

async function makeThumbnail(api, entry, versionId) {
  const blob = await readVersion(api, entry.record.version, entry.version);
  const source = URL.createObjectURL(blob);
  const image = new Image();
  image.src = source;
  try {
    await image.decode();
  } finally {
    URL.revokeObjectURL(source);
  }
  const scale = Math.min(1, 240 / Math.max(image.naturalWidth, image.naturalHeight));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(image.naturalWidth * scale));
  canvas.height = Math.max(1, Math.round(image.naturalHeight * scale));
  canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
  const small = await new Promise((resolve) => canvas.toBlob(resolve, "image/webp", 0.8));
  if (!small) return null;
  const bytes = new Uint8Array(await small.arrayBuffer());
  // Worth keeping only when smaller than the file itself (the server refuses it otherwise).
  if (bytes.length <= cn.THUMBNAIL_MAX_BYTES && bytes.length < entry.size) {
    const sealed = await cn.sealThumbnail(entry.key, fromHex(entry.id), fromHex(versionId), bytes);
    api.putThumbnail(versionId, sealed).catch((error) => {
      // A member with read access may not store one; it is made again next time.
      console.info(`thumbnail of ${entry.name} not stored: ${error}`);
    });
  }
  return small;
}

function thumbnail(entry, img) {
  const { api } = view.drive;
  const versionId = entry.record.version.id;
  if (thumbnails.has(versionId)) {
    thumbnails.get(versionId).then((url) => { if (url) img.src = url; });
    return;
  }
  const made = (thumbQueue = thumbQueue.then(async () => {
    try {
      const small = (await storedThumbnail(api, entry, versionId)) || (await makeThumbnail(api, entry, versionId));
      return small ? URL.createObjectURL(small) : null;
    } catch (error) {
      console.warn(`no thumbnail for ${entry.name}: ${error}`);
      return null;
    }
  }));
  thumbnails.set(versionId, made);
  made.then((url) => { if (url) img.src = url; });
}

// -- the view -----------------------------------------------------------------------------------

function breadcrumbs(folder) {
  const trail = view.drive.ancestors(folder);
  return h("nav", { class: "breadcrumbs", "aria-label": "Breadcrumb" },
    h("ol", {}, trail.map((f, i) => {
      const last = i === trail.length - 1;
      const a = h("a", { href: href(f), "data-link": "", "aria-current": last ? "page" : null }, label(f));
      if (view.canWrite) dropTarget(a, f);
      return h("li", {}, a);
    })));
}

function openEntry(shown) {
  const entry = latest(shown);
  if (entry.isFolder) app.navigate(href(entry));
  else if (previewKind(entry.version.mediaType, entry.name)) openPreview(entry, { api: view.drive.api, download: () => downloadFile(entry) });
  else downloadFile(entry);
}

function draggable(el, entry) {
  el.draggable = true;
  el.addEventListener("dragstart", (event) => {
    event.dataTransfer.setData(NODE_TYPE, entry.id);
    event.dataTransfer.effectAllowed = "move";
  });
}

function listView(entries, searching) {
  const head = ["Name", searching ? "Folder" : null, "Size", "Modified", "Type", "Actions"].filter(Boolean);
  const rows = entries.map((entry) => {
    const open = () => openEntry(entry);
    const nameButton = h("button", { type: "button", class: "name-button", dataset: { id: entry.id }, onclick: open },
      iconImg(iconName(entry), "entry-icon"), h("span", { class: "entry-name" }, entry.name));
    const tr = h("tr", { dataset: { id: entry.id, kind: entry.kind } },
      h("th", { scope: "row", class: "name-cell" }, nameButton),
      searching ? h("td", { class: "muted" }, view.drive.path(view.drive.get(entry.parentId))) : null,
      h("td", {}, entry.isFolder ? "" : humanSize(entry.size)),
      h("td", {}, entry.isFolder ? "" : humanDate(entry.version.mtimeMs)),
      h("td", {}, typeLabel(entry), view.own && view.drive.sharedRoots.has(entry.id) ? h("span", { class: "badge" }, "shared") : null),
      h("td", { class: "actions" }, menuButton(`Actions for ${entry.name}`, actions(entry, open))));
    if (view.canWrite) draggable(tr, entry);
    if (entry.isFolder && view.canWrite) dropTarget(tr, entry);
    return tr;
  });
  return h("table", { class: "table files-table" },
    h("caption", { class: "visually-hidden" }, "Files and folders; arrow keys move between rows, Delete moves to the rubbish bin, F2 renames"),
    h("thead", {}, h("tr", {}, head.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows));
}

function gridView(entries) {
  return h("ul", { class: "grid", "aria-label": "Files and folders" }, entries.map((entry) => {
    const open = () => openEntry(entry);
    const picture = h("span", { class: "grid-icon", "aria-hidden": "true" }, iconImg(iconName(entry), "grid-icon-img"));
    if (!entry.isFolder && previewKind(entry.version.mediaType, entry.name) === "image" && entry.size <= THUMBNAIL_SOURCE_MAX_BYTES) {
      const img = h("img", { alt: "", class: "thumbnail" });
      img.addEventListener("load", () => picture.replaceChildren(img));
      thumbnail(entry, img);
    }
    const li = h("li", { class: "grid-item", dataset: { id: entry.id, kind: entry.kind } },
      h("button", { type: "button", class: "grid-open name-button", dataset: { id: entry.id }, onclick: open },
        picture, h("span", { class: "entry-name" }, entry.name),
        h("span", { class: "muted" }, entry.isFolder ? "Folder" : humanSize(entry.size))),
      menuButton(`Actions for ${entry.name}`, actions(entry, open)));
    if (view.canWrite) draggable(li, entry);
    if (entry.isFolder && view.canWrite) dropTarget(li, entry);
    return li;
  }));
}

function keyboard(container) {
  container.addEventListener("keydown", (event) => {
    const button = event.target.closest(".name-button");
    if (!button) return;
    const all = [...container.querySelectorAll(".name-button")];
    const i = all.indexOf(button);
    const entry = view.drive.get(button.dataset.id);
    const grid = container.classList.contains("grid");
    const step = grid ? Math.max(1, Math.round(container.clientWidth / (button.parentElement.offsetWidth || 1))) : 1;
    if (event.key === "ArrowDown") all[Math.min(all.length - 1, i + step)].focus();
    else if (event.key === "ArrowUp") all[Math.max(0, i - step)].focus();
    else if (grid && event.key === "ArrowRight") all[Math.min(all.length - 1, i + 1)].focus();
    else if (grid && event.key === "ArrowLeft") all[Math.max(0, i - 1)].focus();
    else if (event.key === "Home") all[0].focus();
    else if (event.key === "End") all[all.length - 1].focus();
    else if (event.key === "Delete" && entry && view.canRemove) trash(entry);
    else if (event.key === "F2" && entry && view.canWrite) rename(entry);
    else return;
    event.preventDefault();
  });
}

function toolbar(folder, rerender) {
  const filesInput = h("input", { type: "file", multiple: true, id: "upload-files", class: "visually-hidden" });
  const folderInput = h("input", { type: "file", id: "upload-folder", class: "visually-hidden", webkitdirectory: true });
  filesInput.addEventListener("change", () => {
    const items = [...filesInput.files].map((file) => ({ file, path: file.name }));
    filesInput.value = "";
    upload(folder, items);
  });
  folderInput.addEventListener("change", () => {
    const items = [...folderInput.files].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
    folderInput.value = "";
    const top = new Set(items.map(({ path }) => path.split("/")[0]));
    upload(folder, items, top.size === 1 ? [...top][0] : null);
  });
  const viewButton = (value, label) => h("button", {
    type: "button", class: "button", "aria-pressed": String(prefs.view === value),
    onclick: () => { prefs.view = value; rerender(true); },
  }, label);
  const sort = h("select", { id: "sort", onchange: () => { prefs.sort = sort.value; rerender(true); } },
    [["name", "Name"], ["size", "Size"], ["modified", "Modified"], ["type", "Type"]].map(([v, t]) => h("option", { value: v, selected: prefs.sort === v }, t)));
  const refresh = view.own ? null : h("button", { type: "button", class: "button", onclick: async () => {
    await run(() => view.drive.load(), null);
  } }, "Refresh");
  return h("div", { class: "toolbar" },
    h("div", { class: "toolbar-group" },
      view.canWrite ? [
        h("button", { type: "button", class: "button primary", onclick: () => newFolder(folder) }, "New folder"),
        filesInput, h("label", { for: "upload-files", class: "button", tabindex: "0", role: "button", onkeydown: keyActivate }, "Upload files"),
        folderInput, h("label", { for: "upload-folder", class: "button", tabindex: "0", role: "button", onkeydown: keyActivate }, "Upload folder"),
      ] : h("p", { class: "muted" }, "You can read and download here; its owner did not let you add or change anything."),
      refresh),
    h("div", { class: "toolbar-group" },
      h("label", { for: "sort" }, "Sort by"), sort,
      h("button", { type: "button", class: "button", "aria-pressed": String(prefs.desc), "aria-label": "Descending order",
        onclick: () => { prefs.desc = !prefs.desc; rerender(true); } }, prefs.desc ? "↓" : "↑"),
      h("div", { class: "segmented", role: "group", "aria-label": "View" }, viewButton("list", "List"), viewButton("grid", "Grid"))));
}

function keyActivate(event) {
  if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    event.currentTarget.click();
  }
}

/** Show `folderId` (or the root) of `context` (default: one's own files); `query`
 * searches by name instead. */
export async function renderFiles(main, folderId, query, context = null) {
  view = context || ownView();
  const current = view;
  const { drive } = view;
  let folder = folderId ? drive.get(folderId) : drive.root;
  if (!folder || !folder.isFolder || drive.inBin(folder)) {
    replace(main, h("h1", {}, "Folder not found"), h("p", {}, "It may have been moved to the rubbish bin or deleted. ",
      h("a", { href: view.base, "data-link": "" }, `Go to ${view.own ? "your files" : view.rootLabel}`)));
    return;
  }
  const searching = Boolean(query);
  const title = searching ? `Search results for “${query}”` : label(folder);
  document.title = `${title} · Coffre`;
  const body = h("div", { class: "listing" });

  const draw = (keepFocus = false) => {
    if (!main.isConnected || view !== current) return;
    folder = folderId ? drive.get(folderId) : drive.root;
    if (!folder) { app.navigate(view.base, { replace: true }); return; }
    const focusedId = keepFocus && main.contains(document.activeElement) ? document.activeElement.dataset?.id : null;
    const entries = sortEntries(searching ? drive.search(query) : drive.listing(folder));
    replace(header, searching ? null : breadcrumbs(folder), h("h1", {}, title),
      view.own ? null : h("p", { class: "muted" }, view.subtitle));
    replace(tools, searching ? null : toolbar(folder, draw));
    const warning = drive.broken.length
      ? h("p", { class: "notice notice-error", role: "alert" },
        `${drive.broken.length} item${drive.broken.length > 1 ? "s" : ""} failed an integrity check and ${drive.broken.length > 1 ? "are" : "is"} not shown: the server changed data or gave records that are not yours, or someone wrote here who may not.`)
      : null;
    const keys = drive.keyWarnings.length
      ? h("p", { class: "notice notice-error", role: "alert" },
        `Warning: the keys of ${drive.keyWarnings.join(", ")} changed since this browser first saw them. What they write is not trusted until you compare fingerprints again (Contacts).`)
      : null;
    let content;
    if (!entries.length) {
      content = h("div", { class: "empty" }, searching ? h("p", {}, "Nothing has this name.")
        : [h("p", {}, "This folder is empty."), h("p", { class: "muted" }, "Drop files or folders here, or use Upload.")]);
    } else {
      content = prefs.view === "grid" && !searching ? gridView(entries) : listView(entries, searching);
      keyboard(content);
    }
    replace(body, keys, warning, content,
      h("p", { class: "muted summary", "aria-live": "polite" }, `${entries.length} item${entries.length === 1 ? "" : "s"}`));
    if (focusedId) main.querySelector(`.name-button[data-id="${focusedId}"]`)?.focus();
  };

  const header = h("div", { class: "page-head" });
  const tools = h("div", {});
  replace(main, header, tools, body);
  if (!searching && view.canWrite) dropTarget(main, () => folder);
  draw();
  let scheduled = false;
  const off = drive.onChange(() => {
    if (!main.isConnected || view !== current) { off(); return; }
    if (scheduled) return;
    scheduled = true;
    setTimeout(() => { scheduled = false; draw(true); }, 50);
  });
  main.focus({ preventScroll: true });
}
