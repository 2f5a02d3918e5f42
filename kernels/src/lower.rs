//! Elementwise and row groups: which sections a group needs, how each is
//! laid out, and the SBUF budget.
//!
//! Every output is computed in one section: the row section of the row
//! anchors it depends on, or — for values that depend on no anchor — the
//! row section whose space has exactly its shape (it is a prologue value
//! there anyway), else an elementwise pass over its own shape. Values that
//! two sections need are computed in both (recomputing elementwise work is
//! cheaper than a round trip through HBM).
//!
//! Tile sizes are chosen by emitting the kernel and measuring it: tiles are
//! allocated statically, so the kernel's SBUF bytes per partition are known
//! exactly; the largest layout that fits `Target::sbuf_bytes_per_partition`
//! (trainium.md §1.1) wins.

use crate::body::{Body, Target as BodyTarget, TileCtx};
use crate::builder::Builder;
use crate::elementwise::{emit_segment, segments};
use crate::error::LowerError;
use crate::group::{GroupInfo, Source};
use crate::row::{self, RowMode, RowSpace, MAX_RESIDENT_ROW};
use crate::section::{self, is_row_anchor, reduced_axes, SectionPlan};
use crate::space::Space;
use trnc_ir::kernel::{HbmTensor, Kernel};
use trnc_ir::target::PARTITIONS;
use trnc_ir::{Target, ValueId};

/// Elementwise passes stream this many elements per partition per DMA at
/// most: 8 KiB of f32, past the 2–4 KiB that saturate DMA (trainium.md §1.6).
const STREAM_CHUNK: usize = 2048;
/// Long rows are cut into chunks of at most this many elements.
const ROW_CHUNK: usize = 8192;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Stream(usize),
    Row(RowMode),
}

/// A row layout: the anchor's input shape and which of its axes it reduces.
type Signature = (Vec<usize>, Vec<bool>);

struct SectionDef {
    m: Vec<usize>,
    reduced: Vec<bool>,
    targets: Vec<ValueId>,
}

pub(crate) fn lower(info: &GroupInfo, target: Target, stream_chunk: Option<usize>) -> Result<Kernel, LowerError> {
    let defs = section_defs(info)?;
    let plans: Vec<SectionPlan> =
        defs.iter().map(|d| section::plan(info, &d.m, &d.reduced, &d.targets)).collect::<Result<_, _>>()?;
    lower_plans(info, &plans, target, stream_chunk)
}

/// The kernel running `plans` one after the other, each with the largest
/// layout that fits SBUF; elementwise passes stream at most `stream_chunk`
/// elements per partition (the caller's choice, else `STREAM_CHUNK`).
pub(crate) fn lower_plans(
    info: &GroupInfo,
    plans: &[SectionPlan],
    target: Target,
    stream_chunk: Option<usize>,
) -> Result<Kernel, LowerError> {
    let budget = target.sbuf_bytes_per_partition();
    let mut share = budget;
    loop {
        let modes: Vec<Mode> =
            plans.iter().map(|p| choose_mode(info, p, share, stream_chunk)).collect::<Result<_, _>>()?;
        let k = emit_kernel(info, plans, &modes)?;
        let used = k.sbuf_bytes_per_partition();
        if used <= budget {
            return Ok(k);
        }
        // Sections do not share tiles of different shapes: give each a
        // smaller share and try again.
        if share < 1024 {
            return Err(info
                .group_err(format!("needs {used} B of SBUF per partition; {target} has {budget} (trainium.md §1.1)")));
        }
        share /= 2;
    }
}

/// The largest layout of one section that fits `budget` bytes per partition.
fn choose_mode(
    info: &GroupInfo,
    plan: &SectionPlan,
    budget: usize,
    stream_chunk: Option<usize>,
) -> Result<Mode, LowerError> {
    let fits = |mode: Mode| -> Result<bool, LowerError> {
        Ok(emit_kernel(info, std::slice::from_ref(plan), &[mode])?.sbuf_bytes_per_partition() <= budget)
    };
    if !plan.reduced.iter().any(|&r| r) {
        let mut chunk = stream_chunk.unwrap_or(STREAM_CHUNK).clamp(1, STREAM_CHUNK);
        while chunk > 1 && !fits(Mode::Stream(chunk))? {
            chunk /= 2;
        }
        return Ok(Mode::Stream(chunk));
    }
    let len = RowSpace::new(plan).row_len();
    if len <= MAX_RESIDENT_ROW && fits(Mode::Row(RowMode::Resident))? {
        return Ok(Mode::Row(RowMode::Resident));
    }
    let mut chunk = ROW_CHUNK.min(len.next_power_of_two());
    loop {
        let mode = Mode::Row(RowMode::Chunked(chunk));
        if chunk == 1 || fits(mode)? {
            return Ok(mode);
        }
        chunk /= 2;
    }
}

