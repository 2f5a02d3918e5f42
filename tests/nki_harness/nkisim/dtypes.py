"""Data types and the rounding every write does (nki-api.md §2, §5).

Engines compute in fp32: operands are converted to fp32, the arithmetic is
done in float64 and rounded to fp32, and the result is rounded once more to
the destination's dtype on write (bf16 and fp8 with ml_dtypes, round to
nearest even). fp32 to int32 rounds to nearest even and saturates, NaN
giving 0 (NKI 0.6, nki-api.md §1). These are the rules trnc's simulator
(backends/neuron) follows too.
"""

import ml_dtypes
import numpy as np


class DType:
    """An `nl.` dtype of NKI 0.6 (the legacy API uses NumPy types instead)."""

    def __init__(self, name, np_dtype):
        self.name = name
        self.np = np.dtype(np_dtype)

    def __repr__(self):
        return f"nl.{self.name}"


CURRENT_DTYPES = {
    name: DType(name, np_type)
    for name, np_type in [
        ("bool_", np.bool_),
        ("int8", np.int8),
        ("int16", np.int16),
        ("int32", np.int32),
        ("uint8", np.uint8),
        ("uint16", np.uint16),
        ("uint32", np.uint32),
        ("float16", np.float16),
        ("float32", np.float32),
        ("bfloat16", ml_dtypes.bfloat16),
        ("float8_e4m3", ml_dtypes.float8_e4m3),
        ("float8_e4m3fn", ml_dtypes.float8_e4m3fn),
        ("float8_e5m2", ml_dtypes.float8_e5m2),
    ]
}

# Legacy: `nl.float32 is np.float32`, bf16/fp8 are ml_dtypes' (nki-api.md §2).
LEGACY_DTYPES = {
    "bool_": np.bool_,
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "uint8": np.uint8,
    "uint16": np.uint16,
    "uint32": np.uint32,
    "float16": np.float16,
    "float32": np.float32,
    "bfloat16": ml_dtypes.bfloat16,
    "float8_e4m3": ml_dtypes.float8_e4m3,
    "float8_e5m2": ml_dtypes.float8_e5m2,
}


def np_dtype(d):
    return d.np if isinstance(d, DType) else np.dtype(d)


def is_float(npd):
    d = np.dtype(npd)
    return d != np.bool_ and d.kind not in "iu"


def is_int(npd):
    return np.dtype(npd).kind in "iu"


def fill_value(npd):
    """What a fresh allocation holds: NaN for floats, 4 for integers, as
    nki.simulate fills them (nki-api.md §1), so reads of unwritten memory show."""
    return np.nan if is_float(npd) else 4


def fp32(values):
    """Values as an engine sees them: converted to fp32, held in float64."""
    return np.asarray(values).astype(np.float32).astype(np.float64)


def store(values, npd):
    """float64 engine results rounded to fp32, then to the dtype `npd`."""
    npd = np.dtype(npd)
    v = np.asarray(values, dtype=np.float64)
    if npd == np.bool_:
        return v != 0
    if is_int(npd):
        info = np.iinfo(npd)
        return np.rint(np.clip(np.nan_to_num(v, nan=0.0), info.min, info.max)).astype(npd)
    return v.astype(np.float32).astype(npd)


def cast(values, npd):
    """A copy into `npd`: bit-exact for equal dtypes, else through fp32
    (dma_copy and tensor_copy, nki-api.md §4)."""
    values = np.asarray(values)
    if values.dtype == np.dtype(npd):
        return values.copy()
    return store(fp32(values), npd)
