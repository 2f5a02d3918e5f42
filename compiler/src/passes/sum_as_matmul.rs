//! sums-as-matmuls: a sum or mean over leading axes of contiguous data
//! (mean pooling over the sequence: [b, s, h] → [b, h]) would put the kept
//! trailing axes on the partitions and read the reduced axes with a stride,
//! one element per DMA descriptor (trainium.md §1.6). TensorE sums over
//! partitions instead (§1.3: a partition sum is a matmul with a ones
//! vector): x viewed as [B, R, C] and reduced over R is ones[1, R] · x,
//! with 1/R in place of the ones for a mean. Runs before lowering, like
//! legalize-matmul; the reference computes the same values (up to the
//! order of the additions).

use super::rewrite::rewrite;
use trnc_ir::{Graph, Op, ReduceOp, Tensor};

pub fn sums_as_matmuls(g: &mut Graph) -> bool {
    rewrite(g, |rw, node| {
        let Op::Reduce { op, axes, .. } = &node.op else { return None };
        let scale = match op {
            ReduceOp::Sum => 1.0,
            ReduceOp::Mean => 0.0,
            _ => return None,
        };
        let x = node.inputs[0];
        let ty = rw.graph.ty(x);
        let (dtype, shape) = (ty.dtype, ty.shape().ok()?);
        let (lo, hi) = (*axes.first()?, *axes.last()? + 1);
        // One run of reduced axes with a kept axis after it: trailing
        // reductions already read contiguous rows.
        if !dtype.is_float() || axes.len() != hi - lo || hi >= shape.len() {
            return None;
        }
        let (b, r, c): (usize, usize, usize) =
            (shape[..lo].iter().product(), shape[lo..hi].iter().product(), shape[hi..].iter().product());
        if r < 2 || c == 0 {
            return None;
        }
        let weight = if scale == 0.0 { 1.0 / r as f64 } else { scale };
        let out_shape = rw.graph.ty(node.output).shape().ok()?;
        let name = rw.graph.name_of(node.output).to_string();
        let rows = rw.add(Op::Reshape { shape: vec![b, r, c] }, &[x], &format!("{name}_rows")).ok()?;
        let ones = rw.add_const(&format!("{name}_ones"), Tensor::from_f64(dtype, vec![1, r], &vec![weight; r]));
        let sum = rw.add(Op::MatMul, &[ones, rows], &format!("{name}_sum")).ok()?;
        rw.add(Op::Reshape { shape: out_shape }, &[sum], &name).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use trnc_ir::text::parse_graph;

    const POOLS: &str =
        "graph @p(%x: f32[2, 37, 5, 6], %y: f32[130, 4]) -> (f32[2, 6], f32[2, 1, 1, 6], f32[4], f32[2, 37, 5]) {
  %a = reduce_sum %x {axes = [1, 2], keep_dims = false} : f32[2, 6]
  %b = reduce_mean %x {axes = [1, 2], keep_dims = true} : f32[2, 1, 1, 6]
  %c = reduce_mean %y {axes = [0], keep_dims = false} : f32[4]
  %d = reduce_sum %x {axes = [3], keep_dims = false} : f32[2, 37, 5]
  return %a, %b, %c, %d
}
";

    #[test]
    fn leading_sums_and_means_become_matmuls_with_the_same_values() {
        let mut g = parse_graph(POOLS, "p.trn", &mut |k, _| Err(k.to_string())).unwrap().graph;
        let inputs = trnc_ir::random::random_inputs(&g, 5).unwrap();
        let want = trnc_backend_cpu::run(&g, &inputs).unwrap();
        assert!(sums_as_matmuls(&mut g));
        trnc_ir::verify(&g).unwrap();
        let matmuls = g.nodes.iter().filter(|n| matches!(n.op, Op::MatMul)).count();
        assert_eq!(matmuls, 3, "the trailing sum %d stays a reduction");
        let got = trnc_backend_cpu::run(&g, &inputs).unwrap();
        for (a, b) in got.iter().zip(&want) {
            assert_eq!(a.ty(), b.ty());
            let err = rel_l2(&a.to_f64_vec(), &b.to_f64_vec());
            assert!(err <= 1e-6, "{err:e}");
        }
        assert!(!sums_as_matmuls(&mut g), "a second run finds nothing to do");
    }

    fn rel_l2(a: &[f64], b: &[f64]) -> f64 {
        let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
        let den: f64 = b.iter().map(|y| y * y).sum();
        (num / den.max(f64::MIN_POSITIVE)).sqrt()
    }
}
