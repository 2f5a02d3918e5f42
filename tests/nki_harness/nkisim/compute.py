"""What each ISA instruction computes, and the rules it checks, shared by
both dialects (nki-api.md §4–5). Each function takes the operand views and
returns the result in the instruction's natural shape; the dialect front
ends write it into `dst` (NKI 0.6) or into a new tile (legacy).

Precision follows the engines (and trnc's simulator): inputs become fp32,
arithmetic runs in float64 and is rounded to fp32, matmul products are
summed in float64 and rounded once, PSUM accumulates in fp32.
"""

import os

import numpy as np

from . import dtypes
from .errors import check, fail, partition_limit
from .ops import activation_op, alu_op
from .tensor import OTHER_ENGINE, TENSOR_ENGINE, UNWRITTEN, Tensor, psum, sbuf

PSUM_BANK_BYTES = 2048


def generation():
    """The NeuronCore generation: NEURON_PLATFORM_TARGET_OVERRIDE as NKI reads
    it (nki-api.md §1); trn2 (gen3) when unset, trnc's default target."""
    target = os.environ.get("NEURON_PLATFORM_TARGET_OVERRIDE", "trn2")
    return {"trn1": 2, "inf2": 2, "gen2": 2, "trn2": 3, "gen3": 3, "trn3": 4, "gen4": 4}.get(target, 3)


def on_chip(t, role, op):
    check(isinstance(t, Tensor), f"'{op}': {role} must be a tensor, got {type(t).__name__}")
    if not t.buffer.on_chip:
        fail(
            f"Expected operand '{role}' of '{op}' to be in address space 'psum|sbuf', "
            f"but got a tile in '{t.buffer.name}' instead."
        )
    partition_limit(t.partitions)
    return t


def in_buffer(t, role, op, buffer):
    on_chip(t, role, op)
    check(t.buffer is buffer, f"'{op}' requires {role} in {buffer.name.upper()}, received {role} buffer {t.buffer.name}")


def same_partitions(a, ra, b, rb, op):
    check(
        a.partitions == b.partitions,
        f"number of partitions (dimension 0 size of a tile) mismatch in parameters "
        f"({ra}{list(a.shape)}, {rb}{list(b.shape)}) of '{op}'",
    )


def same_elements(a, ra, b, rb, op):
    same_partitions(a, ra, b, rb, op)
    check(
        a.free_size == b.free_size,
        f"'{op}': {ra}{list(a.shape)} and {rb}{list(b.shape)} differ in elements per partition",
    )


def engine_values(t, role):
    """(P, F) fp32 values of an on-chip operand, free axes flattened."""
    return dtypes.fp32(t.read(role)).reshape(t.partitions, -1)


# -- Tensor Engine --------------------------------------------------------------
def matmul(stationary, moving):
    """stationary[K, M]ᵀ @ moving[K, N], fp32 (nki-api.md §5)."""
    op = "nc_matmul"
    in_buffer(stationary, "stationary", op, sbuf)
    in_buffer(moving, "moving", op, sbuf)
    same_partitions(stationary, "stationary", moving, "moving", op)
    m, n = stationary.free_size, moving.free_size
    check(m <= 128, f"nc_matmul stationary free size {m} exceeds architecture limitation of 128.")
    limit = 4096 if generation() >= 4 else 512
    check(n <= limit, f"nc_matmul moving free size {n} exceeds architecture limitation of {limit}.")
    kinds = [dtypes.is_float(t.np_dtype) for t in (stationary, moving)]
    check(all(kinds), "nc_matmul takes fp8, bf16, fp16, tf32 or fp32 inputs")
    f32 = [t.np_dtype == np.float32 for t in (stationary, moving)]
    check(f32[0] == f32[1], "nc_matmul: if one input is fp32, the other must be fp32 too")
    product = engine_values(stationary, "stationary").T @ engine_values(moving, "moving")
    return dtypes.fp32(product)


