//! Row sections: softmax, log_softmax, layer_norm, rms_norm and reductions
//! with their elementwise prologue and epilogue.
//!
//! Rows (the kept axes) go on the partitions, 128 per tile with a tail
//! tile; the reduced axes go on the free axis. The axes need not be the
//! trailing ones: the access patterns read any axis order (a reduction
//! over leading axes is the same kernel with transposed, slower, DMA
//! patterns).
//!
//! Resident mode keeps a whole row in SBUF: one pass over HBM. Rows too
//! long for SBUF (`Target::sbuf_bytes_per_partition`, trainium.md §1.1) are
//! chunked: per anchor, a pass over the row's chunks gathers statistics,
//! then a final pass recomputes what the outputs need and writes them —
//! two passes over HBM for one anchor.

use crate::anchors;
use crate::body::{tile_ctx, Body, Target};
use crate::builder::Builder;
use crate::error::LowerError;
use crate::group::GroupInfo;
use crate::section::{is_row_anchor, Kind, Opd, SectionPlan};
use crate::space::{Port, Space};
use crate::tiling::{split, walk_range, Piece};
use trnc_ir::kernel::Affine;
use trnc_ir::target::PARTITIONS;

const MAX_FREE_DIMS: usize = 4;
/// Compute engines read at most 64 Ki elements per partition from SBUF
/// (trainium.md §1.4): the longest resident row.
pub(crate) const MAX_RESIDENT_ROW: usize = 64 * 1024;
const BN_STATS_FMAX: usize = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RowMode {
    Resident,
    /// Chunks of at most this many elements per partition.
    Chunked(usize),
}

/// The space of a section with kept axes first (`kept` of them, at least
/// one) and reduced axes after, each group simplified on its own.
pub(crate) struct RowSpace {
    pub space: Space,
    pub kept: usize,
}

impl RowSpace {
    pub fn new(plan: &SectionPlan) -> RowSpace {
        let mut full = Space::new(&plan.m);
        for p in &plan.ports {
            full.add_port(&p.view);
        }
        let kept: Vec<usize> = (0..plan.m.len()).filter(|&a| !plan.reduced[a]).collect();
        let red: Vec<usize> = (0..plan.m.len()).filter(|&a| plan.reduced[a]).collect();
        let mut ks = full.select(&kept).simplified();
        if ks.extents.is_empty() {
            ks = ks.insert_unit(0);
        }
        let rs = full.select(&red).simplified();
        let space = Space {
            extents: ks.extents.iter().chain(&rs.extents).copied().collect(),
            ports: ks
                .ports
                .iter()
                .zip(&rs.ports)
                .map(|(k, r)| Port { offset: k.offset, strides: k.strides.iter().chain(&r.strides).copied().collect() })
                .collect(),
        };
        RowSpace { kept: ks.extents.len(), space }
    }

    pub fn rows(&self) -> usize {
        self.space.extents[..self.kept].iter().product()
    }

    /// Elements of one row.
    pub fn row_len(&self) -> usize {
        self.space.extents[self.kept..].iter().product()
    }

    fn reduced_dims(&self) -> Vec<usize> {
        (self.kept..self.space.extents.len()).collect()
    }
}

/// How chunks cover a row: reduced dims before `t` are loops, dim `t` is
/// cut into pieces of `ct`, the dims after it are whole.
struct Chunks {
    t: usize,
    pieces: Vec<Piece>,
    inner: usize,
    /// bn_stats slots per full piece, per tail piece, per row.
    per_piece: Vec<usize>,
    per_row: usize,
}

