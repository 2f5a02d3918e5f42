//! Row kernels (softmax, log_softmax, layer_norm, rms_norm, reductions)
//! against the reference backend, with tail row tiles, long rows that are
//! chunked, and reductions over leading axes.

mod common;

use common::*;

const SHAPES: [(usize, usize); 6] = [(1, 1), (37, 517), (129, 1000), (200, 37), (1000, 129), (3, 200)];

#[test]
fn softmax_and_log_softmax() {
    for (r, c) in SHAPES {
        check(&format!(
            "graph @s(%x: f32[{r}, {c}]) -> (f32[{r}, {c}], f32[{r}, {c}]) {{
  %y = softmax %x {{axis = 1}} : f32[{r}, {c}]
  %z = log_softmax %x {{axis = 1}} : f32[{r}, {c}]
  return %y, %z
}}"
        ));
    }
}

#[test]
fn layer_norm_and_rms_norm_with_affine() {
    for (r, c) in SHAPES {
        check(&format!(
            "graph @n(%x: f32[{r}, {c}], %g: f32[{c}], %b: f32[{c}]) -> (f32[{r}, {c}], f32[{r}, {c}]) {{
  %y = layer_norm %x, %g, %b {{axis = 1, epsilon = 1e-5}} : f32[{r}, {c}]
  %z = rms_norm %x, %g {{axis = 1, epsilon = 1e-6}} : f32[{r}, {c}]
  return %y, %z
}}"
        ));
    }
}

#[test]
fn reductions_keep_dims_or_not() {
    for (r, c) in SHAPES {
        check(&format!(
            "graph @r(%x: f32[{r}, {c}]) -> (f32[{r}, 1], f32[{r}], f32[{r}, 1], f32[{r}, 1]) {{
  %s = reduce_sum %x {{axes = [1], keep_dims = true}} : f32[{r}, 1]
  %m = reduce_mean %x {{axes = [1], keep_dims = false}} : f32[{r}]
  %hi = reduce_max %x {{axes = [1], keep_dims = true}} : f32[{r}, 1]
  %lo = reduce_min %x {{axes = [1], keep_dims = true}} : f32[{r}, 1]
  return %s, %m, %hi, %lo
}}"
        ));
    }
}

#[test]
fn prologue_and_epilogue_around_the_anchor() {
    // A residual add before layer_norm (both written), a gelu after it.
    check(
        "graph @blk(%x: f32[129, 200], %h: f32[129, 200], %g: f32[200], %b: f32[200]) -> (f32[129, 200], f32[129, 200]) {
  %r = add %x, %h : f32[129, 200]
  %n = layer_norm %r, %g, %b {axis = 1, epsilon = 1e-5} : f32[129, 200]
  %y = gelu %n : f32[129, 200]
  return %r, %y
}",
    );
}

#[test]
fn per_row_values_feed_the_epilogue() {
    // Softmax spelled with primitives: per-row max and sum used along rows.
    check(
        "graph @sp(%x: f32[200, 37]) -> (f32[200, 37], f32[200, 1]) {
  %m = reduce_max %x {axes = [1], keep_dims = true} : f32[200, 1]
  %d = sub %x, %m : f32[200, 37]
  %e = exp %d : f32[200, 37]
  %s = reduce_sum %e {axes = [1], keep_dims = true} : f32[200, 1]
  %ls = log %s : f32[200, 1]
  %y = div %e, %s : f32[200, 37]
  return %y, %ls
}",
    );
}

#[test]
fn reduce_without_keep_dims_then_elementwise() {
    check(
        "graph @rk(%x: f32[37, 129], %v: f32[37]) -> (f32[37], f32[37, 129]) {
  %m = reduce_mean %x {axes = [1], keep_dims = false} : f32[37]
  %t = mul %m, %v : f32[37]
  %u = unsqueeze %t {axes = [1]} : f32[37, 1]
  %y = sub %x, %u : f32[37, 129]
  return %t, %y
}",
    );
}

#[test]
fn trailing_axes_of_rank_three() {
    check(
        "graph @t3(%x: f32[3, 5, 8], %s: f32[8], %b: f32[8]) -> (f32[3, 5, 8], f32[3, 5, 8], f32[3, 5, 8]) {
  %lsm = log_softmax %x {axis = 2} : f32[3, 5, 8]
  %ln = layer_norm %x, %s, %b {axis = 2, epsilon = 1e-5} : f32[3, 5, 8]
  %rms = rms_norm %x, %s {axis = -1, epsilon = 1e-6} : f32[3, 5, 8]
  return %lsm, %ln, %rms
}",
    );
    // Normalising over the last two axes.
    check(
        "graph @t2(%x: f32[6, 37, 11], %s: f32[37, 11]) -> (f32[6, 37, 11]) {
  %ln = layer_norm %x, %s {axis = 1, epsilon = 1e-5} : f32[6, 37, 11]
  return %ln
}",
    );
}

