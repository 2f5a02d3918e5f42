//! The four versions of the NKI matrix-multiplication tutorial, written in
//! kernel IR, with the latencies the tutorial publishes for
//! `[4096, 8192] @ [8192, 8192]` BF16 on one Trn1 core (trainium.md §3.3).
//!
//! Each builder follows the tutorial's legacy (SDK 2.26) kernel loop for
//! loop and load for load (`general/nki/examples/matrix_multiplication/
//! matrix_multiplication_nki_kernels.py` in aws-neuron-sdk):
//! 1. `tiled`: for m (128), for n (512): for k (128): load the lhsT tile
//!    and the rhs tile, matmul-accumulate; copy PSUM → SBUF; store.
//! 2. `hoist_load`: for m: load the whole lhsT column of K/128 tiles; for
//!    n: load the rhs column of K/128 tiles; K matmuls; copy; store.
//! 3. `block_free`: blocks of 2 M tiles × 2 N tiles: per M block load
//!    2·K/128 lhsT tiles, per N block 2·K/128 rhs tiles, then for bm, bn:
//!    K matmuls, copy, store.
//! 4. `block_k`: for n block (1024): zero the SBUF result block; for k
//!    block (1024, sequential): load 8 rhs rows [128, 1024]; for m block
//!    (2048): load 8 lhsT rows [128, 2048]; for bn, bm: 8 matmuls into
//!    PSUM, add into the SBUF result; then copy-pack and store rows of
//!    [128, 1024].
//!
//! Two things the NKI compiler decides are modelled explicitly, the same
//! way in all four versions:
//! - `nl.zeros` PSUM accumulators become a first matmul that overwrites
//!   PSUM (the k = 0 iteration is peeled);
//! - tiles allocated inside a loop get rotating buffers so that loop
//!   iterations overlap. Our IR allocates statically, so a rotating tile
//!   has a leading slot dimension indexed by an inner split of its loop.
//!   Rule: two buffers per loop level, granted from the innermost level
//!   outwards while the kernel still fits SBUF (176 KiB per partition on
//!   Trn1, §1.1) or PSUM (16 KiB); a level that does not fit keeps one.

use trnc_ir::kernel::{
    Accumulate, Affine, AluOp, Engine, HbmAccess, HbmId, HbmTensor, Inst, Kernel, LoopVar, Memory, Operand, Stmt, Tile,
    TileAccess, TileId,
};
use trnc_ir::target::{PSUM_BANKS, PSUM_BANK_BYTES};
use trnc_ir::{DType, Target};

/// Published latency (ms) of each version, trainium.md §3.3.
pub const PUBLISHED_MS: [(&str, f64); 4] =
    [("tiled", 51.80), ("hoist_load", 42.96), ("block_free", 22.07), ("block_k", 6.97)];

/// `lhsT [k, m] @ rhs [k, n]`, BF16.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

/// The tutorial's benchmark: `[4096, 8192] @ [8192, 8192]`.
pub const TUTORIAL: Shape = Shape { m: 4096, k: 8192, n: 8192 };

const TM: usize = 128; // gemm_stationary_fmax
const TK: usize = 128; // pmax
const TN: usize = 512; // gemm_moving_fmax

/// All four versions, in the tutorial's order.
pub fn all(s: Shape) -> Vec<(&'static str, Kernel)> {
    vec![("tiled", tiled(s)), ("hoist_load", hoist_load(s)), ("block_free", block_free(s)), ("block_k", block_k(s))]
}

// ---------------------------------------------------------------- helpers

const LHST: HbmId = HbmId(0);
const RHS: HbmId = HbmId(1);
const RESULT: HbmId = HbmId(2);

struct Builder {
    k: Kernel,
    vars: u32,
}

fn c(x: usize) -> Affine {
    Affine::constant(x as i64)
}

fn scaled(a: &Affine, f: usize) -> Affine {
    let f = f as i64;
    Affine { constant: a.constant * f, terms: a.terms.iter().map(|&(v, k)| (v, k * f)).collect() }
}

