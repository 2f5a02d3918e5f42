//! One small kernel per instruction kind, with expected outputs worked out
//! by hand (or from a formula written out in the test).

mod common;

use common::*;
use trnc_backend_neuron::simulate;
use trnc_ir::kernel::{Accumulate, ActFunc, AluOp, Engine, HbmAccess, Inst, Kernel, ScalarOperand};
use trnc_ir::{DType, Target, Tensor};

fn run(k: &Kernel, inputs: &[Tensor]) -> Vec<Vec<f64>> {
    match simulate(k, Target::Trn2, inputs) {
        Ok(outs) => outs.iter().map(Tensor::to_f64_vec).collect(),
        Err(e) => panic!("{e}"),
    }
}

fn f32s(v: &[f64]) -> Vec<f64> {
    v.iter().map(|&x| x as f32 as f64).collect()
}

#[test]
fn matmul_overwrites_then_accumulates() {
    let mut b = Builder::new("mm");
    let at = b.input("at", DType::F32, &[2, 2]);
    let bm = b.input("b", DType::F32, &[2, 3]);
    let y1 = b.output("y1", DType::F32, &[2, 3]);
    let y2 = b.output("y2", DType::F32, &[2, 3]);
    let st = b.sbuf("st", DType::F32, &[2, 2]);
    let mv = b.sbuf("mv", DType::F32, &[2, 3]);
    let acc = b.psum("acc", &[2, 3]);
    let o = b.sbuf("o", DType::F32, &[2, 3]);
    b.push(load(b.all(st), block(at, 2, c(0), 2, c(0), 2)));
    b.push(load(b.all(mv), block(bm, 3, c(0), 2, c(0), 3)));
    let mm =
        |acc_mode| Inst::Matmul { dst: b.all(acc), stationary: b.all(st), moving: b.all(mv), accumulate: acc_mode };
    let (first, second) = (mm(Accumulate::Overwrite), mm(Accumulate::Add));
    b.push(first);
    b.push(Inst::TensorCopy { dst: b.all(o), src: b.all(acc), engine: Engine::Vector });
    b.push(store(block(y1, 3, c(0), 2, c(0), 3), b.all(o)));
    b.push(second);
    b.push(Inst::TensorCopy { dst: b.all(o), src: b.all(acc), engine: Engine::Scalar });
    b.push(store(block(y2, 3, c(0), 2, c(0), 3), b.all(o)));
    let k = b.finish();
    // out[m][n] = Σ_k at[k][m] b[k][n]: row 0 = 1·[1,0,-1] + 3·[2,1,0].
    let outs = run(
        &k,
        &[
            tensor(DType::F32, &[2, 2], &[1.0, 2.0, 3.0, 4.0]),
            tensor(DType::F32, &[2, 3], &[1.0, 0.0, -1.0, 2.0, 1.0, 0.0]),
        ],
    );
    assert_eq!(outs[0], [7.0, 3.0, -1.0, 10.0, 4.0, -2.0]);
    assert_eq!(outs[1], [14.0, 6.0, -2.0, 20.0, 8.0, -4.0]);
}

fn transpose_kernel(engine: Engine) -> Kernel {
    let mut b = Builder::new("transpose");
    let x = b.input("x", DType::F32, &[2, 3]);
    let y = b.output("y", DType::F32, &[3, 2]);
    let xs = b.sbuf("xs", DType::F32, &[2, 3]);
    let ys = b.sbuf("ys", DType::F32, &[3, 2]);
    b.push(load(b.all(xs), block(x, 3, c(0), 2, c(0), 3)));
    if engine == Engine::Tensor {
        let tp = b.psum("tp", &[3, 2]);
        b.push(Inst::Transpose { dst: b.all(tp), src: b.all(xs), engine });
        b.push(Inst::TensorCopy { dst: b.all(ys), src: b.all(tp), engine: Engine::Vector });
    } else {
        b.push(Inst::Transpose { dst: b.all(ys), src: b.all(xs), engine });
    }
    b.push(store(block(y, 2, c(0), 3, c(0), 2), b.all(ys)));
    b.finish()
}

