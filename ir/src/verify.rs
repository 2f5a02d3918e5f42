//! The verifier: checks that a graph is well formed and well typed.
//!
//! Architecture invariant: every graph handed from one stage to the next
//! (frontend → passes → backends) passes `verify`.

use crate::graph::Graph;
use crate::infer::infer_type;
use crate::op::Op;
use crate::types::TensorType;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct VerifyError {
    /// Index of the offending node, when the problem is in a node.
    pub node: Option<usize>,
    pub message: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for VerifyError {}

/// Renders `%out = op %a, %b` for messages.
pub fn describe_node(g: &Graph, index: usize) -> String {
    let n = &g.nodes[index];
    let operands: Vec<String> = n.inputs.iter().map(|&v| format!("%{}", g.name_of(v))).collect();
    let mut s = format!("%{} = {}", g.name_of(n.output), n.op.name());
    if !operands.is_empty() {
        s.push(' ');
        s.push_str(&operands.join(", "));
    }
    if let Some(origin) = &n.origin {
        s.push_str(&format!(" (from node '{origin}')"));
    }
    s
}

/// Checks definitions before uses, single definitions, declared result
/// types against inferred ones, and constant data against its type.
pub fn verify(g: &Graph) -> Result<(), VerifyError> {
    let mut defined = vec![false; g.num_values()];
    let fail = |node: Option<usize>, message: String| Err(VerifyError { node, message });
    for &v in &g.inputs {
        if std::mem::replace(&mut defined[v.index()], true) {
            return fail(None, format!("graph input %{} is listed twice", g.name_of(v)));
        }
    }
    for (i, n) in g.nodes.iter().enumerate() {
        for &v in &n.inputs {
            if !defined[v.index()] {
                return fail(
                    Some(i),
                    format!("`{}`: operand %{} is used before it is defined", describe_node(g, i), g.name_of(v)),
                );
            }
        }
        let operand_types: Vec<&TensorType> = n.inputs.iter().map(|&v| g.ty(v)).collect();
        match infer_type(&n.op, &operand_types) {
            Err(e) => {
                let types: Vec<String> = n.inputs.iter().map(|&v| format!("%{}: {}", g.name_of(v), g.ty(v))).collect();
                return fail(
                    Some(i),
                    format!("`{}`: {} (operands: {})", describe_node(g, i), e.message, types.join(", ")),
                );
            }
            Ok(ty) if &ty != g.ty(n.output) => {
                return fail(
                    Some(i),
                    format!("`{}`: result is declared {} but the op gives {}", describe_node(g, i), g.ty(n.output), ty),
                );
            }
            Ok(_) => {}
        }
        if let Op::Const(t) = &n.op {
            if t.ty() != *g.ty(n.output) {
                return fail(Some(i), format!("`{}`: constant data is {}", describe_node(g, i), t.ty()));
            }
        }
        if std::mem::replace(&mut defined[n.output.index()], true) {
            return fail(Some(i), format!("`{}`: %{} is defined twice", describe_node(g, i), g.name_of(n.output)));
        }
    }
    for &v in &g.outputs {
        if !defined[v.index()] {
            return fail(None, format!("graph output %{} is never defined", g.name_of(v)));
        }
    }
    if g.outputs.is_empty() {
        return fail(None, format!("graph @{} returns nothing", g.name));
    }
    Ok(())
}