#[test]
fn reductions_over_leading_axes_and_middle_softmax() {
    // The composites corpus: softmax over a middle axis next to trailing ones.
    check(
        "graph @composites(%x: f32[3, 5, 8], %scale: f32[8], %bias: f32[8]) -> (f32[3, 5, 8], f32[3, 5, 8], f32[3, 5, 8], f32[3, 5, 8]) {
  %sm = softmax %x {axis = 1} : f32[3, 5, 8]
  %lsm = log_softmax %x {axis = 2} : f32[3, 5, 8]
  %ln = layer_norm %x, %scale, %bias {axis = 2, epsilon = 1e-5} : f32[3, 5, 8]
  %rms = rms_norm %x, %scale {axis = -1, epsilon = 1e-6} : f32[3, 5, 8]
  return %sm, %lsm, %ln, %rms
}",
    );
    check(
        "graph @cols(%x: f32[517, 37]) -> (f32[1, 37], f32[37]) {
  %h = tanh %x : f32[517, 37]
  %mx = reduce_max %h {axes = [0], keep_dims = true} : f32[1, 37]
  %s = reduce_sum %h {axes = [0], keep_dims = false} : f32[37]
  return %mx, %s
}",
    );
}

#[test]
fn shared_producer_in_two_row_layouts() {
    check(
        "graph @shared_producer(%x: f32[16, 32]) -> (f32[16, 1], f32[1, 32]) {
  %h = tanh %x : f32[16, 32]
  %rows = reduce_sum %h {axes = [1], keep_dims = true} : f32[16, 1]
  %cols = reduce_max %h {axes = [0], keep_dims = true} : f32[1, 32]
  return %rows, %cols
}",
    );
}

#[test]
fn long_rows_are_chunked_not_rejected() {
    // 20000 f32 per row: the exp and the softmax do not fit resident.
    let k = check(
        "graph @wide(%x: f32[130, 20000]) -> (f32[130, 20000]) {
  %e = exp %x : f32[130, 20000]
  %y = softmax %e {axis = 1} : f32[130, 20000]
  return %y
}",
    );
    assert!(k.sbuf_bytes_per_partition() <= trnc_ir::Target::Trn2.sbuf_bytes_per_partition());
    // Past the engines' 64 Ki elements per access: always chunked.
    check(
        "graph @longer(%x: f32[2, 70001], %g: f32[70001]) -> (f32[2, 70001], f32[2, 70001], f32[2, 1], f32[2, 70001], f32[2, 1]) {
  %y = layer_norm %x, %g {axis = 1, epsilon = 1e-5} : f32[2, 70001]
  %z = log_softmax %x {axis = 1} : f32[2, 70001]
  %r = reduce_mean %x {axes = [1], keep_dims = true} : f32[2, 1]
  %k = const f32[] 30.0
  %big = mul %x, %k : f32[2, 70001]
  %s = softmax %big {axis = 1} : f32[2, 70001]
  %m = reduce_max %s {axes = [1], keep_dims = true} : f32[2, 1]
  return %y, %z, %r, %s, %m
}",
    );
}

#[test]
fn trn1_has_less_sbuf_and_still_fits() {
    check_on(
        "graph @t1(%x: f32[129, 30000], %g: f32[30000]) -> (f32[129, 30000]) {
  %y = rms_norm %x, %g {axis = 1, epsilon = 1e-6} : f32[129, 30000]
  return %y
}",
        trnc_ir::Target::Trn1,
        3,
    );
}

#[test]
fn bf16_rows_round_like_the_reference() {
    check(
        "graph @b(%x: bf16[129, 200]) -> (bf16[129, 200], bf16[129, 1]) {
  %y = softmax %x {axis = 1} : bf16[129, 200]
  %s = reduce_sum %x {axes = [1], keep_dims = true} : bf16[129, 1]
  return %y, %s
}",
    );
}

#[test]
fn scalars_and_empty_tensors() {
    check(
        "graph @sc(%x: f32[517], %s: f32[]) -> (f32[], f32[], f32[517]) {
  %t = reduce_sum %x {axes = [0], keep_dims = false} : f32[]
  %u = mul %t, %s : f32[]
  %y = softmax %x {axis = 0} : f32[517]
  return %t, %u, %y
}",
    );
    check(
        "graph @z(%x: f32[0, 5]) -> (f32[0, 5]) {
  %e = exp %x : f32[0, 5]
  return %e
}",
    );
    let g = parse(
        "graph @z(%y: f32[3, 0]) -> (f32[3, 1]) {
  %s = reduce_sum %y {axes = [1], keep_dims = true} : f32[3, 1]
  return %s
}",
    );
    let e = lower(&g, trnc_ir::Target::Trn2).unwrap_err();
    assert!(e.to_string().contains("empty axis"), "{e}");
}

#[test]
fn every_target() {
    for target in trnc_ir::Target::ALL {
        check_on(
            "graph @all(%x: f32[200, 517], %g: f32[517]) -> (f32[200, 517], f32[200, 517]) {
  %s = softmax %x {axis = 1} : f32[200, 517]
  %n = layer_norm %x, %g {axis = 1, epsilon = 1e-5} : f32[200, 517]
  %c = cos %n : f32[200, 517]
  return %s, %c
}",
            target,
            1,
        );
    }
}
