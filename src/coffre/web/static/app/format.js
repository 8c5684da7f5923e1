// How things are written for people: sizes, dates, types.

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function humanSize(n) {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

export function humanSpeed(bytesPerSecond) {
  return bytesPerSecond > 0 ? `${humanSize(Math.round(bytesPerSecond))}/s` : "";
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function humanDate(ms) {
  if (!Number.isFinite(ms)) return "";
  return dateFormat.format(new Date(ms));
}

const TYPES = {
  txt: "text/plain", md: "text/markdown", csv: "text/csv", json: "application/json",
  html: "text/html", css: "text/css", js: "text/javascript", py: "text/x-python", xml: "text/xml",
  log: "text/plain", pdf: "application/pdf", png: "image/png", jpg: "image/jpeg",
  jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp", svg: "image/svg+xml",
  bmp: "image/bmp", avif: "image/avif", mp3: "audio/mpeg", ogg: "audio/ogg", wav: "audio/wav",
  flac: "audio/flac", m4a: "audio/mp4", mp4: "video/mp4", webm: "video/webm", mov: "video/quicktime",
  zip: "application/zip", gz: "application/gzip", tar: "application/x-tar",
};

/** A media type from a file name, for files the browser gives no type. */
export function guessType(name) {
  const dot = name.lastIndexOf(".");
  return (dot > 0 && TYPES[name.slice(dot + 1).toLowerCase()]) || "application/octet-stream";
}

/** What a preview can show: "image", "text", "pdf", "audio", "video" or null. */
export function previewKind(mediaType, name = "") {
  const type = (mediaType || guessType(name)).toLowerCase();
  if (type.startsWith("image/")) return "image";
  if (type.startsWith("audio/")) return "audio";
  if (type.startsWith("video/")) return "video";
  if (type === "application/pdf") return "pdf";
  if (type.startsWith("text/") || ["application/json", "application/xml", "application/javascript"].includes(type)) {
    return "text";
  }
  return null;
}

export function typeLabel(entry) {
  if (entry.isFolder) return "Folder";
  const kind = previewKind(entry.version.mediaType, entry.name);
  const names = { image: "Image", audio: "Audio", video: "Video", pdf: "PDF", text: "Text" };
  return names[kind] || "File";
}

/** The name of the icon (static/icons/NAME.svg) for an entry. */
export function iconName(entry) {
  if (entry.isFolder) return "folder";
  return previewKind(entry.version.mediaType, entry.name) || "file";
}
