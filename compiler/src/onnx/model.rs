//! Reading a model as a whole: decoding, the operator set version, the
//! check for unsupported ops, graph inputs with their symbolic dimensions
//! bound, and initializers.

use super::builder::checked_element_count;
use super::declared::{declared_type, DeclaredDim};
use super::dtype::dtype_from_onnx;
use super::ops::{spec, NEWEST_OPSET};
use super::proto::{GraphProto, ModelProto, TensorProto};
use super::tensor::tensor_from_proto;
use crate::load::{missing_dims_error, resolve_dims};
use crate::{Error, LoadOptions};
use prost::Message;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use trnc_ir::{sanitize_name, Dim, Tensor, TensorType};

pub fn bad(message: impl std::fmt::Display) -> Error {
    Error::bad_input(format!("error: {message}"))
}

/// Decodes a model. From a `Bytes` buffer, `raw_data` fields share it.
pub fn decode_model(bytes: impl prost::bytes::Buf) -> Result<ModelProto, Error> {
    let model = ModelProto::decode(bytes)
        .map_err(|e| bad(format!("not a valid ONNX model: the protobuf does not decode ({e})")))?;
    if model.graph.is_none() {
        return Err(bad("not a valid ONNX model: it has no graph"));
    }
    Ok(model)
}

fn is_default_domain(domain: &str) -> bool {
    domain.is_empty() || domain == "ai.onnx"
}

/// The version of the default operator set the model imports: 1 to
/// [`NEWEST_OPSET`]. Whether each op's version in effect is read is
/// checked node by node.
pub fn default_opset(model: &ModelProto) -> Result<i64, Error> {
    let version = model
        .opset_import
        .iter()
        .find(|o| is_default_domain(&o.domain))
        .map(|o| o.version)
        .ok_or_else(|| bad("the model imports no version of the default ONNX operator set (opset_import)"))?;
    if version > NEWEST_OPSET {
        return Err(bad(format!(
            "the model uses ONNX opset {version}, which is newer than trnc knows: trnc reads opsets up to \
             {NEWEST_OPSET} (re-export the model with one of them)"
        )));
    }
    if version < 1 {
        return Err(bad(format!(
            "the model imports opset {version} of the default ONNX operator set, which does not exist"
        )));
    }
    Ok(version)
}

