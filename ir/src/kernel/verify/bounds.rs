//! Which values loop variables take, and what that means for the affine
//! addresses built from them.
//!
//! The verifier binds each loop variable to its whole range `0..count`;
//! the simulator binds it to the current counter. The same rule code then
//! checks "every iteration" statically and "this iteration" while running.
//! All arithmetic is checked (i128): a malformed kernel gives an error,
//! never an overflow panic.

use crate::kernel::{Affine, LoopVar};

/// The loop variables in scope, each with the inclusive range of values it
/// takes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoopBounds {
    vars: Vec<(LoopVar, i128, i128)>,
}

/// Enumerating more assignments than this to decide a modular rule falls
/// back to a conservative gcd bound.
const ENUMERATION_LIMIT: u128 = 1 << 16;

impl LoopBounds {
    pub fn new() -> LoopBounds {
        LoopBounds::default()
    }

    /// Enters a loop over `0..count`. A loop that runs zero times is
    /// checked as if it ran once (its body must still be well formed).
    pub fn push_loop(&mut self, var: LoopVar, count: usize) -> Result<(), String> {
        let last = (count as i128 - 1).max(0);
        self.push(var, 0, last)
    }

    /// Enters a loop whose variable currently has the value `value`.
    pub fn push_value(&mut self, var: LoopVar, value: i64) -> Result<(), String> {
        self.push(var, value as i128, value as i128)
    }

    fn push(&mut self, var: LoopVar, lo: i128, hi: i128) -> Result<(), String> {
        if self.vars.iter().any(|&(v, _, _)| v == var) {
            return Err(format!("loop variable i{} is already bound by an enclosing loop", var.0));
        }
        self.vars.push((var, lo, hi));
        Ok(())
    }

    /// Leaves the innermost loop.
    pub fn pop(&mut self) {
        self.vars.pop();
    }

    pub fn depth(&self) -> usize {
        self.vars.len()
    }

    fn lookup(&self, var: LoopVar) -> Result<(i128, i128), String> {
        self.vars
            .iter()
            .find(|&&(v, _, _)| v == var)
            .map(|&(_, lo, hi)| (lo, hi))
            .ok_or_else(|| format!("loop variable i{} is used outside a loop that binds it", var.0))
    }

    /// Smallest and largest value of `a` over the bound variables.
    pub fn range(&self, a: &Affine) -> Result<(i128, i128), String> {
        let mut lo = a.constant as i128;
        let mut hi = lo;
        for &(v, k) in &a.terms {
            let (vlo, vhi) = self.lookup(v)?;
            let (x, y) = (mul(k as i128, vlo)?, mul(k as i128, vhi)?);
            lo = add(lo, x.min(y))?;
            hi = add(hi, x.max(y))?;
        }
        Ok((lo, hi))
    }

    /// Whether every value `a` takes is a multiple of `m` (m > 0).
    pub fn all_multiples_of(&self, a: &Affine, m: i128) -> Result<bool, String> {
        if (a.constant as i128).rem_euclid(m) != 0 {
            return Ok(false);
        }
        for &(v, k) in &a.terms {
            let (lo, hi) = self.lookup(v)?;
            // A variable pinned to one value contributes a constant.
            let varies = lo != hi;
            let contribution = if varies { k as i128 } else { mul(k as i128, lo)? };
            if contribution.rem_euclid(m) != 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// An upper bound of `(scale * a) mod m` over the bound variables; exact
    /// when the iteration space is small or the residue is constant.
    pub fn max_residue(&self, a: &Affine, scale: i128, m: i128) -> Result<i128, String> {
        let base = mul(a.constant as i128, scale)?;
        let mut varying = Vec::new();
        let mut constant = base;
        let mut assignments: u128 = 1;
        for &(v, k) in &a.terms {
            let (lo, hi) = self.lookup(v)?;
            let step = mul(k as i128, scale)?;
            if lo == hi || step.rem_euclid(m) == 0 {
                constant = add(constant, mul(step, lo)?)?;
            } else {
                varying.push((step, lo, hi));
                assignments = assignments.saturating_mul((hi - lo + 1) as u128);
            }
        }
        if varying.is_empty() {
            return Ok(constant.rem_euclid(m));
        }
        if assignments <= ENUMERATION_LIMIT {
            let mut best = 0;
            enumerate(&varying, constant, m, &mut best)?;
            return Ok(best);
        }
        // Every value is congruent to `constant` modulo g, so the residue is
        // at most the largest such number below m.
        let g = varying.iter().fold(m, |g, &(s, _, _)| gcd(g, s.rem_euclid(m)));
        Ok(constant.rem_euclid(g) + m - g)
    }
}

fn enumerate(vars: &[(i128, i128, i128)], acc: i128, m: i128, best: &mut i128) -> Result<(), String> {
    match vars.split_first() {
        None => {
            *best = (*best).max(acc.rem_euclid(m));
            Ok(())
        }
        Some((&(step, lo, hi), rest)) => {
            for v in lo..=hi {
                enumerate(rest, add(acc, mul(step, v)?)?, m, best)?;
            }
            Ok(())
        }
    }
}

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 {
        a.abs()
    } else {
        gcd(b, a.rem_euclid(b))
    }
}

pub(crate) fn mul(a: i128, b: i128) -> Result<i128, String> {
    a.checked_mul(b).ok_or_else(|| "address arithmetic overflows".to_string())
}

pub(crate) fn add(a: i128, b: i128) -> Result<i128, String> {
    a.checked_add(b).ok_or_else(|| "address arithmetic overflows".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(vars: &[(u32, usize)]) -> LoopBounds {
        let mut b = LoopBounds::new();
        for &(v, n) in vars {
            b.push_loop(LoopVar(v), n).unwrap();
        }
        b
    }

    #[test]
    fn range_covers_negative_coefficients() {
        let b = bounds(&[(0, 4), (1, 3)]);
        let a = Affine::var(LoopVar(0), 128).plus(&Affine::var(LoopVar(1), -2)).offset(5);
        assert_eq!(b.range(&a).unwrap(), (5 - 4, 5 + 384));
    }

    #[test]
    fn unbound_and_rebound_variables_are_errors() {
        let mut b = bounds(&[(0, 4)]);
        assert!(b.range(&Affine::var(LoopVar(1), 1)).is_err());
        assert!(b.push_loop(LoopVar(0), 2).is_err());
    }

    #[test]
    fn multiples_and_residues() {
        let b = bounds(&[(0, 4)]);
        assert!(b.all_multiples_of(&Affine::var(LoopVar(0), 64), 32).unwrap());
        assert!(!b.all_multiples_of(&Affine::var(LoopVar(0), 16), 32).unwrap());
        // 512*i0 elements of 4 bytes: always at the start of a 2 KiB bank.
        assert_eq!(b.max_residue(&Affine::var(LoopVar(0), 512), 4, 2048).unwrap(), 0);
        // 256*i0 + 0..: residues 0 and 1024.
        assert_eq!(b.max_residue(&Affine::var(LoopVar(0), 256), 4, 2048).unwrap(), 1024);
        let mut fixed = LoopBounds::new();
        fixed.push_value(LoopVar(0), 3).unwrap();
        assert_eq!(fixed.max_residue(&Affine::var(LoopVar(0), 100), 4, 2048).unwrap(), 1200);
    }
}
