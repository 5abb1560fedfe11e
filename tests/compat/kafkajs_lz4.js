// An LZ4 codec for kafkajs, which ships only gzip: Kafka's LZ4 frame (magic 0x184D2204), read
// here in plain JavaScript so the kafkajs scripts can consume topics ferry stores as LZ4 (the
// default compression.type). Applications do the same with a codec package such as kafkajs-lz4.
// Register with: CompressionCodecs[CompressionTypes.LZ4] = require('./kafkajs_lz4');
//
// Frame: magic (4, LE), FLG, BD, [content size (8) if FLG bit 3], header checksum (1); then
// blocks: size (4, LE; high bit set = stored uncompressed), data, [checksum (4) if FLG bit 4];
// end mark 0 (4); [content checksum (4) if FLG bit 2]. Checksums are not verified here (the
// batch CRC covers the bytes). Producing LZ4 is not supported (the scripts send uncompressed or
// gzip).
'use strict';

function decodeBlock(src, out) {
  let i = 0;
  while (i < src.length) {
    const token = src[i++];
    let lit = token >> 4;
    if (lit === 15) {
      let b;
      do { b = src[i++]; lit += b; } while (b === 255);
    }
    for (let k = 0; k < lit; k++) out.push(src[i++]);
    if (i >= src.length) break;  // the last sequence has literals only
    const offset = src[i] | (src[i + 1] << 8);
    i += 2;
    if (offset === 0 || offset > out.length) throw new Error('lz4: bad match offset');
    let len = token & 15;
    if (len === 15) {
      let b;
      do { b = src[i++]; len += b; } while (b === 255);
    }
    len += 4;
    const from = out.length - offset;
    for (let k = 0; k < len; k++) out.push(out[from + k]);
  }
}

function decompressFrame(buf) {
  if (buf.readUInt32LE(0) !== 0x184d2204) throw new Error('lz4: not an LZ4 frame');
  const flg = buf[4];
  let pos = 6 + ((flg & 0x08) ? 8 : 0) + 1;
  const blockChecksum = (flg & 0x10) !== 0;
  const out = [];
  for (;;) {
    const word = buf.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    const block = buf.subarray(pos, pos + size);
    pos += size + (blockChecksum ? 4 : 0);
    if (word & 0x80000000) {
      for (const b of block) out.push(b);
    } else {
      decodeBlock(block, out);
    }
  }
  return Buffer.from(out);
}

module.exports = () => ({
  async compress() {
    throw new Error('kafkajs_lz4: compression is not supported');
  },
  async decompress(buffer) {
    return decompressFrame(buffer);
  },
});
