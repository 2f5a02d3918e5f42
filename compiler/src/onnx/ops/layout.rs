//! Ops that move data without computing: Transpose, Reshape, Flatten,
//! Squeeze, Unsqueeze, Concat, Split, Slice, Gather, Expand. Their shape
//! operands must be known at import.

use crate::onnx::node::{NodeCx, Result};
use trnc_ir::{Op, SliceAxis};

pub fn transpose(cx: &mut NodeCx) -> Result<()> {
    let x = cx.input(0)?;
    let rank = cx.rank(x);
    let perm = match cx.attr_ints("perm")? {
        None => (0..rank).rev().collect(),
        Some(p) => p
            .iter()
            .map(|&a| usize::try_from(a).map_err(|_| cx.fail(format!("perm {p:?} has a negative entry"))))
            .collect::<Result<Vec<_>>>()?,
    };
    let y = cx.emit(Op::Transpose { perm }, &[x], &cx.out(0))?;
    cx.set_output(0, y)
}

/// Reshape: -1 is inferred from the element count; 0 copies the input's
/// dimension unless `allowzero` is set (then it is a zero size).
pub fn reshape(cx: &mut NodeCx) -> Result<()> {
    let x = cx.input(0)?;
    let spec = cx.const_ints(1, "shape")?;
    let allow_zero = cx.attr_int("allowzero", 0)? != 0;
    let input = cx.shape(x);
    let total: usize = input.iter().product();
    let mut shape = Vec::with_capacity(spec.len());
    let mut inferred = None;
    let bad = |cx: &NodeCx, why: &str| cx.fail(format!("cannot reshape {} to {spec:?}: {why}", cx.ty(x)));
    for (i, &d) in spec.iter().enumerate() {
        match d {
            -1 if inferred.is_some() => return Err(bad(cx, "more than one dimension is -1")),
            -1 => {
                inferred = Some(i);
                shape.push(1);
            }
            0 if !allow_zero => match input.get(i) {
                Some(&n) => shape.push(n),
                None => {
                    return Err(bad(cx, &format!("dimension {i} is 0 (copy) but the input has rank {}", input.len())))
                }
            },
            d if d < 0 => return Err(bad(cx, &format!("dimension {d} is negative"))),
            d => shape.push(d as usize),
        }
    }
    let Some(known) = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) else {
        return Err(bad(cx, "the shape is too large"));
    };
    if let Some(i) = inferred {
        if allow_zero && spec.contains(&0) {
            return Err(bad(cx, "-1 cannot be inferred when allowzero is set and a dimension is 0"));
        }
        if known == 0 || !total.is_multiple_of(known) {
            return Err(bad(cx, &format!("{total} elements do not divide into the other dimensions ({known})")));
        }
        shape[i] = total / known;
    }
    let y = cx.emit(Op::Reshape { shape }, &[x], &cx.out(0))?;
    cx.set_output(0, y)
}

/// Flatten to 2-D: [prod(dims before axis), prod(dims from axis)].
pub fn flatten(cx: &mut NodeCx) -> Result<()> {
    let x = cx.input(0)?;
    let shape = cx.shape(x);
    let axis = cx.attr_int("axis", 1)?;
    let r = shape.len() as i64;
    if axis < -r || axis > r {
        return Err(cx.fail(format!("axis {axis} is out of range for rank {r}")));
    }
    let axis = if axis < 0 { axis + r } else { axis } as usize;
    let outer = shape[..axis].iter().product();
    let inner = shape[axis..].iter().product();
    let y = cx.emit(Op::Reshape { shape: vec![outer, inner] }, &[x], &cx.out(0))?;
    cx.set_output(0, y)
}

/// Axes from the `axes` input (opset 13) or, before it, the attribute.
fn axes_input_or_attribute(cx: &NodeCx) -> Result<Option<Vec<i64>>> {
    match cx.opt_const_ints(1, "axes")? {
        Some(axes) => Ok(Some(axes)),
        None => cx.attr_ints("axes"),
    }
}

/// Squeeze: without axes, removes every size-1 axis.
pub fn squeeze(cx: &mut NodeCx) -> Result<()> {
    let x = cx.input(0)?;
    let shape = cx.shape(x);
    let axes = match axes_input_or_attribute(cx)? {
        Some(axes) => cx.axes(&axes, shape.len())?,
        None => (0..shape.len()).filter(|&i| shape[i] == 1).collect(),
    };
    if axes.is_empty() {
        return cx.set_output(0, x);
    }
    let y = cx.emit(Op::Squeeze { axes }, &[x], &cx.out(0))?;
    cx.set_output(0, y)
}

/// Unsqueeze: axes are positions in the output.
pub fn unsqueeze(cx: &mut NodeCx) -> Result<()> {
    let x = cx.input(0)?;
    let axes = axes_input_or_attribute(cx)?.ok_or_else(|| cx.fail("needs 'axes' (an input from opset 13)"))?;
    let axes = cx.axes(&axes, cx.rank(x) + axes.len())?;
    let y = cx.emit(Op::Unsqueeze { axes }, &[x], &cx.out(0))?;
    cx.set_output(0, y)
}

