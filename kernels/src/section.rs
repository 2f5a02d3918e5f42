//! A section: the part of a kernel that runs over one iteration space.
//!
//! The space is a shape M: the anchor's input for a row section (some axes
//! reduced), or the output's shape for an elementwise pass (none reduced).
//! Every value computed in the section is either *full* (one element per
//! point of M, a tile of rows × free elements) or *per row* (one element per
//! row — the kept axes — a `(P, 1)` column): reductions give per-row values,
//! elementwise ops on per-row values stay per row, everything else is full.
//!
//! Each read of an operand is checked against the layout its source has on
//! chip: reading a value through a view that moves its elements (a
//! transpose of a computed value, say) cannot be done by addressing a tile,
//! and is reported rather than computed wrongly.

use std::collections::HashMap;

use crate::error::LowerError;
use crate::group::{GroupInfo, Source};
use crate::view::StridedView;
use trnc_ir::{Op, ValueId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Full,
    /// One value per row (a column on chip).
    Row,
}

/// How a value's own shape sits inside M.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Embed {
    /// Numpy broadcasting (right-aligned).
    Broadcast,
    /// The value's shape is M's kept axes (a reduction without keep_dims).
    KeptOnly,
}

/// An operand as the section reads it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Opd {
    Imm(f64),
    /// An HBM access pattern (index into `ports`).
    Port(usize),
    /// A node of the section.
    Node(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HbmRef {
    Input(usize),
    Output(usize),
}

/// An HBM tensor seen in M's coordinates.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PortSpec {
    pub hbm: HbmRef,
    pub view: StridedView,
}

pub(crate) struct SectionPlan {
    pub m: Vec<usize>,
    pub reduced: Vec<bool>,
    /// Nodes computed in the section, in graph order.
    pub nodes: Vec<usize>,
    pub kind: HashMap<usize, Kind>,
    pub operands: HashMap<usize, Vec<Opd>>,
    pub ports: Vec<PortSpec>,
    /// Values the section writes: (node, port).
    pub stores: Vec<(usize, usize)>,
    /// Row anchors (reductions, softmax, norms), in graph order.
    pub anchors: Vec<usize>,
    /// Plain copies from one port to another (concat): (from, to).
    pub copies: Vec<(usize, usize)>,
}

/// True for the ops that reduce over trailing (or any) axes of a row.
pub(crate) fn is_row_anchor(op: &Op) -> bool {
    matches!(
        op,
        Op::Softmax { .. } | Op::LogSoftmax { .. } | Op::LayerNorm { .. } | Op::RmsNorm { .. } | Op::Reduce { .. }
    )
}

/// The reduced axes of a row anchor whose input has `rank` axes.
pub(crate) fn reduced_axes(op: &Op, rank: usize) -> Vec<usize> {
    match op {
        Op::Softmax { axis } | Op::LogSoftmax { axis } => vec![*axis],
        Op::LayerNorm { axis, .. } | Op::RmsNorm { axis, .. } => (*axis..rank).collect(),
        Op::Reduce { axes, .. } => axes.clone(),
        _ => Vec::new(),
    }
}

fn strip_leading_ones(s: &[usize]) -> &[usize] {
    let k = s.iter().position(|&n| n != 1).unwrap_or(s.len());
    &s[k..]
}

struct Planner<'i, 'a> {
    info: &'i GroupInfo<'a>,
    m: Vec<usize>,
    reduced: Vec<bool>,
    kind: HashMap<usize, Kind>,
    embed: HashMap<usize, Embed>,
    ports: Vec<PortSpec>,
}

impl Planner<'_, '_> {
    fn has_reduced(&self) -> bool {
        self.reduced.iter().any(|&r| r)
    }

    /// How a per-row value of shape `s` sits in M, if it is one.
    fn row_embed(&self, s: &[usize]) -> Option<Embed> {
        if !self.has_reduced() {
            return None;
        }
        let keep: Vec<usize> = self.m.iter().zip(&self.reduced).map(|(&n, &r)| if r { 1 } else { n }).collect();
        let kept: Vec<usize> = self.m.iter().zip(&self.reduced).filter(|(_, &r)| !r).map(|(&n, _)| n).collect();
        let s = strip_leading_ones(s);
        if s == strip_leading_ones(&keep) {
            Some(Embed::Broadcast)
        } else if s == strip_leading_ones(&kept) {
            Some(Embed::KeptOnly)
        } else {
            None
        }
    }

