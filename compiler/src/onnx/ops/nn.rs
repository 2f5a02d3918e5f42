//! Linear algebra, normalisation and reductions: MatMul, Gemm, Softmax,
//! LogSoftmax, LayerNormalization, ReduceSum/Mean/Max/Min.

use crate::onnx::node::{NodeCx, Result};
use trnc_ir::{format_shape, BinaryOp, Op, ReduceOp, Tensor};

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

/// Softmax and LogSoftmax with the single-axis semantics of opset 13.
pub fn softmax(cx: &mut NodeCx, log: bool) -> Result<()> {
    let x = cx.input(0)?;
    let axis = cx.axis(cx.attr_int("axis", -1)?, cx.rank(x))?;
    let op = if log { Op::LogSoftmax { axis } } else { Op::Softmax { axis } };
    let y = cx.emit(op, &[x], &cx.out(0))?;
    cx.set_output(0, y)
}

/// LayerNormalization (opset 17) over the axes `axis..rank`. Its optional
/// outputs Mean and InvStdDev are not computed.
pub fn layer_norm(cx: &mut NodeCx) -> Result<()> {
    let x = cx.input(0)?;
    let mut scale = cx.opt_input(1)?;
    let bias = cx.opt_input(2)?;
    let axis = cx.axis(cx.attr_int("axis", -1)?, cx.rank(x))?;
    let epsilon = f64::from(cx.attr_float("epsilon", 1e-5)?);
    if bias.is_some() && scale.is_none() {
        // The IR takes a bias only after a scale; a scale of ones is exact.
        let shape = cx.shape(x)[axis..].to_vec();
        let count = shape.iter().product();
        let ones = Tensor::from_f64(cx.dtype(x), shape, &vec![1.0; count]);
        scale = Some(cx.constant(ones, &cx.tmp("scale")));
    }
    let operands: Vec<_> = [Some(x), scale, bias].into_iter().flatten().collect();
    let y = cx.emit(Op::LayerNorm { axis, epsilon }, &operands, &cx.out(0))?;
    cx.set_output(0, y)?;
    cx.set_unavailable(1, "its output 'Mean' is not supported by trnc");
    cx.set_unavailable(2, "its output 'InvStdDev' is not supported by trnc");
    Ok(())
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
    let y = cx.emit(Op::Reduce { op, axes, keep_dims }, &[x], &cx.out(0))?;
    cx.set_output(0, y)
}
