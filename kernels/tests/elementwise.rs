//! Elementwise kernels against the reference backend, on shapes that are
//! not multiples of 128 or 512.

mod common;

use common::*;

fn unary_chain(shape: &str) -> String {
    format!(
        "graph @ew(%x: f32{shape}, %y: f32{shape}) -> (f32{shape}) {{
  %a = mul %x, %y : f32{shape}
  %b = exp %a : f32{shape}
  %c = add %b, %x : f32{shape}
  %d = tanh %c : f32{shape}
  return %d
}}"
    )
}

#[test]
fn chains_on_awkward_shapes() {
    for shape in ["[1]", "[37]", "[129]", "[200, 37]", "[517, 3]", "[1000, 129]", "[3, 5, 7]", "[2, 1000, 3]"] {
        check(&unary_chain(shape));
    }
}

#[test]
fn long_vectors_use_full_chunks_and_a_remainder() {
    let k = check(&unary_chain("[1000001]"));
    assert!(count_loops(&k.body) >= 1);
}

#[test]
fn broadcasts_read_with_stride_zero() {
    check(
        "graph @bc(%x: f32[200, 37], %b: f32[37], %c: f32[200, 1], %s: f32[]) -> (f32[200, 37]) {
  %a = add %x, %b : f32[200, 37]
  %m = mul %a, %c : f32[200, 37]
  %y = sub %m, %s : f32[200, 37]
  return %y
}",
    );
}

#[test]
fn every_unary_op() {
    let ops = ["abs", "neg", "exp", "tanh", "sigmoid", "erf", "relu", "gelu", "silu", "sin", "cos", "square"];
    for op in ops {
        check(&format!(
            "graph @u(%x: f32[129, 5]) -> (f32[129, 5]) {{
  %y = {op} %x : f32[129, 5]
  return %y
}}"
        ));
    }
    check(
        "graph @u(%x: f32[129, 5]) -> (f32[129, 5]) {
  %y = gelu %x {approx = \"tanh\"} : f32[129, 5]
  return %y
}",
    );
}

#[test]
fn positive_domain_ops() {
    for op in ["log", "sqrt", "rsqrt", "reciprocal"] {
        check(&format!(
            "graph @u(%x: f32[37, 11]) -> (f32[37, 11]) {{
  %one = const f32[] 1.5
  %a = abs %x : f32[37, 11]
  %p = add %a, %one : f32[37, 11]
  %y = {op} %p : f32[37, 11]
  return %y
}}"
        ));
    }
}

#[test]
fn trig_with_range_reduction() {
    // Arguments up to ±40 need several turns of range reduction.
    check(
        "graph @t(%x: f32[517]) -> (f32[517], f32[517]) {
  %k = const f32[] 40.0
  %big = mul %x, %k : f32[517]
  %s = sin %big : f32[517]
  %c = cos %big : f32[517]
  return %s, %c
}",
    );
}

#[test]
fn division_and_powers() {
    check(
        "graph @d(%x: f32[200, 7], %y: f32[200, 7]) -> (f32[200, 7], f32[200, 7], f32[200, 7], f32[200, 7]) {
  %one = const f32[] 2.0
  %a = abs %y : f32[200, 7]
  %p = add %a, %one : f32[200, 7]
  %q = div %x, %p : f32[200, 7]
  %two = const f32[] 2.0
  %sq = pow %x, %two : f32[200, 7]
  %e = const f32[] 1.7
  %pw = pow %p, %e : f32[200, 7]
  %three = const f32[] 3.0
  %cube = pow %x, %three : f32[200, 7]
  return %q, %sq, %pw, %cube
}",
    );
}

#[test]
fn where_selects_exactly_even_with_infinities() {
    check(
        "graph @w(%x: f32[129, 9], %y: f32[129, 9]) -> (f32[129, 9], f32[129, 9]) {
  %c = gt %x, %y : bool[129, 9]
  %w = where %c, %x, %y : f32[129, 9]
  %z = const f32[] 0.0
  %r = reciprocal %z : f32[]
  %inf = add %y, %r : f32[129, 9]
  %v = where %c, %x, %inf : f32[129, 9]
  return %w, %v
}",
    );
}

#[test]
fn comparisons_logic_clip_leaky_relu() {
    check(
        "graph @c(%x: f32[37, 37], %y: f32[37, 37]) -> (bool[37, 37], f32[37, 37], f32[37, 37], f32[37, 37]) {
  %gt = gt %x, %y : bool[37, 37]
  %le = le %x, %y : bool[37, 37]
  %eq = eq %x, %x : bool[37, 37]
  %a = and %gt, %eq : bool[37, 37]
  %o = or %a, %le : bool[37, 37]
  %n = not %o : bool[37, 37]
  %cl = clip %x {min = -0.5, max = 0.25} : f32[37, 37]
  %lr = leaky_relu %x {alpha = 0.1} : f32[37, 37]
  %lr2 = leaky_relu %x {alpha = -2.0} : f32[37, 37]
  return %n, %cl, %lr, %lr2
}",
    );
}

