//! A compiled program: one kernel per fusion group, called in plan order
//! on HBM values, and the host glue around them (graph inputs, weights,
//! outputs that are a kernel result under another shape).

use crate::fusion::{plan_fusion, role, FusionPlan, Group, Role};
use crate::Error;
use std::collections::{HashMap, HashSet};
use trnc_ir::kernel::Kernel;
use trnc_ir::{Graph, Op, Target, Tensor, ValueId};
use trnc_kernels::{lower_group_with, GroupSpec, LowerOptions};

/// One kernel and the graph values it reads and writes, in its argument order.
pub struct KernelCall {
    pub group: usize,
    pub kernel: Kernel,
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<ValueId>,
}

pub struct Program {
    /// The graph the kernels compute: the optimised graph with i64 narrowed
    /// to i32 (`passes::narrow_i64`), sums over leading axes as matmuls with
    /// a ones vector (`passes::sums_as_matmuls`) and vector matmul operands
    /// spelled as matrices (`passes::legalize_matmul`).
    pub graph: Graph,
    pub target: Target,
    pub plan: FusionPlan,
    pub calls: Vec<KernelCall>,
    /// Fusion groups `kernels/` could not build whole, each lowered as
    /// several kernels instead, with the reason.
    pub splits: Vec<(usize, String)>,
    /// For kernels with a choice (matmul blocking), every alternative the
    /// cost model priced: (kernel name, alternative, estimated ns), the
    /// chosen one first.
    pub choices: Vec<Choice>,
    /// The dtypes of the graph's outputs before narrowing.
    output_dtypes: Vec<trnc_ir::DType>,
}

/// Matmul blockings tried (row tiles, column tiles, K tiles per B load).
const MATMUL_BLOCKS: [(usize, usize, usize); 10] =
    [(6, 1, 8), (6, 1, 16), (3, 2, 8), (3, 2, 16), (3, 2, 32), (2, 3, 16), (2, 3, 32), (4, 1, 8), (2, 1, 8), (1, 1, 8)];

/// One alternative the lowering considered for a kernel (`--explain`).
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    pub kernel: String,
    pub alternative: String,
    /// The cost model's estimate; `None` when the alternative was not
    /// priced (see `note`).
    pub time_ns: Option<f64>,
    /// Why it was not priced: it does not fit, or it builds the same kernel
    /// as an earlier alternative.
    pub note: Option<String>,
    pub chosen: bool,
}

/// Elements per partition an elementwise pass may stream per DMA, tried for
/// groups without a matmul, attention, gather or concat.
const STREAM_CHUNKS: [usize; 5] = [2048, 1024, 512, 256, 128];

/// The alternatives `kernels/` offers for a group, as (what, options).
fn alternatives(spec: &GroupSpec, options: LowerOptions) -> Vec<(String, LowerOptions)> {
    let has = |f: &dyn Fn(&Op) -> bool| spec.nodes.iter().any(|&i| f(&spec.graph.nodes[i].op));
    if options.matmul_blocks.is_some() || options.stream_chunk.is_some() {
        return Vec::new();
    }
    if has(&|op| matches!(op, Op::MatMul)) {
        return MATMUL_BLOCKS
            .iter()
            .map(|&(m, n, k)| {
                let blocks = trnc_kernels::MatmulBlocks { m, n, k };
                (format!("blocks m={m} n={n} k={k}"), LowerOptions { matmul_blocks: Some(blocks), ..options })
            })
            .collect();
    }
    if has(&|op| matches!(op, Op::Attention { .. } | Op::Gather { .. } | Op::Concat { .. })) {
        return Vec::new();
    }
    STREAM_CHUNKS
        .iter()
        .map(|&c| (format!("stream {c} per partition"), LowerOptions { stream_chunk: Some(c), ..options }))
        .collect()
}

