//! What a group is made of: its nodes, where each operand comes from (an
//! HBM input behind a chain of views, a value computed in the group, or a
//! one-element constant that becomes an immediate), and which values the
//! kernel writes.

use std::collections::HashMap;

use crate::error::LowerError;
use crate::view::StridedView;
use crate::GroupSpec;
use trnc_ir::{describe_node, DType, Graph, Op, ValueId};

/// Where an operand's data lives.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Source {
    /// The kernel's HBM input at this position.
    Input(usize),
    /// The result of a node of the group (on chip).
    Node(usize),
    /// A constant with one element: an immediate in the instruction.
    Imm(f64),
}

/// An operand as read by a node: its source, the source value, and the
/// view ops (node indices, in application order) between them.
#[derive(Clone, Debug)]
pub(crate) struct Read {
    pub source: Source,
    pub value: ValueId,
    pub chain: Vec<usize>,
}

pub(crate) struct GroupInfo<'a> {
    pub g: &'a Graph,
    pub name: String,
    /// Node indices, sorted (graph order is topological).
    pub nodes: Vec<usize>,
    pub inputs: &'a [ValueId],
    pub outputs: &'a [ValueId],
    producer: Vec<Option<usize>>,
    member: Vec<bool>,
    input_pos: HashMap<ValueId, usize>,
    output_pos: HashMap<ValueId, usize>,
}