#[test]
fn transpose_on_tensor_and_vector_engines() {
    for engine in [Engine::Tensor, Engine::Vector] {
        let outs = run(&transpose_kernel(engine), &[tensor(DType::F32, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])]);
        assert_eq!(outs[0], [1.0, 4.0, 2.0, 5.0, 3.0, 6.0], "{engine:?}");
    }
}

fn binary(op: AluOp, a: &[f64], bv: &[f64]) -> Vec<f64> {
    let n = a.len();
    let mut b = Builder::new("binary");
    let ha = b.input("a", DType::F32, &[1, n]);
    let hb = b.input("b", DType::F32, &[1, n]);
    let hy = b.output("y", DType::F32, &[1, n]);
    let ta = b.sbuf("ta", DType::F32, &[1, n]);
    let tb = b.sbuf("tb", DType::F32, &[1, n]);
    let ty = b.sbuf("ty", DType::F32, &[1, n]);
    b.push(load(b.all(ta), block(ha, n, c(0), 1, c(0), n)));
    b.push(load(b.all(tb), block(hb, n, c(0), 1, c(0), n)));
    b.push(Inst::TensorTensor { dst: b.all(ty), a: b.all(ta), b: b.all(tb), op });
    b.push(store(block(hy, n, c(0), 1, c(0), n), b.all(ty)));
    run(&b.finish(), &[tensor(DType::F32, &[1, n], a), tensor(DType::F32, &[1, n], bv)]).remove(0)
}

#[test]
fn tensor_tensor_ops() {
    let a = [1.0, -2.0, 3.0];
    let b = [2.0, 2.0, -1.0];
    assert_eq!(binary(AluOp::Add, &a, &b), [3.0, 0.0, 2.0]);
    assert_eq!(binary(AluOp::Subtract, &a, &b), [-1.0, -4.0, 4.0]);
    assert_eq!(binary(AluOp::Multiply, &a, &b), [2.0, -4.0, -3.0]);
    assert_eq!(binary(AluOp::Maximum, &a, &b), [2.0, 2.0, 3.0]);
    assert_eq!(binary(AluOp::Minimum, &a, &b), [1.0, -2.0, -1.0]);
    assert_eq!(binary(AluOp::Greater, &a, &b), [0.0, 0.0, 1.0]);
    assert_eq!(binary(AluOp::LessEqual, &a, &b), [1.0, 1.0, 0.0]);
    assert_eq!(binary(AluOp::NotEqual, &a, &b), [1.0, 1.0, 1.0]);
    assert_eq!(binary(AluOp::LogicalAnd, &[1.0, 0.0, 3.0], &[2.0, 2.0, 0.0]), [1.0, 0.0, 0.0]);
    // 3 ** -1 = 1/3, rounded to fp32 on the way out.
    assert_eq!(binary(AluOp::Power, &a, &b), [1.0, 4.0, (1.0f32 / 3.0) as f64]);
}

fn scalar_kernel(
    op0: (AluOp, ScalarOperand, bool),
    op1: Option<(AluOp, ScalarOperand, bool)>,
    engine: Engine,
) -> Kernel {
    let mut b = Builder::new("tensor_scalar");
    let x = b.input("x", DType::F32, &[2, 2]);
    let s = b.input("s", DType::F32, &[2, 1]);
    let y = b.output("y", DType::F32, &[2, 2]);
    let tx = b.sbuf("tx", DType::F32, &[2, 2]);
    let ts = b.sbuf("ts", DType::F32, &[2, 1]);
    b.push(load(b.all(tx), block(x, 2, c(0), 2, c(0), 2)));
    b.push(load(b.all(ts), block(s, 1, c(0), 2, c(0), 1)));
    let fix = |o: ScalarOperand| match o {
        // Per-partition operands in these tests always mean the `ts` column.
        ScalarOperand::PerPartition(_) => ScalarOperand::PerPartition(column(ts, 2, 0)),
        imm => imm,
    };
    let (op0, operand0, reverse0) = op0;
    b.push(Inst::TensorScalar {
        dst: b.all(tx),
        src: b.all(tx),
        op0,
        operand0: fix(operand0),
        reverse0,
        op1: op1.map(|(op, o, r)| (op, fix(o), r)),
        engine,
    });
    b.push(store(block(y, 2, c(0), 2, c(0), 2), b.all(tx)));
    b.finish()
}