impl Chunks {
    fn new(rs: &RowSpace, chunk: usize) -> Chunks {
        let red = rs.reduced_dims();
        let ext = |d: usize| rs.space.extents[d];
        let mut t = 0;
        while t + 1 < red.len() && red[t + 1..].iter().map(|&d| ext(d)).product::<usize>() > chunk {
            t += 1;
        }
        let inner: usize = red.get(t + 1..).map_or(1, |r| r.iter().map(|&d| ext(d)).product());
        let ct = (chunk / inner.max(1)).max(1);
        let pieces = red.get(t).map_or_else(|| vec![Piece { start: 0, size: 1, count: 1 }], |&d| split(ext(d), ct));
        let per_piece: Vec<usize> = pieces.iter().map(|p| (p.size * inner).div_ceil(BN_STATS_FMAX)).collect();
        let per_dim_t: usize = pieces.iter().zip(&per_piece).map(|(p, s)| p.count * s).sum();
        let outer: usize = red.get(..t).map_or(1, |r| r.iter().map(|&d| ext(d)).product());
        Chunks { t, pieces, inner, per_piece, per_row: per_dim_t * outer }
    }

    fn width(&self) -> usize {
        self.pieces.iter().map(|p| p.size).max().unwrap_or(1) * self.inner
    }
}

/// Free size of the tiles a section needs in `mode`.
pub(crate) fn tile_width(rs: &RowSpace, mode: RowMode) -> usize {
    match mode {
        RowMode::Resident => rs.row_len().max(1),
        RowMode::Chunked(c) => Chunks::new(rs, c).width().max(1),
    }
}

pub(crate) fn emit(b: &mut Builder, info: &GroupInfo, plan: &SectionPlan, mode: RowMode) -> Result<(), LowerError> {
    let rs = RowSpace::new(plan);
    if rs.rows() == 0 {
        return Ok(());
    }
    if rs.row_len() == 0 {
        return Err(info.group_err("a reduction over an empty axis (no elements per row) is not lowered"));
    }
    let red = rs.reduced_dims();
    let chunks = Chunks::new(
        &rs,
        match mode {
            RowMode::Resident => usize::MAX,
            RowMode::Chunked(c) => c,
        },
    );
    let free_dims = match mode {
        RowMode::Resident => red.len(),
        RowMode::Chunked(_) => red.len().saturating_sub(chunks.t),
    };
    if free_dims > MAX_FREE_DIMS {
        return Err(info.group_err(format!(
            "a row spans {} reduced dimensions that cannot be merged; an access pattern has at most {MAX_FREE_DIMS} free dimensions (trainium.md §1.5)",
            free_dims
        )));
    }
    let part = rs.kept - 1;
    let part_tile = rs.space.extents[part].min(PARTITIONS);
    let width = tile_width(&rs, mode);
    let row_ctx = tile_ctx(&rs.space, &vec![Affine::constant(0); rs.space.extents.len()], (part, part_tile), &[]);
    let mut body = Body::new(info, plan, vec![part_tile, width], mode == RowMode::Resident, row_ctx);
    body.bn_slots = chunks.per_row;
    if mode == RowMode::Resident {
        // Inputs that do not vary with the row (a norm's scale and bias)
        // are loaded once for all row tiles.
        let zeros = vec![Affine::constant(0); rs.space.extents.len()];
        let free: Vec<(usize, usize)> = red.iter().map(|&d| (d, rs.space.extents[d])).collect();
        let ctx = tile_ctx(&rs.space, &zeros, (part, part_tile), &free);
        let space = &rs.space;
        body.hoist(b, ctx, |p| space.ports[p].strides[..rs.kept].iter().all(|&st| st == 0))?;
    }
    let mut index = Vec::new();
    let r = row_loops(b, &mut body, &rs, &chunks, mode, &mut index);
    body.release_hoisted(b);
    r
}

