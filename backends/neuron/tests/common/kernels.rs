//! Hand-lowered kernels shared by the numeric tests and the printer
//! snapshots.

use super::*;
use trnc_ir::kernel::{Accumulate, ActFunc, AluOp, Engine, Inst, Kernel, ScalarOperand};
use trnc_ir::DType;

/// `c[M, N] = a[M, K] @ b[K, N]` with `a` given transposed (`at[K, M]`, as
/// NKI's matmul tutorial takes it). M, N and K are split into legal tiles
/// (M ≤ 128, N ≤ 512, K ≤ 128) with tails; the first K step overwrites
/// PSUM, the full K steps after it run in a loop, the K tail accumulates.
pub fn tiled_matmul(m: usize, k: usize, n: usize, dtype: DType) -> Kernel {
    let mut b = Builder::new("matmul");
    let at = b.input("at", dtype, &[k, m]);
    let bm = b.input("b", dtype, &[k, n]);
    let out = b.output("c", DType::F32, &[m, n]);
    let st = b.sbuf("st", dtype, &[128, 128]);
    let mv = b.sbuf("mv", dtype, &[128, 512]);
    let acc = b.psum("acc", &[128, 512]);
    let o = b.sbuf("o", DType::F32, &[128, 512]);
    b.k.origin.push(format!("%c = matmul %a, %b : f32[{m}, {n}]"));
    let tiles =
        |total: usize, size: usize| (0..total.div_ceil(size)).map(move |i| (i * size, size.min(total - i * size)));
    for (m0, ms) in tiles(m, 128) {
        for (n0, ns) in tiles(n, 512) {
            let step = |b: &mut Builder, k0: Affine, ks: usize, accumulate: Accumulate| {
                b.push(load(region(st, c(0), ks, c(0), ms), block(at, m, k0.clone(), ks, c(m0 as i64), ms)));
                b.push(load(region(mv, c(0), ks, c(0), ns), block(bm, n, k0, ks, c(n0 as i64), ns)));
                b.push(Inst::Matmul {
                    dst: region(acc, c(0), ms, c(0), ns),
                    stationary: region(st, c(0), ks, c(0), ms),
                    moving: region(mv, c(0), ks, c(0), ns),
                    accumulate,
                });
            };
            let full = k / 128;
            step(&mut b, c(0), k.min(128), Accumulate::Overwrite);
            if full > 1 {
                b.repeat(full - 1, |b, i| step(b, v(i, 128).offset(128), 128, Accumulate::Add));
            }
            if k > 128 && !k.is_multiple_of(128) {
                step(&mut b, c((full * 128) as i64), k % 128, Accumulate::Add);
            }
            b.push(Inst::TensorCopy {
                dst: region(o, c(0), ms, c(0), ns),
                src: region(acc, c(0), ms, c(0), ns),
                engine: Engine::Vector,
            });
            b.push(store(block(out, n, c(m0 as i64), ms, c(n0 as i64), ns), region(o, c(0), ms, c(0), ns)));
        }
    }
    b.finish()
}

/// Row softmax of `x[rows, cols]`: 128-row tiles in a loop, then the tail.
pub fn softmax(rows: usize, cols: usize) -> Kernel {
    let mut b = Builder::new("softmax_0");
    let x = b.input("x", DType::F32, &[rows, cols]);
    let y = b.output("y", DType::F32, &[rows, cols]);
    let t = b.sbuf("t", DType::F32, &[128, cols]);
    let negmax = b.sbuf("negmax", DType::F32, &[128, 1]);
    let sum = b.sbuf("sum", DType::F32, &[128, 1]);
    let recip = b.sbuf("recip", DType::F32, &[128, 1]);
    b.k.origin.push("%y = softmax %x {axis = 1}".into());
    let tile = |b: &mut Builder, r0: Affine, np: usize| {
        let all = region(t, c(0), np, c(0), cols);
        b.push_noted(load(all.clone(), block(x, cols, r0.clone(), np, c(0), cols)), "rows of %x");
        b.push_noted(
            Inst::TensorReduce {
                dst: column(negmax, np, 0),
                src: all.clone(),
                op: AluOp::Maximum,
                axes: vec![1],
                negate: true,
            },
            "-max per row",
        );
        b.push_noted(
            Inst::Activation {
                dst: all.clone(),
                src: all.clone(),
                func: ActFunc::Exp,
                scale: ScalarOperand::Imm(1.0),
                bias: Some(column(negmax, np, 0)),
                reduce: Some(column(sum, np, 0)),
            },
            "exp(x - max), row sums",
        );
        b.push(Inst::TensorScalar {
            dst: column(recip, np, 0),
            src: column(sum, np, 0),
            op0: AluOp::Reciprocal,
            operand0: ScalarOperand::Imm(0.0),
            reverse0: false,
            op1: None,
            engine: Engine::Vector,
        });
        b.push(Inst::TensorScalar {
            dst: all.clone(),
            src: all.clone(),
            op0: AluOp::Multiply,
            operand0: ScalarOperand::PerPartition(column(recip, np, 0)),
            reverse0: false,
            op1: None,
            engine: Engine::Vector,
        });
        b.push(store(block(y, cols, r0, np, c(0), cols), all));
    };
    let full = rows / 128;
    if full > 0 {
        b.repeat(full, |b, i| tile(b, v(i, 128), 128));
    }
    if !rows.is_multiple_of(128) {
        tile(&mut b, c((full * 128) as i64), rows % 128);
    }
    b.finish()
}
