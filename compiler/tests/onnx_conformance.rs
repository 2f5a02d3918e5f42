//! Conformance: the ONNX backend node tests (shipped in the onnx 1.22.0
//! wheel that tests/run.sh installs into .venv) through the importer and
//! the reference backend, compared as onnx's own runner does
//! (|got - want| <= 1e-7 + 1e-3 |want|).
//!
//! **Which cases.** Every node test belongs to one op: the op of the single
//! node of its model. An `*_expanded` case (the same test with the op
//! spelled as its function body: `test_x_expanded`, `test_x_expanded_ver18`)
//! belongs to the op of its base case `test_x`. The cases of the ops in
//! [`IN_SCOPE`] are checked; the others are not run.
//!
//! **The manifest.** tests/onnx/conformance_manifest.txt lists every such
//! case under its op, as `case pass` or `case expected-fail: reason`. The
//! test fails when a listed pass fails, when an expected failure passes or
//! fails for another reason, when a case is missing from the manifest, and
//! when a listed case is not in the node tests. Reasons are categorised
//! from the actual error (see [`reason`]); only out-of-scope dtypes,
//! dynamic shapes and ops outside the scope that an expanded form uses are
//! acceptable, and any other failure fails the test.
//!
//! **Inputs trnc needs at import.** Node tests often feed axes, shapes and
//! slice bounds as graph inputs, which trnc needs as constants; when the
//! import asks for that, the integer inputs are baked into the model as
//! initializers, as a compiler specialising on them would. A case that
//! still needs an input's value at import has a shape that depends on
//! data: a dynamic shape.
//!
//! `TRNC_UPDATE_CONFORMANCE=1 cargo test --test onnx_conformance` rewrites
//! the manifest and tests/onnx/conformance.md (the counts per op, also in
//! README.md) from the results. `--nocapture` prints a summary, with
//! `TRNC_CONFORMANCE_FAILURES=1` every failing case with its error, and
//! with `TRNC_CONFORMANCE_OTHERS=1` the cases of other ops that pass. Where
//! the node tests are missing the test is skipped, except in CI (the `CI`
//! environment variable is set), where that is a failure.

use prost::Message;
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use trnc::execute::{execute, Backend};
use trnc::onnx::proto::type_proto::Value;
use trnc::onnx::proto::{ModelProto, TensorProto, ValueInfoProto};
use trnc::onnx::{decode_tensor, import_bytes};
use trnc::LoadOptions;
use trnc_ir::{sanitize_name, Graph, Target, Tensor};

/// The ops whose node tests are checked (the ONNX frontend's scope).
const IN_SCOPE: &[&str] = &[
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Neg",
    "Abs",
    "Exp",
    "Log",
    "Sqrt",
    "Reciprocal",
    "Tanh",
    "Sigmoid",
    "Erf",
    "Relu",
    "LeakyRelu",
    "Gelu",
    "Softmax",
    "LogSoftmax",
    "LayerNormalization",
    "MatMul",
    "Gemm",
    "Transpose",
    "Reshape",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "Concat",
    "Split",
    "Slice",
    "Gather",
    "Expand",
    "Where",
    "Equal",
    "Less",
    "LessOrEqual",
    "Greater",
    "GreaterOrEqual",
    "Not",
    "And",
    "Or",
    "Cast",
    "Clip",
    "Max",
    "Min",
    "ReduceSum",
    "ReduceMean",
    "ReduceMax",
    "ReduceMin",
    "Identity",
    "Constant",
    "ConstantOfShape",
    "Shape",
    "Range",
    "Sin",
    "Cos",
];

/// Reasons an expected failure may have: what trnc leaves out on purpose
/// (dtypes and types it does not have, shapes that depend on data). An op
/// outside the scope is acceptable only in an expanded form.
const ACCEPTED_REASONS: &[&str] = &["dtype ", "non-tensor types ", "dynamic shapes: "];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn manifest_path() -> PathBuf {
    repo().join("tests/onnx/conformance_manifest.txt")
}

fn table_path() -> PathBuf {
    repo().join("tests/onnx/conformance.md")
}

fn readme_path() -> PathBuf {
    repo().join("README.md")
}

