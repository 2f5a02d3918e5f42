//! Small pattern matchers over the graph being rewritten. Each looks at the
//! node defining a value and returns its parts if it has the asked shape.

use crate::passes::rewrite::Rewriter;
use trnc_ir::{BinaryOp, Op, ReduceOp, UnaryOp, ValueId};

/// `v = op(x)` → x.
pub fn unary(rw: &Rewriter, v: ValueId, op: UnaryOp) -> Option<ValueId> {
    match rw.op(v) {
        Some(Op::Unary(u)) if *u == op => Some(rw.operands(v)[0]),
        _ => None,
    }
}

/// `v = op(a, b)` → (a, b).
pub fn binary(rw: &Rewriter, v: ValueId, op: BinaryOp) -> Option<(ValueId, ValueId)> {
    match rw.op(v) {
        Some(Op::Binary(b)) if *b == op => Some((rw.operands(v)[0], rw.operands(v)[1])),
        _ => None,
    }
}

/// For a commutative `v = op(a, b)`, the first of `f(a, b)`, `f(b, a)` that matches.
pub fn either_order<T>(
    rw: &Rewriter,
    v: ValueId,
    op: BinaryOp,
    mut f: impl FnMut(ValueId, ValueId) -> Option<T>,
) -> Option<T> {
    let (a, b) = binary(rw, v, op)?;
    f(a, b).or_else(|| f(b, a))
}

/// `v = reduce_<op>(x, axes, keep_dims = true)` → (x, axes).
pub fn reduce_keep(rw: &Rewriter, v: ValueId, op: ReduceOp) -> Option<(ValueId, Vec<usize>)> {
    match rw.op(v) {
        Some(Op::Reduce { op: r, axes, keep_dims: true }) if *r == op => Some((rw.operands(v)[0], axes.clone())),
        _ => None,
    }
}

/// The value of a scalar (or splat) constant, written as the shortest
/// decimal of its own dtype: an f32 1e-5 reads back as 1e-5, not as
/// 9.999999747378752e-6, so attributes stay readable.
pub fn scalar_attr(rw: &Rewriter, v: ValueId) -> Option<f64> {
    let x = rw.scalar(v)?;
    Some(match rw.graph.ty(v).dtype {
        trnc_ir::DType::F32 => format!("{:?}", x as f32).parse().unwrap_or(x),
        _ => x,
    })
}

/// True if `v` is a constant whose every element is within `rel` of `x`.
pub fn near(rw: &Rewriter, v: ValueId, x: f64, rel: f64) -> bool {
    rw.scalar(v).is_some_and(|c| (c - x).abs() <= rel * x.abs())
}

/// Relative tolerance for constants that exporters write in f32.
pub const F32_TOL: f64 = 1e-6;

/// `v = x * x` or `v = x ** 2` → x.
pub fn square_of(rw: &Rewriter, v: ValueId) -> Option<ValueId> {
    if let Some((a, b)) = binary(rw, v, BinaryOp::Mul) {
        if a == b {
            return Some(a);
        }
    }
    if let Some(x) = unary(rw, v, UnaryOp::Square) {
        return Some(x);
    }
    let (x, e) = binary(rw, v, BinaryOp::Pow)?;
    rw.is_splat(e, 2.0).then_some(x)
}

/// The axes `axis..rank`, as normalisations use them: `Some(axis)` if
/// `axes` is exactly that suffix.
pub fn suffix_axis(axes: &[usize], rank: usize) -> Option<usize> {
    let first = *axes.first()?;
    (axes.iter().copied().eq(first..rank)).then_some(first)
}

/// The factors of a product tree `a * b * c ...` (at most `depth` levels).
pub fn product_factors(rw: &Rewriter, v: ValueId, depth: usize) -> Vec<ValueId> {
    match binary(rw, v, BinaryOp::Mul) {
        Some((a, b)) if depth > 0 => {
            let mut f = product_factors(rw, a, depth - 1);
            f.extend(product_factors(rw, b, depth - 1));
            f
        }
        _ => vec![v],
    }
}