fn inst(i: Inst, note: &str) -> Stmt {
    Stmt::Inst { inst: i, note: Some(note.to_string()) }
}

/// `rows × cols` block of a row-major `[_, row_len]` tensor at (`row`, `col`).
fn hbm(t: HbmId, row_len: usize, row: &Affine, col: &Affine, rows: usize, cols: usize) -> Operand {
    Operand::Hbm(HbmAccess {
        tensor: t,
        offset: scaled(row, row_len).plus(col),
        pattern: vec![(row_len as i64, rows), (1, cols)],
    })
}

/// All 128 partitions of `tile`, the given (start, count) per free dim.
fn at(tile: TileId, free: Vec<(Affine, usize)>) -> TileAccess {
    TileAccess { tile, partition_start: Affine::constant(0), partitions: 128, free }
}

impl Builder {
    fn new(name: &str, s: Shape) -> Builder {
        let t = |name: &str, shape: Vec<usize>| HbmTensor { name: name.into(), dtype: DType::BF16, shape };
        Builder {
            k: Kernel {
                name: name.into(),
                inputs: vec![t("lhsT", vec![s.k, s.m]), t("rhs", vec![s.k, s.n])],
                outputs: vec![t("result", vec![s.m, s.n])],
                tiles: Vec::new(),
                body: Vec::new(),
                origin: vec!["matmul".into()],
            },
            vars: 0,
        }
    }

    fn tile(&mut self, name: &str, memory: Memory, dtype: DType, shape: Vec<usize>) -> TileId {
        self.k.tiles.push(Tile { name: name.into(), memory, dtype, shape });
        TileId(self.k.tiles.len() as u32 - 1)
    }

    fn var(&mut self) -> LoopVar {
        self.vars += 1;
        LoopVar(self.vars - 1)
    }

    fn looped(&mut self, count: usize, f: impl FnOnce(&mut Builder, Affine) -> Vec<Stmt>) -> Stmt {
        let v = self.var();
        let body = f(self, Affine::var(v, 1));
        Stmt::Loop { var: v, count, body }
    }

    /// A loop of `count` whose tiles rotate over `buffers` slots: split into
    /// `count / buffers` × `buffers`; `f` gets (index, slot).
    fn rotated(
        &mut self,
        count: usize,
        buffers: usize,
        f: impl FnOnce(&mut Builder, Affine, Affine) -> Vec<Stmt>,
    ) -> Stmt {
        let b = if count.is_multiple_of(buffers) { buffers } else { 1 };
        let (hi, lo) = (self.var(), self.var());
        let index = Affine::var(hi, b as i64).plus(&Affine::var(lo, 1));
        let body = f(self, index, Affine::var(lo, 1));
        Stmt::Loop { var: hi, count: count / b, body: vec![Stmt::Loop { var: lo, count: b, body }] }
    }

    /// A K loop of `count` steps whose first step overwrites PSUM (peeled)
    /// and whose tiles rotate over `buffers` slots; `f` gets (k, slot,
    /// accumulate) and is called once per emitted copy of the body.
    fn k_loop(
        &mut self,
        count: usize,
        buffers: usize,
        f: &dyn Fn(&mut Builder, Affine, Affine, Accumulate) -> Vec<Stmt>,
    ) -> Vec<Stmt> {
        let b = if count.is_multiple_of(buffers) && count >= buffers { buffers } else { 1 };
        let mut out = Vec::new();
        for s in 0..b {
            out.extend(f(self, c(s), c(s), if s == 0 { Accumulate::Overwrite } else { Accumulate::Add }));
        }
        if count > b {
            let (hi, lo) = (self.var(), self.var());
            let k = Affine::var(hi, b as i64).plus(&Affine::var(lo, 1)).offset(b as i64);
            let body = f(self, k, Affine::var(lo, 1), Accumulate::Add);
            out.push(Stmt::Loop { var: hi, count: count / b - 1, body: vec![Stmt::Loop { var: lo, count: b, body }] });
        }
        out
    }
}

