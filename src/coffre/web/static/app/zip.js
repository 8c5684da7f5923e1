// A streaming zip writer (store method, no compression: the content is whatever the files
// are), with CRC-32 computed here and ZIP64 records where sizes or offsets need them.
// Each entry's local header is written before its data, and its CRC goes in a data
// descriptor after it, so no byte is held back: a folder of any size streams to disk.
//
//   [local header, data, data descriptor] per entry, then the central directory,
//   [ZIP64 end record, ZIP64 locator,] end of central directory record.

import { utf8 } from "../crypto/bytes.js";

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export class Crc32 {
  constructor() {
    this.value = 0xffffffff;
  }

  update(bytes) {
    let c = this.value;
    for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
    this.value = c;
    return this;
  }

  digest() {
    return (this.value ^ 0xffffffff) >>> 0;
  }
}

export function crc32(bytes) {
  return new Crc32().update(bytes).digest();
}

const MAX32 = 0xffffffff;
const FLAGS = 0x0808; // bit 3: sizes and CRC in a data descriptor; bit 11: UTF-8 names

class Writer {
  constructor(size) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
    this.at = 0;
  }
  u16(n) { this.view.setUint16(this.at, n, true); this.at += 2; return this; }
  u32(n) { this.view.setUint32(this.at, n >>> 0, true); this.at += 4; return this; }
  u64(n) { this.view.setBigUint64(this.at, BigInt(n), true); this.at += 8; return this; }
  raw(b) { this.bytes.set(b, this.at); this.at += b.length; return this; }
}

function dosTime(ms) {
  const d = new Date(Number.isFinite(ms) ? ms : Date.now());
  const year = Math.min(Math.max(d.getFullYear(), 1980), 2107);
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

/** Writes a zip to `sink` (an object with `async write(Uint8Array)`). */
export class ZipWriter {
  constructor(sink) {
    this.sink = sink;
    this.offset = 0;
    this.entries = [];
  }

  async _out(bytes) {
    await this.sink.write(bytes);
    this.offset += bytes.length;
  }

  /** Add a folder entry ("name/"). */
  async addFolder(path, mtimeMs) {
    await this._entry(path.endsWith("/") ? path : `${path}/`, 0, mtimeMs, async () => {});
  }

  /**
   * Add a file of `size` bytes; `produce(write)` must pass exactly that many bytes to
   * `write`, in order.
   */
  async addFile(path, size, mtimeMs, produce) {
    await this._entry(path, size, mtimeMs, produce);
  }

  async _entry(path, size, mtimeMs, produce) {
    const name = utf8(path);
    const offset = this.offset;
    const zip64 = size >= MAX32 || offset >= MAX32;
    const { time, date } = dosTime(mtimeMs);
    const extra = zip64 ? 20 : 0;
    const header = new Writer(30 + name.length + extra)
      .u32(0x04034b50).u16(zip64 ? 45 : 20).u16(FLAGS).u16(0).u16(time).u16(date)
      .u32(0).u32(zip64 ? MAX32 : size).u32(zip64 ? MAX32 : size)
      .u16(name.length).u16(extra).raw(name);
    if (zip64) header.u16(0x0001).u16(16).u64(size).u64(size);
    await this._out(header.bytes);
    const crc = new Crc32();
    let written = 0;
    await produce(async (bytes) => {
      crc.update(bytes);
      written += bytes.length;
      await this._out(bytes);
    });
    if (written !== size) throw new Error(`zip entry ${path}: ${written} bytes written, ${size} declared`);
    const descriptor = zip64
      ? new Writer(24).u32(0x08074b50).u32(crc.digest()).u64(size).u64(size)
      : new Writer(16).u32(0x08074b50).u32(crc.digest()).u32(size).u32(size);
    await this._out(descriptor.bytes);
    this.entries.push({ name, size, offset, crc: crc.digest(), time, date, zip64 });
  }

  async finish() {
    const start = this.offset;
    for (const e of this.entries) {
      const big = e.zip64 || e.offset >= MAX32;
      const extra = big ? 28 : 0;
      const w = new Writer(46 + e.name.length + extra)
        .u32(0x02014b50).u16(big ? 45 : 20).u16(big ? 45 : 20).u16(FLAGS).u16(0).u16(e.time).u16(e.date)
        .u32(e.crc).u32(big ? MAX32 : e.size).u32(big ? MAX32 : e.size)
        .u16(e.name.length).u16(extra).u16(0).u16(0).u16(0)
        .u32(e.name.length && e.name[e.name.length - 1] === 0x2f ? 0x10 : 0)
        .u32(big ? MAX32 : e.offset).raw(e.name);
      if (big) w.u16(0x0001).u16(24).u64(e.size).u64(e.size).u64(e.offset);
      await this._out(w.bytes);
    }
    const size = this.offset - start;
    const count = this.entries.length;
    if (count >= 0xffff || start >= MAX32 || size >= MAX32) {
      const end64 = this.offset;
      await this._out(
        new Writer(56).u32(0x06064b50).u64(44).u16(45).u16(45).u32(0).u32(0)
          .u64(count).u64(count).u64(size).u64(start).bytes,
      );
      await this._out(new Writer(20).u32(0x07064b50).u32(0).u64(end64).u32(1).bytes);
    }
    await this._out(
      new Writer(22).u32(0x06054b50).u16(0).u16(0)
        .u16(Math.min(count, 0xffff)).u16(Math.min(count, 0xffff))
        .u32(Math.min(size, MAX32)).u32(Math.min(start, MAX32)).u16(0).bytes,
    );
  }
}
