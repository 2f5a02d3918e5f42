//! The canonical printer. Output depends only on the graph, so it is
//! deterministic and suitable for snapshots.

use crate::graph::Graph;
use crate::op::{Op, UnaryOp};
use crate::tensor::Data;
use crate::Tensor;
use std::fmt::Write;
use std::sync::Arc;

/// Constants with more elements than this go to the side file.
pub const INLINE_LIMIT: usize = 16;

/// Formats an f64 so that parsing it back gives the same f64.
pub(crate) fn fmt_f64(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{x:?}")
    }
}

fn fmt_f32(x: f32) -> String {
    if x.is_finite() {
        format!("{x:?}")
    } else {
        fmt_f64(x as f64)
    }
}

fn fmt_list<T: std::fmt::Display>(items: &[T]) -> String {
    let parts: Vec<String> = items.iter().map(|x| x.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

fn fmt_data(t: &Tensor) -> String {
    let items: Vec<String> = match t.data() {
        Data::Float(v) => v.iter().map(|&x| fmt_f32(x)).collect(),
        Data::I64(v) => v.iter().map(|x| x.to_string()).collect(),
        Data::I32(v) => v.iter().map(|x| x.to_string()).collect(),
        Data::Bool(v) => v.iter().map(|x| x.to_string()).collect(),
    };
    if t.shape().is_empty() {
        items[0].clone()
    } else {
        format!("[{}]", items.join(", "))
    }
}

/// The attributes of an op as `name = value` pairs, in canonical order.
pub(crate) fn attributes(op: &Op) -> Vec<(&'static str, String)> {
    match op {
        Op::Unary(UnaryOp::GeluTanh) => vec![("approx", "\"tanh\"".into())],
        Op::LeakyRelu { alpha } => vec![("alpha", fmt_f64(*alpha))],
        Op::Cast { to, saturate } => {
            let mut a = vec![("to", to.to_string())];
            if !saturate {
                a.push(("saturate", "false".into()));
            }
            a
        }
        Op::Clip { min, max } => {
            let mut a = Vec::new();
            if let Some(m) = min {
                a.push(("min", fmt_f64(*m)));
            }
            if let Some(m) = max {
                a.push(("max", fmt_f64(*m)));
            }
            a
        }
        Op::Reduce { axes, keep_dims, .. } => vec![("axes", fmt_list(axes)), ("keep_dims", keep_dims.to_string())],
        Op::Softmax { axis } | Op::LogSoftmax { axis } | Op::Concat { axis } | Op::Gather { axis } => {
            vec![("axis", axis.to_string())]
        }
        Op::LayerNorm { axis, epsilon } | Op::RmsNorm { axis, epsilon } => {
            vec![("axis", axis.to_string()), ("epsilon", fmt_f64(*epsilon))]
        }
        Op::Attention { scale, causal } => vec![("scale", fmt_f64(*scale)), ("causal", causal.to_string())],
        Op::Transpose { perm } => vec![("perm", fmt_list(perm))],
        Op::Reshape { shape } | Op::Expand { shape } => vec![("shape", fmt_list(shape))],
        Op::Squeeze { axes } | Op::Unsqueeze { axes } => vec![("axes", fmt_list(axes))],
        Op::Slice { axes } => {
            let col = |f: fn(&crate::op::SliceAxis) -> i64| fmt_list(&axes.iter().map(f).collect::<Vec<_>>());
            vec![
                ("axes", col(|s| s.axis as i64)),
                ("starts", col(|s| s.start)),
                ("ends", col(|s| s.end)),
                ("steps", col(|s| s.step)),
            ]
        }
        Op::Const(_) | Op::Unary(_) | Op::Binary(_) | Op::Where | Op::MatMul => vec![],
    }
}

/// Prints a graph in the canonical text form.
pub fn print_graph(g: &Graph) -> String {
    let mut s = String::new();
    let params: Vec<String> = g.inputs.iter().map(|&v| format!("%{}: {}", g.name_of(v), g.ty(v))).collect();
    let results: Vec<String> = g.outputs.iter().map(|&v| g.ty(v).to_string()).collect();
    let _ = writeln!(s, "graph @{}({}) -> ({}) {{", g.name, params.join(", "), results.join(", "));
    for n in &g.nodes {
        let _ = write!(s, "  %{} = {}", g.name_of(n.output), n.op.name());
        if let Op::Const(t) = &n.op {
            let _ = write!(s, " {} ", g.ty(n.output));
            if t.len() > INLINE_LIMIT {
                let _ = write!(s, "@{}", g.name_of(n.output));
            } else {
                s.push_str(&fmt_data(t));
            }
            s.push('\n');
            continue;
        }
        let operands: Vec<String> = n.inputs.iter().map(|&v| format!("%{}", g.name_of(v))).collect();
        let _ = write!(s, " {}", operands.join(", "));
        let attrs = attributes(&n.op);
        if !attrs.is_empty() {
            let parts: Vec<String> = attrs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            let _ = write!(s, " {{{}}}", parts.join(", "));
        }
        let _ = writeln!(s, " : {}", g.ty(n.output));
    }
    let outs: Vec<String> = g.outputs.iter().map(|&v| format!("%{}", g.name_of(v))).collect();
    let _ = writeln!(s, "  return {}", outs.join(", "));
    s.push_str("}\n");
    s
}

/// The constants that [`print_graph`] writes as `@key`, with their keys.
pub fn external_constants(g: &Graph) -> Vec<(String, Arc<Tensor>)> {
    g.nodes
        .iter()
        .filter_map(|n| match &n.op {
            Op::Const(t) if t.len() > INLINE_LIMIT => Some((g.name_of(n.output).to_string(), t.clone())),
            _ => None,
        })
        .collect()
}
