//! Criterion benches of the compile pipeline, stage by stage, on the
//! MiniLM models: import (or parse), each pass of the default pipeline on
//! the graph as the pipeline hands it over, lowering (`build_program`:
//! narrowing, fusion planning, kernel generation) and emission (what
//! `trnc compile --emit nki` writes: kernel modules, model.py, weights,
//! report, into a temporary folder). `trnc bench --wall-clock` times the same stages end to end;
//! these give the statistics per stage.
//!
//!     cargo bench -p trnc --bench compile            # all models
//!     cargo bench -p trnc --bench compile -- minilm_encoder_x1/
//!
//! Reports: target/criterion/report/index.html. Models whose file is not
//! there (all-MiniLM-L6-v2 and paraphrase-MiniLM-L3-v2 are built into the
//! ignored .cache/models by `bash tests/run.sh`) are skipped with a note.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use trnc::load::{load_model, LoadOptions};
use trnc::passes::{find_pass, DEFAULT_PIPELINE};
use trnc::program::build_program;
use trnc_backend_neuron::nki::Dialect;
use trnc_ir::Target;

struct Model {
    name: &'static str,
    path: &'static str,
    dims: &'static [(&'static str, usize)],
}

const MINILM_DIMS: &[(&str, usize)] = &[("batch_size", 1), ("sequence_length", 128)];

const MODELS: &[Model] = &[
    Model { name: "minilm_encoder_x1", path: "bench-results/models/minilm_encoder_x1.trn", dims: &[] },
    Model { name: "all_minilm_l6_v2", path: ".cache/models/all-MiniLM-L6-v2.onnx", dims: MINILM_DIMS },
    Model { name: "paraphrase_minilm_l3_v2", path: ".cache/models/paraphrase-MiniLM-L3-v2.onnx", dims: MINILM_DIMS },
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the compiler crate is in the workspace").to_path_buf()
}

fn options(m: &Model) -> LoadOptions {
    let dims: BTreeMap<String, usize> = m.dims.iter().map(|&(d, n)| (d.to_string(), n)).collect();
    LoadOptions { dims, input_shapes: BTreeMap::new() }
}

fn stages(c: &mut Criterion) {
    for m in MODELS {
        let file = root().join(m.path);
        if !file.exists() {
            eprintln!("skipping {}: {} does not exist", m.name, file.display());
            continue;
        }
        let load = || load_model(&file, &options(m)).expect("the model loads");
        let mut group = c.benchmark_group(m.name);
        group.sample_size(20);
        group.bench_function("import", |b| b.iter(|| black_box(load())));
        // Each pass on the graph the passes before it produced.
        let mut g = load();
        for (i, name) in DEFAULT_PIPELINE.iter().enumerate() {
            let pass = find_pass(name).expect("the default pipeline names passes");
            group.bench_function(format!("pass{:02}_{name}", i + 1), |b| {
                b.iter_batched(|| g.clone(), |mut x| black_box((pass.run)(&mut x)), BatchSize::LargeInput)
            });
            (pass.run)(&mut g);
        }
        group.bench_function("lower", |b| b.iter(|| black_box(build_program(&g, Target::Trn2).expect("lowers"))));
        let program = build_program(&g, Target::Trn2).expect("lowers");
        let dir = std::env::temp_dir().join(format!("trnc-bench-emit-{}", std::process::id()));
        group.bench_function("emit", |b| {
            b.iter(|| {
                let files = trnc::emit_nki::write_nki_dir(&g, &program, Dialect::Current, &dir).expect("writes");
                black_box(files.len())
            })
        });
        let _ = std::fs::remove_dir_all(&dir);
        group.finish();
    }
}

criterion_group!(benches, stages);
criterion_main!(benches);
