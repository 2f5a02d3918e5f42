//! What each ALU operator and activation function computes (nki-api.md §6),
//! on f64 values that the callers take from and round back to fp32.

use trnc_ir::kernel::{ActFunc, AluOp};

use crate::math;

fn truth(b: bool) -> f64 {
    f64::from(u8::from(b))
}

/// `a op b`. Unary ops (abs, rsqrt, reciprocal) ignore `b`; comparisons and
/// logical ops give 1 or 0 (nki-api.md §6).
pub fn alu(op: AluOp, a: f64, b: f64) -> f64 {
    match op {
        AluOp::Add => a + b,
        AluOp::Subtract => a - b,
        AluOp::Multiply => a * b,
        AluOp::Maximum => math::max_nan(a, b),
        AluOp::Minimum => math::min_nan(a, b),
        AluOp::Equal => truth(a == b),
        AluOp::NotEqual => truth(a != b),
        AluOp::Greater => truth(a > b),
        AluOp::GreaterEqual => truth(a >= b),
        AluOp::Less => truth(a < b),
        AluOp::LessEqual => truth(a <= b),
        AluOp::LogicalAnd => truth(a != 0.0 && b != 0.0),
        AluOp::LogicalOr => truth(a != 0.0 || b != 0.0),
        AluOp::Power => a.powf(b),
        AluOp::Abs => a.abs(),
        AluOp::Rsqrt => 1.0 / a.sqrt(),
        AluOp::Reciprocal => 1.0 / a,
    }
}

/// The activation function, with the graph reference's semantics (erf GELU,
/// tanh GELU, x·sigmoid(x) for SiLU).
pub fn activate(func: ActFunc, x: f64) -> f64 {
    match func {
        ActFunc::Copy => x,
        ActFunc::Exp => x.exp(),
        ActFunc::Log => x.ln(),
        ActFunc::Tanh => x.tanh(),
        ActFunc::Sigmoid => math::sigmoid(x),
        ActFunc::Relu => {
            if x.is_nan() || x > 0.0 {
                x
            } else {
                0.0
            }
        }
        ActFunc::Gelu => math::gelu(x),
        ActFunc::GeluTanh => math::gelu_tanh(x),
        ActFunc::Silu => x * math::sigmoid(x),
        ActFunc::Erf => math::erf(x),
        ActFunc::Sqrt => x.sqrt(),
        ActFunc::Rsqrt => 1.0 / x.sqrt(),
        ActFunc::Reciprocal => 1.0 / x,
        ActFunc::Square => x * x,
        ActFunc::Abs => x.abs(),
        ActFunc::Sin => x.sin(),
    }
}
