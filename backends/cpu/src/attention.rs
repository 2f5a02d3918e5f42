//! Scaled-dot-product attention, straight from its definition: scores in
//! f64, a stable softmax per query, then the weighted sum of values. Only
//! the result is rounded to the output dtype.

use crate::index;
use crate::values::real_tensor;
use trnc_ir::{broadcast_shapes, DType, Tensor};

/// `x` = [q, k, v] or [q, k, v, mask]; shapes were checked by type inference.
pub fn attention(x: &[&Tensor], scale: f64, causal: bool, dtype: DType, out_shape: &[usize]) -> Tensor {
    let (q, k, v) = (x[0], x[1], x[2]);
    let rank = out_shape.len();
    let batch = &out_shape[..rank - 2];
    let (sq, d) = (q.shape()[q.shape().len() - 2], q.shape()[q.shape().len() - 1]);
    let sk = k.shape()[k.shape().len() - 2];
    let dv = out_shape[rank - 1];
    // Each operand's matrices indexed by the broadcast batch index.
    let batch_index = |t: &Tensor| {
        let s = t.shape();
        index::broadcast(&s[..s.len() - 2], batch)
    };
    let (bq, bk, bv) = (batch_index(q), batch_index(k), batch_index(v));
    let (qv, kv, vv) = (q.to_f64_vec(), k.to_f64_vec(), v.to_f64_vec());
    let mask = x.get(3).map(|m| {
        let mut scores_shape = batch.to_vec();
        scores_shape.extend([sq, sk]);
        debug_assert!(broadcast_shapes(m.shape(), &scores_shape).is_some());
        let idx = index::broadcast(m.shape(), &scores_shape);
        let mv = m.to_f64_vec();
        idx.into_iter().map(|i| mv[i]).collect::<Vec<f64>>()
    });
    let mut out = Vec::with_capacity(out_shape.iter().product());
    let mut scores = vec![0.0f64; sk];
    for b in 0..bq.len() {
        let (qm, km, vm) = (&qv[bq[b] * sq * d..], &kv[bk[b] * sk * d..], &vv[bv[b] * sk * dv..]);
        for i in 0..sq {
            for (j, s) in scores.iter_mut().enumerate() {
                let dot: f64 = (0..d).map(|l| qm[i * d + l] * km[j * d + l]).sum();
                let m = mask.as_ref().map_or(0.0, |m| m[(b * sq + i) * sk + j]);
                *s = if causal && j > i { f64::NEG_INFINITY } else { dot * scale + m };
            }
            let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let weights: Vec<f64> = scores.iter().map(|&s| (s - max).exp()).collect();
            let total: f64 = weights.iter().sum();
            for c in 0..dv {
                let acc: f64 = (0..sk).map(|j| weights[j] * vm[j * dv + c]).sum();
                out.push(acc / total);
            }
        }
    }
    real_tensor(dtype, out_shape, &out)
}
