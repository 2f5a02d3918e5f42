//! Rounding on every write to the destination dtype, and fp32 PSUM
//! accumulation. Expected values are worked out by hand in the comments.

mod common;

use common::*;
use trnc_backend_neuron::simulate;
use trnc_ir::kernel::{Accumulate, AluOp, Engine, Inst};
use trnc_ir::{DType, Target, Tensor};

fn run(k: trnc_ir::kernel::Kernel, inputs: &[Tensor]) -> Vec<Vec<f64>> {
    let outs = simulate(&k, Target::Trn2, inputs).unwrap_or_else(|e| panic!("{e}"));
    outs.iter().map(Tensor::to_f64_vec).collect()
}

const EPS8: f64 = 1.0 / 256.0; // 2^-8: half a bf16 ulp at 1.0

#[test]
fn engine_results_round_to_a_bf16_destination() {
    let n = 5;
    let mut b = Builder::new("add_bf16");
    let ha = b.input("a", DType::F32, &[1, n]);
    let hb = b.input("b", DType::F32, &[1, n]);
    let hy = b.output("y", DType::F32, &[1, n]);
    let ta = b.sbuf("ta", DType::F32, &[1, n]);
    let tb = b.sbuf("tb", DType::F32, &[1, n]);
    let ty = b.sbuf("ty", DType::BF16, &[1, n]);
    b.push(load(b.all(ta), block(ha, n, c(0), 1, c(0), n)));
    b.push(load(b.all(tb), block(hb, n, c(0), 1, c(0), n)));
    b.push(Inst::TensorTensor { dst: b.all(ty), a: b.all(ta), b: b.all(tb), op: AluOp::Add });
    b.push(store(block(hy, n, c(0), 1, c(0), n), b.all(ty)));
    let a = [1.0; 5];
    let bv = [EPS8, 3.0 * EPS8, EPS8 / 2.0, -EPS8 / 2.0, EPS8 + 2f64.powi(-20)];
    let out = run(b.finish(), &[tensor(DType::F32, &[1, n], &a), tensor(DType::F32, &[1, n], &bv)]);
    // bf16 keeps 8 significant bits: the neighbours of 1 are 1 - 2^-8 and
    // 1 + 2^-7.
    // 1 + 2^-8: tie between 1 (even) and 1 + 2^-7 -> 1.
    // 1 + 3·2^-8: tie between 1 + 2^-7 (odd) and 1 + 2^-6 (even) -> 1.015625.
    // 1 + 2^-9: below the tie -> 1.
    // 1 - 2^-9: tie between 1 - 2^-8 (mantissa all ones, odd) and 1 -> 1.
    // 1 + 2^-8 + 2^-20: above the tie -> 1.0078125.
    assert_eq!(out[0], [1.0, 1.015625, 1.0, 1.0, 1.0078125]);
}

#[test]
fn casts_by_dma_and_tensor_copy() {
    let n = 6;
    let mut b = Builder::new("casts");
    let x = b.input("x", DType::F32, &[1, n]);
    let y_bf16 = b.output("y_bf16", DType::F32, &[1, n]);
    let y_fp8 = b.output("y_fp8", DType::F32, &[1, n]);
    let y_i32 = b.output("y_i32", DType::I32, &[1, n]);
    let tf = b.sbuf("tf", DType::F32, &[1, n]);
    let tb = b.sbuf("tb", DType::BF16, &[1, n]);
    let t8 = b.sbuf("t8", DType::F8E4M3, &[1, n]);
    let ti = b.sbuf("ti", DType::I32, &[1, n]);
    b.push(load(b.all(tf), block(x, n, c(0), 1, c(0), n)));
    b.push(load(b.all(tb), block(x, n, c(0), 1, c(0), n)));
    b.push(Inst::TensorCopy { dst: b.all(t8), src: b.all(tf), engine: Engine::Vector });
    b.push(Inst::TensorCopy { dst: b.all(ti), src: b.all(tf), engine: Engine::GpSimd });
    b.push(store(block(y_bf16, n, c(0), 1, c(0), n), b.all(tb)));
    b.push(store(block(y_fp8, n, c(0), 1, c(0), n), b.all(t8)));
    b.push(store(block(y_i32, n, c(0), 1, c(0), n), b.all(ti)));
    let xs = [1.00390625, std::f64::consts::PI, 65504.0, 464.0, -2.5, 1e10];
    let out = run(b.finish(), &[tensor(DType::F32, &[1, n], &xs)]);
    // bf16: 1 + 2^-8 ties to 1; π -> 3.140625 (8 bits: 11.00100100); 65504
    // = 1.1111111111b·2^15 rounds up to 2^16; 464 exact; -2.5 exact; 1e10 ->
    // 9999220736 (the nearest multiple of 2^26).
    assert_eq!(out[0], [1.0, 3.140625, 65536.0, 464.0, -2.5, 9999220736.0]);
    // fp8 e4m3 (max 448, no inf): 464 is the tie between 448 and the NaN
    // code and goes to 448; 65504 and 1e10 overflow to NaN.
    assert_eq!(&out[1][..2], [1.0, 3.25]);
    assert!(out[1][2].is_nan() && out[1][5].is_nan());
    assert_eq!(out[1][3], 448.0);
    assert_eq!(out[1][4], -2.5);
    // int32: round half to even, saturate (nki-api.md §1, NKI 0.6).
    assert_eq!(out[2], [1.0, 3.0, 65504.0, 464.0, -2.0, 2147483647.0]);
}

#[test]
fn psum_accumulates_in_fp32_per_matmul() {
    // acc = 1·1, then three matmuls add 2^-12 · 2^-12 = 2^-24 each. In fp32
    // 1 + 2^-24 is a tie that rounds back to 1 every time, so acc stays 1;
    // one exact sum would give 1 + 3·2^-24 -> 1 + 2^-22.
    let mut b = Builder::new("psum_fp32");
    let y = b.output("y", DType::F32, &[1, 1]);
    let one = b.sbuf("one", DType::F32, &[1, 1]);
    let small = b.sbuf("small", DType::F32, &[1, 1]);
    let acc = b.psum("acc", &[1, 1]);
    let o = b.sbuf("o", DType::F32, &[1, 1]);
    b.push(Inst::Memset { dst: b.all(one), value: 1.0 });
    b.push(Inst::Memset { dst: b.all(small), value: 2f64.powi(-12) });
    b.push(Inst::Matmul {
        dst: b.all(acc),
        stationary: b.all(one),
        moving: b.all(one),
        accumulate: Accumulate::Overwrite,
    });
    b.repeat(3, |b, _| {
        let mm = Inst::Matmul {
            dst: b.all(acc),
            stationary: b.all(small),
            moving: b.all(small),
            accumulate: Accumulate::Add,
        };
        b.push(mm);
    });
    b.push(Inst::TensorCopy { dst: b.all(o), src: b.all(acc), engine: Engine::Vector });
    b.push(store(block(y, 1, c(0), 1, c(0), 1), b.all(o)));
    assert_eq!(run(b.finish(), &[])[0], [1.0]);
}