fn row_loops(
    b: &mut Builder,
    body: &mut Body,
    rs: &RowSpace,
    chunks: &Chunks,
    mode: RowMode,
    index: &mut Vec<Affine>,
) -> Result<(), LowerError> {
    let d = index.len();
    let part = rs.kept - 1;
    if d < part {
        return walk_range(b, rs.space.extents[d], |b, i| {
            index.push(i);
            let r = row_loops(b, body, rs, chunks, mode, index);
            index.pop();
            r
        });
    }
    for piece in split(rs.space.extents[part], PARTITIONS) {
        crate::tiling::walk_piece(b, piece, |b, start, size| {
            let mut at = index.clone();
            at.push(start);
            at.extend(rs.reduced_dims().iter().map(|_| Affine::constant(0)));
            let row_ctx = tile_ctx(&rs.space, &at, (part, size), &[]);
            body.set_row_ctx(row_ctx);
            let r = match mode {
                RowMode::Resident => resident_row(b, body, rs, &at, size),
                RowMode::Chunked(_) => chunked_row(b, body, rs, chunks, &at, size),
            };
            body.end_row(b);
            r
        })?;
    }
    Ok(())
}

fn resident_row(
    b: &mut Builder,
    body: &mut Body,
    rs: &RowSpace,
    at: &[Affine],
    parts: usize,
) -> Result<(), LowerError> {
    let plan = body.plan;
    let free: Vec<(usize, usize)> = rs.reduced_dims().iter().map(|&d| (d, rs.space.extents[d])).collect();
    let ctx = tile_ctx(&rs.space, at, (rs.kept - 1, parts), &free);
    let mut targets = Vec::new();
    for &n in &plan.nodes {
        if is_row_anchor(body.op(n)) {
            targets.push(Target::Value(n));
        }
        if plan.stores.iter().any(|&(m, _)| m == n) {
            targets.push(Target::Store(n));
        }
    }
    body.begin_chunk(ctx, &targets);
    let r = body.run_targets(b, &targets);
    body.end_chunk(b);
    r
}

/// Long rows: one statistics pass per anchor, then the output pass.
fn chunked_row(
    b: &mut Builder,
    body: &mut Body,
    rs: &RowSpace,
    chunks: &Chunks,
    at: &[Affine],
    parts: usize,
) -> Result<(), LowerError> {
    let plan = body.plan;
    let row_ctx = body.ctx.clone();
    let mut done = vec![false; body.info.g.nodes.len()];
    row_level(b, body, &mut done)?;
    for phase in stats_phases(plan) {
        for &a in &phase {
            anchors::init(body, b, a)?;
        }
        let targets: Vec<Target> = phase.iter().map(|&a| Target::Stats(a)).collect();
        walk_chunks(b, body, rs, chunks, at, parts, &targets)?;
        body.set_row_ctx(row_ctx.clone());
        for &a in &phase {
            anchors::finalize(body, b, a)?;
        }
        row_level(b, body, &mut done)?;
    }
    let full: Vec<Target> =
        plan.stores.iter().filter(|&&(n, _)| body.kind(n) == Kind::Full).map(|&(n, _)| Target::Store(n)).collect();
    if !full.is_empty() {
        walk_chunks(b, body, rs, chunks, at, parts, &full)?;
    }
    body.set_row_ctx(row_ctx);
    Ok(())
}

/// Anchors grouped into statistics passes: an anchor joins the current
/// pass unless its input depends on an anchor of that pass, so independent
/// anchors (a layer_norm and a mean of the same rows) share one pass over
/// HBM.
fn stats_phases(plan: &SectionPlan) -> Vec<Vec<usize>> {
    let mut phases: Vec<Vec<usize>> = Vec::new();
    for &a in &plan.anchors {
        let deps = depends_on(plan, a);
        match phases.last_mut() {
            Some(cur) if !cur.iter().any(|c| deps.contains(c)) => cur.push(a),
            _ => phases.push(vec![a]),
        }
    }
    phases
}

/// The nodes of the section that `n`'s operands depend on.
fn depends_on(plan: &SectionPlan, n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack: Vec<usize> = vec![n];
    while let Some(i) = stack.pop() {
        for o in plan.operands.get(&i).map_or(&[][..], |v| v.as_slice()) {
            if let Opd::Node(j) = o {
                if !out.contains(j) {
                    out.push(*j);
                    stack.push(*j);
                }
            }
        }
    }
    out
}

