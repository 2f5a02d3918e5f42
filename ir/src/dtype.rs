//! Element types and their rounding rules.
//!
//! Every floating-point value in trnc is held as an `f32` (all of f16, bf16
//! and the two fp8 formats are exactly representable in f32); a value "of
//! dtype bf16" is an f32 that `DType::BF16.round` leaves unchanged.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    F32,
    F16,
    BF16,
    /// OCP E4M3FN: no infinities, max 448, NaN = S.1111.111 (ONNX FLOAT8E4M3FN).
    F8E4M3,
    /// OCP E5M2: IEEE-like, with infinities, max 57344 (ONNX FLOAT8E5M2).
    F8E5M2,
    I64,
    I32,
    Bool,
}

/// A binary floating-point format narrower than f64.
struct MiniFloat {
    mantissa_bits: i32,
    /// Exponent of the smallest normal number (1 - bias).
    min_exp: i32,
    max_finite: f64,
    has_inf: bool,
}

const F32_FMT: MiniFloat = MiniFloat { mantissa_bits: 23, min_exp: -126, max_finite: f32::MAX as f64, has_inf: true };
const F16_FMT: MiniFloat = MiniFloat { mantissa_bits: 10, min_exp: -14, max_finite: 65504.0, has_inf: true };
const BF16_FMT: MiniFloat = MiniFloat {
    mantissa_bits: 7,
    min_exp: -126,
    // (2 - 2^-7) * 2^127
    max_finite: 3.389_531_389_251_535_5e38,
    has_inf: true,
};
const F8E4M3_FMT: MiniFloat = MiniFloat { mantissa_bits: 3, min_exp: -6, max_finite: 448.0, has_inf: false };
const F8E5M2_FMT: MiniFloat = MiniFloat { mantissa_bits: 2, min_exp: -14, max_finite: 57344.0, has_inf: true };

impl MiniFloat {
    /// Round to nearest, ties to even; overflow gives inf where the format
    /// has one and NaN where it does not (the non-saturating conversion of
    /// ml_dtypes and of ONNX Cast with saturate=0).
    fn round(&self, x: f64) -> f64 {
        if x.is_nan() {
            return f64::NAN;
        }
        if x.is_infinite() {
            return if self.has_inf { x } else { f64::NAN };
        }
        if x == 0.0 {
            return x;
        }
        let mag = x.abs();
        let exp = exponent_of(mag).max(self.min_exp);
        let quantum = (2.0f64).powi(exp - self.mantissa_bits);
        let rounded = (mag / quantum).round_ties_even() * quantum;
        let rounded = if rounded > self.max_finite {
            if self.has_inf {
                f64::INFINITY
            } else {
                f64::NAN
            }
        } else {
            rounded
        };
        rounded.copysign(x)
    }

    /// Clamp to the finite range first (ONNX Cast with saturate=1 for fp8;
    /// its table keeps infinities in formats that have them).
    fn round_saturating(&self, x: f64) -> f64 {
        if x.is_nan() || (x.is_infinite() && self.has_inf) {
            return x;
        }
        self.round(x.clamp(-self.max_finite, self.max_finite))
    }
}

/// floor(log2(mag)) for a positive finite f64, exactly.
fn exponent_of(mag: f64) -> i32 {
    let bits = mag.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // f64 subnormal: far below every format's range; any exponent below
        // min_exp gives the same quantum.
        -1075
    } else {
        biased - 1023
    }
}

