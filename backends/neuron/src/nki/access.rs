//! HBM access patterns seen as indices into the tensor's own dimensions.
//!
//! The kernel IR addresses HBM as `offset + Σ i_d · stride_d` over the flat,
//! row-major tensor (NKI's `.ap`). NKI 0.6 can print that pattern as is,
//! but slicing (`x[1, 0:16, 0:64]`) reads better, and the legacy API has no
//! `.ap` at all: it indexes each dimension with slices or affine
//! expressions of `nl.arange`. [`decompose`] finds, for every tensor
//! dimension, its start (affine in the loop variables) and the pattern
//! dimensions that move along it; a pattern dimension that runs across a
//! dimension boundary (rows of a `[2, 16, 64]` tensor walked as 32 rows) is
//! split into one walk per dimension. The result addresses exactly the
//! same elements in the same order, or there is none.

use trnc_ir::kernel::{Affine, LoopBounds};

/// One dimension of the walk: the tensor dimension it moves along (`None`
/// for a broadcast, stride 0, or a dimension of count 1), the index step
/// along it, and the count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalkDim {
    pub dim: Option<usize>,
    pub step: i64,
    pub count: usize,
}

/// An HBM access as per-dimension indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HbmWalk {
    /// Per tensor dimension, the index where the walk starts.
    pub starts: Vec<Affine>,
    /// The pattern's dimensions, outermost first, split where needed.
    pub dims: Vec<WalkDim>,
}

/// One subscript of a basic (slice) index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subscript {
    Index(Affine),
    Range(Affine, usize),
}

fn row_major_strides(shape: &[usize]) -> Vec<i64> {
    let mut st = vec![1i64; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        st[d] = st[d + 1].saturating_mul(shape[d + 1] as i64);
    }
    st
}

/// The outermost dimension of size > 1 whose stride divides `k`.
fn dim_of(shape: &[usize], strides: &[i64], k: i64) -> Option<usize> {
    (0..shape.len()).find(|&j| shape[j] > 1 && strides[j] != 0 && k % strides[j] == 0)
}

/// `offset` + `pattern` over a row-major tensor of `shape` as per-dimension
/// indices, valid for every value of the loop variables in `loops`.
pub fn decompose(shape: &[usize], offset: &Affine, pattern: &[(i64, usize)], loops: &LoopBounds) -> Option<HbmWalk> {
    let strides = row_major_strides(shape);
    let mut starts = vec![Affine::constant(0); shape.len()];
    // The constant part, unravelled (the outermost index may overflow; the
    // bounds check below rejects that).
    if offset.constant < 0 || (shape.is_empty() && offset.constant != 0) {
        return None;
    }
    let mut rest = offset.constant;
    for (j, &st) in strides.iter().enumerate() {
        if st > 0 {
            starts[j].constant = rest / st;
            rest -= starts[j].constant * st;
        }
    }
    if rest != 0 {
        return None;
    }
    for &(v, k) in &offset.terms {
        let j = dim_of(shape, &strides, k)?;
        starts[j] = std::mem::take(&mut starts[j]).plus(&Affine::var(v, k / strides[j]));
    }
    let mut dims = Vec::with_capacity(pattern.len());
    for &(s, n) in pattern {
        if n <= 1 || s == 0 {
            dims.push(WalkDim { dim: None, step: 0, count: n });
        } else {
            let j = dim_of(shape, &strides, s)?;
            dims.push(WalkDim { dim: Some(j), step: s / strides[j], count: n });
        }
    }
    let mut walk = HbmWalk { starts, dims };
    // Each split removes one boundary crossing; a pattern has few.
    for _ in 0..32 {
        match out_of_bounds(shape, &walk, loops)? {
            None => return Some(walk),
            Some(j) => split_at(shape, &strides, &mut walk, j)?,
        }
    }
    None
}

/// The first dimension some element of the walk indexes out of bounds.
fn out_of_bounds(shape: &[usize], walk: &HbmWalk, loops: &LoopBounds) -> Option<Option<usize>> {
    for (j, &size) in shape.iter().enumerate() {
        let (mut lo, mut hi) = loops.range(&walk.starts[j]).ok()?;
        for w in walk.dims.iter().filter(|w| w.dim == Some(j)) {
            let span = (w.step as i128).checked_mul(w.count as i128 - 1)?;
            lo += span.min(0);
            hi += span.max(0);
        }
        if lo < 0 || hi >= size as i128 {
            return Some(Some(j));
        }
    }
    Some(None)
}

