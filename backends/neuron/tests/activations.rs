//! Activation functions against values from Python's math module
//! (`data/gen_activation_reference.py` wrote `data/activation_reference.txt`).

mod common;

use common::*;
use trnc_backend_neuron::{math, simulate};
use trnc_ir::kernel::{ActFunc, Inst, ScalarOperand};
use trnc_ir::{DType, Target};

const REFERENCE: &str = include_str!("data/activation_reference.txt");

const FUNCS: [ActFunc; 16] = [
    ActFunc::Copy,
    ActFunc::Exp,
    ActFunc::Log,
    ActFunc::Tanh,
    ActFunc::Sigmoid,
    ActFunc::Relu,
    ActFunc::Gelu,
    ActFunc::GeluTanh,
    ActFunc::Silu,
    ActFunc::Erf,
    ActFunc::Sqrt,
    ActFunc::Rsqrt,
    ActFunc::Reciprocal,
    ActFunc::Square,
    ActFunc::Abs,
    ActFunc::Sin,
];

/// (x, f64 value, f32 value) rows for one function.
fn rows(name: &str) -> Vec<(f64, f64, f64)> {
    REFERENCE
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .filter(|f| f[0] == name)
        .map(|f| (f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].parse().unwrap()))
        .collect()
}

/// Distance in fp32 ulps (0 for equal values, including 0.0 and -0.0).
fn ulps(a: f64, b: f64) -> u32 {
    if a == b {
        return 0;
    }
    let key = |x: f32| {
        let bits = x.to_bits() as i64;
        if bits < 0 {
            i64::from(i32::MIN) - bits
        } else {
            bits
        }
    };
    (key(a as f32) - key(b as f32)).unsigned_abs() as u32
}

/// Runs `activation(func)` on a [1, n] row of points.
fn simulate_row(func: ActFunc, xs: &[f64]) -> Vec<f64> {
    let n = xs.len();
    let mut b = Builder::new(func.nki_name());
    let x = b.input("x", DType::F32, &[1, n]);
    let y = b.output("y", DType::F32, &[1, n]);
    let t = b.sbuf("t", DType::F32, &[1, n]);
    b.push(load(b.all(t), block(x, n, c(0), 1, c(0), n)));
    b.push(Inst::Activation {
        dst: b.all(t),
        src: b.all(t),
        func,
        scale: ScalarOperand::Imm(1.0),
        bias: None,
        reduce: None,
    });
    b.push(store(block(y, n, c(0), 1, c(0), n), b.all(t)));
    let out = simulate(&b.finish(), Target::Trn3, &[tensor(DType::F32, &[1, n], xs)]).unwrap();
    out[0].to_f64_vec()
}

#[test]
fn every_activation_matches_python_math_in_fp32() {
    for func in FUNCS {
        let reference = rows(func.nki_name());
        assert!(!reference.is_empty(), "no reference rows for {}", func.nki_name());
        let xs: Vec<f64> = reference.iter().map(|r| r.0).collect();
        let got = simulate_row(func, &xs);
        for ((x, _, want), got) in reference.iter().zip(got) {
            // One fp32 rounding of an f64 value: at most one ulp apart when
            // the f64 values differ in their last bits near a tie.
            assert!(ulps(got, *want) <= 1, "{}({x}) = {got:e}, Python gives {want:e}", func.nki_name());
        }
    }
}

#[test]
fn erf_and_erfc_are_accurate_in_f64() {
    for (x, want, _) in rows("erf") {
        let got = math::erf(x);
        assert!((got - want).abs() <= 1e-15 * want.abs().max(1e-300), "erf({x}) = {got:e}, math.erf {want:e}");
    }
    for (x, want, _) in rows("erfc64") {
        let got = math::erfc(x);
        let tol = if x > 0.5 && x < 2.5 { 1e-12 } else { 1e-14 };
        assert!((got - want).abs() <= tol * want.abs(), "erfc({x}) = {got:e}, math.erfc {want:e}");
    }
    assert!(math::erf(f64::NAN).is_nan());
    assert_eq!(math::erf(f64::INFINITY), 1.0);
    assert_eq!(math::erfc(f64::NEG_INFINITY), 2.0);
}
