//! The context an op handler works in: one ONNX node, its inputs and
//! attributes, and the staged graph it adds to. Every error made here
//! names the node: `node 'name' (OpType): ...`.

use super::builder::{Builder, Handle};
use super::declared::DeclaredTypes;
use super::proto::{attribute_type, AttributeProto, NodeProto};
use super::tensor::tensor_from_proto;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use trnc_ir::{format_shape, DType, Op, Tensor, TensorType};

pub type Result<T> = std::result::Result<T, String>;

/// What an ONNX tensor name stands for while nodes are imported.
pub enum Binding {
    Value(Handle),
    /// An output the node's handler did not compute (an output the op
    /// does not have); using it is an error with this message.
    Unavailable(String),
}

/// ONNX tensor names in scope, and what is known about names not yet seen.
pub struct Scope {
    pub bindings: HashMap<String, Binding>,
    /// For each node output name, the node that defines it, to tell a
    /// value used too early from one that is never defined.
    pub producers: HashMap<String, String>,
    pub declared: DeclaredTypes,
}

/// `node 'name' (OpType)`, or for an unnamed node its position and first
/// output.
pub fn node_label(node: &NodeProto, index: usize) -> String {
    if !node.name.is_empty() {
        return format!("node '{}' ({})", node.name, node.op_type);
    }
    match node.output.first().filter(|o| !o.is_empty()) {
        Some(out) => format!("node #{index} ({}) computing '{out}'", node.op_type),
        None => format!("node #{index} ({})", node.op_type),
    }
}

/// The name recorded as the origin of IR nodes.
pub fn node_origin(node: &NodeProto, index: usize) -> String {
    if !node.name.is_empty() {
        return node.name.clone();
    }
    match node.output.first().filter(|o| !o.is_empty()) {
        Some(out) => format!("#{index} ({out})"),
        None => format!("#{index}"),
    }
}

pub struct NodeCx<'a> {
    pub node: &'a NodeProto,
    /// The version of the op in effect (the newest defined at or before
    /// the model's opset), for handlers whose forms differ by version.
    pub version: i64,
    pub b: &'a mut Builder,
    scope: &'a mut Scope,
    base_dir: Option<&'a Path>,
    label: String,
    origin: String,
}

