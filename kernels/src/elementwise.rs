//! Elementwise passes: the iteration space is the output's shape; it is
//! flattened as far as every operand allows, 128 rows go on the
//! partitions and a chunk of up to `chunk` elements per partition on the
//! free axis (≥ 2 KiB per partition per DMA where the shape allows,
//! trainium.md §1.6). Broadcast operands are read with stride-0 patterns.
//!
//! Tiling of a (simplified) space, innermost dimension last:
//! - an innermost dimension longer than a chunk is split into rows of one
//!   chunk each (rows on partitions), the remainder tiled on its own;
//! - otherwise the innermost whole dimensions that fit a chunk (at most 4,
//!   the free pairs of an access pattern, trainium.md §1.5) form the free
//!   axis, and the next dimension goes on the partitions; if that one has
//!   more than 128 rows and the chunk has room, part of it is folded into
//!   the free axis so that each partition moves more bytes per DMA;
//! - the remaining outer dimensions become loops; every partition
//!   dimension is cut into tiles of 128 and a tail.

use crate::body::{tile_ctx, Body, Target};
use crate::builder::Builder;
use crate::error::LowerError;
use crate::space::Space;
use crate::tiling::{split, walk_piece, walk_range};
use trnc_ir::kernel::Affine;
use trnc_ir::target::PARTITIONS;

/// Free pairs of one access pattern (trainium.md §1.5).
const MAX_FREE_DIMS: usize = 4;

/// A part of the space with its layout: dimensions `0..loops` are loops,
/// `loops` goes on the partitions, the rest on the free axis.
#[derive(Clone, Debug)]
pub(crate) struct Segment {
    pub space: Space,
    pub loops: usize,
}

impl Segment {
    pub fn rows(&self) -> usize {
        self.space.extents[self.loops]
    }

    pub fn width(&self) -> usize {
        self.space.extents[self.loops + 1..].iter().product()
    }
}

/// Cuts a simplified space into segments whose free size is at most `chunk`.
pub(crate) fn segments(space: &Space, chunk: usize) -> Vec<Segment> {
    let chunk = chunk.max(1);
    let mut s = space.clone();
    if s.extents.is_empty() {
        s = s.insert_unit(0);
    }
    if s.elements() == 0 {
        return Vec::new();
    }
    let k = s.extents.len();
    let last = k - 1;
    if s.extents[last] > chunk {
        let q = s.extents[last] / chunk;
        let r = s.extents[last] % chunk;
        let main = s.restrict(last, 0, q * chunk).split_dim(last, chunk);
        let mut out = vec![Segment { space: main, loops: last }];
        if r > 0 {
            out.extend(segments(&s.restrict(last, q * chunk, r), chunk));
        }
        return out;
    }
    // Whole innermost dimensions on the free axis.
    let mut free = 1;
    let mut width = s.extents[last];
    while free < k && free < MAX_FREE_DIMS && width * s.extents[k - 1 - free] <= chunk {
        width *= s.extents[k - 1 - free];
        free += 1;
    }
    if free == k {
        // Everything fits one partition's chunk: the outermost dimension
        // goes on the partitions instead.
        width /= s.extents[0].max(1);
        free -= 1;
    }
    let j = k - 1 - free;
    let rows = s.extents[j];
    if rows > PARTITIONS && free < MAX_FREE_DIMS && width * 2 <= chunk {
        let fold = (chunk / width).min(rows.div_ceil(PARTITIONS));
        if fold > 1 {
            let q = rows / fold;
            let r = rows % fold;
            let main = s.restrict(j, 0, q * fold).split_dim(j, fold);
            let mut out = vec![Segment { space: main, loops: j }];
            if r > 0 {
                out.extend(segments(&s.restrict(j, q * fold, r), chunk));
            }
            return out;
        }
    }
    vec![Segment { space: s, loops: j }]
}

