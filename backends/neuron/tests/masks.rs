//! Causal masks with affine_select, and iota, on full 128-partition tiles.

mod common;

use common::*;
use trnc_backend_neuron::simulate;
use trnc_ir::kernel::{AluOp, Inst};
use trnc_ir::{DType, Target};

/// Scores [256, 256]; row tile r0 keeps column j where r0 + p - j >= 0.
#[test]
fn causal_mask_over_two_row_tiles() {
    let n = 256;
    let mut b = Builder::new("causal_mask");
    let s = b.input("s", DType::F32, &[n, n]);
    let y = b.output("y", DType::F32, &[n, n]);
    let t = b.sbuf("t", DType::F32, &[128, n]);
    // affine_select's offset is a constant, so the row tiles are unrolled.
    for r0 in [0, 128] {
        b.push(load(b.all(t), block(s, n, c(r0), 128, c(0), n)));
        b.push(Inst::AffineSelect {
            dst: b.all(t),
            src: b.all(t),
            pattern: vec![(-1, n)],
            channel_multiplier: 1,
            offset: r0,
            cmp: AluOp::GreaterEqual,
            on_false: f64::NEG_INFINITY,
        });
        b.push(store(block(y, n, c(r0), 128, c(0), n), b.all(t)));
    }
    let x = values(n * n, 3);
    let out = simulate(&b.finish(), Target::Trn1, &[tensor(DType::F32, &[n, n], &x)]).unwrap_or_else(|e| panic!("{e}"));
    let got = out[0].to_f64_vec();
    for i in 0..n {
        for j in 0..n {
            let want = if j <= i { x[i * n + j] } else { f64::NEG_INFINITY };
            assert_eq!(got[i * n + j], want, "[{i}, {j}]");
        }
    }
}

/// iota on 128 partitions into i32 and bf16 tiles.
#[test]
fn iota_values_and_their_rounding() {
    let mut b = Builder::new("iota");
    let yi = b.output("yi", DType::I32, &[128, 2, 4]);
    let yb = b.output("yb", DType::BF16, &[128, 8]);
    let ti = b.sbuf("ti", DType::I32, &[128, 2, 4]);
    let tb = b.sbuf("tb", DType::BF16, &[128, 8]);
    // value = -7 + 1000 p + 100 a + b
    b.push(Inst::Iota { dst: b.all(ti), pattern: vec![(100, 2), (1, 4)], offset: -7, channel_multiplier: 1000 });
    b.push(Inst::Iota { dst: b.all(tb), pattern: vec![(1, 8)], offset: 0, channel_multiplier: 257 });
    let out3 = trnc_ir::kernel::HbmAccess { tensor: yi, offset: c(0), pattern: vec![(8, 128), (4, 2), (1, 4)] };
    b.push(Inst::DmaCopy { dst: hbm(out3), src: on_chip(b.all(ti)) });
    b.push(store(block(yb, 8, c(0), 128, c(0), 8), b.all(tb)));
    let out = simulate(&b.finish(), Target::Trn2, &[]).unwrap_or_else(|e| panic!("{e}"));
    let ints = out[0].to_f64_vec();
    let bf = out[1].to_f64_vec();
    for p in 0..128 {
        for a in 0..2 {
            for j in 0..4 {
                assert_eq!(ints[p * 8 + a * 4 + j], (-7 + 1000 * p as i64 + 100 * a as i64 + j as i64) as f64);
            }
        }
        for j in 0..8 {
            // 257 p + j in bf16: 8 significant bits, round to nearest even.
            let exact = (257 * p + j) as f64;
            assert_eq!(bf[p * 8 + j], DType::BF16.round(exact), "p {p} j {j}");
        }
    }
    // A value worked out by hand: 257 * 127 + 7 = 32646 = 0b111_1111_1000_0110;
    // the kept 8 bits are 1111_1111 (unit 128), the rest 0000110 = 6 < 64:
    // rounds down to 32640.
    assert_eq!(bf[127 * 8 + 7], 32640.0);
}