impl DType {
    pub const ALL: [DType; 8] =
        [DType::F32, DType::F16, DType::BF16, DType::F8E4M3, DType::F8E5M2, DType::I64, DType::I32, DType::Bool];

    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::F8E4M3 => "f8e4m3",
            DType::F8E5M2 => "f8e5m2",
            DType::I64 => "i64",
            DType::I32 => "i32",
            DType::Bool => "bool",
        }
    }

    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == name)
    }

    pub fn size_bytes(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 4,
            DType::F16 | DType::BF16 => 2,
            DType::F8E4M3 | DType::F8E5M2 | DType::Bool => 1,
            DType::I64 => 8,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F16 | DType::BF16 | DType::F8E4M3 | DType::F8E5M2)
    }

    pub fn is_int(self) -> bool {
        matches!(self, DType::I64 | DType::I32)
    }

    fn format(self) -> Option<&'static MiniFloat> {
        match self {
            DType::F32 => Some(&F32_FMT),
            DType::F16 => Some(&F16_FMT),
            DType::BF16 => Some(&BF16_FMT),
            DType::F8E4M3 => Some(&F8E4M3_FMT),
            DType::F8E5M2 => Some(&F8E5M2_FMT),
            _ => None,
        }
    }

    /// The value of this dtype nearest to `x`: round-to-nearest-even for
    /// floats, truncation toward zero (saturating) for integers, `x != 0`
    /// for bool. Used at every op output by the reference backend.
    pub fn round(self, x: f64) -> f64 {
        match self {
            DType::I64 => {
                if x.is_nan() {
                    0.0
                } else {
                    (x.trunc() as i64) as f64
                }
            }
            DType::I32 => {
                if x.is_nan() {
                    0.0
                } else {
                    (x.trunc() as i32) as f64
                }
            }
            DType::Bool => f64::from(u8::from(x != 0.0)),
            _ => self.format().expect("float dtype").round(x),
        }
    }

    /// Like [`DType::round`], but fp8 conversions clamp to the largest
    /// finite value instead of overflowing (ONNX `Cast` with `saturate=1`).
    pub fn round_saturating(self, x: f64) -> f64 {
        match self {
            DType::F8E4M3 | DType::F8E5M2 => self.format().unwrap().round_saturating(x),
            _ => self.round(x),
        }
    }

    /// Largest finite value (floats) or largest value (integers).
    pub fn max_value(self) -> f64 {
        match self {
            DType::I64 => i64::MAX as f64,
            DType::I32 => i32::MAX as f64,
            DType::Bool => 1.0,
            _ => self.format().unwrap().max_finite,
        }
    }

    /// Smallest finite value (floats) or smallest value (integers).
    pub fn min_value(self) -> f64 {
        match self {
            DType::I64 => i64::MIN as f64,
            DType::I32 => i32::MIN as f64,
            DType::Bool => 0.0,
            _ => -self.format().unwrap().max_finite,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cross-check the generic rounding against the `half` crate on a sweep
    /// of f32 values, including subnormals, ties and overflow.
    #[test]
    fn f16_and_bf16_match_half_crate() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        for i in 0..200_000u32 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let bits = if i < 100_000 { (seed >> 32) as u32 } else { i.wrapping_mul(42_949) };
            let x = f32::from_bits(bits);
            if x.is_nan() {
                continue;
            }
            let want16 = half::f16::from_f32(x).to_f64();
            let got16 = DType::F16.round(x as f64);
            assert!(
                want16 == got16 || (want16.is_nan() && got16.is_nan()),
                "f16 {x:e}: half {want16:e} ours {got16:e}"
            );
            let wantb = half::bf16::from_f32(x).to_f64();
            let gotb = DType::BF16.round(x as f64);
            assert!(wantb == gotb || (wantb.is_nan() && gotb.is_nan()), "bf16 {x:e}: half {wantb:e} ours {gotb:e}");
        }
    }

    /// Values worked out by hand from the OCP FP8 specification.
    #[test]
    fn fp8_hand_values() {
        let e4 = DType::F8E4M3;
        assert_eq!(e4.round(448.0), 448.0);
        assert_eq!(e4.round(464.0), 448.0); // tie between 448 (even) and 480 (NaN code)
        assert!(e4.round(470.0).is_nan());
        assert!(e4.round(f64::INFINITY).is_nan());
        assert_eq!(e4.round_saturating(1e6), 448.0);
        assert_eq!(e4.round(1.0625), 1.0); // tie, 1.0 has even mantissa
        assert_eq!(e4.round(1.1875), 1.25); // tie, 1.25 = 1.010b is even
        assert_eq!(e4.round(2f64.powi(-9)), 2f64.powi(-9)); // smallest subnormal
        assert_eq!(e4.round(2f64.powi(-10)), 0.0); // tie to even (zero)
        let e5 = DType::F8E5M2;
        assert_eq!(e5.round(57344.0), 57344.0);
        // 61440 is the midpoint of 57344 (1.11b * 2^15, odd) and 2^16 (even):
        // it rounds up and overflows.
        assert!(e5.round(61440.0).is_infinite());
        assert_eq!(e5.round(61439.0), 57344.0);
        assert_eq!(e5.round_saturating(1e9), 57344.0);
        assert!(e5.round_saturating(f64::INFINITY).is_infinite());
        assert_eq!(e5.round(2f64.powi(-16)), 2f64.powi(-16));
        assert_eq!(e5.round(-0.3), -0.3125);
    }

    #[test]
    fn integers_truncate_toward_zero() {
        assert_eq!(DType::I32.round(-2.7), -2.0);
        assert_eq!(DType::I64.round(2.7), 2.0);
        assert_eq!(DType::Bool.round(-0.5), 1.0);
        assert_eq!(DType::Bool.round(0.0), 0.0);
    }
}