#[test]
fn casts_round_to_the_target_dtype() {
    check(
        "graph @k(%x: f32[200, 9], %y: f32[200, 9]) -> (f32[200, 9], bf16[200, 9], f32[200, 9], i32[200, 9]) {
  %xb = cast %x {to = bf16} : bf16[200, 9]
  %yb = cast %y {to = bf16} : bf16[200, 9]
  %pb = mul %xb, %yb : bf16[200, 9]
  %sb = add %pb, %xb : bf16[200, 9]
  %bf = cast %sb {to = f32} : f32[200, 9]
  %h = cast %x {to = f16} : f16[200, 9]
  %e = exp %h : f16[200, 9]
  %e8 = cast %e {to = f8e4m3} : f8e4m3[200, 9]
  %h8 = cast %e8 {to = f32} : f32[200, 9]
  %k = const f32[] 100.0
  %big = mul %x, %k : f32[200, 9]
  %i = cast %big {to = i32} : i32[200, 9]
  return %bf, %sb, %h8, %i
}",
    );
}

#[test]
fn several_outputs_of_different_shapes_run_as_passes() {
    check(
        "graph @m(%x: f32[129, 17], %r: f32[129, 1]) -> (f32[129, 17], f32[129, 1]) {
  %a = exp %x : f32[129, 17]
  %s = tanh %r : f32[129, 1]
  %y = mul %a, %s : f32[129, 17]
  return %y, %s
}",
    );
}

#[test]
fn views_of_inputs_become_access_patterns() {
    check(
        "graph @v(%x: f32[2, 3, 40], %y: f32[40, 6]) -> (f32[6, 40]) {
  %r = reshape %x {shape = [6, 40]} : f32[6, 40]
  %t = transpose %y {perm = [1, 0]} : f32[6, 40]
  %s = slice %t {axes = [1], starts = [39], ends = [-1], steps = [-1]} : f32[6, 40]
  %z = add %r, %s : f32[6, 40]
  return %z
}",
    );
}

/// Copy groups: a view of an input that is itself a graph output is a
/// kernel node of its own (the planner's copy anchor).
#[test]
fn views_that_are_outputs_are_copies() {
    let g = parse(
        "graph @layout(%x: f32[2, 3, 4], %y: f32[2, 1, 4]) -> (f32[4, 2, 3], f32[3, 2, 2, 4], f32[2, 3, 2]) {
  %t = transpose %x {perm = [2, 0, 1]} : f32[4, 2, 3]
  %sq = squeeze %y {axes = [1]} : f32[2, 4]
  %u = unsqueeze %sq {axes = [0, 2]} : f32[1, 2, 1, 4]
  %e = expand %u {shape = [3, 1, 2, 1]} : f32[3, 2, 2, 4]
  %s = slice %x {axes = [2], starts = [3], ends = [-1], steps = [-2]} : f32[2, 3, 2]
  return %t, %e, %s
}",
    );
    let inputs = trnc_ir::random::random_inputs(&g, 3).unwrap();
    let want = trnc_backend_cpu::run(&g, &inputs).unwrap();
    for (k, name) in ["t", "e", "s"].iter().enumerate() {
        let out = g.find_value(name).unwrap();
        let node = g.producers()[out.index()].unwrap();
        let src = g.inputs[if *name == "e" { 1 } else { 0 }];
        let spec = trnc_kernels::GroupSpec {
            graph: &g,
            nodes: &[node],
            inputs: &[src],
            outputs: &[out],
            name: format!("copy_{name}"),
        };
        let kernel = trnc_kernels::lower_group(&spec, trnc_ir::Target::Trn2).unwrap_or_else(|e| panic!("{e}"));
        let x = inputs[if *name == "e" { 1 } else { 0 }].clone();
        let got = trnc_backend_neuron::simulate(&kernel, trnc_ir::Target::Trn2, &[x]).unwrap();
        assert_eq!(got[0], want[k], "%{name}");
    }
}

#[test]
fn concat_copies_each_operand_into_its_slice() {
    let cases = [
        (1, "[2, 3, 4]", "[2, 1, 4]", "[2, 4, 4]"),
        (0, "[129, 5]", "[200, 5]", "[329, 5]"),
        (2, "[3, 4, 517]", "[3, 4, 1]", "[3, 4, 518]"),
    ];
    for (axis, a, b, c) in cases {
        let g = parse(&format!(
            "graph @cat(%x: f32{a}, %y: f32{b}) -> (f32{c}) {{
  %c = concat %x, %y {{axis = {axis}}} : f32{c}
  return %c
}}"
        ));
        let (_, got, want) = run(&g, trnc_ir::Target::Trn2, 2);
        assert_eq!(got, want);
    }
    // Operands read through views, one of them broadcast.
    let g = parse(
        "graph @catv(%x: f32[4, 3], %y: f32[1, 4]) -> (f32[4, 5]) {
  %t = transpose %x {perm = [1, 0]} : f32[3, 4]
  %tt = transpose %t {perm = [1, 0]} : f32[4, 3]
  %e = expand %y {shape = [2, 4]} : f32[2, 4]
  %et = transpose %e {perm = [1, 0]} : f32[4, 2]
  %c = concat %tt, %et {axis = 1} : f32[4, 5]
  return %c
}",
    );
    let (_, got, want) = run(&g, trnc_ir::Target::Trn2, 2);
    assert_eq!(got, want);
}
