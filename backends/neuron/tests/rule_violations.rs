//! Kernels that break one hardware rule each. Every one must be reported
//! (by the verifier, or by the simulator when only a run can tell) with a
//! message naming the limit; the messages are snapshotted together in
//! `snapshots/rule_violations__messages.snap`.

mod common;

use common::*;
use trnc_backend_neuron::{simulate, SimError};
use trnc_ir::kernel::{
    verify_kernel, Accumulate, ActFunc, AluOp, Engine, HbmAccess, Inst, Kernel, LoopVar, Memory, ScalarOperand,
    TileAccess, TileId,
};
use trnc_ir::{DType, Target, Tensor};

/// Simulates with zero inputs of the right shapes.
fn sim(k: &Kernel, target: Target) -> Result<Vec<Tensor>, SimError> {
    let inputs: Vec<Tensor> = k
        .inputs
        .iter()
        .map(|t| Tensor::from_f64(t.dtype, t.shape.clone(), &vec![0.5; t.shape.iter().product()]))
        .collect();
    simulate(k, target, &inputs)
}

/// A kernel with one instruction over the given tiles (no HBM).
fn one(tiles: &[(&str, Memory, DType, &[usize])], inst: impl FnOnce(&Builder) -> Inst) -> Kernel {
    let mut b = Builder::new("bad");
    for &(name, memory, dtype, shape) in tiles {
        b.tile(name, memory, dtype, shape);
    }
    let i = inst(&b);
    b.push(i);
    b.finish()
}

const S: Memory = Memory::Sbuf;
const P: Memory = Memory::Psum;
const F32: DType = DType::F32;
const BF16: DType = DType::BF16;

fn t(i: u32) -> TileId {
    TileId(i)
}

fn matmul(b: &Builder, dst: u32, st: u32, mv: u32) -> Inst {
    Inst::Matmul {
        dst: b.all(t(dst)),
        stationary: b.all(t(st)),
        moving: b.all(t(mv)),
        accumulate: Accumulate::Overwrite,
    }
}

fn copy(dst: TileAccess, src: TileAccess) -> Inst {
    Inst::TensorCopy { dst, src, engine: Engine::Vector }
}

/// (case, error or None, text the message must contain)
type Case = (&'static str, Option<String>, &'static str);

fn verify_err(name: &'static str, k: Kernel, target: Target, must: &'static str) -> Case {
    (name, verify_kernel(&k, target).err().map(|e| e.to_string()), must)
}

fn sim_err(name: &'static str, k: Kernel, target: Target, must: &'static str) -> Case {
    (name, sim(&k, target).err().map(|e| e.to_string()), must)
}

