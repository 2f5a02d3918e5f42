//! Helpers to build kernels by hand in tests: declarations, loops, and the
//! usual access shapes.

#![allow(dead_code)]

pub mod kernels;

use trnc_ir::kernel::{
    Affine, HbmAccess, HbmId, HbmTensor, Inst, Kernel, LoopVar, Memory, Operand, Stmt, Tile, TileAccess, TileId,
};
use trnc_ir::{DType, Tensor};

pub struct Builder {
    pub k: Kernel,
    bodies: Vec<Vec<Stmt>>,
    next_var: u32,
}

impl Builder {
    pub fn new(name: &str) -> Builder {
        Builder {
            k: Kernel {
                name: name.into(),
                inputs: vec![],
                outputs: vec![],
                tiles: vec![],
                body: vec![],
                origin: vec![],
            },
            bodies: vec![vec![]],
            next_var: 0,
        }
    }

    /// Inputs must all be declared before the first output (ids are
    /// inputs first, then outputs).
    pub fn input(&mut self, name: &str, dtype: DType, shape: &[usize]) -> HbmId {
        assert!(self.k.outputs.is_empty(), "declare inputs first");
        self.k.inputs.push(HbmTensor { name: name.into(), dtype, shape: shape.to_vec() });
        HbmId(self.k.inputs.len() as u32 - 1)
    }

    pub fn output(&mut self, name: &str, dtype: DType, shape: &[usize]) -> HbmId {
        self.k.outputs.push(HbmTensor { name: name.into(), dtype, shape: shape.to_vec() });
        HbmId((self.k.inputs.len() + self.k.outputs.len()) as u32 - 1)
    }

    pub fn tile(&mut self, name: &str, memory: Memory, dtype: DType, shape: &[usize]) -> TileId {
        self.k.tiles.push(Tile { name: name.into(), memory, dtype, shape: shape.to_vec() });
        TileId(self.k.tiles.len() as u32 - 1)
    }

    pub fn sbuf(&mut self, name: &str, dtype: DType, shape: &[usize]) -> TileId {
        self.tile(name, Memory::Sbuf, dtype, shape)
    }

    pub fn psum(&mut self, name: &str, shape: &[usize]) -> TileId {
        self.tile(name, Memory::Psum, DType::F32, shape)
    }

    /// The whole tile.
    pub fn all(&self, t: TileId) -> TileAccess {
        TileAccess::whole(t, &self.k.tiles[t.0 as usize].shape)
    }

    pub fn push(&mut self, inst: Inst) {
        self.bodies.last_mut().unwrap().push(Stmt::Inst { inst, note: None });
    }

    pub fn push_noted(&mut self, inst: Inst, note: &str) {
        self.bodies.last_mut().unwrap().push(Stmt::Inst { inst, note: Some(note.into()) });
    }

    /// `for var in 0..count { body }`.
    pub fn repeat(&mut self, count: usize, body: impl FnOnce(&mut Builder, LoopVar)) {
        let var = LoopVar(self.next_var);
        self.next_var += 1;
        self.bodies.push(vec![]);
        body(self, var);
        let inner = self.bodies.pop().unwrap();
        self.bodies.last_mut().unwrap().push(Stmt::Loop { var, count, body: inner });
    }

    pub fn finish(mut self) -> Kernel {
        assert_eq!(self.bodies.len(), 1);
        self.k.body = self.bodies.pop().unwrap();
        self.k
    }
}

pub fn c(x: i64) -> Affine {
    Affine::constant(x)
}

pub fn v(var: LoopVar, k: i64) -> Affine {
    Affine::var(var, k)
}

/// `k * a`.
pub fn scaled(a: &Affine, k: i64) -> Affine {
    Affine { constant: a.constant * k, terms: a.terms.iter().map(|&(v, c)| (v, c * k)).collect() }
}

/// A 2-D region of a tile: partitions `[p0, p0 + np)`, free `[f0, f0 + nf)`.
pub fn region(t: TileId, p0: Affine, np: usize, f0: Affine, nf: usize) -> TileAccess {
    TileAccess { tile: t, partition_start: p0, partitions: np, free: vec![(f0, nf)] }
}

/// `(P, 1)` column `col` of a 2-D tile, partitions `[0, np)`.
pub fn column(t: TileId, np: usize, col: i64) -> TileAccess {
    region(t, c(0), np, c(col), 1)
}

/// Rows `[r0, r0 + nr)`, columns `[c0, c0 + nc)` of a row-major matrix
/// with `cols` columns, rows on partitions.
pub fn block(t: HbmId, cols: usize, r0: Affine, nr: usize, c0: Affine, nc: usize) -> HbmAccess {
    HbmAccess { tensor: t, offset: scaled(&r0, cols as i64).plus(&c0), pattern: vec![(cols as i64, nr), (1, nc)] }
}

pub fn hbm(a: HbmAccess) -> Operand {
    Operand::Hbm(a)
}

pub fn on_chip(a: TileAccess) -> Operand {
    Operand::Tile(a)
}

/// `dma_copy` of a whole 2-D HBM matrix into a tile region of the same shape.
pub fn load(dst: TileAccess, src: HbmAccess) -> Inst {
    Inst::DmaCopy { dst: on_chip(dst), src: hbm(src) }
}

pub fn store(dst: HbmAccess, src: TileAccess) -> Inst {
    Inst::DmaCopy { dst: hbm(dst), src: on_chip(src) }
}

/// Deterministic values in [-1, 1) with few mantissa bits, so that they are
/// exact in every float dtype down to bf16 (multiples of 1/64).
pub fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) % 128) as f64 / 64.0 - 1.0
        })
        .collect()
}

pub fn tensor(dtype: DType, shape: &[usize], values: &[f64]) -> Tensor {
    Tensor::from_f64(dtype, shape.to_vec(), values)
}

/// Largest relative error of `got` against `want`, with `floor` as the
/// smallest magnitude errors are measured against.
pub fn max_rel_err(got: &[f64], want: &[f64], floor: f64) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter().zip(want).map(|(g, w)| (g - w).abs() / w.abs().max(floor)).fold(0.0, f64::max)
}