/// Buffers per loop level, innermost level first: 2 while `fixed` (the
/// single-buffered total) plus the extra copies fit `capacity`, else 1.
fn plan_buffers(capacity: usize, levels: &[usize]) -> Vec<usize> {
    let mut used: usize = levels.iter().sum();
    levels
        .iter()
        .map(|&bytes| {
            if used + bytes <= capacity {
                used += bytes;
                2
            } else {
                1
            }
        })
        .collect()
}

fn sbuf_capacity() -> usize {
    Target::Trn1.sbuf_bytes_per_partition()
}

const PSUM_CAPACITY: usize = PSUM_BANKS * PSUM_BANK_BYTES;

fn matmul(dst: TileAccess, stationary: TileAccess, moving: TileAccess, accumulate: Accumulate) -> Stmt {
    inst(Inst::Matmul { dst, stationary, moving, accumulate }, "matmul")
}

fn copy(dst: TileAccess, src: TileAccess, note: &str) -> Stmt {
    inst(Inst::TensorCopy { dst, src, engine: Engine::Vector }, note)
}

fn dma(dst: Operand, src: Operand, note: &str) -> Stmt {
    inst(Inst::DmaCopy { dst, src }, note)
}

// --------------------------------------------------------------- versions

/// Version 1: `nki_matmul_tiled_`.
pub fn tiled(s: Shape) -> Kernel {
    let mut b = Builder::new("matmul_tiled", s);
    let (mt, nt, kt) = (s.m / TM, s.n / TN, s.k / TK);
    // Levels: k (lhsT + rhs tiles), n (result tile); PSUM: n.
    let sb = plan_buffers(sbuf_capacity(), &[TK * 2 + TN * 2, TN * 2]);
    let ps = plan_buffers(PSUM_CAPACITY, &[TN * 4]);
    let lhs_t = b.tile("lhsT_tile", Memory::Sbuf, DType::BF16, vec![TK, sb[0], TM]);
    let rhs_t = b.tile("rhs_tile", Memory::Sbuf, DType::BF16, vec![TK, sb[0], TN]);
    let psum = b.tile("res_psum", Memory::Psum, DType::F32, vec![TM, ps[0], TN]);
    let res = b.tile("res_sb", Memory::Sbuf, DType::BF16, vec![TM, sb[1], TN]);
    let body = b.looped(mt, |b, m| {
        vec![b.rotated(nt, sb[1], |b, n, sn| {
            let sp = if ps[0] == sb[1] { sn.clone() } else { c(0) };
            let mut v = b.k_loop(kt, sb[0], &|_, k, sk, acc| {
                vec![
                    dma(
                        Operand::Tile(at(lhs_t, vec![(sk.clone(), 1), (c(0), TM)])),
                        hbm(LHST, s.m, &scaled(&k, TK), &scaled(&m, TM), TK, TM),
                        "load lhsT tile",
                    ),
                    dma(
                        Operand::Tile(at(rhs_t, vec![(sk.clone(), 1), (c(0), TN)])),
                        hbm(RHS, s.n, &scaled(&k, TK), &scaled(&n, TN), TK, TN),
                        "load rhs tile",
                    ),
                    matmul(
                        at(psum, vec![(sp.clone(), 1), (c(0), TN)]),
                        at(lhs_t, vec![(sk.clone(), 1), (c(0), TM)]),
                        at(rhs_t, vec![(sk, 1), (c(0), TN)]),
                        acc,
                    ),
                ]
            });
            v.push(copy(
                at(res, vec![(sn.clone(), 1), (c(0), TN)]),
                at(psum, vec![(sp, 1), (c(0), TN)]),
                "psum to sbuf",
            ));
            v.push(dma(
                hbm(RESULT, s.n, &scaled(&m, TM), &scaled(&n, TN), TM, TN),
                Operand::Tile(at(res, vec![(sn, 1), (c(0), TN)])),
                "store result tile",
            ));
            v
        })]
    });
    b.k.body = vec![body];
    b.k
}

