//! Addresses: affine expressions of loop variables, and the regions of HBM
//! tensors and tiles that instructions read and write.

use super::{HbmId, TileId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LoopVar(pub u32);

/// `constant + Σ coefficient × variable`, evaluated with the loop counters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Affine {
    pub constant: i64,
    pub terms: Vec<(LoopVar, i64)>,
}

impl Affine {
    pub fn constant(c: i64) -> Affine {
        Affine { constant: c, terms: Vec::new() }
    }

    /// `coefficient × var`.
    pub fn var(var: LoopVar, coefficient: i64) -> Affine {
        Affine { constant: 0, terms: vec![(var, coefficient)] }
    }

    pub fn plus(mut self, other: &Affine) -> Affine {
        self.constant += other.constant;
        for &(v, k) in &other.terms {
            match self.terms.iter_mut().find(|(w, _)| *w == v) {
                Some((_, c)) => *c += k,
                None => self.terms.push((v, k)),
            }
        }
        self.terms.retain(|&(_, k)| k != 0);
        self
    }

    pub fn offset(mut self, c: i64) -> Affine {
        self.constant += c;
        self
    }

    /// The value for the given loop counters (`counters[v]` for `LoopVar(v)`).
    pub fn eval(&self, counters: &[i64]) -> i64 {
        self.constant + self.terms.iter().map(|&(v, k)| k * counters[v.0 as usize]).sum::<i64>()
    }

    /// Smallest and largest value over loops with the given trip counts.
    pub fn range(&self, trip_counts: &[usize]) -> (i64, i64) {
        let mut lo = self.constant;
        let mut hi = self.constant;
        for &(v, k) in &self.terms {
            let last = (trip_counts[v.0 as usize] as i64 - 1).max(0) * k;
            if last < 0 {
                lo += last;
            } else {
                hi += last;
            }
        }
        (lo, hi)
    }

    pub fn is_constant(&self) -> bool {
        self.terms.is_empty()
    }
}

/// A strided window of an HBM tensor, seen as an on-chip shape: element
/// `(i0, i1, ..)` of the window is the tensor's flat element
/// `offset + Σ i_d × pattern[d].0`, and `pattern[d].1` is the window's size
/// in dimension d. The first pair maps to partitions when the other side of
/// the DMA is a tile (at most 4 free pairs, trainium.md §1.5).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HbmAccess {
    pub tensor: HbmId,
    pub offset: Affine,
    /// (stride in elements, count) per dimension, outermost first.
    pub pattern: Vec<(i64, usize)>,
}

impl HbmAccess {
    pub fn shape(&self) -> Vec<usize> {
        self.pattern.iter().map(|&(_, n)| n).collect()
    }
}

/// A rectangular region of a tile: partitions `[start, start + count)` and,
/// per free dimension, `[start, start + count)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TileAccess {
    pub tile: TileId,
    pub partition_start: Affine,
    pub partitions: usize,
    /// (start, count) per free dimension of the tile.
    pub free: Vec<(Affine, usize)>,
}

impl TileAccess {
    /// The whole tile of the given shape.
    pub fn whole(tile: TileId, shape: &[usize]) -> TileAccess {
        TileAccess {
            tile,
            partition_start: Affine::constant(0),
            partitions: shape[0],
            free: shape[1..].iter().map(|&n| (Affine::constant(0), n)).collect(),
        }
    }

    /// The access shape: partitions, then free sizes.
    pub fn shape(&self) -> Vec<usize> {
        std::iter::once(self.partitions).chain(self.free.iter().map(|&(_, n)| n)).collect()
    }

    pub fn free_elements(&self) -> usize {
        self.free.iter().map(|&(_, n)| n).product()
    }
}

/// Either side of a DMA.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    Hbm(HbmAccess),
    Tile(TileAccess),
}
