//! gelu (erf and tanh forms) and silu.

use super::matchers::{binary, either_order, near, product_factors, unary, F32_TOL};
use crate::passes::rewrite::Rewriter;
use std::f64::consts::{FRAC_1_SQRT_2, PI, SQRT_2};
use trnc_ir::{BinaryOp, Node, Op, UnaryOp, ValueId};

/// The factors of the product computed by `node` (which is not yet in the
/// rebuilt graph), flattened two levels deep.
fn node_factors(rw: &Rewriter, node: &Node) -> Option<Vec<ValueId>> {
    let Op::Binary(BinaryOp::Mul) = node.op else { return None };
    let mut f = product_factors(rw, node.inputs[0], 2);
    f.extend(product_factors(rw, node.inputs[1], 2));
    Some(f)
}

/// In `factors`, a constant ≈ 0.5, a value x, and a value `1 + inner` where
/// `check(x, inner)` holds: the shape shared by both GELU spellings.
fn half_x_one_plus(rw: &Rewriter, factors: &[ValueId], check: impl Fn(ValueId, ValueId) -> bool) -> Option<ValueId> {
    if factors.len() != 3 {
        return None;
    }
    let half = factors.iter().position(|&f| near(rw, f, 0.5, F32_TOL))?;
    let rest: Vec<ValueId> = (0..3).filter(|&i| i != half).map(|i| factors[i]).collect();
    for (x, t) in [(rest[0], rest[1]), (rest[1], rest[0])] {
        let matched =
            either_order(rw, t, BinaryOp::Add, |one, inner| (near(rw, one, 1.0, 0.0) && check(x, inner)).then_some(()));
        if matched.is_some() {
            return Some(x);
        }
    }
    None
}

/// `0.5 * x * (1 + erf(x / sqrt(2)))`, in any association of the product.
pub fn gelu(rw: &mut Rewriter, node: &Node) -> Option<ValueId> {
    let factors = node_factors(rw, node)?;
    let x = half_x_one_plus(rw, &factors, |x, inner| {
        let Some(z) = unary(rw, inner, UnaryOp::Erf) else { return false };
        binary(rw, z, BinaryOp::Div).is_some_and(|(a, c)| a == x && near(rw, c, SQRT_2, F32_TOL))
            || either_order(rw, z, BinaryOp::Mul, |a, c| (a == x && near(rw, c, FRAC_1_SQRT_2, F32_TOL)).then_some(()))
                .is_some()
    })?;
    rw.add(Op::Unary(UnaryOp::Gelu), &[x], "gelu").ok()
}

/// x³ as `pow(x, 3)`, `x * x * x` in either association.
fn is_cube(rw: &Rewriter, v: ValueId, x: ValueId) -> bool {
    if let Some((b, e)) = binary(rw, v, BinaryOp::Pow) {
        return b == x && rw.is_splat(e, 3.0);
    }
    let f = product_factors(rw, v, 2);
    f.len() == 3 && f.iter().all(|&y| y == x)
}

/// `0.5 * x * (1 + tanh(sqrt(2/π) * (x + 0.044715 * x³)))`.
pub fn gelu_tanh(rw: &mut Rewriter, node: &Node) -> Option<ValueId> {
    let factors = node_factors(rw, node)?;
    let c1 = (2.0 / PI).sqrt();
    let x = half_x_one_plus(rw, &factors, |x, inner| {
        let Some(w) = unary(rw, inner, UnaryOp::Tanh) else { return false };
        either_order(rw, w, BinaryOp::Mul, |c, s| {
            if !near(rw, c, c1, F32_TOL) {
                return None;
            }
            either_order(rw, s, BinaryOp::Add, |a, cubic| {
                let ok = a == x
                    && either_order(rw, cubic, BinaryOp::Mul, |k, cube| {
                        (near(rw, k, 0.044715, F32_TOL) && is_cube(rw, cube, x)).then_some(())
                    })
                    .is_some();
                ok.then_some(())
            })
        })
        .is_some()
    })?;
    rw.add(Op::Unary(UnaryOp::GeluTanh), &[x], "gelu").ok()
}

/// `x * sigmoid(x)`.
pub fn silu(rw: &mut Rewriter, node: &Node) -> Option<ValueId> {
    let Op::Binary(BinaryOp::Mul) = node.op else { return None };
    let [a, b] = [node.inputs[0], node.inputs[1]];
    let x = [(a, b), (b, a)].into_iter().find(|&(x, s)| unary(rw, s, UnaryOp::Sigmoid) == Some(x))?.0;
    rw.add(Op::Unary(UnaryOp::Silu), &[x], "silu").ok()
}
