//! Fusion plans: every plan is a valid schedule that computes the same
//! outputs on the reference backend; kernel counts are asserted in the
//! manner of tinygrad's check_schedule; explanations are snapshots.

use std::path::Path;
use trnc::fusion::{explain, plan_fusion, scheduled_graph, validate, FusionPlan};
use trnc::passes::{run_pipeline, PipelineOptions, DEFAULT_PIPELINE};
use trnc::{load_model, LoadOptions};
use trnc_ir::random::random_inputs;
use trnc_ir::{Graph, Target};
use trnc_tests::{files_in, load, rel_l2};

fn optimised(path: &Path) -> Graph {
    let mut options = LoadOptions::default();
    for (k, v) in [("batch", 2), ("sequence", 16)] {
        options.dims.insert(k.into(), v);
    }
    let mut g = if path.extension().is_some_and(|e| e == "onnx") { load_model(path, &options) } else { load(path) }
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    run_pipeline(&mut g, DEFAULT_PIPELINE, &PipelineOptions::default(), &mut |_| {}).unwrap();
    g
}

fn check_plan(path: &Path, g: &Graph, plan: &FusionPlan) {
    validate(g, plan).unwrap_or_else(|e| panic!("{} on {}: {e}", path.display(), plan.target));
    let inputs = random_inputs(g, 1).unwrap();
    let want = trnc_backend_cpu::run(g, &inputs).unwrap();
    let got = trnc_backend_cpu::run(&scheduled_graph(g, plan), &inputs).unwrap();
    for (a, b) in got.iter().zip(&want) {
        assert!(rel_l2(&a.to_f64_vec(), &b.to_f64_vec()) <= 1e-6, "{}: scheduled run differs", path.display());
    }
}

fn model_files() -> Vec<std::path::PathBuf> {
    let mut files = files_in("corpus", "trn");
    files.extend(files_in("passes", "trn"));
    files.extend(files_in("fusion", "trn"));
    files.extend(files_in("models", "onnx"));
    files
}

#[test]
fn every_plan_is_a_valid_schedule_with_the_same_outputs() {
    for path in model_files() {
        let g = optimised(&path);
        for target in Target::ALL {
            check_plan(&path, &g, &plan_fusion(&g, target));
        }
    }
}

fn kernels(file: &str) -> usize {
    let g = optimised(Path::new(file));
    plan_fusion(&g, Target::Trn2).kernel_count()
}

#[test]
fn kernel_counts() {
    assert_eq!(kernels("corpus/mlp.trn"), 2, "matmul+bias+gelu, matmul+bias");
    assert_eq!(kernels("corpus/softmax_primitives.trn"), 1);
    assert_eq!(kernels("corpus/layernorm_primitives.trn"), 1);
    assert_eq!(kernels("corpus/embedding.trn"), 1, "gather + position add + layer_norm");
    assert_eq!(kernels("corpus/elementwise.trn"), 1, "one elementwise chain with three outputs");
    assert_eq!(kernels("fusion/wide_rows.trn"), 2, "exp cannot join a 20000-wide row");
    // Heads are split by views the attention kernel reads through; the
    // merged heads are a transposed graph output, which a copy kernel writes.
    assert_eq!(kernels("corpus/attention.trn"), 2);
    // QKV projections (siblings), attention, output projection + residual +
    // norm, MLP up + gelu, MLP down + residual + norm, and the mask.
    assert_eq!(kernels("models/bert_encoder_layer.onnx"), 6);
    // ln_1, QKV, attention, projection + residual + ln_2, MLP up, MLP down + residual.
    assert_eq!(kernels("models/gpt2_block.onnx"), 6);
}

#[test]
fn explanations() {
    for file in ["corpus/mlp.trn", "corpus/attention.trn", "fusion/wide_rows.trn", "fusion/shared_producer.trn"] {
        let path = Path::new(file);
        let g = optimised(path);
        let text = explain(&g, &plan_fusion(&g, Target::Trn2));
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        insta::with_settings!({snapshot_suffix => name, prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("fusion", text);
        });
    }
    let g = optimised(Path::new("fusion/wide_rows.trn"));
    let text = explain(&g, &plan_fusion(&g, Target::Trn2));
    assert!(text.contains("would exceed SBUF"), "{text}");
}
