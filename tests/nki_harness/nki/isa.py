"""Test double of `nki.isa` (NKI 0.6): destination-first instructions with the
exact documented signatures (nki-api.md §4–5); unknown keyword arguments
fail as in NKI since SDK 2.28. Each call checks its hardware rules, then
writes `dst`."""

from enum import Enum

import numpy as np
from nkisim import compute, dtypes
from nkisim.errors import NkiValidationError, OutsideSubset, check
from nkisim.tensor import OTHER_ENGINE, TENSOR_ENGINE, Tensor, psum, sbuf

from . import language as nl


class engine(Enum):
    tensor = 1
    vector = 5
    scalar = 2
    gpsimd = 3
    dma = 4
    sync = 6
    unknown = 0


class reduce_cmd(Enum):
    idle = 0
    reset = 1
    reduce = 2
    reset_reduce = 3
    load_reduce = 4


class dge_mode(Enum):
    unknown = 0
    swdge = 1
    hwdge = 2
    none = 3


class oob_mode(Enum):
    error = 0
    skip = 1


class matmul_perf_mode(Enum):
    none = "none"
    double_row = "double_row"


def _engine(e, allowed, op):
    if not isinstance(e, engine):
        raise NkiValidationError(f"{op}: engine must be a nisa.engine member, got {e!r}")
    if e is engine.unknown:
        return None
    check(e.name in allowed, f"{op} cannot run on the {e.name} engine")
    return e.name


def _write(dst, values, op, writer=OTHER_ENGINE):
    """dst receives values of the same partitions and elements per partition."""
    compute.on_chip(dst, "dst", op)
    values = np.asarray(values)
    p = values.shape[0] if values.ndim else 1
    check(
        dst.partitions == p and dst.free_size * p == values.size,
        f"'{op}': dst{list(dst.shape)} does not match the result {list(values.shape)}",
    )
    dst.write(dtypes.store(values, dst.np_dtype), writer)


def dma_copy(dst, src, priority=None, oob_mode=oob_mode.error, dge_mode=dge_mode.unknown, engine=engine.unknown, name=None):
    check(dge_mode is not globals()["dge_mode"].hwdge or dst.np_dtype == src.np_dtype, "hwdge DMA needs equal dtypes")
    compute.dma_copy(dst, src)


def nc_matmul(
    dst,
    stationary,
    moving,
    is_stationary_onezero=False,
    is_moving_onezero=False,
    is_transpose=False,
    accumulate=None,
    tile_position=(),
    tile_size=(),
    perf_mode=matmul_perf_mode.none,
    name=None,
):
    if is_transpose or tile_position or tile_size or perf_mode is not matmul_perf_mode.none:
        raise OutsideSubset("nc_matmul transpose, tiling and perf modes are outside the double's subset")
    product = compute.matmul(stationary, moving)
    compute.psum_result_checks(dst, *product.shape, "nc_matmul")
    check(dst.np_dtype == np.float32 or compute.generation() >= 4, "nc_matmul dst dtype must be float32 on gen2/gen3")
    compute.accumulate_into(dst, product, accumulate)


def nc_transpose(dst, data, engine=engine.unknown, name=None):
    which = _engine(engine, ("tensor", "vector"), "nc_transpose")
    if which is None:
        which = "vector" if data.partitions <= 32 and data.free_size <= 32 else "tensor"
    out = compute.transpose(data, which)
    check(dst.np_dtype == data.np_dtype, f"nc_transpose dst dtype {dst.np_dtype} must equal data dtype {data.np_dtype}")
    if which == "tensor":
        compute.psum_result_checks(dst, *out.shape, "nc_transpose")
    compute.on_chip(dst, "dst", "nc_transpose")
    check(dst.partitions == out.shape[0] and dst.free_size == out.shape[1], "nc_transpose: dst must be [F, P]")
    dst.write(out, TENSOR_ENGINE if which == "tensor" else OTHER_ENGINE)


def tensor_tensor(dst, data1, data2, op, engine=engine.unknown, name=None):
    which = _engine(engine, ("vector", "gpsimd", "scalar"), "tensor_tensor")
    _write(dst, compute.tensor_tensor(data1, data2, op, which), "tensor_tensor")