    /// `view` (shaped like a value embedded with `e`) in M's coordinates.
    fn embed(&self, view: &StridedView, e: Embed) -> Result<StridedView, String> {
        match e {
            Embed::Broadcast => view.broadcast_to(&self.m),
            Embed::KeptOnly => {
                let mut kept = view.dims.iter();
                let dims = self
                    .m
                    .iter()
                    .zip(&self.reduced)
                    .map(|(&n, &r)| if r { Some((0, n)) } else { kept.next().copied().filter(|d| d.1 == n) })
                    .collect::<Option<Vec<_>>>()
                    .ok_or("per-row value does not match the kept axes")?;
                if kept.next().is_some() {
                    return Err("per-row value has more axes than the rows".into());
                }
                Ok(StridedView { offset: view.offset, dims })
            }
        }
    }

    fn port(&mut self, hbm: HbmRef, view: StridedView) -> usize {
        let view = view.normalized();
        if let Some(i) = self.ports.iter().position(|p| p.hbm == hbm && p.view == view) {
            return i;
        }
        self.ports.push(PortSpec { hbm, view });
        self.ports.len() - 1
    }

    fn classify(&mut self, i: usize) -> Result<(), LowerError> {
        let info = self.info;
        let n = &info.g.nodes[i];
        let out = info.shape(n.output);
        let fail = |m: String| info.node_err(i, m);
        if is_row_anchor(&n.op) {
            let x = info.shape(n.inputs[0]);
            let axes = reduced_axes(&n.op, x.len());
            let mine: Vec<usize> = (0..self.m.len()).filter(|&a| self.reduced[a]).collect();
            if x != self.m || axes != mine {
                return Err(fail(format!(
                    "reduces axes {axes:?} of {x:?}, but this part of the kernel reduces axes {mine:?} of {:?}",
                    self.m
                )));
            }
            if let Op::Reduce { .. } = n.op {
                let e = self.row_embed(&out).ok_or_else(|| fail("reduction result is not one value per row".into()))?;
                self.kind.insert(i, Kind::Row);
                self.embed.insert(i, e);
            } else {
                self.kind.insert(i, Kind::Full);
                self.embed.insert(i, Embed::Broadcast);
            }
            return Ok(());
        }
        if n.op.is_view() {
            // A view that is itself a kernel node (a copy): its result is
            // computed like an elementwise identity.
            if trnc_ir::broadcast_shapes(&out, &self.m).is_none_or(|s| s != self.m) {
                return Err(fail(format!("result shape {out:?} is outside the kernel's iteration space {:?}", self.m)));
            }
            self.kind.insert(i, Kind::Full);
            self.embed.insert(i, Embed::Broadcast);
            return Ok(());
        }
        if !n.op.is_elementwise() {
            return Err(fail(format!("{} cannot be part of an elementwise or row kernel", n.op.name())));
        }
        let mut reads_full = false;
        for &u in &n.inputs {
            if let Source::Node(j) = info.resolve(i, u)?.source {
                reads_full |= self.kind.get(&j) == Some(&Kind::Full);
            }
        }
        match self.row_embed(&out) {
            Some(e) if !reads_full => {
                self.kind.insert(i, Kind::Row);
                self.embed.insert(i, e);
            }
            _ => {
                let fits = trnc_ir::broadcast_shapes(&out, &self.m).is_some_and(|s| s == self.m);
                if !fits {
                    return Err(fail(format!(
                        "result shape {out:?} is outside the kernel's iteration space {:?}",
                        self.m
                    )));
                }
                self.kind.insert(i, Kind::Full);
                self.embed.insert(i, Embed::Broadcast);
            }
        }
        Ok(())
    }