/// One error listing every unsupported op type with its nodes, so a user
/// sees the whole gap at once.
pub fn check_supported(graph: &GraphProto) -> Result<(), Error> {
    let mut missing: Vec<(String, Vec<String>)> = Vec::new();
    for (i, node) in graph.node.iter().enumerate() {
        let key = if is_default_domain(&node.domain) {
            if spec(&node.op_type).is_some() {
                continue;
            }
            node.op_type.clone()
        } else {
            format!("{}.{}", node.domain, node.op_type)
        };
        let name = match (node.name.is_empty(), node.output.first()) {
            (false, _) => format!("'{}'", node.name),
            (true, Some(out)) if !out.is_empty() => format!("unnamed node #{i} computing '{out}'"),
            (true, _) => format!("unnamed node #{i}"),
        };
        match missing.iter_mut().find(|(k, _)| *k == key) {
            Some((_, names)) => names.push(name),
            None => missing.push((key, vec![name])),
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    const SHOWN: usize = 5;
    let lines: Vec<String> = missing
        .iter()
        .map(|(op, names)| {
            let mut shown = names.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
            if names.len() > SHOWN {
                shown.push_str(&format!(" and {} more", names.len() - SHOWN));
            }
            let plural = if names.len() == 1 { "node" } else { "nodes" };
            format!("  {op} ({} {plural}: {shown})", names.len())
        })
        .collect();
    Err(bad(format!("the model uses {} op type(s) that trnc does not support:\n{}", missing.len(), lines.join("\n"))))
}

/// A graph input as the importer sees it.
pub struct GraphInput {
    pub onnx_name: String,
    pub name: String,
    pub ty: TensorType,
}

/// The graph's inputs (those that are not initializers) with static types,
/// and the sizes bound to symbolic dimensions.
pub fn graph_inputs(
    graph: &GraphProto,
    initializers: &HashSet<&str>,
    options: &LoadOptions,
) -> Result<(Vec<GraphInput>, HashMap<String, usize>), Error> {
    let mut declared = Vec::new();
    // Names given here to dimensions the model leaves unnamed, explained
    // if one of them has no size.
    let mut unnamed: Vec<(String, String)> = Vec::new();
    for vi in graph.input.iter().filter(|vi| !initializers.contains(vi.name.as_str())) {
        let what = format!("graph input '{}'", vi.name);
        let ty = declared_type(vi)
            .map_err(|e| bad(format!("{what}: {e}")))?
            .ok_or_else(|| bad(format!("{what} has no tensor type")))?;
        let dtype = dtype_from_onnx(ty.elem_type).map_err(|e| bad(format!("{what}: {e}")))?;
        let name = sanitize_name(&vi.name);
        let dims = ty
            .dims
            .ok_or_else(|| bad(format!("{what} has no shape; trnc needs at least its rank")))?
            .into_iter()
            .enumerate()
            .map(|(i, d)| match d {
                DeclaredDim::Known(n) => Dim::Known(n),
                DeclaredDim::Param(p) => Dim::Sym(p),
                // A dimension with neither size nor name gets a name, so
                // that --dim or an input file can size it.
                DeclaredDim::Unknown => {
                    let sym = format!("{name}_dim{i}");
                    unnamed.push((sym.clone(), format!("dimension {i} of input '{}'", vi.name)));
                    Dim::Sym(sym)
                }
            })
            .collect::<Vec<_>>();
        declared.push((vi.name.clone(), name, dtype, dims));
    }
    let by_name: Vec<(String, Vec<Dim>)> = declared.iter().map(|(_, n, _, d)| (n.clone(), d.clone())).collect();
    let sizes = resolve_dims(&by_name, options)?;
    let mut missing: Vec<String> = Vec::new();
    let inputs = declared
        .into_iter()
        .map(|(onnx_name, name, dtype, dims)| {
            let shape: Vec<usize> = dims
                .iter()
                .map(|d| match d {
                    Dim::Known(n) => *n,
                    Dim::Sym(s) => sizes.get(s).copied().unwrap_or_else(|| {
                        missing.push(s.clone());
                        0
                    }),
                })
                .collect();
            GraphInput { onnx_name, name, ty: TensorType::new(dtype, &shape) }
        })
        .collect::<Vec<_>>();
    if !missing.is_empty() {
        missing.sort();
        missing.dedup();
        let mut e = missing_dims_error(&missing);
        for (sym, what) in unnamed.iter().filter(|(sym, _)| missing.contains(sym)) {
            e.message.push_str(&format!("\n  ('{sym}' is {what}, which the model leaves unnamed)"));
        }
        return Err(e);
    }
    if let Some(too_big) = inputs.iter().find(|i| checked_element_count(&i.ty).is_none()) {
        return Err(bad(format!("graph input '{}' of type {} is too large", too_big.onnx_name, too_big.ty)));
    }
    Ok((inputs, sizes))
}

/// Decodes every initializer, keyed by name.
pub fn initializers(graph: &GraphProto, base_dir: Option<&Path>) -> Result<Vec<(String, Tensor)>, Error> {
    let decode = |t: &TensorProto| {
        let tensor = tensor_from_proto(t, base_dir).map_err(|e| bad(format!("initializer '{}': {e}", t.name)))?;
        Ok((t.name.clone(), tensor))
    };
    // Decoding is mostly the kernel handing out fresh pages for the copies
    // (90 MB for a MiniLM): the cores share it, in runs of about equal
    // bytes; the order, and so the result, stays the file's.
    let all = &graph.initializer;
    let total: usize = all.iter().map(|t| t.raw_data.len()).sum();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    if threads < 2 || total < PARALLEL_DECODE_BYTES {
        return all.iter().map(decode).collect();
    }
    let mut runs: Vec<&[TensorProto]> = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, t) in all.iter().enumerate() {
        bytes += t.raw_data.len();
        if bytes * threads >= total * (runs.len() + 1) && runs.len() + 1 < threads {
            runs.push(&all[start..=i]);
            start = i + 1;
        }
    }
    runs.push(&all[start..]);
    let decoded: Vec<Result<Vec<(String, Tensor)>, Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = runs.iter().map(|run| scope.spawn(move || run.iter().map(decode).collect())).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(bad("a decoding thread panicked")))).collect()
    });
    let mut out = Vec::with_capacity(all.len());
    for run in decoded {
        out.extend(run?);
    }
    Ok(out)
}

/// Below this many bytes of raw data, decoding on one thread is as fast.
const PARALLEL_DECODE_BYTES: usize = 8 << 20;
