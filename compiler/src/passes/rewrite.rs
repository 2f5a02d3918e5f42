//! Rewriting a graph in one forward sweep.
//!
//! The node list is rebuilt in order; a rule sees each node with its
//! operands already substituted, may append new nodes, and may replace the
//! node's result by another value. Because replacements are always defined
//! before the node they replace, topological order holds by construction.
//! Dead nodes are left for `dce`.

use std::sync::Arc;
use trnc_ir::{Graph, Node, Op, Tensor, TypeError, ValueId};

/// A view of the graph being rebuilt, given to rewrite rules.
pub struct Rewriter<'g> {
    pub graph: &'g mut Graph,
    /// Node index (in the rebuilt list) defining each value.
    producer: Vec<Option<usize>>,
    /// Number of node operands (and graph outputs) reading each value in the
    /// graph as it was before the sweep. Rules use it to check that an
    /// intermediate value has no other reader before absorbing it.
    uses: Vec<usize>,
}

impl Rewriter<'_> {
    /// The node that defines `v`, if a node does (inputs have none).
    pub fn def(&self, v: ValueId) -> Option<&Node> {
        self.producer.get(v.index()).copied().flatten().map(|i| &self.graph.nodes[i])
    }

    /// The op defining `v`.
    pub fn op(&self, v: ValueId) -> Option<&Op> {
        self.def(v).map(|n| &n.op)
    }

    /// The operands of the node defining `v`.
    pub fn operands(&self, v: ValueId) -> &[ValueId] {
        self.def(v).map_or(&[], |n| &n.inputs)
    }

    pub fn constant(&self, v: ValueId) -> Option<&Arc<Tensor>> {
        match self.op(v) {
            Some(Op::Const(t)) => Some(t),
            _ => None,
        }
    }

    /// True if `v` is a constant whose every element equals `x`.
    pub fn is_splat(&self, v: ValueId, x: f64) -> bool {
        self.constant(v).is_some_and(|t| !t.is_empty() && (0..t.len()).all(|i| t.get_f64(i) == x))
    }

    /// The single value of a constant with one element, or of a splat.
    pub fn scalar(&self, v: ValueId) -> Option<f64> {
        let t = self.constant(v)?;
        let first = t.get_f64(0);
        (!t.is_empty() && (0..t.len()).all(|i| t.get_f64(i) == first)).then_some(first)
    }

    /// Number of readers of `v` before the sweep began.
    pub fn uses(&self, v: ValueId) -> usize {
        self.uses.get(v.index()).copied().unwrap_or(usize::MAX)
    }

    /// Appends a node with an inferred type; keeps `origin` of the node
    /// being rewritten for error messages.
    pub fn add(&mut self, op: Op, inputs: &[ValueId], hint: &str) -> Result<ValueId, TypeError> {
        let v = self.graph.add_node(op, inputs, hint)?;
        self.note_pushed();
        Ok(v)
    }

    /// Re-emits `node` with another op and operands but the same result
    /// value (and so the same name); the new op must give the same type.
    pub fn replace_op(&mut self, node: &Node, op: Op, inputs: Vec<ValueId>) -> ValueId {
        self.graph.nodes.push(Node { op, inputs, output: node.output, origin: node.origin.clone() });
        self.note_pushed();
        node.output
    }

    pub fn add_const(&mut self, hint: &str, t: Tensor) -> ValueId {
        let v = self.graph.add_const(hint, t);
        self.note_pushed();
        v
    }

    fn note_pushed(&mut self) {
        let i = self.graph.nodes.len() - 1;
        let out = self.graph.nodes[i].output.index();
        if self.producer.len() <= out {
            self.producer.resize(out + 1, None);
        }
        self.producer[out] = Some(i);
    }
}

/// Runs `rule` over every node in order. `rule` returns `Some(v)` to
/// replace the node's result by `v` (the node is dropped) or `None` to
/// keep it. Returns whether anything changed.
pub fn rewrite(g: &mut Graph, mut rule: impl FnMut(&mut Rewriter, &Node) -> Option<ValueId>) -> bool {
    let old = std::mem::take(&mut g.nodes);
    let mut uses = vec![0usize; g.num_values()];
    for n in &old {
        for v in &n.inputs {
            uses[v.index()] += 1;
        }
    }
    for v in &g.outputs {
        uses[v.index()] += 1;
    }
    let mut subst: Vec<Option<ValueId>> = vec![None; g.num_values()];
    let mut changed = false;
    let mut rw = Rewriter { producer: vec![None; g.num_values()], uses, graph: g };
    for mut node in old {
        for v in &mut node.inputs {
            if let Some(s) = subst.get(v.index()).copied().flatten() {
                *v = s;
            }
        }
        let origin = node.origin.clone();
        let first_new = rw.graph.nodes.len();
        match rule(&mut rw, &node) {
            Some(replacement) => {
                changed = true;
                subst[node.output.index()] = Some(replacement);
                // A value this rule just made takes over the name of the one
                // it replaces, so outputs and dumps keep the names users know.
                let made_here = rw.graph.nodes[first_new..].iter().any(|n| n.output == replacement);
                if made_here && replacement != node.output {
                    rw.graph.swap_names(node.output, replacement);
                }
                for n in &mut rw.graph.nodes[first_new..] {
                    if n.origin.is_none() {
                        n.origin = origin.clone();
                    }
                }
            }
            None => {
                rw.graph.nodes.push(node);
                rw.note_pushed();
            }
        }
    }
    for v in &mut g.outputs {
        if let Some(s) = subst.get(v.index()).copied().flatten() {
            *v = s;
        }
    }
    changed
}
