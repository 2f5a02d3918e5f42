//! The ONNX importer on the models in tests/onnx/ (written by
//! tests/onnx/make_models.py with onnx and onnxruntime):
//! - each valid model imports to the IR in its snapshot, and computes on
//!   the reference backend what onnxruntime computed;
//! - symbolic dimensions are sized by --dim and by input files;
//! - each broken model gives a clear error (snapshotted), never a panic.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use trnc::execute::{execute, Backend};
use trnc::npy::{read_npy, read_npy_shape};
use trnc::onnx::{import_bytes, import_file};
use trnc::{Error, ErrorKind, LoadOptions};
use trnc_ir::text::print_graph;
use trnc_ir::{Dim, Graph, Target, Tensor};

fn onnx_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/onnx")
}

/// The folders under `tests/onnx/<sub>`, or files with extension `ext`,
/// sorted.
fn entries(sub: &str, ext: Option<&str>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(onnx_dir().join(sub))
        .unwrap_or_else(|e| panic!("tests/onnx/{sub}: {e}; run tests/onnx/make_models.py"))
        .map(|e| e.unwrap().path())
        .filter(|p| match ext {
            Some(ext) => p.extension().is_some_and(|e| e == ext),
            None => p.is_dir(),
        })
        .collect();
    out.sort();
    out
}

fn stem(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

/// Options that size symbolic dimensions from the case's input files, as
/// `trnc run --input` does.
fn options_from_inputs(case: &Path) -> LoadOptions {
    let mut options = LoadOptions::default();
    for f in entries_in(&case.join("inputs")) {
        options.input_shapes.insert(stem(&f), read_npy_shape(&f).unwrap());
    }
    options
}

fn entries_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    out.sort();
    out
}

/// Imports, turning a panic into a test failure that names the model.
fn import(path: &Path, options: &LoadOptions) -> Result<Graph, Error> {
    catch_unwind(AssertUnwindSafe(|| import_file(path, options)))
        .unwrap_or_else(|_| panic!("the importer panicked on {}", path.display()))
}

#[test]
fn valid_models_import_to_their_snapshots() {
    let cases = entries("models", None);
    assert!(cases.len() >= 12, "the ONNX test models went missing");
    for case in cases {
        let name = stem(&case);
        let graph = import(&case.join("model.onnx"), &options_from_inputs(&case))
            .unwrap_or_else(|e| panic!("{name}: {}", e.message));
        insta::with_settings!({snapshot_suffix => name, prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("onnx_ir", print_graph(&graph));
        });
    }
}

/// ||a - b|| / ||b|| over the elements, with NaN required where the
/// expected value is NaN.
fn relative_l2(name: &str, got: &Tensor, want: &Tensor) -> f64 {
    assert_eq!(got.shape(), want.shape(), "{name}: shapes differ");
    let (mut diff, mut norm) = (0.0f64, 0.0f64);
    for (g, w) in got.to_f64_vec().into_iter().zip(want.to_f64_vec()) {
        if w.is_nan() {
            assert!(g.is_nan(), "{name}: expected NaN, got {g}");
            continue;
        }
        diff += (g - w) * (g - w);
        norm += w * w;
    }
    if norm == 0.0 {
        diff.sqrt()
    } else {
        (diff / norm).sqrt()
    }
}

#[test]
fn valid_models_compute_what_onnxruntime_computes() {
    for case in entries("models", None) {
        let name = stem(&case);
        let graph = import(&case.join("model.onnx"), &options_from_inputs(&case))
            .unwrap_or_else(|e| panic!("{name}: {}", e.message));
        let inputs: Vec<Tensor> = graph
            .inputs
            .iter()
            .map(|&v| {
                let file = case.join("inputs").join(format!("{}.npy", graph.name_of(v)));
                read_npy(&file, graph.ty(v).dtype).unwrap_or_else(|e| panic!("{name}: {}", e.message))
            })
            .collect();
        let outputs = execute(&graph, &inputs, Backend::Reference, Target::Trn2)
            .unwrap_or_else(|e| panic!("{name}: {}", e.message));
        for (&v, got) in graph.outputs.iter().zip(&outputs) {
            let out = graph.name_of(v);
            let file = case.join("outputs").join(format!("{out}.npy"));
            let want = read_npy(&file, got.dtype()).unwrap_or_else(|e| panic!("{name}/{out}: {}", e.message));
            let err = relative_l2(&format!("{name}/{out}"), got, &want);
            assert!(err <= 1e-5, "{name}/{out}: relative L2 error {err:e} against onnxruntime");
        }
    }
}

fn symbolic_model() -> PathBuf {
    onnx_dir().join("models/symbolic_dims/model.onnx")
}

fn input_types(g: &Graph) -> Vec<String> {
    g.inputs.iter().map(|&v| format!("{}: {}", g.name_of(v), g.ty(v))).collect()
}

#[test]
fn symbolic_dims_are_sized_by_dim_flags() {
    let options = LoadOptions {
        dims: BTreeMap::from([("batch".into(), 4), ("seq".into(), 5), ("bias_dim1".into(), 1)]),
        input_shapes: BTreeMap::new(),
    };
    let g = import(&symbolic_model(), &options).unwrap();
    assert_eq!(input_types(&g), ["x: f32[4, 5, 8]", "bias: f32[5, 1]"]);
    assert!(g.inputs.iter().all(|&v| g.ty(v).dims.iter().all(|d| matches!(d, Dim::Known(_)))));
}

