//! Elementwise graph ops as engine instructions.
//!
//! Engines compute in fp32 and round to the destination's dtype when they
//! write (trainium.md §1.4), so every op writes its result tile once, with
//! the last instruction of its sequence; intermediate results go to fp32
//! scratch tiles. That rule also makes it safe for the destination to be
//! the tile of an operand read for the last time.
//!
//! Operands are tiles the size of the destination, per-partition columns
//! `(P, 1)` broadcast along the free axis (values that are constant along a
//! row), or immediates (one-element constants).

use crate::builder::{region, Builder};
use trnc_ir::kernel::{ActFunc, AluOp, Engine, Inst, Memory, ScalarOperand, TileAccess, TileId};
use trnc_ir::DType;

/// An operand of an instruction sequence.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Val {
    /// A region shaped like the destination.
    Tile(TileAccess),
    /// A `(P, 1)` region, the same value across the free axis.
    Col(TileAccess),
    Imm(f64),
}

/// The largest finite f32: doubled, it rounds to +inf when written to an
/// f32 tile (IEEE round-to-nearest overflow), which is how `where` builds
/// its {0, inf} bounds without ever multiplying 0 by inf.
const F32_MAX: f64 = f32::MAX as f64;
/// The f32 just below π: activation `sin` is valid on [-π, π] only
/// (nki-api.md §6), and fp32 π rounds above π.
const PI_BELOW: f64 = 3.141_592_502_593_994;
/// 1.5 · 2^23: adding it to |q| < 2^22 in fp32 rounds q to an integer.
const ROUND_MAGIC: f64 = 12_582_912.0;
/// 2π = TWO_PI_HI + TWO_PI_LO, the high part with 8 significant bits so
/// that k · TWO_PI_HI is exact in fp32 for |k| < 2^16 (Cody–Waite).
const TWO_PI_HI: f64 = 6.281_25;
const TWO_PI_LO: f64 = std::f64::consts::TAU - TWO_PI_HI;

/// Emits the instructions of one op. `dst` is the op's result region;
/// scratch tiles come from the builder's pool and go back when the op is
/// done.
pub(crate) struct Ops<'b> {
    pub b: &'b mut Builder,
    /// Declared shape of full-width scratch tiles, and of column tiles.
    full_shape: Vec<usize>,
    col_shape: Vec<usize>,
    /// Region size of the current tile: partitions and free elements.
    parts: usize,
    width: usize,
    scratch: Vec<TileId>,
}

