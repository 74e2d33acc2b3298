"""Reader for .acnn files (models/FORMAT.md), the inverse of acnn.py's
writer, for Python tools that start from a shipped model (e.g. det_train.py
--init models/det-640x640.acnn when the training checkpoint is gone).
Checks the header, the CRC and the section framing; the C loader remains the
one full validator."""
import struct
import zlib

import numpy as np

import acnn

RECORD_FIELDS = ("op", "in0", "in1", "act", "alpha", "out_c", "kh", "kw", "sh", "sw",
                 "ph", "pw", "groups", "w_off", "w_count", "flags")
OP_NAMES = {v: k for k, v in acnn.OP.items()}


class AcnnError(ValueError):
    pass


def read(path):
    """-> dict(info=(w, h, c, mean, scale, num_classes, kind), meta={}, ops=[dict],
    outputs=[(tensor, name)], weights=float32 array)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < acnn.HEADER_SIZE or data[:8] != acnn.MAGIC:
        raise AcnnError(f"{path}: not an .acnn file")
    version, hsize, plen, crc = struct.unpack_from("<IIQI", data, 8)
    if version != acnn.VERSION or hsize != acnn.HEADER_SIZE or hsize + plen != len(data):
        raise AcnnError(f"{path}: unsupported version or size")
    payload = data[hsize:]
    if zlib.crc32(payload) & 0xFFFFFFFF != crc:
        raise AcnnError(f"{path}: CRC mismatch")
    sections, pos = {}, 0
    while pos < len(payload):
        if pos + 16 > len(payload):
            raise AcnnError(f"{path}: truncated section header")
        tag = payload[pos:pos + 4]
        (length,) = struct.unpack_from("<I", payload, pos + 4)
        body = payload[pos + 16:pos + 16 + length]
        if len(body) != length:
            raise AcnnError(f"{path}: section {tag!r} overruns the file")
        sections[tag] = body
        pos += 16 + length + (-length) % 16
    for need in (b"INFO", b"GRPH", b"OUTS", b"WGHT"):
        if need not in sections:
            raise AcnnError(f"{path}: no {need.decode()} section")
    iw, ih, ic, *rest = struct.unpack("<III3f3fII", sections[b"INFO"])
    info = (iw, ih, ic, tuple(rest[0:3]), tuple(rest[3:6]), rest[6], rest[7])
    grph = sections[b"GRPH"]
    (n_ops,) = struct.unpack_from("<I", grph, 0)
    if len(grph) != 4 + n_ops * acnn.OP_RECORD.size:
        raise AcnnError(f"{path}: GRPH size does not match its op count")
    ops = [dict(zip(RECORD_FIELDS, acnn.OP_RECORD.unpack_from(grph, 4 + i * acnn.OP_RECORD.size)))
           for i in range(n_ops)]
    outs, off = [], 4
    for _ in range(struct.unpack_from("<I", sections[b"OUTS"], 0)[0]):
        t, n = struct.unpack_from("<II", sections[b"OUTS"], off)
        outs.append((t, sections[b"OUTS"][off + 8:off + 8 + n].decode("ascii")))
        off += 8 + n + (-n) % 4
    meta = {}
    for line in sections.get(b"META", b"").decode("utf-8").splitlines():
        k, _, v = line.partition("=")
        meta[k] = v
    weights = np.frombuffer(sections[b"WGHT"], dtype="<f4").astype(np.float32)
    for op in ops:
        if op["w_off"] + op["w_count"] > weights.size:
            raise AcnnError(f"{path}: op weights past the end of WGHT")
    return dict(info=info, meta=meta, ops=ops, outputs=outs, weights=weights)


def conv_weights(model_file, op):
    """(weight OIHW, bias or None) of a CONV record."""
    if OP_NAMES.get(op["op"]) != "conv":
        raise AcnnError("not a CONV op")
    w = model_file["weights"][op["w_off"]:op["w_off"] + op["w_count"]]
    o, kh, kw, g = op["out_c"], op["kh"], op["kw"], op["groups"]
    n = op["w_count"] - (o if op["flags"] & acnn.FLAG_BIAS else 0)
    if n % (o * kh * kw):
        raise AcnnError("CONV weight count does not match its shape")
    ig = n // (o * kh * kw)
    weight = w[:n].reshape(o, kh, kw, ig).transpose(0, 3, 1, 2)
    bias = w[n:] if op["flags"] & acnn.FLAG_BIAS else None
    return np.ascontiguousarray(weight), bias
