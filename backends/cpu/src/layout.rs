//! Layout ops: each computes the flat source index of every output element
//! and copies; no value is converted or rounded.

use crate::index::{self, take};
use trnc_ir::{Data, SliceAxis, Tensor};

fn build(x: &Tensor, out_shape: &[usize], data: Data) -> Result<Tensor, String> {
    Tensor::new(x.dtype(), out_shape.to_vec(), data).map_err(|e| e.0)
}

fn gathered(x: &Tensor, out_shape: &[usize], indices: &[usize]) -> Result<Tensor, String> {
    build(x, out_shape, take(x.data(), indices))
}

/// Reshape, squeeze and unsqueeze: row-major order is unchanged.
pub fn same_order(x: &Tensor, out_shape: &[usize]) -> Result<Tensor, String> {
    build(x, out_shape, x.data().clone())
}

pub fn transpose(x: &Tensor, perm: &[usize], out_shape: &[usize]) -> Result<Tensor, String> {
    let strides = index::signed_strides(x.shape());
    let view: Vec<isize> = perm.iter().map(|&p| strides[p]).collect();
    gathered(x, out_shape, &index::strided(out_shape, &view, 0))
}

pub fn expand(x: &Tensor, out_shape: &[usize]) -> Result<Tensor, String> {
    gathered(x, out_shape, &index::broadcast(x.shape(), out_shape))
}

/// A slice is a strided view: each sliced axis starts at `start` and moves
/// by `step` (negative steps walk backwards).
pub fn slice(x: &Tensor, axes: &[SliceAxis], out_shape: &[usize]) -> Result<Tensor, String> {
    let mut strides = index::signed_strides(x.shape());
    let mut offset = 0isize;
    for s in axes {
        offset += s.start as isize * strides[s.axis];
        strides[s.axis] *= s.step as isize;
    }
    gathered(x, out_shape, &index::strided(out_shape, &strides, offset))
}

/// Elements before `axis`, along it, and after it.
fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

/// For each outer position, each operand's block in turn; the operands
/// are addressed as one array laid end to end.
pub fn concat(parts: &[&Tensor], axis: usize, out_shape: &[usize]) -> Result<Tensor, String> {
    let first = parts.first().ok_or("concat needs at least one operand")?;
    let datas: Vec<&Data> = parts.iter().map(|t| t.data()).collect();
    let all = index::concat(&datas).ok_or("concat operands have different dtypes")?;
    let mut indices = Vec::with_capacity(out_shape.iter().product());
    let outer = split(first.shape(), axis).0;
    for o in 0..outer {
        let mut base = 0;
        for t in parts {
            let (_, dim, inner) = split(t.shape(), axis);
            let block = dim * inner;
            indices.extend(base + o * block..base + (o + 1) * block);
            base += t.len();
        }
    }
    build(first, out_shape, take(&all, &indices))
}

/// numpy.take along `axis`; negative indices count from the end.
pub fn gather(x: &Tensor, idx: &Tensor, axis: usize, out_shape: &[usize]) -> Result<Tensor, String> {
    let (outer, dim, inner) = split(x.shape(), axis);
    let wrapped = idx
        .to_i64_vec()
        .into_iter()
        .map(|k| {
            let w = if k < 0 { k + dim as i64 } else { k };
            if (0..dim as i64).contains(&w) {
                Ok(w as usize)
            } else {
                Err(format!("gather index {k} is out of range for axis {axis} of size {dim}"))
            }
        })
        .collect::<Result<Vec<usize>, String>>()?;
    let mut indices = Vec::with_capacity(out_shape.iter().product());
    for o in 0..outer {
        for &k in &wrapped {
            let start = (o * dim + k) * inner;
            indices.extend(start..start + inner);
        }
    }
    gathered(x, out_shape, &indices)
}