impl<'a> GroupInfo<'a> {
    pub fn new(spec: &'a GroupSpec<'a>) -> Result<GroupInfo<'a>, LowerError> {
        let g = spec.graph;
        let name = spec.name.clone();
        let err = |m: String| LowerError::group(&name, m);
        let mut nodes = spec.nodes.to_vec();
        nodes.sort_unstable();
        nodes.dedup();
        if nodes.is_empty() {
            return Err(err("the group has no nodes".into()));
        }
        if let Some(&i) = nodes.iter().find(|&&i| i >= g.nodes.len()) {
            return Err(err(format!("node index {i} is out of range (the graph has {} nodes)", g.nodes.len())));
        }
        let mut member = vec![false; g.nodes.len()];
        for &i in &nodes {
            member[i] = true;
        }
        let producer = g.producers();
        let valid = |v: ValueId| v.index() < g.num_values();
        if let Some(v) = spec.inputs.iter().chain(spec.outputs).find(|v| !valid(**v)) {
            return Err(err(format!("value id {} is out of range", v.0)));
        }
        let info = GroupInfo {
            g,
            name: name.clone(),
            nodes,
            inputs: spec.inputs,
            outputs: spec.outputs,
            producer,
            member,
            input_pos: spec.inputs.iter().enumerate().map(|(i, &v)| (v, i)).collect(),
            output_pos: spec.outputs.iter().enumerate().map(|(i, &v)| (v, i)).collect(),
        };
        info.check()?;
        Ok(info)
    }

    /// Static shapes, dtypes NKI has, outputs computed here, inputs not.
    fn check(&self) -> Result<(), LowerError> {
        let g = self.g;
        for &v in self.inputs.iter().chain(self.outputs) {
            self.check_value(v, None)?;
        }
        for &i in &self.nodes {
            let n = &g.nodes[i];
            if matches!(n.op, Op::Const(_)) {
                return Err(self.node_err(i, "constants live in HBM; they are inputs of a kernel, not nodes of it"));
            }
            self.check_value(n.output, Some(i))?;
            let (lo, hi) = n.op.arity();
            if n.inputs.len() < lo.max(1) || n.inputs.len() > hi {
                return Err(self.node_err(i, format!("has {} operands", n.inputs.len())));
            }
            for &u in &n.inputs {
                if u.index() >= g.num_values() {
                    return Err(self.node_err(i, "operand value id out of range"));
                }
            }
        }
        for &v in self.outputs {
            let through_view = self.transposed_output(v).is_some();
            if !through_view && !self.producer[v.index()].is_some_and(|i| self.member[i]) {
                return Err(LowerError::group(
                    &self.name,
                    format!("output %{} is not computed by a node of the group", g.name_of(v)),
                ));
            }
        }
        for &v in self.inputs {
            if self.producer[v.index()].is_some_and(|i| self.member[i]) {
                return Err(LowerError::group(
                    &self.name,
                    format!("input %{} is computed by a node of the group", g.name_of(v)),
                ));
            }
        }
        Ok(())
    }

    fn check_value(&self, v: ValueId, node: Option<usize>) -> Result<(), LowerError> {
        let ty = self.g.ty(v);
        let fail = |m: String| match node {
            Some(i) => self.node_err(i, m),
            None => LowerError::group(&self.name, m),
        };
        if let Err(sym) = ty.shape() {
            return Err(fail(format!("%{} has the symbolic dimension '{sym}'; bind it first", self.g.name_of(v))));
        }
        if ty.dtype == DType::I64 {
            return Err(fail(format!(
                "%{} is i64, which NKI has no dtype for (nki-api.md §2); narrow it to i32 before lowering",
                self.g.name_of(v)
            )));
        }
        Ok(())
    }

    pub fn describe(&self, node: usize) -> String {
        describe_node(self.g, node)
    }

    pub fn node_err(&self, node: usize, message: impl Into<String>) -> LowerError {
        LowerError::node(&self.name, node, self.describe(node), message)
    }

    pub fn group_err(&self, message: impl Into<String>) -> LowerError {
        LowerError::group(&self.name, message)
    }

    pub fn producer(&self, v: ValueId) -> Option<usize> {
        self.producer[v.index()]
    }

    pub fn output_pos(&self, v: ValueId) -> Option<usize> {
        self.output_pos.get(&v).copied()
    }

    /// For an output that is a transpose of a value the group computes:
    /// that value and the permutation.
    fn transposed_output(&self, w: ValueId) -> Option<(ValueId, &[usize])> {
        let j = self.producer(w)?;
        match &self.g.nodes[j].op {
            Op::Transpose { perm } if !self.member[j] => {
                let v = self.g.nodes[j].inputs[0];
                self.producer(v).is_some_and(|i| self.member[i]).then_some((v, &perm[..]))
            }
            _ => None,
        }
    }

    /// Where the kernel writes `v`: the output's position and its layout in
    /// `v`'s own index space. The output may be a transpose of `v` that a
    /// consumer needs contiguous (attention heads merged by transpose and
    /// reshape): the kernel then writes through the permutation instead of
    /// a copy kernel moving the data again.
    pub fn output_view(&self, v: ValueId) -> Option<(usize, StridedView)> {
        if let Some(pos) = self.output_pos(v) {
            return Some((pos, StridedView::contiguous(&self.shape(v))));
        }
        self.outputs.iter().enumerate().find_map(|(pos, &w)| {
            let (src, perm) = self.transposed_output(w).filter(|(src, _)| *src == v)?;
            let written = StridedView::contiguous(&self.shape(w));
            // Axis a of the output is axis perm[a] of v.
            let mut dims = vec![(0, 0); perm.len()];
            for (a, &p) in perm.iter().enumerate() {
                dims[p] = written.dims[a];
            }
            debug_assert_eq!(dims.iter().map(|d| d.1).collect::<Vec<_>>(), self.shape(src));
            Some((pos, StridedView { offset: 0, dims }))
        })
    }

    pub fn shape(&self, v: ValueId) -> Vec<usize> {
        self.g.ty(v).shape().unwrap_or_default()
    }

    pub fn dtype(&self, v: ValueId) -> DType {
        self.g.ty(v).dtype
    }

    /// Where operand `v` of node `reader` comes from: walks back through
    /// view ops until it reaches a kernel input, a value of the group or a
    /// one-element constant.
    pub fn resolve(&self, reader: usize, v: ValueId) -> Result<Read, LowerError> {
        let g = self.g;
        let mut chain = Vec::new();
        let mut cur = v;
        loop {
            // One-element constants are immediates even when the caller
            // also lists them as inputs.
            if let Some(Op::Const(t)) = self.producer[cur.index()].map(|i| &g.nodes[i].op) {
                if t.len() == 1 {
                    chain.reverse();
                    return Ok(Read { source: Source::Imm(t.get_f64(0)), value: cur, chain });
                }
            }
            if let Some(&pos) = self.input_pos.get(&cur) {
                chain.reverse();
                return Ok(Read { source: Source::Input(pos), value: cur, chain });
            }
            match self.producer[cur.index()] {
                Some(i) if self.member[i] => {
                    chain.reverse();
                    return Ok(Read { source: Source::Node(i), value: cur, chain });
                }
                Some(i) => match &g.nodes[i].op {
                    op if op.is_view() && !g.nodes[i].inputs.is_empty() => {
                        chain.push(i);
                        cur = g.nodes[i].inputs[0];
                    }
                    _ => break,
                },
                None => break,
            }
        }
        Err(self.node_err(
            reader,
            format!(
                "operand %{} comes from %{}, which is neither an input of the kernel nor computed in it",
                g.name_of(v),
                g.name_of(cur)
            ),
        ))
    }

    /// Operand `k` of `node` read straight from a kernel input (through
    /// its views) and broadcast to `shape`: the input's position and the
    /// access pattern. Operands computed in the kernel are refused: the
    /// generators that call this stream operands from HBM.
    pub fn input_operand(&self, node: usize, k: usize, shape: &[usize]) -> Result<(usize, StridedView), LowerError> {
        let v = self.g.nodes[node].inputs[k];
        let read = self.resolve(node, v)?;
        let Source::Input(input) = read.source else {
            return Err(self.node_err(
                node,
                format!("not implemented yet: a {} operand computed in the same kernel", self.g.nodes[node].op.name()),
            ));
        };
        let view = self.chain_view(node, &read, StridedView::contiguous(&self.shape(read.value)))?;
        let view = view.broadcast_to(shape).map_err(|e| self.node_err(node, e))?;
        Ok((input, view))
    }

    /// A builder whose HBM tensors are the group's inputs and outputs.
    pub fn builder(&self, origin: Vec<String>) -> crate::builder::Builder {
        let hbm = |v: &ValueId| trnc_ir::kernel::HbmTensor {
            name: self.g.name_of(*v).to_string(),
            dtype: self.dtype(*v),
            shape: self.shape(*v),
        };
        crate::builder::Builder::new(
            &self.name,
            self.inputs.iter().map(hbm).collect(),
            self.outputs.iter().map(hbm).collect(),
            origin,
        )
    }

    /// The view of `read`'s source that the reader sees, starting from
    /// `base` (the source's own layout), in the reader's operand shape.
    pub fn chain_view(&self, reader: usize, read: &Read, base: StridedView) -> Result<StridedView, LowerError> {
        let mut view = base;
        for &i in &read.chain {
            let n = &self.g.nodes[i];
            let out = self.shape(n.output);
            view = view
                .apply(&n.op, &out)
                .map_err(|m| self.node_err(reader, format!("through {}: {m}", self.describe(i))))?;
        }
        Ok(view)
    }
}