fn updating() -> bool {
    std::env::var_os("TRNC_UPDATE_CONFORMANCE").is_some()
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

fn decode_model(case: &Path) -> Result<ModelProto, String> {
    let bytes = std::fs::read(case.join("model.onnx")).map_err(|e| e.to_string())?;
    ModelProto::decode(&*bytes).map_err(|e| e.to_string())
}

/// Runs one case on every data set it has.
fn run_case(case: &Path) -> Result<(), String> {
    run_case_on(case, Backend::Reference)
}

/// Runs every test-data set of `case` on `backend` against the expected outputs.
fn run_case_on(case: &Path, backend: Backend) -> Result<(), String> {
    let model = decode_model(case)?;
    let graph = model.graph.clone().unwrap_or_default();
    let initializers: BTreeSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let input_names: Vec<String> =
        graph.input.iter().filter(|i| !initializers.contains(i.name.as_str())).map(|i| i.name.clone()).collect();
    // Inputs that are not tensors (sequences) have data files trnc cannot
    // read; the importer says what it does not support.
    let non_tensor =
        |vi: &ValueInfoProto| !matches!(vi.r#type.as_ref().and_then(|t| t.value.as_ref()), Some(Value::TensorType(_)));
    if graph.input.iter().chain(&graph.output).any(non_tensor) {
        import_bytes(&model.encode_to_vec(), None, &LoadOptions::default()).map_err(|e| e.message)?;
        return Err("the model has inputs or outputs that are not tensors, but imports".into());
    }
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
        let outputs = execute(&graph, &runtime, backend, Target::Trn2).map_err(|e| e.message)?;
        if outputs.len() != expected.len() {
            return Err(format!("{} outputs, the test expects {}", outputs.len(), expected.len()));
        }
        for (k, (got, want)) in outputs.iter().zip(&expected).enumerate() {
            close(got, want).map_err(|e| format!("output {k}: {e}"))?;
        }
    }
    Ok(())
}

/// The base case of an expanded one (`test_x_expanded_ver18` → `test_x`).
fn base_case(name: &str) -> &str {
    name.find("_expanded").map_or(name, |i| &name[..i])
}

/// The op a case belongs to: the op type of the single node of its base
/// case's model, if that is a default-domain op.
fn op_of(dir: &Path, name: &str) -> Result<Option<String>, String> {
    let model = decode_model(&dir.join(base_case(name)))?;
    let nodes = model.graph.map(|g| g.node).unwrap_or_default();
    match nodes.as_slice() {
        [n] if n.domain.is_empty() || n.domain == "ai.onnx" => Ok(Some(n.op_type.clone())),
        [_] => Ok(None),
        _ => Err(format!("the base case of {name} has {} nodes, not one", nodes.len())),
    }
}

/// The manifest's reason for a failure: a category and the detail that
/// matters, from the error message. Messages of no known category are
/// kept (first line, file name removed) and are not acceptable.
fn reason(case: &str, message: &str) -> String {
    let first = message.lines().next().unwrap_or_default();
    let first = first.split_once(".onnx: ").map_or(first, |(_, rest)| rest);
    if let Some(pos) = message.find("does not support:") {
        let ops: Vec<&str> = message[pos..].lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
        let plural = if ops.len() == 1 { "op" } else { "ops" };
        let form = if case.contains("_expanded") { " (in the expanded form)" } else { "" };
        return format!("{plural} {}{form} not supported", ops.join(", "));
    }
    if let Some(pos) = first.find("element type ") {
        let dtype = first[pos + "element type ".len()..].split_whitespace().next().unwrap_or_default();
        return format!("dtype {dtype} is outside trnc's dtypes");
    }
    if first.contains("newer than trnc knows") {
        let opset = first.split_once("ONNX opset ").map_or("", |(_, r)| r.split(',').next().unwrap_or_default());
        return format!("opset {opset} is newer than supported");
    }
    if first.contains("is not a tensor (sequences") {
        return "non-tensor types (sequences, maps, optionals) are outside trnc's types".into();
    }
    if first.contains("must be a constant known at import") {
        let op = first.split_once(" (").and_then(|(_, r)| r.split_once(')')).map_or("?", |(op, _)| op);
        let role = first.split_once("input '").and_then(|(_, r)| r.split_once('\'')).map_or("?", |(role, _)| role);
        return format!("dynamic shapes: input '{role}' of {op} decides a shape and is a graph input");
    }
    format!("other: {}", first.chars().take(160).collect::<String>())
}

fn is_accepted(reason: &str) -> bool {
    ACCEPTED_REASONS.iter().any(|p| reason.starts_with(p))
        || (reason.starts_with("op") && reason.ends_with("(in the expanded form) not supported"))
}

/// One line of the manifest.
#[derive(Clone, Debug, PartialEq)]
enum Status {
    Pass,
    ExpectedFail(String),
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Pass => f.write_str("pass"),
            Status::ExpectedFail(why) => write!(f, "expected-fail: {why}"),
        }
    }
}

