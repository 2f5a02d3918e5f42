//! Loading a model file (text IR or ONNX) into a verified graph with
//! static shapes.

use crate::Error;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use trnc_ir::text::{parse_graph, ParseError, Span};
use trnc_ir::{verify, Dim, Graph, Tensor, TensorType};

/// How symbolic dimensions get their sizes.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Sizes given on the command line (`--dim batch_size=1`).
    pub dims: BTreeMap<String, usize>,
    /// Shapes of input files by input name, from which the sizes of
    /// symbolic dimensions not given in `dims` are read.
    pub input_shapes: BTreeMap<String, Vec<usize>>,
}

/// Loads `.trn` (text IR) or `.onnx` files.
pub fn load_model(path: &Path, options: &LoadOptions) -> Result<Graph, Error> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("onnx") => crate::onnx::import_file(path, options),
        Some("trn") => load_text(path, options),
        _ => Err(Error::bad_input(format!(
            "{}: unknown model format; expected a .trn (trnc text IR) or .onnx file",
            path.display()
        ))),
    }
}

/// Reads a file, with an error that names it.
pub fn read_file(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::bad_input(format!("cannot read {}: {e}", path.display())))
}

/// A model file's bytes, mapped rather than read where the system allows:
/// ONNX weights are then decoded straight from the page cache, without a
/// copy of the whole file on the heap first (half the cost of importing a
/// 90 MB model). Files that cannot be mapped (pipes, devices) are read.
pub fn map_file(path: &Path) -> Result<prost::bytes::Bytes, Error> {
    let file =
        std::fs::File::open(path).map_err(|e| Error::bad_input(format!("cannot read {}: {e}", path.display())))?;
    // SAFETY: the mapping is read-only, and the `Bytes` owning it keep it
    // alive as long as any slice of it. trnc never writes its input; a
    // model changed by another process while it is being compiled may be
    // read half old, half new (a truncation stops trnc with SIGBUS), the
    // usual contract of tools that map their inputs.
    match unsafe { memmap2::Mmap::map(&file) } {
        Ok(map) => Ok(prost::bytes::Bytes::from_owner(map)),
        Err(_) => read_file(path).map(prost::bytes::Bytes::from),
    }
}

/// The side file holding a text file's large constants: `x.trn` → `x.safetensors`.
pub fn weights_path(text_path: &Path) -> PathBuf {
    text_path.with_extension("safetensors")
}

fn load_text(path: &Path, options: &LoadOptions) -> Result<Graph, Error> {
    let bytes = read_file(path)?;
    let file = path.display().to_string();
    let src = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            // The lossy text has one replacement character per bad sequence,
            // so the offset of the first one is unchanged.
            let err = ParseError::new(&file, &lossy, Span::new(at, at + 1), "this file is not UTF-8 text");
            return Err(Error::bad_input(format!("error: {err}")));
        }
    };
    let side = weights_path(path);
    let mut cache: Option<HashMap<String, Tensor>> = None;
    let mut loader = |key: &str, _ty: &TensorType| -> Result<Tensor, String> {
        if cache.is_none() {
            cache = Some(trnc_ir::weights::load_safetensors(&side)?);
        }
        cache.as_ref().unwrap().get(key).cloned().ok_or_else(|| format!("{} has no tensor '{key}'", side.display()))
    };
    let parsed = parse_graph(&src, &file, &mut loader).map_err(|e| Error::bad_input(format!("error: {e}")))?;
    let mut graph = parsed.graph;
    let inputs: Vec<(String, Vec<Dim>)> =
        graph.inputs.iter().map(|&v| (graph.name_of(v).to_string(), graph.ty(v).dims.clone())).collect();
    let sizes = resolve_dims(&inputs, options)?;
    let missing = graph.bind_dims(&sizes);
    if !missing.is_empty() {
        return Err(missing_dims_error(&missing));
    }
    verify(&graph).map_err(|e| {
        let message = match e.node.and_then(|i| parsed.node_spans.get(i)) {
            Some(&span) => ParseError::new(&file, &src, span, e.message).to_string(),
            None => format!("{file}: {}", e.message),
        };
        Error::bad_input(format!("error: {message}"))
    })?;
    Ok(graph)
}

pub fn missing_dims_error(missing: &[String]) -> Error {
    let flags: Vec<String> = missing.iter().map(|d| format!("--dim {d}=N")).collect();
    Error::bad_input(format!(
        "error: symbolic dimension(s) {} have no size; give them with {} or with --input files",
        missing.iter().map(|d| format!("'{d}'")).collect::<Vec<_>>().join(", "),
        flags.join(" ")
    ))
}

/// Sizes for symbolic dimensions: from `options.dims`, else from the shapes
/// of input files matched position by position against the declared dims.
/// A size that two sources disagree on is an error naming both.
pub fn resolve_dims(inputs: &[(String, Vec<Dim>)], options: &LoadOptions) -> Result<HashMap<String, usize>, Error> {
    let mut sizes: HashMap<String, usize> = options.dims.iter().map(|(k, v)| (k.clone(), *v)).collect();
    let mut origin: HashMap<String, String> =
        options.dims.keys().map(|k| (k.clone(), format!("--dim {k}={}", options.dims[k]))).collect();
    for (name, dims) in inputs {
        let Some(shape) = options.input_shapes.get(name) else {
            continue;
        };
        if shape.len() != dims.len() {
            return Err(Error::bad_input(format!(
                "error: input '{name}' has rank {} in the model but the file given has shape {}",
                dims.len(),
                trnc_ir::format_shape(shape)
            )));
        }
        for (d, &n) in dims.iter().zip(shape) {
            match d {
                Dim::Known(k) if *k != n => {
                    return Err(Error::bad_input(format!(
                        "error: input '{name}' is {} in the model but the file given has shape {}",
                        dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x"),
                        trnc_ir::format_shape(shape)
                    )))
                }
                Dim::Sym(s) => match sizes.get(s) {
                    Some(&m) if m != n => {
                        return Err(Error::bad_input(format!(
                            "error: dimension '{s}' is {m} (from {}) but input '{name}' has shape {}",
                            origin[s],
                            trnc_ir::format_shape(shape)
                        )))
                    }
                    Some(_) => {}
                    None => {
                        sizes.insert(s.clone(), n);
                        origin.insert(s.clone(), format!("input '{name}'"));
                    }
                },
                Dim::Known(_) => {}
            }
        }
    }
    Ok(sizes)
}
