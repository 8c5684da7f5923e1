// Run in the browser by tests/web/test_vectors.py: every case of tests/vectors/*.json
// through the web client's crypto modules (the same checks as tests/crypto/test_vectors.py,
// plus a flipped byte in each envelope and chunk). Returns a list of failures.
async ({ kdf, envelope, account, nodes, stream, links: linkVector, shares: shareVector, ed25519 }) => {
  const b = await import("/web/crypto/bytes.js");
  const env = await import("/web/crypto/envelope.js");
  const acc = await import("/web/crypto/account.js");
  const id = await import("/web/crypto/identity.js");
  const nd = await import("/web/crypto/nodes.js");
  const st = await import("/web/crypto/stream.js");
  const { IntegrityError } = await import("/web/errors.js");
  const h = b.fromHex;
  const failures = [];
  let checks = 0;
  const eq = (what, got, want) => {
    checks += 1;
    const g = got instanceof Uint8Array ? b.hex(got) : JSON.stringify(got);
    const w = want instanceof Uint8Array ? b.hex(want) : JSON.stringify(want);
    if (g !== w) failures.push(`${what}: got ${g}, want ${w}`);
  };
  const refuses = async (what, fn) => {
    checks += 1;
    try {
      await fn();
      failures.push(`${what}: tampered data was accepted`);
    } catch (error) {
      if (!(error instanceof IntegrityError)) failures.push(`${what}: ${error}`);
    }
  };
  const flip = (bytes, at = bytes.length - 1) => {
    const copy = bytes.slice();
    copy[at] ^= 1;
    return copy;
  };

  for (const v of kdf) {
    const params = new acc.KdfParams(v.time_cost, v.memory_kib, v.lanes, h(v.salt));
    eq(`kdf ${v.password} params`, params.encode(), h(v.params_encoded));
    eq(`kdf ${v.password} nfc`, acc.normalizePassword(v.password), h(v.password_utf8_nfc));
    const secrets = await acc.deriveLoginSecrets(v.password, params);
    eq(`kdf ${v.password} auth`, secrets.authSecret, h(v.auth_secret));
    eq(`kdf ${v.password} kek`, secrets.kek, h(v.kek));
    eq(`kdf ${v.password} auth hash`, await acc.authHash(secrets.authSecret), h(v.auth_hash));
  }

  for (const v of envelope) {
    const sealed = h(v.sealed);
    const opened = await env.open(h(v.key), v.purpose, h(v.context), sealed, "x");
    eq(`envelope ${v.purpose} open`, opened, h(v.plaintext));
    const again = await env.seal(h(v.key), v.purpose, h(v.context), h(v.plaintext), { nonce: h(v.nonce) });
    eq(`envelope ${v.purpose} seal`, again, sealed);
    await refuses(`envelope ${v.purpose} tag`, () => env.open(h(v.key), v.purpose, h(v.context), flip(sealed), "x"));
    await refuses(`envelope ${v.purpose} commitment`, () => env.open(h(v.key), v.purpose, h(v.context), flip(sealed, 20), "x"));
    await refuses(`envelope ${v.purpose} context`, () => env.open(h(v.key), v.purpose, flip(h(v.context), 0), sealed, "x"));
  }

  {
    const v = account;
    const userId = h(v.user_id);
    const raw = h(v.params_encoded);
    const params = new acc.KdfParams(3, 65536, 1, raw.slice(14));
    eq("account params", params.encode(), raw);
    const mk = await acc.unwrapMasterKey(h(v.kek), userId, params, h(v.master_key_sealed));
    eq("account master key", mk, h(v.master_key));
    const identity = await id.Identity.open(mk, userId, h(v.identity_keys_sealed));
    eq("account x25519 private", identity.x25519Private, h(v.x25519_private));
    eq("account ed25519 private", identity.ed25519Private, h(v.ed25519_private));
    const pub = await identity.public();
    eq("account x25519 public", pub.x25519, h(v.x25519_public));
    eq("account ed25519 public", pub.ed25519, h(v.ed25519_public));
    eq("account statement", pub.statement(), h(v.public_statement));
    eq("account published", await identity.publish(), h(v.published));
    await id.checkOwnIdentity(identity, h(v.published));
    await refuses("account published signature", () => id.checkOwnIdentity(identity, flip(h(v.published))));
    eq("account fingerprint", await pub.fingerprint(), v.fingerprint);
    const root = await acc.unwrapRootKey(mk, userId, h(v.root_id), h(v.root_key_sealed));
    eq("account root key", root, h(v.root_key));
    eq("account recovery key", await acc.encodeRecoveryKey(mk), v.recovery_key);
    eq("account recovery decode", await acc.decodeRecoveryKey(v.recovery_key), mk);
    eq("account recovery verifier", await acc.recoveryVerifier(mk), h(v.recovery_verifier));
    await refuses("account master key under a wrong user", () =>
      acc.unwrapMasterKey(h(v.kek), flip(userId, 0), params, h(v.master_key_sealed)));
    // an X25519 agreement between the vector's key and a fresh one agrees both ways
    const p = await import("/web/crypto/primitives.js");
    const other = p.x25519Generate();
    const s1 = await p.x25519Shared(identity.x25519Private, await p.x25519Public(other));
    const s2 = await p.x25519Shared(other, pub.x25519);
    eq("x25519 agreement", s1, s2);
  }

  {
    const v = nodes;
    const parentKey = h(v.parent_key);
    const nodeId = h(v.node_id);
    const parentId = h(v.parent_id);
    const nodeKey = await nd.unwrapNodeKey(parentKey, nodeId, parentId, v.kind, h(v.node_key_sealed));
    eq("nodes node key", nodeKey, h(v.node_key));
    eq("nodes meta plaintext", nd.packJson({ name: v.name }), h(v.meta_plaintext));
    eq("nodes name", await nd.openMeta(nodeKey, nodeId, parentId, v.kind, h(v.meta_sealed)), v.name);
    eq("nodes name tag", await nd.nameTag(parentKey, v.name), h(v.name_tag));
    await refuses("nodes name under another parent", () =>
      nd.openMeta(nodeKey, nodeId, flip(parentId, 0), v.kind, h(v.meta_sealed)));
    await refuses("nodes folder for file", () => nd.openMeta(nodeKey, nodeId, parentId, 1, h(v.meta_sealed)));
    const info = await nd.openVersion(nodeKey, nodeId, h(v.version_id), h(v.version_sealed));
    const want = v.version;
    eq("nodes version content key", info.contentKey, h(want.content_key));
    eq("nodes version content id", info.contentId, h(want.content_id));
    eq("nodes version size", info.size, want.size);
    eq("nodes version mtime", info.mtimeMs, want.mtime_ms);
    eq("nodes version media type", info.mediaType, want.media_type);
    eq("nodes version content hash", info.contentHash, h(want.content_hash));
    eq("nodes version chunk size", info.chunkSize, want.chunk_size);
    const resealed = await nd.sealVersion(nodeKey, nodeId, h(v.version_id), info);
    const reopened = await nd.openVersion(nodeKey, nodeId, h(v.version_id), resealed);
    eq("nodes version round trip", reopened.contentHash, info.contentHash);
    await refuses("nodes version tampered", () => nd.openVersion(nodeKey, nodeId, h(v.version_id), flip(h(v.version_sealed))));
    eq("nodes thumbnail", await nd.openThumbnail(nodeKey, nodeId, h(v.version_id), h(v.thumbnail_sealed)), h(v.thumbnail_plaintext));
    eq("nodes thumbnail sealed", await nd.sealThumbnail(nodeKey, nodeId, h(v.version_id), h(v.thumbnail_plaintext), { nonce: h(v.thumbnail_sealed).slice(1, 13) }), h(v.thumbnail_sealed));
    await refuses("nodes thumbnail of another version", () => nd.openThumbnail(nodeKey, nodeId, flip(h(v.version_id), 0), h(v.thumbnail_sealed)));
  }

  for (const v of stream) {
    const name = `stream ${v.plaintext.length / 2}B`;
    const key = h(v.content_key);
    const contentId = h(v.content_id);
    const chunks = v.chunks.map(h);
    const parts = [];
    for await (const piece of st.decryptAll(key, contentId, h(v.header), chunks)) parts.push(piece);
    eq(`${name} decrypt`, b.concat(...parts), h(v.plaintext));
    const again = await st.encryptAll(key, contentId, h(v.plaintext), v.chunk_size);
    eq(`${name} header`, again.header, h(v.header));
    eq(`${name} chunks`, again.chunks.map(b.hex), v.chunks);
    const digests = await Promise.all(parts.map(st.chunkDigest));
    eq(`${name} content hash`, await st.contentHash(digests), h(v.content_hash));
    const drain = async (it) => { for await (const _ of it) { /* consume */ } };
    await refuses(`${name} flipped chunk`, () => drain(st.decryptAll(key, contentId, h(v.header), [flip(chunks[0]), ...chunks.slice(1)])));
    await refuses(`${name} flipped header`, () => drain(st.decryptAll(key, contentId, flip(h(v.header)), chunks)));
    if (chunks.length > 1) {
      await refuses(`${name} truncated`, () => drain(st.decryptAll(key, contentId, h(v.header), chunks.slice(0, -1))));
      await refuses(`${name} reordered`, () => drain(st.decryptAll(key, contentId, h(v.header), [chunks[1], chunks[0], ...chunks.slice(2)])));
    }
    await refuses(`${name} extended`, () => drain(st.decryptAll(key, contentId, h(v.header), [...chunks, chunks[0]])));
  }
  {
    // links.js: the key in the URL fragment, and the node key wrapped under it
    const links = await import("/web/crypto/links.js");
    const key = links.newLinkKey();
    const text = links.encodeKey(key);
    eq("link key text", text.length, 43);
    eq("link key round trip", links.decodeKey(text), key);
    const linkId = h("00112233445566778899aabbccddeeff");
    const nodeId = h("ffeeddccbbaa99887766554433221100");
    const nodeKey = h(nodes.node_key);
    const wrapped = await links.wrap(key, linkId, nodeId, 2, nodeKey);
    eq("link unwrap", await links.unwrap(key, linkId, nodeId, 2, wrapped), nodeKey);
    await refuses("link under another node", () => links.unwrap(key, linkId, flip(nodeId, 0), 2, wrapped));
    eq("link auth length", (await links.linkAuth(key)).length, 32);
  }
  {
    // tests/vectors/links.json: the key's text, the auth value and its hash, the envelope,
    // and a password link's key (Argon2id in the worker, then HKDF)
    const links = await import("/web/crypto/links.js");
    const v = linkVector;
    const key = h(v.link_key);
    eq("links encoded key", links.encodeKey(key), v.encoded_key);
    eq("links decoded key", links.decodeKey(v.encoded_key), key);
    eq("links auth", await links.linkAuth(key), h(v.auth));
    eq("links auth hash", await acc.authHash(await links.linkAuth(key)), h(v.auth_hash));
    const opened = await links.unwrap(key, h(v.link_id), h(v.node_id), v.kind, h(v.envelope));
    eq("links envelope", opened, h(v.node_key));
    const again = await env.seal(key, env.Purpose.LINK_KEY, b.concat(h(v.link_id), h(v.node_id), Uint8Array.of(v.kind)), h(v.node_key), { nonce: h(v.envelope).slice(1, 13) });
    eq("links envelope sealed", again, h(v.envelope));
    await refuses("links envelope for a file", () => links.unwrap(key, h(v.link_id), h(v.node_id), 2, h(v.envelope)));
    await refuses("links envelope under another link", () => links.unwrap(key, flip(h(v.link_id), 0), h(v.node_id), v.kind, h(v.envelope)));
    const raw = h(v.params_encoded);
    const params = new acc.KdfParams(3, 65536, 1, raw.slice(14));
    eq("links params", params.encode(), raw);
    eq("links password key", await links.passwordKey(v.password, params), h(v.password_key));
    // an upload-only link's envelope: sealed again byte for byte, opened, refused when changed
    const r = v.request;
    eq("request encoded public", links.encodeKey(h(r.public)), r.encoded_public);
    const sealedRequest = await links.sealToRequest(h(r.public), h(r.link_id), h(r.node_id), h(r.node_key), {
      ephemeralPrivate: h(r.ephemeral_private), nonce: h(r.nonce),
    });
    eq("request envelope", sealedRequest, h(r.envelope));
    eq("request open", await links.openFromRequest(h(r.private), h(r.link_id), h(r.node_id), h(r.envelope)), h(r.node_key));
    await refuses("request commitment", () => links.openFromRequest(h(r.private), h(r.link_id), h(r.node_id), flip(h(r.envelope), 50)));
    await refuses("request other node", () => links.openFromRequest(h(r.private), h(r.link_id), flip(h(r.node_id), 0), h(r.envelope)));
  }
  {
    // tests/vectors/shares.json: the share envelope (sealed again byte for byte with the
    // vector's ephemeral key and nonce, opened, refused when any fact changes) and the
    // writers' signatures of a node and a version
    const sh = await import("/web/crypto/shares.js");
    const v = shareVector;
    const person = (x) => new id.Identity(h(x.user_id), h(x.x25519_private), h(x.ed25519_private));
    const owner = person(v.owner);
    const member = person(v.member);
    eq("shares owner published", await owner.publish(), h(v.owner.published));
    eq("shares member published", await member.publish(), h(v.member.published));
    const ownerPublic = await id.verifyPublished(h(v.owner.published), owner.userId);
    const memberPublic = await id.verifyPublished(h(v.member.published), member.userId);
    const facts = new sh.ShareFacts(h(v.share_id), owner.userId, member.userId, h(v.folder_id), v.access);
    eq("shares associated data", facts.associatedData(), h(v.associated_data));
    const sealed = await sh.sealShare(owner, memberPublic, facts, h(v.folder_key), {
      ephemeralPrivate: h(v.ephemeral_private), nonce: h(v.nonce),
    });
    eq("shares envelope", sealed, h(v.envelope));
    eq("shares open", await sh.openShare(member, ownerPublic, facts, h(v.envelope)), h(v.folder_key));
    const envelopeBytes = h(v.envelope);
    await refuses("shares signature", () => sh.openShare(member, ownerPublic, facts, flip(envelopeBytes)));
    await refuses("shares ciphertext", () => sh.openShare(member, ownerPublic, facts, flip(envelopeBytes, 100)));
    const facts2 = (access, folderId = h(v.folder_id)) => new sh.ShareFacts(h(v.share_id), owner.userId, member.userId, folderId, access);
    await refuses("shares other access", () => sh.verifyShare(ownerPublic, facts2(sh.Access.FULL), envelopeBytes));
    await refuses("shares other folder", () => sh.verifyShare(ownerPublic, facts2(v.access, flip(h(v.folder_id), 0)), envelopeBytes));
    await refuses("shares signed by another", () => sh.verifyShare(memberPublic, new sh.ShareFacts(h(v.share_id), member.userId, member.userId, h(v.folder_id), v.access), envelopeBytes));
    await refuses("shares opened by the owner", () => sh.openShare(owner, ownerPublic, facts, envelopeBytes));
    const n = v.node;
    const nodeArgs = [h(n.node_id), h(n.parent_id), n.kind, h(n.key_envelope), h(n.meta_envelope)];
    eq("shares node statement", await sh.nodeStatement(...nodeArgs), h(n.statement));
    eq("shares node signature", await sh.signNode(member, ...nodeArgs), h(n.signature));
    await sh.verifyNode(memberPublic, h(n.signature), ...nodeArgs);
    await refuses("shares node by another writer", () => sh.verifyNode(ownerPublic, h(n.signature), ...nodeArgs));
    await refuses("shares node moved", () => sh.verifyNode(memberPublic, h(n.signature), nodeArgs[0], flip(nodeArgs[1], 0), ...nodeArgs.slice(2)));
    const ver = v.version;
    const versionArgs = [h(ver.node_id), h(ver.version_id), h(ver.envelope), h(ver.header)];
    eq("shares version statement", await sh.versionStatement(...versionArgs), h(ver.statement));
    eq("shares version signature", await sh.signVersion(member, ...versionArgs), h(ver.signature));
    await sh.verifyVersion(memberPublic, h(ver.signature), ...versionArgs);
    await refuses("shares version other header", () => sh.verifyVersion(memberPublic, h(ver.signature), ...versionArgs.slice(0, 3), flip(versionArgs[3])));
    // app/drive.js: a record inside a shared folder needs signatures by allowed writers
    const { checkSignatures } = await import("/web/app/drive.js");
    const record = {
      id: n.node_id, kind: "file", key: b.b64(h(n.key_envelope)), meta: b.b64(h(n.meta_envelope)),
      author: v.member.user_id, signature: b.b64(h(n.signature)),
      version: { id: ver.version_id, envelope: b.b64(h(ver.envelope)), header: b.b64(h(ver.header)), author: v.member.user_id, signature: b.b64(h(ver.signature)) },
    };
    const parent = { id: n.parent_id };
    const both = new Map([[v.owner.user_id, ownerPublic], [v.member.user_id, memberPublic]]);
    await checkSignatures(both, parent, record);
    checks += 1;
    const ownerOnly = new Map([[v.owner.user_id, ownerPublic]]);
    await refuses("drive a writer the shares do not allow", () => checkSignatures(ownerOnly, parent, record));
    await refuses("drive a node without a signature", () => checkSignatures(both, parent, { ...record, signature: null }));
    await refuses("drive a name swapped", () => checkSignatures(both, parent, { ...record, meta: b.b64(flip(h(n.meta_envelope))) }));
    await refuses("drive a version by someone else", () => checkSignatures(both, parent, { ...record, version: { ...record.version, author: v.owner.user_id } }));
    await refuses("drive a version without a signature", () => checkSignatures(both, parent, { ...record, version: { ...record.version, signature: null } }));
  }
  {
    // Ed25519 as RFC 8032 section 7.1 TEST 2 has it, and every altered signature of
    // tests/vectors/ed25519.json refused, as libsodium refuses them in the Python client.
    const p = await import("/web/crypto/primitives.js");
    const t = ed25519.rfc8032_test2;
    await p.ed25519Verify(h(t.public), h(t.signature), h(t.message));
    checks += 1;
    const cases = Object.fromEntries(
      ed25519.refused.map((c) => [c.what, [h(c.public), h(c.signature), h(c.message)]]),
    );
    for (const [what, [k, g, m]] of Object.entries(cases)) {
      checks += 1;
      try {
        await p.ed25519Verify(k, g, m);
        failures.push(`ed25519 ${what}: accepted`);
      } catch (error) {
        if (!(error instanceof p.AuthenticationFailed)) failures.push(`ed25519 ${what}: ${error}`);
      }
    }
  }
  return { checks, failures };
}
