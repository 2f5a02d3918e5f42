"""Test double of legacy `neuronxcc.nki.isa` (SDK 2.26): each instruction
returns a new tile (nki-api.md §0, §4–5), which the kernel assigns into its
own tiles (`t[...] = nisa.op(...)`). Signatures are the documented ones
without their trailing `**kwargs`: rejecting unknown keywords here is this
project's choice (nki-api.md §10). `mask=` must be None (outside the subset).
"""

import itertools
from enum import IntEnum

import numpy as np
from nkisim import compute, dtypes
from nkisim.errors import as_legacy, check
from nkisim.tensor import OTHER_ENGINE, TENSOR_ENGINE, Tensor, allocate, psum, sbuf

from . import language as nl

_names = itertools.count()


class engine(IntEnum):
    unknown = 0
    tensor = 1
    scalar = 2
    gpsimd = 3
    vector = 5


tensor_engine, vector_engine, scalar_engine = engine.tensor, engine.vector, engine.scalar
gpsimd_engine, unknown_engine = engine.gpsimd, engine.unknown


class reduce_cmd(IntEnum):
    idle = 0
    reset = 1
    reduce = 2
    reset_reduce = 3


class dge_mode(IntEnum):
    none = 0
    swdge = 1
    hwdge = 2
    unknown = 3


class oob_mode(IntEnum):
    error = 0
    skip = 1


def _engine(e, op):
    check(e in list(engine), f"{op}: engine {e!r} is not a nisa engine")
    return None if e == engine.unknown else engine(e).name


def _no_mask(mask):
    check(mask is None, "mask= is outside the double's subset")


def _tile(values, token, buffer=sbuf, writer=OTHER_ENGINE, raw=False):
    """A new tile holding `values` (float64 results, or raw values to cast)."""
    values = np.asarray(values)
    shape = values.shape if values.ndim >= 2 else (values.shape[0] if values.ndim else 1, 1)
    t = allocate(shape, token, buffer, f"result{next(_names)}", "legacy")
    t.write(dtypes.cast(values, t.np_dtype) if raw else dtypes.store(values, t.np_dtype), writer)
    t.writer = writer
    return t


def _promote(a, b):
    """Legacy type promotion (nki-api.md §2) for tensor_tensor's default dtype."""
    x, y = np.dtype(a), np.dtype(b)
    if x == y:
        return a
    fx, fy = dtypes.is_float(x), dtypes.is_float(y)
    if fx != fy:
        return a if fx else b
    if not fx:
        return np.float32 if {x, y} == {np.dtype(np.int32), np.dtype(np.uint32)} else np.promote_types(x, y)
    if np.float32 in (x, y):
        return np.float32
    sizes = {x.itemsize, y.itemsize}
    if sizes == {2}:
        return np.float32  # fp16 with bf16
    if sizes == {1}:
        return nl.bfloat16  # two fp8 formats
    return a if x.itemsize == 2 else b


@as_legacy
def dma_copy(*, dst, src, mask=None, dst_rmw_op=None, oob_mode=oob_mode.error, dge_mode=dge_mode.unknown):
    _no_mask(mask)
    check(dst_rmw_op is None, "dst_rmw_op is outside the double's subset")
    compute.dma_copy(dst, src)


@as_legacy
def nc_matmul(
    stationary,
    moving,
    *,
    is_stationary_onezero=False,
    is_moving_onezero=False,
    is_transpose=False,
    tile_position=(),
    tile_size=(),
    mask=None,
):
    _no_mask(mask)
    check(not (is_transpose or tile_position or tile_size), "matmul transpose and tiling are outside the subset")
    t = _tile(compute.matmul(stationary, moving), np.float32, psum, TENSOR_ENGINE)
    t.from_matmul = True
    return t


@as_legacy
def nc_transpose(data, *, mask=None, dtype=None, engine=engine.unknown):
    _no_mask(mask)
    which = _engine(engine, "nc_transpose") or ("vector" if data.partitions <= 32 and data.free_size <= 32 else "tensor")
    out = compute.transpose(data, which)
    buffer, writer = (psum, TENSOR_ENGINE) if which == "tensor" else (sbuf, OTHER_ENGINE)
    return _tile(out, dtype or data.dtype, buffer, writer, raw=True)


