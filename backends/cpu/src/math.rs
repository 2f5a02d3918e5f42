//! The reference's scalar functions: the shared special functions of
//! `trnc_ir::math`, and numpy's NaN and tie rules for max/min.

pub use trnc_ir::math::{erf, gelu, gelu_tanh, sigmoid};

/// numpy.maximum: NaN if either is NaN; on ties (0.0 and -0.0) the first.
pub fn max_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() || a >= b {
        a
    } else {
        b
    }
}

/// numpy.minimum, with the same NaN and tie rules as [`max_nan`].
pub fn min_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() || a <= b {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_min_propagate_nan() {
        assert!(max_nan(f64::NAN, 1.0).is_nan());
        assert!(max_nan(1.0, f64::NAN).is_nan());
        assert!(min_nan(1.0, f64::NAN).is_nan());
        assert_eq!(max_nan(-1.0, 2.0), 2.0);
        assert_eq!(min_nan(-1.0, 2.0), -1.0);
    }
}
