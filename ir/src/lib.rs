//! trnc-ir: the graph IR shared by every part of trnc.
//!
//! - [`DType`], [`TensorType`], [`Tensor`]: element types, shapes, data;
//! - [`Op`], [`Graph`]: the program, in SSA form, nodes in topological order;
//! - [`infer_type`] and [`verify`]: the typing rules and the verifier;
//! - [`text`]: the `.trn` text format (printer and parser);
//! - [`weights`]: safetensors side files for large constants.
//!
//! This crate depends on nothing else of trnc.

mod dtype;
pub mod fp8;
mod graph;
mod infer;
pub mod kernel;
pub mod math;
pub mod op;
pub mod random;
pub mod target;
mod tensor;
pub mod text;
mod types;
mod verify;
pub mod weights;

pub use dtype::DType;
pub use graph::{is_name_char, sanitize_name, Graph, Node, Value, ValueId};
pub use infer::{infer_type, TypeError};
pub use op::{BinaryOp, Op, ReduceOp, SliceAxis, UnaryOp};
pub use target::Target;
pub use tensor::{Data, Tensor, TensorError};
pub use types::{broadcast_shapes, format_shape, strides_of, Dim, TensorType};
pub use verify::{describe_node, verify, VerifyError};