#[test]
fn tensor_scalar_with_reverse_and_per_partition_operands() {
    let inputs = [tensor(DType::F32, &[2, 2], &[1.0, 2.0, 3.0, 4.0]), tensor(DType::F32, &[2, 1], &[10.0, 100.0])];
    let per_partition = || ScalarOperand::PerPartition(column(trnc_ir::kernel::TileId(0), 1, 0));
    // (1 - x) * 2
    let k = scalar_kernel(
        (AluOp::Subtract, ScalarOperand::Imm(1.0), true),
        Some((AluOp::Multiply, ScalarOperand::Imm(2.0), false)),
        Engine::Vector,
    );
    assert_eq!(run(&k, &inputs)[0], [0.0, -2.0, -4.0, -6.0]);
    // 1 - (x + s[p])
    let k = scalar_kernel(
        (AluOp::Add, per_partition(), false),
        Some((AluOp::Subtract, ScalarOperand::Imm(1.0), true)),
        Engine::Vector,
    );
    assert_eq!(run(&k, &inputs)[0], [-10.0, -11.0, -102.0, -103.0]);
    // x * s[p] + 0.5 on ScalarE, which takes (multiply, add).
    let k = scalar_kernel(
        (AluOp::Multiply, per_partition(), false),
        Some((AluOp::Add, ScalarOperand::Imm(0.5), false)),
        Engine::Scalar,
    );
    assert_eq!(run(&k, &inputs)[0], [10.5, 20.5, 300.5, 400.5]);
    let k = scalar_kernel((AluOp::Reciprocal, ScalarOperand::Imm(0.0), false), None, Engine::Vector);
    assert_eq!(run(&k, &inputs)[0], f32s(&[1.0, 0.5, 1.0 / 3.0, 0.25]));
    let k = scalar_kernel((AluOp::Rsqrt, ScalarOperand::Imm(0.0), false), None, Engine::GpSimd);
    assert_eq!(run(&k, &inputs)[0], f32s(&[1.0, 1.0 / 2f64.sqrt(), 1.0 / 3f64.sqrt(), 0.5]));
}

#[test]
fn tensor_reduce_over_last_axes_with_negate() {
    let mut b = Builder::new("reduce");
    let x = b.input("x", DType::F32, &[2, 6]);
    let ymax = b.output("ymax", DType::F32, &[2, 2]);
    let ysum = b.output("ysum", DType::F32, &[2, 1]);
    let t = b.sbuf("t", DType::F32, &[2, 2, 3]);
    let m = b.sbuf("m", DType::F32, &[2, 2]);
    let s = b.sbuf("s", DType::F32, &[2, 1]);
    // x viewed as [2, 2, 3].
    let view = HbmAccess { tensor: x, offset: c(0), pattern: vec![(6, 2), (3, 2), (1, 3)] };
    b.push(load(b.all(t), view));
    b.push(Inst::TensorReduce { dst: b.all(m), src: b.all(t), op: AluOp::Maximum, axes: vec![2], negate: false });
    b.push(Inst::TensorReduce { dst: b.all(s), src: b.all(t), op: AluOp::Add, axes: vec![1, 2], negate: true });
    b.push(store(block(ymax, 2, c(0), 2, c(0), 2), b.all(m)));
    b.push(store(block(ysum, 1, c(0), 2, c(0), 1), b.all(s)));
    let xs: Vec<f64> = (1..=12).map(f64::from).collect();
    let outs = run(&b.finish(), &[tensor(DType::F32, &[2, 6], &xs)]);
    assert_eq!(outs[0], [3.0, 6.0, 9.0, 12.0]);
    assert_eq!(outs[1], [-21.0, -57.0]);
}

