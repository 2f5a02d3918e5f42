//! The import of a decoded model: graph inputs and initializers, then the
//! nodes in order, then the outputs; the result is verified.

use super::builder::Builder;
use super::declared::{declared_type, DeclaredTypes};
use super::model::{bad, check_supported, default_opset, graph_inputs, initializers};
use super::node::{node_label, Binding, NodeCx, Scope};
use super::ops::{check_version, spec};
use super::proto::ModelProto;
use crate::{Error, LoadOptions};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use trnc_ir::{sanitize_name, verify, Graph};

pub fn import_model(model: &ModelProto, base_dir: Option<&Path>, options: &LoadOptions) -> Result<Graph, Error> {
    let opset = default_opset(model)?;
    let graph = model.graph.as_ref().ok_or_else(|| bad("not a valid ONNX model: it has no graph"))?;
    check_supported(graph)?;
    if !graph.sparse_initializer.is_empty() {
        return Err(bad(format!(
            "the model has {} sparse initializer(s), which trnc does not support",
            graph.sparse_initializer.len()
        )));
    }
    if graph.output.is_empty() {
        return Err(bad("the graph has no outputs"));
    }
    let initializer_names: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let (inputs, sizes) = graph_inputs(graph, &initializer_names, options)?;

    let mut declared = DeclaredTypes { types: HashMap::new(), sizes };
    for vi in &graph.value_info {
        // value_info is advisory; one that does not describe a tensor is
        // not checked.
        if let Ok(Some(t)) = declared_type(vi) {
            declared.types.insert(vi.name.clone(), t);
        }
    }
    for vi in &graph.output {
        let t = declared_type(vi).map_err(|e| bad(format!("graph output '{}': {e}", vi.name)))?;
        if let Some(t) = t {
            declared.types.insert(vi.name.clone(), t);
        }
    }
    let mut producers = HashMap::new();
    for (i, node) in graph.node.iter().enumerate() {
        for out in node.output.iter().filter(|o| !o.is_empty()) {
            producers.entry(out.clone()).or_insert_with(|| node_label(node, i));
        }
    }
    let mut scope = Scope { bindings: HashMap::new(), producers, declared };

    let mut b = Builder::default();
    let mut input_handles = Vec::with_capacity(inputs.len());
    for input in inputs {
        let h = b.input(&input.name, input.ty);
        input_handles.push(h);
        scope.bindings.insert(input.onnx_name, Binding::Value(h));
    }
    // Initializers listed among the inputs too (older exporters) are
    // overridable defaults in ONNX; trnc treats them as constants.
    for (name, tensor) in initializers(graph, base_dir)? {
        let h = b.constant(Arc::new(tensor), &name, None);
        scope.bindings.insert(name, Binding::Value(h));
    }

    for (i, node) in graph.node.iter().enumerate() {
        let spec = spec(&node.op_type)
            .ok_or_else(|| bad(format!("{}: unsupported op (missed by the support check)", node_label(node, i))))?;
        let version = check_version(spec, opset).map_err(|e| bad(format!("{}: {e}", node_label(node, i))))?;
        let mut cx = NodeCx::new(node, i, version, &mut b, &mut scope, base_dir);
        (spec.import)(&mut cx).map_err(bad)?;
        for (k, out) in node.output.iter().enumerate() {
            if !out.is_empty() && !scope.bindings.contains_key(out) {
                let why = format!("{}: trnc does not compute its output {k} ('{out}')", node_label(node, i));
                scope.bindings.insert(out.clone(), Binding::Unavailable(why));
            }
        }
    }

    let mut outputs = Vec::with_capacity(graph.output.len());
    for vi in &graph.output {
        let h = match scope.bindings.get(&vi.name) {
            Some(Binding::Value(h)) => *h,
            Some(Binding::Unavailable(why)) => return Err(bad(format!("graph output '{}': {why}", vi.name))),
            None => {
                return Err(bad(format!(
                    "graph output '{}' is not computed by any node, graph input or initializer",
                    vi.name
                )))
            }
        };
        scope.declared.check(&vi.name, b.ty(h)).map_err(bad)?;
        outputs.push((h, sanitize_name(&vi.name)));
    }

    let name = if graph.name.is_empty() { "main" } else { &graph.name };
    let g = b.finish(name, &input_handles, &outputs);
    verify(&g).map_err(|e| {
        bad(format!(
            "internal error: the ONNX importer built an invalid graph (a bug in trnc; please report it with the model): {e}"
        ))
    })?;
    Ok(g)
}
