"""Test double of legacy `neuronxcc.nki.language` (SDK 2.26): dtypes (NumPy
types), buffers, `ndarray`/`zeros`, `load`/`store`, `nl.arange` index
expressions and the loop ranges (nki-api.md §2–4)."""

import itertools

import numpy as np
from nkisim import dtypes
from nkisim.dtypes import LEGACY_DTYPES
from nkisim.errors import as_legacy, check, fail, partition_limit
from nkisim.ops import OPS
from nkisim.tensor import (
    OTHER_ENGINE,
    ZEROED,
    Tensor,
    allocate,
    hbm,
    private_hbm,
    psum,
    sbuf,
    shared_hbm,
)

__all__ = ["affine_range", "arange", "load", "ndarray", "sequential_range", "static_range", "store", "zeros"]
__all__ += ["hbm", "private_hbm", "psum", "sbuf", "shared_hbm"]

globals().update(LEGACY_DTYPES)
globals().update(OPS)
__all__ += list(LEGACY_DTYPES) + list(OPS)

_names = itertools.count()


class IndexExpr:
    """An affine expression of `nl.arange` values: NumPy broadcasting rules;
    `[:, None]` / `[None, :]` place it on the partition or a free axis."""

    def __init__(self, values):
        self.values = np.asarray(values)

    def index_values(self):
        return self.values.astype(np.int64)

    def __getitem__(self, key):
        return IndexExpr(self.values[key])

    def _other(self, o):
        return o.values if isinstance(o, IndexExpr) else o

    def __add__(self, o):
        return IndexExpr(self.values + self._other(o))

    __radd__ = __add__

    def __sub__(self, o):
        return IndexExpr(self.values - self._other(o))

    def __rsub__(self, o):
        return IndexExpr(self._other(o) - self.values)

    def __mul__(self, o):
        return IndexExpr(self.values * self._other(o))

    __rmul__ = __mul__

    def __neg__(self):
        return IndexExpr(-self.values)

    def __ge__(self, o):
        return IndexExpr(self.values >= self._other(o))

    def __gt__(self, o):
        return IndexExpr(self.values > self._other(o))

    def __le__(self, o):
        return IndexExpr(self.values <= self._other(o))

    def __lt__(self, o):
        return IndexExpr(self.values < self._other(o))

    def __eq__(self, o):
        return IndexExpr(self.values == self._other(o))

    def __ne__(self, o):
        return IndexExpr(self.values != self._other(o))

    __hash__ = None


def arange(start, stop=None):
    """`nl.arange(stop)` or `nl.arange(start, stop)`: 1-D, place it with [:, None]."""
    return IndexExpr(np.arange(start) if stop is None else np.arange(start, stop))


def affine_range(*args, **kwargs):
    """Parallel iterations (the double runs them in order, all of them)."""
    return range(*args)


def sequential_range(*args, **kwargs):
    return range(*args)


def static_range(*args):
    return range(*args)


@as_legacy
def ndarray(shape, dtype, *, buffer=None, name=""):
    return allocate(shape, dtype, buffer or sbuf, name or f"tensor{next(_names)}", "legacy")


@as_legacy
def zeros(shape, dtype, *, buffer=None, name=""):
    """Zero-filled; a PSUM tile of zeros is a matmul accumulator (`acc += ...`)."""
    t = allocate(shape, dtype, buffer or sbuf, name or f"zeros{next(_names)}", "legacy")
    t.write(np.zeros(t.index.size, t.np_dtype), ZEROED)
    return t


@as_legacy
def load(src, *, mask=None, dtype=None):
    """HBM -> a new SBUF tile of the view's shape (a 0-d view loads as (1, 1))."""
    check(mask is None, "mask= is outside the double's subset")
    check(isinstance(src, Tensor) and not src.buffer.on_chip, _memory_error("src", "load", "hbm", src))
    shape = src.shape if len(src.shape) >= 2 else (1,) * (2 - len(src.shape)) + src.shape
    partition_limit(shape[0])
    token = src.dtype if dtype is None else dtype
    t = allocate(shape, token, sbuf, f"load{next(_names)}", "legacy")
    t.write(dtypes.cast(src.read("src"), t.np_dtype), OTHER_ENGINE)
    return t


@as_legacy
def store(dst, value, *, mask=None):
    """A tile (SBUF; PSUM is copied first) -> the HBM view `dst`."""
    check(mask is None, "mask= is outside the double's subset")
    check(isinstance(dst, Tensor) and not dst.buffer.on_chip, _memory_error("dst", "store", "hbm", dst))
    check(isinstance(value, Tensor) and value.buffer.on_chip, "nl.store stores a tile")
    data = value.read("value")
    if data.shape != dst.shape:
        try:
            data = np.broadcast_to(data, dst.shape)
        except ValueError:
            fail(f"cannot store a value of shape {list(value.shape)} into {list(dst.shape)}")
    dst.write(dtypes.cast(data, dst.np_dtype), OTHER_ENGINE)


def _memory_error(role, op, want, t):
    got = t.buffer.name if isinstance(t, Tensor) else type(t).__name__
    return f"Expected operand '{role}' of '{op}' to be in address space '{want}', but got a tile in '{got}' instead."

