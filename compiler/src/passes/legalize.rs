//! legalize-matmul: the matmul kernel multiplies matrices ([.., M, K] by
//! [.., K, N]); numpy's 1-D operands are spelled for it here, before
//! lowering. A vector `a` becomes the row [1, K], a vector `b` the column
//! [K, 1], and the product is reshaped back to the graph's result shape.
//! Reshapes are views, so no data moves, and the result is the same
//! product: the reference computes identical outputs before and after.

use super::rewrite::rewrite;
use trnc_ir::{Graph, Op};

pub fn legalize_matmul(g: &mut Graph) -> bool {
    rewrite(g, |rw, node| {
        if !matches!(node.op, Op::MatMul) {
            return None;
        }
        let (a, b) = (node.inputs[0], node.inputs[1]);
        let (a_shape, b_shape) = (rw.graph.ty(a).shape().ok()?, rw.graph.ty(b).shape().ok()?);
        if a_shape.len() >= 2 && b_shape.len() >= 2 {
            return None;
        }
        let out_shape = rw.graph.ty(node.output).shape().ok()?;
        let name = rw.graph.name_of(node.output).to_string();
        let a = match a_shape[..] {
            [k] => rw.add(Op::Reshape { shape: vec![1, k] }, &[a], &format!("{name}_row")).ok()?,
            _ => a,
        };
        let b = match b_shape[..] {
            [k] => rw.add(Op::Reshape { shape: vec![k, 1] }, &[b], &format!("{name}_col")).ok()?,
            _ => b,
        };
        let product = rw.add(Op::MatMul, &[a, b], &format!("{name}_2d")).ok()?;
        rw.add(Op::Reshape { shape: out_shape }, &[product], &name).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use trnc_ir::text::{parse_graph, print_graph};

    const VECTORS: &str = "graph @m(%a: f32[3], %b: f32[3], %c: f32[2, 3, 4], %d: f32[4], %e: f32[2, 2, 3, 4]) \
                           -> (f32[], f32[2, 4], f32[2, 2, 3]) {
  %y = matmul %a, %b : f32[]
  %z = matmul %a, %c : f32[2, 4]
  %w = matmul %e, %d : f32[2, 2, 3]
  return %y, %z, %w
}
";

    #[test]
    fn vector_operands_become_matrices_and_the_results_keep_their_values() {
        let mut g = parse_graph(VECTORS, "m.trn", &mut |k, _| Err(k.to_string())).unwrap().graph;
        let inputs = trnc_ir::random::random_inputs(&g, 3).unwrap();
        let want = trnc_backend_cpu::run(&g, &inputs).unwrap();
        assert!(legalize_matmul(&mut g));
        trnc_ir::verify(&g).unwrap();
        for n in g.nodes.iter().filter(|n| matches!(n.op, Op::MatMul)) {
            assert!(n.inputs.iter().all(|&v| g.ty(v).rank() >= 2), "{}", print_graph(&g));
        }
        let names: Vec<&str> = g.outputs.iter().map(|&v| g.name_of(v)).collect();
        assert_eq!(names, ["y", "z", "w"]);
        assert_eq!(trnc_backend_cpu::run(&g, &inputs).unwrap(), want);
        assert!(!legalize_matmul(&mut g), "a second run finds nothing to do");
    }
}
