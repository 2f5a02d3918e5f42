//! The NKI emitted for tiny MLP, softmax, layer norm and causal attention
//! models, in both dialects, as snapshots small enough to review by reading;
//! plus the MLP's host driver and the `--emit nki` directory's determinism.
//! (tests/python/test_nki_emit.py runs the emitted code.)

use std::path::PathBuf;
use trnc::emit_nki::write_nki_dir;
use trnc::load::{load_model, LoadOptions};
use trnc::passes::{run_pipeline, PipelineOptions, DEFAULT_PIPELINE};
use trnc::program::{build_program, Program};
use trnc_backend_neuron::nki::{emit_kernel, Dialect};
use trnc_ir::{Graph, Target};

const MODELS: &[(&str, &str)] = &[
    (
        "mlp",
        "graph @mlp_tiny(%x: f32[20, 64], %w: f32[64, 48], %b: f32[48]) -> (f32[20, 48]) {
  %h = matmul %x, %w : f32[20, 48]
  %hb = add %h, %b : f32[20, 48]
  %y = relu %hb : f32[20, 48]
  return %y
}",
    ),
    (
        "softmax",
        "graph @softmax_tiny(%x: f32[6, 40]) -> (f32[6, 40]) {
  %y = softmax %x {axis = 1} : f32[6, 40]
  return %y
}",
    ),
    (
        "layer_norm",
        "graph @layer_norm_tiny(%x: f32[10, 32], %g: f32[32], %b: f32[32]) -> (f32[10, 32]) {
  %y = layer_norm %x, %g, %b {axis = 1, epsilon = 1e-5} : f32[10, 32]
  return %y
}",
    ),
    (
        "attention",
        "graph @attention_tiny(%q: f32[1, 16, 16], %k: f32[1, 16, 16], %v: f32[1, 16, 16]) -> (f32[1, 16, 16]) {
  %y = attention %q, %k, %v {scale = 0.25, causal = true} : f32[1, 16, 16]
  return %y
}",
    ),
];

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("trnc-nki-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The optimised graph and its program, as `trnc compile` builds them.
fn compile(name: &str, text: &str) -> (Graph, Program) {
    let path = temp_dir(name).join(format!("{name}.trn"));
    std::fs::write(&path, text).unwrap();
    let mut g = load_model(&path, &LoadOptions::default()).unwrap();
    run_pipeline(&mut g, DEFAULT_PIPELINE, &PipelineOptions::default(), &mut |_| {}).unwrap();
    let program = build_program(&g, Target::Trn2).unwrap();
    (g, program)
}

#[test]
fn tiny_kernels_in_both_dialects() {
    for &(name, text) in MODELS {
        let (_, program) = compile(name, text);
        for dialect in Dialect::ALL {
            let modules: Vec<String> = program.calls.iter().map(|c| emit_kernel(&c.kernel, dialect)).collect();
            let all = modules.join("\n# ----- next kernel -----\n\n");
            assert!(!all.contains("NotImplementedError"), "{name} ({}): an inexpressible statement", dialect.name());
            insta::with_settings!({snapshot_suffix => format!("{name}_{}", dialect.name()), prepend_module_to_snapshot => false}, {
                insta::assert_snapshot!("nki", all);
            });
        }
    }
}

#[test]
fn the_mlp_host_driver() {
    let (g, program) = compile("mlp_driver", MODELS[0].1);
    let dir = temp_dir("mlp_driver_out");
    write_nki_dir(&g, &program, Dialect::Current, &dir).unwrap();
    let model = std::fs::read_to_string(dir.join("model.py")).unwrap();
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("nki_driver_mlp", model);
    });
}

#[test]
fn the_directory_is_byte_identical_across_runs() {
    let (name, text) = MODELS[3];
    let (g, program) = compile(name, text);
    for dialect in Dialect::ALL {
        let (a, b) = (temp_dir("det_a"), temp_dir("det_b"));
        let files_a = write_nki_dir(&g, &program, dialect, &a).unwrap();
        let files_b = write_nki_dir(&g, &program, dialect, &b).unwrap();
        assert_eq!(files_a.len(), files_b.len());
        for (fa, fb) in files_a.iter().zip(&files_b) {
            assert_eq!(fa.file_name(), fb.file_name());
            assert_eq!(std::fs::read(fa).unwrap(), std::fs::read(fb).unwrap(), "{}", fa.display());
        }
        let names: Vec<String> =
            files_a.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
        for wanted in ["model.py", "weights.safetensors", "report.json", "README.md", "ruff.toml"] {
            assert!(names.iter().any(|n| n == wanted), "{wanted} missing from {names:?}");
        }
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(a.join("report.json")).unwrap()).unwrap();
        assert_eq!(report["kernels"].as_array().unwrap().len(), program.calls.len());
        assert!(report["kernels"][0]["total_ns"].as_f64().unwrap() > 0.0);
    }
}
