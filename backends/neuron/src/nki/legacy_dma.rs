//! DMA between a tile region and an HBM window in the legacy dialect,
//! which has no `.ap`: `t[...] = nl.load(x[...])` and
//! `nl.store(x[...], value=t[...])`, where both subscripts must give the
//! same shape (or the loaded one broadcasts to the tile's).
//!
//! The HBM window is first decomposed per tensor dimension
//! (`access::decompose`); then the tile region's dimensions and the
//! window's are refined to one common list of walk dimensions (splitting a
//! dimension where the other side is finer: a tile row of 512 elements
//! read as `[16, 4, 8]`). On each tile dimension the innermost walk
//! dimension is indexed (a slice of the tile, an `nl.arange` placed on that
//! tile axis in the HBM subscript); the outer ones become
//! `nl.affine_range` loops around the statement (their iterations touch
//! disjoint elements). The HBM side is a basic slice where that gives the
//! same shape, else an advanced index: per tensor dimension, its start plus
//! `step * nl.arange(n)` for each walk dimension along it, as in
//! `x[1, nl.arange(8)[None, :], nl.arange(32)[:, None]]` (nki-api.md §3).

use trnc_ir::kernel::{Affine, HbmAccess, LoopBounds, LoopVar, TileAccess};

use super::access::{decompose, WalkDim};
use super::py::{self, VarNames};

/// One common walk dimension: where it moves on the tile and in HBM.
struct Refined {
    tile_dim: usize,
    /// Index step along the tile dimension.
    tile_step: i64,
    hbm: WalkDim,
}

/// The statement(s) for one DMA: `(header lines, statement)`, where each
/// header opens a loop the statement (indented once per header) sits in.
pub struct DmaCode {
    pub loops: Vec<String>,
    pub statement: String,
}

/// The tile side of a DMA: the tile's Python name and the region.
pub struct Region<'a> {
    pub name: &'a str,
    pub access: &'a TileAccess,
}

/// The HBM side: the tensor's Python name and shape, and the window.
pub struct Window<'a> {
    pub name: &'a str,
    pub shape: &'a [usize],
    pub access: &'a HbmAccess,
}

/// The HBM view and the tile view of one DMA (a load into the tile, or a
/// store from it), if the legacy API can express it. `fresh` names the
/// helper loop variables.
pub fn dma(
    region: Region,
    window: Window,
    loops: &LoopBounds,
    vars: &VarNames,
    fresh: &mut dyn FnMut() -> String,
    load: bool,
) -> Option<DmaCode> {
    let (tile_name, tile) = (region.name, region.access);
    let (hbm_name, shape, hbm) = (window.name, window.shape, window.access);
    let walk = decompose(shape, &hbm.offset, &hbm.pattern, loops)?;
    let tile_dims: Vec<(usize, usize)> = std::iter::once(tile.partitions)
        .chain(tile.free.iter().map(|&(_, n)| n))
        .enumerate()
        .filter(|&(_, n)| n > 1)
        .collect();
    let hbm_dims: Vec<WalkDim> = walk.dims.iter().filter(|w| w.count > 1).cloned().collect();
    let refined = refine(&tile_dims, &hbm_dims)?;
    let rank = tile.free.len() + 1;
    // Helper loop variables get ids past any the kernel uses.
    let mut vars = vars.clone();
    let mut next_id = u32::MAX / 2;
    let mut loop_lines = Vec::new();
    let mut tile_starts: Vec<Affine> =
        std::iter::once(tile.partition_start.clone()).chain(tile.free.iter().map(|(s, _)| s.clone())).collect();
    let mut tile_counts = vec![1usize; rank];
    let mut hbm_starts = walk.starts.clone();
    // (tile axis, walk dim) of every indexed dimension.
    let mut indexed: Vec<(usize, WalkDim)> = Vec::new();
    for r in &refined {
        if r.tile_step == 1 {
            tile_counts[r.tile_dim] = r.hbm.count;
            indexed.push((r.tile_dim, r.hbm.clone()));
            continue;
        }
        let name = fresh();
        let v = LoopVar(next_id);
        next_id += 1;
        vars.insert(v.0, name.clone());
        loop_lines.push(format!("for {name} in nl.affine_range({}):", r.hbm.count));
        tile_starts[r.tile_dim] = tile_starts[r.tile_dim].clone().plus(&Affine::var(v, r.tile_step));
        if let Some(j) = r.hbm.dim {
            hbm_starts[j] = hbm_starts[j].clone().plus(&Affine::var(v, r.hbm.step));
        }
    }
    // The axes of the common shape: the partitions, then every tile
    // dimension with an indexed walk. Other tile dimensions (size 1) are
    // fixed by an integer, so a `[64, 1, 48]` region and a `[64, 48]`
    // window meet as `t[nl.arange(64)[:, None], 0, nl.arange(48)[None, :]]`
    // and `w[0:64, 0:48]`.
    let mut grid: Vec<usize> = (0..rank).filter(|&d| d == 0 || indexed.iter().any(|(t, _)| *t == d)).collect();
    if grid.len() < 2 && rank >= 2 {
        // Index grids are at least 2-D (a 1-D arange is not an index).
        grid.push(1);
    }
    let axis_of = |d: usize| grid.iter().position(|&g| g == d).unwrap_or(0);
    let indexed: Vec<(usize, WalkDim)> = indexed.into_iter().map(|(t, w)| (axis_of(t), w)).collect();
    let tile_subs: Vec<String> = if grid.len() == rank {
        tile_starts.iter().zip(&tile_counts).map(|(s, &n)| py::slice(s, n, &vars)).collect()
    } else {
        (0..rank)
            .map(|d| match grid.contains(&d) {
                true => with_arange(&py::affine(&tile_starts[d], &vars), tile_counts[d], axis_of(d), grid.len()),
                false => py::affine(&tile_starts[d], &vars),
            })
            .collect()
    };
    let tile_view = format!("{tile_name}[{}]", tile_subs.join(", "));
    let hbm_view = match basic(&hbm_starts, &indexed, grid.len()) {
        Some(subs) => format!("{hbm_name}[{}]", render_basic(&subs, &vars)),
        None if shape.is_empty() => hbm_name.to_string(),
        None => format!("{hbm_name}[{}]", advanced(&hbm_starts, &indexed, grid.len(), &vars).join(", ")),
    };
    let statement = if load {
        format!("{tile_view} = nl.load({hbm_view})")
    } else {
        format!("nl.store({hbm_view}, value={tile_view})")
    };
    Some(DmaCode { loops: loop_lines, statement })
}

