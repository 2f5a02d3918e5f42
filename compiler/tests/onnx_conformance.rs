//! Conformance: the ONNX backend node tests (shipped in the onnx 1.22.0
//! wheel that tests/run.sh installs into .venv) through the importer and
//! the reference backend, compared as onnx's own runner does
//! (|got - want| <= 1e-7 + 1e-3 |want|).
//!
//! tests/onnx/conformance_passing.txt lists the cases that pass. The list
//! may only grow: a listed case that fails fails this test. Cases that pass
//! but are not listed are printed; `TRNC_UPDATE_CONFORMANCE=1 cargo test
//! --test onnx_conformance` rewrites the list with every passing case.
//! `--nocapture` prints a summary of why the others fail, and with
//! `TRNC_CONFORMANCE_FAILURES=1` every failing case with its error.

use prost::Message;
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use trnc::execute::{execute, Backend};
use trnc::onnx::proto::{ModelProto, TensorProto};
use trnc::onnx::{decode_tensor, import_bytes};
use trnc::LoadOptions;
use trnc_ir::{sanitize_name, Graph, Tensor};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn list_path() -> PathBuf {
    repo().join("tests/onnx/conformance_passing.txt")
}

/// `TRNC_ONNX_NODE_TESTS`, else the onnx package in the repository's venv.
fn node_tests_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("TRNC_ONNX_NODE_TESTS") {
        return Some(PathBuf::from(dir));
    }
    let lib = repo().join(".venv/lib");
    std::fs::read_dir(lib)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("site-packages/onnx/backend/test/data/node"))
        .find(|p| p.is_dir())
}

fn sorted_dir(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.path()).collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

fn read_tensor(path: &Path) -> Result<Tensor, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    decode_tensor(&bytes).map(|(_, t)| t).map_err(|e| e.message)
}

/// `<prefix>_<i>.pb` files of a data set, in index order.
fn numbered(set: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut files: Vec<(usize, PathBuf)> = sorted_dir(set)
        .into_iter()
        .filter_map(|p| {
            let name = p.file_stem()?.to_str()?.to_string();
            let index = name.strip_prefix(prefix)?.strip_prefix('_')?.parse().ok()?;
            Some((index, p))
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, p)| p).collect()
}

fn close(got: &Tensor, want: &Tensor) -> Result<(), String> {
    if got.shape() != want.shape() || got.dtype() != want.dtype() {
        return Err(format!("result is {} but the test expects {}", got.ty(), want.ty()));
    }
    for (i, (g, w)) in got.to_f64_vec().into_iter().zip(want.to_f64_vec()).enumerate() {
        let ok = if w.is_nan() { g.is_nan() } else { g == w || (g - w).abs() <= 1e-7 + 1e-3 * w.abs() };
        if !ok {
            return Err(format!("element {i} is {g}, expected {w}"));
        }
    }
    Ok(())
}

/// Imports `model` for one data set. The inputs listed in `bake` become
/// initializers holding the data set's values; the others stay inputs.
fn import_with(
    model: &ModelProto,
    inputs: &[(String, TensorProto, Tensor)],
    bake: &[usize],
) -> Result<(Graph, Vec<Tensor>), String> {
    let mut model = model.clone();
    let graph = model.graph.get_or_insert_with(Default::default);
    let mut options = LoadOptions::default();
    let mut runtime = Vec::new();
    for (i, (name, proto, tensor)) in inputs.iter().enumerate() {
        if bake.contains(&i) {
            graph.input.retain(|vi| vi.name != *name);
            graph.initializer.push(TensorProto { name: name.clone(), ..proto.clone() });
        } else {
            options.input_shapes.insert(sanitize_name(name), tensor.shape().to_vec());
            runtime.push(tensor.clone());
        }
    }
    let graph = import_bytes(&model.encode_to_vec(), None, &options).map_err(|e| e.message)?;
    Ok((graph, runtime))
}

