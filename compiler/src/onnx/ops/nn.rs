//! Linear algebra, normalisation and reductions: MatMul, Gemm, Softmax,
//! LogSoftmax, LayerNormalization, ReduceSum/Mean/Max/Min.

use crate::onnx::dtype::dtype_from_onnx;
use crate::onnx::node::{NodeCx, Result};
use trnc_ir::{format_shape, BinaryOp, DType, Op, ReduceOp, Tensor, UnaryOp};

pub fn matmul(cx: &mut NodeCx) -> Result<()> {
    let a = cx.input(0)?;
    let b = cx.input(1)?;
    let y = cx.emit(Op::MatMul, &[a, b], &cx.out(0))?;
    cx.set_output(0, y)
}

/// Y = alpha * A' B' + beta * C, with A' and B' optionally transposed and
/// C broadcast to [M, N].
pub fn gemm(cx: &mut NodeCx) -> Result<()> {
    let mut a = cx.input(0)?;
    let mut b = cx.input(1)?;
    let c = cx.opt_input(2)?;
    let alpha = cx.attr_float("alpha", 1.0)?;
    let beta = cx.attr_float("beta", 1.0)?;
    cx.expect_rank(a, 2, "A")?;
    cx.expect_rank(b, 2, "B")?;
    let transpose = Op::Transpose { perm: vec![1, 0] };
    if cx.attr_int("transA", 0)? != 0 {
        a = cx.emit(transpose.clone(), &[a], &cx.tmp("a_t"))?;
    }
    if cx.attr_int("transB", 0)? != 0 {
        b = cx.emit(transpose, &[b], &cx.tmp("b_t"))?;
    }
    let bias = c.filter(|_| beta != 0.0);
    let last = |cx: &NodeCx, is_last: bool, suffix: &str| if is_last { cx.out(0) } else { cx.tmp(suffix) };
    let mut y = cx.emit(Op::MatMul, &[a, b], &last(cx, alpha == 1.0 && bias.is_none(), "matmul"))?;
    let product_shape = cx.shape(y);
    let dtype = cx.dtype(y);
    if alpha != 1.0 {
        let s = cx.scalar(dtype, f64::from(alpha), &cx.tmp("alpha"));
        y = cx.emit(Op::Binary(BinaryOp::Mul), &[y, s], &last(cx, bias.is_none(), "scaled"))?;
    }
    if let Some(mut c) = bias {
        if beta != 1.0 {
            let s = cx.scalar(cx.dtype(c), f64::from(beta), &cx.tmp("beta"));
            c = cx.emit(Op::Binary(BinaryOp::Mul), &[c, s], &cx.tmp("c_scaled"))?;
        }
        y = cx.emit(Op::Binary(BinaryOp::Add), &[y, c], &cx.out(0))?;
        // C broadcasts one way only: it may not grow the product.
        if cx.shape(y) != product_shape {
            return Err(cx.fail(format!(
                "input 'C' of shape {} does not broadcast to the product's shape {}",
                format_shape(&cx.shape(c)),
                format_shape(&product_shape)
            )));
        }
    }
    cx.set_output(0, y)
}

/// Softmax and LogSoftmax. From opset 13 they normalise along one axis
/// (default -1). Before, the input is coerced to 2-D at `axis` (default 1)
/// and normalised along all the dimensions from `axis` on: a reshape to
/// [outer, inner], the op along axis 1, and a reshape back.
pub fn softmax(cx: &mut NodeCx, log: bool) -> Result<()> {
    let x = cx.input(0)?;
    let make = |axis| if log { Op::LogSoftmax { axis } } else { Op::Softmax { axis } };
    if cx.version >= 13 {
        let axis = cx.axis(cx.attr_int("axis", -1)?, cx.rank(x))?;
        let y = cx.emit(make(axis), &[x], &cx.out(0))?;
        return cx.set_output(0, y);
    }
    let shape = cx.shape(x);
    let axis = cx.axis(cx.attr_int("axis", 1)?, shape.len())?;
    if axis + 1 == shape.len() {
        let y = cx.emit(make(axis), &[x], &cx.out(0))?;
        return cx.set_output(0, y);
    }
    let outer = shape[..axis].iter().product();
    let inner = shape[axis..].iter().product();
    let flat = cx.emit(Op::Reshape { shape: vec![outer, inner] }, &[x], &cx.tmp("2d"))?;
    let normalised = cx.emit(make(1), &[flat], &cx.tmp("2d_out"))?;
    let y = cx.emit(Op::Reshape { shape }, &[normalised], &cx.out(0))?;
    cx.set_output(0, y)
}