/// Version 2: `nki_matmul_hoist_load_`.
pub fn hoist_load(s: Shape) -> Kernel {
    let mut b = Builder::new("matmul_hoist_load", s);
    let (mt, nt, kt) = (s.m / TM, s.n / TN, s.k / TK);
    // Levels: n (rhs column + result tile), m (lhsT column); PSUM: n.
    let sb = plan_buffers(sbuf_capacity(), &[kt * TN * 2 + TN * 2, kt * TM * 2]);
    let ps = plan_buffers(PSUM_CAPACITY, &[TN * 4]);
    let lhs_t = b.tile("lhsT_tiles", Memory::Sbuf, DType::BF16, vec![TK, sb[1], kt, TM]);
    let rhs_t = b.tile("rhs_tiles", Memory::Sbuf, DType::BF16, vec![TK, sb[0], kt, TN]);
    let psum = b.tile("res_psum", Memory::Psum, DType::F32, vec![TM, ps[0], TN]);
    let res = b.tile("res_sb", Memory::Sbuf, DType::BF16, vec![TM, sb[0], TN]);
    let body = b.rotated(mt, sb[1], |b, m, sm| {
        let load_lhs = b.looped(kt, |_, k| {
            vec![dma(
                Operand::Tile(at(lhs_t, vec![(sm.clone(), 1), (k.clone(), 1), (c(0), TM)])),
                hbm(LHST, s.m, &scaled(&k, TK), &scaled(&m, TM), TK, TM),
                "load lhsT tile",
            )]
        });
        let per_n = b.rotated(nt, sb[0], |b, n, sn| {
            let sp = if ps[0] == sb[0] { sn.clone() } else { c(0) };
            let mut v = vec![b.looped(kt, |_, k| {
                vec![dma(
                    Operand::Tile(at(rhs_t, vec![(sn.clone(), 1), (k.clone(), 1), (c(0), TN)])),
                    hbm(RHS, s.n, &scaled(&k, TK), &scaled(&n, TN), TK, TN),
                    "load rhs tile",
                )]
            })];
            v.extend(b.k_loop(kt, 1, &|_, k, _, acc| {
                vec![matmul(
                    at(psum, vec![(sp.clone(), 1), (c(0), TN)]),
                    at(lhs_t, vec![(sm.clone(), 1), (k.clone(), 1), (c(0), TM)]),
                    at(rhs_t, vec![(sn.clone(), 1), (k, 1), (c(0), TN)]),
                    acc,
                )]
            }));
            v.push(copy(
                at(res, vec![(sn.clone(), 1), (c(0), TN)]),
                at(psum, vec![(sp, 1), (c(0), TN)]),
                "psum to sbuf",
            ));
            v.push(dma(
                hbm(RESULT, s.n, &scaled(&m, TM), &scaled(&n, TN), TM, TN),
                Operand::Tile(at(res, vec![(sn, 1), (c(0), TN)])),
                "store result tile",
            ));
            v
        });
        vec![load_lhs, per_n]
    });
    b.k.body = vec![body];
    b.k
}