/// Pairs the tile's and the window's dimensions (count > 1, outermost
/// first) into common walk dimensions, splitting the coarser side.
fn refine(tile: &[(usize, usize)], hbm: &[WalkDim]) -> Option<Vec<Refined>> {
    let mut t: Vec<(usize, i64, usize)> = tile.iter().map(|&(d, n)| (d, 1, n)).collect();
    let mut h: Vec<WalkDim> = hbm.to_vec();
    let mut out = Vec::new();
    while let (Some(&(td, ts, tn)), Some(hw)) = (t.last(), h.last().cloned()) {
        let n = tn.min(hw.count);
        if n == 0 || tn % n != 0 || hw.count % n != 0 {
            return None;
        }
        out.push(Refined { tile_dim: td, tile_step: ts, hbm: WalkDim { count: n, ..hw.clone() } });
        t.pop();
        h.pop();
        if tn > n {
            t.push((td, ts * n as i64, tn / n));
        }
        if hw.count > n {
            h.push(WalkDim { dim: hw.dim, step: hw.step * n as i64, count: hw.count / n });
        }
    }
    if !t.is_empty() || !h.is_empty() {
        return None;
    }
    out.reverse();
    Some(out)
}

enum Sub {
    Index(Affine),
    Range(Affine, usize),
}

/// Slices and integers, when they give exactly the tile view's shape:
/// every tile axis indexed, each by one unit-step walk along its own
/// tensor dimension, in tensor order.
fn basic(starts: &[Affine], indexed: &[(usize, WalkDim)], rank: usize) -> Option<Vec<Sub>> {
    // One element: integers would give a scalar where the tile view is
    // [1, 1]; slices of one keep the shapes equal, as a store needs.
    if indexed.is_empty() && starts.len() >= rank {
        let lead = starts.len() - rank;
        let sub = |(j, s): (usize, &Affine)| if j < lead { Sub::Index(s.clone()) } else { Sub::Range(s.clone(), 1) };
        return Some(starts.iter().enumerate().map(sub).collect());
    }
    if indexed.len() != rank || starts.is_empty() {
        return None;
    }
    let mut subs: Vec<Sub> = starts.iter().map(|s| Sub::Index(s.clone())).collect();
    let mut last = None;
    for (axis, (tile_axis, w)) in indexed.iter().enumerate() {
        let j = w.dim?;
        if *tile_axis != axis || w.step != 1 || last.is_some_and(|l| l >= j) {
            return None;
        }
        last = Some(j);
        subs[j] = Sub::Range(starts[j].clone(), w.count);
    }
    Some(subs)
}

