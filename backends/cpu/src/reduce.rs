//! Reductions over sorted axes, accumulated in f64 (or exactly, for
//! integer tensors).

use crate::index;
use crate::math::{max_nan, min_nan};
use crate::values::{int_tensor, real_tensor, values, Values};
use trnc_ir::{ReduceOp, Tensor};

pub fn reduce(op: ReduceOp, x: &Tensor, axes: &[usize], out_shape: &[usize]) -> Result<Tensor, String> {
    if axes.is_empty() {
        return Tensor::new(x.dtype(), out_shape.to_vec(), x.data().clone()).map_err(|e| e.0);
    }
    let (order, group) = index::reduction_groups(x.shape(), axes);
    let outputs: usize = out_shape.iter().product();
    let empty = group == 0 && outputs > 0;
    if empty && matches!(op, ReduceOp::Max | ReduceOp::Min) {
        return Err(format!("{} over an empty axis", op.name()));
    }
    // Each output's source indices; `order` is `outputs × group` long.
    let groups = (0..outputs).map(|o| &order[o * group..(o + 1) * group]);
    match values(x) {
        Values::Int(v) => {
            if empty && op == ReduceOp::Mean {
                return Err("reduce_mean over an empty axis of an integer tensor".into());
            }
            let out = groups.map(|g| int_reduce(op, g.iter().map(|&i| v[i]))).collect();
            int_tensor(x.dtype(), out_shape, out)
        }
        Values::Real(v) => {
            let out: Vec<f64> = groups.map(|g| real_reduce(op, g.iter().map(|&i| v[i]))).collect();
            Ok(real_tensor(x.dtype(), out_shape, &out))
        }
    }
}

/// The group is not empty for max, min and mean (checked by the caller).
fn int_reduce(op: ReduceOp, g: impl ExactSizeIterator<Item = i64>) -> i64 {
    let n = g.len() as i128;
    match op {
        ReduceOp::Sum => g.fold(0i64, i64::wrapping_add),
        // The exact sum (in i128, which cannot overflow here) divided with
        // truncation toward zero, the rule of integer div; it fits in i64.
        ReduceOp::Mean => (g.map(i128::from).sum::<i128>() / n) as i64,
        ReduceOp::Max => g.max().unwrap_or(i64::MIN),
        ReduceOp::Min => g.min().unwrap_or(i64::MAX),
    }
}

fn real_reduce(op: ReduceOp, mut g: impl ExactSizeIterator<Item = f64>) -> f64 {
    let n = g.len() as f64;
    match op {
        ReduceOp::Sum => g.sum(),
        // An empty group gives 0/0 = NaN, as numpy's mean does.
        ReduceOp::Mean => g.sum::<f64>() / n,
        ReduceOp::Max => g.next().map_or(f64::NAN, |first| g.fold(first, max_nan)),
        ReduceOp::Min => g.next().map_or(f64::NAN, |first| g.fold(first, min_nan)),
    }
}
