//! Architecture invariant: neither the verifier, the printer nor the
//! simulator panics, whatever the kernel. Thousands of random, mostly
//! malformed kernels (bad ids, ranks, huge or negative addresses, empty
//! shapes, unbound loop variables) must each give Ok or an error.

use trnc_backend_neuron::simulate;
use trnc_ir::kernel::{
    print_kernel, verify_kernel, Accumulate, ActFunc, Affine, AluOp, Engine, HbmAccess, HbmId, HbmTensor, Inst, Kernel,
    LoopVar, Memory, Operand, ScalarOperand, Stmt, Tile, TileAccess, TileId,
};
use trnc_ir::{DType, Target, Tensor};

/// xorshift64; `wild` kernels draw from extreme values, tame ones from
/// values that often make a valid kernel (so execution is fuzzed too).
struct Rng {
    state: u64,
    wild: bool,
    /// Shapes of the current kernel's tiles.
    shapes: Vec<Vec<usize>>,
}

impl Rng {
    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
    fn size(&mut self) -> usize {
        if !self.wild {
            return self.small();
        }
        self.pick(&[0, 1, 1, 2, 3, 4, 32, 64, 128, 129, 512, 1 << 40, usize::MAX])
    }
    /// An id below `n`, or (wild) one past the end.
    fn id(&mut self, n: usize) -> u32 {
        if self.wild || n == 0 {
            self.below(n + 1) as u32
        } else {
            self.below(n) as u32
        }
    }
    fn small(&mut self) -> usize {
        self.pick(&[1, 1, 2, 3, 4, 6, 8])
    }
    fn affine(&mut self) -> Affine {
        if !self.wild {
            let mut a = Affine::constant(self.pick(&[0, 0, 0, 1]));
            if self.below(4) == 0 {
                a.terms.push((LoopVar(self.below(3) as u32), 1));
            }
            return a;
        }
        let mut a = Affine::constant(self.pick(&[0, 0, 0, 1, -1, 2, 32, 64, 96, 1 << 40, i64::MAX, i64::MIN]));
        if self.below(3) == 0 {
            let var = LoopVar(self.below(3) as u32);
            a.terms.push((var, self.pick(&[1, -1, 2, 16, 32, 128, i64::MAX])));
        }
        a
    }
    fn tile_access(&mut self, tiles: usize) -> TileAccess {
        if !self.wild && tiles > 0 && self.below(4) != 0 {
            let id = self.below(tiles);
            let shape = self.shapes[id].clone();
            if shape.len() >= 2 && shape.iter().all(|&d| d > 0 && d < 1 << 20) {
                return TileAccess::whole(TileId(id as u32), &shape);
            }
        }
        let rank = self.below(3);
        TileAccess {
            tile: TileId(self.id(tiles)),
            partition_start: self.affine(),
            partitions: if self.below(2) == 0 { self.small() } else { self.size() },
            free: (0..rank)
                .map(|_| (self.affine(), if self.below(2) == 0 { self.small() } else { self.size() }))
                .collect(),
        }
    }
    fn hbm_access(&mut self, tensors: usize) -> HbmAccess {
        HbmAccess {
            tensor: HbmId(self.id(tensors)),
            offset: self.affine(),
            pattern: if self.wild {
                (0..self.below(7)).map(|_| (self.pick(&[0, 1, -1, 4, 64, i64::MAX]), self.small())).collect()
            } else {
                vec![(self.pick(&[1, 2, 4]), self.small()), (1, self.small())]
            },
        }
    }
    fn scalar(&mut self, tiles: usize) -> ScalarOperand {
        if self.below(2) == 0 {
            ScalarOperand::Imm(self.pick(&[0.0, 1.0, -2.5, f64::INFINITY, f64::NAN, 1e300]))
        } else {
            ScalarOperand::PerPartition(self.tile_access(tiles))
        }
    }
    fn op(&mut self) -> AluOp {
        self.pick(&[
            AluOp::Add,
            AluOp::Subtract,
            AluOp::Multiply,
            AluOp::Maximum,
            AluOp::Power,
            AluOp::Abs,
            AluOp::Rsqrt,
            AluOp::Equal,
            AluOp::LogicalOr,
        ])
    }
    fn engine(&mut self) -> Engine {
        self.pick(&[Engine::Tensor, Engine::Vector, Engine::Scalar, Engine::GpSimd, Engine::Dma])
    }
    fn pattern(&mut self) -> Vec<(i64, usize)> {
        (0..self.below(6)).map(|_| (self.pick(&[1, -1, 0, 1 << 40]), self.small())).collect()
    }