impl<'a> NodeCx<'a> {
    pub fn new(
        node: &'a NodeProto,
        index: usize,
        version: i64,
        b: &'a mut Builder,
        scope: &'a mut Scope,
        base_dir: Option<&'a Path>,
    ) -> NodeCx<'a> {
        NodeCx { node, version, b, scope, base_dir, label: node_label(node, index), origin: node_origin(node, index) }
    }

    /// An error message about this node.
    pub fn fail(&self, message: impl std::fmt::Display) -> String {
        format!("{}: {message}", self.label)
    }

    // ---- inputs ----

    fn input_name(&self, i: usize) -> Option<&'a str> {
        self.node.input.get(i).map(String::as_str).filter(|n| !n.is_empty())
    }

    /// Optional input `i`: absent when the list is shorter or the name empty.
    pub fn opt_input(&self, i: usize) -> Result<Option<Handle>> {
        let Some(name) = self.input_name(i) else { return Ok(None) };
        match self.scope.bindings.get(name) {
            Some(Binding::Value(h)) => Ok(Some(*h)),
            Some(Binding::Unavailable(why)) => Err(self.fail(format!("input '{name}': {why}"))),
            None => Err(self.fail(match self.scope.producers.get(name) {
                Some(producer) => format!(
                    "input '{name}' is used before {producer}, which defines it; the nodes must be in topological order"
                ),
                None => format!("input '{name}' is not defined by any node, graph input or initializer"),
            })),
        }
    }

    pub fn input(&self, i: usize) -> Result<Handle> {
        self.opt_input(i)?
            .ok_or_else(|| self.fail(format!("required input {i} is missing ({} given)", self.node.input.len())))
    }

    /// All inputs of a variadic op, which must be present.
    pub fn all_inputs(&self) -> Result<Vec<Handle>> {
        if self.node.input.is_empty() {
            return Err(self.fail("needs at least one input"));
        }
        (0..self.node.input.len()).map(|i| self.input(i)).collect()
    }

    /// Optional input `i` whose data must be known at import (a shape, axes,
    /// slice bounds). `role` is the input's name in the ONNX spec.
    pub fn opt_const_input(&self, i: usize, role: &str) -> Result<Option<Arc<Tensor>>> {
        let Some(h) = self.opt_input(i)? else { return Ok(None) };
        if let Some(t) = self.b.const_value(h) {
            return Ok(Some(t.clone()));
        }
        let name = self.input_name(i).unwrap_or_default();
        let why = match self.b.fold_failure(h) {
            Some(e) => format!("its value could not be computed at import: {e}"),
            None => "it depends on graph inputs".to_string(),
        };
        Err(self.fail(format!("input '{role}' ('{name}') must be a constant known at import, but {why}")))
    }

    pub fn const_input(&self, i: usize, role: &str) -> Result<Arc<Tensor>> {
        self.opt_const_input(i, role)?
            .ok_or_else(|| self.fail(format!("required input '{role}' (input {i}) is missing")))
    }

    /// An optional constant integer list input (axes, shape, starts).
    pub fn opt_const_ints(&self, i: usize, role: &str) -> Result<Option<Vec<i64>>> {
        let Some(t) = self.opt_const_input(i, role)? else { return Ok(None) };
        if !t.dtype().is_int() {
            return Err(self.fail(format!("input '{role}' must be int64 or int32, got {}", t.ty())));
        }
        if t.shape().len() > 1 {
            return Err(self.fail(format!("input '{role}' must be 1-D, got {}", t.ty())));
        }
        Ok(Some(t.to_i64_vec()))
    }

    pub fn const_ints(&self, i: usize, role: &str) -> Result<Vec<i64>> {
        self.opt_const_ints(i, role)?
            .ok_or_else(|| self.fail(format!("required input '{role}' (input {i}) is missing")))
    }

    // ---- attributes ----

    pub fn attr(&self, name: &str) -> Result<Option<&'a AttributeProto>> {
        let Some(a) = self.node.attribute.iter().find(|a| a.name == name) else { return Ok(None) };
        if !a.ref_attr_name.is_empty() {
            return Err(self.fail(format!(
                "attribute '{name}' refers to function attribute '{}', which only exists inside functions",
                a.ref_attr_name
            )));
        }
        Ok(Some(a))
    }

    /// The attribute if present, after checking its declared type (writers
    /// that leave the type unset are trusted).
    fn typed_attr(&self, name: &str, want: i32, what: &str) -> Result<Option<&'a AttributeProto>> {
        match self.attr(name)? {
            Some(a) if a.r#type != 0 && a.r#type != want => {
                Err(self
                    .fail(format!("attribute '{name}' must be {what} (attribute type {want}), got type {}", a.r#type)))
            }
            other => Ok(other),
        }
    }

    pub fn opt_attr_int(&self, name: &str) -> Result<Option<i64>> {
        Ok(self.typed_attr(name, attribute_type::INT, "an int")?.map(|a| a.i))
    }

    pub fn attr_int(&self, name: &str, default: i64) -> Result<i64> {
        Ok(self.opt_attr_int(name)?.unwrap_or(default))
    }

    pub fn attr_float(&self, name: &str, default: f32) -> Result<f32> {
        Ok(self.typed_attr(name, attribute_type::FLOAT, "a float")?.map_or(default, |a| a.f))
    }

    pub fn attr_ints(&self, name: &str) -> Result<Option<Vec<i64>>> {
        Ok(self.typed_attr(name, attribute_type::INTS, "a list of ints")?.map(|a| a.ints.clone()))
    }

    pub fn attr_floats(&self, name: &str) -> Result<Option<Vec<f32>>> {
        Ok(self.typed_attr(name, attribute_type::FLOATS, "a list of floats")?.map(|a| a.floats.clone()))
    }

    pub fn attr_string(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .typed_attr(name, attribute_type::STRING, "a string")?
            .map(|a| String::from_utf8_lossy(&a.s).into_owned()))
    }

    pub fn attr_tensor(&self, name: &str) -> Result<Option<Tensor>> {
        let Some(a) = self.typed_attr(name, attribute_type::TENSOR, "a tensor")? else { return Ok(None) };
        let proto = a.t.as_ref().ok_or_else(|| self.fail(format!("attribute '{name}' holds no tensor")))?;
        tensor_from_proto(proto, self.base_dir).map(Some).map_err(|e| self.fail(format!("attribute '{name}': {e}")))
    }

    // ---- values ----

    pub fn ty(&self, h: Handle) -> &TensorType {
        self.b.ty(h)
    }

    pub fn dtype(&self, h: Handle) -> DType {
        self.b.ty(h).dtype
    }

    pub fn shape(&self, h: Handle) -> Vec<usize> {
        self.b.shape(h)
    }

    pub fn rank(&self, h: Handle) -> usize {
        self.b.ty(h).rank()
    }

    /// Normalises an ONNX axis (negative counts from the end) for `rank`.
    pub fn axis(&self, axis: i64, rank: usize) -> Result<usize> {
        let r = rank as i64;
        if axis < -r || axis >= r {
            return Err(self.fail(format!("axis {axis} is out of range for rank {rank}")));
        }
        Ok(if axis < 0 { axis + r } else { axis } as usize)
    }

    /// Normalises a list of axes, sorted; a repeated axis is an error.
    pub fn axes(&self, axes: &[i64], rank: usize) -> Result<Vec<usize>> {
        let mut out = axes.iter().map(|&a| self.axis(a, rank)).collect::<Result<Vec<_>>>()?;
        out.sort_unstable();
        if out.windows(2).any(|w| w[0] == w[1]) {
            return Err(self.fail(format!("axes {axes:?} repeat an axis")));
        }
        Ok(out)
    }

    /// The ONNX name of output `i` ("" if absent), the name to give the
    /// value that becomes that output.
    pub fn out(&self, i: usize) -> String {
        self.node.output.get(i).cloned().unwrap_or_default()
    }

    /// A name for an intermediate value of a node that expands to several
    /// ops.
    pub fn tmp(&self, suffix: &str) -> String {
        format!("{}_{suffix}", self.out(0))
    }

    /// Adds an IR op; a type error (dtypes, shapes) names the node and the
    /// operands.
    pub fn emit(&mut self, op: Op, operands: &[Handle], hint: &str) -> Result<Handle> {
        let op_name = op.name();
        self.b.op(op, operands, hint, &self.origin).map_err(|e| {
            let described: Vec<String> =
                operands.iter().map(|&h| format!("'{}': {}", self.b.hint(h), self.b.ty(h))).collect();
            self.fail(format!("{} (in {op_name} of {})", e.message, described.join(", ")))
        })
    }

    /// A constant made by this node.
    pub fn constant(&mut self, tensor: Tensor, hint: &str) -> Handle {
        self.b.constant(Arc::new(tensor), hint, Some(&self.origin))
    }

    /// A scalar constant of `dtype`.
    pub fn scalar(&mut self, dtype: DType, value: f64, hint: &str) -> Handle {
        self.constant(Tensor::scalar(dtype, value), hint)
    }

    /// Binds output `i` (if the model names it) to `h`, checking the type
    /// the model declares for it, if any.
    pub fn set_output(&mut self, i: usize, h: Handle) -> Result<()> {
        let Some(name) = self.node.output.get(i).filter(|n| !n.is_empty()) else { return Ok(()) };
        self.scope.declared.check(name, self.b.ty(h)).map_err(|e| self.fail(e))?;
        if self.scope.bindings.insert(name.clone(), Binding::Value(h)).is_some() {
            return Err(self.fail(format!("output '{name}' is already defined by an earlier node or the graph")));
        }
        Ok(())
    }

    /// Checks that a tensor shape is as expected, for ops that need ranks.
    pub fn expect_rank(&self, h: Handle, rank: usize, role: &str) -> Result<()> {
        if self.rank(h) != rank {
            return Err(self.fail(format!(
                "input '{role}' must have rank {rank}, got {} ('{}' has shape {})",
                self.rank(h),
                self.b.hint(h),
                format_shape(&self.shape(h))
            )));
        }
        Ok(())
    }
}
