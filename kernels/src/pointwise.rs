//! Which instructions implement each elementwise graph op (op.rs has the
//! exact semantics; ops.rs the instruction sequences).
//!
//! Choices, and why:
//! - exp, log, tanh, sigmoid, erf, gelu (both), silu, sqrt, rsqrt, relu,
//!   square: one ScalarE activation each (nki-api.md §6). Log, sqrt and
//!   rsqrt are valid on [2^-64, 2^64], [2^-116, 2^118] and [2^-87, 2^97].
//! - reciprocal and division: VectorE reciprocal, the precise one
//!   (trainium.md §1.4; ScalarE's is a polynomial), then a multiply: NKI
//!   has no divide. Division by a constant multiplies by its inverse.
//! - neg = x · -1; abs and comparisons and logical ops are VectorE ALU ops
//!   with 1/0 results; not(x) = (x == 0).
//! - pow: exponents 0, ±0.5, 1, 2, 3, 4, -1, -2 are exact sequences
//!   (valid for every x); any other exponent is exp(y · log(x)), valid for
//!   x > 0 inside log's range [2^-64, 2^64] (x ≤ 0 gives NaN where numpy may
//!   give a real number).
//! - sin, cos: range-reduced to [-π, π] (see `Ops::angle`), cos(x) =
//!   sin(x + π/2).
//! - where: an exact select built from min/max (see `Ops::select_into`).
//! - cast: a copy into a tile of the target dtype (rounds on write);
//!   fp8 with saturate clamps first; to bool is x != 0; float to i32
//!   truncates toward zero (see `cast_to_int`).
//! - clip: max then min with immediates; leaky_relu: max(x, αx) for
//!   0 ≤ α ≤ 1, else max(x, 0) + α·min(x, 0).
//!
//! Integer tensors (i32) compute on the same fp32 engines: add, sub, mul,
//! max, min, neg, abs, relu, square and comparisons are exact while the
//! values stay below 2^24 in magnitude, and so is pow by a constant 0 to 4
//! (multiplies). Integer division and other integer powers are not lowered:
//! the engines have no integer divide, and their power is fp32.

use crate::ops::{Ops, Val};
use trnc_ir::kernel::{ActFunc, AluOp, ScalarOperand, TileAccess};
use trnc_ir::{BinaryOp, DType, Op, UnaryOp};

/// Emits one elementwise op. `dtypes` are the operands' dtypes, `out` the
/// result's; `dst` is the result region.
pub(crate) fn emit(
    ops: &mut Ops,
    op: &Op,
    x: &[Val],
    dtypes: &[DType],
    out: DType,
    dst: &TileAccess,
) -> Result<(), String> {
    let arg = |i: usize| x.get(i).cloned().ok_or_else(|| format!("{} is missing operand {i}", op.name()));
    let int = dtypes.first().is_some_and(|d| !d.is_float() && *d != DType::Bool);
    match op {
        Op::Unary(u) => unary(ops, *u, &arg(0)?, int, dst),
        Op::LeakyRelu { alpha } => {
            let a = arg(0)?;
            if (0.0..=1.0).contains(alpha) {
                let t = ops.alu(AluOp::Multiply, &a, &Val::Imm(*alpha))?;
                ops.alu_into(dst, AluOp::Maximum, &a, &t)
            } else {
                let neg = ops.ts2(&a, AluOp::Minimum, 0.0, false, Some((AluOp::Multiply, *alpha)))?;
                let pos = ops.alu(AluOp::Maximum, &a, &Val::Imm(0.0))?;
                ops.alu_into(dst, AluOp::Add, &pos, &neg)
            }
        }
        Op::Binary(bop) => binary(ops, *bop, &arg(0)?, &arg(1)?, int, dst),
        Op::Where => ops.select_into(dst, &arg(0)?, &arg(1)?, &arg(2)?),
        Op::Cast { to, saturate } => {
            cast(ops, &arg(0)?, dtypes.first().copied().unwrap_or(DType::F32), *to, *saturate, dst)
        }
        Op::Clip { min, max } => clip(ops, &arg(0)?, *min, *max, int, out, dst),
        // A view that is a kernel node copies its (re-addressed) operand.
        op if op.is_view() => ops.copy_into(dst, &arg(0)?),
        other => Err(format!("{} is not an elementwise op", other.name())),
    }
}