/// Emits the loops of a segment and, for every tile, the body producing
/// `targets`.
pub(crate) fn emit_segment(
    b: &mut Builder,
    body: &mut Body,
    seg: &Segment,
    targets: &[Target],
) -> Result<(), LowerError> {
    // Operands that are the same for every tile of the segment (a bias
    // broadcast over the rows) are loaded once, before its loops.
    let zeros = vec![Affine::constant(0); seg.space.extents.len()];
    let free: Vec<(usize, usize)> =
        (seg.loops + 1..seg.space.extents.len()).map(|f| (f, seg.space.extents[f])).collect();
    let several_tiles = seg.space.extents[..seg.loops].iter().product::<usize>() > 1 || seg.rows() > PARTITIONS;
    if several_tiles {
        let ctx = tile_ctx(&seg.space, &zeros, (seg.loops, seg.rows().min(PARTITIONS)), &free);
        let space = &seg.space;
        body.hoist(b, ctx, |p| space.ports[p].strides[..=seg.loops].iter().all(|&st| st == 0))?;
    }
    let mut index = Vec::new();
    let r = loops(b, body, seg, targets, &mut index);
    body.release_hoisted(b);
    r
}

fn loops(
    b: &mut Builder,
    body: &mut Body,
    seg: &Segment,
    targets: &[Target],
    index: &mut Vec<Affine>,
) -> Result<(), LowerError> {
    let d = index.len();
    if d < seg.loops {
        return walk_range(b, seg.space.extents[d], |b, i| {
            index.push(i);
            let r = loops(b, body, seg, targets, index);
            index.pop();
            r
        });
    }
    let free: Vec<(usize, usize)> =
        (seg.loops + 1..seg.space.extents.len()).map(|f| (f, seg.space.extents[f])).collect();
    for piece in split(seg.rows(), PARTITIONS) {
        walk_piece(b, piece, |b, start, size| {
            let mut at = index.clone();
            at.push(start);
            at.extend(free.iter().map(|_| Affine::constant(0)));
            let ctx = tile_ctx(&seg.space, &at, (seg.loops, size), &free);
            body.begin_chunk(ctx, targets);
            let r = body.run_targets(b, targets);
            body.end_chunk(b);
            r
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::StridedView;

    fn space(shape: &[usize]) -> Space {
        let mut s = Space::new(shape);
        s.add_port(&StridedView::contiguous(shape));
        s.simplified()
    }

    fn layout(segs: &[Segment]) -> Vec<(Vec<usize>, usize)> {
        segs.iter().map(|s| (s.space.extents.clone(), s.loops)).collect()
    }

    #[test]
    fn small_vectors_spread_over_partitions() {
        assert_eq!(layout(&segments(&space(&[37]), 2048)), vec![(vec![37], 0)]);
        assert_eq!(layout(&segments(&space(&[2000]), 2048)), vec![(vec![125, 16], 0)]);
        // 129 = 64 rows of 2 + 1.
        assert_eq!(layout(&segments(&space(&[129]), 2048)), vec![(vec![64, 2], 0), (vec![1], 0)]);
    }

    #[test]
    fn long_rows_become_chunks_with_a_remainder() {
        let segs = segments(&space(&[1_000_000]), 2048);
        assert_eq!(segs[0].space.extents, vec![488, 2048]);
        assert_eq!(segs[1].space.extents, vec![115, 5]);
        assert_eq!(segs[2].space.extents, vec![1]);
        let total: usize = segs.iter().map(|s| s.space.elements()).sum();
        assert_eq!(total, 1_000_000);
    }

    #[test]
    fn broadcast_operands_keep_their_dimensions() {
        // x[1000, 3] + b[3]: dims do not merge (b has stride 0 on rows).
        let mut s = Space::new(&[1000, 3]);
        s.add_port(&StridedView::contiguous(&[1000, 3]));
        s.add_port(&StridedView::contiguous(&[3]).broadcast_to(&[1000, 3]).unwrap());
        let segs = segments(&s.simplified(), 2048);
        assert_eq!(layout(&segs), vec![(vec![125, 8, 3], 0)]);
        assert_eq!(segs[0].space.ports[1].strides, vec![0, 0, 1]);
    }
}
