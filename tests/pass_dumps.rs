//! The IR after each pass of the default pipeline, as snapshots, for the
//! models the pipeline is built for: an MLP, softmax and layer norm in
//! primitives, a GPT-2 block and a BERT encoder layer exported to ONNX.
//! Passes that change nothing are named without a dump, so the snapshots
//! show exactly what each pass did.

use std::path::Path;
use trnc::passes::{find_pass, DEFAULT_PIPELINE};
use trnc::{load_model, LoadOptions};
use trnc_ir::text::print_graph;

#[test]
fn ir_after_each_pass() {
    for file in [
        "corpus/mlp.trn",
        "corpus/softmax_primitives.trn",
        "corpus/layernorm_primitives.trn",
        "models/gpt2_block.onnx",
        "models/bert_encoder_layer.onnx",
    ] {
        let mut options = LoadOptions::default();
        options.dims.insert("batch".into(), 2);
        options.dims.insert("sequence".into(), 16);
        let mut g = load_model(Path::new(file), &options).unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut dump = format!("// ----- input ({} nodes) ----- //\n{}", g.nodes.len(), print_graph(&g));
        for name in DEFAULT_PIPELINE {
            let before = print_graph(&g);
            (find_pass(name).unwrap().run)(&mut g);
            let after = print_graph(&g);
            if after == before {
                dump.push_str(&format!("// ----- {name}: no change ----- //\n"));
            } else {
                dump.push_str(&format!("// ----- IR after {name} ({} nodes) ----- //\n{after}", g.nodes.len()));
            }
        }
        let name = Path::new(file).file_stem().unwrap().to_str().unwrap().to_string();
        insta::with_settings!({snapshot_suffix => name, prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("passes", dump);
        });
    }
}