/// Lowers a group; where the generator has a choice (matmul blocking,
/// elementwise chunk size), prices every alternative with the cost model
/// and keeps the cheapest.
fn lower_cheapest(
    spec: &GroupSpec,
    target: Target,
    options: LowerOptions,
    choices: &mut Vec<Choice>,
) -> Result<trnc_ir::kernel::Kernel, trnc_kernels::LowerError> {
    let alternatives = alternatives(spec, options);
    if alternatives.is_empty() {
        return lower_group_with(spec, target, options);
    }
    let mut priced: Vec<(f64, usize, trnc_ir::kernel::Kernel)> = Vec::new();
    let mut considered = Vec::new();
    for (alternative, with) in alternatives {
        let (time_ns, note) = match lower_group_with(spec, target, with) {
            // Small shapes clamp several blockings to the same kernel: it is
            // priced once.
            Ok(kernel) => match priced.iter().find(|p| p.2 == kernel) {
                Some(p) => (None, Some(format!("the same kernel as {}", considered[p.1]))),
                None => {
                    let ns = trnc_backend_neuron::cost::estimate(&kernel, target).total_ns;
                    priced.push((ns, considered.len(), kernel));
                    (Some(ns), None)
                }
            },
            Err(e) => (None, Some(e.message)),
        };
        choices.push(Choice {
            kernel: spec.name.clone(),
            alternative: alternative.clone(),
            time_ns,
            note,
            chosen: false,
        });
        considered.push(alternative);
    }
    // Ties keep the earlier (larger) alternative, so the choice is deterministic.
    priced.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let first = choices.len() - considered.len();
    if priced.is_empty() {
        // Nothing to choose from: the group is lowered in parts, whose
        // reason the default lowering's error gives.
        choices.truncate(first);
        return lower_group_with(spec, target, options);
    }
    choices[first + priced[0].1].chosen = true;
    Ok(priced.swap_remove(0).2)
}

/// Plans the fusion of an optimised graph and lowers every group.
pub fn build_program(g: &Graph, target: Target) -> Result<Program, Error> {
    build_program_with(g, target, LowerOptions::default())
}

/// [`build_program`] with explicit lowering options (e.g. bf16 matmuls).
pub fn build_program_with(g: &Graph, target: Target, options: LowerOptions) -> Result<Program, Error> {
    let output_dtypes = g.outputs.iter().map(|&v| g.ty(v).dtype).collect();
    let mut g = g.clone();
    crate::passes::narrow_i64(&mut g)?;
    crate::passes::sums_as_matmuls(&mut g);
    crate::passes::legalize_matmul(&mut g);
    let plan = plan_fusion(&g, target);
    let mut calls = Vec::with_capacity(plan.groups.len());
    let mut splits = Vec::new();
    let mut materialized = HashSet::new();
    let mut choices = Vec::new();
    let parts = Parts { g: &g, producers: g.producers(), users: g.users(), target, options };
    let transposed = written_transposed(&parts);
    // Values written in a transposed layout so far: readers read that.
    let mut written_as: HashMap<ValueId, ValueId> = HashMap::new();
    for group in &plan.groups {
        let name = format!("{}_k{}_{}", g.name, group.id, group.kind.name().replace('-', "_"));
        let inputs: Vec<ValueId> = group.inputs.iter().map(|v| *written_as.get(v).unwrap_or(v)).collect();
        let outputs: Vec<ValueId> = group.outputs.iter().map(|v| *transposed.get(v).unwrap_or(v)).collect();
        if outputs.iter().all(|v| materialized.contains(v)) {
            // The copy kernel of a transpose that its producer wrote already.
            continue;
        }
        let spec = GroupSpec { graph: &g, nodes: &group.nodes, inputs: &inputs, outputs: &outputs, name };
        match lower_cheapest(&spec, target, options, &mut choices) {
            Ok(kernel) => {
                for (v, t) in group.outputs.iter().zip(&outputs).filter(|(v, t)| v != t) {
                    written_as.insert(*v, *t);
                    materialized.insert(*t);
                }
                calls.push(KernelCall { group: group.id, kernel, inputs, outputs });
            }
            // A fused group that kernels/ cannot build yet runs as smaller
            // kernels, one per anchor with its elementwise ops, then one per
            // op; the plan stays what fusion decided.
            Err(e) if needs_split(&e.message) => {
                splits.push((group.id, e.message.clone()));
                lower_split(&parts, group, &mut calls, &mut materialized, &mut choices)?;
            }
            Err(e) => {
                return Err(Error::run(format!("error: cannot lower kernel {} ({}): {e}", group.id, group.kind.name())))
            }
        }
    }
    Ok(Program { graph: g, target, plan, calls, splits, choices, output_dtypes })
}

