//! Groups the generators do not lower say which op and node, and why.

mod common;

use common::*;
use trnc_ir::Target;

fn message(src: &str) -> String {
    let g = parse(src);
    match lower(&g, Target::Trn2) {
        Ok(k) => panic!("lowering @{} should fail, got kernel @{}", g.name, k.name),
        Err(e) => e.to_string(),
    }
}

#[test]
fn gather_epilogue_with_tokens_over_two_axes_is_not_fused_yet() {
    let m = message(
        "graph @emb(%t: f32[50, 8], %i: i32[2, 7], %p: f32[7, 8]) -> (f32[2, 7, 8]) {
  %g = gather %t, %i {axis = 0} : f32[2, 7, 8]
  %y = add %g, %p : f32[2, 7, 8]
  return %y
}",
    );
    assert!(m.contains("not implemented yet: an epilogue after a gather along axis 0 with indices [2, 7]"), "{m}");
}

#[test]
fn i64_has_no_nki_dtype() {
    let m = message(
        "graph @i(%x: i64[4]) -> (i64[4]) {
  %y = neg %x : i64[4]
  return %y
}",
    );
    assert!(m.contains("i64"), "{m}");
}

#[test]
fn integer_division_is_refused() {
    let m = message(
        "graph @d(%x: i32[4], %y: i32[4]) -> (i32[4]) {
  %q = div %x, %y : i32[4]
  return %q
}",
    );
    assert!(m.contains("node 0 `%q = div %x, %y`") && m.contains("integer"), "{m}");
}

#[test]
fn reshape_of_a_transposed_input_that_merges_axes() {
    let m = message(
        "graph @r(%x: f32[4, 6], %y: f32[24]) -> (f32[24]) {
  %t = transpose %x {perm = [1, 0]} : f32[6, 4]
  %f = reshape %t {shape = [24]} : f32[24]
  %z = add %f, %y : f32[24]
  return %z
}",
    );
    assert!(m.contains("non-contiguous"), "{m}");
}

#[test]
fn a_transposed_view_of_a_computed_value() {
    let m = message(
        "graph @tv(%x: f32[4, 4]) -> (f32[4, 4]) {
  %e = exp %x : f32[4, 4]
  %t = transpose %e {perm = [1, 0]} : f32[4, 4]
  %z = add %t, %x : f32[4, 4]
  return %z
}",
    );
    assert!(m.contains("rearranges a value computed on chip"), "{m}");
}

#[test]
fn per_row_values_cannot_change_row_layout() {
    let m = message(
        "graph @two(%x: f32[8, 8]) -> (f32[8, 8]) {
  %r = reduce_sum %x {axes = [1], keep_dims = true} : f32[8, 1]
  %c = reduce_sum %x {axes = [0], keep_dims = true} : f32[1, 8]
  %z = add %r, %c : f32[8, 8]
  return %z
}",
    );
    assert!(m.contains("different rows"), "{m}");
}

#[test]
fn malformed_specs_are_errors_not_panics() {
    let g = parse(
        "graph @e(%x: f32[4]) -> (f32[4]) {
  %y = exp %x : f32[4]
  return %y
}",
    );
    let x = g.inputs[0];
    let y = g.outputs[0];
    let cases: Vec<(Vec<usize>, Vec<trnc_ir::ValueId>, Vec<trnc_ir::ValueId>)> = vec![
        (vec![], vec![x], vec![y]),
        (vec![5], vec![x], vec![y]),
        (vec![0], vec![], vec![y]),
        (vec![0], vec![x], vec![x]),
        (vec![0], vec![x, y], vec![y]),
        (vec![0], vec![trnc_ir::ValueId(99)], vec![y]),
    ];
    for (nodes, inputs, outputs) in cases {
        let spec =
            trnc_kernels::GroupSpec { graph: &g, nodes: &nodes, inputs: &inputs, outputs: &outputs, name: "e".into() };
        assert!(trnc_kernels::lower_group(&spec, Target::Trn2).is_err());
    }
}
