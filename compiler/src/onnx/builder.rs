//! A staging area for the imported graph. Values are added as the ONNX
//! nodes are read; the IR graph is written only at the end, by
//! [`Builder::finish`], which
//! - keeps only what the graph outputs need (ONNX exports carry dead
//!   constants, and folding leaves the initializers it consumed unused);
//! - names values after the model's tensors, graph outputs first, so an
//!   output keeps its ONNX name even when an `Identity` aliases it.
//!
//! Every op whose operands are all constants is evaluated right away by the
//! reference backend ([`fold_constant`]), so shape computations (Shape →
//! Gather → Concat → Reshape) become constants that later nodes can read.

use std::collections::HashMap;
use std::sync::Arc;
use trnc_ir::{infer_type, sanitize_name, Graph, Node, Op, Tensor, TensorType, TypeError, ValueId};

/// The largest shape any value may have: far beyond real models, small
/// enough that element and byte counts never overflow.
const MAX_DIM_OR_ELEMENTS: usize = 1 << 48;

/// Results larger than this (elements) are not folded: a constant that
/// large would bloat the graph, and may come from a corrupt shape.
const MAX_FOLDED_ELEMENTS: usize = 1 << 24;

/// The element count of a static type, or `None` if it (or a dimension)
/// exceeds [`MAX_DIM_OR_ELEMENTS`].
pub fn checked_element_count(ty: &TensorType) -> Option<usize> {
    ty.dims
        .iter()
        .try_fold(1usize, |acc, d| {
            let n = d.known().unwrap_or(0);
            if n > MAX_DIM_OR_ELEMENTS {
                return None;
            }
            acc.checked_mul(n)
        })
        .filter(|&n| n <= MAX_DIM_OR_ELEMENTS)
}

/// A value of the staged graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Handle(u32);

impl Handle {
    fn index(self) -> usize {
        self.0 as usize
    }
}

enum Def {
    Input,
    Const(Arc<Tensor>),
    Node { op: Op, operands: Vec<Handle> },
}

struct Entry {
    ty: TensorType,
    def: Def,
    /// Preferred name in the IR (an ONNX tensor name).
    hint: String,
    /// The ONNX node the value comes from.
    origin: Option<String>,
}

#[derive(Default)]
pub struct Builder {
    entries: Vec<Entry>,
    /// Why an op with constant operands could not be evaluated at import;
    /// reported if a later node needs that value as a constant.
    fold_failures: HashMap<Handle, String>,
}

impl Builder {
    fn push(&mut self, ty: TensorType, def: Def, hint: &str, origin: Option<&str>) -> Handle {
        self.entries.push(Entry { ty, def, hint: hint.to_string(), origin: origin.map(str::to_string) });
        Handle(self.entries.len() as u32 - 1)
    }

    pub fn input(&mut self, name: &str, ty: TensorType) -> Handle {
        self.push(ty, Def::Input, name, None)
    }

    pub fn constant(&mut self, tensor: Arc<Tensor>, hint: &str, origin: Option<&str>) -> Handle {
        self.push(tensor.ty(), Def::Const(tensor), hint, origin)
    }

    pub fn ty(&self, h: Handle) -> &TensorType {
        &self.entries[h.index()].ty
    }

    /// The static shape. Symbolic dimensions are bound before any node is
    /// imported, so every staged value has one.
    pub fn shape(&self, h: Handle) -> Vec<usize> {
        self.ty(h).dims.iter().map(|d| d.known().unwrap_or(0)).collect()
    }

    pub fn hint(&self, h: Handle) -> &str {
        &self.entries[h.index()].hint
    }

    /// The value's data, if it is known at import.
    pub fn const_value(&self, h: Handle) -> Option<&Arc<Tensor>> {
        match &self.entries[h.index()].def {
            Def::Const(t) => Some(t),
            _ => None,
        }
    }

    pub fn fold_failure(&self, h: Handle) -> Option<&str> {
        self.fold_failures.get(&h).map(String::as_str)
    }

