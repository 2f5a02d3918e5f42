//! Elementwise ops. Operands are broadcast to the output shape by index
//! mapping; integer tensors compute exactly in i64 (wrapping), everything
//! else in f64 rounded once to the output dtype.

use crate::index::{self, take};
use crate::math;
use crate::values::{bool_tensor, i64_to_f64_odd, int_tensor, real_tensor, values, Values};
use trnc_ir::{BinaryOp, DType, Tensor, UnaryOp};

pub fn unary(op: UnaryOp, x: &Tensor) -> Result<Tensor, String> {
    let (dtype, shape) = (x.dtype(), x.shape());
    match values(x) {
        Values::Int(v) => {
            let f: fn(i64) -> i64 = match op {
                UnaryOp::Neg => i64::wrapping_neg,
                UnaryOp::Abs => i64::wrapping_abs,
                UnaryOp::Relu => |a| a.max(0),
                UnaryOp::Square => |a| a.wrapping_mul(a),
                _ => return Err(format!("{} is not defined on {dtype}", op.name())),
            };
            int_tensor(dtype, shape, v.into_iter().map(f).collect())
        }
        Values::Real(v) => {
            let f: fn(f64) -> f64 = match op {
                UnaryOp::Neg => |a| -a,
                UnaryOp::Abs => f64::abs,
                UnaryOp::Exp => f64::exp,
                UnaryOp::Log => f64::ln,
                UnaryOp::Sqrt => f64::sqrt,
                UnaryOp::Rsqrt => |a| 1.0 / a.sqrt(),
                UnaryOp::Reciprocal => |a| 1.0 / a,
                UnaryOp::Tanh => f64::tanh,
                UnaryOp::Sigmoid => math::sigmoid,
                UnaryOp::Erf => math::erf,
                UnaryOp::Relu => |a| math::max_nan(a, 0.0),
                UnaryOp::Gelu => math::gelu,
                UnaryOp::GeluTanh => math::gelu_tanh,
                UnaryOp::Silu => |a| a * math::sigmoid(a),
                UnaryOp::Sin => f64::sin,
                UnaryOp::Cos => f64::cos,
                UnaryOp::Square => |a| a * a,
                UnaryOp::Not => |a| f64::from(u8::from(a == 0.0)),
            };
            let out: Vec<f64> = v.into_iter().map(f).collect();
            Ok(real_tensor(dtype, shape, &out))
        }
    }
}

pub fn leaky_relu(alpha: f64, x: &Tensor) -> Result<Tensor, String> {
    let Values::Real(v) = values(x) else {
        return Err(format!("leaky_relu needs a float tensor, got {}", x.dtype()));
    };
    let out: Vec<f64> = v.into_iter().map(|a| if a >= 0.0 { a } else { alpha * a }).collect();
    Ok(real_tensor(x.dtype(), x.shape(), &out))
}

/// `out_dtype` and `out_shape` come from the node's (verified) type.
pub fn binary(op: BinaryOp, a: &Tensor, b: &Tensor, out_dtype: DType, out_shape: &[usize]) -> Result<Tensor, String> {
    let ia = index::broadcast(a.shape(), out_shape);
    let ib = index::broadcast(b.shape(), out_shape);
    let pairs = ia.iter().zip(&ib);
    match (values(a), values(b)) {
        (Values::Int(x), Values::Int(y)) => {
            if op.is_comparison() {
                let out = pairs.map(|(&i, &j)| compare(op, x[i].cmp(&y[j]))).collect();
                return bool_tensor(out_shape, out);
            }
            let out = pairs.map(|(&i, &j)| int_binary(op, x[i], y[j])).collect::<Result<_, _>>()?;
            int_tensor(out_dtype, out_shape, out)
        }
        (Values::Real(x), Values::Real(y)) => {
            let out: Vec<f64> = pairs.map(|(&i, &j)| real_binary(op, x[i], y[j])).collect();
            Ok(real_tensor(out_dtype, out_shape, &out))
        }
        _ => Err(format!("operand dtypes differ: {} and {}", a.dtype(), b.dtype())),
    }
}

fn compare(op: BinaryOp, ord: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        BinaryOp::Eq => ord == Equal,
        BinaryOp::Lt => ord == Less,
        BinaryOp::Le => ord != Greater,
        BinaryOp::Gt => ord == Greater,
        _ => ord != Less, // Ge
    }
}

fn int_binary(op: BinaryOp, x: i64, y: i64) -> Result<i64, String> {
    Ok(match op {
        BinaryOp::Add => x.wrapping_add(y),
        BinaryOp::Sub => x.wrapping_sub(y),
        BinaryOp::Mul => x.wrapping_mul(y),
        BinaryOp::Div if y == 0 => return Err(format!("integer division by zero ({x} / 0)")),
        // Rust's integer division truncates toward zero, as the op says.
        BinaryOp::Div => x.wrapping_div(y),
        BinaryOp::Max => x.max(y),
        BinaryOp::Min => x.min(y),
        BinaryOp::Pow => int_pow(x, y)?,
        _ => return Err(format!("{} is not defined on integers", op.name())),
    })
}

