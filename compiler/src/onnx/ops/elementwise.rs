//! Elementwise ops: unary math, binary arithmetic and comparisons, Where,
//! Cast, Clip, activations with attributes, Identity.

use crate::onnx::dtype::dtype_from_onnx;
use crate::onnx::node::{NodeCx, Result};
use trnc_ir::{BinaryOp, Op, UnaryOp};

pub fn unary(cx: &mut NodeCx, u: UnaryOp) -> Result<()> {
    let x = cx.input(0)?;
    let y = cx.emit(Op::Unary(u), &[x], &cx.out(0))?;
    cx.set_output(0, y)
}

/// Binary ops, with numpy broadcasting. ONNX requires equal dtypes here,
/// as the IR does; a mismatch is reported by type inference.
pub fn binary(cx: &mut NodeCx, op: BinaryOp) -> Result<()> {
    let a = cx.input(0)?;
    let b = cx.input(1)?;
    let y = cx.emit(Op::Binary(op), &[a, b], &cx.out(0))?;
    cx.set_output(0, y)
}

/// Max and Min take any number of operands, all broadcast together.
pub fn variadic(cx: &mut NodeCx, op: BinaryOp) -> Result<()> {
    let operands = cx.all_inputs()?;
    let mut acc = operands[0];
    for (k, &x) in operands.iter().enumerate().skip(1) {
        let hint = if k + 1 == operands.len() { cx.out(0) } else { cx.tmp(&format!("{}{k}", op.name())) };
        acc = cx.emit(Op::Binary(op), &[acc, x], &hint)?;
    }
    cx.set_output(0, acc)
}

/// ONNX Pow allows an exponent of another dtype (an int power of a float);
/// the IR does not, so the exponent is cast to the base's dtype.
pub fn pow(cx: &mut NodeCx) -> Result<()> {
    let base = cx.input(0)?;
    let mut exponent = cx.input(1)?;
    let dtype = cx.dtype(base);
    if !dtype.is_float() {
        return Err(cx.fail(format!("Pow of an integer base ({}) is not supported", cx.ty(base))));
    }
    if cx.dtype(exponent) != dtype {
        let cast = Op::Cast { to: dtype, saturate: true };
        exponent = cx.emit(cast, &[exponent], &cx.tmp("exponent"))?;
    }
    let y = cx.emit(Op::Binary(BinaryOp::Pow), &[base, exponent], &cx.out(0))?;
    cx.set_output(0, y)
}

pub fn where_(cx: &mut NodeCx) -> Result<()> {
    let cond = cx.input(0)?;
    let a = cx.input(1)?;
    let b = cx.input(2)?;
    let y = cx.emit(Op::Where, &[cond, a, b], &cx.out(0))?;
    cx.set_output(0, y)
}

pub fn cast(cx: &mut NodeCx) -> Result<()> {
    let x = cx.input(0)?;
    let to = cx.opt_attr_int("to")?.ok_or_else(|| cx.fail("attribute 'to' is missing"))?;
    let to = i32::try_from(to).map_err(|_| to.to_string()).and_then(dtype_from_onnx).map_err(|e| cx.fail(e))?;
    // `saturate` (opset 19) only affects float8 targets; its default is on.
    let saturate = cx.attr_int("saturate", 1)? != 0;
    if cx.dtype(x) == to {
        return cx.set_output(0, x);
    }
    let y = cx.emit(Op::Cast { to, saturate }, &[x], &cx.out(0))?;
    cx.set_output(0, y)
}

/// Clip(x, min, max) = min(max(x, lo), hi). Constant bounds become the
/// attributes of one clip op; bounds computed at run time become max/min
/// ops (applied in the same order).
pub fn clip(cx: &mut NodeCx) -> Result<()> {
    let x = cx.input(0)?;
    let lo = cx.opt_input(1)?;
    let hi = cx.opt_input(2)?;
    let bound = |cx: &NodeCx, h: Option<_>, role: &str| -> Result<Option<f64>> {
        let Some(t) = h.and_then(|h| cx.b.const_value(h)) else { return Ok(None) };
        if t.len() != 1 {
            return Err(cx.fail(format!("input '{role}' must be a scalar, got {}", t.ty())));
        }
        Ok(Some(t.get_f64(0)))
    };
    let (lo_value, hi_value) = (bound(cx, lo, "min")?, bound(cx, hi, "max")?);
    let lo_runtime = lo.filter(|_| lo_value.is_none());
    let hi_runtime = hi.filter(|_| hi_value.is_none());
    let attrs_needed = lo_value.is_some() || hi_value.is_some();
    let mut y = x;
    if let Some(lo) = lo_runtime {
        let hint = if attrs_needed || hi_runtime.is_some() { cx.tmp("max") } else { cx.out(0) };
        y = cx.emit(Op::Binary(BinaryOp::Max), &[y, lo], &hint)?;
    }
    if attrs_needed {
        let hint = if hi_runtime.is_some() { cx.tmp("clip") } else { cx.out(0) };
        y = cx.emit(Op::Clip { min: lo_value, max: hi_value }, &[y], &hint)?;
    }
    if let Some(hi) = hi_runtime {
        y = cx.emit(Op::Binary(BinaryOp::Min), &[y, hi], &cx.out(0))?;
    }
    cx.set_output(0, y)
}

pub fn leaky_relu(cx: &mut NodeCx) -> Result<()> {
    let x = cx.input(0)?;
    let alpha = f64::from(cx.attr_float("alpha", 0.01)?);
    let y = cx.emit(Op::LeakyRelu { alpha }, &[x], &cx.out(0))?;
    cx.set_output(0, y)
}

/// Gelu (opset 20): `approximate` is "none" (erf) or "tanh".
pub fn gelu(cx: &mut NodeCx) -> Result<()> {
    let x = cx.input(0)?;
    let u = match cx.attr_string("approximate")?.as_deref() {
        None | Some("none") => UnaryOp::Gelu,
        Some("tanh") => UnaryOp::GeluTanh,
        Some(other) => {
            return Err(cx.fail(format!("attribute 'approximate' must be \"none\" or \"tanh\", got \"{other}\"")))
        }
    };
    let y = cx.emit(Op::Unary(u), &[x], &cx.out(0))?;
    cx.set_output(0, y)
}

pub fn identity(cx: &mut NodeCx) -> Result<()> {
    let x = cx.input(0)?;
    cx.set_output(0, x)
}
