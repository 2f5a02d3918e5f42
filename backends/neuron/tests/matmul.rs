//! A tiled matmul (K = 300 in 3 accumulation steps with a tail, M = 129
//! and N = 700 with tails) against a plain f64 matmul.

mod common;

use common::kernels::tiled_matmul;
use common::*;
use trnc_backend_neuron::simulate;
use trnc_ir::{DType, Target};

/// `a[M, K] @ b[K, N]` in f64, with `at` = aᵀ.
fn reference(at: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|p| at[p * m + i] * b[p * n + j]).sum();
        }
    }
    c
}

fn check(dtype: DType, target: Target) {
    let (m, k, n) = (129, 300, 700);
    let kernel = tiled_matmul(m, k, n, dtype);
    let at = values(k * m, 1);
    let b = values(k * n, 2);
    let out = simulate(&kernel, target, &[tensor(dtype, &[k, m], &at), tensor(dtype, &[k, n], &b)])
        .unwrap_or_else(|e| panic!("{e}"));
    let want = reference(&at, &b, m, k, n);
    // Values are multiples of 1/64 in [-1, 1) (exact in bf16), so the only
    // error is fp32 rounding: three PSUM roundings of sums of magnitude
    // about √300 / 2.
    let err = out[0].to_f64_vec().iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0, f64::max);
    assert!(err < 1e-5, "{dtype} on {target}: max abs error {err:e}");
}

#[test]
fn tiled_matmul_with_k_accumulation_and_tails_f32() {
    check(DType::F32, Target::Trn1);
}

#[test]
fn tiled_matmul_with_k_accumulation_and_tails_bf16() {
    check(DType::BF16, Target::Trn2);
}