#[test]
fn symbolic_dims_are_sized_by_input_shapes_and_flags_together() {
    // `seq` comes from the input file of x; the unnamed dimension of bias
    // is named after its input and position.
    let options = LoadOptions {
        dims: BTreeMap::from([("bias_dim1".into(), 5)]),
        input_shapes: BTreeMap::from([("x".into(), vec![1, 7, 8])]),
    };
    let g = import(&symbolic_model(), &options).unwrap();
    assert_eq!(input_types(&g), ["x: f32[1, 7, 8]", "bias: f32[7, 5]"]);
}

fn error_of(path: &Path, options: &LoadOptions) -> Error {
    match import(path, options) {
        Ok(g) => panic!("{} was accepted:\n{}", path.display(), print_graph(&g)),
        Err(e) => {
            assert_eq!(e.kind, ErrorKind::BadInput, "{}", e.message);
            e
        }
    }
}

#[test]
fn symbolic_dim_conflicts_and_gaps_are_errors() {
    let relative = Path::new("../tests/onnx/models/symbolic_dims/model.onnx");
    let conflict = LoadOptions {
        dims: BTreeMap::from([("batch".into(), 4), ("bias_dim1".into(), 1)]),
        input_shapes: BTreeMap::from([("x".into(), vec![2, 3, 8])]),
    };
    let missing = LoadOptions { dims: BTreeMap::from([("batch".into(), 4)]), input_shapes: BTreeMap::new() };
    for (name, options) in [("dim_conflict", conflict), ("dims_missing", missing)] {
        let e = error_of(relative, &options);
        insta::with_settings!({snapshot_suffix => name, prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("onnx_error", e.message);
        });
    }
}

#[test]
fn external_data_needs_the_model_folder() {
    let bytes = std::fs::read(onnx_dir().join("models/external_data/model.onnx")).unwrap();
    let e = import_bytes(&bytes, None, &LoadOptions::default()).unwrap_err();
    assert!(e.message.contains("external file 'weights.bin'"), "{}", e.message);
}

/// What each broken model's error must mention, beyond its snapshot.
const MUST_MENTION: &[(&str, &[&str])] = &[
    ("broadcast_mismatch", &["node 'add' (Add)", "[2, 3]", "[4]"]),
    ("matmul_shapes", &["node 'mm' (MatMul)", "f32[2, 3]", "f32[4, 5]"]),
    (
        "unsupported_ops",
        &[
            "Conv (3 nodes: 'conv1', 'conv2', unnamed node #5 computing 'y')",
            "LSTM (1 node: 'lstm')",
            "com.microsoft.FusedMatMul",
        ],
    ),
    ("wrong_dtype", &["node 'add' (Add)", "f32[2, 3]", "i64[2, 3]"]),
    ("missing_initializer", &["node 'add' (Add)", "'bias'"]),
    ("dangling_input", &["node 'add' (Add)", "'ghost'"]),
    ("reshape_runtime_shape", &["node 'reshape' (Reshape)", "'shape'", "constant"]),
    ("double_input", &["double"]),
    ("cast_to_uint8", &["node 'to_u8' (Cast)", "uint8"]),
    ("symbolic_unbound", &["'batch'", "--dim batch=N"]),
    ("opset_28", &["opset 28", "up to 27"]),
    ("slice_opset_9", &["node 'slice' (Slice)", "Slice-1", "opset 9", "from version 10"]),
    ("gelu_opset_17", &["node 'gelu' (Gelu)", "not defined in opset 17", "added in opset 20"]),
    ("layernorm_bad_stash_type", &["node 'ln' (LayerNormalization)", "stash_type", "7"]),
];

#[test]
fn broken_models_give_clear_errors() {
    let files = entries("errors", Some("onnx"));
    assert!(files.len() >= 20, "the broken ONNX models went missing");
    for file in files {
        let name = stem(&file);
        // A relative path keeps the snapshots independent of the checkout.
        let relative = Path::new("../tests/onnx/errors").join(file.file_name().unwrap());
        let e = error_of(&relative, &LoadOptions::default());
        assert!(e.message.starts_with("error: ../tests/onnx/errors/"), "{name}: {}", e.message);
        for (case, needles) in MUST_MENTION {
            if *case == name {
                for needle in *needles {
                    assert!(e.message.contains(needle), "{name}: no '{needle}' in:\n{}", e.message);
                }
            }
        }
        insta::with_settings!({snapshot_suffix => name, prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("onnx_error", e.message);
        });
    }
}

/// Every prefix of a model, and the model with single bytes changed,
/// imports or fails with an error; it never panics.
#[test]
fn damaged_files_never_panic() {
    let bytes = std::fs::read(onnx_dir().join("models/layout/model.onnx")).unwrap();
    let options = LoadOptions::default();
    let try_import = |b: &[u8], what: &str| {
        let result = catch_unwind(AssertUnwindSafe(|| import_bytes(b, None, &options)));
        assert!(result.is_ok(), "the importer panicked on {what}");
    };
    for len in (0..bytes.len()).step_by(7) {
        try_import(&bytes[..len], &format!("the first {len} bytes"));
    }
    let mut damaged = bytes.clone();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..300 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let at = (seed >> 33) as usize % damaged.len();
        let old = damaged[at];
        damaged[at] = (seed >> 8) as u8;
        try_import(&damaged, &format!("byte {at} set to {}", damaged[at]));
        damaged[at] = old;
    }
}