    fn inst(&mut self, tiles: usize, tensors: usize) -> Inst {
        let t = |r: &mut Rng| r.tile_access(tiles);
        let side = |r: &mut Rng| {
            if r.below(2) == 0 {
                Operand::Tile(r.tile_access(tiles))
            } else {
                Operand::Hbm(r.hbm_access(tensors))
            }
        };
        match self.below(13) {
            0 => Inst::DmaCopy { dst: side(self), src: side(self) },
            1 => Inst::Matmul {
                dst: t(self),
                stationary: t(self),
                moving: t(self),
                accumulate: self.pick(&[Accumulate::Overwrite, Accumulate::Add]),
            },
            2 => Inst::Transpose { dst: t(self), src: t(self), engine: self.engine() },
            3 => Inst::TensorTensor { dst: t(self), a: t(self), b: t(self), op: self.op() },
            4 => Inst::TensorScalar {
                dst: t(self),
                src: t(self),
                op0: self.op(),
                operand0: self.scalar(tiles),
                reverse0: self.below(2) == 0,
                op1: if self.below(2) == 0 { None } else { Some((self.op(), self.scalar(tiles), false)) },
                engine: self.engine(),
            },
            5 => Inst::TensorReduce {
                dst: t(self),
                src: t(self),
                op: self.op(),
                axes: (0..self.below(4)).map(|_| self.below(4)).collect(),
                negate: self.below(2) == 0,
            },
            6 => Inst::Activation {
                dst: t(self),
                src: t(self),
                func: self.pick(&[ActFunc::Exp, ActFunc::Sin, ActFunc::Gelu, ActFunc::Log]),
                scale: self.scalar(tiles),
                bias: if self.below(2) == 0 { None } else { Some(t(self)) },
                reduce: if self.below(2) == 0 { None } else { Some(t(self)) },
            },
            7 => Inst::TensorCopy { dst: t(self), src: t(self), engine: self.engine() },
            8 => Inst::Memset { dst: t(self), value: self.pick(&[0.0, 1.5, -1e40, f64::NAN, f64::NEG_INFINITY]) },
            9 => Inst::Iota {
                dst: t(self),
                pattern: self.pattern(),
                offset: self.pick(&[0, -5, i64::MAX]),
                channel_multiplier: self.pick(&[0, 1, i64::MIN]),
            },
            10 => Inst::AffineSelect {
                dst: t(self),
                src: t(self),
                pattern: self.pattern(),
                channel_multiplier: self.pick(&[0, 1, -1, i64::MAX]),
                offset: self.pick(&[0, 3, i64::MIN]),
                cmp: self.op(),
                on_false: self.pick(&[0.0, f64::NEG_INFINITY, 1e300]),
            },
            11 => Inst::BnStats { dst: t(self), src: t(self) },
            _ => Inst::BnAggr { dst: t(self), src: t(self) },
        }
    }

    fn body(&mut self, depth: usize, tiles: usize, tensors: usize) -> Vec<Stmt> {
        (0..1 + self.below(3))
            .map(|_| {
                if depth < 3 && self.below(3) == 0 {
                    let var = LoopVar(self.below(3) as u32);
                    Stmt::Loop { var, count: self.pick(&[0, 1, 2, 3]), body: self.body(depth + 1, tiles, tensors) }
                } else {
                    Stmt::Inst { inst: self.inst(tiles, tensors), note: None }
                }
            })
            .collect()
    }

    fn kernel(&mut self) -> Kernel {
        self.wild = self.below(2) == 0;
        let dtypes: &[DType] = if self.wild { &DType::ALL } else { &[DType::F32, DType::F32, DType::BF16] };
        let hbm = |r: &mut Rng, name: &str| HbmTensor {
            name: name.into(),
            dtype: r.pick(dtypes),
            shape: (0..r.below(3)).map(|_| if r.below(8) == 0 { r.size() } else { r.small() }).collect(),
        };
        let inputs: Vec<HbmTensor> = (0..self.below(3)).map(|i| hbm(self, &format!("x{i}"))).collect();
        let outputs: Vec<HbmTensor> = (0..self.below(3)).map(|i| hbm(self, &format!("y{i}"))).collect();
        let tiles: Vec<Tile> = (0..self.below(4))
            .map(|i| Tile {
                name: format!("t{i}"),
                memory: self.pick(&[Memory::Sbuf, Memory::Psum]),
                dtype: self.pick(dtypes),
                shape: if self.wild {
                    (0..self.below(4)).map(|_| if self.below(4) == 0 { self.size() } else { self.small() }).collect()
                } else {
                    vec![self.pick(&[1, 2, 4]), self.pick(&[1, 2, 6])]
                },
            })
            .collect();
        self.shapes = tiles.iter().map(|t| t.shape.clone()).collect();
        let body = self.body(0, tiles.len(), inputs.len() + outputs.len());
        Kernel { name: "fuzz".into(), inputs, outputs, tiles, body, origin: vec![] }
    }
}

#[test]
fn random_kernels_never_panic() {
    // TRNC_FUZZ_ROUNDS=n fuzzes n times longer (with other seeds).
    let rounds: u64 = std::env::var("TRNC_FUZZ_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let mut rng = Rng { state: 0x5eed_1234_abcd_0001, wild: true, shapes: vec![] };
    let (mut verified, mut accepted) = (0, 0);
    for _ in 0..50_000 * rounds {
        let k = rng.kernel();
        let _ = print_kernel(&k);
        let target = rng.pick(&Target::ALL);
        if verify_kernel(&k, target).is_ok() {
            verified += 1;
        }
        // Inputs of the declared shapes when they are small enough to build.
        let inputs: Option<Vec<Tensor>> = k
            .inputs
            .iter()
            .map(|t| {
                let n = t.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).filter(|&n| n <= 1 << 16)?;
                Some(Tensor::from_f64(t.dtype, t.shape.clone(), &vec![1.0; n]))
            })
            .collect();
        if simulate(&k, target, &inputs.unwrap_or_default()).is_ok() {
            accepted += 1;
        }
    }
    // Most are malformed; the verified ones run (and most of those stop at
    // a run-time rule or an unwritten output), which fuzzes execution too.
    assert!(verified > 200 && accepted > 20, "only {verified} verified and {accepted} ran to the end");
}
