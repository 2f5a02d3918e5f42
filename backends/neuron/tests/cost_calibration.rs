//! Calibration of the cost model against the NKI matmul tutorial
//! (trainium.md §3.3): the four versions of `[4096, 8192] @ [8192, 8192]`
//! BF16 on one Trn1 core take 51.80 / 42.96 / 22.07 / 6.97 ms. The model,
//! with no fitted factor, must keep their order and put each within ±30%.

use trnc_backend_neuron::cost::calibration::{self, Shape, PUBLISHED_MS, TUTORIAL};
use trnc_backend_neuron::cost::estimate;
use trnc_ir::kernel::{verify_kernel, Engine};
use trnc_ir::Target;

#[test]
fn tutorial_versions_within_30_percent_in_order() {
    let mut times = Vec::new();
    for ((name, k), (published_name, published)) in calibration::all(TUTORIAL).into_iter().zip(PUBLISHED_MS) {
        assert_eq!(name, published_name);
        let e = estimate(&k, Target::Trn1);
        let err = (e.total_ms() - published) / published;
        println!("{e}\n  published {published:.2} ms, error {:+.1}%\n", 100.0 * err);
        times.push((name, e.total_ms(), err));
    }
    for (name, ms, err) in &times {
        assert!(err.abs() <= 0.30, "{name}: {ms:.2} ms is {:+.1}% off the published time", 100.0 * err);
    }
    for w in times.windows(2) {
        assert!(w[0].1 > w[1].1, "{} ({:.2} ms) should be slower than {} ({:.2} ms)", w[0].0, w[0].1, w[1].0, w[1].1);
    }
}

#[test]
fn the_summaries_are_stable() {
    let mut s = String::new();
    for (_, k) in calibration::all(TUTORIAL) {
        s += &format!("{}\n\n", estimate(&k, Target::Trn1));
    }
    insta::assert_snapshot!(s);
}

/// What bounds each version: DMA for the first three, TensorE for the last
/// (the tutorial's roofline argument: 102 flop/B tiles vs 683 flop/B blocks).
#[test]
fn the_bounding_engine_moves_from_dma_to_tensor() {
    let critical: Vec<Engine> =
        calibration::all(TUTORIAL).iter().map(|(_, k)| estimate(k, Target::Trn1).critical_engine).collect();
    assert_eq!(critical, [Engine::Dma, Engine::Dma, Engine::Dma, Engine::Tensor]);
    let e = estimate(&calibration::block_k(TUTORIAL), Target::Trn1);
    // The tutorial reports 85.24% HFU for this version.
    assert!((0.75..0.95).contains(&e.tensor_peak_fraction), "{e}");
}

#[test]
fn kernels_are_valid_ir_that_fits_trn1() {
    for s in [TUTORIAL, Shape { m: 2048, k: 1024, n: 1024 }] {
        for (name, k) in calibration::all(s) {
            verify_kernel(&k, Target::Trn1).unwrap_or_else(|e| panic!("{name} {s:?}: {e}"));
            assert!(k.sbuf_bytes_per_partition() <= Target::Trn1.sbuf_bytes_per_partition(), "{name}");
        }
    }
}

#[test]
fn work_and_traffic_match_the_tutorial_arithmetic() {
    let (m, k, n) = (TUTORIAL.m as u64, TUTORIAL.k as u64, TUTORIAL.n as u64);
    let (tm, tn) = (128u64, 512u64);
    // HBM bytes read: lhsT is read once per N tile (v1), N-block ... (bf16).
    let lhs = k * m * 2;
    let rhs = k * n * 2;
    let expected_reads = [
        lhs * (n / tn) + rhs * (m / tm), // tiled: both per (m, n) tile pair
        lhs + rhs * (m / tm),            // hoisted lhsT: once per m tile
        lhs + rhs * (m / (2 * tm)),      // blocks of 2 M tiles
        lhs * (n / 1024) + rhs,          // blocks of N = 1024, M = 2048
    ];
    for ((name, kern), reads) in calibration::all(TUTORIAL).iter().zip(expected_reads) {
        let e = estimate(kern, Target::Trn1);
        assert_eq!(e.flops, 2 * m * n * k, "{name}");
        assert_eq!(e.hbm_read_bytes, reads, "{name}");
        assert_eq!(e.hbm_write_bytes, m * n * 2, "{name}");
        assert_eq!(e.sbuf_bytes_per_partition, kern.sbuf_bytes_per_partition());
    }
}

#[test]
fn other_targets_estimate_too() {
    // Same kernels on trn2/trn3: the optimised one stays TensorE-bound and
    // the clock ratio (2.4 vs 2.8 GHz) shows.
    let k = calibration::block_k(TUTORIAL);
    let t1 = estimate(&k, Target::Trn1);
    for t in [Target::Trn2, Target::Trn3] {
        let e = estimate(&k, t);
        assert_eq!(e.critical_engine, Engine::Tensor, "{e}");
        let ratio = e.busy_ns(Engine::Tensor) / t1.busy_ns(Engine::Tensor);
        assert!((ratio - 2.8 / 2.4).abs() < 1e-3, "{ratio}");
    }
}