#[test]
fn activation_with_scale_bias_and_reduce() {
    let mut b = Builder::new("act");
    let x = b.input("x", DType::F32, &[2, 3]);
    let bias = b.input("bias", DType::F32, &[2, 1]);
    let y = b.output("y", DType::F32, &[2, 3]);
    let ys = b.output("ysum", DType::F32, &[2, 1]);
    let tx = b.sbuf("tx", DType::F32, &[2, 3]);
    let tb = b.sbuf("tb", DType::F32, &[2, 1]);
    let tsum = b.sbuf("tsum", DType::F32, &[2, 1]);
    b.push(load(b.all(tx), block(x, 3, c(0), 2, c(0), 3)));
    b.push(load(b.all(tb), block(bias, 1, c(0), 2, c(0), 1)));
    b.push(Inst::Activation {
        dst: b.all(tx),
        src: b.all(tx),
        func: ActFunc::Exp,
        scale: ScalarOperand::Imm(2.0),
        bias: Some(b.all(tb)),
        reduce: Some(b.all(tsum)),
    });
    b.push(store(block(y, 3, c(0), 2, c(0), 3), b.all(tx)));
    b.push(store(block(ys, 1, c(0), 2, c(0), 1), b.all(tsum)));
    let xs = [0.0, 1.0, -1.0, 2.0, 0.5, -2.0];
    let outs = run(&b.finish(), &[tensor(DType::F32, &[2, 3], &xs), tensor(DType::F32, &[2, 1], &[1.0, -1.0])]);
    // exp(2x + b[p]): arguments 1, 3, -1 and 3, 0, -5.
    let want = f32s(&[1f64.exp(), 3f64.exp(), (-1f64).exp(), 3f64.exp(), 1.0, (-5f64).exp()]);
    assert_eq!(outs[0], want);
    let sums = [want[..3].iter().sum::<f64>(), want[3..].iter().sum::<f64>()];
    assert_eq!(outs[1], f32s(&sums));
}

#[test]
fn memset_and_iota() {
    let mut b = Builder::new("fill");
    let yf = b.output("yf", DType::F32, &[2, 3]);
    let yi = b.output("yi", DType::I32, &[4, 3]);
    let tf = b.sbuf("tf", DType::F32, &[2, 3]);
    let ti = b.sbuf("ti", DType::I32, &[4, 3]);
    b.push(Inst::Memset { dst: b.all(tf), value: 7.5 });
    b.push(Inst::Iota { dst: b.all(ti), pattern: vec![(2, 3)], offset: 5, channel_multiplier: 10 });
    b.push(store(block(yf, 3, c(0), 2, c(0), 3), b.all(tf)));
    b.push(store(block(yi, 3, c(0), 4, c(0), 3), b.all(ti)));
    let outs = run(&b.finish(), &[]);
    assert_eq!(outs[0], [7.5; 6]);
    // 5 + 10 p + 2 j
    assert_eq!(outs[1], [5.0, 7.0, 9.0, 15.0, 17.0, 19.0, 25.0, 27.0, 29.0, 35.0, 37.0, 39.0]);
}

#[test]
fn affine_select_keeps_the_lower_triangle() {
    let mut b = Builder::new("causal");
    let x = b.input("x", DType::F32, &[4, 4]);
    let y = b.output("y", DType::F32, &[4, 4]);
    let t = b.sbuf("t", DType::F32, &[4, 4]);
    b.push(load(b.all(t), block(x, 4, c(0), 4, c(0), 4)));
    // keep where p - j >= 0
    b.push(Inst::AffineSelect {
        dst: b.all(t),
        src: b.all(t),
        pattern: vec![(-1, 4)],
        channel_multiplier: 1,
        offset: 0,
        cmp: AluOp::GreaterEqual,
        on_false: -9.0,
    });
    b.push(store(block(y, 4, c(0), 4, c(0), 4), b.all(t)));
    let xs: Vec<f64> = (1..=16).map(f64::from).collect();
    let outs = run(&b.finish(), &[tensor(DType::F32, &[4, 4], &xs)]);
    #[rustfmt::skip]
    let want = [
        1.0, -9.0, -9.0, -9.0,
        5.0, 6.0, -9.0, -9.0,
        9.0, 10.0, 11.0, -9.0,
        13.0, 14.0, 15.0, 16.0,
    ];
    assert_eq!(outs[0], want);
}