/// Cases by op, each with its status.
type Manifest = BTreeMap<String, BTreeMap<String, Status>>;

const MANIFEST_HEADER: &str = "\
# The ONNX backend node tests of the ops in trnc's ONNX scope, run through the
# importer and the reference backend by compiler/tests/onnx_conformance.rs.
# `[Op]` starts the cases of an op: the op of the single node of the case's
# model; an `*_expanded` case belongs to the op of its base case. Each case is
# `name pass` or `name expected-fail: reason`, and the test fails when this
# file is not true. Regenerate it (and conformance.md) with
#   TRNC_UPDATE_CONFORMANCE=1 cargo test -p trnc --test onnx_conformance
";

fn parse_manifest(text: &str) -> Result<Manifest, String> {
    let mut manifest = Manifest::new();
    let mut op: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        let at = || format!("conformance_manifest.txt line {}", i + 1);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if !IN_SCOPE.contains(&name) {
                return Err(format!("{}: op {name} is not in scope", at()));
            }
            manifest.entry(name.to_string()).or_default();
            op = Some(name.to_string());
            continue;
        }
        let Some(op) = &op else { return Err(format!("{}: a case before the first [Op]", at())) };
        let (case, rest) = line.split_once(' ').ok_or_else(|| format!("{}: no status", at()))?;
        let status = match rest.trim() {
            "pass" => Status::Pass,
            other => match other.strip_prefix("expected-fail:") {
                Some(why) if !why.trim().is_empty() => Status::ExpectedFail(why.trim().to_string()),
                _ => return Err(format!("{}: status must be 'pass' or 'expected-fail: reason'", at())),
            },
        };
        if manifest.values().any(|cases| cases.contains_key(case)) {
            return Err(format!("{}: {case} is listed twice", at()));
        }
        manifest.get_mut(op).unwrap().insert(case.to_string(), status);
    }
    Ok(manifest)
}

fn write_manifest(manifest: &Manifest) -> String {
    let mut text = String::from(MANIFEST_HEADER);
    for (op, cases) in manifest {
        text.push_str(&format!("\n[{op}]\n"));
        for (case, status) in cases {
            text.push_str(&format!("{case} {status}\n"));
        }
    }
    text
}

fn totals(manifest: &Manifest) -> (usize, usize) {
    let all: Vec<&Status> = manifest.values().flat_map(|c| c.values()).collect();
    let pass = all.iter().filter(|s| **s == &Status::Pass).count();
    (pass, all.len() - pass)
}

/// The counts per op, as a Markdown table.
fn per_op_table(manifest: &Manifest) -> String {
    let mut t = String::from("| op | cases | pass | expected-fail |\n| --- | ---: | ---: | ---: |\n");
    for (op, cases) in manifest {
        let pass = cases.values().filter(|s| **s == Status::Pass).count();
        t.push_str(&format!("| {op} | {} | {pass} | {} |\n", cases.len(), cases.len() - pass));
    }
    let (pass, fail) = totals(manifest);
    t.push_str(&format!("| **all {} ops** | **{}** | **{pass}** | **{fail}** |\n", manifest.len(), pass + fail));
    t
}

