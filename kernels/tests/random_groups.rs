//! Random groups cut out of small graphs: lowering never panics, and every
//! kernel it returns computes what the reference computes for those values
//! (the group's inputs taken from a reference run of the whole graph).

mod common;

use common::*;
use trnc_backend_neuron::simulate;
use trnc_ir::random::{random_inputs, Rng};
use trnc_ir::{Graph, Op, Target, ValueId};
use trnc_kernels::{lower_group, GroupSpec};

fn source(g: &Graph, producers: &[Option<usize>], mut v: ValueId) -> ValueId {
    while let Some(j) = producers[v.index()].filter(|&j| g.nodes[j].op.is_view()) {
        v = g.nodes[j].inputs[0];
    }
    v
}

/// Inputs and outputs of the group `nodes` (kernel nodes only).
fn boundary(g: &Graph, nodes: &[usize]) -> (Vec<ValueId>, Vec<ValueId>) {
    let producers = g.producers();
    let member = |v: ValueId| producers[v.index()].is_some_and(|i| nodes.contains(&i));
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    for (i, n) in g.nodes.iter().enumerate() {
        if n.op.is_view() || matches!(n.op, Op::Const(_)) {
            continue;
        }
        for &u in &n.inputs {
            let s = source(g, &producers, u);
            if nodes.contains(&i) && !member(s) && !inputs.contains(&s) {
                inputs.push(s);
            }
            if !nodes.contains(&i) && member(s) && !outputs.contains(&s) {
                outputs.push(s);
            }
        }
    }
    for &o in &g.outputs {
        let s = source(g, &producers, o);
        if member(s) && !outputs.contains(&s) {
            outputs.push(s);
        }
    }
    (inputs, outputs)
}

const GRAPHS: [&str; 3] = [
    "graph @blk(%x: f32[37, 40], %h: f32[37, 40], %g: f32[40], %b: f32[40]) -> (f32[37, 40], f32[37, 1]) {
  %r = add %x, %h : f32[37, 40]
  %n = layer_norm %r, %g, %b {axis = 1, epsilon = 1e-5} : f32[37, 40]
  %a = gelu %n : f32[37, 40]
  %s = softmax %a {axis = 1} : f32[37, 40]
  %m = reduce_max %s {axes = [1], keep_dims = true} : f32[37, 1]
  %d = div %s, %m : f32[37, 40]
  %t = tanh %d : f32[37, 40]
  %q = reduce_sum %t {axes = [1], keep_dims = true} : f32[37, 1]
  %w = rsqrt %q : f32[37, 1]
  %y = mul %t, %w : f32[37, 40]
  return %y, %q
}",
    "graph @ew(%x: f32[129, 3], %y: f32[3], %z: f32[129, 1]) -> (f32[129, 3], bool[129, 3]) {
  %a = add %x, %y : f32[129, 3]
  %b = mul %a, %z : f32[129, 3]
  %c = sigmoid %b : f32[129, 3]
  %d = gt %c, %x : bool[129, 3]
  %e = where %d, %a, %b : f32[129, 3]
  %f = clip %e {min = -0.5, max = 0.5} : f32[129, 3]
  %t = transpose %z {perm = [1, 0]} : f32[1, 129]
  %u = reshape %t {shape = [129, 1]} : f32[129, 1]
  %g = sub %f, %u : f32[129, 3]
  return %g, %d
}",
    "graph @cols(%x: f32[200, 9]) -> (f32[1, 9], f32[200, 9], f32[200, 1]) {
  %e = exp %x : f32[200, 9]
  %c = reduce_sum %e {axes = [0], keep_dims = true} : f32[1, 9]
  %p = div %e, %c : f32[200, 9]
  %l = log_softmax %p {axis = 1} : f32[200, 9]
  %r = reduce_mean %l {axes = [1], keep_dims = true} : f32[200, 1]
  return %c, %l, %r
}",
];

#[test]
fn random_groups_lower_correctly_or_say_why() {
    let mut rng = Rng::new(11);
    let mut lowered = 0;
    for src in GRAPHS {
        let g = parse(src);
        let kernel_nodes: Vec<usize> = (0..g.nodes.len())
            .filter(|&i| !g.nodes[i].op.is_view() && !matches!(g.nodes[i].op, Op::Const(_)))
            .collect();
        let inputs = random_inputs(&g, 5).unwrap();
        for _ in 0..40 {
            let nodes: Vec<usize> = kernel_nodes.iter().copied().filter(|_| rng.below(2) == 1).collect();
            if nodes.is_empty() {
                continue;
            }
            let (ins, outs) = boundary(&g, &nodes);
            let spec = GroupSpec { graph: &g, nodes: &nodes, inputs: &ins, outputs: &outs, name: "rg".into() };
            let kernel = match std::panic::catch_unwind(|| lower_group(&spec, Target::Trn2)) {
                Ok(Ok(k)) => k,
                Ok(Err(e)) => {
                    // The one legitimate refusal these graphs can provoke.
                    assert!(e.to_string().contains("different rows"), "{e}");
                    continue;
                }
                Err(_) => panic!("lowering panicked for nodes {nodes:?} of @{}", g.name),
            };
            // Reference values of the group's inputs and outputs.
            let mut g2 = g.clone();
            g2.outputs = ins.iter().chain(&outs).copied().collect();
            let vals = trnc_backend_cpu::run(&g2, &inputs).unwrap();
            let got = simulate(&kernel, Target::Trn2, &vals[..ins.len()]).unwrap_or_else(|e| panic!("{e}"));
            for (k, (x, y)) in got.iter().zip(&vals[ins.len()..]).enumerate() {
                let err = rel_l2(x, y);
                assert!(err <= tolerance(y.dtype()), "@{} nodes {nodes:?} output {k}: error {err:e}", g.name);
            }
            lowered += 1;
        }
    }
    assert!(lowered > 40, "only {lowered} random groups lowered");
}
