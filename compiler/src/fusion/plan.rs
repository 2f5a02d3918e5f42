//! The fusion planner: a greedy, cost-driven partition of the graph into
//! groups, each of which becomes one kernel.
//!
//! Every op starts as its own group (views and constants are not kernels:
//! views are read through, constants live in HBM). Candidate merges are
//! producer → consumer edges and, at the end, sibling matmuls that read
//! the same activation. Each step takes the legal candidate that saves the
//! most HBM bytes (priority fusion, as in XLA); a candidate is legal when
//! the merged group is a kernel `kernels/` can build and its live tiles fit
//! SBUF. Every edge left between groups keeps the reason it was refused.

use super::cost::{external_inputs, sbuf_estimate, value_bytes};
use super::dag::GroupDag;
use super::queue::{Candidate, Queue};
use super::role::{role, row_axis, Anchor, Role};
use super::{FusionPlan, Group, Refusal};
use std::collections::{BTreeMap, BTreeSet};
use trnc_ir::{broadcast_shapes, Graph, Op, Target, ValueId};

pub(super) struct Planner<'g> {
    pub g: &'g Graph,
    pub target: Target,
    pub roles: Vec<Role>,
    /// Node defining each value.
    pub producer: Vec<Option<usize>>,
    /// Kernel nodes reading each value, directly or through views.
    pub readers: Vec<Vec<usize>>,
    pub is_output: Vec<bool>,
    /// Group of each kernel node (`usize::MAX` for views and constants).
    pub group_of: Vec<usize>,
    /// Members of each group, in node order; empty once merged away.
    pub members: Vec<Vec<usize>>,
    /// Edges between live groups, kept up to date by every merge.
    dag: GroupDag,
    /// How messages number groups: by final kernel number once known.
    display: Vec<usize>,
}

