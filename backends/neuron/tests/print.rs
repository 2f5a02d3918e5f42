//! Snapshots of the kernel IR printer (`trnc_ir::kernel::print_kernel`) on
//! the hand-lowered kernels; the kernels themselves are checked numerically
//! in softmax.rs and matmul.rs.

mod common;

use common::kernels::{softmax, tiled_matmul};
use common::*;
use trnc_ir::kernel::{print_kernel, AluOp, Engine, HbmAccess, Inst, ScalarOperand, TileAccess};
use trnc_ir::DType;

#[test]
fn softmax_kernel_text() {
    insta::assert_snapshot!("softmax", print_kernel(&softmax(200, 100)));
}

#[test]
fn tiled_matmul_kernel_text() {
    insta::assert_snapshot!("matmul", print_kernel(&tiled_matmul(129, 300, 700, DType::BF16)));
}

/// Every remaining syntax: affine forms, HBM patterns, flags, notes, nested
/// loops, and a reference to a tile that does not exist (the printer still
/// prints; the verifier reports it).
#[test]
fn every_instruction_form() {
    let mut b = Builder::new("forms");
    let x = b.input("x", DType::F32, &[64, 64]);
    let t = b.sbuf("t", DType::F32, &[64, 2, 32]);
    let s = b.sbuf("s", DType::F32, &[64, 1]);
    let st = b.sbuf("stats", DType::F32, &[64, 6]);
    let sq = b.sbuf("sq", DType::BF16, &[32, 32]);
    let acc = b.psum("acc", &[32, 64]);
    b.repeat(2, |b, i| {
        b.repeat(2, |b, j| {
            let tile = TileAccess {
                tile: t,
                partition_start: v(i, 32),
                partitions: 32,
                free: vec![(v(j, -1).offset(1), 1), (v(i, 16).plus(&v(j, 2)), 8)],
            };
            let src =
                HbmAccess { tensor: x, offset: v(i, 2048).plus(&v(j, 1)), pattern: vec![(64, 32), (64, 1), (1, 8)] };
            b.push_noted(load(tile, src), "graph: %y = add %x, %x");
        });
    });
    b.push(Inst::TensorScalar {
        dst: b.all(t),
        src: b.all(t),
        op0: AluOp::Subtract,
        operand0: ScalarOperand::PerPartition(b.all(s)),
        reverse0: true,
        op1: Some((AluOp::Maximum, ScalarOperand::Imm(-0.5), true)),
        engine: Engine::Vector,
    });
    b.push(Inst::TensorTensor { dst: b.all(t), a: b.all(t), b: b.all(t), op: AluOp::Power });
    b.push(Inst::TensorReduce { dst: b.all(s), src: b.all(t), op: AluOp::Add, axes: vec![1, 2], negate: true });
    b.push(Inst::Transpose { dst: b.all(sq), src: b.all(sq), engine: Engine::Vector });
    b.push(Inst::AffineSelect {
        dst: b.all(sq),
        src: b.all(sq),
        pattern: vec![(-1, 32)],
        channel_multiplier: 1,
        offset: -3,
        cmp: AluOp::GreaterEqual,
        on_false: -3.4028234663852886e38,
    });
    b.push(Inst::Memset { dst: b.all(acc), value: f64::NEG_INFINITY });
    b.push(Inst::Iota { dst: b.all(s), pattern: vec![(1, 1)], offset: -3, channel_multiplier: 2 });
    b.push(Inst::BnStats {
        dst: b.all(st),
        src: TileAccess { tile: t, partition_start: c(0), partitions: 64, free: vec![(c(1), 1), (c(0), 32)] },
    });
    b.push(Inst::BnAggr { dst: TileAccess::whole(trnc_ir::kernel::TileId(9), &[64, 2]), src: b.all(st) });
    insta::assert_snapshot!("forms", print_kernel(&b.finish()));
}
