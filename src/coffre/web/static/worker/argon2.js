// Argon2id off the page's thread: the page posts {password, salt, timeCost, memoryKib,
// lanes} and gets back {result} (32 bytes) or {error}. hash-wasm's Argon2id matches the
// Python core's (`cryptography`) byte for byte; tests/vectors/kdf.json checks it.
/* global hashwasm */
importScripts("/vendor/hash-wasm/argon2.umd.min.js");

self.onmessage = async (event) => {
  const { password, salt, timeCost, memoryKib, lanes } = event.data;
  try {
    const out = await hashwasm.argon2id({
      password,
      salt,
      iterations: timeCost,
      memorySize: memoryKib,
      parallelism: lanes,
      hashLength: 32,
      outputType: "binary",
    });
    self.postMessage({ result: out }, [out.buffer]);
  } catch (error) {
    self.postMessage({ error: String(error && error.message ? error.message : error) });
  }
};