/// Attention results whose one reader is a transpose (heads merged by
/// transpose + reshape, which no access pattern can read): the attention
/// kernel writes the transposed layout itself (`GroupInfo::output_view`),
/// rather than a copy kernel moving the result again.
fn written_transposed(p: &Parts) -> HashMap<ValueId, ValueId> {
    let g = p.g;
    let mut out = HashMap::new();
    for n in &g.nodes {
        let v = n.output;
        if !matches!(n.op, Op::Attention { .. }) || g.outputs.contains(&v) {
            continue;
        }
        if let [j] = p.users[v.index()][..] {
            if matches!(g.nodes[j].op, Op::Transpose { .. }) {
                out.insert(v, g.nodes[j].output);
            }
        }
    }
    out
}

/// Errors after which a group is lowered in smaller pieces.
fn needs_split(message: &str) -> bool {
    message.starts_with("not implemented yet") || message.contains("non-contiguous view")
}

/// What lowering a group in parts needs; the graph's producers and users
/// are computed once per program, not once per part (which made lowering
/// quadratic in the depth of a model).
struct Parts<'g> {
    g: &'g Graph,
    producers: Vec<Option<usize>>,
    users: Vec<Vec<usize>>,
    target: Target,
    options: LowerOptions,
}

/// Lowers `group` as segments that start at each anchor (matmul, row
/// reduction, ...); a segment that still fails is lowered op by op.
fn lower_split(
    parts: &Parts,
    group: &Group,
    calls: &mut Vec<KernelCall>,
    materialized: &mut HashSet<ValueId>,
    choices: &mut Vec<Choice>,
) -> Result<(), Error> {
    let g = parts.g;
    let mut segments: Vec<Vec<usize>> = Vec::new();
    for &i in &group.nodes {
        let anchor = matches!(role(g, &g.nodes[i]), Role::Anchor(_));
        match segments.last_mut() {
            Some(seg) if !anchor => seg.push(i),
            _ => segments.push(vec![i]),
        }
    }
    for seg in segments {
        if lower_nodes(parts, group.id, &seg, calls, materialized, choices).is_err() {
            for &i in &seg {
                lower_nodes(parts, group.id, &[i], calls, materialized, choices)?;
            }
        }
    }
    Ok(())
}

/// Lowers `nodes` as one kernel that writes every value it computes that
/// anything else reads (or that the graph returns). A view no access
/// pattern can describe (heads merged by transpose + reshape) is first
/// materialised by a copy kernel, then read as a plain input.
fn lower_nodes(
    parts: &Parts,
    group: usize,
    nodes: &[usize],
    calls: &mut Vec<KernelCall>,
    materialized: &mut HashSet<ValueId>,
    choices: &mut Vec<Choice>,
) -> Result<(), Error> {
    let Parts { g, producers, users, target, options } = parts;
    let (g, target, options) = (*g, *target, *options);
    let is_view = |i: usize| role(g, &g.nodes[i]) == Role::View;
    loop {
        let source = |mut v: ValueId| {
            while let Some(i) = producers[v.index()].filter(|&i| is_view(i) && !materialized.contains(&v)) {
                v = g.nodes[i].inputs[0];
            }
            v
        };
        let mut inputs = Vec::new();
        for &i in nodes {
            for &u in &g.nodes[i].inputs {
                let s = source(u);
                let inside = producers[s.index()].is_some_and(|j| nodes.contains(&j));
                if !inside && !inputs.contains(&s) {
                    inputs.push(s);
                }
            }
        }
        let outputs: Vec<ValueId> = nodes
            .iter()
            .map(|&i| g.nodes[i].output)
            .filter(|&v| g.outputs.contains(&v) || reads_outside(g, users, v, nodes))
            .collect();
        let name = format!("{}_k{}_part{}", g.name, group, calls.len());
        let spec = GroupSpec { graph: g, nodes, inputs: &inputs, outputs: &outputs, name };
        match lower_cheapest(&spec, target, options, choices) {
            Ok(kernel) => {
                calls.push(KernelCall { group, kernel, inputs, outputs });
                return Ok(());
            }
            Err(e) if e.message.contains("non-contiguous view") => {
                // Materialise the innermost layout-changing view on the way.
                let mut copy = None;
                for &i in nodes {
                    for &u in &g.nodes[i].inputs {
                        let mut v = u;
                        while let Some(j) = producers[v.index()].filter(|&j| is_view(j) && !materialized.contains(&v)) {
                            if !matches!(g.nodes[j].op, Op::Reshape { .. } | Op::Squeeze { .. } | Op::Unsqueeze { .. })
                            {
                                copy = Some(j);
                            }
                            v = g.nodes[j].inputs[0];
                        }
                    }
                }
                let Some(j) = copy else {
                    return Err(Error::run(format!("error: cannot lower kernel {group}: {e}")));
                };
                materialized.insert(g.nodes[j].output);
                lower_nodes(parts, group, &[j], calls, materialized, choices)?;
            }
            Err(e) => return Err(Error::run(format!("error: cannot lower kernel {group}: {e}"))),
        }
    }
}

