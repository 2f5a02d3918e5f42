//! Views as access patterns: a chain of view ops (reshape, transpose,
//! squeeze, unsqueeze, expand, slice) between a source tensor and the value
//! an op reads becomes an offset and one stride per dimension over the
//! source's row-major elements. Numpy broadcasting is the same thing: a
//! broadcast dimension has stride 0.
//!
//! Strides are in elements and may be negative (a slice with a negative
//! step) or zero (expand, broadcast). A reshape is representable exactly
//! when every group of dimensions it merges is itself contiguous; when it
//! is not, no single pattern can describe the view and the caller gets an
//! error saying so.

use trnc_ir::{broadcast_shapes, strides_of, Op, SliceAxis};

/// `element(i0, i1, ..) = offset + Σ i_d * dims[d].0` with `dims[d].1` the
/// size of dimension d.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StridedView {
    pub offset: i64,
    /// (stride in elements, size) per dimension, outermost first.
    pub dims: Vec<(i64, usize)>,
}

impl StridedView {
    /// The tensor itself, row-major.
    pub fn contiguous(shape: &[usize]) -> StridedView {
        let strides = strides_of(shape);
        StridedView { offset: 0, dims: strides.iter().zip(shape).map(|(&s, &n)| (s as i64, n)).collect() }
    }

    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().map(|&(_, n)| n).collect()
    }

    /// The same view with the stride of every size-1 dimension set to 0:
    /// such strides are never used, so two views that differ only there
    /// address the same elements.
    pub fn normalized(&self) -> StridedView {
        StridedView {
            offset: self.offset,
            dims: self.dims.iter().map(|&(s, n)| (if n == 1 { 0 } else { s }, n)).collect(),
        }
    }

    /// The view after one view op whose result has shape `out_shape`.
    pub fn apply(&self, op: &Op, out_shape: &[usize]) -> Result<StridedView, String> {
        let v = match op {
            Op::Transpose { perm } => {
                let dims = perm.iter().map(|&p| self.dims.get(p).copied().ok_or("transpose axis out of range"));
                StridedView { offset: self.offset, dims: dims.collect::<Result<_, _>>()? }
            }
            Op::Reshape { .. } => self.reshape(out_shape)?,
            Op::Squeeze { axes } => {
                let dims = self.dims.iter().enumerate().filter(|(d, _)| !axes.contains(d)).map(|(_, &x)| x).collect();
                StridedView { offset: self.offset, dims }
            }
            Op::Unsqueeze { axes } => {
                let mut dims = self.dims.clone();
                for &a in axes {
                    if a > dims.len() {
                        return Err("unsqueeze axis out of range".into());
                    }
                    dims.insert(a, (0, 1));
                }
                StridedView { offset: self.offset, dims }
            }
            Op::Expand { .. } => self.broadcast_to(out_shape)?,
            Op::Slice { axes } => self.slice(axes)?,
            other => return Err(format!("{} is not a view op", other.name())),
        };
        if v.shape() != out_shape {
            return Err(format!(
                "{} gives shape {:?} as a view but the node's type says {:?}",
                op.name(),
                v.shape(),
                out_shape
            ));
        }
        Ok(v)
    }

    /// Numpy broadcasting to `shape`: new leading dimensions and size-1
    /// dimensions that grow get stride 0.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<StridedView, String> {
        let ok = broadcast_shapes(&self.shape(), shape).is_some_and(|s| s == shape);
        if !ok {
            return Err(format!("shape {:?} does not broadcast to {:?}", self.shape(), shape));
        }
        let lead = shape.len() - self.dims.len();
        let dims = shape
            .iter()
            .enumerate()
            .map(|(i, &n)| match i.checked_sub(lead).map(|j| self.dims[j]) {
                Some((s, m)) if m == n => (s, n),
                _ => (0, n),
            })
            .collect();
        Ok(StridedView { offset: self.offset, dims })
    }

    fn slice(&self, axes: &[SliceAxis]) -> Result<StridedView, String> {
        let mut v = self.clone();
        for a in axes {
            let (stride, size) = *v.dims.get(a.axis).ok_or("slice axis out of range")?;
            let len = a.len();
            if len > 0 {
                let start = a.start;
                if start < 0 || start >= size as i64 {
                    return Err(format!("slice start {start} outside a dimension of {size}"));
                }
                v.offset += start * stride;
            }
            v.dims[a.axis] = (stride * a.step, len);
        }
        Ok(v)
    }

    /// Reinterprets the view with another shape of the same element count,
    /// when the row-major order of the view can be described by strides.
    fn reshape(&self, shape: &[usize]) -> Result<StridedView, String> {
        let count: usize = self.dims.iter().map(|&(_, n)| n).product();
        if count != shape.iter().product::<usize>() {
            return Err("reshape changes the element count".into());
        }
        if count == 0 {
            return Ok(StridedView::contiguous(shape));
        }
        // Size-1 dimensions carry no stride information: drop them on the
        // input side, give them stride 0 on the output side.
        let old: Vec<(i64, usize)> = self.dims.iter().copied().filter(|&(_, n)| n != 1).collect();
        let mut out = Vec::with_capacity(shape.len());
        let (mut i, mut j) = (0, 0);
        while j < shape.len() {
            if shape[j] == 1 {
                out.push((0, 1));
                j += 1;
                continue;
            }
            // Take old dims [i, i2) and new dims [j, j2) with equal products.
            let (mut i2, mut j2) = (i + 1, j + 1);
            let (mut po, mut pn) = (old.get(i).map_or(1, |d| d.1), shape[j]);
            while po != pn {
                if po < pn {
                    po *= old.get(i2).ok_or("reshape sizes do not line up")?.1;
                    i2 += 1;
                } else {
                    pn *= shape.get(j2).ok_or("reshape sizes do not line up")?;
                    j2 += 1;
                }
            }
            // The old group must be contiguous in itself.
            for k in i..i2 - 1 {
                if old[k].0 != old[k + 1].0 * old[k + 1].1 as i64 {
                    return Err(format!(
                        "reshape to {shape:?} merges dimensions of a non-contiguous view (strides {:?}), which no access pattern can describe; copy the view first",
                        self.dims.iter().map(|d| d.0).collect::<Vec<_>>()
                    ));
                }
            }
            // Split the merged group into the new sizes, innermost first.
            let mut stride = old[i2 - 1].0;
            let mut group = Vec::new();
            for &n in shape[j..j2].iter().rev() {
                group.push((if n == 1 { 0 } else { stride }, n));
                stride *= n as i64;
            }
            group.reverse();
            out.extend(group);
            i = i2;
            j = j2;
        }
        Ok(StridedView { offset: self.offset, dims: out })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(v: &StridedView) -> Vec<(i64, usize)> {
        v.dims.clone()
    }

    #[test]
    fn transpose_permutes_strides() {
        let v = StridedView::contiguous(&[2, 3, 4]).apply(&Op::Transpose { perm: vec![2, 0, 1] }, &[4, 2, 3]).unwrap();
        assert_eq!(dims(&v), vec![(1, 4), (12, 2), (4, 3)]);
    }

    #[test]
    fn negative_step_slices_start_at_the_first_index() {
        // x[:, :, 3:-1:-2] of [2, 3, 4] picks indices 3 and 1.
        let axes = vec![SliceAxis { axis: 2, start: 3, end: -1, step: -2 }];
        let v = StridedView::contiguous(&[2, 3, 4]).apply(&Op::Slice { axes }, &[2, 3, 2]).unwrap();
        assert_eq!(v.offset, 3);
        assert_eq!(dims(&v), vec![(12, 2), (4, 3), (-2, 2)]);
    }

    #[test]
    fn expand_and_broadcast_give_stride_zero() {
        let v = StridedView::contiguous(&[2, 1, 4]).broadcast_to(&[3, 2, 5, 4]).unwrap();
        assert_eq!(dims(&v), vec![(0, 3), (4, 2), (0, 5), (1, 4)]);
        assert!(StridedView::contiguous(&[2]).broadcast_to(&[3]).is_err());
    }

    #[test]
    fn reshape_of_contiguous_and_split_views() {
        let v = StridedView::contiguous(&[6, 4]).reshape(&[2, 3, 2, 2]).unwrap();
        assert_eq!(dims(&v), vec![(12, 2), (4, 3), (2, 2), (1, 2)]);
        // Splitting a transposed dimension is fine; merging it is not.
        let t = StridedView::contiguous(&[4, 6]).apply(&Op::Transpose { perm: vec![1, 0] }, &[6, 4]).unwrap();
        let split = t.reshape(&[2, 3, 4]).unwrap();
        assert_eq!(dims(&split), vec![(3, 2), (1, 3), (6, 4)]);
        let err = t.reshape(&[24]).unwrap_err();
        assert!(err.contains("non-contiguous"), "{err}");
    }

    #[test]
    fn squeeze_and_unsqueeze_move_size_one_dims() {
        let v = StridedView::contiguous(&[2, 1, 4]).apply(&Op::Squeeze { axes: vec![1] }, &[2, 4]).unwrap();
        assert_eq!(dims(&v), vec![(4, 2), (1, 4)]);
        let u = v.apply(&Op::Unsqueeze { axes: vec![0, 2] }, &[1, 2, 1, 4]).unwrap();
        assert_eq!(u.normalized().dims, vec![(0, 1), (4, 2), (0, 1), (1, 4)]);
    }

    #[test]
    fn broadcast_dims_merge_in_reshape() {
        let v = StridedView::contiguous(&[4]).broadcast_to(&[2, 3, 4]).unwrap();
        let r = v.reshape(&[6, 4]).unwrap();
        assert_eq!(dims(&r), vec![(0, 6), (1, 4)]);
    }
}