def psum_result_checks(dst, m, n, op):
    """dst of a TensorE instruction: PSUM, [m, n], inside one 2 KiB bank."""
    in_buffer(dst, "dst", op, psum)
    check(dst.partitions == m and dst.free_size == n, f"'{op}': dst{list(dst.shape)} must hold [{m}, {n}]")
    row = int(np.prod(dst.storage.shape[1:]))
    banks = np.unique((dst.index.reshape(-1) % row) * dst.np_dtype.itemsize // PSUM_BANK_BYTES)
    check(banks.size <= 1, f"'{op}': dst spans {banks.size} PSUM banks; a TensorE result must lie in one 2 KiB bank")


def accumulate_into(dst, product, accumulate):
    """Writes a matmul product into PSUM: overwrite (False), add (True), or
    overwrite where nothing was written yet and add elsewhere (None)."""
    state = dst.psum_state()
    if accumulate is True:
        bad = state == UNWRITTEN
        check(not bad.any(), f"nc_matmul accumulate=True onto {dst.describe()}, which nothing wrote: undefined")
        if generation() < 4:
            check(
                not (state == OTHER_ENGINE).any(),
                f"nc_matmul accumulate=True onto {dst.describe()}, last written by a non-matmul engine: "
                "undefined on NeuronCore-v2/v3",
            )
    check(accumulate in (None, True, False), f"nc_matmul accumulate must be None, True or False, got {accumulate!r}")
    flat = product.reshape(-1)
    if accumulate is False:
        add = np.zeros(flat.size, bool)
    elif accumulate is True:
        add = np.ones(flat.size, bool)
    else:
        add = state != UNWRITTEN
    old = dtypes.fp32(dst.storage.data[dst.index.reshape(-1)])
    dst.write(dtypes.store(np.where(add, old + flat, flat), dst.np_dtype), TENSOR_ENGINE)


def transpose(data, engine_name):
    """dst[f, p] = data[p, f], free axes flattened; the dtype is kept."""
    op = "nc_transpose"
    on_chip(data, "data", op)
    p, f = data.partitions, data.free_size
    if engine_name == "vector":
        check(p <= 32 and f <= 32, f"nc_transpose on the Vector Engine takes at most [32, 32], got [{p}, {f}]")
    else:
        check(data.buffer is sbuf, "nc_transpose on the Tensor Engine reads SBUF")
        check(f <= 128, f"size of dimension 1 in 'data[{p}, {f}]' of 'nc_transpose' exceed architecture limitation of 128.")
    return data.read("data").reshape(p, f).T


# -- Vector / Scalar / GpSimd -----------------------------------------------------
def tensor_tensor(data1, data2, op, engine_name):
    name = "tensor_tensor"
    op = alu_op(op)
    on_chip(data1, "data1", name)
    on_chip(data2, "data2", name)
    same_elements(data1, "data1", data2, "data2", name)
    check(not (data1.buffer is psum and data2.buffer is psum), "tensor_tensor: data1 and data2 cannot both be in PSUM")
    check(not op.unary, f"tensor_tensor takes a binary op, not {op!r}")
    if op.name == "power" or engine_name == "gpsimd":
        check(psum not in (data1.buffer, data2.buffer), "the GpSimd Engine cannot access PSUM")
    with np.errstate(all="ignore"):
        out = op.alu(engine_values(data1, "data1"), engine_values(data2, "data2"))
    return dtypes.fp32(out).reshape(data1.shape)


def per_partition(value, role, partitions, op):
    """A compile-time scalar, or a (P, 1) fp32 tile broadcast along free."""
    if isinstance(value, Tensor):
        on_chip(value, role, op)
        check(value.partitions == partitions and value.free_size == 1, f"'{op}': {role} must be ({partitions}, 1)")
        return engine_values(value, role)
    check(isinstance(value, (int, float, np.integer, np.floating)), f"'{op}': {role} must be a scalar or a (P, 1) tile")
    return np.full((partitions, 1), float(np.float32(value)))


def tensor_scalar(data, op0, operand0, reverse0, op1, operand1, reverse1, engine_name):
    name = "tensor_scalar"
    on_chip(data, "data", name)
    op0 = alu_op(op0, "op0")
    p = data.partitions
    if op0.unary:
        check(operand0 in (None, 0, 0.0), f"tensor_scalar: unary op0 {op0!r} needs operand0 None or 0")
        operand0 = 0.0
    for role, operand in (("operand0", operand0), ("operand1", operand1)):
        if isinstance(operand, Tensor):
            check(operand.np_dtype == np.float32, f"tensor_scalar: arithmetic {role} must be fp32")
    check((op1 is None) == (operand1 is None), "tensor_scalar: op1 and operand1 are both given or both None")
    if engine_name == "gpsimd":
        check(op0.name == "rsqrt" and op1 is None, "tensor_scalar runs on the GpSimd Engine only for rsqrt")
        check(data.buffer is not psum, "the GpSimd Engine cannot access PSUM")
    if engine_name == "scalar":
        check(generation() >= 3, "tensor_scalar on the Scalar Engine needs NeuronCore-v3 or later")
        pair = (op0.name, None if op1 is None else op1.name)
        check(pair in {("multiply", "add"), ("multiply", None), ("add", None)}, f"Scalar Engine tensor_scalar takes {pair}?")
    x = engine_values(data, "data")

    def apply(op, a, s, reverse):
        with np.errstate(all="ignore"):
            return op.alu(s, a) if reverse else op.alu(a, s)

    out = dtypes.fp32(apply(op0, x, per_partition(operand0, "operand0", p, name), reverse0))
    if op1 is not None:
        op1 = alu_op(op1, "op1")
        check(not op1.unary, f"tensor_scalar: unary {op1!r} goes in op0 only")
        out = dtypes.fp32(apply(op1, out, per_partition(operand1, "operand1", p, name), reverse1))
    return out.reshape(data.shape)


def reduce_axes(data, axis):
    """The axes as a tuple; only the last free axes, in order, may be reduced."""
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    rank = len(data.shape)
    if 0 in axes:
        fail("tensor_reduce cannot reduce axis 0, the partition dimension: reductions run along free axes only")
    check(
        list(axes) == list(range(rank - len(axes), rank)) and len(axes) > 0,
        f"tensor_reduce axis {axis} must be the last free axes of a rank-{rank} tile, in order",
    )
    return axes


def tensor_reduce(op, data, axis, negate, keepdims):
    name = "tensor_reduce"
    on_chip(data, "data", name)
    op = alu_op(op)
    check(op.reduces, f"{op!r} is not a legal reduction")
    axes = reduce_axes(data, axis)
    x = dtypes.fp32(data.read("data"))
    with np.errstate(all="ignore"):
        out = op.alu.reduce(x, axis=axes, keepdims=keepdims) if hasattr(op.alu, "reduce") else _fold(op, x, axes, keepdims)
    out = dtypes.fp32(-out if negate else out)
    return out if out.ndim >= 2 else out.reshape(data.partitions, 1)


def _fold(op, x, axes, keepdims):
    moved = np.moveaxis(x, axes, list(range(x.ndim - len(axes), x.ndim)))
    flat = moved.reshape(moved.shape[: x.ndim - len(axes)] + (-1,))
    acc = flat[..., 0]
    for i in range(1, flat.shape[-1]):
        acc = op.alu(acc, flat[..., i])
    if keepdims:
        acc = acc.reshape(acc.shape + (1,) * len(axes))
    return acc


def activation(op, data, bias, scale):
    """op(data * scale + bias) on the Scalar Engine, fp32; also returns the
    per-partition sums of the results (for reduce_res)."""
    name = "activation"
    op = activation_op(op)
    on_chip(data, "data", name)
    p = data.partitions
    x = engine_values(data, "data")
    s = per_partition(scale, "scale", p, name)
    b = np.zeros((p, 1))
    if bias is not None:
        check(isinstance(bias, Tensor), "activation bias must be a (P, 1) tile (a scalar bias needs NeuronCore-v3)")
        check(bias.free_size == 1, "activation bias must have free size 1 (P, 1)")
        check(dtypes.is_float(bias.np_dtype), "activation bias must be a float vector")
        b = per_partition(bias, "bias", p, name)
    with np.errstate(all="ignore"):
        out = dtypes.fp32(op.act(dtypes.fp32(x * s + b)))
    return out.reshape(data.shape), dtypes.fp32(out.sum(axis=1, keepdims=True))


def copy(src, engine_name, op="tensor_copy"):
    on_chip(src, "src", op)
    if engine_name == "gpsimd":
        check(src.buffer is not psum, "the GpSimd Engine cannot access PSUM")
    return src.read("src")


def memset_value(value, npd):
    if dtypes.is_int(npd) or npd == np.bool_:
        check(
            isinstance(value, (int, np.integer, bool)),
            f"memset value {value!r} must be an int for {npd} (a value of dst's dtype)",
        )
    return dtypes.store(np.asarray(float(value)), npd)


def pattern_values(partitions, pattern, offset, cm):
    """offset + c * cm + Σ step * i over dst (iota / affine_select), in int32."""
    check(len(pattern) <= 4, f"pattern has {len(pattern)} pairs; at most 4")
    values = np.full(1, 0, np.int64)
    for step, count in pattern:
        values = (values[:, None] + step * np.arange(count)[None, :]).reshape(-1)
    values = offset + cm * np.arange(partitions)[:, None] + values[None, :]
    check(values.size == 0 or (values.min() >= -(2**31) and values.max() < 2**31), "pattern values leave int32")
    return values


def bn_stats(data):
    on_chip(data, "data", "bn_stats")
    check(data.free_size <= 512, f"bn_stats data free size {data.free_size} exceeds bn_stats_fmax 512")
    x = engine_values(data, "data")
    out = []
    for parity in (0, 1):
        g = x[:, parity::2]
        n = g.shape[1]
        mean = g.mean(axis=1) if n else np.zeros(x.shape[0])
        m2 = ((g - mean[:, None]) ** 2).sum(axis=1)
        out += [np.full(x.shape[0], float(n)), mean, m2]
    return dtypes.fp32(np.stack(out, axis=1))


def bn_aggr(data):
    on_chip(data, "data", "bn_aggr")
    check(data.free_size % 3 == 0 and data.free_size > 0, "bn_aggr data free size must be a multiple of 3")
    g = engine_values(data, "data").reshape(data.partitions, -1, 3)
    n = g[:, :, 0].sum(axis=1)
    with np.errstate(all="ignore"):
        mean = (g[:, :, 0] * g[:, :, 1]).sum(axis=1) / n
        m2 = (g[:, :, 2] + g[:, :, 0] * (g[:, :, 1] - mean[:, None]) ** 2).sum(axis=1)
        return dtypes.fp32(np.stack([mean, m2 / n], axis=1))


def dma_copy(dst, src):
    """dst = src, each in HBM or SBUF, equal element counts; a dtype change
    casts through fp32 (nki-api.md §4)."""
    for role, t in (("dst", dst), ("src", src)):
        check(isinstance(t, Tensor), f"dma_copy {role} must be a tensor")
    if src.buffer is psum:
        fail("nisa.dma_copy no longer supports reading directly from PSUM (src is a PSUM tile)")
    check(dst.buffer is not psum, "nisa.dma_copy cannot write PSUM; dst must be in HBM or SBUF")
    check(
        dst.index.size == src.index.size,
        f"dma_copy moves equal element counts: dst{list(dst.shape)} has {dst.index.size}, src{list(src.shape)} {src.index.size}",
    )
    dst.write(dtypes.cast(src.read("src"), dst.np_dtype), OTHER_ENGINE)

