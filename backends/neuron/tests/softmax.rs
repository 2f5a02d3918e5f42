//! A row softmax kernel (reduce max, exp with bias and row sums,
//! reciprocal, per-partition multiply) against an f64 softmax.

mod common;

use common::kernels::softmax;
use common::*;
use trnc_backend_neuron::simulate;
use trnc_ir::{DType, Target};

#[test]
fn softmax_rows_with_a_partition_tail() {
    let (rows, cols) = (200, 100);
    let x: Vec<f64> = values(rows * cols, 7).iter().map(|v| v * 8.0).collect();
    let out = simulate(&softmax(rows, cols), Target::Trn2, &[tensor(DType::F32, &[rows, cols], &x)])
        .unwrap_or_else(|e| panic!("{e}"));
    let mut want = Vec::with_capacity(x.len());
    for row in x.chunks(cols) {
        let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = row.iter().map(|v| (v - max).exp()).collect();
        let sum: f64 = e.iter().sum();
        want.extend(e.iter().map(|v| v / sum));
    }
    // exp, sum, reciprocal and product each round to fp32 once.
    let err = max_rel_err(&out[0].to_f64_vec(), &want, 1e-30);
    assert!(err < 1e-6, "max relative error {err:e}");
}