pub fn concat(cx: &mut NodeCx) -> Result<()> {
    let operands = cx.all_inputs()?;
    let axis = cx.opt_attr_int("axis")?.ok_or_else(|| cx.fail("attribute 'axis' is missing"))?;
    let axis = cx.axis(axis, cx.rank(operands[0]))?;
    let y = cx.emit(Op::Concat { axis }, &operands, &cx.out(0))?;
    cx.set_output(0, y)
}

/// Split into one slice per output. Sizes come from the `split` input
/// (opset 13) or attribute (before), else from `num_outputs` (opset 18:
/// equal chunks, the last one smaller), else equal parts.
pub fn split(cx: &mut NodeCx) -> Result<()> {
    let x = cx.input(0)?;
    let shape = cx.shape(x);
    let axis = cx.axis(cx.attr_int("axis", 0)?, shape.len())?;
    let dim = shape[axis];
    let outputs = cx.node.output.len();
    let explicit = match cx.opt_const_ints(1, "split")? {
        Some(s) => Some(s),
        None => cx.attr_ints("split")?,
    };
    let sizes: Vec<usize> = if let Some(split) = explicit {
        let sum = split.iter().try_fold(0i64, |acc, &s| if s < 0 { None } else { acc.checked_add(s) });
        if split.len() != outputs || sum != Some(dim as i64) {
            return Err(cx.fail(format!(
                "split {split:?} must be {outputs} non-negative sizes adding up to {dim}, the size of axis {axis} of {}",
                cx.ty(x)
            )));
        }
        split.iter().map(|&s| s as usize).collect()
    } else if let Some(n) = cx.opt_attr_int("num_outputs")? {
        if n <= 0 || n as usize != outputs {
            return Err(cx.fail(format!("num_outputs is {n} but the node has {outputs} outputs")));
        }
        let chunk = dim.div_ceil(outputs);
        (0..outputs).map(|i| chunk.min(dim.saturating_sub(i * chunk))).collect()
    } else {
        if outputs == 0 || !dim.is_multiple_of(outputs) {
            return Err(cx.fail(format!("axis {axis} of {} does not split into {outputs} equal parts", cx.ty(x))));
        }
        vec![dim / outputs; outputs]
    };
    let mut start = 0;
    for (i, &size) in sizes.iter().enumerate() {
        let end = start + size;
        if !cx.out(i).is_empty() {
            let part = SliceAxis { axis, start: start as i64, end: end as i64, step: 1 };
            let y = cx.emit(Op::Slice { axes: vec![part] }, &[x], &cx.out(i))?;
            cx.set_output(i, y)?;
        }
        start = end;
    }
    Ok(())
}

/// Slice with starts/ends/axes/steps inputs (opset 10 on), clamped like
/// numpy.
pub fn slice(cx: &mut NodeCx) -> Result<()> {
    let x = cx.input(0)?;
    let shape = cx.shape(x);
    let starts = cx.const_ints(1, "starts")?;
    let ends = cx.const_ints(2, "ends")?;
    let axes = cx.opt_const_ints(3, "axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = cx.opt_const_ints(4, "steps")?.unwrap_or_else(|| vec![1; starts.len()]);
    let n = starts.len();
    if ends.len() != n || axes.len() != n || steps.len() != n {
        return Err(cx.fail(format!(
            "starts, ends, axes and steps must have the same length, got {n}, {}, {} and {}",
            ends.len(),
            axes.len(),
            steps.len()
        )));
    }
    let mut parts = Vec::with_capacity(n);
    for k in 0..n {
        let axis = cx.axis(axes[k], shape.len())?;
        if parts.iter().any(|p: &SliceAxis| p.axis == axis) {
            return Err(cx.fail(format!("axes {axes:?} repeat axis {axis}")));
        }
        // A step longer than the axis selects at most one element, like a
        // step of the axis' length; clamping keeps the arithmetic in range.
        let reach = shape[axis] as i64 + 1;
        let part = SliceAxis::normalize(axis, starts[k], ends[k], steps[k].clamp(-reach, reach), shape[axis])
            .ok_or_else(|| cx.fail(format!("the step for axis {axis} is zero")))?;
        parts.push(part);
    }
    parts.sort_by_key(|p| p.axis);
    let y = cx.emit(Op::Slice { axes: parts }, &[x], &cx.out(0))?;
    cx.set_output(0, y)
}

pub fn gather(cx: &mut NodeCx) -> Result<()> {
    let data = cx.input(0)?;
    let indices = cx.input(1)?;
    let axis = cx.axis(cx.attr_int("axis", 0)?, cx.rank(data))?;
    let y = cx.emit(Op::Gather { axis }, &[data, indices], &cx.out(0))?;
    cx.set_output(0, y)
}

/// Expand: the result shape is the broadcast of the input's and `shape`.
pub fn expand(cx: &mut NodeCx) -> Result<()> {
    let x = cx.input(0)?;
    let spec = cx.const_ints(1, "shape")?;
    let shape = spec
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| cx.fail(format!("shape {spec:?} has a negative dimension"))))
        .collect::<Result<Vec<_>>>()?;
    let y = cx.emit(Op::Expand { shape }, &[x], &cx.out(0))?;
    cx.set_output(0, y)
}
