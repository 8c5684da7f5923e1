// Two-factor authentication, support codes, abuse reports and the staff's abuse and account
// tools, as async calls on an Api (docs/api.md). Nothing here carries a key or a name.

export const twoFactor = {
  status: (api) => api.json("GET", "/v1/account/2fa"),
  begin: (api) => api.json("POST", "/v1/account/2fa/begin", { idempotent: false }),
  confirm: (api, code) => api.json("POST", "/v1/account/2fa/confirm", { json: { code } }),
  disable: (api, code) => api.json("POST", "/v1/account/2fa/disable", { json: { code } }),
};

export const supportCode = (api) => api.json("POST", "/v1/account/support-code", { idempotent: false });

export const notices = {
  list: (api) => api.json("GET", "/v1/account/notices"),
  counter: (api, id, body) => api.json("POST", `/v1/account/notices/${id}/counter`, { json: body }),
};

export const abuse = {
  report: (api, body) => api.json("POST", "/v1/abuse/reports", { json: body }),
  transparency: (api) => api.json("GET", "/v1/transparency"),
};

export const staff = {
  me: (api) => api.json("GET", "/v1/staff/me"),
  verifyCode: (api, code) => api.json("POST", "/v1/staff/support-codes/verify", { json: { code } }),
  account: (api, userId) => api.json("GET", `/v1/staff/accounts/${userId}`),
  reports: (api, status) => api.json("GET", "/v1/staff/abuse/reports", { query: { status } }),
  report: (api, id) => api.json("GET", `/v1/staff/abuse/reports/${id}`),
  disable: (api, id, scope) => api.json("POST", `/v1/staff/abuse/reports/${id}/disable`, { json: { scope } }),
  dismiss: (api, id) => api.json("POST", `/v1/staff/abuse/reports/${id}/dismiss`, { idempotent: false }),
  reporterActed: (api, id, acted) => api.json("POST", `/v1/staff/abuse/reports/${id}/reporter-acted`, { json: { reporter_acted: acted } }),
};

/** A link's id from what someone pasted: its address or id. The key after # is dropped
 * here, before anything is sent (the server refuses it anyway). */
export function linkWithoutKey(text) {
  return String(text).split("#", 1)[0].trim();
}
