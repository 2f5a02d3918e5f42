//! The graph: SSA values, nodes in topological order, inputs and outputs.

use crate::infer::{infer_type, TypeError};
use crate::op::Op;
use crate::types::{Dim, TensorType};
use crate::Tensor;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);

impl ValueId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    /// Unique within the graph; the text format writes it as `%name`.
    pub name: String,
    pub ty: TensorType,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub op: Op,
    pub inputs: Vec<ValueId>,
    pub output: ValueId,
    /// Where the node came from (an ONNX node name), for error messages.
    pub origin: Option<String>,
}

/// A dataflow graph. `nodes` are in topological order; values that no node
/// or input defines any more (after a pass) stay in the arena unused.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    pub name: String,
    values: Vec<Value>,
    names: HashSet<String>,
    pub inputs: Vec<ValueId>,
    pub nodes: Vec<Node>,
    pub outputs: Vec<ValueId>,
}

/// Characters allowed in value and graph names: `[A-Za-z0-9_.]`.
pub fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// Maps an arbitrary string (an ONNX tensor name) to a legal name.
pub fn sanitize_name(raw: &str) -> String {
    let s: String = raw.chars().map(|c| if is_name_char(c) { c } else { '_' }).collect();
    if s.is_empty() {
        "v".to_string()
    } else {
        s
    }
}

impl Graph {
    pub fn new(name: impl Into<String>) -> Graph {
        Graph {
            name: sanitize_name(&name.into()),
            values: Vec::new(),
            names: HashSet::new(),
            inputs: Vec::new(),
            nodes: Vec::new(),
            outputs: Vec::new(),
        }
    }

    pub fn value(&self, id: ValueId) -> &Value {
        &self.values[id.index()]
    }

    pub fn ty(&self, id: ValueId) -> &TensorType {
        &self.values[id.index()].ty
    }

    pub fn name_of(&self, id: ValueId) -> &str {
        &self.values[id.index()].name
    }

    pub fn num_values(&self) -> usize {
        self.values.len()
    }

    /// Changes a value's type (binding symbolic dimensions; passes that
    /// rebuild a value in place). The caller keeps the graph consistent.
    pub fn set_type(&mut self, id: ValueId, ty: TensorType) {
        self.values[id.index()].ty = ty;
    }

    /// Exchanges the names of two values (a rewrite that replaces a value
    /// gives the replacement the name users know).
    pub fn swap_names(&mut self, a: ValueId, b: ValueId) {
        let name_a = std::mem::take(&mut self.values[a.index()].name);
        let name_b = std::mem::replace(&mut self.values[b.index()].name, name_a);
        self.values[a.index()].name = name_b;
    }

    /// A fresh value named after `hint` (sanitised, and suffixed if taken).
    pub fn new_value(&mut self, hint: &str, ty: TensorType) -> ValueId {
        let base = sanitize_name(hint);
        let mut name = base.clone();
        let mut n = 1;
        while self.names.contains(&name) {
            name = format!("{base}.{n}");
            n += 1;
        }
        self.names.insert(name.clone());
        self.values.push(Value { name, ty });
        ValueId(self.values.len() as u32 - 1)
    }

    /// Looks a value up by its exact name.
    pub fn find_value(&self, name: &str) -> Option<ValueId> {
        if !self.names.contains(name) {
            return None;
        }
        self.values.iter().position(|v| v.name == name).map(|i| ValueId(i as u32))
    }

    pub fn add_input(&mut self, hint: &str, ty: TensorType) -> ValueId {
        let id = self.new_value(hint, ty);
        self.inputs.push(id);
        id
    }

    /// Appends a node whose result type is inferred from its operands.
    pub fn add_node(&mut self, op: Op, inputs: &[ValueId], hint: &str) -> Result<ValueId, TypeError> {
        let types: Vec<&TensorType> = inputs.iter().map(|&v| self.ty(v)).collect();
        let ty = infer_type(&op, &types)?;
        Ok(self.push_node(op, inputs.to_vec(), ty, hint))
    }

    /// Appends a node with a given result type; [`crate::verify`] checks it.
    pub fn push_node(&mut self, op: Op, inputs: Vec<ValueId>, ty: TensorType, hint: &str) -> ValueId {
        let output = self.new_value(hint, ty);
        self.nodes.push(Node { op, inputs, output, origin: None });
        output
    }

    pub fn add_const(&mut self, hint: &str, tensor: Tensor) -> ValueId {
        let ty = tensor.ty();
        self.push_node(Op::Const(Arc::new(tensor)), vec![], ty, hint)
    }

    /// For every value, the index of the node that defines it.
    pub fn producers(&self) -> Vec<Option<usize>> {
        let mut out = vec![None; self.values.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            out[n.output.index()] = Some(i);
        }
        out
    }

    /// For every value, the indices of the nodes that read it (once per
    /// node, in node order).
    pub fn users(&self) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); self.values.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            for v in &n.inputs {
                if out[v.index()].last() != Some(&i) {
                    out[v.index()].push(i);
                }
            }
        }
        out
    }

    /// The symbolic dimension names used by the graph's inputs, sorted.
    pub fn symbolic_dims(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .inputs
            .iter()
            .flat_map(|&v| self.ty(v).dims.iter())
            .filter_map(|d| match d {
                Dim::Sym(s) => Some(s.clone()),
                Dim::Known(_) => None,
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Replaces symbolic dimensions by sizes in every value's type. Returns
    /// the names left unbound.
    pub fn bind_dims(&mut self, sizes: &HashMap<String, usize>) -> Vec<String> {
        let mut missing = HashSet::new();
        for v in &mut self.values {
            for d in &mut v.ty.dims {
                if let Dim::Sym(s) = d {
                    match sizes.get(s.as_str()) {
                        Some(&n) => *d = Dim::Known(n),
                        None => {
                            missing.insert(s.clone());
                        }
                    }
                }
            }
        }
        let mut missing: Vec<String> = missing.into_iter().collect();
        missing.sort();
        missing
    }
}

impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::text::print_graph(self))
    }
}
