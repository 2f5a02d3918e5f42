//! The two number domains the interpreter computes in: exact integers for
//! integer tensors (an i64 above 2^53 has no exact f64), and f64 for
//! everything else, rounded once to the output dtype.

use trnc_ir::{DType, Data, Tensor};

pub enum Values {
    Int(Vec<i64>),
    /// Floats, and bools as 0 or 1.
    Real(Vec<f64>),
}

pub fn values(t: &Tensor) -> Values {
    match t.data() {
        Data::I64(v) => Values::Int(v.clone()),
        Data::I32(v) => Values::Int(v.iter().map(|&x| i64::from(x)).collect()),
        Data::Float(_) | Data::Bool(_) => Values::Real(t.to_f64_vec()),
    }
}

/// An integer tensor from exact results. i32 results wrap, like the
/// i32 arithmetic they stand for (i64 arithmetic wraps mod 2^64 and
/// truncating to 32 bits gives the same result as wrapping in i32).
pub fn int_tensor(dtype: DType, shape: &[usize], v: Vec<i64>) -> Result<Tensor, String> {
    let data = match dtype {
        DType::I64 => Data::I64(v),
        DType::I32 => Data::I32(v.into_iter().map(|x| x as i32).collect()),
        other => return Err(format!("internal: integer results for a {other} tensor")),
    };
    Tensor::new(dtype, shape.to_vec(), data).map_err(|e| e.0)
}

pub fn bool_tensor(shape: &[usize], v: Vec<bool>) -> Result<Tensor, String> {
    Tensor::new(DType::Bool, shape.to_vec(), Data::Bool(v)).map_err(|e| e.0)
}

/// Rounds reals to `dtype` (nearest-even for floats, toward zero for ints).
pub fn real_tensor(dtype: DType, shape: &[usize], v: &[f64]) -> Tensor {
    Tensor::from_f64(dtype, shape.to_vec(), v)
}

/// Converts an i64 to f64 rounding to odd: exact below 2^53, otherwise the
/// truncated value with its last bit set when any bit was dropped. A plain
/// `as f64` rounds to nearest, and rounding that again to f32/bf16/... can
/// land on the wrong side of a tie; from a round-to-odd f64 (53 bits, at
/// least 2 more than any narrower format) the second rounding is correct.
pub fn i64_to_f64_odd(x: i64) -> f64 {
    let mag = x.unsigned_abs();
    let bits = 64 - mag.leading_zeros();
    let r = if bits <= 53 {
        mag as f64
    } else {
        let shift = bits - 53;
        let mut m = mag >> shift;
        if mag & ((1u64 << shift) - 1) != 0 {
            m |= 1;
        }
        // m < 2^53 and the scaling is by a power of two: both exact.
        m as f64 * 2f64.powi(shift as i32)
    };
    if x < 0 {
        -r
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_to_odd_makes_the_second_rounding_correct() {
        // 2^62 + 2^38 + 1 is just above the f32 midpoint 2^62 + 2^38; a
        // nearest f64 lands exactly on the midpoint and then rounds to even
        // (2^62), the wrong way.
        let x = (1i64 << 62) + (1 << 38) + 1;
        let want = x as f32; // Rust's i64 → f32 is correctly rounded
        assert_eq!(want as f64, 2f64.powi(62) + 2f64.powi(39));
        assert_eq!(DType::F32.round(i64_to_f64_odd(x)), want as f64);
        assert_ne!(DType::F32.round(x as f64), want as f64, "the case really is a double-rounding trap");
        for x in [0, 1, -1, 1 << 53, (1 << 53) + 1, -(1 << 60) - 3, i64::MAX, i64::MIN] {
            assert_eq!(DType::F32.round(i64_to_f64_odd(x)), x as f32 as f64, "{x}");
        }
    }

    #[test]
    fn i32_results_wrap() {
        let t = int_tensor(DType::I32, &[2], vec![i64::from(i32::MAX) + 1, -1]).unwrap();
        assert_eq!(t.data(), &Data::I32(vec![i32::MIN, -1]));
    }
}
