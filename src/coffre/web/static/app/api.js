// The HTTP API (docs/api.md) as async calls: the browser's src/coffre/client/api.py.
//
// Errors come back as ApiError (with the server's stable `code`) or ConnectionFailed.
// Idempotent requests (GET, PUT, DELETE) are retried with exponential backoff when the
// server cannot be reached or answers 502/503/504, for up to `retryFor` milliseconds;
// other requests are sent once. Binary fields travel as URL-safe base64.

import { ApiError, Cancelled, ConnectionFailed } from "../errors.js";
import { b64 } from "../crypto/bytes.js";

const RETRY_STATUS = new Set([502, 503, 504]);

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new Cancelled());
    });
  });
}

/** JSON with Uint8Array values written as URL-safe base64. */
export function toJson(value) {
  return JSON.stringify(value, (_key, v) => (v instanceof Uint8Array ? b64(v) : v));
}

export class Api {
  constructor({ base = "", token = null, retryFor = 20000, onUnauthenticated = null, headers = {} } = {}) {
    this.base = base;
    this.token = token;
    this.headers = headers;
    this.retryFor = retryFor;
    this.onUnauthenticated = onUnauthenticated;
  }

  async request(method, path, { json, body, query, idempotent, signal, contentType } = {}) {
    const retry = idempotent ?? ["GET", "PUT", "DELETE", "HEAD"].includes(method);
    const deadline = Date.now() + (retry ? this.retryFor : 0);
    let delay = 100;
    let url = this.base + path;
    if (query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) params.set(k, String(v));
      const text = params.toString();
      if (text) url += `?${text}`;
    }
    const headers = { ...this.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let payload = body;
    if (json !== undefined) {
      headers["content-type"] = "application/json";
      payload = toJson(json);
    } else if (body !== undefined) {
      headers["content-type"] = contentType || "application/octet-stream";
    }
    for (;;) {
      let response;
      try {
        response = await fetch(url, { method, headers, body: payload, signal, cache: "no-store", credentials: "omit" });
      } catch (error) {
        if (signal?.aborted) throw new Cancelled();
        if (Date.now() + delay > deadline) {
          throw new ConnectionFailed(`cannot reach the Coffre server (${error.message || error})`);
        }
        await sleep(delay * (0.5 + Math.random()), signal);
        delay = Math.min(delay * 2, 5000);
        continue;
      }
      if (response.status < 400) return response;
      if (!RETRY_STATUS.has(response.status) || Date.now() + delay > deadline) {
        throw await this._error(response);
      }
      await sleep(delay * (0.5 + Math.random()), signal);
      delay = Math.min(delay * 2, 5000);
    }
  }