/// tests/onnx/conformance.md: the counts per op and per reason.
fn conformance_md(manifest: &Manifest) -> String {
    let (pass, fail) = totals(manifest);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for status in manifest.values().flat_map(|c| c.values()) {
        if let Status::ExpectedFail(why) = status {
            *reasons.entry(why.clone()).or_default() += 1;
        }
    }
    let mut by_count: Vec<(String, usize)> = reasons.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut md = String::from("# ONNX conformance\n\n");
    md.push_str(&format!(
        "The ONNX backend node tests (onnx 1.22.0) of the {} ops in trnc's ONNX scope, imported and run on the \
         reference backend: **{} cases, {pass} pass, {fail} expected failures**. Generated from \
         [conformance_manifest.txt](conformance_manifest.txt) by `TRNC_UPDATE_CONFORMANCE=1 cargo test -p trnc \
         --test onnx_conformance`, which checks that this file matches it. A case belongs to the op of its \
         model's single node; an `*_expanded` case (the op spelled as its function body) to the op of its base \
         case.\n\n",
        manifest.len(),
        pass + fail
    ));
    md.push_str("## Cases per op\n\n");
    md.push_str(&per_op_table(manifest));
    md.push_str("\n## Expected failures by reason\n\n| reason | cases |\n| --- | ---: |\n");
    for (why, n) in by_count {
        md.push_str(&format!("| {why} | {n} |\n"));
    }
    md
}

const README_BEGIN: &str = "<!-- conformance:begin (generated by compiler/tests/onnx_conformance.rs) -->\n";
const README_END: &str = "<!-- conformance:end -->\n";

/// The generated part of README.md's "ONNX conformance" section.
fn readme_block(manifest: &Manifest) -> String {
    let (pass, fail) = totals(manifest);
    format!(
        "{README_BEGIN}{} node-test cases of {} ops: **{pass} pass, {fail} expected failures** (only dtypes outside \
         trnc's, dynamic shapes, and ops outside the scope that an expanded form uses). Per op and per reason: \
         [tests/onnx/conformance.md](tests/onnx/conformance.md).\n\n<details><summary>Cases per op</summary>\n\n{}\n\
         </details>\n{README_END}",
        pass + fail,
        manifest.len(),
        per_op_table(manifest)
    )
}

/// README.md with its generated block replaced by `block`.
fn readme_with(readme: &str, block: &str) -> Option<String> {
    let start = readme.find(README_BEGIN)?;
    let end = readme[start..].find(README_END)? + start + README_END.len();
    Some(format!("{}{block}{}", &readme[..start], &readme[end..]))
}

