// Downloads shown in the transfer panel: one file (any version), or a folder as a zip made
// here. Each file is decrypted chunk by chunk into the origin-private file system and
// handed to the browser only once all of it checked out (app/transfers.js). Used by the
// file manager (one's own files and shared folders) and by public link pages (through the
// link's own routes: `api` is then a LinkApi).

import { Transfer, openSink, saveAs, streamVersion } from "./transfers.js";
import { ZipWriter } from "./zip.js";
import { announce, notifyError } from "./ui.js";
import { addTransfer } from "./views/transfers.js";

export async function downloadFile(api, entry, record = entry.record.version, info = entry.version, name = entry.name) {
  const t = addTransfer(new Transfer("download", name, info.size));
  try {
    await t.run(async () => {
      const sink = await openSink(info.size);
      try {
        await streamVersion(api, record, info, (bytes) => sink.write(bytes), t);
        saveAs(await sink.finish(), name);
      } catch (error) {
        await sink.abort();
        throw error;
      }
    });
    if (t.state === "done") announce(`${name} downloaded`);
  } catch (error) {
    notifyError(error);
  }
}

/** `folder` and everything below it (not in the bin) as NAME.zip. */
export async function downloadFolder(drive, folder, top = folder.name || "Coffre") {
  const items = drive.walk(folder);
  const total = items.reduce((sum, { entry }) => sum + entry.size, 0);
  const name = `${top}.zip`;
  const t = addTransfer(new Transfer("download", name, total));
  try {
    await t.run(async () => {
      const sink = await openSink(total);
      try {
        const zip = new ZipWriter(sink);
        await zip.addFolder(top, Date.now());
        for (const { path, entry } of items) {
          await t.gate();
          const where = `${top}/${path}`;
          if (entry.isFolder) await zip.addFolder(where, Date.now());
          else {
            await zip.addFile(where, entry.version.size, entry.version.mtimeMs,
              (write) => streamVersion(drive.api, entry.record.version, entry.version, write, t));
          }
        }
        await zip.finish();
        saveAs(await sink.finish(), name);
      } catch (error) {
        await sink.abort();
        throw error;
      }
    });
    if (t.state === "done") announce(`${name} downloaded`);
  } catch (error) {
    notifyError(error);
  }
}