/// LayerNormalization (opset 17) over the axes `axis..rank`.
///
/// `stash_type` is the dtype of the first stage (standardisation) and of
/// the outputs Mean and InvStdDev. Y is one IR layer_norm op (computed in
/// f64, rounded once) when that is at least as precise as the stash type
/// (float, or the input's own dtype); with a narrower stash type, and for
/// Mean and InvStdDev, the first stage is spelled out in ops of the stash
/// type as the spec's function body does:
/// `Mean = ReduceMean(X)`, `D = X - Mean`, `InvStdDev = 1 / sqrt(ReduceMean(D * D) + epsilon)`.
pub fn layer_norm(cx: &mut NodeCx) -> Result<()> {
    let x = cx.input(0)?;
    let mut scale = cx.opt_input(1)?;
    let bias = cx.opt_input(2)?;
    let rank = cx.rank(x);
    let axis = cx.axis(cx.attr_int("axis", -1)?, rank)?;
    let epsilon = f64::from(cx.attr_float("epsilon", 1e-5)?);
    let code = cx.attr_int("stash_type", 1)?;
    let stash = match i32::try_from(code).map_err(|_| code.to_string()).and_then(dtype_from_onnx) {
        Ok(t) if t.is_float() => t,
        _ => return Err(cx.fail(format!("attribute 'stash_type' must name a float type, got {code}"))),
    };
    let dtype = cx.dtype(x);
    let y_in_one_op = stash == DType::F32 || stash == dtype;
    let stats_used = !cx.out(1).is_empty() || !cx.out(2).is_empty();
    if y_in_one_op {
        if bias.is_some() && scale.is_none() {
            // The IR takes a bias only after a scale; a scale of ones is exact.
            let shape = cx.shape(x)[axis..].to_vec();
            let count = shape.iter().product();
            let ones = Tensor::from_f64(dtype, shape, &vec![1.0; count]);
            scale = Some(cx.constant(ones, &cx.tmp("scale")));
        }
        let operands: Vec<_> = [Some(x), scale, bias].into_iter().flatten().collect();
        let y = cx.emit(Op::LayerNorm { axis, epsilon }, &operands, &cx.out(0))?;
        cx.set_output(0, y)?;
        if !stats_used {
            return Ok(());
        }
    }
    let axes: Vec<usize> = (axis..rank).collect();
    let mean_of = |cx: &mut NodeCx, v, hint: &str| {
        cx.emit(Op::Reduce { op: ReduceOp::Mean, axes: axes.clone(), keep_dims: true }, &[v], hint)
    };
    let xs = if dtype == stash { x } else { cx.emit(Op::Cast { to: stash, saturate: true }, &[x], &cx.tmp("stash"))? };
    let mean_hint = if cx.out(1).is_empty() { cx.tmp("mean") } else { cx.out(1) };
    let mean = mean_of(cx, xs, &mean_hint)?;
    let d = cx.emit(Op::Binary(BinaryOp::Sub), &[xs, mean], &cx.tmp("centered"))?;
    let dd = cx.emit(Op::Binary(BinaryOp::Mul), &[d, d], &cx.tmp("squared"))?;
    let var = mean_of(cx, dd, &cx.tmp("var"))?;
    let eps = cx.scalar(stash, epsilon, &cx.tmp("epsilon"));
    let var_eps = cx.emit(Op::Binary(BinaryOp::Add), &[var, eps], &cx.tmp("var_eps"))?;
    let std = cx.emit(Op::Unary(UnaryOp::Sqrt), &[var_eps], &cx.tmp("std"))?;
    let inv_hint = if cx.out(2).is_empty() { cx.tmp("inv_std") } else { cx.out(2) };
    let inv_std = cx.emit(Op::Unary(UnaryOp::Reciprocal), &[std], &inv_hint)?;
    cx.set_output(1, mean)?;
    cx.set_output(2, inv_std)?;
    if y_in_one_op {
        return Ok(());
    }
    let normalized = cx.emit(Op::Binary(BinaryOp::Mul), &[d, inv_std], &cx.tmp("normalized"))?;
    let mut y = cx.emit(Op::Cast { to: dtype, saturate: true }, &[normalized], &cx.tmp("normalized_cast"))?;
    let scale = scale.ok_or_else(|| cx.fail("required input 'Scale' (input 1) is missing"))?;
    let hint = if bias.is_some() { cx.tmp("scaled") } else { cx.out(0) };
    y = cx.emit(Op::Binary(BinaryOp::Mul), &[y, scale], &hint)?;
    if let Some(bias) = bias {
        y = cx.emit(Op::Binary(BinaryOp::Add), &[y, bias], &cx.out(0))?;
    }
    cx.set_output(0, y)
}