fn unary(ops: &mut Ops, u: UnaryOp, a: &Val, int: bool, dst: &TileAccess) -> Result<(), String> {
    let one = ScalarOperand::Imm(1.0);
    let act = |ops: &mut Ops, f: ActFunc| ops.act_into(dst, f, a, ScalarOperand::Imm(1.0));
    if int && !matches!(u, UnaryOp::Neg | UnaryOp::Abs | UnaryOp::Relu | UnaryOp::Square) {
        return Err(format!("{} is not defined on integers", u.name()));
    }
    match u {
        UnaryOp::Neg => ops.alu_into(dst, AluOp::Multiply, a, &Val::Imm(-1.0)),
        UnaryOp::Abs => ops.unary_into(dst, AluOp::Abs, a),
        UnaryOp::Relu if int => ops.alu_into(dst, AluOp::Maximum, a, &Val::Imm(0.0)),
        UnaryOp::Square if int => ops.alu_into(dst, AluOp::Multiply, a, a),
        UnaryOp::Exp => act(ops, ActFunc::Exp),
        UnaryOp::Log => act(ops, ActFunc::Log),
        UnaryOp::Sqrt => act(ops, ActFunc::Sqrt),
        UnaryOp::Rsqrt => act(ops, ActFunc::Rsqrt),
        UnaryOp::Reciprocal => ops.unary_into(dst, AluOp::Reciprocal, a),
        UnaryOp::Tanh => act(ops, ActFunc::Tanh),
        UnaryOp::Sigmoid => act(ops, ActFunc::Sigmoid),
        UnaryOp::Erf => act(ops, ActFunc::Erf),
        UnaryOp::Relu => act(ops, ActFunc::Relu),
        UnaryOp::Gelu => act(ops, ActFunc::Gelu),
        UnaryOp::GeluTanh => act(ops, ActFunc::GeluTanh),
        UnaryOp::Silu => act(ops, ActFunc::Silu),
        UnaryOp::Square => act(ops, ActFunc::Square),
        UnaryOp::Sin | UnaryOp::Cos => {
            let shift = if u == UnaryOp::Cos { std::f64::consts::FRAC_PI_2 } else { 0.0 };
            let r = ops.angle(a, shift)?;
            ops.act_into(dst, ActFunc::Sin, &r, one)
        }
        UnaryOp::Not => ops.alu_into(dst, AluOp::Equal, a, &Val::Imm(0.0)),
    }
}

fn binary(ops: &mut Ops, op: BinaryOp, a: &Val, b: &Val, int: bool, dst: &TileAccess) -> Result<(), String> {
    let alu = match op {
        BinaryOp::Add => AluOp::Add,
        BinaryOp::Sub => AluOp::Subtract,
        BinaryOp::Mul => AluOp::Multiply,
        BinaryOp::Max => AluOp::Maximum,
        BinaryOp::Min => AluOp::Minimum,
        BinaryOp::Eq => AluOp::Equal,
        BinaryOp::Lt => AluOp::Less,
        BinaryOp::Le => AluOp::LessEqual,
        BinaryOp::Gt => AluOp::Greater,
        BinaryOp::Ge => AluOp::GreaterEqual,
        BinaryOp::And => AluOp::LogicalAnd,
        BinaryOp::Or => AluOp::LogicalOr,
        BinaryOp::Div if int => {
            return Err("integer division truncates toward zero; the engines have no integer divide".into())
        }
        // Small constant exponents are multiplies, exact like `mul`.
        BinaryOp::Pow if int && !matches!(b, Val::Imm(e) if [0.0, 1.0, 2.0, 3.0, 4.0].contains(e)) => {
            return Err(
                "integer pow lowers for constant exponents 0 to 4 only; the engines' power is fp32, not exact".into()
            )
        }
        BinaryOp::Div => return divide(ops, a, b, dst),
        BinaryOp::Pow => return power(ops, a, b, dst),
    };
    ops.alu_into(dst, alu, a, b)
}

fn divide(ops: &mut Ops, a: &Val, b: &Val, dst: &TileAccess) -> Result<(), String> {
    if let Val::Imm(c) = b {
        // 1/0 = inf keeps x/0 = ±inf and 0/0 = NaN.
        return ops.alu_into(dst, AluOp::Multiply, a, &Val::Imm(1.0 / c));
    }
    let r = ops.unary(AluOp::Reciprocal, b)?;
    ops.alu_into(dst, AluOp::Multiply, a, &r)
}

