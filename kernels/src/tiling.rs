//! Splitting a dimension into tiles, and the loops that walk them.
//!
//! A dimension of `n` elements cut into tiles of at most `t` gives up to
//! two *pieces*: `n / t` full tiles (a loop with a static trip count) and
//! one tail tile of `n % t` (straight-line code). Loops have no conditions
//! in the kernel IR, so a tail is a second copy of the body with smaller
//! sizes, never a rejected shape.

use crate::builder::Builder;
use crate::error::LowerError;
use trnc_ir::kernel::{Affine, LoopVar};

/// `count` consecutive tiles of `size` elements, the first at `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Piece {
    pub start: usize,
    pub size: usize,
    pub count: usize,
}

/// Cuts `[0, extent)` into tiles of at most `tile` elements: the full tiles,
/// then the tail (if any). Empty for an empty dimension.
pub(crate) fn split(extent: usize, tile: usize) -> Vec<Piece> {
    let tile = tile.max(1);
    let mut out = Vec::new();
    let full = extent / tile;
    if full > 0 {
        out.push(Piece { start: 0, size: tile, count: full });
    }
    let tail = extent % tile;
    if tail > 0 {
        out.push(Piece { start: full * tile, size: tail, count: 1 });
    }
    out
}

/// Emits `body` once per tile of `piece`: inside a loop when the piece has
/// several tiles (the start is then `start + size * i`), straight-line
/// otherwise. `body` gets the tile's first index and its size.
pub(crate) fn walk_piece(
    b: &mut Builder,
    piece: Piece,
    mut body: impl FnMut(&mut Builder, Affine, usize) -> Result<(), LowerError>,
) -> Result<(), LowerError> {
    if piece.count > 1 {
        let var = b.open_loop(piece.count);
        let start = Affine::var(var, piece.size as i64).offset(piece.start as i64);
        let result = body(b, start, piece.size);
        b.close_loop();
        result
    } else {
        body(b, Affine::constant(piece.start as i64), piece.size)
    }
}

/// Emits `body` inside a loop over `0..count` (straight-line when count is
/// 1); `body` gets the index as an affine value.
pub(crate) fn walk_range(
    b: &mut Builder,
    count: usize,
    mut body: impl FnMut(&mut Builder, Affine) -> Result<(), LowerError>,
) -> Result<(), LowerError> {
    if count > 1 {
        let var: LoopVar = b.open_loop(count);
        let result = body(b, Affine::var(var, 1));
        b.close_loop();
        result
    } else {
        body(b, Affine::constant(0))
    }
}

/// `a * k` for an affine value.
pub(crate) fn scale(a: &Affine, k: i64) -> Affine {
    Affine {
        constant: a.constant * k,
        terms: a.terms.iter().map(|&(v, c)| (v, c * k)).filter(|&(_, c)| c != 0).collect(),
    }
}

/// The row-major multi-index of flat index `i` in `shape`.
pub(crate) fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut out = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        out[d] = i % shape[d];
        i /= shape[d];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_gives_full_tiles_then_the_tail() {
        assert_eq!(
            split(1000, 128),
            vec![Piece { start: 0, size: 128, count: 7 }, Piece { start: 896, size: 104, count: 1 }]
        );
        assert_eq!(split(256, 128), vec![Piece { start: 0, size: 128, count: 2 }]);
        assert_eq!(split(37, 128), vec![Piece { start: 0, size: 37, count: 1 }]);
        assert_eq!(split(0, 128), vec![]);
        assert_eq!(split(5, 0), vec![Piece { start: 0, size: 1, count: 5 }]);
    }

    #[test]
    fn walking_a_piece_opens_a_loop_only_for_several_tiles() {
        let mut b = Builder::new("k", vec![], vec![], vec![]);
        let mut starts = Vec::new();
        for piece in split(300, 128) {
            walk_piece(&mut b, piece, |_, start, size| {
                starts.push((start, size));
                Ok(())
            })
            .unwrap();
        }
        assert_eq!(starts[0], (Affine::var(LoopVar(0), 128), 128));
        assert_eq!(starts[1], (Affine::constant(256), 44));
        let k = b.finish();
        assert_eq!(k.body.len(), 1, "one loop for the full tiles, nothing emitted for the tail");
    }
}
