"""Legacy NKI assignment: `tile[...] = nisa.op(...)` and
`psum[...] += nisa.nc_matmul(...)` (nki-api.md §0, §5).

The value is a tile an ISA call returned; it is written into the view,
cast to the view's dtype (bit-exact when equal, else through fp32). The
source may broadcast along its size-1 dimensions; a destination smaller
than the source is an error (`err_store_dst_shape_smaller_than_other_shape`).
"""

import numpy as np

from . import dtypes
from .compute import generation
from .errors import check, fail
from .tensor import OTHER_ENGINE, TENSOR_ENGINE, UNWRITTEN, Tensor, psum


def _broadcast(value, dst):
    src = value.read("value")
    if src.shape == dst.shape:
        return src
    if src.size > dst.index.size or len(src.shape) > len(dst.shape):
        fail(f"destination {list(dst.shape)} is smaller than the value {list(src.shape)} assigned to it")
    try:
        return np.broadcast_to(src, dst.shape)
    except ValueError:
        fail(f"cannot assign a value of shape {list(src.shape)} to a destination of shape {list(dst.shape)}")


def assign(dst, value):
    check(isinstance(value, Tensor), f"assigning {type(value).__name__} to a tile is outside the double's subset")
    if value.storage is dst.storage and np.array_equal(value.index, dst.index):
        return  # `acc[...] += x` stores the view onto itself
    check(dst.buffer.on_chip, "assignment writes SBUF/PSUM tiles; use nl.store for HBM")
    if getattr(value, "writer", OTHER_ENGINE) == TENSOR_ENGINE:
        check(dst.buffer is psum, f"the Tensor Engine writes PSUM: its result cannot go into {dst.describe()}")
    dst.write(dtypes.cast(_broadcast(value, dst), dst.np_dtype), getattr(value, "writer", OTHER_ENGINE))


def accumulate(dst, value):
    """`acc[...] += nc_matmul(...)`: adds into PSUM in fp32."""
    check(getattr(value, "from_matmul", False), "+= accumulates nc_matmul results only (in this double)")
    check(dst.buffer is psum, f"+= of a matmul accumulates into PSUM, not {dst.describe()}")
    check(value.shape == dst.shape, f"accumulating a {list(value.shape)} result into {list(dst.shape)}")
    state = dst.psum_state()
    check(not (state == UNWRITTEN).any(), f"accumulating into {dst.describe()}, which nothing initialised")
    if generation() < 4:
        check(not (state == OTHER_ENGINE).any(), "accumulating onto PSUM written by a non-matmul engine is undefined")
    old = dtypes.fp32(dst.read("accumulator"))
    dst.write(dtypes.store(old + dtypes.fp32(value.read("value")), dst.np_dtype), TENSOR_ENGINE)
    # Python then stores this view onto itself (`acc[...] += x`) or rebinds
    # the name to it (`acc += x`): both leave the accumulator as written.
    return Tensor(dst.storage, dst.index)
