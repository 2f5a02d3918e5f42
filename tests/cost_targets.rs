//! The compiler's own matmul, priced by the cost model: the NKI tutorial
//! shape [4096, 8192] @ [8192, 8192] bf16 on one Trn1 core must reach 80%
//! of TensorE peak (the tutorial's best hand-written kernel: 85%, 6.97 ms,
//! trainium.md §3.3), and 4096³ bf16 on one Trn2 core 85% (the published
//! autotuned kernel: 95.8%, 1.823 ms).

use trnc::program::build_program;
use trnc_backend_neuron::cost::estimate;
use trnc_ir::text::parse_graph;
use trnc_ir::Target;

fn matmul_fraction(m: usize, k: usize, n: usize, target: Target) -> (f64, f64) {
    let src = format!(
        "graph @mm(%a: bf16[{m}, {k}], %b: bf16[{k}, {n}]) -> (bf16[{m}, {n}]) {{\n  %c = matmul %a, %b : bf16[{m}, {n}]\n  return %c\n}}\n"
    );
    let g = parse_graph(&src, "mm", &mut |_, _| Err("no weights".into())).unwrap().graph;
    let p = build_program(&g, target).unwrap();
    assert_eq!(p.calls.len(), 1);
    let e = estimate(&p.calls[0].kernel, target);
    (e.tensor_peak_fraction, e.total_ns / 1e6)
}

#[test]
fn tutorial_matmul_on_trn1_reaches_80_percent_of_peak() {
    let (fraction, ms) = matmul_fraction(4096, 8192, 8192, Target::Trn1);
    assert!(fraction >= 0.80, "{:.1}% of peak, {ms:.2} ms", fraction * 100.0);
}

#[test]
fn square_4096_on_trn2_reaches_85_percent_of_peak() {
    let (fraction, ms) = matmul_fraction(4096, 4096, 4096, Target::Trn2);
    assert!(fraction >= 0.85, "{:.1}% of peak, {ms:.3} ms", fraction * 100.0);
}
