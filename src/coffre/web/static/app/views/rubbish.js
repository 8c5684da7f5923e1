// The rubbish bin: what was put there (with the folder it came from), restore, delete for
// good, empty the bin.

import { app } from "../main.js";
import { humanDate, humanSize, iconName, typeLabel } from "../format.js";
import { confirmDialog, h, iconImg, notify, notifyError, replace } from "../ui.js";

export async function renderRubbish(main) {
  document.title = "Rubbish bin · Coffre";
  const drive = app.drive;
  const draw = () => {
    if (!main.isConnected) return;
    const entries = drive.rubbish().sort((a, b) => (b.record.trashed || 0) - (a.record.trashed || 0));
    const empty = h("button", { type: "button", class: "button danger", disabled: !entries.length, onclick: async () => {
      if (!(await confirmDialog("Empty the rubbish bin", `Delete ${entries.length} item${entries.length === 1 ? "" : "s"} for good? This cannot be undone.`, "Empty the bin", { danger: true }))) return;
      try {
        await drive.emptyRubbish();
        notify("The rubbish bin is empty.");
      } catch (error) {
        notifyError(error);
      }
    } }, "Empty rubbish bin");
    const rows = entries.map((entry) => {
      const from = drive.get(entry.parentId);
      return h("tr", { dataset: { id: entry.id } },
        h("th", { scope: "row", class: "name-cell" }, iconImg(iconName(entry), "entry-icon"), " ", h("span", { class: "entry-name" }, entry.name)),
        h("td", {}, from ? drive.path(from) : ""),
        h("td", {}, entry.isFolder ? typeLabel(entry) : humanSize(entry.size)),
        h("td", {}, humanDate(entry.record.trashed * 1000)),
        h("td", { class: "actions" },
          h("button", { type: "button", class: "button small", "aria-label": `Restore ${entry.name}`, onclick: async () => {
            try {
              await drive.restore(entry);
              notify(`${entry.name} restored`);
            } catch (error) {
              notifyError(error);
            }
          } }, "Restore"),
          h("button", { type: "button", class: "button small danger", "aria-label": `Delete ${entry.name} for good`, onclick: async () => {
            if (!(await confirmDialog("Delete for good", `Delete ${entry.name} for good? This cannot be undone.`, "Delete", { danger: true }))) return;
            try {
              await drive.deleteForGood(entry);
              notify(`${entry.name} deleted for good`);
            } catch (error) {
              notifyError(error);
            }
          } }, "Delete for good")));
    });
    replace(main,
      h("div", { class: "page-head" }, h("h1", {}, "Rubbish bin")),
      h("div", { class: "toolbar" }, h("p", { class: "muted" }, "Items here still count against your storage until the bin is emptied."), empty),
      entries.length
        ? h("table", { class: "table" },
          h("thead", {}, h("tr", {}, ["Name", "From", "Size", "Binned", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, rows))
        : h("div", { class: "empty" }, h("p", {}, "The rubbish bin is empty.")));
  };
  draw();
  const off = drive.onChange(() => (main.isConnected ? draw() : off()));
  main.focus({ preventScroll: true });
}
