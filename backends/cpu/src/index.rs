//! Index mapping: every op that moves data (layout ops, broadcasting,
//! reduction groups) is written as "for each output element, the flat
//! index of its source element", then [`take`] copies the elements. One
//! copy routine for every storage kind means no layout op can round or
//! convert a value.

use trnc_ir::{strides_of, Data};

/// Flat source indices of a strided view, in row-major order of `shape`:
/// the element at multi-index `i` is at `offset + Σ i[d] * strides[d]`.
/// Strides may be zero (broadcasting) or negative (reversed slices).
pub fn strided(shape: &[usize], strides: &[isize], offset: isize) -> Vec<usize> {
    let count: usize = shape.iter().product();
    let mut out = Vec::with_capacity(count);
    let mut idx = vec![0usize; shape.len()];
    let mut pos = offset;
    for _ in 0..count {
        out.push(pos as usize);
        // Odometer step; positions past the last element are never pushed.
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            pos += strides[d];
            if idx[d] < shape[d] {
                break;
            }
            pos -= strides[d] * shape[d] as isize;
            idx[d] = 0;
        }
    }
    out
}

/// Row-major strides as signed numbers, for building views.
pub fn signed_strides(shape: &[usize]) -> Vec<isize> {
    strides_of(shape).into_iter().map(|s| s as isize).collect()
}

/// For each element of `out_shape`, the flat index of the element of an
/// operand of shape `in_shape` that numpy broadcasting reads. The caller
/// has checked (by type inference) that `in_shape` broadcasts to
/// `out_shape`.
pub fn broadcast(in_shape: &[usize], out_shape: &[usize]) -> Vec<usize> {
    let lead = out_shape.len().saturating_sub(in_shape.len());
    let in_strides = signed_strides(in_shape);
    let strides: Vec<isize> = (0..out_shape.len())
        .map(|d| match d.checked_sub(lead) {
            // Size-1 axes repeat their one element; missing leading axes too.
            Some(k) if in_shape[k] != 1 => in_strides[k],
            _ => 0,
        })
        .collect();
    strided(out_shape, &strides, 0)
}

/// Source indices that group the elements of a tensor of `shape` by
/// reduction: the kept axes vary slowest (in row-major order, which is
/// the order of the reduced output) and the `axes` fastest, so the
/// result is `outputs × group` long and each run of `group` consecutive
/// indices is one output's group.
pub fn reduction_groups(shape: &[usize], axes: &[usize]) -> (Vec<usize>, usize) {
    let kept = (0..shape.len()).filter(|d| !axes.contains(d));
    let order: Vec<usize> = kept.chain(axes.iter().copied()).collect();
    let strides = signed_strides(shape);
    let view_shape: Vec<usize> = order.iter().map(|&d| shape[d]).collect();
    let view_strides: Vec<isize> = order.iter().map(|&d| strides[d]).collect();
    let group = axes.iter().map(|&d| shape[d]).product();
    (strided(&view_shape, &view_strides, 0), group)
}

/// Copies `data[i]` for each `i` in `indices`, whatever the storage kind.
pub fn take(data: &Data, indices: &[usize]) -> Data {
    fn pick<T: Copy>(v: &[T], indices: &[usize]) -> Vec<T> {
        indices.iter().map(|&i| v[i]).collect()
    }
    match data {
        Data::Float(v) => Data::Float(pick(v, indices)),
        Data::I64(v) => Data::I64(pick(v, indices)),
        Data::I32(v) => Data::I32(pick(v, indices)),
        Data::Bool(v) => Data::Bool(pick(v, indices)),
    }
}

/// The elements of all `parts` one after the other, so that several
/// operands (concat, where) can be addressed by one flat index. `None` if
/// the parts have different storage kinds.
pub fn concat(parts: &[&Data]) -> Option<Data> {
    let mut out = match parts.first()? {
        Data::Float(_) => Data::Float(Vec::new()),
        Data::I64(_) => Data::I64(Vec::new()),
        Data::I32(_) => Data::I32(Vec::new()),
        Data::Bool(_) => Data::Bool(Vec::new()),
    };
    for part in parts {
        match (&mut out, part) {
            (Data::Float(o), Data::Float(v)) => o.extend_from_slice(v),
            (Data::I64(o), Data::I64(v)) => o.extend_from_slice(v),
            (Data::I32(o), Data::I32(v)) => o.extend_from_slice(v),
            (Data::Bool(o), Data::Bool(v)) => o.extend_from_slice(v),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_walks_row_major() {
        // A [2, 3] tensor read in transposed order: shape [3, 2], strides [1, 3].
        assert_eq!(strided(&[3, 2], &[1, 3], 0), vec![0, 3, 1, 4, 2, 5]);
        // Reversed axis: start at the last element, step -1.
        assert_eq!(strided(&[4], &[-1], 3), vec![3, 2, 1, 0]);
        // A scalar has one element at the offset; an empty shape none.
        assert_eq!(strided(&[], &[], 7), vec![7]);
        assert_eq!(strided(&[2, 0], &[1, 1], 0), Vec::<usize>::new());
    }

    #[test]
    fn broadcast_repeats_size_one_and_missing_axes() {
        // [3] against [2, 3]: the row repeats.
        assert_eq!(broadcast(&[3], &[2, 3]), vec![0, 1, 2, 0, 1, 2]);
        // [2, 1] against [2, 3]: each row's one element repeats.
        assert_eq!(broadcast(&[2, 1], &[2, 3]), vec![0, 0, 0, 1, 1, 1]);
        // [2, 1] against [2, 2, 2]: aligned to the last two axes.
        assert_eq!(broadcast(&[2, 1], &[2, 2, 2]), vec![0, 0, 1, 1, 0, 0, 1, 1]);
        assert_eq!(broadcast(&[], &[2]), vec![0, 0]);
        assert_eq!(broadcast(&[2, 2], &[2, 2]), vec![0, 1, 2, 3]);
    }

    #[test]
    fn reduction_groups_put_reduced_axes_last() {
        // shape [2, 3, 2] = elements 0..12; reduce axis 1.
        let (idx, group) = reduction_groups(&[2, 3, 2], &[1]);
        assert_eq!(group, 3);
        assert_eq!(idx, vec![0, 2, 4, 1, 3, 5, 6, 8, 10, 7, 9, 11]);
        // Reduce axes 0 and 2: outputs are the 3 middle positions.
        let (idx, group) = reduction_groups(&[2, 3, 2], &[0, 2]);
        assert_eq!(group, 4);
        assert_eq!(idx, vec![0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11]);
    }

    #[test]
    fn take_and_concat_copy_every_storage_kind() {
        let big = (1i64 << 60) + 1;
        assert_eq!(take(&Data::I64(vec![big, 2, 3]), &[2, 0, 0]), Data::I64(vec![3, big, big]));
        assert_eq!(take(&Data::Bool(vec![true, false]), &[1, 0]), Data::Bool(vec![false, true]));
        let a = Data::Float(vec![1.5]);
        let b = Data::Float(vec![2.5, -0.0]);
        assert_eq!(concat(&[&a, &b]), Some(Data::Float(vec![1.5, 2.5, -0.0])));
        assert_eq!(concat(&[&a, &Data::I32(vec![1])]), None);
    }
}