#[test]
fn bn_stats_layout_and_bn_aggr_mean_variance() {
    let mut b = Builder::new("bn");
    let x = b.input("x", DType::F32, &[2, 8]);
    let stats = b.output("stats", DType::F32, &[2, 12]);
    let mv = b.output("mv", DType::F32, &[2, 2]);
    let tx = b.sbuf("tx", DType::F32, &[2, 8]);
    let ts = b.sbuf("ts", DType::F32, &[2, 12]);
    let ta = b.sbuf("ta", DType::F32, &[2, 2]);
    b.push(load(b.all(tx), block(x, 8, c(0), 2, c(0), 8)));
    // Two chunks of 4 columns, their stats at offsets 0 and 6.
    for chunk in 0..2 {
        b.push(Inst::BnStats { dst: region(ts, c(0), 2, c(6 * chunk), 6), src: region(tx, c(0), 2, c(4 * chunk), 4) });
    }
    b.push(Inst::BnAggr { dst: b.all(ta), src: b.all(ts) });
    b.push(store(block(stats, 12, c(0), 2, c(0), 12), b.all(ts)));
    b.push(store(block(mv, 2, c(0), 2, c(0), 2), b.all(ta)));
    let xs = [1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0, 50.0, 0.5, -0.5, 0.25, 0.0, 2.0, 2.0, 2.0, 2.0];
    let outs = run(&b.finish(), &[tensor(DType::F32, &[2, 8], &xs)]);
    // Row 0, chunk [1, 2, 3, 4]: even [1, 3] -> (2, 2, 2); odd [2, 4] -> (2, 3, 2).
    // Chunk [10, 20, 30, 50]: even [10, 30] -> (2, 20, 200); odd [20, 50] -> (2, 35, 450).
    assert_eq!(&outs[0][..12], [2.0, 2.0, 2.0, 2.0, 3.0, 2.0, 2.0, 20.0, 200.0, 2.0, 35.0, 450.0]);
    for (row, got) in xs.chunks(8).zip(outs[1].chunks(2)) {
        let mean = row.iter().sum::<f64>() / 8.0;
        let var = row.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / 8.0;
        assert_eq!(got, f32s(&[mean, var]), "population mean and variance of {row:?}");
    }
}

#[test]
fn loops_address_tiles_and_hbm_with_counters() {
    // y[r, :] = x[r, :] * 2 for 4 row blocks of 2 rows, through one tile.
    let mut b = Builder::new("loop");
    let x = b.input("x", DType::F32, &[8, 3]);
    let y = b.output("y", DType::F32, &[8, 3]);
    let t = b.sbuf("t", DType::F32, &[2, 3]);
    b.repeat(4, |b, i| {
        b.push(load(b.all(t), block(x, 3, v(i, 2), 2, c(0), 3)));
        let op = Inst::TensorScalar {
            dst: b.all(t),
            src: b.all(t),
            op0: AluOp::Multiply,
            operand0: ScalarOperand::Imm(2.0),
            reverse0: false,
            op1: None,
            engine: Engine::Vector,
        };
        b.push(op);
        b.push(store(block(y, 3, v(i, 2), 2, c(0), 3), b.all(t)));
    });
    let xs: Vec<f64> = (0..24).map(f64::from).collect();
    let outs = run(&b.finish(), &[tensor(DType::F32, &[8, 3], &xs)]);
    assert_eq!(outs[0], xs.iter().map(|x| 2.0 * x).collect::<Vec<_>>());
}

#[test]
fn dma_between_hbm_tensors_and_sbuf_regions() {
    // HBM -> HBM, then a column block through an SBUF region.
    let mut b = Builder::new("dma");
    let x = b.input("x", DType::F32, &[2, 4]);
    let y = b.output("y", DType::F32, &[2, 4]);
    let z = b.output("z", DType::F32, &[2, 2]);
    let t = b.sbuf("t", DType::F32, &[2, 8]);
    b.push(Inst::DmaCopy { dst: hbm(block(y, 4, c(0), 2, c(0), 4)), src: hbm(block(x, 4, c(0), 2, c(0), 4)) });
    b.push(load(region(t, c(0), 2, c(5), 2), block(x, 4, c(0), 2, c(1), 2)));
    b.push(store(block(z, 2, c(0), 2, c(0), 2), region(t, c(0), 2, c(5), 2)));
    let xs: Vec<f64> = (0..8).map(f64::from).collect();
    let outs = run(&b.finish(), &[tensor(DType::F32, &[2, 4], &xs)]);
    assert_eq!(outs[0], xs);
    assert_eq!(outs[1], [1.0, 2.0, 5.0, 6.0]);
}