/// Splits the walk dimension that runs past the end of dimension `j` into
/// an outer walk (over the next dimension out) and an inner one that fills
/// `j` exactly. Only a walk that starts at 0 and is the only one along `j`
/// can be split so.
fn split_at(shape: &[usize], strides: &[i64], walk: &mut HbmWalk, j: usize) -> Option<()> {
    if !walk.starts[j].is_constant() || walk.starts[j].constant != 0 {
        return None;
    }
    let mut along = walk.dims.iter().enumerate().filter(|(_, w)| w.dim == Some(j));
    let (w, dim) = along.next()?;
    if along.next().is_some() || dim.step <= 0 || shape[j] as i64 % dim.step != 0 {
        return None;
    }
    let per = (shape[j] as i64 / dim.step) as usize;
    if per == 0 || dim.count <= per || dim.count % per != 0 {
        return None;
    }
    let outer_stride = dim.step.checked_mul(strides[j])?.checked_mul(per as i64)?;
    let outer_dim = dim_of(shape, strides, outer_stride)?;
    let outer = WalkDim { dim: Some(outer_dim), step: outer_stride / strides[outer_dim], count: dim.count / per };
    let inner = WalkDim { dim: Some(j), step: dim.step, count: per };
    walk.dims.splice(w..=w, [outer, inner]);
    Some(())
}

/// The walk as basic indexing (`x[1, 0:16, 0:64]`): every dimension of
/// count > 1 moves by 1 along its own tensor dimension, in tensor order,
/// and no dimension is a broadcast. Unmoved tensor dimensions are indexed
/// by an integer, which drops them (nki-api.md §3, HBM).
pub fn basic_subscripts(walk: &HbmWalk) -> Option<Vec<Subscript>> {
    if walk.starts.is_empty() {
        return None;
    }
    let mut subs: Vec<Subscript> = walk.starts.iter().map(|s| Subscript::Index(s.clone())).collect();
    let mut last: Option<usize> = None;
    for w in walk.dims.iter().filter(|w| w.count > 1) {
        let j = w.dim?;
        if w.step != 1 || last.is_some_and(|l| l >= j) {
            return None;
        }
        last = Some(j);
        subs[j] = Subscript::Range(walk.starts[j].clone(), w.count);
    }
    Some(subs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trnc_ir::kernel::LoopVar;

    fn walk(shape: &[usize], offset: i64, pattern: &[(i64, usize)]) -> Option<HbmWalk> {
        decompose(shape, &Affine::constant(offset), pattern, &LoopBounds::new())
    }

    #[test]
    fn rows_of_a_3d_tensor_are_a_slice_with_an_index() {
        let w = walk(&[2, 16, 64], 1024, &[(64, 16), (1, 64)]).unwrap();
        let subs = basic_subscripts(&w).unwrap();
        assert_eq!(
            subs,
            vec![
                Subscript::Index(Affine::constant(1)),
                Subscript::Range(Affine::constant(0), 16),
                Subscript::Range(Affine::constant(0), 64)
            ]
        );
    }

    #[test]
    fn a_transposed_read_is_not_a_slice() {
        let w = walk(&[8, 32], 0, &[(1, 32), (32, 8)]).unwrap();
        assert_eq!(w.dims[0], WalkDim { dim: Some(1), step: 1, count: 32 });
        assert_eq!(w.dims[1], WalkDim { dim: Some(0), step: 1, count: 8 });
        assert!(basic_subscripts(&w).is_none());
    }

    #[test]
    fn rows_across_the_batch_boundary_are_split() {
        let w = walk(&[2, 16, 64], 0, &[(64, 32), (1, 64)]).unwrap();
        let counts: Vec<(Option<usize>, usize)> = w.dims.iter().map(|d| (d.dim, d.count)).collect();
        assert_eq!(counts, vec![(Some(0), 2), (Some(1), 16), (Some(2), 64)]);
        assert!(walk(&[2, 16, 64], 64, &[(64, 32), (1, 64)]).is_none());
    }

    #[test]
    fn loop_terms_go_to_the_dimension_they_step() {
        let mut loops = LoopBounds::new();
        loops.push_loop(LoopVar(0), 3).unwrap();
        let w = decompose(&[3, 5, 8], &Affine::var(LoopVar(0), 40), &[(1, 8), (8, 5)], &loops).unwrap();
        assert_eq!(w.starts[0], Affine::var(LoopVar(0), 1));
        let broadcast = walk(&[64], 0, &[(0, 8), (1, 64)]).unwrap();
        assert_eq!(broadcast.dims[0].dim, None);
    }
}
