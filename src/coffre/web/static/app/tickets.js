// Support tickets over the HTTP API (docs/api.md, "Support"): the customer's calls and the
// staff desk's. Ticket text is plaintext to the server (the contact form says so) and is
// only ever put on the page as text, never as markup.

import { Api } from "./api.js";

export const CATEGORIES = [
  ["technical", "Technical"],
  ["billing", "Billing"],
  ["account", "Account and product"],
  ["abuse", "Abuse and copyright"],
];
export const STATES = ["new", "open", "pending", "solved", "closed"];
export const PRIORITIES = ["low", "normal", "high", "urgent"];

export function categoryLabel(category) {
  return (CATEGORIES.find(([value]) => value === category) || [category, category])[1];
}

/** An API client for a ticket filed without an account: its access token in a header. */
export function tokenApi(token) {
  return new Api({ headers: { "x-coffre-ticket-token": token } });
}

/** Files chosen in an <input type=file>, read into the request's attachment form. */
export async function readAttachments(input) {
  const files = [];
  for (const file of input.files || []) {
    files.push({ name: file.name, type: file.type || "application/octet-stream", data: new Uint8Array(await file.arrayBuffer()) });
  }
  return files;
}

/** Save an attachment as a download (the server always sends it as one, never inline). */
export async function download(api, path, name) {
  const response = await api.request("GET", path);
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// -- the customer's side ------------------------------------------------------------------------
export const file = (api, body) => api.json("POST", "/v1/support/tickets", { json: body });
export const mine = async (api) => (await api.json("GET", "/v1/support/tickets")).tickets;
export const show = (api, id) => api.json("GET", `/v1/support/tickets/${id}`);
export const reply = (api, id, body) => api.json("POST", `/v1/support/tickets/${id}/replies`, { json: body });
export const close = (api, id) => api.json("POST", `/v1/support/tickets/${id}/state`, { json: { state: "closed" } });
export const attachmentPath = (id, attachmentId) => `/v1/support/tickets/${id}/attachments/${attachmentId}`;

// -- the staff desk -------------------------------------------------------------------------------
export const queue = async (api, query) => (await api.json("GET", "/v1/staff/tickets", { query })).tickets;
export const deskAgents = async (api) => (await api.json("GET", "/v1/staff/agents")).agents;
export const deskShow = (api, id) => api.json("GET", `/v1/staff/tickets/${id}`);
export const deskReply = (api, id, body) => api.json("POST", `/v1/staff/tickets/${id}/replies`, { json: body });
export const deskNote = (api, id, body) => api.json("POST", `/v1/staff/tickets/${id}/notes`, { json: body });
export const deskUpdate = (api, id, changes) => api.json("PATCH", `/v1/staff/tickets/${id}`, { json: changes, idempotent: false });
export const deskMerge = (api, id, into) => api.json("POST", `/v1/staff/tickets/${id}/merge`, { json: { into } });
export const deskAudit = async (api, id) => (await api.json("GET", `/v1/staff/tickets/${id}/audit`)).entries;
export const deskAttachmentPath = (id, attachmentId) => `/v1/staff/tickets/${id}/attachments/${attachmentId}`;
export const staffMe = (api) => api.json("GET", "/v1/staff/me");
export const cannedList = async (api) => (await api.json("GET", "/v1/staff/canned")).replies;
export const cannedCreate = (api, body) => api.json("POST", "/v1/staff/canned", { json: body });
export const cannedChange = (api, id, body) => api.json("PUT", `/v1/staff/canned/${id}`, { json: body });
export const cannedDelete = (api, id) => api.json("DELETE", `/v1/staff/canned/${id}`);