/// Reductions. The axes come from the `axes` input (ReduceSum from opset
/// 13, the others from 18) or, in earlier opsets, the attribute; empty
/// axes mean all axes, or none with `noop_with_empty_axes`.
pub fn reduce(cx: &mut NodeCx, op: ReduceOp) -> Result<()> {
    let x = cx.input(0)?;
    let keep_dims = cx.attr_int("keepdims", 1)? != 0;
    let noop_with_empty_axes = cx.attr_int("noop_with_empty_axes", 0)? != 0;
    let axes = match cx.opt_const_ints(1, "axes")? {
        Some(axes) => axes,
        None => cx.attr_ints("axes")?.unwrap_or_default(),
    };
    let rank = cx.rank(x);
    let axes = if axes.is_empty() {
        if noop_with_empty_axes {
            return cx.set_output(0, x);
        }
        (0..rank).collect()
    } else {
        cx.axes(&axes, rank)?
    };
    let shape = cx.shape(x);
    let dtype = cx.dtype(x);
    let extremum = matches!(op, ReduceOp::Max | ReduceOp::Min);
    if extremum && axes.iter().any(|&a| shape[a] == 0) {
        // ReduceMax/Min over nothing (opset 18): the identity of the
        // reduction, -inf / +inf, or the dtype's extreme value where it has
        // no infinities.
        let out: Vec<usize> = (0..rank)
            .filter_map(|i| match (axes.contains(&i), keep_dims) {
                (false, _) => Some(shape[i]),
                (true, true) => Some(1),
                (true, false) => None,
            })
            .collect();
        let count = out.iter().product();
        let is_max = op == ReduceOp::Max;
        let infinity = if is_max { f64::NEG_INFINITY } else { f64::INFINITY };
        let value = if dtype.is_float() && dtype.round(infinity).is_infinite() {
            infinity
        } else if is_max {
            dtype.min_value()
        } else {
            dtype.max_value()
        };
        let t = Tensor::from_f64(dtype, out, &vec![value; count]);
        let h = cx.constant(t, &cx.out(0));
        return cx.set_output(0, h);
    }
    if extremum && dtype == DType::Bool {
        // Opset 20 reduces bool tensors too (False < True): as 0/1 integers.
        let ints = cx.emit(Op::Cast { to: DType::I32, saturate: true }, &[x], &cx.tmp("as_int"))?;
        let r = cx.emit(Op::Reduce { op, axes, keep_dims }, &[ints], &cx.tmp("reduced"))?;
        let y = cx.emit(Op::Cast { to: DType::Bool, saturate: true }, &[r], &cx.out(0))?;
        return cx.set_output(0, y);
    }
    let y = cx.emit(Op::Reduce { op, axes, keep_dims }, &[x], &cx.out(0))?;
    cx.set_output(0, y)
}
