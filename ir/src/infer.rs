//! Type inference: the result type of an op from its operand types. The
//! verifier, the builder and the parser all go through here, so an op's
//! typing rules live in one place.

use crate::op::{Op, UnaryOp};
use crate::types::{broadcast_shapes, format_shape, TensorType};
use crate::DType;

/// Why an op cannot be typed; the message names the shapes involved, and
/// `operand` says which operand is at fault when one is.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeError {
    pub message: String,
    pub operand: Option<usize>,
}

fn err<T>(message: impl Into<String>) -> Result<T, TypeError> {
    Err(TypeError { message: message.into(), operand: None })
}

fn err_at<T>(operand: usize, message: impl Into<String>) -> Result<T, TypeError> {
    Err(TypeError { message: message.into(), operand: Some(operand) })
}

/// Infers the result type of `op` applied to operands of types `inputs`.
pub fn infer_type(op: &Op, inputs: &[&TensorType]) -> Result<TensorType, TypeError> {
    let (lo, hi) = op.arity();
    if inputs.len() < lo || inputs.len() > hi {
        let want = if lo == hi {
            format!("{lo}")
        } else if hi == usize::MAX {
            format!("at least {lo}")
        } else {
            format!("{lo} to {hi}")
        };
        return err(format!("takes {want} operand(s), got {}", inputs.len()));
    }
    let mut shapes = Vec::with_capacity(inputs.len());
    for (i, t) in inputs.iter().enumerate() {
        match t.shape() {
            Ok(s) => shapes.push(s),
            Err(sym) => {
                return err_at(i, format!("symbolic dimension '{sym}' has no size; give one with --dim {sym}=N"))
            }
        }
    }
    let dtype0 = inputs.first().map(|t| t.dtype);
    match op {
        Op::Const(t) => Ok(t.ty()),
        Op::Unary(u) => {
            let dt = dtype0.unwrap();
            let ok = match u {
                UnaryOp::Not => dt == DType::Bool,
                UnaryOp::Neg | UnaryOp::Abs | UnaryOp::Relu | UnaryOp::Square => dt != DType::Bool,
                _ => dt.is_float(),
            };
            if !ok {
                let need = if *u == UnaryOp::Not { "bool" } else { "a float dtype" };
                return err_at(0, format!("needs {need}, got {}", inputs[0]));
            }
            Ok(inputs[0].clone())
        }
        Op::LeakyRelu { .. } | Op::Softmax { .. } | Op::LogSoftmax { .. } => {
            if !dtype0.unwrap().is_float() {
                return err_at(0, format!("needs a float dtype, got {}", inputs[0]));
            }
            if let Op::Softmax { axis } | Op::LogSoftmax { axis } = op {
                check_axis(*axis, shapes[0].len())?;
            }
            Ok(inputs[0].clone())
        }
        Op::Binary(b) => {
            let (a, c) = (inputs[0], inputs[1]);
            if a.dtype != c.dtype {
                return err(format!("operand dtypes differ: {a} and {c}"));
            }
            if b.is_logical() && a.dtype != DType::Bool {
                return err(format!("needs bool operands, got {a}"));
            }
            if !b.is_logical() && !b.is_comparison() && a.dtype == DType::Bool {
                return err(format!("needs numeric operands, got {a}"));
            }
            let shape = broadcast(&shapes[0], &shapes[1])?;
            let dtype = if b.is_comparison() { DType::Bool } else { a.dtype };
            Ok(TensorType::new(dtype, &shape))
        }
        Op::Where => {
            if inputs[0].dtype != DType::Bool {
                return err_at(0, format!("condition must be bool, got {}", inputs[0]));
            }
            if inputs[1].dtype != inputs[2].dtype {
                return err(format!("branch dtypes differ: {} and {}", inputs[1], inputs[2]));
            }
            let shape = broadcast(&broadcast(&shapes[0], &shapes[1])?, &shapes[2])?;
            Ok(TensorType::new(inputs[1].dtype, &shape))
        }
        Op::Cast { to, .. } => Ok(inputs[0].with_dtype(*to)),
        Op::Clip { min, max } => {
            if dtype0 == Some(DType::Bool) {
                return err_at(0, format!("needs a numeric operand, got {}", inputs[0]));
            }
            if min.is_some_and(f64::is_nan) || max.is_some_and(f64::is_nan) {
                return err("clip bounds must not be NaN");
            }
            if let (Some(lo), Some(hi)) = (min, max) {
                if lo > hi {
                    return err(format!("min {lo} is greater than max {hi}"));
                }
            }
            Ok(inputs[0].clone())
        }
        Op::MatMul => infer_matmul(inputs[0], inputs[1], &shapes[0], &shapes[1]),
        Op::Attention { scale, .. } => infer_attention(inputs, &shapes, *scale),
        Op::Reduce { axes, keep_dims, .. } => {
            let rank = shapes[0].len();
            check_axes_sorted(axes, rank)?;
            if dtype0 == Some(DType::Bool) {
                return err_at(0, format!("needs a numeric operand, got {}", inputs[0]));
            }
            let shape: Vec<usize> = shapes[0]
                .iter()
                .enumerate()
                .filter_map(|(i, &d)| match (axes.contains(&i), keep_dims) {
                    (false, _) => Some(d),
                    (true, true) => Some(1),
                    (true, false) => None,
                })
                .collect();
            Ok(inputs[0].with_shape(&shape))
        }
        Op::LayerNorm { axis, epsilon } | Op::RmsNorm { axis, epsilon } => {
            if !dtype0.unwrap().is_float() {
                return err_at(0, format!("needs a float dtype, got {}", inputs[0]));
            }
            check_axis(*axis, shapes[0].len())?;
            if epsilon.is_nan() || *epsilon < 0.0 {
                return err(format!("epsilon must be non-negative, got {epsilon}"));
            }
            for (i, t) in inputs.iter().enumerate().skip(1) {
                if t.dtype != inputs[0].dtype {
                    return err_at(i, format!("dtype differs from the input: {} and {}", inputs[0], t));
                }
                if broadcast_shapes(&shapes[0], &shapes[i]).as_deref() != Some(&shapes[0][..]) {
                    return err_at(
                        i,
                        format!("{} does not broadcast to the input's shape {}", t, format_shape(&shapes[0])),
                    );
                }
            }
            Ok(inputs[0].clone())
        }
        Op::Transpose { perm } => {
            let rank = shapes[0].len();
            let mut seen = vec![false; rank];
            if perm.len() != rank || perm.iter().any(|&p| p >= rank || std::mem::replace(&mut seen[p], true)) {
                return err(format!("perm {perm:?} is not a permutation of the {rank} axes of {}", inputs[0]));
            }
            let shape: Vec<usize> = perm.iter().map(|&p| shapes[0][p]).collect();
            Ok(inputs[0].with_shape(&shape))
        }
        Op::Reshape { shape } => {
            let have: usize = shapes[0].iter().product();
            let want = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
            if want != Some(have) {
                let want = want.map_or("too many".to_string(), |w| w.to_string());
                return err(format!(
                    "cannot reshape {} ({have} elements) to {} ({want} elements)",
                    inputs[0],
                    format_shape(shape)
                ));
            }
            Ok(inputs[0].with_shape(shape))
        }
        Op::Expand { shape } => {
            let out = broadcast_shapes(&shapes[0], shape).ok_or_else(|| TypeError {
                message: format!("cannot expand {} to {}", inputs[0], format_shape(shape)),
                operand: None,
            })?;
            Ok(inputs[0].with_shape(&out))
        }
        Op::Squeeze { axes } => {
            let rank = shapes[0].len();
            check_axes_sorted(axes, rank)?;
            if let Some(&a) = axes.iter().find(|&&a| shapes[0][a] != 1) {
                return err(format!("axis {a} of {} has size {}, not 1", inputs[0], shapes[0][a]));
            }
            let shape: Vec<usize> = (0..rank).filter(|i| !axes.contains(i)).map(|i| shapes[0][i]).collect();
            Ok(inputs[0].with_shape(&shape))
        }
        Op::Unsqueeze { axes } => {
            let rank = shapes[0].len() + axes.len();
            check_axes_sorted(axes, rank)?;
            let mut rest = shapes[0].iter();
            let shape: Vec<usize> =
                (0..rank).map(|i| if axes.contains(&i) { 1 } else { *rest.next().unwrap() }).collect();
            Ok(inputs[0].with_shape(&shape))
        }
        Op::Slice { axes } => {
            let rank = shapes[0].len();
            let mut shape = shapes[0].clone();
            let mut seen = vec![false; rank];
            for s in axes {
                if s.axis >= rank || std::mem::replace(&mut seen[s.axis], true) {
                    return err(format!("slice axis {} is out of range or repeated for {}", s.axis, inputs[0]));
                }
                if !s.is_normalized(shape[s.axis]) {
                    return err(format!(
                        "slice {}:{}:{} on axis {} is not normalised for size {}",
                        s.start, s.end, s.step, s.axis, shape[s.axis]
                    ));
                }
                shape[s.axis] = s.len();
            }
            Ok(inputs[0].with_shape(&shape))
        }
        Op::Concat { axis } => {
            let rank = shapes[0].len();
            check_axis(*axis, rank)?;
            let mut shape = shapes[0].clone();
            for (i, t) in inputs.iter().enumerate().skip(1) {
                let same_rest =
                    shapes[i].len() == rank && (0..rank).all(|d| d == *axis || shapes[i][d] == shapes[0][d]);
                if t.dtype != inputs[0].dtype || !same_rest {
                    return err_at(i, format!("cannot concatenate {} with {} along axis {axis}", inputs[0], t));
                }
                shape[*axis] += shapes[i][*axis];
            }
            Ok(inputs[0].with_shape(&shape))
        }
        Op::Gather { axis } => {
            check_axis(*axis, shapes[0].len())?;
            if !inputs[1].dtype.is_int() {
                return err_at(1, format!("indices must be i64 or i32, got {}", inputs[1]));
            }
            let mut shape = shapes[0][..*axis].to_vec();
            shape.extend_from_slice(&shapes[1]);
            shape.extend_from_slice(&shapes[0][axis + 1..]);
            Ok(inputs[0].with_shape(&shape))
        }
    }
}