@as_legacy
def tensor_tensor(data1, data2, op, *, dtype=None, mask=None, engine=engine.unknown):
    _no_mask(mask)
    out = compute.tensor_tensor(data1, data2, op, _engine(engine, "tensor_tensor"))
    return _tile(out, dtype or _promote(data1.dtype, data2.dtype))


@as_legacy
def tensor_scalar(
    data,
    op0,
    operand0,
    reverse0=False,
    op1=None,
    operand1=None,
    reverse1=False,
    *,
    dtype=None,
    mask=None,
    engine=engine.unknown,
):
    _no_mask(mask)
    which = _engine(engine, "tensor_scalar")
    out = compute.tensor_scalar(data, op0, operand0, reverse0, op1, operand1, reverse1, which)
    return _tile(out, dtype or data.dtype)


@as_legacy
def tensor_reduce(op, data, axis, *, mask=None, dtype=None, negate=False, keepdims=False):
    _no_mask(mask)
    return _tile(compute.tensor_reduce(op, data, axis, negate, keepdims), dtype or data.dtype)


@as_legacy
def activation(
    op, data, *, bias=None, scale=1.0, reduce_op=None, reduce_res=None, reduce_cmd=reduce_cmd.idle, mask=None, dtype=None
):
    _no_mask(mask)
    if reduce_cmd != 0 or reduce_op is not None or reduce_res is not None:
        check(reduce_cmd == 3, "activation reduce commands other than reset_reduce are outside the double's subset")
        return activation_reduce(op, data, reduce_op=reduce_op, reduce_res=reduce_res, bias=bias, scale=scale, dtype=dtype)
    out, _ = compute.activation(op, data, bias, scale)
    return _tile(out, dtype or data.dtype)


@as_legacy
def activation_reduce(op, data, *, reduce_op, reduce_res, bias=None, scale=1.0, mask=None, dtype=None):
    _no_mask(mask)
    check(reduce_op is nl.add, "activation reduce_op must be nl.add")
    out, sums = compute.activation(op, data, bias, scale)
    check(isinstance(reduce_res, Tensor) and reduce_res.buffer.on_chip, "reduce_res must be a (P, 1) tile")
    check(reduce_res.partitions == data.partitions and reduce_res.free_size == 1, "reduce_res must be (P, 1)")
    reduce_res.write(dtypes.store(sums, reduce_res.np_dtype), OTHER_ENGINE)
    return _tile(out, dtype or data.dtype)


@as_legacy
def tensor_copy(src, *, mask=None, dtype=None, engine=engine.unknown):
    _no_mask(mask)
    which = _engine(engine, "tensor_copy")
    check(which != "scalar" or compute.generation() >= 3, "tensor_copy on the Scalar Engine needs NeuronCore-v3")
    return _tile(compute.copy(src, which), dtype or src.dtype, raw=True)


@as_legacy
def memset(shape, value, dtype, *, mask=None, engine=engine.unknown):
    _no_mask(mask)
    _engine(engine, "memset")
    npd = np.dtype(dtype)
    return _tile(np.full(tuple(shape), compute.memset_value(value, npd)), dtype, raw=True)


@as_legacy
def iota(expr, dtype, *, mask=None):
    _no_mask(mask)
    values = expr.index_values() if hasattr(expr, "index_values") else np.asarray(expr)
    return _tile(values.astype(np.float64), dtype)


@as_legacy
def affine_select(pred, on_true_tile, on_false_value, *, mask=None, dtype=None):
    _no_mask(mask)
    compute.on_chip(on_true_tile, "on_true_tile", "affine_select")
    keep = np.broadcast_to(np.asarray(pred.values if hasattr(pred, "values") else pred) != 0, on_true_tile.shape)
    data = dtypes.fp32(on_true_tile.read("on_true_tile"))
    return _tile(np.where(keep, data, np.float32(on_false_value)), dtype or on_true_tile.dtype)


@as_legacy
def bn_stats(data, *, mask=None, dtype=None):
    _no_mask(mask)
    return _tile(compute.bn_stats(data), dtype or data.dtype)


@as_legacy
def bn_aggr(data, *, mask=None, dtype=None):
    _no_mask(mask)
    return _tile(compute.bn_aggr(data), dtype or data.dtype)