def tensor_scalar(
    dst,
    data,
    op0,
    operand0,
    reverse0=False,
    op1=None,
    operand1=None,
    reverse1=False,
    engine=engine.unknown,
    name=None,
):
    which = _engine(engine, ("vector", "scalar", "gpsimd"), "tensor_scalar")
    out = compute.tensor_scalar(data, op0, operand0, reverse0, op1, operand1, reverse1, which)
    _write(dst, out, "tensor_scalar")


def tensor_reduce(dst, op, data, axis, negate=False, keepdims=False, name=None):
    _write(dst, compute.tensor_reduce(op, data, axis, negate, keepdims), "tensor_reduce")


def activation(
    dst, op, data, bias=None, scale=1.0, reduce_op=None, reduce_res=None, reduce_cmd=reduce_cmd.idle, name=None
):
    if reduce_cmd is not globals()["reduce_cmd"].idle or reduce_op is not None or reduce_res is not None:
        if reduce_cmd is globals()["reduce_cmd"].reset_reduce and reduce_res is not None:
            return activation_reduce(dst, op, data, reduce_op, reduce_res, bias=bias, scale=scale)
        raise OutsideSubset("activation reduce commands other than reset_reduce are outside the double's subset")
    out, _ = compute.activation(op, data, bias, scale)
    _write(dst, out, "activation")


def activation_reduce(dst, op, data, reduce_op, reduce_res, bias=None, scale=1.0, name=None):
    """activation with reduce_cmd=reset_reduce: reduce_res gets the free-axis sum."""
    check(reduce_op is nl.add, "activation reduce_op must be nl.add")
    out, sums = compute.activation(op, data, bias, scale)
    check(isinstance(reduce_res, Tensor) and reduce_res.free_size == 1, "reduce_res must be a (P, 1) tile")
    _write(dst, out, "activation_reduce")
    _write(reduce_res, sums, "activation_reduce")


def tensor_copy(dst, src, engine=engine.unknown, name=None):
    which = _engine(engine, ("vector", "scalar", "gpsimd"), "tensor_copy")
    if which == "scalar":
        check(compute.generation() >= 3, "tensor_copy on the Scalar Engine is not supported on NeuronCore-v2")
    values = compute.copy(src, which)
    compute.on_chip(dst, "dst", "tensor_copy")
    compute.same_elements(dst, "dst", src, "src", "tensor_copy")
    dst.write(dtypes.cast(values, dst.np_dtype), OTHER_ENGINE)


def memset(dst, value, engine=engine.unknown, name=None):
    which = _engine(engine, ("vector", "gpsimd"), "memset")
    compute.on_chip(dst, "dst", "memset")
    check(which != "gpsimd" or dst.buffer is not psum, "the GpSimd Engine cannot access PSUM")
    dst.write(np.full(dst.index.size, compute.memset_value(value, dst.np_dtype)), OTHER_ENGINE)


def iota(dst, pattern, offset=0, channel_multiplier=0, name=None):
    compute.on_chip(dst, "dst", "iota")
    check(dst.buffer is sbuf, "iota writes SBUF")
    values = compute.pattern_values(dst.partitions, pattern, offset, channel_multiplier)
    check(values.size == dst.index.size, f"iota pattern covers {values.size // dst.partitions} per partition, dst {dst.free_size}")
    dst.write(dtypes.store(values, dst.np_dtype), OTHER_ENGINE)


def affine_select(dst, pattern, channel_multiplier, on_true_tile, on_false_value, cmp_op=nl.equal, offset=0, name=None):
    compute.on_chip(dst, "dst", "affine_select")
    check(dst.buffer is sbuf and on_true_tile.buffer is sbuf, "affine_select reads and writes SBUF")
    check(cmp_op.name in ("equal", "not_equal", "greater", "greater_equal", "less", "less_equal"), "cmp_op must compare")
    keys = compute.pattern_values(dst.partitions, pattern, offset, channel_multiplier)
    data = compute.engine_values(on_true_tile, "on_true_tile")
    check(keys.size == data.size == dst.index.size, "affine_select: pattern, on_true_tile and dst differ in size")
    out = np.where(cmp_op.alu(keys.astype(np.float64), 0.0).reshape(data.shape) != 0, data, np.float32(on_false_value))
    _write(dst, out, "affine_select")


def bn_stats(dst, data, name=None):
    _write(dst, compute.bn_stats(data), "bn_stats")


def bn_aggr(dst, data, name=None):
    _write(dst, compute.bn_aggr(data), "bn_aggr")
