//! Python source text: numbers, affine index expressions, shapes, dtypes.
//! Everything here is deterministic and round-trips exactly (a float prints
//! as the shortest decimal that parses back to the same f64).

use std::collections::HashMap;

use trnc_ir::kernel::{Affine, LoopVar};
use trnc_ir::DType;

use super::Dialect;

/// A Python float literal. Rust's `{:?}` gives the shortest round-trip
/// decimal (`1.0`, `-3e38`, `1e-5`), which Python parses to the same f64;
/// the non-finite values have no literal and are spelled with `float()`.
pub fn float(x: f64) -> String {
    if x.is_nan() {
        "float(\"nan\")".to_string()
    } else if x == f64::INFINITY {
        "float(\"inf\")".to_string()
    } else if x == f64::NEG_INFINITY {
        "-float(\"inf\")".to_string()
    } else {
        format!("{x:?}")
    }
}

/// A shape as a Python tuple: `(8, 64)`, `(64,)`, `()`.
pub fn shape(dims: &[usize]) -> String {
    match dims {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        _ => format!("({})", dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

/// `[[stride, count], ...]`, the NKI access-pattern list.
pub fn pattern(pairs: &[(i64, usize)]) -> String {
    let items: Vec<String> = pairs.iter().map(|(s, n)| format!("[{s}, {n}]")).collect();
    format!("[{}]", items.join(", "))
}

/// The `nl.` dtype. fp8 e4m3 is the OCP "fn" variant in trnc; NKI 0.6
/// names it `float8_e4m3fn`, while the legacy API only has `float8_e4m3`
/// (nki-api.md §2), the closest it offers.
pub fn dtype(d: DType, dialect: Dialect) -> &'static str {
    match d {
        DType::F32 => "nl.float32",
        DType::F16 => "nl.float16",
        DType::BF16 => "nl.bfloat16",
        DType::F8E4M3 => match dialect {
            Dialect::Current => "nl.float8_e4m3fn",
            Dialect::Legacy => "nl.float8_e4m3",
        },
        DType::F8E5M2 => "nl.float8_e5m2",
        DType::I32 => "nl.int32",
        // The verifier rejects i64 on the device; keep the printer total.
        DType::I64 => "nl.int64",
        DType::Bool => "nl.bool_",
    }
}

/// Loop variable names in scope (`LoopVar` id → Python name).
pub type VarNames = HashMap<u32, String>;

/// `40 * i0 + 5`, `i1 - 3`, `-2 * i0`, `0`: terms in stored order, then
/// the constant; precedence-safe inside slices, sums and call arguments.
pub fn affine(a: &Affine, vars: &VarNames) -> String {
    let mut s = String::new();
    for &(v, k) in &a.terms {
        if k == 0 {
            continue;
        }
        let name = var(vars, v);
        let mag = k.unsigned_abs();
        let term = if mag == 1 { name } else { format!("{mag} * {name}") };
        if s.is_empty() {
            s = if k < 0 { format!("-{term}") } else { term };
        } else {
            s.push_str(if k < 0 { " - " } else { " + " });
            s.push_str(&term);
        }
    }
    if s.is_empty() {
        return a.constant.to_string();
    }
    if a.constant > 0 {
        s.push_str(&format!(" + {}", a.constant));
    } else if a.constant < 0 {
        s.push_str(&format!(" - {}", a.constant.unsigned_abs()));
    }
    s
}

fn var(vars: &VarNames, v: LoopVar) -> String {
    vars.get(&v.0).cloned().unwrap_or_else(|| format!("i{}", v.0))
}

/// `start:start + count` as a Python slice.
pub fn slice(start: &Affine, count: usize, vars: &VarNames) -> String {
    let end = start.clone().offset(count as i64);
    format!("{}:{}", affine(start, vars), affine(&end, vars))
}

/// A `#` comment with the text on one line (notes never hold newlines, but
/// a stray one must not end the comment and leak code).
pub fn comment(text: &str) -> String {
    format!("# {}", text.replace(['\n', '\r'], " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_round_trip_and_name_the_non_finite() {
        assert_eq!(float(1.0), "1.0");
        assert_eq!(float(-3e38), "-3e38");
        assert_eq!(float(1e-5), "1e-5");
        assert_eq!(float(0.35355338), "0.35355338");
        assert_eq!(float(f64::NEG_INFINITY), "-float(\"inf\")");
    }

    #[test]
    fn affine_expressions_read_like_python() {
        let vars: VarNames = [(0, "i0".to_string()), (1, "i1".to_string())].into_iter().collect();
        let a = Affine::var(LoopVar(0), 40).offset(5);
        assert_eq!(affine(&a, &vars), "40 * i0 + 5");
        let b = Affine::var(LoopVar(1), -1).plus(&Affine::var(LoopVar(0), 2)).offset(-3);
        assert_eq!(affine(&b, &vars), "-i1 + 2 * i0 - 3");
        assert_eq!(slice(&Affine::constant(0), 8, &vars), "0:8");
        assert_eq!(shape(&[64]), "(64,)");
    }
}