/// True if a node outside `nodes` reads `v`, directly or through views.
fn reads_outside(g: &Graph, users: &[Vec<usize>], v: ValueId, nodes: &[usize]) -> bool {
    users[v.index()].iter().any(|&u| {
        if role(g, &g.nodes[u]) == Role::View {
            g.outputs.contains(&g.nodes[u].output) || reads_outside(g, users, g.nodes[u].output, nodes)
        } else {
            !nodes.contains(&u)
        }
    })
}

/// Runs the program on the kernel simulator (`backends/neuron`).
pub fn simulate_program(p: &Program, inputs: &[Tensor]) -> Result<Vec<Tensor>, Error> {
    let g = &p.graph;
    let mut hbm: HashMap<ValueId, Tensor> = HashMap::new();
    for (&v, t) in g.inputs.iter().zip(inputs) {
        hbm.insert(v, crate::passes::narrow::to_device(t)?);
    }
    for n in &g.nodes {
        if let Op::Const(t) = &n.op {
            hbm.insert(n.output, (**t).clone());
        }
    }
    for call in &p.calls {
        let args: Vec<Tensor> = call
            .inputs
            .iter()
            .map(|v| {
                hbm.get(v).cloned().ok_or_else(|| {
                    Error::run(format!("error: kernel {} reads %{}, which nothing wrote", call.group, g.name_of(*v)))
                })
            })
            .collect::<Result<_, _>>()?;
        let results = trnc_backend_neuron::simulate(&call.kernel, p.target, &args)
            .map_err(|e| Error::run(format!("error: the simulator rejected kernel {}: {e}", call.group)))?;
        for (&v, t) in call.outputs.iter().zip(results) {
            hbm.insert(v, t);
        }
    }
    g.outputs
        .iter()
        .zip(&p.output_dtypes)
        .map(|(&v, &dtype)| crate::passes::narrow::from_device(output_value(g, &hbm, v)?, dtype))
        .collect()
}

/// A graph output: a value some kernel (or the caller) wrote, or such a
/// value reshaped (the fusion plan never copies a pure reshape).
fn output_value(g: &Graph, hbm: &HashMap<ValueId, Tensor>, v: ValueId) -> Result<Tensor, Error> {
    if let Some(t) = hbm.get(&v) {
        return Ok(t.clone());
    }
    let producers = g.producers();
    let mut source = v;
    while let Some(i) = producers[source.index()] {
        match g.nodes[i].op {
            Op::Reshape { .. } | Op::Squeeze { .. } | Op::Unsqueeze { .. } => source = g.nodes[i].inputs[0],
            _ => break,
        }
        if let Some(t) = hbm.get(&source) {
            let shape = g.ty(v).shape().map_err(|d| Error::run(format!("error: dimension '{d}' has no size")))?;
            return t.reshaped(shape).map_err(|e| Error::run(format!("error: {e}")));
        }
    }
    Err(Error::run(format!("error: no kernel writes the output %{}", g.name_of(v))))
}