/// Version 3: `nki_matmul_block_free_dimension_` (2 × 2 tiles per block).
pub fn block_free(s: Shape) -> Kernel {
    const TBM: usize = 2;
    const TBN: usize = 2;
    let mut b = Builder::new("matmul_block_free", s);
    let (mb, nb, kt) = (s.m / (TM * TBM), s.n / (TN * TBN), s.k / TK);
    // Levels: (bm, bn) result tile, n (rhs block), m (lhsT block); PSUM: (bm, bn).
    let sb = plan_buffers(sbuf_capacity(), &[TN * 2, TBN * kt * TN * 2, TBM * kt * TM * 2]);
    let ps = plan_buffers(PSUM_CAPACITY, &[TN * 4]);
    let lhs_t = b.tile("lhsT_tiles", Memory::Sbuf, DType::BF16, vec![TK, sb[2], TBM, kt, TM]);
    let rhs_t = b.tile("rhs_tiles", Memory::Sbuf, DType::BF16, vec![TK, sb[1], TBN, kt, TN]);
    let psum = b.tile("res_psum", Memory::Psum, DType::F32, vec![TM, ps[0], TN]);
    let res = b.tile("res_sb", Memory::Sbuf, DType::BF16, vec![TM, sb[0], TN]);
    let body = b.rotated(mb, sb[2], |b, m, sm| {
        let load_lhs = b.looped(TBM, |b, bm| {
            vec![b.looped(kt, |_, k| {
                vec![dma(
                    Operand::Tile(at(lhs_t, vec![(sm.clone(), 1), (bm.clone(), 1), (k.clone(), 1), (c(0), TM)])),
                    hbm(LHST, s.m, &scaled(&k, TK), &scaled(&scaled(&m, TBM).plus(&bm), TM), TK, TM),
                    "load lhsT tile",
                )]
            })]
        });
        let per_n = b.rotated(nb, sb[1], |b, n, sn| {
            let load_rhs = b.looped(TBN, |b, bn| {
                vec![b.looped(kt, |_, k| {
                    vec![dma(
                        Operand::Tile(at(rhs_t, vec![(sn.clone(), 1), (bn.clone(), 1), (k.clone(), 1), (c(0), TN)])),
                        hbm(RHS, s.n, &scaled(&k, TK), &scaled(&scaled(&n, TBN).plus(&bn), TN), TK, TN),
                        "load rhs tile",
                    )]
                })]
            });
            let compute = b.looped(TBM, |b, bm| {
                vec![b.rotated(TBN, sb[0], |b, bn, si| {
                    let sp = if ps[0] == sb[0] { si.clone() } else { c(0) };
                    let mut v = b.k_loop(kt, 1, &|_, k, _, acc| {
                        vec![matmul(
                            at(psum, vec![(sp.clone(), 1), (c(0), TN)]),
                            at(lhs_t, vec![(sm.clone(), 1), (bm.clone(), 1), (k.clone(), 1), (c(0), TM)]),
                            at(rhs_t, vec![(sn.clone(), 1), (bn.clone(), 1), (k, 1), (c(0), TN)]),
                            acc,
                        )]
                    });
                    let row = scaled(&scaled(&m, TBM).plus(&bm), TM);
                    let col = scaled(&scaled(&n, TBN).plus(&bn), TN);
                    v.push(copy(
                        at(res, vec![(si.clone(), 1), (c(0), TN)]),
                        at(psum, vec![(sp, 1), (c(0), TN)]),
                        "psum to sbuf",
                    ));
                    v.push(dma(
                        hbm(RESULT, s.n, &row, &col, TM, TN),
                        Operand::Tile(at(res, vec![(si, 1), (c(0), TN)])),
                        "store result tile",
                    ));
                    v
                })]
            });
            vec![load_rhs, compute]
        });
        vec![load_lhs, per_n]
    });
    b.k.body = vec![body];
    b.k
}