    /// Adds `op` applied to `operands`; its type is inferred. If all
    /// operands are constants the op is evaluated now and the result is a
    /// constant (when the reference backend can evaluate it).
    pub fn op(&mut self, op: Op, operands: &[Handle], hint: &str, origin: &str) -> Result<Handle, TypeError> {
        let types: Vec<&TensorType> = operands.iter().map(|&h| self.ty(h)).collect();
        let ty = infer_type(&op, &types)?;
        let Some(count) = checked_element_count(&ty) else {
            return Err(TypeError { message: format!("the result {ty} is too large"), operand: None });
        };
        let constants: Option<Vec<&Tensor>> = operands.iter().map(|&h| self.const_value(h).map(|t| &**t)).collect();
        // A value whose non-constant operands all failed to fold would have
        // been constant: it inherits the reason.
        let mut fold_failure = operands
            .iter()
            .filter(|&&h| self.const_value(h).is_none())
            .map(|h| self.fold_failures.get(h).cloned())
            .collect::<Option<Vec<String>>>()
            .and_then(|reasons| reasons.into_iter().next());
        if let Some(constants) = constants {
            let folded = if count <= MAX_FOLDED_ELEMENTS {
                fold_constant(&op, &constants, &ty)
            } else {
                Err(format!("the result {ty} is too large to compute at import"))
            };
            match folded {
                Ok(t) => return Ok(self.constant(Arc::new(t), hint, Some(origin))),
                Err(why) => fold_failure = Some(format!("{why} (at node '{origin}')")),
            }
        }
        let h = self.push(ty, Def::Node { op, operands: operands.to_vec() }, hint, Some(origin));
        if let Some(why) = fold_failure {
            self.fold_failures.insert(h, why);
        }
        Ok(h)
    }

    /// Which values the outputs need.
    fn live(&self, outputs: &[(Handle, String)]) -> Vec<bool> {
        let mut live = vec![false; self.entries.len()];
        for (h, _) in outputs {
            live[h.index()] = true;
        }
        for i in (0..self.entries.len()).rev() {
            if live[i] {
                if let Def::Node { operands, .. } = &self.entries[i].def {
                    for o in operands {
                        live[o.index()] = true;
                    }
                }
            }
        }
        live
    }

    /// Writes the IR graph: all `inputs` (used or not), then the nodes the
    /// `outputs` need, in the order they were added (a topological order,
    /// since operands always exist before their users).
    pub fn finish(self, name: &str, inputs: &[Handle], outputs: &[(Handle, String)]) -> Graph {
        let mut g = Graph::new(name);
        let live = self.live(outputs);
        let mut ids: Vec<Option<ValueId>> = vec![None; self.entries.len()];
        for &h in inputs {
            let e = &self.entries[h.index()];
            ids[h.index()] = Some(g.add_input(&e.hint, e.ty.clone()));
        }
        // Outputs are named before anything else can take their names. A
        // value that already has another name (a graph input, an output
        // listed under two names, an Identity of an output) gets a copy
        // under the output's name: the IR has no identity op, so the copy
        // is a reshape to the same shape.
        let mut copies: Vec<(usize, ValueId)> = Vec::new();
        for (k, (h, out_name)) in outputs.iter().enumerate() {
            let ty = self.entries[h.index()].ty.clone();
            match ids[h.index()] {
                None => ids[h.index()] = Some(g.new_value(out_name, ty)),
                Some(id) if g.name_of(id) != sanitize_name(out_name) => copies.push((k, g.new_value(out_name, ty))),
                Some(_) => {}
            }
        }
        for (i, e) in self.entries.iter().enumerate() {
            if !live[i] {
                continue;
            }
            let (op, operands) = match &e.def {
                Def::Input => continue,
                Def::Const(t) => (Op::Const(t.clone()), vec![]),
                Def::Node { op, operands } => (op.clone(), operands.clone()),
            };
            let inputs =
                operands.iter().map(|o| ids[o.index()].expect("operands are added before their users")).collect();
            let output = *ids[i].get_or_insert_with(|| g.new_value(&e.hint, e.ty.clone()));
            g.nodes.push(Node { op, inputs, output, origin: e.origin.clone() });
        }
        g.outputs = outputs.iter().map(|(h, _)| ids[h.index()].expect("outputs are live")).collect();
        for (k, copy) in copies {
            let source = g.outputs[k];
            let shape = self.shape(outputs[k].0);
            g.nodes.push(Node { op: Op::Reshape { shape }, inputs: vec![source], output: copy, origin: None });
            g.outputs[k] = copy;
        }
        g
    }
}

/// Evaluates an op on constant operands with the reference backend. The
/// result must have the type inference gave, or it is not used.
pub fn fold_constant(op: &Op, operands: &[&Tensor], ty: &TensorType) -> Result<Tensor, String> {
    let t = trnc_backend_cpu::eval_op(op, operands, ty)?;
    if t.ty() != *ty {
        return Err(format!(
            "the reference backend computed {} for {}, which type inference says is {ty}",
            t.ty(),
            op.name()
        ));
    }
    Ok(t)
}
