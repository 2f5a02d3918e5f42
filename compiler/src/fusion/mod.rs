//! Fusion: partitions a graph into groups, each of which becomes one
//! kernel, and explains every decision.
//!
//! Architecture invariant: a plan is a partition of the graph's kernel
//! nodes (everything but constants and views) into groups that can run in
//! the plan's order; [`scheduled_graph`] reorders the graph accordingly, so
//! a fused program always runs on the reference backend.

mod cost;
mod dag;
mod explain;
mod plan;
mod queue;
mod role;

pub use explain::explain;
pub use role::{role, Anchor, Role};

use trnc_ir::{Graph, Node, Target, ValueId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupKind {
    /// Elementwise ops and broadcasts, streamed in chunks.
    Elementwise,
    /// Softmax, norms and trailing-axis reductions, with prologue and epilogue.
    Row,
    /// A reduction across partitions (leading axes).
    Reduce,
    /// One matmul with its epilogue (bias, activation, residual, norm).
    MatMul,
    /// Several matmuls reading the same activation (Q/K/V projections).
    SiblingMatMul,
    Attention,
    Gather,
    /// Data movement: concat, or a graph output that is a transpose, slice
    /// or expand (a reshaped output is the producer's result itself).
    Copy,
}

impl GroupKind {
    pub fn name(self) -> &'static str {
        match self {
            GroupKind::Elementwise => "elementwise",
            GroupKind::Row => "row",
            GroupKind::Reduce => "reduce",
            GroupKind::MatMul => "matmul",
            GroupKind::SiblingMatMul => "matmul-siblings",
            GroupKind::Attention => "attention",
            GroupKind::Gather => "gather",
            GroupKind::Copy => "copy",
        }
    }
}

/// One fusion group: one kernel.
#[derive(Clone, Debug)]
pub struct Group {
    pub id: usize,
    pub kind: GroupKind,
    /// Node indices, in graph order.
    pub nodes: Vec<usize>,
    /// Values read from HBM (behind any views), and values written to it.
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<ValueId>,
    pub hbm_read: u64,
    pub hbm_write: u64,
    /// The same ops run one kernel each.
    pub unfused_read: u64,
    pub unfused_write: u64,
    /// Estimated SBUF bytes per partition.
    pub sbuf_bytes: usize,
}

/// Why an edge between two groups was not fused.
#[derive(Clone, Debug)]
pub struct Refusal {
    pub producer: usize,
    pub consumer: usize,
    pub value: ValueId,
    pub reason: String,
}

#[derive(Clone, Debug)]
pub struct FusionPlan {
    pub target: Target,
    /// In execution order.
    pub groups: Vec<Group>,
    pub refusals: Vec<Refusal>,
    /// Group of each node (`None` for constants and views).
    pub node_group: Vec<Option<usize>>,
}

impl FusionPlan {
    pub fn kernel_count(&self) -> usize {
        self.groups.len()
    }

    pub fn hbm_bytes(&self) -> u64 {
        self.groups.iter().map(|g| g.hbm_read + g.hbm_write).sum()
    }
}

/// Plans the fusion of `g` for `target`.
pub fn plan_fusion(g: &Graph, target: Target) -> FusionPlan {
    let mut planner = plan::Planner::new(g, target);
    planner.fuse_producers();
    planner.fuse_siblings();
    planner.finish()
}

/// HBM bytes of the program with one kernel per op (views included: without
/// fusion a transpose is a kernel of its own).
pub fn unfused_hbm_bytes(g: &Graph) -> u64 {
    g.nodes
        .iter()
        .filter(|n| !matches!(n.op, trnc_ir::Op::Const(_)))
        .map(|n| {
            let read: u64 = n.inputs.iter().map(|&u| cost::value_bytes(g, u)).sum();
            read + cost::value_bytes(g, n.output)
        })
        .sum()
}

/// The graph with its nodes reordered to run group by group, in plan
/// order; each group's constants and views come right before it.
pub fn scheduled_graph(g: &Graph, plan: &FusionPlan) -> Graph {
    let producers = g.producers();
    let mut placed = vec![false; g.nodes.len()];
    let mut order: Vec<usize> = Vec::with_capacity(g.nodes.len());
    fn place(i: usize, g: &Graph, producers: &[Option<usize>], placed: &mut [bool], order: &mut Vec<usize>) {
        if std::mem::replace(&mut placed[i], true) {
            return;
        }
        for u in &g.nodes[i].inputs {
            if let Some(j) = producers[u.index()] {
                place(j, g, producers, placed, order);
            }
        }
        order.push(i);
    }
    for group in &plan.groups {
        for &i in &group.nodes {
            place(i, g, &producers, &mut placed, &mut order);
        }
    }
    for i in 0..g.nodes.len() {
        place(i, g, &producers, &mut placed, &mut order);
    }
    let mut out = g.clone();
    out.nodes = order.iter().map(|&i| g.nodes[i].clone()).collect::<Vec<Node>>();
    out
}

/// Checks that the plan is a partition of the kernel nodes and that every
/// group reads only values made by earlier groups (or by itself, earlier).
pub fn validate(g: &Graph, plan: &FusionPlan) -> Result<(), String> {
    let producers = g.producers();
    let mut seen = vec![false; g.nodes.len()];
    for group in &plan.groups {
        for &i in &group.nodes {
            if std::mem::replace(&mut seen[i], true) {
                return Err(format!("node {i} is in two groups"));
            }
        }
    }
    for (i, n) in g.nodes.iter().enumerate() {
        if !matches!(role(g, n), Role::Const | Role::View) && !seen[i] {
            return Err(format!("node {i} (%{}) is in no group", g.name_of(n.output)));
        }
    }
    // A kernel node may only depend (through views and constants) on nodes
    // of earlier groups or on earlier nodes of its own group.
    for group in &plan.groups {
        for &i in &group.nodes {
            let mut stack: Vec<ValueId> = g.nodes[i].inputs.clone();
            while let Some(v) = stack.pop() {
                let Some(j) = producers[v.index()] else { continue };
                match plan.node_group[j] {
                    None => stack.extend(g.nodes[j].inputs.iter().copied()),
                    Some(k) if k < group.id || (k == group.id && j < i) => {}
                    Some(k) => {
                        return Err(format!(
                            "kernel {} reads %{} from kernel {k}, which runs later",
                            group.id,
                            g.name_of(v)
                        ))
                    }
                }
            }
        }
    }
    Ok(())
}
