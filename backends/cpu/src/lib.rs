//! The reference backend: interprets the graph IR plainly and exactly.
//! (Skeleton; the interpreter is being written.)

use trnc_ir::{Graph, Op, Tensor, TensorType};

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
    let _ = (graph, inputs);
    Err(RunError {
        node: None,
        message: "the reference backend is not written yet".into(),
    })
}

/// Evaluates one op on concrete operands; `out` is the node's result type.
pub fn eval_op(op: &Op, operands: &[&Tensor], out: &TensorType) -> Result<Tensor, String> {
    let _ = (op, operands, out);
    Err("not written yet".into())
}
