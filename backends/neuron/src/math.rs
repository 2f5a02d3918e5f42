//! The scalar functions the engines apply, in f64 (callers round to fp32,
//! the engines' precision). Rust's std has no erf; this one is written for
//! this crate (backends do not import each other).
//!
//! erf/erfc use two expansions, each where it needs no cancellation:
//! - |x| < 2.5: erf x = 2/√π · e^(-x²) · Σ_n (2x²)^n · x / (1·3·…·(2n+1)),
//!   a series of positive terms (Abramowitz & Stegun 7.1.6);
//! - x ≥ 2.5: erfc x = e^(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))),
//!   Laplace's continued fraction (A&S 7.1.14), evaluated bottom-up.
//!
//! For 0.5 < x < 2.5, erfc = 1 - erf loses a few digits (at worst ~1e-13
//! relative at x = 2.5), far below fp32's 6e-8. `tests/data/erf_reference.txt`
//! holds values from Python's `math.erf`/`math.erfc` to check against.

use std::f64::consts::{FRAC_2_SQRT_PI, PI};

const SERIES_LIMIT: f64 = 2.5;
/// Continued-fraction depth: at x = 2.5 a depth of 120 is converged to
/// f64 precision; larger x converge faster.
const CF_DEPTH: u32 = 120;

fn erf_series(x: f64) -> f64 {
    let two_x2 = 2.0 * x * x;
    let mut term = x;
    let mut sum = x;
    let mut n = 0.0;
    // Terms shrink once 2n+3 > 2x²; 200 terms cover |x| < 2.5 with margin.
    for _ in 0..200 {
        term *= two_x2 / (2.0 * n + 3.0);
        sum += term;
        n += 1.0;
        if term.abs() <= sum.abs() * 1e-18 {
            break;
        }
    }
    FRAC_2_SQRT_PI * (-x * x).exp() * sum
}

/// erfc for x ≥ SERIES_LIMIT.
fn erfc_fraction(x: f64) -> f64 {
    // e^(-x²) underflows f64 beyond this.
    if x > 27.3 {
        return 0.0;
    }
    let mut tail = x;
    for k in (1..=CF_DEPTH).rev() {
        tail = x + f64::from(k) / 2.0 / tail;
    }
    (-x * x).exp() / (PI.sqrt() * tail)
}

pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        x
    } else if x.abs() < SERIES_LIMIT {
        erf_series(x)
    } else {
        (1.0 - erfc_fraction(x.abs())).copysign(x)
    }
}

pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        x
    } else if x >= SERIES_LIMIT {
        erfc_fraction(x)
    } else if x <= -SERIES_LIMIT {
        2.0 - erfc_fraction(-x)
    } else {
        1.0 - erf_series(x)
    }
}

/// 1 / (1 + e^-x) without overflowing e^-x.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Exact GELU, x·Φ(x) with Φ(x) = erfc(-x/√2)/2, which keeps the left
/// tail's relative precision.
pub fn gelu(x: f64) -> f64 {
    0.5 * x * erfc(-x / std::f64::consts::SQRT_2)
}

/// 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))), written with
/// 1 + tanh(u) = 2·sigmoid(2u) so that it stays precise where tanh ≈ -1.
pub fn gelu_tanh(x: f64) -> f64 {
    let u = (2.0 / PI).sqrt() * (x + 0.044715 * x * x * x);
    x * sigmoid(2.0 * u)
}

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
