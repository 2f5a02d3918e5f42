//! Ops whose result is known at import: Constant, ConstantOfShape, Shape
//! and Size (every shape is static once symbolic dimensions are bound) and
//! Range. They become constants; the IR has no ops for them.

use crate::onnx::dtype::dtype_from_onnx;
use crate::onnx::node::{NodeCx, Result};
use trnc_ir::{format_shape, DType, Data, Tensor};

/// The largest tensor these ops build at import (elements): far beyond any
/// mask or position table, small enough that a corrupt shape cannot
/// exhaust memory.
const MAX_GENERATED_ELEMENTS: usize = 1 << 28;

pub fn constant(cx: &mut NodeCx) -> Result<()> {
    let mut found = Vec::new();
    if let Some(t) = cx.attr_tensor("value")? {
        found.push(t);
    }
    if cx.attr("value_float")?.is_some() {
        found.push(Tensor::from_f32(vec![], vec![cx.attr_float("value_float", 0.0)?]));
    }
    if let Some(v) = cx.attr_floats("value_floats")? {
        found.push(Tensor::from_f32(vec![v.len()], v));
    }
    if let Some(v) = cx.opt_attr_int("value_int")? {
        found.push(Tensor::from_i64(vec![], vec![v]));
    }
    if let Some(v) = cx.attr_ints("value_ints")? {
        found.push(Tensor::from_i64(vec![v.len()], v));
    }
    for unsupported in ["sparse_value", "value_string", "value_strings"] {
        if cx.attr(unsupported)?.is_some() {
            return Err(cx.fail(format!("attribute '{unsupported}' is not supported")));
        }
    }
    if found.len() != 1 {
        return Err(cx.fail(format!(
            "needs exactly one of the attributes value, value_float(s), value_int(s); got {}",
            found.len()
        )));
    }
    let t = found.remove(0);
    let h = cx.constant(t, &cx.out(0));
    cx.set_output(0, h)
}

/// Checked element count of a shape built at import.
fn generated_count(cx: &NodeCx, shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_GENERATED_ELEMENTS)
        .ok_or_else(|| cx.fail(format!("shape {} is too large to build at import", format_shape(shape))))
}

/// A tensor of `shape` filled with the single element of `value`.
fn filled(value: &Tensor, shape: Vec<usize>, count: usize) -> Result<Tensor> {
    let data = match value.data() {
        Data::Float(v) => Data::Float(vec![v[0]; count]),
        Data::I64(v) => Data::I64(vec![v[0]; count]),
        Data::I32(v) => Data::I32(vec![v[0]; count]),
        Data::Bool(v) => Data::Bool(vec![v[0]; count]),
    };
    Tensor::new(value.dtype(), shape, data).map_err(|e| e.0)
}

/// ConstantOfShape: `value` (a one-element tensor, default f32 0) repeated.
pub fn constant_of_shape(cx: &mut NodeCx) -> Result<()> {
    let spec = cx.const_ints(0, "input")?;
    let shape = spec
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| cx.fail(format!("shape {spec:?} has a negative dimension"))))
        .collect::<Result<Vec<_>>>()?;
    let value = cx.attr_tensor("value")?.unwrap_or_else(|| Tensor::scalar(DType::F32, 0.0));
    if value.len() != 1 {
        return Err(cx.fail(format!("attribute 'value' must hold one element, got {}", value.ty())));
    }
    let count = generated_count(cx, &shape)?;
    let t = filled(&value, shape, count).map_err(|e| cx.fail(e))?;
    let h = cx.constant(t, &cx.out(0));
    cx.set_output(0, h)
}

