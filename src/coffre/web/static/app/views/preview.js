// Previews: images, text, PDF, audio and video, decrypted here into memory (files up to
// PREVIEW_LIMIT) and shown from a blob: URL that is revoked when the preview closes.
// A file that fails its integrity check shows the error and nothing of its content.

import { app } from "../main.js";
import { readVersion } from "../transfers.js";
import { fromUtf8 } from "../../crypto/bytes.js";
import { humanSize, previewKind } from "../format.js";
import { describe, dialog, h, replace } from "../ui.js";

const PREVIEW_LIMIT = 256 * 1024 * 1024;
const TEXT_LIMIT = 2 * 1024 * 1024;

export function openPreview(entry, { download, api = app.api }) {
  const kind = previewKind(entry.version.mediaType, entry.name);
  const area = h("div", { class: "preview", "aria-busy": "true" }, h("p", { role: "status" }, `Decrypting ${entry.name}…`));
  let url = null;
  const controller = { cancelled: false };
  dialog(entry.name, area, [
    h("button", { type: "button", class: "button", onclick: download }, "Download"),
    h("button", { value: "", class: "button primary" }, "Close"),
  ], { wide: true, onClose: () => { controller.cancelled = true; if (url) URL.revokeObjectURL(url); } });
  (async () => {
    if (entry.size > PREVIEW_LIMIT) {
      replace(area, h("p", {}, `This file is too large to preview (${humanSize(entry.size)}). Download it instead.`));
      return;
    }
    let blob;
    try {
      blob = await readVersion(api, entry.record.version, entry.version);
    } catch (error) {
      replace(area, h("p", { class: "form-error", role: "alert" }, describe(error)));
      return;
    } finally {
      area.removeAttribute("aria-busy");
    }
    if (controller.cancelled) return;
    if (kind === "text") {
      const bytes = new Uint8Array(await blob.slice(0, TEXT_LIMIT).arrayBuffer());
      let text;
      try {
        text = fromUtf8(bytes);
      } catch {
        text = new TextDecoder().decode(bytes);
      }
      replace(area, h("pre", { class: "preview-text", tabindex: "0", "aria-label": `Contents of ${entry.name}` }, text),
        blob.size > TEXT_LIMIT ? h("p", { class: "muted" }, "Only the beginning is shown.") : null);
      return;
    }
    url = URL.createObjectURL(blob);
    if (kind === "image") replace(area, h("img", { src: url, alt: entry.name, class: "preview-image" }));
    else if (kind === "audio") replace(area, h("audio", { src: url, controls: true, "aria-label": entry.name }));
    else if (kind === "video") replace(area, h("video", { src: url, controls: true, class: "preview-video", "aria-label": entry.name }));
    else if (kind === "pdf") replace(area, h("iframe", { src: url, title: entry.name, class: "preview-pdf" }));
  })();
}