/// Version 4: `nki_matmul_fully_optimized_` (blocks of 16 M tiles, 2 N
/// tiles, 8 K tiles).
pub fn block_k(s: Shape) -> Kernel {
    const TBM: usize = 16;
    const TBN: usize = 2;
    const TBK: usize = 8;
    let (bm_len, bn_len) = (TM * TBM, TN * TBN);
    let mut b = Builder::new("matmul_block_k", s);
    let (nbm, nbn, nbk) = (s.m / bm_len, s.n / bn_len, s.k / (TK * TBK));
    // Levels, innermost first: m block in k (lhsT rows), copy-out (packed
    // row), k block (rhs rows), n block (SBUF result block); PSUM: (bn, bm).
    let result_bytes = nbm * TBM * TBN * TN * 2;
    let sb = plan_buffers(sbuf_capacity(), &[TBK * bm_len * 2, bn_len * 2, TBK * bn_len * 2, result_bytes]);
    let ps = plan_buffers(PSUM_CAPACITY, &[TN * 4]);
    let lhs_t = b.tile("lhsT_tiles", Memory::Sbuf, DType::BF16, vec![TK, sb[0], TBK, bm_len]);
    let packed = b.tile("result_packed", Memory::Sbuf, DType::BF16, vec![TM, sb[1], bn_len]);
    let rhs_t = b.tile("rhs_tiles", Memory::Sbuf, DType::BF16, vec![TK, sb[2], TBK, bn_len]);
    // The tutorial's [NUM_BLOCK_M, TILES_IN_BLOCK_M, TILES_IN_BLOCK_N, 128,
    // 512] with its two M dims merged: a slot dim plus 4 would exceed the
    // 4 free dims a tile may have (trainium.md §1.5).
    let acc_t = b.tile("result_tiles", Memory::Sbuf, DType::BF16, vec![TM, sb[3], nbm * TBM, TBN, TN]);
    let psum = b.tile("res_tile", Memory::Psum, DType::F32, vec![TM, ps[0], TN]);
    let acc_at = |sr: &Affine, m: &Affine, bm: &Affine, bn: &Affine| {
        at(acc_t, vec![(sr.clone(), 1), (scaled(m, TBM).plus(bm), 1), (bn.clone(), 1), (c(0), TN)])
    };
    let body = b.rotated(nbn, sb[3], |b, n, sr| {
        let zero = inst(
            Inst::Memset {
                dst: at(acc_t, vec![(sr.clone(), 1), (c(0), nbm * TBM), (c(0), TBN), (c(0), TN)]),
                value: 0.0,
            },
            "zero result block",
        );
        let per_k = b.rotated(nbk, sb[2], |b, k, sk| {
            let load_rhs = b.looped(TBK, |_, bk| {
                vec![dma(
                    Operand::Tile(at(rhs_t, vec![(sk.clone(), 1), (bk.clone(), 1), (c(0), bn_len)])),
                    hbm(RHS, s.n, &scaled(&scaled(&k, TBK).plus(&bk), TK), &scaled(&n, bn_len), TK, bn_len),
                    "load rhs row",
                )]
            });
            let per_m = b.rotated(nbm, sb[0], |b, m, sl| {
                let load_lhs = b.looped(TBK, |_, bk| {
                    vec![dma(
                        Operand::Tile(at(lhs_t, vec![(sl.clone(), 1), (bk.clone(), 1), (c(0), bm_len)])),
                        hbm(LHST, s.m, &scaled(&scaled(&k, TBK).plus(&bk), TK), &scaled(&m, bm_len), TK, bm_len),
                        "load lhsT row",
                    )]
                });
                let compute = b.looped(TBN, |b, bn| {
                    vec![b.rotated(TBM, ps[0], |b, bm, sp| {
                        let mut v = b.k_loop(TBK, 1, &|_, bk, _, acc| {
                            vec![matmul(
                                at(psum, vec![(sp.clone(), 1), (c(0), TN)]),
                                at(lhs_t, vec![(sl.clone(), 1), (bk.clone(), 1), (scaled(&bm, TM), TM)]),
                                at(rhs_t, vec![(sk.clone(), 1), (bk, 1), (scaled(&bn, TN), TN)]),
                                acc,
                            )]
                        });
                        v.push(inst(
                            Inst::TensorTensor {
                                dst: acc_at(&sr, &m, &bm, &bn),
                                a: acc_at(&sr, &m, &bm, &bn),
                                b: at(psum, vec![(sp, 1), (c(0), TN)]),
                                op: AluOp::Add,
                            },
                            "accumulate block",
                        ));
                        v
                    })]
                });
                vec![load_lhs, compute]
            });
            vec![load_rhs, per_m]
        });
        let store = b.looped(nbm, |b, m| {
            vec![b.rotated(TBM, sb[1], |b, bm, sq| {
                let mut v = vec![b.looped(TBN, |_, bn| {
                    vec![copy(
                        at(packed, vec![(sq.clone(), 1), (scaled(&bn, TN), TN)]),
                        acc_at(&sr, &m, &bm, &bn),
                        "pack result",
                    )]
                })];
                let row = scaled(&scaled(&m, TBM).plus(&bm), TM);
                v.push(dma(
                    hbm(RESULT, s.n, &row, &scaled(&n, bn_len), TM, bn_len),
                    Operand::Tile(at(packed, vec![(sq, 1), (c(0), bn_len)])),
                    "store result row",
                ));
                v
            })]
        });
        vec![zero, per_k, store]
    });
    b.k.body = vec![body];
    b.k
}