impl<'g> Planner<'g> {
    pub fn new(g: &'g Graph, target: Target) -> Planner<'g> {
        let n = g.nodes.len();
        let mut is_output = vec![false; g.num_values()];
        for v in &g.outputs {
            is_output[v.index()] = true;
        }
        let producer = g.producers();
        let mut roles: Vec<Role> = g.nodes.iter().map(|node| role(g, node)).collect();
        // A graph output that only reshapes a kernel's result (reshape,
        // squeeze, unsqueeze: the same bytes in the same order) is that
        // result under another shape: the kernel writes it and nothing is
        // copied. Any other view (transpose, slice, expand) of a result, and
        // a view of an input or a constant, is materialised by a copy kernel.
        for &out in &g.outputs {
            // Reinterpreting views at the end of the chain are free; the
            // view before them (if any) is what must be materialised.
            let is_reinterpret =
                |i: usize| matches!(g.nodes[i].op, Op::Reshape { .. } | Op::Squeeze { .. } | Op::Unsqueeze { .. });
            let mut v = out;
            while let Some(i) = producer[v.index()].filter(|&i| roles[i] == Role::View && is_reinterpret(i)) {
                v = g.nodes[i].inputs[0];
            }
            match producer[v.index()] {
                Some(i) if roles[i] == Role::View => {
                    roles[i] = Role::Anchor(Anchor::Copy);
                    is_output[v.index()] = true;
                }
                Some(i) if roles[i] != Role::Const => is_output[v.index()] = true,
                _ => {
                    // A reshaped graph input or constant: copied by a kernel.
                    if let Some(i) = producer[out.index()].filter(|&i| roles[i] == Role::View) {
                        roles[i] = Role::Anchor(Anchor::Copy);
                    }
                }
            }
        }
        let mut p = Planner {
            g,
            target,
            roles,
            producer,
            readers: vec![Vec::new(); g.num_values()],
            is_output,
            group_of: vec![usize::MAX; n],
            members: Vec::new(),
            dag: GroupDag::new(0, []),
            display: Vec::new(),
        };
        for i in 0..n {
            if p.is_kernel(i) {
                for &u in &g.nodes[i].inputs {
                    let s = p.source(u);
                    if !p.readers[s.index()].contains(&i) {
                        p.readers[s.index()].push(i);
                    }
                }
                p.group_of[i] = p.members.len();
                p.display.push(p.members.len());
                p.members.push(vec![i]);
            }
        }
        let edges: Vec<(usize, usize)> = (0..p.members.len())
            .flat_map(|gid| {
                let v = g.nodes[p.members[gid][0]].output;
                p.readers[v.index()].iter().map(move |&r| (gid, r))
            })
            .map(|(gid, r)| (gid, p.group_of[r]))
            .collect();
        p.dag = GroupDag::new(p.members.len(), edges);
        p
    }

    pub fn is_kernel(&self, node: usize) -> bool {
        !matches!(self.roles[node], Role::Const | Role::View)
    }

    /// The value behind a chain of views.
    pub fn source(&self, mut v: ValueId) -> ValueId {
        while let Some(i) = self.producer[v.index()] {
            if self.roles[i] != Role::View {
                break;
            }
            v = self.g.nodes[i].inputs[0];
        }
        v
    }

    /// The kernel node producing `v` (through views), if any.
    fn kernel_producer(&self, v: ValueId) -> Option<usize> {
        self.producer[self.source(v).index()].filter(|&i| self.is_kernel(i))
    }

    /// Groups that read a value produced in group `gid`.
    fn successors(&self, gid: usize) -> Vec<usize> {
        self.dag.successors(gid).iter().copied().collect()
    }

    pub fn anchors(&self, nodes: &[usize]) -> Vec<(Anchor, usize)> {
        nodes
            .iter()
            .filter_map(|&i| match self.roles[i] {
                Role::Anchor(a) => Some((a, i)),
                _ => None,
            })
            .collect()
    }

    /// The shape a kernel iterates over: its anchor's full-size shape, or
    /// the largest elementwise result.
    pub fn main_shape(&self, nodes: &[usize]) -> Vec<usize> {
        let shape_of = |v: ValueId| self.g.ty(v).shape().unwrap_or_default();
        let anchors = self.anchors(nodes);
        let anchor = anchors.iter().find(|(a, _)| *a != Anchor::Row).or(anchors.first());
        match anchor {
            Some(&(Anchor::Row | Anchor::Reduce, i)) => shape_of(self.g.nodes[i].inputs[0]),
            Some(&(_, i)) => shape_of(self.g.nodes[i].output),
            None => nodes
                .iter()
                .map(|&i| shape_of(self.g.nodes[i].output))
                .max_by_key(|s| s.iter().product::<usize>())
                .unwrap_or_default(),
        }
    }

    /// Row layout of an anchor: the shape it spans and its first free axis.
    fn row_signature(&self, anchor: Anchor, i: usize) -> Option<(Vec<usize>, usize)> {
        let node = &self.g.nodes[i];
        let shape = |v: ValueId| self.g.ty(v).shape().unwrap_or_default();
        match anchor {
            Anchor::Row => Some((shape(node.inputs[0]), row_axis(self.g, node)?)),
            Anchor::MatMul | Anchor::Attention | Anchor::Gather => {
                let s = shape(node.output);
                let last = s.len().checked_sub(1)?;
                Some((s, last))
            }
            Anchor::Reduce | Anchor::Copy => None,
        }
    }

    /// Why the groups `p` (producer) and `c` (consumer) cannot become one
    /// kernel; `None` if they can.
    fn refuse(&self, p: usize, c: usize) -> Option<String> {
        if let Some(via) = self.dag.indirect_path(p, c) {
            return Some(format!("fusing would create a cycle through kernel {}", self.display[via]));
        }
        self.refuse_kernel(p, c)
    }

    /// [`Planner::refuse`] but for cycles: the reasons that depend on the
    /// two groups alone, which merges of other groups leave unchanged.
    fn refuse_kernel(&self, p: usize, c: usize) -> Option<String> {
        let g = self.g;
        let name = |v: ValueId| format!("%{}", g.name_of(v));
        // Operands that an anchor of c streams from HBM tile by tile.
        for &(a, i) in &self.anchors(&self.members[c]) {
            if !matches!(a, Anchor::MatMul | Anchor::Attention | Anchor::Gather) {
                continue;
            }
            let streamed =
                g.nodes[i].inputs.iter().find(|&&u| self.kernel_producer(u).is_some_and(|j| self.group_of[j] == p));
            if let Some(&u) = streamed {
                return Some(format!(
                    "{} reads its operand {} tile by tile from HBM; a producer fused in would be recomputed for every tile",
                    g.nodes[i].op.name(),
                    name(u)
                ));
            }
        }
        if let Some(&(_, i)) = self.anchors(&self.members[p]).iter().find(|(a, _)| *a == Anchor::Reduce) {
            return Some(format!(
                "consumer needs a full reduction of the producer ({} reduces across partitions)",
                name(g.nodes[i].output)
            ));
        }
        self.kernel_problem(&self.union(p, c))
    }

    /// The nodes of two groups, in order.
    fn union(&self, a: usize, b: usize) -> Vec<usize> {
        let mut m = [self.members[a].clone(), self.members[b].clone()].concat();
        m.sort_unstable();
        m
    }

    /// Why `nodes` cannot be one kernel that `kernels/` builds: the shape of
    /// the kernel (one heavy anchor, or sibling matmuls sharing their left
    /// operand; rows of one layout; elementwise ops inside the iteration
    /// space) and its SBUF footprint.
    fn kernel_problem(&self, nodes: &[usize]) -> Option<String> {
        let g = self.g;
        let name = |v: ValueId| format!("%{}", g.name_of(v));
        let anchors = self.anchors(nodes);
        if let Some(&(_, i)) = anchors.iter().find(|(a, _)| *a == Anchor::Copy) {
            return Some(format!("{} is data movement and runs as its own kernel", name(g.nodes[i].output)));
        }
        let heavy: Vec<&(Anchor, usize)> = anchors.iter().filter(|(a, _)| *a != Anchor::Row).collect();
        let lhs = |i: usize| self.source(g.nodes[i].inputs[0]);
        let siblings = heavy.iter().all(|&&(a, i)| a == Anchor::MatMul && lhs(i) == lhs(heavy[0].1));
        if heavy.len() > 1 && !siblings {
            return Some(format!(
                "a kernel holds one {} and its epilogue; both {} and {} are here",
                heavy[0].0.name(),
                name(g.nodes[heavy[0].1].output),
                name(g.nodes[heavy[1].1].output)
            ));
        }
        let signatures: Vec<(Vec<usize>, usize)> =
            anchors.iter().filter_map(|&(a, i)| self.row_signature(a, i)).collect();
        // Sibling matmuls each keep their own output rows; otherwise every
        // row anchor must share one layout.
        let rows: Vec<&(Vec<usize>, usize)> = if heavy.len() > 1 { Vec::new() } else { signatures.iter().collect() };
        if let Some(s) = rows.iter().find(|s| **s != rows[0]) {
            return Some(format!(
                "rows differ: {} reduced from axis {} vs {} from axis {}",
                trnc_ir::format_shape(&rows[0].0),
                rows[0].1,
                trnc_ir::format_shape(&s.0),
                s.1
            ));
        }
        if !anchors.is_empty() {
            // Each elementwise op must fit the iteration space of an anchor.
            let spaces: Vec<Vec<usize>> = anchors.iter().map(|&(_, i)| self.main_shape(&[i])).collect();
            for &i in nodes {
                if self.roles[i] != Role::Elementwise {
                    continue;
                }
                let out = g.ty(g.nodes[i].output).shape().unwrap_or_default();
                if !spaces.iter().any(|m| broadcast_shapes(&out, m).as_deref() == Some(&m[..])) {
                    return Some(format!(
                        "{} has shape {}, outside the kernel's iteration space {}",
                        name(g.nodes[i].output),
                        trnc_ir::format_shape(&out),
                        trnc_ir::format_shape(&spaces[0])
                    ));
                }
            }
        }
        let sbuf = sbuf_estimate(self, nodes);
        let budget = self.target.sbuf_bytes_per_partition();
        if sbuf > budget {
            return Some(format!(
                "would exceed SBUF: {} KiB per partition > {} KiB on {}",
                sbuf.div_ceil(1024),
                budget / 1024,
                self.target
            ));
        }
        None
    }

    /// HBM bytes saved by merging `p` into `c`: c no longer reads the
    /// values of p it uses, and p no longer writes those that nothing else
    /// reads. A value that a third group or the caller also reads is still
    /// written (multi-output fusion).
    fn saving(&self, p: usize, c: usize) -> u64 {
        self.members[p]
            .iter()
            .map(|&i| self.g.nodes[i].output)
            .filter(|v| self.readers[v.index()].iter().any(|&r| self.group_of[r] == c))
            .map(|v| {
                let elsewhere = self.is_output[v.index()]
                    || self.readers[v.index()].iter().any(|&r| self.group_of[r] != p && self.group_of[r] != c);
                value_bytes(self.g, v) * if elsewhere { 1 } else { 2 }
            })
            .sum()
    }

    fn merge(&mut self, from: usize, into: usize) {
        let moved = std::mem::take(&mut self.members[from]);
        for &i in &moved {
            self.group_of[i] = into;
        }
        self.members[into].extend(moved);
        self.members[into].sort_unstable();
        self.dag.merge(from, into);
    }

    /// Producer → consumer pairs of live groups, in a deterministic order.
    fn edges(&self) -> Vec<(usize, usize)> {
        (0..self.members.len())
            .filter(|&p| !self.members[p].is_empty())
            .flat_map(|p| self.dag.successors(p).iter().map(move |&c| (p, c)))
            .collect()
    }

    /// Queues the merge of `p` into `c` if the two groups make a kernel
    /// and it saves bytes. Whether a path through a third group forbids it
    /// is checked when it comes first: a merge elsewhere can create such a
    /// path, but never remove one.
    fn push_producer(&self, queue: &mut Queue, p: usize, c: usize) {
        if self.refuse_kernel(p, c).is_none() {
            let saving = self.saving(p, c);
            if saving > 0 {
                queue.push(Candidate { saving, from: p, into: c });
            }
        }
    }

    /// Merges, one at a time, the legal producer → consumer pair that saves
    /// the most bytes. The saving and the legality of a pair depend only on
    /// the two groups' members and on which groups read their values, so a
    /// merge changes them for pairs touching the merged group only: those
    /// are priced again, the rest keep their place in the queue.
    pub fn fuse_producers(&mut self) {
        let mut queue = Queue::default();
        for (p, c) in self.edges() {
            self.push_producer(&mut queue, p, c);
        }
        while let Some(best) = queue.pop() {
            if self.dag.indirect_path(best.from, best.into).is_some() {
                continue;
            }
            self.merge(best.from, best.into);
            queue.drop_touching(best.from);
            queue.drop_touching(best.into);
            let g = best.into;
            for p in self.dag.predecessors(g).iter().copied().collect::<Vec<_>>() {
                self.push_producer(&mut queue, p, g);
            }
            for c in self.successors(g) {
                self.push_producer(&mut queue, g, c);
            }
        }
    }

    /// Siblings: groups that read the same large input (the Q, K and V
    /// projections of one activation; elementwise chains of one input)
    /// become one kernel that reads it once. Only groups sharing an input
    /// can save anything, so candidates are found through the readers of
    /// each input, and a merge re-prices the pairs of the merged group.
    pub fn fuse_siblings(&mut self) {
        let mut inputs: Vec<Vec<ValueId>> = vec![Vec::new(); self.members.len()];
        let mut readers: BTreeMap<ValueId, BTreeSet<usize>> = BTreeMap::new();
        for a in (0..self.members.len()).filter(|&a| !self.members[a].is_empty()) {
            inputs[a] = self.shared_inputs(a);
            inputs[a].iter().for_each(|&v| _ = readers.entry(v).or_default().insert(a));
        }
        let mut pairs = BTreeSet::new();
        for set in readers.values() {
            for &a in set {
                pairs.extend(set.range(a + 1..).map(|&b| (a, b)));
            }
        }
        let mut queue = Queue::default();
        for (a, b) in pairs {
            self.push_siblings(&mut queue, &inputs, a, b);
        }
        while let Some(best) = queue.pop() {
            let (a, b) = (best.into, best.from);
            if self.dag.indirect_path(a, b).is_some() || self.dag.indirect_path(b, a).is_some() {
                continue;
            }
            self.merge(b, a);
            queue.drop_touching(a);
            queue.drop_touching(b);
            for gid in [a, b] {
                for v in std::mem::take(&mut inputs[gid]) {
                    readers.entry(v).or_default().remove(&gid);
                }
            }
            inputs[a] = self.shared_inputs(a);
            inputs[a].iter().for_each(|&v| _ = readers.entry(v).or_default().insert(a));
            let others: BTreeSet<usize> =
                inputs[a].iter().flat_map(|v| readers[v].iter().copied()).filter(|&x| x != a).collect();
            for x in others {
                self.push_siblings(&mut queue, &inputs, a.min(x), a.max(x));
            }
        }
    }

    /// The external inputs of a group that a sibling reading them too
    /// would save: small constants are immediates in a kernel, not HBM reads.
    fn shared_inputs(&self, a: usize) -> Vec<ValueId> {
        external_inputs(self, &self.members[a])
            .into_iter()
            .filter(|&v| {
                !self.producer[v.index()].is_some_and(|i| self.roles[i] == Role::Const) || value_bytes(self.g, v) > 64
            })
            .collect()
    }

    /// Queues the merge of siblings `b` into `a` (`a < b`) if they make a
    /// kernel, save bytes and no edge joins them; paths through third
    /// groups are checked when the pair comes first, as for producers.
    fn push_siblings(&self, queue: &mut Queue, inputs: &[Vec<ValueId>], a: usize, b: usize) {
        let saving: u64 = inputs[a].iter().filter(|v| inputs[b].contains(v)).map(|&v| value_bytes(self.g, v)).sum();
        if saving == 0 || self.dag.has_edge(a, b) || self.dag.has_edge(b, a) {
            return;
        }
        if self.kernel_problem(&self.union(a, b)).is_none() {
            queue.push(Candidate { saving, from: b, into: a });
        }
    }

    /// Groups in a topological order (ties broken by first node), with
    /// their traffic, and the refusal of every edge left between them.
    pub fn finish(mut self) -> FusionPlan {
        let live: Vec<usize> = (0..self.members.len()).filter(|&i| !self.members[i].is_empty()).collect();
        let mut indegree = vec![0usize; self.members.len()];
        for &p in &live {
            for c in self.successors(p) {
                indegree[c] += 1;
            }
        }
        let mut ready: Vec<usize> = live.iter().copied().filter(|&i| indegree[i] == 0).collect();
        let mut order = Vec::new();
        while !ready.is_empty() {
            ready.sort_by_key(|&i| std::cmp::Reverse(self.members[i][0]));
            let gid = ready.pop().unwrap();
            order.push(gid);
            for c in self.successors(gid) {
                indegree[c] -= 1;
                if indegree[c] == 0 {
                    ready.push(c);
                }
            }
        }
        let mut new_id = vec![usize::MAX; self.members.len()];
        for (k, &gid) in order.iter().enumerate() {
            new_id[gid] = k;
        }
        self.display = new_id.clone();
        let groups: Vec<Group> = order
            .iter()
            .enumerate()
            .map(|(k, &gid)| super::cost::describe_group(&self, k, &self.members[gid]))
            .collect();
        let mut refusals = Vec::new();
        for (p, c) in self.edges() {
            let reason = self.refuse(p, c).unwrap_or_else(|| "fusing saves no HBM traffic".to_string());
            for &i in &self.members[p] {
                let v = self.g.nodes[i].output;
                if self.readers[v.index()].iter().any(|&r| self.group_of[r] == c) {
                    refusals.push(Refusal {
                        producer: new_id[p],
                        consumer: new_id[c],
                        value: v,
                        reason: reason.clone(),
                    });
                }
            }
        }
        refusals.sort_by_key(|r| (r.producer, r.consumer, r.value));
        let node_group = self.group_of.iter().map(|&g| (g != usize::MAX).then(|| new_id[g])).collect();
        FusionPlan { target: self.target, groups, refusals, node_group }
    }
}

impl Anchor {
    pub fn name(self) -> &'static str {
        match self {
            Anchor::MatMul => "matmul",
            Anchor::Row => "row reduction",
            Anchor::Reduce => "reduction",
            Anchor::Attention => "attention",
            Anchor::Gather => "gather",
            Anchor::Copy => "copy",
        }
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