/// Runs one case on every data set it has. Node tests often feed axes,
/// shapes and slice bounds as graph inputs, which trnc needs at import; when
/// the import asks for that, the integer inputs are baked into the model as
/// initializers, as a compiler specialising on them would.
fn run_case(case: &Path) -> Result<(), String> {
    let bytes = std::fs::read(case.join("model.onnx")).map_err(|e| e.to_string())?;
    let model = ModelProto::decode(&*bytes).map_err(|e| e.to_string())?;
    let graph = model.graph.clone().unwrap_or_default();
    let initializers: BTreeSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let input_names: Vec<String> =
        graph.input.iter().filter(|i| !initializers.contains(i.name.as_str())).map(|i| i.name.clone()).collect();
    let sets: Vec<PathBuf> = sorted_dir(case).into_iter().filter(|p| p.is_dir()).collect();
    if sets.is_empty() {
        return Err("no test data".into());
    }
    for set in sets {
        let files = numbered(&set, "input");
        if files.len() != input_names.len() {
            return Err(format!("{} inputs given for {} graph inputs", files.len(), input_names.len()));
        }
        let mut inputs = Vec::new();
        for (name, file) in input_names.iter().zip(&files) {
            let bytes = std::fs::read(file).map_err(|e| e.to_string())?;
            let proto = TensorProto::decode(&*bytes).map_err(|e| e.to_string())?;
            let (_, tensor) = decode_tensor(&bytes).map_err(|e| e.message)?;
            inputs.push((name.clone(), proto, tensor));
        }
        let expected = numbered(&set, "output").iter().map(|p| read_tensor(p)).collect::<Result<Vec<_>, _>>()?;
        let (graph, runtime) = match import_with(&model, &inputs, &[]) {
            Err(e) if e.contains("must be a constant known at import") => {
                let integers: Vec<usize> = (0..inputs.len()).filter(|&i| inputs[i].2.dtype().is_int()).collect();
                import_with(&model, &inputs, &integers)?
            }
            other => other?,
        };
        for (t, &v) in runtime.iter().zip(&graph.inputs) {
            if t.dtype() != graph.ty(v).dtype {
                return Err(format!("input of {} where the graph takes {}", t.ty(), graph.ty(v)));
            }
        }
        let outputs = execute(&graph, &runtime, Backend::Reference).map_err(|e| e.message)?;
        if outputs.len() != expected.len() {
            return Err(format!("{} outputs, the test expects {}", outputs.len(), expected.len()));
        }
        for (k, (got, want)) in outputs.iter().zip(&expected).enumerate() {
            close(got, want).map_err(|e| format!("output {k}: {e}"))?;
        }
    }
    Ok(())
}

/// A short reason for the summary: the unsupported op types, or the first
/// line of the message without the file name.
fn reason_key(message: &str) -> String {
    if let Some(pos) = message.find("does not support:") {
        let ops: Vec<&str> = message[pos..].lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
        return format!("unsupported op {}", ops.join(", "));
    }
    let first = message.lines().next().unwrap_or_default();
    let without_file = first.split_once(".onnx: ").map_or(first, |(_, rest)| rest);
    let without_node = without_file.split_once("): ").map_or(without_file, |(_, rest)| rest);
    without_node.chars().take(90).collect()
}

#[test]
fn onnx_node_tests_that_passed_still_pass() {
    let Some(dir) = node_tests_dir() else {
        eprintln!(
            "ONNX node tests not found (run tests/run.sh to install the venv, or set TRNC_ONNX_NODE_TESTS); skipped"
        );
        return;
    };
    let listed: BTreeSet<String> = std::fs::read_to_string(list_path())
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    // A panic in a case is a failure of that case, reported below; the
    // default hook would flood the output.
    std::panic::set_hook(Box::new(|_| {}));
    let mut passed = BTreeSet::new();
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    for case in sorted_dir(&dir).into_iter().filter(|p| p.is_dir()) {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        match catch_unwind(AssertUnwindSafe(|| run_case(&case))) {
            Ok(Ok(())) => {
                passed.insert(name);
            }
            Ok(Err(e)) => {
                failed.insert(name, e);
            }
            Err(_) => {
                failed.insert(name, "panicked".into());
            }
        }
    }
    let _ = std::panic::take_hook();

    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for message in failed.values() {
        *reasons.entry(reason_key(message)).or_default() += 1;
    }
    let mut by_count: Vec<(String, usize)> = reasons.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    println!("ONNX node tests: {} of {} pass", passed.len(), passed.len() + failed.len());
    for (reason, n) in by_count.iter().take(40) {
        println!("{n:5}  {reason}");
    }

    if std::env::var_os("TRNC_CONFORMANCE_FAILURES").is_some() {
        for (name, message) in &failed {
            println!("{name}: {}", message.lines().next().unwrap_or_default());
        }
    }

    if std::env::var_os("TRNC_UPDATE_CONFORMANCE").is_some() {
        let mut text = String::from("# ONNX backend node tests that pass on trnc (import + reference backend).\n");
        text.push_str("# Written by TRNC_UPDATE_CONFORMANCE=1 cargo test --test onnx_conformance; may only grow.\n");
        for name in &passed {
            text.push_str(name);
            text.push('\n');
        }
        std::fs::write(list_path(), text).unwrap();
        return;
    }
    let new: Vec<&String> = passed.difference(&listed).collect();
    if !new.is_empty() {
        println!("{} passing cases are not listed yet (TRNC_UPDATE_CONFORMANCE=1 adds them): {new:?}", new.len());
    }
    let regressions: Vec<String> = listed
        .iter()
        .filter(|n| !passed.contains(*n))
        .map(|n| format!("{n}: {}", failed.get(n).map_or("missing", |s| s)))
        .collect();
    assert!(regressions.is_empty(), "listed ONNX node tests no longer pass:\n{}", regressions.join("\n"));
}