  async _error(response) {
    let code = "http_error";
    let message = `the server answered ${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.error && typeof body.error.code === "string") {
        code = body.error.code;
        message = String(body.error.message);
      }
    } catch {
      if (RETRY_STATUS.has(response.status)) code = "unavailable";
    }
    const retryAfter = response.headers.get("retry-after");
    const error = new ApiError(response.status, code, message, retryAfter ? Number(retryAfter) : null);
    if (response.status === 401 && code === "invalid_session" && this.onUnauthenticated) {
      this.onUnauthenticated(error);
    }
    return error;
  }

  async json(method, path, options = {}) {
    const response = await this.request(method, path, options);
    if (response.status === 204) return null;
    return response.json();
  }

  // -- accounts -------------------------------------------------------------------------------
  prelogin(email) { return this.json("POST", "/v1/auth/prelogin", { json: { email } }); }
  signup(request) { return this.json("POST", "/v1/auth/signup", { json: request }); }
  login(request) { return this.json("POST", "/v1/auth/login", { json: request }); }
  recoveryKeys(request) { return this.json("POST", "/v1/auth/recover/keys", { json: request }); }
  recover(request) { return this.json("POST", "/v1/auth/recover", { json: request }); }
  logout() { return this.json("POST", "/v1/auth/logout", { idempotent: false }); }
  account() { return this.json("GET", "/v1/account"); }
  keys() { return this.json("GET", "/v1/account/keys"); }
  usage() { return this.json("GET", "/v1/account/usage"); }
  changePassword(request) { return this.json("POST", "/v1/account/password", { json: request }); }
  sessions() { return this.json("GET", "/v1/sessions"); }
  revokeSession(id) { return this.json("DELETE", `/v1/sessions/${id}`); }

  // -- the tree ---------------------------------------------------------------------------------
  async *allNodes(limit = 10000) {
    let after;
    for (;;) {
      const page = await this.json("GET", "/v1/nodes", { query: { after, limit } });
      yield* page.nodes;
      if (!page.cursor) return;
      after = page.cursor;
    }
  }
  node(id) { return this.json("GET", `/v1/nodes/${id}`); }
  async children(id, nameTag) {
    return (await this.json("GET", `/v1/nodes/${id}/children`, { query: { name_tag: nameTag } })).nodes;
  }
  mkdir(newNode) { return this.json("POST", "/v1/nodes", { json: newNode }); }
  move(id, body) { return this.json("PATCH", `/v1/nodes/${id}`, { json: body }); }
  copy(nodes) { return this.json("POST", "/v1/nodes/copy", { json: { nodes } }); }
  trash(id) { return this.json("POST", `/v1/nodes/${id}/trash`); }
  restore(id) { return this.json("POST", `/v1/nodes/${id}/restore`); }
  deleteNode(id) { return this.json("DELETE", `/v1/nodes/${id}`); }
  async rubbish() { return (await this.json("GET", "/v1/rubbish")).nodes; }
  emptyRubbish() { return this.json("POST", "/v1/rubbish/empty", { idempotent: true }); }
  async versions(id) { return (await this.json("GET", `/v1/nodes/${id}/versions`)).versions; }
  deleteVersion(id) { return this.json("DELETE", `/v1/versions/${id}`); }
  putThumbnail(versionId, sealed) {
    return this.request("PUT", `/v1/versions/${versionId}/thumbnail`, { body: sealed });
  }
  /** A version's sealed thumbnail, or null if it has none. */
  async getThumbnail(versionId) {
    try {
      const response = await this.request("GET", `/v1/versions/${versionId}/thumbnail`);
      return new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      if (error instanceof ApiError && error.code === "thumbnail_not_found") return null;
      throw error;
    }
  }

  // -- transfers ----------------------------------------------------------------------------------
  startUpload(request, signal) { return this.json("POST", "/v1/uploads", { json: request, signal }); }
  uploadState(id) { return this.json("GET", `/v1/uploads/${id}`); }
  putChunk(id, index, data, signal) {
    return this.request("PUT", `/v1/uploads/${id}/chunks/${index}`, { body: data, signal });
  }
  putChunks(id, first, data, signal) {
    return this.request("PUT", `/v1/uploads/${id}/chunks`, { query: { first }, body: data, signal });
  }
  commitUpload(id, envelope, signature, signal) {
    return this.json("POST", `/v1/uploads/${id}/commit`, { json: { envelope, signature }, signal });
  }
  cancelUpload(id) { return this.json("DELETE", `/v1/uploads/${id}`); }
  async smallFiles(files, signal) {
    return (await this.json("POST", "/v1/files/small", { json: { files }, signal })).nodes;
  }
  async getChunks(versionId, first, count, signal) {
    const response = count === 1
      ? await this.request("GET", `/v1/versions/${versionId}/chunks/${first}`, { signal })
      : await this.request("GET", `/v1/versions/${versionId}/chunks`, { query: { first, count }, signal });
    return new Uint8Array(await response.arrayBuffer());
  }

  // -- public links (the owner's side) ------------------------------------------------------------
  createLink(request) { return this.json("POST", "/v1/links", { json: request }); }
  async links() { return (await this.json("GET", "/v1/links")).links; }
  revokeLink(id) { return this.json("DELETE", `/v1/links/${id}`); }

  // -- contacts and shared folders ------------------------------------------------------------------
  userKeys(userId) { return this.json("GET", `/v1/users/${userId}/keys`); }
  contacts() { return this.json("GET", "/v1/contacts"); }
  invite(email) { return this.json("POST", "/v1/contacts/invitations", { json: { email } }); }
  acceptInvitation(id) { return this.json("POST", `/v1/contacts/invitations/${id}/accept`); }
  declineInvitation(id) { return this.json("DELETE", `/v1/contacts/invitations/${id}`); }
  removeContact(userId) { return this.json("DELETE", `/v1/contacts/${userId}`); }
  share(request) { return this.json("POST", "/v1/shares", { json: request }); }
  shares() { return this.json("GET", "/v1/shares"); }
  acceptShare(id) { return this.json("POST", `/v1/shares/${id}/accept`); }
  removeShare(id) { return this.json("DELETE", `/v1/shares/${id}`); }
  async shareMembers(id) { return (await this.json("GET", `/v1/shares/${id}/members`)).outgoing; }
  async *shareNodes(id) { yield* (await this.json("GET", `/v1/shares/${id}/nodes`)).nodes; }
  signVersion(id, signature) {
    return this.json("PUT", `/v1/versions/${id}/signature`, { json: { signature } });
  }

  // -- the change feed ------------------------------------------------------------------------------
  events(after, wait, signal) {
    return this.json("GET", "/v1/events", { query: { after, wait, limit: 1000 }, signal, idempotent: false });
  }
}

/**
 * The visitor's side of one public link, with no account: every request but the first
 * carries X-Coffre-Link-Auth (derived from the link key, never the key itself, which stays
 * in the page: docs/crypto.md section 9). Reads chunks like Api does.
 */
export class LinkApi {
  constructor(linkId, { base = "" } = {}) {
    this.linkId = linkId;
    this.api = new Api({ base });
    this.path = `/v1/public/links/${linkId}`;
  }

  prove(auth) {
    this.api.headers = { "x-coffre-link-auth": b64(auth).replace(/=+$/, "") };
  }

  public() { return this.api.json("GET", this.path); }
  root() { return this.api.json("GET", `${this.path}/root`); }
  async *allNodes() { yield* (await this.api.json("GET", `${this.path}/nodes`)).nodes; }
  async getChunks(versionId, first, count, signal) {
    const base = `${this.path}/versions/${versionId}/chunks`;
    const response = count === 1
      ? await this.api.request("GET", `${base}/${first}`, { signal })
      : await this.api.request("GET", base, { query: { first, count }, signal });
    return new Uint8Array(await response.arrayBuffer());
  }

  // An upload-only link's visitor: upload into the request's folder, and see nothing in it.
  startUpload(request, signal) { return this.api.json("POST", `${this.path}/uploads`, { json: request, signal }); }
  putChunks(id, first, data, signal) {
    return this.api.request("PUT", `${this.path}/uploads/${id}/chunks`, { query: { first }, body: data, signal });
  }
  commitUpload(id, envelope, signal) {
    return this.api.json("POST", `${this.path}/uploads/${id}/commit`, { json: { envelope }, signal });
  }
}