fn render_basic(subs: &[Sub], vars: &VarNames) -> String {
    subs.iter()
        .map(|s| match s {
            Sub::Index(a) => py::affine(a, vars),
            Sub::Range(a, n) => py::slice(a, *n, vars),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Per tensor dimension: start + Σ step · `nl.arange(n)` on its tile axis.
/// Broadcast walks have no arange: the loaded tile has size 1 there and
/// broadcasts into the tile view (nki-api.md §3).
fn advanced(starts: &[Affine], indexed: &[(usize, WalkDim)], rank: usize, vars: &VarNames) -> Vec<String> {
    starts
        .iter()
        .enumerate()
        .map(|(j, start)| {
            let mut parts = Vec::new();
            for (axis, w) in indexed.iter().filter(|(_, w)| w.dim == Some(j)) {
                let ar = arange(w.count, *axis, rank);
                parts.push(match w.step {
                    1 => ar,
                    -1 => format!("-{ar}"),
                    s => format!("{s} * {ar}"),
                });
            }
            let base = py::affine(start, vars);
            if parts.is_empty() {
                return base;
            }
            let mut s = if base == "0" { String::new() } else { format!("{base} + ") };
            s.push_str(&parts.join(" + "));
            s.replace("+ -", "- ")
        })
        .collect()
}

/// `base + nl.arange(n)` on `axis` (just the arange when base is 0).
fn with_arange(base: &str, n: usize, axis: usize, rank: usize) -> String {
    let ar = arange(n, axis, rank);
    if base == "0" {
        ar
    } else {
        format!("{base} + {ar}")
    }
}

/// `nl.arange(n)` placed on `axis` of a `rank`-dimensional index grid:
/// `nl.arange(8)[:, None]`, `nl.arange(8)[None, :]`.
pub fn arange(n: usize, axis: usize, rank: usize) -> String {
    let subs: Vec<&str> = (0..rank).map(|d| if d == axis { ":" } else { "None" }).collect();
    format!("nl.arange({n})[{}]", subs.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use trnc_ir::kernel::{HbmId, TileId};

    fn region(p: usize, f: usize) -> TileAccess {
        TileAccess {
            tile: TileId(0),
            partition_start: Affine::constant(0),
            partitions: p,
            free: vec![(Affine::constant(0), f)],
        }
    }

    fn code(shape: &[usize], tile: TileAccess, offset: i64, pattern: &[(i64, usize)]) -> Option<DmaCode> {
        let hbm = HbmAccess { tensor: HbmId(0), offset: Affine::constant(offset), pattern: pattern.to_vec() };
        let mut n = 0;
        let mut fresh = || {
            n += 1;
            format!("j{}", n - 1)
        };
        let region = Region { name: "t", access: &tile };
        let window = Window { name: "x", shape, access: &hbm };
        dma(region, window, &LoopBounds::new(), &VarNames::new(), &mut fresh, true)
    }

    #[test]
    fn plain_rows_are_slices() {
        let c = code(&[8, 64], region(8, 64), 0, &[(64, 8), (1, 64)]).unwrap();
        assert_eq!(c.statement, "t[0:8, 0:64] = nl.load(x[0:8, 0:64])");
    }

    #[test]
    fn a_transposed_read_uses_arange_on_the_tile_axes() {
        let c = code(&[8, 32], region(32, 8), 0, &[(1, 32), (32, 8)]).unwrap();
        assert_eq!(c.statement, "t[0:32, 0:8] = nl.load(x[nl.arange(8)[None, :], nl.arange(32)[:, None]])");
    }

    #[test]
    fn a_partition_broadcast_loads_one_row() {
        let c = code(&[64], region(8, 64), 0, &[(0, 8), (1, 64)]).unwrap();
        assert_eq!(c.statement, "t[0:8, 0:64] = nl.load(x[nl.arange(64)[None, :]])");
    }

    #[test]
    fn rows_across_batches_loop_over_the_batch() {
        let c = code(&[2, 16, 64], region(32, 64), 0, &[(64, 32), (1, 64)]).unwrap();
        assert_eq!(c.loops, vec!["for j0 in nl.affine_range(2):"]);
        assert_eq!(c.statement, "t[16 * j0:16 * j0 + 16, 0:64] = nl.load(x[j0, 0:16, 0:64])");
    }

    #[test]
    fn one_element_is_a_slice_of_one_on_both_sides() {
        let c = code(&[3, 1, 1], region(1, 1), 2, &[(1, 1), (1, 1)]).unwrap();
        assert_eq!(c.statement, "t[0:1, 0:1] = nl.load(x[2, 0:1, 0:1])");
    }
}