/// Computes (outside the chunk loops) every per-row value whose inputs are
/// ready, and writes those that are outputs.
fn row_level(b: &mut Builder, body: &mut Body, done: &mut [bool]) -> Result<(), LowerError> {
    let plan = body.plan;
    for &n in &plan.nodes {
        if done[n] || body.kind(n) != Kind::Row {
            continue;
        }
        let ready = if is_row_anchor(body.op(n)) {
            body.anchors.get(&n).is_some_and(|s| s.is_finalized())
        } else {
            plan.operands[&n].iter().all(|o| match o {
                Opd::Node(j) => done[*j],
                _ => true,
            })
        };
        if !ready {
            continue;
        }
        body.get(b, &Opd::Node(n))?;
        done[n] = true;
        if plan.stores.iter().any(|&(m, _)| m == n) {
            body.store(b, n)?;
        }
    }
    Ok(())
}

/// Walks the chunks of the current row tile, emitting a body producing
/// `targets` for each, with the chunk's bn_stats slot set.
fn walk_chunks(
    b: &mut Builder,
    body: &mut Body,
    rs: &RowSpace,
    chunks: &Chunks,
    at: &[Affine],
    parts: usize,
    targets: &[Target],
) -> Result<(), LowerError> {
    let red = rs.reduced_dims();
    let mut index: Vec<Affine> = at[..rs.kept].to_vec();
    chunk_loops(b, body, rs, chunks, &red, parts, targets, &mut index, Affine::constant(0))
}

#[allow(clippy::too_many_arguments)]
fn chunk_loops(
    b: &mut Builder,
    body: &mut Body,
    rs: &RowSpace,
    chunks: &Chunks,
    red: &[usize],
    parts: usize,
    targets: &[Target],
    index: &mut Vec<Affine>,
    slot: Affine,
) -> Result<(), LowerError> {
    let k = index.len() - rs.kept;
    if k < chunks.t {
        // A whole reduced dim as a loop: each step covers the rest of the row.
        let per_step: usize = red[k + 1..chunks.t].iter().map(|&d| rs.space.extents[d]).product::<usize>()
            * chunks.pieces.iter().zip(&chunks.per_piece).map(|(p, s)| p.count * s).sum::<usize>();
        return walk_range(b, rs.space.extents[red[k]], |b, i| {
            index.push(i.clone());
            let s = slot.clone().plus(&crate::tiling::scale(&i, per_step as i64));
            let r = chunk_loops(b, body, rs, chunks, red, parts, targets, index, s);
            index.pop();
            r
        });
    }
    let mut slot_base = slot;
    for (piece, &spp) in chunks.pieces.iter().zip(&chunks.per_piece) {
        let (start, piece_slot, opened) = if piece.count > 1 {
            let var = b.open_loop(piece.count);
            let start = Affine::var(var, piece.size as i64).offset(piece.start as i64);
            (start, slot_base.clone().plus(&Affine::var(var, spp as i64)), true)
        } else {
            (Affine::constant(piece.start as i64), slot_base.clone(), false)
        };
        let mut at = index.clone();
        let mut free = Vec::new();
        if let Some(&dt) = red.get(chunks.t) {
            at.push(start);
            free.push((dt, piece.size));
            for &d in &red[chunks.t + 1..] {
                at.push(Affine::constant(0));
                free.push((d, rs.space.extents[d]));
            }
        }
        let ctx = tile_ctx(&rs.space, &at, (rs.kept - 1, parts), &free);
        body.bn_slot = piece_slot;
        body.begin_chunk(ctx, targets);
        let r = body.run_targets(b, targets);
        body.end_chunk(b);
        if opened {
            b.close_loop();
        }
        r?;
        slot_base = slot_base.offset((piece.count * spp) as i64);
    }
    Ok(())
}
