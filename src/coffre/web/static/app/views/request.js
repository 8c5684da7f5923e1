// The page of an upload-only link (a file request): /s/LINK_ID#PUBLIC_KEY.
//
// Anyone with the link can send files into its owner's folder and see nothing in it. Each
// file gets a fresh node key, which is encrypted in this browser to the request's X25519
// public key (the part after #) and then forgotten; the name and the version facts are
// sealed under the node key, the content under a fresh content key, as for any upload
// (docs/crypto.md section 9). Once sent, not even this page can open the file again.

import { ApiError, CoffreError, LocalError } from "../../errors.js";
import { fromHex, hex } from "../../crypto/bytes.js";
import * as ca from "../../crypto/account.js";
import * as cl from "../../crypto/links.js";
import * as cn from "../../crypto/nodes.js";
import * as cs from "../../crypto/stream.js";
import { guessType, humanSize } from "../format.js";
import { readSlice } from "../transfers.js";
import { describe, h, replace } from "../ui.js";

const RANGE_BYTES = 4 << 20; // chunks per PUT, as the CLI sends them

/** Encrypt `file` for the request's owner and upload it; `progress(bytes)` as it goes. */
async function sendFile(reader, publicKey, pub, file, progress) {
  const linkId = fromHex(reader.linkId);
  const folderId = fromHex(pub.folder_id);
  const nodeId = ca.newId();
  const nodeKey = ca.newKey();
  const contentKey = ca.newKey();
  const contentId = ca.newId();
  const versionId = ca.newId();
  const chunkSize = cs.DEFAULT_CHUNK_SIZE;
  const size = file.size;
  const cipher = await cs.ContentCipher.create(contentKey, contentId, chunkSize);
  const n = cs.chunkCount(size, chunkSize);
  const state = await reader.startUpload({
    node: {
      id: hex(nodeId),
      parent_id: pub.folder_id,
      key: await cl.sealToRequest(publicKey, linkId, nodeId, nodeKey),
      meta: await cn.sealMeta(nodeKey, nodeId, folderId, cn.Kind.FILE, file.name),
      name_tag: hex(ca.newId()), // the owner's client names it properly later
    },
    version: {
      id: hex(versionId),
      header: cipher.header.encode(),
      content_id: hex(contentId),
      chunk_size: chunkSize,
      chunk_count: n,
      size: cs.ciphertextSize(size, chunkSize),
    },
  });
  const digests = [];
  const perRequest = Math.max(1, Math.floor(RANGE_BYTES / chunkSize));
  for (let first = 0; first < n; first += perRequest) {
    const count = Math.min(perRequest, n - first);
    const start = first * chunkSize;
    const end = Math.min(size, (first + count) * chunkSize);
    const plaintext = await readSlice(file, start, end);
    if (plaintext.length !== end - start) throw new LocalError(`${file.name}: the file changed while it was read`);
    const sealed = [];
    for (let i = 0; i < count; i++) {
      const index = first + i;
      const piece = plaintext.subarray(i * chunkSize, Math.min(plaintext.length, (i + 1) * chunkSize));
      digests.push(await cs.chunkDigest(piece));
      sealed.push(await cipher.encryptChunk(index, piece, index === n - 1));
    }
    await reader.putChunks(state.id, first, new Blob(sealed));
    progress(plaintext.length);
  }
  const info = {
    contentKey,
    contentId,
    size,
    mtimeMs: file.lastModified,
    mediaType: file.type || guessType(file.name),
    contentHash: await cs.contentHash(digests),
    chunkSize,
  };
  await reader.commitUpload(state.id, await cn.sealVersion(nodeKey, nodeId, versionId, info));
}

function problemText(error) {
  if (error instanceof ApiError) {
    switch (error.code) {
      case "storage_quota_exceeded":
      case "quota_exceeded":
        return "The owner's storage is full: this file was not sent.";
      case "name_taken":
        return "Try again: the upload collided with another.";
      case "too_many_requests":
        return "Too many uploads from here: wait a while, then try again.";
      default:
        break;
    }
  }
  return error instanceof CoffreError ? describe(error) : String(error);
}

/** The upload page. `card(...)` frames it like the other link pages. */
export function showRequest(main, reader, pub, publicKey, card) {
  document.title = "Send files · Coffre";
  const list = h("ul", { class: "request-files", "aria-label": "Files sent" });
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const input = h("input", { id: "request-files", name: "files", type: "file", multiple: true });
  const submit = h("button", { type: "submit", class: "button primary" }, "Send");
  const form = h("form", { class: "auth-form request-form" },
    h("div", { class: "field" }, h("label", { for: "request-files" }, "Files to send"), input,
      h("p", { class: "hint" }, "Or drop files on this card.")),
    submit, status);
  let busy = false;

  const send = async (files) => {
    if (busy || !files.length) return;
    busy = true;
    submit.disabled = true;
    form.setAttribute("aria-busy", "true");
    let sent = 0;
    for (const file of files) {
      const state = h("span", { class: "request-state" }, "encrypting…");
      list.append(h("li", { dataset: { name: file.name } }, h("span", { class: "entry-name" }, file.name), ` (${humanSize(file.size)}) `, state));
      let done = 0;
      try {
        await sendFile(reader, publicKey, pub, file, (bytes) => {
          done += bytes;
          state.textContent = file.size ? `${Math.floor((100 * done) / file.size)}%` : "…";
        });
        state.textContent = "sent";
        state.dataset.state = "sent";
        sent += 1;
      } catch (error) {
        state.textContent = `not sent: ${problemText(error)}`;
        state.dataset.state = "failed";
        state.setAttribute("role", "alert");
      }
    }
    status.textContent = `${sent} of ${files.length} file${files.length === 1 ? "" : "s"} sent.`;
    busy = false;
    submit.disabled = false;
    form.removeAttribute("aria-busy");
    input.value = "";
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send([...(input.files || [])]);
  });
  const page = card(
    h("h1", {}, "Send files"),
    h("p", {}, "Someone asked you to send them files. What you send is encrypted in this browser for them alone: once sent, you cannot see or download it again, and you see nothing else of their folder."),
    form, list);
  page.addEventListener("dragover", (event) => { event.preventDefault(); page.classList.add("drop"); });
  page.addEventListener("dragleave", () => page.classList.remove("drop"));
  page.addEventListener("drop", (event) => {
    event.preventDefault();
    page.classList.remove("drop");
    send([...(event.dataTransfer?.files || [])].filter((f) => f.size > 0 || f.type));
  });
  replace(main, page);
  main.dataset.state = "request";
}