fn emit_kernel(info: &GroupInfo, plans: &[SectionPlan], modes: &[Mode]) -> Result<Kernel, LowerError> {
    let hbm =
        |v: &ValueId| HbmTensor { name: info.g.name_of(*v).to_string(), dtype: info.dtype(*v), shape: info.shape(*v) };
    let origin = info.nodes.iter().map(|&i| info.describe(i)).collect();
    let mut b =
        Builder::new(&info.name, info.inputs.iter().map(hbm).collect(), info.outputs.iter().map(hbm).collect(), origin);
    for (plan, mode) in plans.iter().zip(modes) {
        match *mode {
            Mode::Stream(chunk) => stream(&mut b, info, plan, chunk)?,
            Mode::Row(m) => row::emit(&mut b, info, plan, m)?,
        }
    }
    Ok(b.finish())
}

/// An elementwise pass over `plan.m`.
fn stream(b: &mut Builder, info: &GroupInfo, plan: &SectionPlan, chunk: usize) -> Result<(), LowerError> {
    let mut space = Space::new(&plan.m);
    for p in &plan.ports {
        space.add_port(&p.view);
    }
    let segs = segments(&space.simplified(), chunk);
    let parts = segs.iter().map(|s| s.rows().min(PARTITIONS)).max().unwrap_or(1);
    let width = segs.iter().map(|s| s.width()).max().unwrap_or(1);
    let ctx = TileCtx { parts, width, ports: Vec::new() };
    let mut body = Body::new(info, plan, vec![parts, width], true, ctx);
    let targets: Vec<BodyTarget> = plan
        .stores
        .iter()
        .map(|&(n, _)| BodyTarget::Store(n))
        .chain(plan.copies.iter().map(|&(from, to)| BodyTarget::Copy(from, to)))
        .collect();
    for seg in &segs {
        emit_segment(b, &mut body, seg, &targets)?;
    }
    Ok(())
}

/// (M, reduced axes) of a row anchor.
fn signature(info: &GroupInfo, a: usize) -> Signature {
    let n = &info.g.nodes[a];
    let m = info.shape(n.inputs[0]);
    let axes = reduced_axes(&n.op, m.len());
    let reduced = (0..m.len()).map(|d| axes.contains(&d)).collect();
    (m, reduced)
}

fn section_defs(info: &GroupInfo) -> Result<Vec<SectionDef>, LowerError> {
    let g = info.g;
    let mut defs: Vec<SectionDef> = Vec::new();
    // Row sections first, one per distinct anchor signature.
    for &i in &info.nodes {
        if is_row_anchor(&g.nodes[i].op) {
            if let trnc_ir::Op::Reduce { axes, .. } = &g.nodes[i].op {
                if axes.is_empty() {
                    return Err(info.node_err(i, "a reduction over no axes is an identity; canonicalize it away first"));
                }
            }
            let (m, reduced) = signature(info, i);
            if !defs.iter().any(|d| d.m == m && d.reduced == reduced) {
                defs.push(SectionDef { m, reduced, targets: Vec::new() });
            }
        }
    }
    let rows = defs.len();
    for &v in info.outputs {
        let sigs = anchor_signatures(info, v)?;
        let k = match sigs.as_slice() {
            [] => {
                let shape = info.shape(v);
                match defs[..rows].iter().position(|d| d.m == shape) {
                    Some(k) => k,
                    None => match defs[rows..].iter().position(|d| d.m == shape) {
                        Some(k) => rows + k,
                        None => {
                            defs.push(SectionDef { reduced: vec![false; shape.len()], m: shape, targets: Vec::new() });
                            defs.len() - 1
                        }
                    },
                }
            }
            [s] => defs.iter().position(|d| d.m == s.0 && d.reduced == s.1).unwrap_or(0),
            [a, b, ..] => {
                return Err(info.group_err(format!(
                    "output %{} depends on reductions over different rows ({:?} reducing {:?} and {:?} reducing {:?}); a per-row value cannot move between row layouts on chip",
                    g.name_of(v),
                    a.0,
                    axes_of(&a.1),
                    b.0,
                    axes_of(&b.1)
                )))
            }
        };
        defs[k].targets.push(v);
    }
    defs.retain(|d| !d.targets.is_empty());
    Ok(defs)
}

fn axes_of(reduced: &[bool]) -> Vec<usize> {
    (0..reduced.len()).filter(|&a| reduced[a]).collect()
}

/// The distinct signatures of the row anchors that `v` depends on.
fn anchor_signatures(info: &GroupInfo, v: ValueId) -> Result<Vec<Signature>, LowerError> {
    let g = info.g;
    let mut out: Vec<Signature> = Vec::new();
    let mut seen = vec![false; g.nodes.len()];
    let mut stack: Vec<usize> = info.producer(v).into_iter().collect();
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        if is_row_anchor(&g.nodes[i].op) {
            let s = signature(info, i);
            if !out.contains(&s) {
                out.push(s);
            }
        }
        for &u in &g.nodes[i].inputs {
            if let Source::Node(j) = info.resolve(i, u)?.source {
                stack.push(j);
            }
        }
    }
    Ok(out)
}
