"""Writes the side files (.safetensors) of the corpus graphs that have large
constants. Run once; the outputs are committed:

    .venv/bin/python tests/corpus/make_weights.py
"""
import json
import pathlib
import struct

import numpy as np

HERE = pathlib.Path(__file__).parent
DTYPES = {np.float32: "F32", np.int64: "I64"}


def write_safetensors(path, tensors):
    """Minimal safetensors writer: 8-byte header length, JSON header, data."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        data = arr.tobytes()
        header[name] = {
            "dtype": DTYPES[arr.dtype.type],
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))


rng = np.random.default_rng(20261125)
f32 = lambda *shape: (rng.standard_normal(shape) * 0.2).astype(np.float32)

write_safetensors(HERE / "mlp.safetensors", {"w1": f32(32, 64), "b1": f32(64), "w2": f32(64, 16)})
write_safetensors(HERE / "embedding.safetensors", {"table": f32(50, 24), "pos": f32(12, 24)})