fn broadcast(a: &[usize], b: &[usize]) -> Result<Vec<usize>, TypeError> {
    broadcast_shapes(a, b).ok_or_else(|| TypeError {
        message: format!("shapes {} and {} do not broadcast", format_shape(a), format_shape(b)),
        operand: None,
    })
}

fn check_axis(axis: usize, rank: usize) -> Result<(), TypeError> {
    if axis >= rank {
        return err(format!("axis {axis} is out of range for rank {rank}"));
    }
    Ok(())
}

fn check_axes_sorted(axes: &[usize], rank: usize) -> Result<(), TypeError> {
    if axes.windows(2).any(|w| w[0] >= w[1]) || axes.iter().any(|&a| a >= rank) {
        return err(format!("axes {axes:?} must be sorted, distinct and below rank {rank}"));
    }
    Ok(())
}

fn infer_attention(inputs: &[&TensorType], shapes: &[Vec<usize>], scale: f64) -> Result<TensorType, TypeError> {
    if !scale.is_finite() {
        return err(format!("scale must be finite, got {scale}"));
    }
    let dtype = inputs[0].dtype;
    if !dtype.is_float() {
        return err_at(0, format!("needs float operands, got {}", inputs[0]));
    }
    if let Some(i) = (1..inputs.len()).find(|&i| inputs[i].dtype != dtype) {
        return err_at(i, format!("operand dtypes differ: {} and {}", inputs[0], inputs[i]));
    }
    if let Some(i) = (0..3).find(|&i| shapes[i].len() < 2) {
        return err_at(i, format!("q, k and v need rank >= 2, got {}", inputs[i]));
    }
    let split = |s: &[usize]| (s[..s.len() - 2].to_vec(), s[s.len() - 2], s[s.len() - 1]);
    let ((bq, sq, d), (bk, sk, dk), (bv, skv, dv)) = (split(&shapes[0]), split(&shapes[1]), split(&shapes[2]));
    if d != dk || sk != skv {
        return err(format!(
            "q {} and k {} need the same head size, k and v {} the same length",
            inputs[0], inputs[1], inputs[2]
        ));
    }
    let batch = broadcast(&broadcast(&bq, &bk)?, &bv)?;
    if let Some(mask) = shapes.get(3) {
        let mut scores = batch.clone();
        scores.extend([sq, sk]);
        if broadcast_shapes(mask, &scores).as_deref() != Some(&scores[..]) {
            return err_at(3, format!("mask {} does not broadcast to the scores {}", inputs[3], format_shape(&scores)));
        }
    }
    let mut out = batch;
    out.extend([sq, dv]);
    Ok(TensorType::new(dtype, &out))
}