fn cases() -> Vec<Case> {
    let mut cases = vec![];
    let mut add = |c: Case| cases.push(c);

    // --- Declarations and capacity (trainium.md §1.1, nki-api.md §2) ---
    let k = one(&[("big", S, F32, &[256, 4])], |b| Inst::Memset { dst: b.all(t(0)), value: 0.0 });
    add(verify_err("partition_256", k, Target::Trn2, "256 exceeds 128"));
    let k = one(&[("flat", S, F32, &[128])], |_| Inst::Memset { dst: TileAccess::whole(t(0), &[128, 1]), value: 0.0 });
    add(verify_err("tile_rank_1", k, Target::Trn2, "rank 1"));
    let k = one(&[("wide", S, F32, &[128, 51_200])], |_| Inst::Memset {
        dst: region(t(0), c(0), 128, c(0), 16),
        value: 0.0,
    });
    assert!(
        verify_kernel(&k, Target::Trn2).is_ok() && verify_kernel(&k, Target::Trn3).is_ok(),
        "200 KiB fits trn2/trn3"
    );
    add(verify_err("sbuf_over_trn1_capacity", k, Target::Trn1, "trn1 has 180224"));
    let banks: Vec<(String, Memory, DType, Vec<usize>)> =
        (0..9).map(|i| (format!("acc{i}"), P, F32, vec![128, 512])).collect();
    let banks: Vec<(&str, Memory, DType, &[usize])> =
        banks.iter().map(|(n, m, d, s)| (n.as_str(), *m, *d, s.as_slice())).collect();
    let k = one(&banks, |b| Inst::Memset { dst: b.all(t(0)), value: 0.0 });
    add(verify_err("psum_over_8_banks", k, Target::Trn3, "9 banks"));
    let k = one(&[("x", S, F32, &[128, 3, 3, 3, 3, 3])], |b| Inst::Memset { dst: b.all(t(0)), value: 0.0 });
    assert!(verify_kernel(&k, Target::Trn2).is_ok(), "a rank-6 tile is fine: the whole tile is one contiguous run");
    let k = one(&[("x", S, F32, &[128, 3, 3, 3, 3, 3])], |_| Inst::Memset {
        dst: TileAccess { tile: t(0), partition_start: c(0), partitions: 128, free: vec![(c(0), 2); 5] },
        value: 0.0,
    });
    add(verify_err("access_pattern_5_free_dims", k, Target::Trn2, "at most 4"));
    let k = one(&[("x", S, DType::I64, &[2, 2])], |b| Inst::Memset { dst: b.all(t(0)), value: 0.0 });
    add(verify_err("tile_i64", k, Target::Trn2, "i64"));

    // --- nc_matmul (trainium.md §1.3, nki-api.md §5) ---
    let mm_tiles = |st: &'static [usize], mv: &'static [usize], dst: &'static [usize], dt: DType| {
        vec![("acc", P, F32, dst), ("st", S, dt, st), ("mv", S, dt, mv)]
    };
    let k = one(&mm_tiles(&[128, 128], &[128, 1024], &[128, 1024], BF16), |b| matmul(b, 0, 1, 2));
    add(verify_err("moving_free_1024", k, Target::Trn2, "moving free size 1024 exceeds 512"));
    let k = one(&mm_tiles(&[128, 256], &[128, 512], &[128, 512], BF16), |b| Inst::Matmul {
        dst: b.all(t(0)),
        stationary: b.all(t(1)),
        moving: b.all(t(2)),
        accumulate: Accumulate::Overwrite,
    });
    add(verify_err("stationary_free_256", k, Target::Trn2, "stationary free size 256 exceeds 128"));
    let k = one(&mm_tiles(&[64, 128], &[128, 512], &[128, 512], BF16), |b| matmul(b, 0, 1, 2));
    add(verify_err("contraction_mismatch", k, Target::Trn2, "64 partitions"));
    let k = one(&mm_tiles(&[128, 128], &[128, 512], &[128, 256], BF16), |b| matmul(b, 0, 1, 2));
    add(verify_err("matmul_dst_shape", k, Target::Trn2, "[M, N] = [128, 512]"));
    let k = one(&[("acc", P, BF16, &[128, 512]), ("st", S, BF16, &[128, 128]), ("mv", S, BF16, &[128, 512])], |b| {
        matmul(b, 0, 1, 2)
    });
    add(verify_err("matmul_dst_bf16", k, Target::Trn2, "writes f32"));
    let k = one(&[("acc", P, F32, &[128, 512]), ("st", S, F32, &[128, 128]), ("mv", S, BF16, &[128, 512])], |b| {
        matmul(b, 0, 1, 2)
    });
    add(verify_err("matmul_f32_with_bf16", k, Target::Trn2, "f32 partner"));
    let k = one(&mm_tiles(&[128, 128], &[128, 512], &[128, 512], BF16), |b| matmul(b, 1, 1, 2));
    add(verify_err("matmul_dst_in_sbuf", k, Target::Trn2, "must be in PSUM"));
    let k = one(&mm_tiles(&[128, 128], &[128, 512], &[128, 1024], BF16), |b| Inst::Matmul {
        dst: region(t(0), c(0), 128, c(256), 512),
        stationary: b.all(t(1)),
        moving: b.all(t(2)),
        accumulate: Accumulate::Overwrite,
    });
    add(verify_err("matmul_dst_crosses_bank", k, Target::Trn2, "2 KiB PSUM bank"));

    // --- Transposes ---
    let k = one(&[("tp", P, F32, &[128, 256]), ("x", S, F32, &[128, 256])], |b| Inst::Transpose {
        dst: TileAccess::whole(t(0), &[128, 128]),
        src: b.all(t(1)),
        engine: Engine::Tensor,
    });
    add(verify_err("tensor_transpose_free_256", k, Target::Trn2, "src free size 256 exceeds 128"));
    let k = one(&[("y", S, F32, &[64, 64]), ("x", S, F32, &[64, 64])], |b| Inst::Transpose {
        dst: b.all(t(0)),
        src: b.all(t(1)),
        engine: Engine::Vector,
    });
    add(verify_err("vector_transpose_64", k, Target::Trn2, "[32, 32]"));

    // --- tensor_tensor / tensor_scalar / activation / copies ---
    let k = one(&[("a", P, F32, &[128, 64]), ("b", P, F32, &[128, 64]), ("y", S, F32, &[128, 64])], |b| {
        Inst::TensorTensor { dst: b.all(t(2)), a: b.all(t(0)), b: b.all(t(1)), op: AluOp::Add }
    });
    add(verify_err("tensor_tensor_both_psum", k, Target::Trn2, "both in PSUM"));
    let k = one(&[("a", P, F32, &[128, 64]), ("b", S, F32, &[128, 64]), ("y", S, F32, &[128, 64])], |b| {
        Inst::TensorTensor { dst: b.all(t(2)), a: b.all(t(0)), b: b.all(t(1)), op: AluOp::Power }
    });
    add(verify_err("power_reads_psum", k, Target::Trn2, "GpSimd cannot access"));
    let ts = |operand0: ScalarOperand, engine: Engine| {
        move |b: &Builder| Inst::TensorScalar {
            dst: b.all(t(0)),
            src: b.all(t(0)),
            op0: AluOp::Multiply,
            operand0,
            reverse0: false,
            op1: None,
            engine,
        }
    };
    let k = one(
        &[("x", S, F32, &[128, 64]), ("s", S, F32, &[128, 2])],
        ts(ScalarOperand::PerPartition(TileAccess::whole(t(1), &[128, 2])), Engine::Vector),
    );
    add(verify_err("tensor_scalar_operand_not_p1", k, Target::Trn2, "(P, 1)"));
    let k = one(
        &[("x", S, F32, &[128, 64]), ("s", S, BF16, &[128, 1])],
        ts(ScalarOperand::PerPartition(TileAccess::whole(t(1), &[128, 1])), Engine::Vector),
    );
    add(verify_err("tensor_scalar_operand_bf16", k, Target::Trn2, "are f32"));
    let k = one(&[("x", S, F32, &[128, 64])], ts(ScalarOperand::Imm(2.0), Engine::Scalar));
    assert!(verify_kernel(&k, Target::Trn2).is_ok(), "ScalarE multiply is fine on trn2");
    add(verify_err("tensor_scalar_on_scalar_engine_trn1", k, Target::Trn1, "NeuronCore-v3"));
    let k = one(&[("x", S, F32, &[128, 64]), ("y", S, F32, &[128, 64])], |b| Inst::TensorCopy {
        dst: b.all(t(1)),
        src: b.all(t(0)),
        engine: Engine::Scalar,
    });
    add(verify_err("tensor_copy_on_scalar_engine_trn1", k, Target::Trn1, "NeuronCore-v2"));
    let k = one(&[("x", S, F32, &[128, 64]), ("y", S, F32, &[128, 64]), ("bias", S, F32, &[128, 4])], |b| {
        Inst::Activation {
            dst: b.all(t(1)),
            src: b.all(t(0)),
            func: ActFunc::Exp,
            scale: ScalarOperand::Imm(1.0),
            bias: Some(b.all(t(2))),
            reduce: None,
        }
    });
    add(verify_err("activation_bias_not_p1", k, Target::Trn2, "(P, 1)"));
    let k = one(&[("acc", P, BF16, &[128, 8192]), ("y", S, BF16, &[128, 8192])], |b| copy(b.all(t(1)), b.all(t(0))));
    add(verify_err("engine_reads_8192_from_psum", k, Target::Trn2, "at most 4096 from PSUM"));

    // --- Reductions and statistics ---
    let reduce = |axes: Vec<usize>| {
        move |b: &Builder| Inst::TensorReduce {
            dst: TileAccess::whole(t(1), &[128, 1]),
            src: b.all(t(0)),
            op: AluOp::Add,
            axes,
            negate: false,
        }
    };
    let k = one(&[("x", S, F32, &[128, 64]), ("y", S, F32, &[128, 1])], reduce(vec![0]));
    add(verify_err("reduce_over_partitions", k, Target::Trn2, "axis 0 is the partition axis"));
    let k = one(&[("x", S, F32, &[128, 4, 8]), ("y", S, F32, &[128, 1])], reduce(vec![1]));
    add(verify_err("reduce_not_last_axes", k, Target::Trn2, "last free axes"));
    let k = one(&[("x", S, F32, &[128, 1024]), ("y", S, F32, &[128, 6])], |b| Inst::BnStats {
        dst: b.all(t(1)),
        src: b.all(t(0)),
    });
    add(verify_err("bn_stats_free_1024", k, Target::Trn2, "exceeds bn_stats' 512"));
    let k = one(&[("x", S, F32, &[128, 12]), ("y", S, F32, &[128, 3])], |b| Inst::BnAggr {
        dst: b.all(t(1)),
        src: b.all(t(0)),
    });
    add(verify_err("bn_aggr_dst_3", k, Target::Trn2, "must be 2"));

    // --- GpSimd and memset ---
    let k = one(&[("acc", P, F32, &[128, 16])], |b| Inst::Iota {
        dst: b.all(t(0)),
        pattern: vec![(1, 16)],
        offset: 0,
        channel_multiplier: 16,
    });
    add(verify_err("iota_into_psum", k, Target::Trn2, "GpSimd cannot access"));
    let k = one(&[("x", S, DType::F8E4M3, &[128, 16])], |b| Inst::Memset { dst: b.all(t(0)), value: 1000.0 });
    add(verify_err("memset_overflows_fp8", k, Target::Trn2, "does not fit dst dtype f8e4m3"));
    let k = one(&[("x", S, DType::I32, &[128, 16])], |b| Inst::Memset { dst: b.all(t(0)), value: 1.5 });
    add(verify_err("memset_fraction_into_i32", k, Target::Trn2, "does not fit dst dtype i32"));

    // --- Addresses (trainium.md §1.5) ---
    let mut b = Builder::new("bad");
    let x = b.sbuf("x", F32, &[128, 256]);
    let y = b.sbuf("y", F32, &[128, 128]);
    b.repeat(3, |b, i| b.push(copy(b.all(y), region(x, c(0), 128, v(i, 128), 128))));
    add(verify_err("out_of_bounds_dynamic_slice", b.finish(), Target::Trn2, "which has 256"));
    let k = one(&[("x", S, F32, &[128, 64])], |b| Inst::TensorTensor {
        dst: region(t(0), c(32), 64, c(0), 64),
        a: b.all(t(0)).clone(),
        b: b.all(t(0)),
        op: AluOp::Add,
    });
    add(verify_err("start_partition_64_at_32", k, Target::Trn2, "64 partitions starting at 32"));
    let mut b = Builder::new("bad");
    let x = b.sbuf("x", F32, &[128, 64]);
    b.repeat(4, |b, i| b.push(Inst::Memset { dst: region(x, v(i, 16), 16, c(0), 64), value: 0.0 }));
    add(verify_err("start_partition_dynamic", b.finish(), Target::Trn2, "0, 32, 64 or 96"));
    let k = one(&[("x", S, F32, &[128, 64])], |_| Inst::Memset {
        dst: region(t(0), v(LoopVar(7), 1), 1, c(0), 64),
        value: 0.0,
    });
    add(verify_err("unbound_loop_variable", k, Target::Trn2, "outside a loop"));
    let k =
        one(&[("x", S, F32, &[128, 64])], |_| Inst::Memset { dst: TileAccess::whole(t(99), &[128, 64]), value: 0.0 });
    add(verify_err("undeclared_tile", k, Target::Trn2, "not declared"));

    // --- DMA (trainium.md §1.5, nki-api.md §4) ---
    let mut b = Builder::new("bad");
    let out = b.output("y", F32, &[128, 512]);
    let acc = b.psum("acc", &[128, 512]);
    b.push(store(block(out, 512, c(0), 128, c(0), 512), b.all(acc)));
    add(verify_err("dma_reads_psum", b.finish(), Target::Trn2, "dma_copy moves HBM and SBUF only"));
    let mut b = Builder::new("bad");
    let x = b.input("x", F32, &[128, 64]);
    let tx = b.sbuf("t", F32, &[128, 32]);
    b.push(load(b.all(tx), block(x, 64, c(0), 128, c(0), 64)));
    add(verify_err("dma_element_count", b.finish(), Target::Trn2, "equal element counts"));
    let mut b = Builder::new("bad");
    let x = b.input("x", F32, &[200, 64]);
    let tx = b.sbuf("t", F32, &[128, 64]);
    b.repeat(2, |b, i| b.push(load(b.all(tx), block(x, 64, v(i, 128), 128, c(0), 64))));
    add(verify_err("dma_hbm_out_of_bounds", b.finish(), Target::Trn2, "which has 12800"));
    let mut b = Builder::new("bad");
    let x = b.input("x", F32, &[128, 64]);
    let tx = b.sbuf("t", F32, &[128, 64]);
    b.push(store(block(x, 64, c(0), 128, c(0), 64), b.all(tx)));
    add(verify_err("dma_writes_input", b.finish(), Target::Trn2, "read-only"));
    let mut b = Builder::new("bad");
    let x = b.input("x", F32, &[64]);
    let tx = b.sbuf("t", F32, &[1, 64]);
    let six = HbmAccess { tensor: x, offset: c(0), pattern: vec![(64, 1), (32, 2), (16, 2), (8, 2), (4, 2), (1, 4)] };
    b.push(load(b.all(tx), six));
    add(verify_err("dma_pattern_6_dims", b.finish(), Target::Trn2, "at most 4 free pairs"));

    // --- Only a run can tell ---
    let k = one(&mm_tiles(&[128, 128], &[128, 512], &[128, 512], BF16), |b| Inst::Matmul {
        dst: b.all(t(0)),
        stationary: b.all(t(1)),
        moving: b.all(t(2)),
        accumulate: Accumulate::Add,
    });
    add(sim_err("accumulate_onto_unwritten_psum", k, Target::Trn2, "no matmul has written"));
    let mut b = Builder::new("bad");
    let acc = b.psum("acc", &[128, 512]);
    let st = b.sbuf("st", BF16, &[128, 128]);
    let mv = b.sbuf("mv", BF16, &[128, 512]);
    for tile in [acc, st, mv] {
        b.push(Inst::Memset { dst: b.all(tile), value: 1.0 });
    }
    b.push(Inst::Matmul { dst: b.all(acc), stationary: b.all(st), moving: b.all(mv), accumulate: Accumulate::Add });
    let k = b.finish();
    assert!(sim(&k, Target::Trn3).is_ok(), "v4 may accumulate onto a memset");
    add(sim_err("accumulate_onto_memset_psum", k, Target::Trn2, "NeuronCore-v2/v3"));
    let mut b = Builder::new("bad");
    let acc = b.psum("acc", &[128, 512]);
    let y = b.sbuf("y", F32, &[128, 512]);
    b.repeat(2, |b, _| b.push(copy(b.all(y), b.all(acc))));
    add(sim_err("read_unwritten_psum", b.finish(), Target::Trn2, "no instruction has written"));
    let mut b = Builder::new("bad");
    let x = b.input("x", F32, &[1, 4]);
    let y = b.output("y", F32, &[1, 4]);
    let tx = b.sbuf("t", F32, &[1, 4]);
    b.push(load(b.all(tx), block(x, 4, c(0), 1, c(0), 4)));
    b.push(Inst::Activation {
        dst: b.all(tx),
        src: b.all(tx),
        func: ActFunc::Sin,
        scale: ScalarOperand::Imm(8.0),
        bias: None,
        reduce: None,
    });
    b.push(store(block(y, 4, c(0), 1, c(0), 4), b.all(tx)));
    add(sim_err("sin_outside_pi", b.finish(), Target::Trn2, "[-π, π]"));
    let mut b = Builder::new("bad");
    let y = b.output("y", F32, &[4, 4]);
    let ty = b.sbuf("t", F32, &[4, 4]);
    b.push(Inst::Memset { dst: b.all(ty), value: 0.0 });
    b.push(store(block(y, 4, c(0), 3, c(0), 4), region(ty, c(0), 3, c(0), 4)));
    add(sim_err("output_not_written", b.finish(), Target::Trn2, "never written"));
    let mut b = Builder::new("bad");
    b.input("x", F32, &[2, 2]);
    let k = b.finish();
    let err = simulate(&k, Target::Trn2, &[Tensor::from_f64(BF16, vec![2, 3], &[0.0; 6])]).err().map(|e| e.to_string());
    add(("input_mismatch", err, "f32[2, 2] but got bf16[2, 3]"));
    cases
}