    /// The operands of node `i` as the section reads them.
    fn operands(&mut self, i: usize) -> Result<Vec<Opd>, LowerError> {
        let info = self.info;
        let n = &info.g.nodes[i];
        // Anchors read their operands broadcast to their input's shape (M);
        // elementwise ops broadcast to their result.
        let anchor = is_row_anchor(&n.op);
        let bshape = if anchor { self.m.clone() } else { info.shape(n.output) };
        let emb = if anchor { Embed::Broadcast } else { self.embed[&i] };
        let mut out = Vec::new();
        for &u in &n.inputs {
            let read = info.resolve(i, u)?;
            let base = StridedView::contiguous(&info.shape(read.value));
            let mut view = info.chain_view(i, &read, base)?;
            if n.op.is_view() {
                view = view.apply(&n.op, &info.shape(n.output)).map_err(|m| info.node_err(i, m))?;
            }
            let in_m = view
                .broadcast_to(&bshape)
                .and_then(|v| self.embed(&v, emb))
                .map_err(|m| info.node_err(i, format!("operand %{}: {m}", info.g.name_of(u))))?;
            out.push(match read.source {
                Source::Imm(v) => Opd::Imm(v),
                Source::Input(pos) => Opd::Port(self.port(HbmRef::Input(pos), in_m)),
                Source::Node(j) => {
                    let natural = self.natural(j).map_err(|m| info.node_err(i, m))?;
                    if natural != in_m.normalized() {
                        return Err(info.node_err(
                            i,
                            format!(
                                "reads %{} through a view that rearranges a value computed on chip (its elements are not where the tile holds them); only views that keep the layout can be fused",
                                info.g.name_of(read.value)
                            ),
                        ));
                    }
                    Opd::Node(j)
                }
            });
        }
        Ok(out)
    }

    /// Where node j's result lies in M, as a view over its own elements.
    fn natural(&self, j: usize) -> Result<StridedView, String> {
        let v = self.info.g.nodes[j].output;
        let view = StridedView::contiguous(&self.info.shape(v));
        Ok(self.embed(&view, self.embed[&j])?.normalized())
    }
}

/// Plans a section over `m` (with `reduced` axes) computing `targets`
/// (values the kernel writes).
pub(crate) fn plan(
    info: &GroupInfo,
    m: &[usize],
    reduced: &[bool],
    targets: &[ValueId],
) -> Result<SectionPlan, LowerError> {
    let mut p = Planner {
        info,
        m: m.to_vec(),
        reduced: reduced.to_vec(),
        kind: HashMap::new(),
        embed: HashMap::new(),
        ports: Vec::new(),
    };
    // The nodes the targets need, through values computed in the group.
    let mut need = vec![false; info.g.nodes.len()];
    let mut stack: Vec<usize> = targets.iter().filter_map(|&v| info.producer(v)).collect();
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut need[i], true) {
            continue;
        }
        for &u in &info.g.nodes[i].inputs {
            if let Source::Node(j) = info.resolve(i, u)?.source {
                stack.push(j);
            }
        }
    }
    let nodes: Vec<usize> = info.nodes.iter().copied().filter(|&i| need[i]).collect();
    for &i in &nodes {
        p.classify(i)?;
    }
    let mut operands = HashMap::new();
    for &i in &nodes {
        operands.insert(i, p.operands(i)?);
    }
    let mut stores = Vec::new();
    for &v in targets {
        let (Some(i), Some(pos)) = (info.producer(v), info.output_pos(v)) else {
            return Err(info.group_err(format!("%{} is not an output of the group", info.g.name_of(v))));
        };
        let view = p.natural(i).map_err(|m| info.node_err(i, m))?;
        // Each element of the output must be written by exactly one point
        // of the space (or, per row, by one row).
        let dup = view
            .dims
            .iter()
            .enumerate()
            .any(|(a, &(s, n))| s == 0 && n > 1 && !(p.kind[&i] == Kind::Row && p.reduced[a]));
        if dup {
            return Err(info.node_err(
                i,
                format!(
                    "result shape {:?} is smaller than the iteration space {:?}; it would be written several times",
                    info.shape(v),
                    p.m
                ),
            ));
        }
        stores.push((i, p.port(HbmRef::Output(pos), view)));
    }
    let anchors = nodes.iter().copied().filter(|&i| is_row_anchor(&info.g.nodes[i].op)).collect();
    Ok(SectionPlan {
        m: p.m,
        reduced: p.reduced,
        nodes,
        kind: p.kind,
        operands,
        ports: p.ports,
        stores,
        anchors,
        copies: Vec::new(),
    })
}
