//! ONNX frontend (being written).

use crate::{Error, LoadOptions};
use std::path::Path;
use trnc_ir::Graph;

/// Imports an ONNX model file into a verified graph with static shapes.
pub fn import_file(path: &Path, options: &LoadOptions) -> Result<Graph, Error> {
    let _ = options;
    Err(Error::bad_input(format!(
        "{}: the ONNX frontend is not written yet",
        path.display()
    )))
}
