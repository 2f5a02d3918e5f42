//! Golden-test harness: a small graph whose ops all belong to one kernel
//! kind becomes one group (every non-constant, non-view node); its kernel
//! runs in the simulator (`trnc-backend-neuron`) and is compared with the
//! reference backend on random inputs.

#![allow(dead_code)]

use trnc_backend_neuron::simulate;
use trnc_ir::kernel::{verify_kernel, Kernel, Stmt};
use trnc_ir::random::random_inputs;
use trnc_ir::text::parse_graph;
use trnc_ir::{DType, Graph, Op, Target, Tensor, ValueId};
use trnc_kernels::{lower_group, GroupSpec, LowerError};

pub fn parse(src: &str) -> Graph {
    let mut no_weights =
        |key: &str, _: &trnc_ir::TensorType| -> Result<Tensor, String> { Err(format!("no weights for @{key}")) };
    parse_graph(src, "test.trn", &mut no_weights).unwrap_or_else(|e| panic!("{e}")).graph
}

/// The group of a test graph: all non-const, non-view nodes; inputs are the
/// graph inputs then the constants the group reads (through views).
pub struct Group {
    pub nodes: Vec<usize>,
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<ValueId>,
}

pub fn group_of(g: &Graph) -> Group {
    let nodes: Vec<usize> =
        (0..g.nodes.len()).filter(|&i| !matches!(g.nodes[i].op, Op::Const(_)) && !g.nodes[i].op.is_view()).collect();
    let producers = g.producers();
    let mut consts = Vec::new();
    for &i in &nodes {
        for &u in &g.nodes[i].inputs {
            let mut v = u;
            while let Some(j) = producers[v.index()].filter(|&j| g.nodes[j].op.is_view()) {
                v = g.nodes[j].inputs[0];
            }
            if let Some(j) = producers[v.index()] {
                if matches!(g.nodes[j].op, Op::Const(_)) && !consts.contains(&v) {
                    consts.push(v);
                }
            }
        }
    }
    let inputs = g.inputs.iter().copied().chain(consts).collect();
    Group { nodes, inputs, outputs: g.outputs.clone() }
}

pub fn lower(g: &Graph, target: Target) -> Result<Kernel, LowerError> {
    let grp = group_of(g);
    let spec =
        GroupSpec { graph: g, nodes: &grp.nodes, inputs: &grp.inputs, outputs: &grp.outputs, name: g.name.clone() };
    lower_group(&spec, target)
}

/// Lowers, verifies, simulates and returns (kernel outputs, reference outputs).
pub fn run(g: &Graph, target: Target, seed: u64) -> (Kernel, Vec<Tensor>, Vec<Tensor>) {
    let k = lower(g, target).unwrap_or_else(|e| panic!("{e}"));
    verify_kernel(&k, target).unwrap_or_else(|e| panic!("{e}"));
    let inputs = random_inputs(g, seed).unwrap();
    let want = trnc_backend_cpu::run(g, &inputs).unwrap_or_else(|e| panic!("reference: {e}"));
    let grp = group_of(g);
    let producers = g.producers();
    let kernel_inputs: Vec<Tensor> = grp
        .inputs
        .iter()
        .map(|&v| match g.inputs.iter().position(|&x| x == v) {
            Some(i) => inputs[i].clone(),
            None => match &g.nodes[producers[v.index()].unwrap()].op {
                Op::Const(t) => (**t).clone(),
                _ => unreachable!(),
            },
        })
        .collect();
    let got = simulate(&k, target, &kernel_inputs).unwrap_or_else(|e| panic!("simulate: {e}"));
    (k, got, want)
}

/// ‖got - want‖₂ / ‖want‖₂ (NaN and inf must match exactly).
pub fn rel_l2(got: &Tensor, want: &Tensor) -> f64 {
    let (a, b) = (got.to_f64_vec(), want.to_f64_vec());
    assert_eq!(a.len(), b.len());
    let (mut num, mut den) = (0.0, 0.0);
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        if !y.is_finite() || !x.is_finite() {
            assert!(x == y || (x.is_nan() && y.is_nan()), "non-finite mismatch at element {i}: got {x}, want {y}");
            continue;
        }
        num += (x - y) * (x - y);
        den += y * y;
    }
    if den == 0.0 {
        num.sqrt()
    } else {
        (num / den).sqrt()
    }
}

/// The tolerance for an output dtype: 1e-5 relative L2 for f32; one
/// rounding of the narrow formats otherwise; exact for bool and integers.
pub fn tolerance(d: DType) -> f64 {
    match d {
        DType::F32 => 1e-5,
        DType::F16 => 2e-3,
        DType::BF16 => 1e-2,
        DType::F8E4M3 | DType::F8E5M2 => 1e-1,
        _ => 0.0,
    }
}

/// Lowers `src`, runs it on Trn2 and checks every output.
pub fn check(src: &str) -> Kernel {
    check_on(src, Target::Trn2, 7)
}

pub fn check_on(src: &str, target: Target, seed: u64) -> Kernel {
    let g = parse(src);
    let (k, got, want) = run(&g, target, seed);
    for (i, (x, y)) in got.iter().zip(&want).enumerate() {
        let tol = tolerance(y.dtype());
        let err = rel_l2(x, y);
        assert!(err <= tol, "output {i} (%{}): relative L2 error {err:e} > {tol:e}", g.name_of(g.outputs[i]));
    }
    k
}

/// Every instruction and loop of a kernel, flattened with loop trip counts.
pub fn count_loops(body: &[Stmt]) -> usize {
    body.iter()
        .map(|s| match s {
            Stmt::Inst { .. } => 0,
            Stmt::Loop { body, .. } => 1 + count_loops(body),
        })
        .sum()
}

pub fn count_insts(body: &[Stmt], name: &str) -> usize {
    body.iter()
        .map(|s| match s {
            Stmt::Inst { inst, .. } => usize::from(inst.nki_name() == name),
            Stmt::Loop { body, .. } => count_insts(body, name),
        })
        .sum()
}
