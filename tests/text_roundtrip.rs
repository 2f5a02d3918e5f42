//! Property test: random well-typed graphs survive print → parse → print
//! unchanged, and the parsed graph verifies.

use std::sync::Arc;
use trnc_ir::random::Rng;
use trnc_ir::text::{external_constants, parse_graph, print_graph};
use trnc_ir::{verify, BinaryOp, DType, Graph, Op, ReduceOp, SliceAxis, Tensor, TensorType, UnaryOp, ValueId};

fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.below(items.len() as u64) as usize]
}

fn random_shape(rng: &mut Rng) -> Vec<usize> {
    let rank = rng.below(4) as usize;
    (0..rank).map(|_| 1 + rng.below(5) as usize).collect()
}

fn random_const(rng: &mut Rng, dtype: DType, shape: Vec<usize>) -> Tensor {
    let count: usize = shape.iter().product();
    let special = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 1e-30, 3.0e38];
    let values: Vec<f64> = (0..count)
        .map(|_| match rng.below(10) {
            0 => *pick(rng, &special),
            1..=4 => rng.uniform(-1e6, 1e6).round(),
            _ => rng.uniform(-2.0, 2.0),
        })
        .collect();
    Tensor::from_f64(dtype, shape, &values)
}

/// One random op applicable to `x`; `None` when the draw does not type.
fn random_op(rng: &mut Rng, g: &Graph, x: ValueId, other: ValueId) -> Option<(Op, Vec<ValueId>)> {
    let ty = g.ty(x).clone();
    let rank = ty.rank();
    let shape = ty.shape().unwrap();
    let axes = |rng: &mut Rng| -> Vec<usize> { (0..rank).filter(|_| rng.below(2) == 0).collect() };
    Some(match rng.below(14) {
        0 => (Op::Unary(*pick(rng, &UnaryOp::ALL)), vec![x]),
        1 | 2 => (Op::Binary(*pick(rng, &BinaryOp::ALL)), vec![x, other]),
        3 => (Op::Cast { to: *pick(rng, &DType::ALL), saturate: rng.below(2) == 0 }, vec![x]),
        4 => (Op::Reduce { op: *pick(rng, &ReduceOp::ALL), axes: axes(rng), keep_dims: rng.below(2) == 0 }, vec![x]),
        5 if rank > 0 => {
            let mut perm: Vec<usize> = (0..rank).collect();
            for i in (1..rank).rev() {
                perm.swap(i, rng.below(i as u64 + 1) as usize);
            }
            (Op::Transpose { perm }, vec![x])
        }
        6 => (Op::Reshape { shape: vec![shape.iter().product()] }, vec![x]),
        7 if rank > 0 => {
            let axis = rng.below(rank as u64) as usize;
            let dim = shape[axis] as i64;
            let step = *pick(rng, &[1, 2, -1, -3]);
            let s = SliceAxis::normalize(axis, rng.below(8) as i64 - 4, rng.below(8) as i64 - 4, step, dim as usize)?;
            (Op::Slice { axes: vec![s] }, vec![x])
        }
        8 if rank > 0 => (Op::Softmax { axis: rng.below(rank as u64) as usize }, vec![x]),
        9 if rank > 0 => {
            (Op::LayerNorm { axis: rng.below(rank as u64) as usize, epsilon: rng.uniform(0.0, 1e-3) }, vec![x])
        }
        10 => (Op::Unsqueeze { axes: vec![0] }, vec![x]),
        11 if rank > 0 => (Op::Concat { axis: rng.below(rank as u64) as usize }, vec![x, x]),
        12 => (
            Op::Clip { min: (rng.below(2) == 0).then(|| -rng.unit()), max: (rng.below(2) == 0).then(|| rng.unit()) },
            vec![x],
        ),
        13 => (Op::LeakyRelu { alpha: rng.uniform(0.0, 0.5) }, vec![x]),
        _ => return None,
    })
}

fn random_graph(seed: u64) -> Graph {
    let mut rng = Rng::new(seed);
    let mut g = Graph::new(format!("random{seed}"));
    let mut live = Vec::new();
    for i in 0..1 + rng.below(3) {
        let dtype = *pick(&mut rng, &DType::ALL);
        live.push(g.add_input(&format!("in{i}"), TensorType::new(dtype, &random_shape(&mut rng))));
    }
    for i in 0..rng.below(4) {
        let dtype = *pick(&mut rng, &DType::ALL);
        // Large constants exercise the side-file path, small ones inline data.
        let shape = if rng.below(3) == 0 { vec![5, 5] } else { random_shape(&mut rng) };
        let t = random_const(&mut rng, dtype, shape);
        live.push(g.add_const(&format!("c{i}"), t));
    }
    for i in 0..rng.below(12) {
        let x = *pick(&mut rng, &live);
        let other = *pick(&mut rng, &live);
        if let Some((op, inputs)) = random_op(&mut rng, &g, x, other) {
            if let Ok(v) = g.add_node(op, &inputs, &format!("v{i}")) {
                live.push(v);
            }
        }
    }
    g.outputs = vec![*live.last().unwrap()];
    if rng.below(2) == 0 {
        g.outputs.push(live[0]);
    }
    g
}

#[test]
fn random_graphs_round_trip_through_text() {
    let mut ops_seen = std::collections::BTreeSet::new();
    for seed in 0..600 {
        let g = random_graph(seed);
        verify(&g).unwrap_or_else(|e| panic!("seed {seed}: generator made a bad graph: {e}"));
        for n in &g.nodes {
            ops_seen.insert(n.op.name());
        }
        let text = print_graph(&g);
        let external = external_constants(&g);
        let mut loader = |key: &str, _: &TensorType| -> Result<Tensor, String> {
            external.iter().find(|(k, _)| k == key).map(|(_, t)| Tensor::clone(t)).ok_or_else(|| key.to_string())
        };
        let parsed = parse_graph(&text, "random", &mut loader)
            .unwrap_or_else(|e| panic!("seed {seed}: printed text does not parse:\n{e}\n{text}"));
        verify(&parsed.graph).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(print_graph(&parsed.graph), text, "seed {seed}");
        // Constant data must come back bit for bit (NaN payloads aside).
        for (a, b) in g.nodes.iter().zip(&parsed.graph.nodes) {
            if let (Op::Const(x), Op::Const(y)) = (&a.op, &b.op) {
                let same = x
                    .to_f64_vec()
                    .iter()
                    .zip(y.to_f64_vec())
                    .all(|(p, q)| (p.is_nan() && q.is_nan()) || (p.to_bits() == q.to_bits()));
                assert!(same && x.ty() == y.ty(), "seed {seed}: constant changed");
                let _ = Arc::clone(x);
            }
        }
    }
    assert!(ops_seen.len() >= 25, "generator covers too few ops: {ops_seen:?}");
}
