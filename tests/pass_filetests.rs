//! Pass file tests, in the manner of Cranelift's filetests: each file in
//! `tests/passes/` is a graph with `// expect: OP`, `// expect-not: OP`
//! and `// expect-count: OP N` lines about the graph after the default
//! pipeline. For those files and the whole corpus, every pass is also
//! checked numerically: outputs before and after it agree on random inputs
//! (relative L2 error <= 1e-5, exact for integers and bools).

use std::path::Path;
use trnc::passes::{find_pass, DEFAULT_PIPELINE};
use trnc_ir::random::random_inputs;
use trnc_ir::text::print_graph;
use trnc_ir::{verify, Graph, Tensor};
use trnc_tests::{files_in, load, rel_l2};

fn reference(g: &Graph, inputs: &[Tensor]) -> Vec<Tensor> {
    trnc_backend_cpu::run(g, inputs).unwrap_or_else(|e| panic!("reference failed: {e}\n{}", print_graph(g)))
}

fn assert_same_outputs(what: &str, got: &[Tensor], want: &[Tensor]) {
    assert_eq!(got.len(), want.len(), "{what}: output count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.ty(), w.ty(), "{what}: output {i} type");
        if w.dtype().is_float() {
            let err = rel_l2(&g.to_f64_vec(), &w.to_f64_vec());
            assert!(err <= 1e-5, "{what}: output {i} differs, relative L2 error {err:e}");
        } else {
            assert_eq!(g, w, "{what}: output {i} differs");
        }
    }
}

/// Runs the default pipeline pass by pass, checking each against the
/// unoptimised graph's outputs; returns the final graph.
fn optimise_checked(path: &Path, mut g: Graph) -> Graph {
    let inputs = random_inputs(&g, 0).unwrap();
    let want = reference(&g, &inputs);
    for name in DEFAULT_PIPELINE {
        (find_pass(name).unwrap().run)(&mut g);
        verify(&g).unwrap_or_else(|e| panic!("{}: after {name}: {e}", path.display()));
        let got = reference(&g, &inputs);
        assert_same_outputs(&format!("{} after {name}", path.display()), &got, &want);
    }
    g
}

fn count_ops(g: &Graph, op: &str) -> usize {
    g.nodes.iter().filter(|n| n.op.name() == op).count()
}

#[test]
fn pass_files_meet_their_expectations() {
    let files = files_in("passes", "trn");
    assert!(files.len() >= 15);
    for path in files {
        let src = std::fs::read_to_string(&path).unwrap();
        let g = optimise_checked(&path, load(&path).unwrap());
        let mut checks = 0;
        for line in src.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["//", "expect:", op] => {
                    assert!(count_ops(&g, op) > 0, "{}: no {op}\n{}", path.display(), print_graph(&g))
                }
                ["//", "expect-not:", op] => {
                    assert_eq!(count_ops(&g, op), 0, "{}: {op} remains\n{}", path.display(), print_graph(&g))
                }
                ["//", "expect-count:", op, n] => {
                    assert_eq!(
                        count_ops(&g, op),
                        n.parse::<usize>().unwrap(),
                        "{}: {op}\n{}",
                        path.display(),
                        print_graph(&g)
                    )
                }
                _ => continue,
            }
            checks += 1;
        }
        assert!(checks > 0, "{} states no expectation", path.display());
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        insta::with_settings!({snapshot_suffix => name, prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("optimised", print_graph(&g));
        });
    }
}

#[test]
fn every_pass_preserves_the_corpus_outputs() {
    for path in files_in("corpus", "trn") {
        optimise_checked(&path, load(&path).unwrap());
    }
    let mut options = trnc::LoadOptions::default();
    options.dims.insert("batch".into(), 2);
    options.dims.insert("sequence".into(), 16);
    let onnx = files_in("models", "onnx");
    assert!(onnx.len() >= 2);
    for path in onnx {
        optimise_checked(&path, trnc::load_model(&path, &options).unwrap());
    }
}
