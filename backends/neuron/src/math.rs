//! The scalar functions the engines apply, in f64 (callers round to fp32,
//! the engines' precision): the shared special functions of
//! `trnc_ir::math`, and NaN-propagating max/min (so the simulator's NaN
//! fill of unwritten memory stays visible).

pub use trnc_ir::math::{erf, erfc, gelu, gelu_tanh, sigmoid};

/// max that propagates NaN (so the simulator's NaN fill stays visible).
pub fn max_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

pub fn min_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}