fn infer_matmul(a: &TensorType, b: &TensorType, sa: &[usize], sb: &[usize]) -> Result<TensorType, TypeError> {
    if a.dtype != b.dtype || a.dtype == DType::Bool {
        return err(format!("operands must share a numeric dtype, got {a} and {b}"));
    }
    if sa.is_empty() || sb.is_empty() {
        return err(format!("operands must have rank >= 1, got {a} and {b}"));
    }
    // numpy: a 1-D left operand is a row vector, a 1-D right one a column.
    let (m, ka) = if sa.len() == 1 { (None, sa[0]) } else { (Some(sa[sa.len() - 2]), sa[sa.len() - 1]) };
    let (kb, n) = if sb.len() == 1 { (sb[0], None) } else { (sb[sb.len() - 2], Some(sb[sb.len() - 1])) };
    if ka != kb {
        return err(format!("contraction dimensions differ: {a} and {b} ({ka} vs {kb})"));
    }
    let batch_a = &sa[..sa.len().saturating_sub(2)];
    let batch_b = &sb[..sb.len().saturating_sub(2)];
    let mut shape = broadcast_shapes(batch_a, batch_b).ok_or_else(|| TypeError {
        message: format!(
            "batch dimensions {} and {} do not broadcast ({a} and {b})",
            format_shape(batch_a),
            format_shape(batch_b)
        ),
        operand: None,
    })?;
    shape.extend(m);
    shape.extend(n);
    Ok(a.with_shape(&shape))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{BinaryOp, ReduceOp, SliceAxis};

    fn t(shape: &[usize]) -> TensorType {
        TensorType::new(DType::F32, shape)
    }

    fn infer(op: Op, inputs: &[TensorType]) -> Result<String, String> {
        let refs: Vec<&TensorType> = inputs.iter().collect();
        infer_type(&op, &refs).map(|t| t.to_string()).map_err(|e| e.message)
    }

    #[test]
    fn matmul_follows_numpy() {
        assert_eq!(infer(Op::MatMul, &[t(&[2, 3]), t(&[3, 4])]).unwrap(), "f32[2, 4]");
        assert_eq!(infer(Op::MatMul, &[t(&[5, 1, 2, 3]), t(&[7, 3, 4])]).unwrap(), "f32[5, 7, 2, 4]");
        assert_eq!(infer(Op::MatMul, &[t(&[3]), t(&[3, 4])]).unwrap(), "f32[4]");
        assert_eq!(infer(Op::MatMul, &[t(&[2, 3]), t(&[3])]).unwrap(), "f32[2]");
        assert_eq!(infer(Op::MatMul, &[t(&[3]), t(&[3])]).unwrap(), "f32[]");
        let e = infer(Op::MatMul, &[t(&[2, 3]), t(&[4, 5])]).unwrap_err();
        assert!(e.contains("f32[2, 3] and f32[4, 5]"), "{e}");
    }

    #[test]
    fn layout_ops() {
        let x = t(&[2, 3, 4]);
        let perm = Op::Transpose { perm: vec![2, 0, 1] };
        assert_eq!(infer(perm, std::slice::from_ref(&x)).unwrap(), "f32[4, 2, 3]");
        let sl = Op::Slice { axes: vec![SliceAxis::normalize(2, -1, i64::MIN, -2, 4).unwrap()] };
        assert_eq!(infer(sl, std::slice::from_ref(&x)).unwrap(), "f32[2, 3, 2]");
        let idx = TensorType::new(DType::I64, &[5, 6]);
        assert_eq!(infer(Op::Gather { axis: 1 }, &[x.clone(), idx]).unwrap(), "f32[2, 5, 6, 4]");
        let red = Op::Reduce { op: ReduceOp::Sum, axes: vec![0, 2], keep_dims: true };
        assert_eq!(infer(red, std::slice::from_ref(&x)).unwrap(), "f32[1, 3, 1]");
        assert_eq!(infer(Op::Unsqueeze { axes: vec![0, 4] }, std::slice::from_ref(&x)).unwrap(), "f32[1, 2, 3, 4, 1]");
        assert!(infer(Op::Reshape { shape: vec![5, 5] }, &[x]).is_err());
    }

    #[test]
    fn dtype_rules() {
        let i = TensorType::new(DType::I64, &[2]);
        assert!(infer(Op::Unary(UnaryOp::Exp), std::slice::from_ref(&i)).is_err());
        assert_eq!(infer(Op::Unary(UnaryOp::Neg), std::slice::from_ref(&i)).unwrap(), "i64[2]");
        assert_eq!(infer(Op::Binary(BinaryOp::Lt), &[i.clone(), i.clone()]).unwrap(), "bool[2]");
        assert!(infer(Op::Binary(BinaryOp::Add), &[i, t(&[2])]).is_err());
    }
}
