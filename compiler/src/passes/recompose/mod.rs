//! Recomposition: recognise composite ops that exporters spell out in
//! primitives, so that later stages see one `softmax` instead of five ops.
//!
//! Each rule matches at the last node of its pattern and builds the
//! composite from the pattern's inputs; the primitives it covered become
//! dead and `dce` removes them. A rule fires only on the exact spelling it
//! claims (constants compared to within f32 rounding), never on a pattern
//! that differs in a way that changes the result. Rules that build on each
//! other (the affine parameters of a norm) run in later sweeps.

mod activation;
mod attention;
mod matchers;
mod norm;
mod softmax;

use super::rewrite::{rewrite, Rewriter};
use trnc_ir::{Graph, Node, ValueId};

type Rule = fn(&mut Rewriter, &Node) -> Option<ValueId>;

/// In priority order: layer_norm before rms_norm, whose pattern is the
/// tail of layer_norm's. Attention builds on a recognised softmax.
const RULES: &[Rule] = &[
    softmax::softmax,
    softmax::log_softmax,
    norm::layer_norm,
    norm::rms_norm,
    norm::affine,
    activation::gelu,
    activation::gelu_tanh,
    activation::silu,
    attention::attention,
];

pub fn recompose(g: &mut Graph) -> bool {
    let mut changed = false;
    for _ in 0..4 {
        if !rewrite(g, |rw, node| RULES.iter().find_map(|rule| rule(rw, node))) {
            break;
        }
        changed = true;
    }
    changed
}
