# Reads ferry's partition log files directly (docs/storage-format.md): the record batches of a
# partition directory DATA/logs/<topic>-<partition>/ in offset order, their exact bytes, and their
# records decoded (uncompressed, gzip, and LZ4 when python3-lz4 is installed). Used after the
# nodes are stopped, to compare replicas byte for byte up to the high watermark, and by the
# nemesis's forced-loss mutation, which cuts whole batches off a partition's last segment.
#
#   logfiles.py dump DATA_DIR TOPIC PARTITION      one line per record: offset and value
import gzip
import os
import struct
import sys

HEADER = struct.Struct(">qiibIhiqqqhii")  # baseOffset .. recordCount: 61 bytes
CODEC_NONE, CODEC_GZIP, CODEC_SNAPPY, CODEC_LZ4, CODEC_ZSTD = range(5)


class Batch:
    """One stored record batch: where it is and its bytes (length prefix included)."""

    def __init__(self, segment, position, data):
        self.segment = segment
        self.position = position
        self.data = data
        (self.base_offset, _len, self.leader_epoch, self.magic, self.crc, self.attributes,
         last_delta, _t0, _tmax, self.producer_id, _pe, self.base_sequence,
         self.record_count) = HEADER.unpack_from(data, 0)
        self.last_offset = self.base_offset + last_delta

    @property
    def codec(self):
        return self.attributes & 7

    def __repr__(self):
        return (f"Batch({os.path.basename(self.segment)}@{self.position}: "
                f"{self.base_offset}..{self.last_offset})")


def partition_dirs(data_dir):
    """{(topic, partition): path} of the live partition directories under DATA/logs."""
    logs = os.path.join(data_dir, "logs")
    out = {}
    if not os.path.isdir(logs):
        return out
    for name in os.listdir(logs):
        topic, _, part = name.rpartition("-")
        if topic and part.isdigit():  # skips -stray and -delete directories
            out[(topic, int(part))] = os.path.join(logs, name)
    return out


def segments(partition_dir):
    """The .log files of a partition, oldest first."""
    names = sorted(n for n in os.listdir(partition_dir)
                   if n.endswith(".log") and n[:-4].isdigit() and len(n) == 24)
    return [os.path.join(partition_dir, n) for n in names]


def read_batches(partition_dir):
    """Every whole batch of the partition in file order; a torn tail (a batch cut short) ends a
    segment's list, as recovery would cut it."""
    out = []
    for seg in segments(partition_dir):
        with open(seg, "rb") as f:
            data = f.read()
        pos = 0
        while pos + 12 <= len(data):
            (length,) = struct.unpack_from(">i", data, pos + 8)
            end = pos + 12 + length
            if length < HEADER.size - 12 or end > len(data):
                break
            out.append(Batch(seg, pos, data[pos:end]))
            pos = end
    return out


def bytes_below(partition_dir, high_watermark):
    """The concatenated bytes of the batches whose every offset is below high_watermark, and the
    number of such batches."""
    chosen = [b for b in read_batches(partition_dir) if b.last_offset < high_watermark]
    return b"".join(b.data for b in chosen), len(chosen)


def truncate_tail(partition_dir, batches=1):
    """Cuts the last `batches` whole batches off the partition's newest non-empty segment (a
    stopped node: the loss the forced-loss mutation injects). Returns [(base, last)] removed."""
    all_batches = read_batches(partition_dir)
    if not all_batches:
        return []
    last_seg = all_batches[-1].segment
    in_seg = [b for b in all_batches if b.segment == last_seg]
    cut = in_seg[-batches:]
    with open(last_seg, "r+b") as f:
        f.truncate(cut[0].position)
    return [(b.base_offset, b.last_offset) for b in cut]


def _varint(buf, pos):
    shift = value = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return (value >> 1) ^ -(value & 1), pos
        shift += 7


def _decompress(codec, payload):
    if codec == CODEC_NONE:
        return payload
    if codec == CODEC_GZIP:
        return gzip.decompress(payload)
    if codec == CODEC_LZ4:
        import lz4.frame  # python3-lz4
        return lz4.frame.decompress(payload)
    if codec == CODEC_ZSTD:
        import zstandard  # python3-zstandard, where installed
        return zstandard.ZstdDecompressor().decompressobj().decompress(payload)
    raise ValueError(f"codec {codec} not supported by logfiles.py")


def records(batch):
    """[(offset, key, value)] of a batch (None for a null key or value)."""
    body = _decompress(batch.codec, batch.data[HEADER.size:])
    out, pos = [], 0
    for _ in range(batch.record_count):
        length, pos = _varint(body, pos)
        end = pos + length
        pos += 1  # attributes
        _ts, pos = _varint(body, pos)
        delta, pos = _varint(body, pos)
        klen, pos = _varint(body, pos)
        key = None if klen < 0 else bytes(body[pos:pos + klen])
        pos += max(klen, 0)
        vlen, pos = _varint(body, pos)
        value = None if vlen < 0 else bytes(body[pos:pos + vlen])
        out.append((batch.base_offset + delta, key, value))
        pos = end
    return out


def main(argv):
    if len(argv) != 5 or argv[1] != "dump":
        print("usage: logfiles.py dump DATA_DIR TOPIC PARTITION", file=sys.stderr)
        return 2
    dirs = partition_dirs(argv[2])
    key = (argv[3], int(argv[4]))
    if key not in dirs:
        print(f"no partition {key} under {argv[2]}", file=sys.stderr)
        return 1
    try:
        for b in read_batches(dirs[key]):
            for offset, _key, value in records(b):
                print(offset, value.decode(errors="replace") if value is not None else "null")
    except BrokenPipeError:  # the reader stopped (| head)
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
