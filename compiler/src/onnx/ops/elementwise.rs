//! Elementwise ops: unary math, binary arithmetic and comparisons, Where,
//! Cast, CastLike, Clip, activations with attributes, Identity, and the
//! variadic Max, Min and Sum.

use crate::onnx::builder::Handle;
use crate::onnx::dtype::dtype_from_onnx;
use crate::onnx::node::{NodeCx, Result};
use trnc_ir::{BinaryOp, DType, Op, UnaryOp};

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

/// Max, Min and Sum take any number of operands, all broadcast together.
pub fn variadic(cx: &mut NodeCx, op: BinaryOp) -> Result<()> {
    let operands = cx.all_inputs()?;
    let mut acc = operands[0];
    for (k, &x) in operands.iter().enumerate().skip(1) {
        let hint = if k + 1 == operands.len() { cx.out(0) } else { cx.tmp(&format!("{}{k}", op.name())) };
        acc = cx.emit(Op::Binary(op), &[acc, x], &hint)?;
    }
    cx.set_output(0, acc)
}

/// ONNX Pow allows an exponent of another dtype than the base; the IR
/// does not. A float base takes the exponent cast to its dtype. An
/// integer base takes an integer exponent, or a float one whose values are
/// known at import to be whole numbers, cast to its dtype (integer powers
/// are exact); with another float exponent the power is computed in the
/// exponent's dtype and truncated toward zero, as ONNX Runtime computes it
/// in double (exact while the result fits that dtype's mantissa).
pub fn pow(cx: &mut NodeCx) -> Result<()> {
    let base = cx.input(0)?;
    let exponent = cx.input(1)?;
    let (dtype, exponent_dtype) = (cx.dtype(base), cx.dtype(exponent));
    if dtype == DType::Bool || exponent_dtype == DType::Bool {
        return Err(cx.fail(format!("Pow of {} to {} is not defined", cx.ty(base), cx.ty(exponent))));
    }
    let whole = |t: &trnc_ir::Tensor| t.to_f64_vec().iter().all(|v| v.fract() == 0.0);
    let exponent_is_whole = cx.b.const_value(exponent).is_some_and(|t| whole(t));
    if dtype.is_int() && exponent_dtype.is_float() && !exponent_is_whole {
        let as_float = Op::Cast { to: exponent_dtype, saturate: true };
        let b = cx.emit(as_float, &[base], &cx.tmp("base"))?;
        let p = cx.emit(Op::Binary(BinaryOp::Pow), &[b, exponent], &cx.tmp("power"))?;
        let y = cx.emit(Op::Cast { to: dtype, saturate: true }, &[p], &cx.out(0))?;
        return cx.set_output(0, y);
    }
    let exponent = if exponent_dtype == dtype {
        exponent
    } else {
        cx.emit(Op::Cast { to: dtype, saturate: true }, &[exponent], &cx.tmp("exponent"))?
    };
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
    cast_to(cx, x, to)
}

/// CastLike (opset 15): Cast to the dtype of the second input.
pub fn cast_like(cx: &mut NodeCx) -> Result<()> {
    let x = cx.input(0)?;
    let like = cx.input(1)?;
    let to = cx.dtype(like);
    cast_to(cx, x, to)
}

fn cast_to(cx: &mut NodeCx, x: Handle, to: DType) -> Result<()> {
    // `saturate` (opset 19) only affects float8 targets; its default is on.
    let saturate = cx.attr_int("saturate", 1)? != 0;
    // `round_mode` (opset 24) only applies to float8e8m0 targets, which
    // trnc does not have; a value outside the spec is still an error.
    if let Some(mode) = cx.attr_string("round_mode")? {
        if !matches!(mode.as_str(), "up" | "down" | "nearest") {
            return Err(
                cx.fail(format!("attribute 'round_mode' must be \"up\", \"down\" or \"nearest\", got \"{mode}\""))
            );
        }
    }
    let from = cx.dtype(x);
    if from == to {
        return cx.set_output(0, x);
    }
    let mut x = x;
    if saturate && to == DType::F8E5M2 && from.is_float() && from != DType::F8E4M3 {
        // ONNX saturates infinities too (+-inf becomes +-57344 in e5m2);
        // the IR's saturating cast keeps them in formats that have
        // infinities, so they are clamped first. Other values convert as
        // they would without the clamp.
        let m = to.max_value();
        x = cx.emit(Op::Clip { min: Some(-m), max: Some(m) }, &[x], &cx.tmp("saturated"))?;
    }
    let y = cx.emit(Op::Cast { to, saturate }, &[x], &cx.out(0))?;
    cx.set_output(0, y)
}

/// Clip(x, min, max) = min(max(x, lo), hi). Constant bounds become the
/// attributes of one clip op; bounds computed at run time become max/min
/// ops (applied in the same order). Before opset 11 the bounds are the
/// attributes `min` and `max`, which default to the float range.
pub fn clip(cx: &mut NodeCx) -> Result<()> {
    let x = cx.input(0)?;
    if cx.version < 11 {
        let min = f64::from(cx.attr_float("min", f32::MIN)?);
        let max = f64::from(cx.attr_float("max", f32::MAX)?);
        let y = cx.emit(Op::Clip { min: Some(min), max: Some(max) }, &[x], &cx.out(0))?;
        return cx.set_output(0, y);
    }
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
