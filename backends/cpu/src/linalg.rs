//! numpy.matmul.

use crate::index;
use crate::values::{int_tensor, real_tensor, values, Values};
use trnc_ir::{broadcast_shapes, DType, Tensor};

/// Shapes of one matmul with 1-D operands promoted to matrices.
struct Plan {
    m: usize,
    k: usize,
    n: usize,
    /// For each batch of the (broadcast) output, the batch index in each
    /// operand.
    batches: Vec<(usize, usize)>,
}

fn plan(a: &[usize], b: &[usize]) -> Result<Plan, String> {
    // A 1-D left operand is a row vector [1, k], a 1-D right one a column
    // [k, 1]; the added axes never reach the output shape, which is the
    // node's declared type.
    let (a, b) = (promote(a, 0), promote(b, 1));
    let (ra, rb) = (a.len(), b.len());
    let (m, k, kb, n) = (a[ra - 2], a[ra - 1], b[rb - 2], b[rb - 1]);
    let (batch_a, batch_b) = (&a[..ra - 2], &b[..rb - 2]);
    let batch = broadcast_shapes(batch_a, batch_b).filter(|_| k == kb);
    let batch = batch.ok_or_else(|| "matmul operand shapes do not match".to_string())?;
    let ia = index::broadcast(batch_a, &batch);
    let ib = index::broadcast(batch_b, &batch);
    Ok(Plan { m, k, n, batches: ia.into_iter().zip(ib).collect() })
}

/// A rank-1 shape [k] as [1, k] (`at` = 0) or [k, 1] (`at` = 1).
fn promote(shape: &[usize], at: usize) -> Vec<usize> {
    let mut s = shape.to_vec();
    if s.len() == 1 {
        s.insert(at, 1);
    }
    s
}

/// The plain triple loop, per batch, with `zero` and `mul_add` giving the
/// arithmetic (f64 or wrapping i64).
fn product<T: Copy>(p: &Plan, a: &[T], b: &[T], zero: T, mul_add: impl Fn(T, T, T) -> T) -> Vec<T> {
    let (m, k, n) = (p.m, p.k, p.n);
    let mut out = Vec::with_capacity(p.batches.len() * m * n);
    for &(ba, bb) in &p.batches {
        let (a, b) = (&a[ba * m * k..], &b[bb * k * n..]);
        for i in 0..m {
            for j in 0..n {
                let mut acc = zero;
                for l in 0..k {
                    acc = mul_add(acc, a[i * k + l], b[l * n + j]);
                }
                out.push(acc);
            }
        }
    }
    out
}

pub fn matmul(a: &Tensor, b: &Tensor, dtype: DType, out_shape: &[usize]) -> Result<Tensor, String> {
    if a.shape().is_empty() || b.shape().is_empty() {
        return Err("matmul operands must have rank >= 1".into());
    }
    let p = plan(a.shape(), b.shape())?;
    match (values(a), values(b)) {
        (Values::Int(x), Values::Int(y)) => {
            let v = product(&p, &x, &y, 0i64, |acc, u, w| acc.wrapping_add(u.wrapping_mul(w)));
            int_tensor(dtype, out_shape, v)
        }
        (Values::Real(x), Values::Real(y)) => {
            // Separate multiply and add (no fma): the f64 product of two
            // f32 values is exact, so this is the plain f64 dot product.
            let v = product(&p, &x, &y, 0.0f64, |acc, u, w| acc + u * w);
            Ok(real_tensor(dtype, out_shape, &v))
        }
        _ => Err(format!("matmul operand dtypes differ: {} and {}", a.dtype(), b.dtype())),
    }
}