fn read_manifest() -> Manifest {
    let text = std::fs::read_to_string(manifest_path()).unwrap_or_default();
    parse_manifest(&text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_conformance_tables_match_the_manifest() {
    if updating() {
        // onnx_node_tests_match_the_manifest rewrites them.
        return;
    }
    let manifest = read_manifest();
    assert!(!manifest.is_empty(), "tests/onnx/conformance_manifest.txt is missing or empty");
    let md = std::fs::read_to_string(table_path()).unwrap_or_default();
    assert!(
        md == conformance_md(&manifest),
        "tests/onnx/conformance.md does not match the manifest; regenerate it with TRNC_UPDATE_CONFORMANCE=1 cargo \
         test -p trnc --test onnx_conformance"
    );
    let readme = std::fs::read_to_string(readme_path()).unwrap();
    let block = readme_block(&manifest);
    match readme_with(&readme, &block) {
        Some(updated) => assert!(
            updated == readme,
            "README.md's ONNX conformance section does not match the manifest; regenerate it with \
             TRNC_UPDATE_CONFORMANCE=1 cargo test -p trnc --test onnx_conformance"
        ),
        None => panic!("README.md has no generated conformance block ({README_BEGIN:?} ... {README_END:?})"),
    }
}

#[test]
fn manifest_reasons_are_categorised() {
    assert_eq!(
        reason("test_x", "error: model.onnx: tensor 'x': element type double is not supported (trnc supports ...)"),
        "dtype double is outside trnc's dtypes"
    );
    assert_eq!(
        reason(
            "test_x_expanded",
            "error: the model uses 1 op type(s) that trnc does not support:\n  Loop (1 node: 'l')"
        ),
        "op Loop (in the expanded form) not supported"
    );
    assert_eq!(
        reason("test_x", "error: the model uses ONNX opset 28, which is newer than trnc knows: trnc reads ..."),
        "opset 28 is newer than supported"
    );
    assert_eq!(
        reason(
            "test_range",
            "error: node #0 (Range) computing 'y': input 'start' ('s') must be a constant known at import, but it \
             depends on graph inputs"
        ),
        "dynamic shapes: input 'start' of Range decides a shape and is a graph input"
    );
    assert!(reason("test_x", "error: output 0: element 3 is 1, expected 2").starts_with("other: "));
    assert!(!is_accepted("other: x") && !is_accepted("opset 28 is newer than supported"));
    assert!(is_accepted("dtype double is outside trnc's dtypes"));
    assert!(is_accepted("ops Ceil, Loop (in the expanded form) not supported"));
    assert!(!is_accepted("op Loop not supported"));
    assert_eq!(base_case("test_layer_normalization_2d_axis0_expanded_ver18"), "test_layer_normalization_2d_axis0");
    let m = parse_manifest("[Abs]\ntest_abs pass\n[Cast]\ntest_cast_a expected-fail: dtype double is outside\n");
    let m = m.unwrap();
    assert_eq!(m["Cast"]["test_cast_a"], Status::ExpectedFail("dtype double is outside".into()));
    assert_eq!(parse_manifest(&write_manifest(&m)).unwrap(), m);
    assert!(parse_manifest("[Conv]\n").unwrap_err().contains("not in scope"));
    assert!(parse_manifest("[Abs]\ntest_abs fails\n").unwrap_err().contains("status"));
}

#[test]
fn onnx_node_tests_match_the_manifest() {
    let Some(dir) = node_tests_dir() else {
        let message =
            "the ONNX node tests are missing (run tests/run.sh to install the venv, or set TRNC_ONNX_NODE_TESTS)";
        assert!(std::env::var_os("CI").is_none(), "{message}");
        eprintln!("{message}; skipped");
        return;
    };
    let in_scope: BTreeSet<&str> = IN_SCOPE.iter().copied().collect();
    let mut results = Manifest::new();
    let mut errors: BTreeMap<String, String> = BTreeMap::new();
    let others = std::env::var_os("TRNC_CONFORMANCE_OTHERS").is_some();
    let mut other_passes = Vec::new();
    // A panic in a case is a failure of that case, reported below; the
    // default hook would flood the output.
    std::panic::set_hook(Box::new(|_| {}));
    for case in sorted_dir(&dir).into_iter().filter(|p| p.is_dir()) {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let op = match op_of(&dir, &name) {
            Ok(Some(op)) if in_scope.contains(op.as_str()) => op,
            Ok(_) => {
                if others && matches!(catch_unwind(AssertUnwindSafe(|| run_case(&case))), Ok(Ok(()))) {
                    other_passes.push(name);
                }
                continue;
            }
            Err(e) => panic!("{name}: {e}"),
        };
        let status = match catch_unwind(AssertUnwindSafe(|| run_case(&case))) {
            Ok(Ok(())) => Status::Pass,
            Ok(Err(e)) => {
                let why = reason(&name, &e);
                errors.insert(name.clone(), e);
                Status::ExpectedFail(why)
            }
            Err(_) => {
                errors.insert(name.clone(), "panicked".into());
                Status::ExpectedFail("other: panicked".into())
            }
        };
        results.entry(op).or_default().insert(name, status);
    }
    let _ = std::panic::take_hook();
    let ops_seen: BTreeSet<&str> = results.keys().map(String::as_str).collect();
    let without_cases: Vec<&&str> = in_scope.difference(&ops_seen).collect();
    assert!(without_cases.is_empty(), "ops without node tests: {without_cases:?}");

    let (pass, fail) = totals(&results);
    println!("ONNX node tests of {} ops: {pass} of {} pass", results.len(), pass + fail);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for status in results.values().flat_map(|c| c.values()) {
        if let Status::ExpectedFail(why) = status {
            *reasons.entry(why.clone()).or_default() += 1;
        }
    }
    for (why, n) in &reasons {
        println!("{n:5}  {why}");
    }
    if others {
        println!("{} cases of ops outside the scope pass (not checked): {other_passes:?}", other_passes.len());
    }
    if std::env::var_os("TRNC_CONFORMANCE_FAILURES").is_some() {
        for (name, message) in &errors {
            println!("{name}: {}", message.lines().next().unwrap_or_default());
        }
    }

    if updating() {
        std::fs::write(manifest_path(), write_manifest(&results)).unwrap();
        std::fs::write(table_path(), conformance_md(&results)).unwrap();
        let readme = std::fs::read_to_string(readme_path()).unwrap();
        let updated = readme_with(&readme, &readme_block(&results))
            .unwrap_or_else(|| panic!("README.md has no generated conformance block to update"));
        std::fs::write(readme_path(), updated).unwrap();
    }

    let listed = read_manifest();
    let mut problems = Vec::new();
    let listed_cases: BTreeMap<&str, (&str, &Status)> =
        listed.iter().flat_map(|(op, cases)| cases.iter().map(move |(c, s)| (c.as_str(), (op.as_str(), s)))).collect();
    for (op, cases) in &results {
        for (case, got) in cases {
            let message = || errors.get(case).map_or(String::new(), |e| format!(" ({})", e.lines().next().unwrap()));
            match listed_cases.get(case.as_str()) {
                None => problems.push(format!("{case} ({op}) is not in the manifest; it is: {got}")),
                Some((listed_op, _)) if listed_op != op => {
                    problems.push(format!("{case} is listed under {listed_op}, but belongs to {op}"))
                }
                Some((_, want)) if *want != got => match (want, got) {
                    (Status::Pass, _) => problems.push(format!("{case} is listed as passing but fails{}", message())),
                    (_, Status::Pass) => {
                        problems.push(format!("{case} is listed as an expected failure ({want}) but passes"))
                    }
                    _ => problems.push(format!("{case} fails for another reason than listed: {got}{}", message())),
                },
                Some(_) => {}
            }
            if let Status::ExpectedFail(why) = got {
                if !is_accepted(why) {
                    problems.push(format!("{case} fails for a reason that is not acceptable: {why}{}", message()));
                }
            }
        }
    }
    let seen: BTreeSet<&str> = results.values().flat_map(|c| c.keys().map(String::as_str)).collect();
    for case in listed_cases.keys().filter(|c| !seen.contains(*c)) {
        problems.push(format!("{case} is in the manifest but not among the node tests of in-scope ops"));
    }
    assert!(
        problems.is_empty(),
        "the ONNX node tests do not match tests/onnx/conformance_manifest.txt (TRNC_UPDATE_CONFORMANCE=1 \
         regenerates it):\n{}",
        problems.join("\n")
    );
}

fn sim_list_path() -> PathBuf {
    repo().join("tests/onnx/conformance_sim.txt")
}

/// Every case that passes on the reference, compiled to kernels and run on
/// the NeuronCore simulator (trn2). A case either gives the expected
/// outputs or does not lower (an op or dtype the kernel generators do not
/// handle yet, with the reason in `conformance_sim.txt`); a case that
/// lowers and computes something else fails this test, whatever the list
/// says. The list is regenerated with TRNC_UPDATE_CONFORMANCE=1.
#[test]
fn passing_cases_give_the_same_outputs_on_the_simulator() {
    let Some(dir) = node_tests_dir() else {
        assert!(std::env::var_os("CI").is_none(), "the ONNX node tests are missing");
        return;
    };
    let manifest = read_manifest();
    let mut lines = Vec::new();
    let mut wrong = Vec::new();
    std::panic::set_hook(Box::new(|_| {}));
    for (case, status) in manifest.values().flat_map(|c| c.iter()) {
        if *status != Status::Pass {
            continue;
        }
        let result = catch_unwind(AssertUnwindSafe(|| run_case_on(&dir.join(case), Backend::Sim)));
        let line = match result {
            Ok(Ok(())) => format!("{case} pass"),
            Ok(Err(e)) if e.contains("cannot lower") || e.contains("narrowing") || e.contains("does not fit i32") => {
                let why = e.lines().next().unwrap_or_default();
                let why = why.rsplit(": ").next().unwrap_or(why);
                format!("{case} does-not-lower: {why}")
            }
            Ok(Err(e)) => {
                wrong.push(format!("{case}: {e}"));
                continue;
            }
            Err(_) => {
                wrong.push(format!("{case}: panicked"));
                continue;
            }
        };
        lines.push(line);
    }
    let _ = std::panic::take_hook();
    assert!(wrong.is_empty(), "cases that lower but differ on the simulator:\n{}", wrong.join("\n"));
    let text = format!(
        "# ONNX node tests that pass on the reference, run as compiled kernels on the\n\
         # NeuronCore simulator (trn2) by compiler/tests/onnx_conformance.rs.\n\
         # Regenerate with TRNC_UPDATE_CONFORMANCE=1.\n{}\n",
        lines.join("\n")
    );
    if updating() {
        std::fs::write(sim_list_path(), &text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(sim_list_path()).unwrap_or_default();
    assert_eq!(committed, text, "tests/onnx/conformance_sim.txt is out of date; regenerate it");
}
