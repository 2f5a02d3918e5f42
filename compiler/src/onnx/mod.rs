//! The ONNX frontend: reads a `.onnx` model into a verified graph with
//! static shapes.
//!
//! - [`proto`]: the protobuf messages, written from the ONNX spec;
//! - `model`, `tensor`, `declared`: the model as a whole, tensors,
//!   declared types;
//! - `import`, `node`, `builder`: the import loop, the per-node context,
//!   the staged graph (with constant folding);
//! - `ops`: one handler per supported op type.
//!
//! What it promises:
//! - default-domain opsets up to 27 (the newest in onnx 1.22); for each
//!   node, the op's version in effect at the model's opset must be one trnc
//!   reads (`ops::TABLE` lists each op's versions and the oldest read:
//!   every version from opset 13 on, and older ones whose form is known,
//!   such as Softmax-11's 2-D coercion or Clip-6's attribute bounds); every
//!   op-form those versions define is read (axes as attribute or input,
//!   Split by sizes or `num_outputs`, ...); a newer opset, or an older op
//!   version with another form, is an error naming the node and version;
//! - symbolic dimensions are bound first (`--dim`, then input files), so
//!   every shape is static and `Shape` is a constant; every op whose
//!   operands are all constants is evaluated at import by the reference
//!   backend, so shape glue folds away;
//! - graph inputs and outputs keep their (sanitised) ONNX names;
//! - f64, narrow and unsigned integers, strings, sequences are rejected
//!   with the dtype named, not converted;
//! - every error is `Error::bad_input`, names the node as
//!   `node 'name' (OpType)`, and nothing panics on a corrupt file.

mod builder;
mod declared;
mod dtype;
mod import;
mod model;
mod node;
mod ops;
pub mod proto;
mod tensor;

pub use ops::NEWEST_OPSET;

use crate::{Error, LoadOptions};
use std::path::Path;
use trnc_ir::Graph;

/// Imports an ONNX model file into a verified graph with static shapes.
/// External data files are read from the model's folder.
pub fn import_file(path: &Path, options: &LoadOptions) -> Result<Graph, Error> {
    // The initializers' raw data are slices of the mapped file, not copies.
    let bytes = crate::load::map_file(path)?;
    let base_dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let imported = model::decode_model(bytes).and_then(|model| import::import_model(&model, Some(base_dir), options));
    imported.map_err(|e| match e.message.strip_prefix("error: ") {
        Some(rest) => Error { kind: e.kind, message: format!("error: {}: {rest}", path.display()) },
        None => e,
    })
}

/// Imports a serialised ONNX model. `base_dir` is where external data
/// files are; without it, a model with external data is an error.
pub fn import_bytes(bytes: &[u8], base_dir: Option<&Path>, options: &LoadOptions) -> Result<Graph, Error> {
    let model = model::decode_model(bytes)?;
    import::import_model(&model, base_dir, options)
}

/// The ONNX op types trnc imports (default domain), sorted.
pub fn supported_ops() -> Vec<&'static str> {
    ops::supported().collect()
}

/// Decodes a serialised `TensorProto` (the `.pb` files of the ONNX backend
/// tests) into its name and data.
pub fn decode_tensor(bytes: &[u8]) -> Result<(String, trnc_ir::Tensor), Error> {
    use prost::Message;
    let proto = proto::TensorProto::decode(bytes)
        .map_err(|e| model::bad(format!("not a valid ONNX tensor: the protobuf does not decode ({e})")))?;
    let tensor =
        tensor::tensor_from_proto(&proto, None).map_err(|e| model::bad(format!("tensor '{}': {e}", proto.name)))?;
    Ok((proto.name, tensor))
}
