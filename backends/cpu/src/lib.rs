//! The reference backend: interprets the graph IR plainly and exactly. It
//! is the golden every other backend and pass is compared against, so it
//! favours obvious code over fast code.
//!
//! Numerics: integer tensors compute exactly in i64 (wrapping); everything
//! else computes in f64 and every op's result is rounded once to its dtype
//! (`DType::round`). Layout ops copy elements and never convert them.

mod attention;
mod elementwise;
mod index;
mod layout;
mod linalg;
mod math;
mod norm;
mod reduce;
mod values;

use trnc_ir::{infer_type, Graph, Op, Tensor, TensorType};

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct RunError {
    /// Index of the node that failed, if a node failed.
    pub node: Option<usize>,
    pub message: String,
}

/// Runs `graph` on `inputs` (one per graph input, in order) and returns one
/// tensor per graph output.
pub fn run(graph: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, RunError> {
    let fail = |node: Option<usize>, message: String| RunError { node, message };
    if inputs.len() != graph.inputs.len() {
        return Err(fail(None, format!("the graph takes {} input(s), got {}", graph.inputs.len(), inputs.len())));
    }
    let mut env: Vec<Option<Tensor>> = vec![None; graph.num_values()];
    for (i, (&id, t)) in graph.inputs.iter().zip(inputs).enumerate() {
        let want = graph.ty(id);
        if t.ty() != *want {
            return Err(fail(
                None,
                format!("input {i} (%{}) is {} but the graph expects {want}", graph.name_of(id), t.ty()),
            ));
        }
        env[id.index()] = Some(t.clone());
    }
    for (n, node) in graph.nodes.iter().enumerate() {
        let mut operands = Vec::with_capacity(node.inputs.len());
        for &v in &node.inputs {
            let t = env[v.index()]
                .as_ref()
                .ok_or_else(|| fail(Some(n), format!("operand %{} has no value yet", graph.name_of(v))))?;
            operands.push(t);
        }
        let result = eval_op(&node.op, &operands, graph.ty(node.output)).map_err(|m| fail(Some(n), m))?;
        env[node.output.index()] = Some(result);
    }
    graph
        .outputs
        .iter()
        .map(|&v| {
            env[v.index()]
                .clone()
                .ok_or_else(|| fail(None, format!("graph output %{} is never defined", graph.name_of(v))))
        })
        .collect()
}

/// Evaluates one op on concrete operands; `out` is the node's result type.
/// The operand types are checked against `out` by type inference first, so
/// the kernels below may rely on well-typed operands.
pub fn eval_op(op: &Op, operands: &[&Tensor], out: &TensorType) -> Result<Tensor, String> {
    let types: Vec<TensorType> = operands.iter().map(|t| t.ty()).collect();
    let refs: Vec<&TensorType> = types.iter().collect();
    let inferred = infer_type(op, &refs).map_err(|e| format!("{}: {}", op.name(), e.message))?;
    if inferred != *out {
        return Err(format!("{} gives {inferred} but the result is declared {out}", op.name()));
    }
    let shape = out.shape().map_err(|sym| format!("dimension '{sym}' has no size"))?;
    let result = dispatch(op, operands, out, &shape)?;
    if result.ty() != *out {
        return Err(format!("internal: {} produced {} instead of {out}", op.name(), result.ty()));
    }
    Ok(result)
}

fn dispatch(op: &Op, x: &[&Tensor], out: &TensorType, shape: &[usize]) -> Result<Tensor, String> {
    use elementwise as ew;
    Ok(match op {
        Op::Const(t) => (**t).clone(),
        Op::Unary(u) => ew::unary(*u, x[0])?,
        Op::LeakyRelu { alpha } => ew::leaky_relu(*alpha, x[0])?,
        Op::Binary(b) => ew::binary(*b, x[0], x[1], out.dtype, shape)?,
        Op::Where => ew::select(x[0], x[1], x[2], shape)?,
        Op::Cast { to, saturate } => ew::cast(x[0], *to, *saturate)?,
        Op::Clip { min, max } => ew::clip(x[0], *min, *max)?,
        Op::MatMul => linalg::matmul(x[0], x[1], out.dtype, shape)?,
        Op::Reduce { op, axes, .. } => reduce::reduce(*op, x[0], axes, shape)?,
        Op::Softmax { axis } => norm::softmax(x[0], *axis, false),
        Op::LogSoftmax { axis } => norm::softmax(x[0], *axis, true),
        Op::LayerNorm { axis, epsilon } => {
            norm::layer_norm(x[0], x.get(1).copied(), x.get(2).copied(), *axis, *epsilon)
        }
        Op::RmsNorm { axis, epsilon } => norm::rms_norm(x[0], x.get(1).copied(), *axis, *epsilon),
        Op::Transpose { perm } => layout::transpose(x[0], perm, shape)?,
        Op::Reshape { .. } | Op::Squeeze { .. } | Op::Unsqueeze { .. } => layout::same_order(x[0], shape)?,
        Op::Expand { .. } => layout::expand(x[0], shape)?,
        Op::Slice { axes } => layout::slice(x[0], axes, shape)?,
        Op::Concat { axis } => layout::concat(x, *axis, shape)?,
        Op::Gather { axis } => layout::gather(x[0], x[1], *axis, shape)?,
        Op::Attention { scale, causal } => attention::attention(x, *scale, *causal, out.dtype, shape),
    })
}