#[test]
fn every_broken_rule_is_reported_with_its_limit() {
    let mut text = String::new();
    for (name, err, must) in cases() {
        let msg = err.unwrap_or_else(|| panic!("{name}: accepted, but it breaks a rule"));
        assert!(msg.contains(must), "{name}: message does not name the limit ({must}):\n{msg}");
        text.push_str(&format!("{name}:\n  {msg}\n"));
    }
    insta::assert_snapshot!("messages", text);
}

#[test]
fn multi_bank_psum_tiles_are_fine_when_each_matmul_stays_in_a_bank() {
    let mut b = Builder::new("two_banks");
    let acc = b.psum("acc", &[128, 2, 512]);
    let st = b.sbuf("st", BF16, &[128, 128]);
    let mv = b.sbuf("mv", BF16, &[128, 512]);
    b.push(Inst::Memset { dst: b.all(st), value: 1.0 });
    b.push(Inst::Memset { dst: b.all(mv), value: 1.0 });
    b.repeat(2, |b, i| {
        let dst =
            TileAccess { tile: acc, partition_start: c(0), partitions: 128, free: vec![(v(i, 1), 1), (c(0), 512)] };
        b.push(Inst::Matmul { dst, stationary: b.all(st), moving: b.all(mv), accumulate: Accumulate::Overwrite });
    });
    let k = b.finish();
    verify_kernel(&k, Target::Trn1).unwrap();
    sim(&k, Target::Trn1).unwrap();
}