impl<'b> Ops<'b> {
    pub fn new(b: &'b mut Builder, full_shape: &[usize], col_shape: &[usize], parts: usize, width: usize) -> Ops<'b> {
        Ops { b, full_shape: full_shape.to_vec(), col_shape: col_shape.to_vec(), parts, width, scratch: Vec::new() }
    }

    /// Gives the scratch tiles back to the pool.
    pub fn done(self) {
        for t in self.scratch {
            self.b.release(t);
        }
    }

    fn new_tile(&mut self) -> TileAccess {
        let shape = self.full_shape.clone();
        let t = self.b.acquire(Memory::Sbuf, DType::F32, &shape);
        self.scratch.push(t);
        region(t, self.parts, self.width)
    }

    fn new_col(&mut self) -> TileAccess {
        let shape = self.col_shape.clone();
        let t = self.b.acquire(Memory::Sbuf, DType::F32, &shape);
        self.scratch.push(t);
        region(t, self.parts, 1)
    }

    /// Columns are tiles when the destination is itself one column wide.
    fn norm(&self, v: &Val) -> Val {
        match v {
            Val::Col(c) if self.width == 1 => Val::Tile(c.clone()),
            other => other.clone(),
        }
    }

    /// A scratch region shaped like the result of combining `x` and `y`.
    fn result_like(&mut self, x: &Val, y: &Val) -> Result<(TileAccess, bool), String> {
        match (self.norm(x), self.norm(y)) {
            (Val::Tile(_), _) | (_, Val::Tile(_)) => Ok((self.new_tile(), false)),
            (Val::Imm(_), Val::Imm(_)) => Err("both operands are constants; fold constants before lowering".into()),
            _ => Ok((self.new_col(), true)),
        }
    }

    fn wrap(t: TileAccess, col: bool) -> Val {
        if col {
            Val::Col(t)
        } else {
            Val::Tile(t)
        }
    }

    fn scalar(v: &Val) -> ScalarOperand {
        match v {
            Val::Imm(x) => ScalarOperand::Imm(*x),
            Val::Col(c) | Val::Tile(c) => ScalarOperand::PerPartition(c.clone()),
        }
    }

    /// `x op y` into a new scratch value.
    pub fn alu(&mut self, op: AluOp, x: &Val, y: &Val) -> Result<Val, String> {
        let (dst, col) = self.result_like(x, y)?;
        self.alu_to(&dst, col, op, x, y)?;
        Ok(Self::wrap(dst, col))
    }

    /// `x op y` into `dst` (the op's result).
    pub fn alu_into(&mut self, dst: &TileAccess, op: AluOp, x: &Val, y: &Val) -> Result<(), String> {
        self.alu_to(dst, self.width == 1, op, x, y)
    }

    /// `dst_is_col`: the destination is a column (then columns are tiles).
    fn alu_to(&mut self, dst: &TileAccess, dst_is_col: bool, op: AluOp, x: &Val, y: &Val) -> Result<(), String> {
        let (x, y) = if dst_is_col { (col_as_tile(x), col_as_tile(y)) } else { (self.norm(x), self.norm(y)) };
        match (&x, &y) {
            (Val::Tile(a), Val::Tile(b)) => {
                self.b.emit(Inst::TensorTensor { dst: dst.clone(), a: a.clone(), b: b.clone(), op });
            }
            (Val::Tile(a), s) => self.ts(dst, a, op, Self::scalar(s), false, None),
            (s, Val::Tile(a)) => self.ts(dst, a, op, Self::scalar(s), true, None),
            (Val::Imm(_), Val::Imm(_)) => {
                return Err("both operands are constants; fold constants before lowering".into())
            }
            _ => {
                // Two columns into a full-width result: combine the columns,
                // then spread the result along the free axis.
                let c = self.new_col();
                self.alu_to(&c, true, op, &x, &y)?;
                self.broadcast_into(dst, &c);
            }
        }
        Ok(())
    }

    fn ts(
        &mut self,
        dst: &TileAccess,
        src: &TileAccess,
        op0: AluOp,
        operand0: ScalarOperand,
        reverse0: bool,
        op1: Option<(AluOp, ScalarOperand, bool)>,
    ) {
        self.b.emit(Inst::TensorScalar {
            dst: dst.clone(),
            src: src.clone(),
            op0,
            operand0,
            reverse0,
            op1,
            engine: Engine::Vector,
        });
    }

    /// `(x op0 a) op1 b` with immediates, into a new scratch value shaped like `x`.
    pub fn ts2(
        &mut self,
        x: &Val,
        op0: AluOp,
        a: f64,
        reverse0: bool,
        op1: Option<(AluOp, f64)>,
    ) -> Result<Val, String> {
        let (src, col) = self.operand_region(x)?;
        let dst = if col { self.new_col() } else { self.new_tile() };
        self.ts(
            &dst,
            &src,
            op0,
            ScalarOperand::Imm(a),
            reverse0,
            op1.map(|(op, v)| (op, ScalarOperand::Imm(v), false)),
        );
        Ok(Self::wrap(dst, col))
    }

    /// The region of a tile or column operand (immediates are materialised).
    fn operand_region(&mut self, x: &Val) -> Result<(TileAccess, bool), String> {
        Ok(match self.norm(x) {
            Val::Tile(t) => (t, false),
            Val::Col(c) => (c, true),
            Val::Imm(_) => (self.as_tile(x), false),
        })
    }

    /// `(x op0 a) op1 b` with immediates, into `dst`.
    pub fn ts2_into(
        &mut self,
        dst: &TileAccess,
        x: &Val,
        op0: AluOp,
        a: f64,
        op1: Option<(AluOp, f64)>,
    ) -> Result<(), String> {
        match self.norm(x) {
            Val::Tile(src) => {
                self.ts(
                    dst,
                    &src,
                    op0,
                    ScalarOperand::Imm(a),
                    false,
                    op1.map(|(op, v)| (op, ScalarOperand::Imm(v), false)),
                );
                Ok(())
            }
            _ => {
                let v = self.ts2(x, op0, a, false, op1)?;
                self.copy_into(dst, &v)
            }
        }
    }

    /// A unary ALU op (abs, reciprocal) into a new scratch value.
    pub fn unary(&mut self, op: AluOp, x: &Val) -> Result<Val, String> {
        self.ts2(x, op, 0.0, false, None)
    }

    pub fn unary_into(&mut self, dst: &TileAccess, op: AluOp, x: &Val) -> Result<(), String> {
        self.ts2_into(dst, x, op, 0.0, None)
    }

    /// `x` copied into a scratch tile of `dtype` (a conversion, rounding as
    /// the engine does on write).
    pub fn convert(&mut self, x: &Val, dtype: DType) -> Result<Val, String> {
        let (src, col) = self.operand_region(x)?;
        let shape = if col { self.col_shape.clone() } else { self.full_shape.clone() };
        let t = self.b.acquire(Memory::Sbuf, dtype, &shape);
        self.scratch.push(t);
        let dst = region(t, self.parts, if col { 1 } else { self.width });
        self.b.emit(Inst::TensorCopy { dst: dst.clone(), src, engine: Engine::Vector });
        Ok(Self::wrap(dst, col))
    }

    /// `func(x * scale)` on ScalarE into a new scratch value.
    pub fn act(&mut self, func: ActFunc, x: &Val, scale: ScalarOperand) -> Result<Val, String> {
        let (src, col) = self.operand_region(x)?;
        let dst = if col { self.new_col() } else { self.new_tile() };
        self.b.emit(Inst::Activation { dst: dst.clone(), src, func, scale, bias: None, reduce: None });
        Ok(Self::wrap(dst, col))
    }

    pub fn act_into(&mut self, dst: &TileAccess, func: ActFunc, x: &Val, scale: ScalarOperand) -> Result<(), String> {
        match self.norm(x) {
            Val::Tile(src) => {
                self.b.emit(Inst::Activation { dst: dst.clone(), src, func, scale, bias: None, reduce: None });
                Ok(())
            }
            _ => {
                let v = self.act(func, x, scale)?;
                self.copy_into(dst, &v)
            }
        }
    }

    /// A full-width f32 scratch region.
    pub fn scratch_tile(&mut self) -> TileAccess {
        self.new_tile()
    }

    /// `func(x + bias)` with a per-partition bias, into `dst` when
    /// `into_dst` (else into scratch); returns the region written.
    pub fn act_biased(
        &mut self,
        func: ActFunc,
        x: &TileAccess,
        bias: &TileAccess,
        into_dst: bool,
        dst: &TileAccess,
    ) -> TileAccess {
        let out = if into_dst { dst.clone() } else { self.new_tile() };
        self.b.emit(Inst::Activation {
            dst: out.clone(),
            src: x.clone(),
            func,
            scale: ScalarOperand::Imm(1.0),
            bias: Some(bias.clone()),
            reduce: None,
        });
        out
    }

    /// A full-width tile holding `x` (columns and immediates are spread).
    pub fn as_tile(&mut self, x: &Val) -> TileAccess {
        match self.norm(x) {
            Val::Tile(t) => t,
            Val::Col(c) => {
                let t = self.new_tile();
                self.broadcast_into(&t, &c);
                t
            }
            Val::Imm(v) => {
                let t = self.new_tile();
                self.b.emit(Inst::Memset { dst: t.clone(), value: v });
                t
            }
        }
    }

    /// `dst[p, :] = col[p]`: 0 + x is exact for every x, inf and NaN included.
    fn broadcast_into(&mut self, dst: &TileAccess, col: &TileAccess) {
        let zero = self.new_tile();
        self.b.emit(Inst::Memset { dst: zero.clone(), value: 0.0 });
        self.ts(dst, &zero, AluOp::Add, ScalarOperand::PerPartition(col.clone()), false, None);
    }

    /// Copies (and converts to dst's dtype) `x` into `dst`.
    pub fn copy_into(&mut self, dst: &TileAccess, x: &Val) -> Result<(), String> {
        match self.norm(x) {
            Val::Tile(src) => self.b.emit(Inst::TensorCopy { dst: dst.clone(), src, engine: Engine::Vector }),
            Val::Col(c) => self.broadcast_into(dst, &c),
            Val::Imm(v) => self.b.emit(Inst::Memset { dst: dst.clone(), value: v }),
        }
        Ok(())
    }

    /// `where(c, a, b)`, exact for every finite and infinite a and b.
    ///
    /// cond·a + (1 - cond)·b is wrong as soon as the unselected side is
    /// infinite (0·inf = NaN). Instead each side is clamped to a range that
    /// is everything when selected and {0} when not:
    ///   ua = c · MAX · 2      ∈ {0, +inf}  (MAX·2 overflows to +inf in f32)
    ///   a' = max(min(a, ua), -ua)         = a if c else ±0
    ///   ub = (1 - c) · MAX · 2, b' likewise
    ///   where = a' + b'                   = a + (±0) or (±0) + b
    /// Adding a zero is exact. The remaining difference from a true select:
    /// a NaN on the unselected side still propagates through max/min, and
    /// the sign of a selected -0 may become +0.
    pub fn select_into(&mut self, dst: &TileAccess, c: &Val, a: &Val, b: &Val) -> Result<(), String> {
        if let Val::Imm(cv) = c {
            return self.copy_into(dst, if *cv != 0.0 { a } else { b });
        }
        let ua_half = self.ts2(c, AluOp::Multiply, F32_MAX, false, None)?;
        let ua = self.ts2(&ua_half, AluOp::Multiply, 2.0, false, None)?;
        let nua = self.ts2(&ua, AluOp::Multiply, -1.0, false, None)?;
        let ub_half = self.ts2(c, AluOp::Subtract, 1.0, true, Some((AluOp::Multiply, F32_MAX)))?;
        let ub = self.ts2(&ub_half, AluOp::Multiply, 2.0, false, None)?;
        let nub = self.ts2(&ub, AluOp::Multiply, -1.0, false, None)?;
        let a1 = self.alu(AluOp::Minimum, a, &ua)?;
        let a2 = self.alu(AluOp::Maximum, &a1, &nua)?;
        let b1 = self.alu(AluOp::Minimum, b, &ub)?;
        let b2 = self.alu(AluOp::Maximum, &b1, &nub)?;
        self.alu_into(dst, AluOp::Add, &a2, &b2)
    }

    /// `x + shift` reduced to [-π, π], the range where activation sin is
    /// valid (nki-api.md §6; the hardware does no range reduction):
    ///   k = round((x + shift) / 2π)   (fp32 magic-number rounding)
    ///   r = (x - k·2π_hi) - k·2π_lo + shift, clamped to ±π (fp32 below π)
    /// Valid for |x| < 2^22·2π; the absolute error grows like |k|·ulp(2π),
    /// below 1e-6 for |x| < 1000.
    pub fn angle(&mut self, x: &Val, shift: f64) -> Result<Val, String> {
        let inv = 1.0 / std::f64::consts::TAU;
        let q = self.ts2(x, AluOp::Multiply, inv, false, Some((AluOp::Add, shift * inv)))?;
        let q = self.ts2(&q, AluOp::Add, ROUND_MAGIC, false, None)?;
        let k = self.ts2(&q, AluOp::Subtract, ROUND_MAGIC, false, None)?;
        let p1 = self.ts2(&k, AluOp::Multiply, TWO_PI_HI, false, None)?;
        let r1 = self.alu(AluOp::Subtract, x, &p1)?;
        let p2 = self.ts2(&k, AluOp::Multiply, TWO_PI_LO, false, None)?;
        let r2 = self.alu(AluOp::Subtract, &r1, &p2)?;
        let r3 = if shift != 0.0 { self.ts2(&r2, AluOp::Add, shift, false, None)? } else { r2 };
        self.ts2(&r3, AluOp::Maximum, -PI_BELOW, false, Some((AluOp::Minimum, PI_BELOW)))
    }
}

fn col_as_tile(v: &Val) -> Val {
    match v {
        Val::Col(c) => Val::Tile(c.clone()),
        other => other.clone(),
    }
}