/// x^y on integers: exact, wrapping like repeated `mul`. A negative
/// exponent gives the real power truncated toward zero (1 for base 1,
/// +-1 for base -1, 0 otherwise); 0 to a negative power is an error, like
/// integer division by zero.
fn int_pow(x: i64, y: i64) -> Result<i64, String> {
    if y < 0 {
        return match x {
            0 => Err(format!("integer 0 to the negative power {y}")),
            1 => Ok(1),
            -1 => Ok(if y % 2 == 0 { 1 } else { -1 }),
            _ => Ok(0),
        };
    }
    let (mut base, mut exp, mut acc) = (x, y as u64, 1i64);
    while exp > 0 {
        if exp & 1 == 1 {
            acc = acc.wrapping_mul(base);
        }
        base = base.wrapping_mul(base);
        exp >>= 1;
    }
    Ok(acc)
}

fn real_binary(op: BinaryOp, x: f64, y: f64) -> f64 {
    let truth = |c: bool| f64::from(u8::from(c));
    match op {
        BinaryOp::Add => x + y,
        BinaryOp::Sub => x - y,
        BinaryOp::Mul => x * y,
        BinaryOp::Div => x / y,
        BinaryOp::Pow => x.powf(y),
        BinaryOp::Max => math::max_nan(x, y),
        BinaryOp::Min => math::min_nan(x, y),
        BinaryOp::Eq => truth(x == y),
        BinaryOp::Lt => truth(x < y),
        BinaryOp::Le => truth(x <= y),
        BinaryOp::Gt => truth(x > y),
        BinaryOp::Ge => truth(x >= y),
        BinaryOp::And => truth(x != 0.0 && y != 0.0),
        BinaryOp::Or => truth(x != 0.0 || y != 0.0),
    }
}

/// Picks elements of `a` or `b` by copying, so values pass through
/// untouched: the two branches are laid end to end and indexed as one.
pub fn select(cond: &Tensor, a: &Tensor, b: &Tensor, out_shape: &[usize]) -> Result<Tensor, String> {
    let c = cond.to_f64_vec();
    let ic = index::broadcast(cond.shape(), out_shape);
    let ia = index::broadcast(a.shape(), out_shape);
    let ib = index::broadcast(b.shape(), out_shape);
    let both = index::concat(&[a.data(), b.data()]).ok_or("where: branch dtypes differ")?;
    let picks: Vec<usize> = (0..ic.len()).map(|k| if c[ic[k]] != 0.0 { ia[k] } else { a.len() + ib[k] }).collect();
    Tensor::new(a.dtype(), out_shape.to_vec(), take(&both, &picks)).map_err(|e| e.0)
}

pub fn cast(x: &Tensor, to: DType, saturate: bool) -> Result<Tensor, String> {
    let shape = x.shape();
    let round = |v: f64| if saturate { to.round_saturating(v) } else { to.round(v) };
    match values(x) {
        Values::Int(v) => match to {
            // Narrowing integer casts wrap (two's complement), as numpy's
            // astype and ONNX Runtime's Cast do.
            DType::I64 => int_tensor(to, shape, v),
            DType::I32 => int_tensor(to, shape, v.into_iter().map(|a| i64::from(a as i32)).collect()),
            DType::Bool => bool_tensor(shape, v.into_iter().map(|a| a != 0).collect()),
            _ => {
                let out: Vec<f64> = v.into_iter().map(|a| round(i64_to_f64_odd(a))).collect();
                Ok(real_tensor(to, shape, &out))
            }
        },
        Values::Real(v) => {
            // Float and bool sources: `round` gives NaN → 0 and truncation
            // toward zero for integer targets, x != 0 for bool.
            let out: Vec<f64> = v.into_iter().map(round).collect();
            Ok(real_tensor(to, shape, &out))
        }
    }
}

pub fn clip(x: &Tensor, min: Option<f64>, max: Option<f64>) -> Result<Tensor, String> {
    let (dtype, shape) = (x.dtype(), x.shape());
    match values(x) {
        Values::Int(v) => {
            // An integer is >= a real bound exactly when it is >= the bound's
            // ceiling, so the clamp can stay in integers (bounds saturated to
            // the dtype's range). A NaN bound clamps nothing, as for floats.
            let bound = |b: Option<f64>, round: fn(f64) -> f64, none: f64| {
                let b = b.filter(|b| !b.is_nan()).map_or(none, round);
                b.clamp(dtype.min_value(), dtype.max_value()) as i64
            };
            let lo = bound(min, f64::ceil, dtype.min_value());
            let hi = bound(max, f64::floor, dtype.max_value());
            int_tensor(dtype, shape, v.into_iter().map(|a| a.max(lo).min(hi)).collect())
        }
        Values::Real(v) => {
            let out: Vec<f64> = v
                .into_iter()
                .map(|a| match (min, max) {
                    (Some(lo), _) if a < lo => lo,
                    (_, Some(hi)) if a > hi => hi,
                    _ => a,
                })
                .collect();
            Ok(real_tensor(dtype, shape, &out))
        }
    }
}
