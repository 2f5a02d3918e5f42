//! Common-subexpression elimination: a node computing the same op on the
//! same operands as an earlier one is replaced by it. Constants count as
//! equal when their data is (compared for small constants only, so large
//! weights are never hashed).

use super::rewrite::rewrite;
use std::collections::HashMap;
use trnc_ir::text::INLINE_LIMIT;
use trnc_ir::{Graph, Op, ValueId};

pub fn cse(g: &mut Graph) -> bool {
    let mut seen: HashMap<String, ValueId> = HashMap::new();
    rewrite(g, |rw, node| {
        let key = match &node.op {
            Op::Const(t) if t.len() > INLINE_LIMIT => return None,
            // Debug output of an op holds every attribute exactly (floats
            // print round-trippably), so equal keys mean equal ops.
            op => format!("{op:?}|{:?}|{}", node.inputs, rw.graph.ty(node.output)),
        };
        match seen.get(&key) {
            Some(&earlier) => Some(earlier),
            None => {
                seen.insert(key, node.output);
                None
            }
        }
    })
}
