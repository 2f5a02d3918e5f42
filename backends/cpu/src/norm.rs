//! Softmax and the normalisations: per-group computations in f64, the
//! groups found by the same index mapping as reductions.

use crate::index;
use crate::math::max_nan;
use crate::values::real_tensor;
use trnc_ir::Tensor;

/// Softmax (or log-softmax) along `axis`, shifted by the group maximum so
/// that exp cannot overflow.
pub fn softmax(x: &Tensor, axis: usize, log: bool) -> Tensor {
    let v = x.to_f64_vec();
    let (order, group) = index::reduction_groups(x.shape(), &[axis]);
    let mut out = vec![0.0; v.len()];
    for g in order.chunks(group.max(1)) {
        let max = g.iter().map(|&i| v[i]).fold(f64::NEG_INFINITY, max_nan);
        let sum: f64 = g.iter().map(|&i| (v[i] - max).exp()).sum();
        for &i in g {
            let shifted = v[i] - max;
            out[i] = if log { shifted - sum.ln() } else { shifted.exp() / sum };
        }
    }
    real_tensor(x.dtype(), x.shape(), &out)
}

/// For each element of `x`, its factor from an optional operand broadcast
/// to `x`'s shape (`default` when the operand is absent).
fn broadcast_param(p: Option<&Tensor>, x: &Tensor, default: f64) -> Vec<f64> {
    match p {
        None => vec![default; x.len()],
        Some(p) => {
            let v = p.to_f64_vec();
            index::broadcast(p.shape(), x.shape()).into_iter().map(|i| v[i]).collect()
        }
    }
}

/// The groups of axes `axis..rank`.
fn trailing_groups(x: &Tensor, axis: usize) -> (Vec<usize>, usize) {
    let axes: Vec<usize> = (axis..x.shape().len()).collect();
    index::reduction_groups(x.shape(), &axes)
}

/// (x - mean) / sqrt(var + eps) * scale + bias, population variance by the
/// two-pass formula mean((x - mean)²).
pub fn layer_norm(x: &Tensor, scale: Option<&Tensor>, bias: Option<&Tensor>, axis: usize, eps: f64) -> Tensor {
    let v = x.to_f64_vec();
    let s = broadcast_param(scale, x, 1.0);
    let b = broadcast_param(bias, x, 0.0);
    let (order, group) = trailing_groups(x, axis);
    let mut out = vec![0.0; v.len()];
    for g in order.chunks(group.max(1)) {
        let n = g.len() as f64;
        let mean = g.iter().map(|&i| v[i]).sum::<f64>() / n;
        let var = g.iter().map(|&i| (v[i] - mean).powi(2)).sum::<f64>() / n;
        let denom = (var + eps).sqrt();
        for &i in g {
            out[i] = (v[i] - mean) / denom * s[i] + b[i];
        }
    }
    real_tensor(x.dtype(), x.shape(), &out)
}

/// x / sqrt(mean(x²) + eps) * scale.
pub fn rms_norm(x: &Tensor, scale: Option<&Tensor>, axis: usize, eps: f64) -> Tensor {
    let v = x.to_f64_vec();
    let s = broadcast_param(scale, x, 1.0);
    let (order, group) = trailing_groups(x, axis);
    let mut out = vec![0.0; v.len()];
    for g in order.chunks(group.max(1)) {
        let ms = g.iter().map(|&i| v[i] * v[i]).sum::<f64>() / g.len() as f64;
        let denom = (ms + eps).sqrt();
        for &i in g {
            out[i] = v[i] / denom * s[i];
        }
    }
    real_tensor(x.dtype(), x.shape(), &out)
}