/// Shape, with the `start`/`end` attributes of opset 15 (clamped, negative
/// counting from the end).
pub fn shape(cx: &mut NodeCx) -> Result<()> {
    let x = cx.input(0)?;
    let shape = cx.shape(x);
    let rank = shape.len() as i64;
    let clamp = |i: i64| if i < 0 { i + rank } else { i }.clamp(0, rank) as usize;
    let start = clamp(cx.attr_int("start", 0)?);
    let end = clamp(cx.attr_int("end", rank)?).max(start);
    let dims: Vec<i64> = shape[start..end].iter().map(|&d| d as i64).collect();
    let h = cx.constant(Tensor::from_i64(vec![dims.len()], dims), &cx.out(0));
    cx.set_output(0, h)
}

/// Size: the element count, an int64 scalar.
pub fn size(cx: &mut NodeCx) -> Result<()> {
    let x = cx.input(0)?;
    let count: usize = cx.shape(x).iter().product();
    let h = cx.constant(Tensor::from_i64(vec![], vec![count as i64]), &cx.out(0));
    cx.set_output(0, h)
}

/// Range(start, limit, delta): start + i * delta for i in
/// 0..max(ceil((limit - start) / delta), 0). Floats compute each element
/// as the spec's pseudocode does, in the input dtype; float16 and bfloat16
/// (opset 27) compute in the dtype `stash_type` names (float by default)
/// and round the result.
pub fn range(cx: &mut NodeCx) -> Result<()> {
    let scalar = |cx: &NodeCx, i: usize, role: &str| -> Result<Tensor> {
        let t = cx.const_input(i, role)?;
        if t.len() != 1 {
            return Err(cx.fail(format!("input '{role}' must be a scalar, got {}", t.ty())));
        }
        Ok((*t).clone())
    };
    let (start, limit, delta) = (scalar(cx, 0, "start")?, scalar(cx, 1, "limit")?, scalar(cx, 2, "delta")?);
    let dtype = start.dtype();
    if limit.dtype() != dtype || delta.dtype() != dtype || dtype == DType::Bool {
        return Err(cx.fail(format!(
            "start, limit and delta must share a numeric dtype, got {}, {} and {}",
            start.ty(),
            limit.ty(),
            delta.ty()
        )));
    }
    let t = if dtype.is_int() {
        let (s, l, d) = (start.to_i64_vec()[0], limit.to_i64_vec()[0], delta.to_i64_vec()[0]);
        if d == 0 {
            return Err(cx.fail("delta is zero"));
        }
        let span = l.saturating_sub(s);
        let n = if span == 0 || (span > 0) != (d > 0) { 0 } else { (span.unsigned_abs()).div_ceil(d.unsigned_abs()) };
        let n = generated_count(cx, &[n as usize])?;
        let values = (0..n as i64).map(|i| s.wrapping_add(i.wrapping_mul(d)));
        let data = match dtype {
            DType::I32 => Data::I32(values.map(|v| v as i32).collect()),
            _ => Data::I64(values.collect()),
        };
        Tensor::new(dtype, vec![n], data).map_err(|e| cx.fail(e))?
    } else {
        let stash = match dtype {
            DType::F16 | DType::BF16 => {
                let code = cx.attr_int("stash_type", 1)?;
                let stash = i32::try_from(code).map_err(|_| code.to_string()).and_then(dtype_from_onnx);
                match stash {
                    Ok(t) if t.is_float() => t,
                    _ => return Err(cx.fail(format!("attribute 'stash_type' must name a float type, got {code}"))),
                }
            }
            _ => dtype,
        };
        let (s, l, d) = (start.get_f64(0), limit.get_f64(0), delta.get_f64(0));
        let n = ((l - s) / d).ceil();
        if !n.is_finite() {
            return Err(cx.fail(format!("Range({s}, {l}, {d}) has no finite length")));
        }
        let n = generated_count(cx, &[n.max(0.0) as usize])?;
        let values: Vec<f64> = (0..n).map(|i| stash.round(s + stash.round(i as f64 * d))).collect();
        Tensor::from_f64(dtype, vec![n], &values)
    };
    let h = cx.constant(t, &cx.out(0));
    cx.set_output(0, h)
}