fn power(ops: &mut Ops, a: &Val, b: &Val, dst: &TileAccess) -> Result<(), String> {
    let one = || ScalarOperand::Imm(1.0);
    if let Val::Imm(e) = b {
        let e = *e;
        if e == 0.0 {
            return ops.copy_into(dst, &Val::Imm(1.0));
        }
        if e == 1.0 {
            return ops.copy_into(dst, a);
        }
        if e == 2.0 {
            return ops.alu_into(dst, AluOp::Multiply, a, a);
        }
        if e == 3.0 {
            let sq = ops.alu(AluOp::Multiply, a, a)?;
            return ops.alu_into(dst, AluOp::Multiply, &sq, a);
        }
        if e == 4.0 {
            let sq = ops.alu(AluOp::Multiply, a, a)?;
            return ops.alu_into(dst, AluOp::Multiply, &sq, &sq);
        }
        if e == 0.5 {
            return ops.act_into(dst, ActFunc::Sqrt, a, one());
        }
        if e == -0.5 {
            return ops.act_into(dst, ActFunc::Rsqrt, a, one());
        }
        if e == -1.0 {
            return ops.unary_into(dst, AluOp::Reciprocal, a);
        }
        if e == -2.0 {
            let sq = ops.alu(AluOp::Multiply, a, a)?;
            return ops.unary_into(dst, AluOp::Reciprocal, &sq);
        }
        // exp(e · log x): the activation's scale applies e for free.
        let l = ops.act(ActFunc::Log, a, one())?;
        return ops.act_into(dst, ActFunc::Exp, &l, ScalarOperand::Imm(e));
    }
    let l = ops.act(ActFunc::Log, a, one())?;
    let t = ops.alu(AluOp::Multiply, &l, b)?;
    ops.act_into(dst, ActFunc::Exp, &t, one())
}

fn cast(ops: &mut Ops, a: &Val, from: DType, to: DType, saturate: bool, dst: &TileAccess) -> Result<(), String> {
    match to {
        DType::Bool => ops.alu_into(dst, AluOp::NotEqual, a, &Val::Imm(0.0)),
        DType::I64 => Err("i64 has no NKI dtype (nki-api.md §2)".into()),
        DType::I32 if from.is_float() => cast_to_int(ops, a, dst),
        DType::F8E4M3 | DType::F8E5M2 if saturate && from.is_float() => {
            // ONNX Cast(saturate=1): clamp to the finite range, keeping
            // infinities in formats that have them (e5m2).
            let m = to.max_value();
            let clamped = ops.ts2(a, AluOp::Maximum, -m, false, Some((AluOp::Minimum, m)))?;
            if to == DType::F8E5M2 {
                let mag = ops.unary(AluOp::Abs, a)?;
                let is_inf = ops.alu(AluOp::Equal, &mag, &Val::Imm(f64::INFINITY))?;
                ops.select_into(dst, &is_inf, a, &clamped)
            } else {
                ops.copy_into(dst, &clamped)
            }
        }
        _ => ops.copy_into(dst, a),
    }
}

/// Float → i32, truncating toward zero like the reference. The engine's
/// float → int conversion rounds (to nearest even on NKI 0.6, nki-api.md
/// §1), so the rounded value r is corrected by one where rounding went
/// away from zero: trunc = r - [r > x ∧ x > 0] + [r < x ∧ x < 0]. Correct
/// whichever rounding the conversion uses; NaN gives what the conversion
/// gives for NaN.
fn cast_to_int(ops: &mut Ops, a: &Val, dst: &TileAccess) -> Result<(), String> {
    if let Val::Imm(v) = a {
        return ops.copy_into(dst, &Val::Imm(v.trunc()));
    }
    let rounded = ops.convert(a, DType::I32)?;
    let r = ops.convert(&rounded, DType::F32)?;
    let up = ops.alu(AluOp::Greater, &r, a)?;
    let pos = ops.alu(AluOp::Greater, a, &Val::Imm(0.0))?;
    let fix_down = ops.alu(AluOp::Multiply, &up, &pos)?;
    let low = ops.alu(AluOp::Less, &r, a)?;
    let neg = ops.alu(AluOp::Less, a, &Val::Imm(0.0))?;
    let fix_up = ops.alu(AluOp::Multiply, &low, &neg)?;
    let r1 = ops.alu(AluOp::Subtract, &r, &fix_down)?;
    ops.alu_into(dst, AluOp::Add, &r1, &fix_up)
}

fn clip(
    ops: &mut Ops,
    a: &Val,
    min: Option<f64>,
    max: Option<f64>,
    int: bool,
    out: DType,
    dst: &TileAccess,
) -> Result<(), String> {
    let (mut lo, mut hi) = (min, max);
    if int {
        // An integer is >= a real bound exactly when it is >= its ceiling.
        lo = lo.map(|v| v.ceil().clamp(out.min_value(), out.max_value()));
        hi = hi.map(|v| v.floor().clamp(out.min_value(), out.max_value()));
    }
    match (lo, hi) {
        (Some(l), Some(h)) if l > h => Err(format!("clip with min {l} > max {h} is not lowered")),
        (Some(l), Some(h)) => ops.ts2_into(dst, a, AluOp::Maximum, l, Some((AluOp::Minimum, h))),
        (Some(l), None) => ops.ts2_into(dst, a, AluOp::Maximum, l, None),
        (None, Some(h)) => ops.ts2_into(dst, a, AluOp::Minimum, h, None),
        (None, None) => ops.copy_into(dst, a),
    }
}
