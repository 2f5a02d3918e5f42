//! The shape of generated kernels: tile sizes, loops over full tiles with
//! a tail, DMA sizes, SBUF use.

mod common;

use common::*;
use trnc_ir::kernel::{Inst, Kernel, Operand, Stmt};
use trnc_ir::Target;

fn dmas(body: &[Stmt], out: &mut Vec<(usize, usize)>) {
    for s in body {
        match s {
            Stmt::Inst { inst: Inst::DmaCopy { dst: Operand::Tile(t), .. }, .. } => {
                out.push((t.partitions, t.free_elements()))
            }
            Stmt::Inst { .. } => {}
            Stmt::Loop { body, .. } => dmas(body, out),
        }
    }
}

fn loads(k: &Kernel) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    dmas(&k.body, &mut out);
    out
}

fn trip_counts(body: &[Stmt], out: &mut Vec<usize>) {
    for s in body {
        if let Stmt::Loop { count, body, .. } = s {
            out.push(*count);
            trip_counts(body, out);
        }
    }
}

#[test]
fn rows_go_on_128_partitions_with_a_tail_tile() {
    let g = parse(
        "graph @s(%x: f32[1000, 129]) -> (f32[1000, 129]) {
  %y = softmax %x {axis = 1} : f32[1000, 129]
  return %y
}",
    );
    let k = lower(&g, Target::Trn2).unwrap();
    assert!(k.tiles.iter().all(|t| t.shape[0] <= 128));
    let mut trips = Vec::new();
    trip_counts(&k.body, &mut trips);
    assert_eq!(trips, vec![7], "7 full tiles of 128 rows in a loop");
    assert_eq!(loads(&k), vec![(128, 129), (104, 129)], "then a tail tile of 104 rows");
}

#[test]
fn large_elementwise_streams_at_least_2_kib_per_partition() {
    let g = parse(
        "graph @e(%x: f32[1000, 1000], %b: f32[1000]) -> (f32[1000, 1000]) {
  %y = add %x, %b : f32[1000, 1000]
  %z = exp %y : f32[1000, 1000]
  return %z
}",
    );
    let k = lower(&g, Target::Trn2).unwrap();
    // The bias is the same for every row tile: loaded once, before the loop.
    let first = &k.body[0];
    assert!(matches!(first, Stmt::Inst { inst: Inst::DmaCopy { .. }, note: Some(n) } if n == "load %b"), "{first:?}");
    let l = loads(&k);
    assert!(l.iter().any(|&(p, _)| p == 128));
    for (parts, free) in l {
        assert!(
            free * 4 >= 2048 || parts * free < 128 * 512,
            "[{parts}, {free}]: {free} f32 per partition is less than 2 KiB (trainium.md §1.6)"
        );
    }
}

#[test]
fn kernels_fit_sbuf_and_name_their_ops() {
    let g = parse(
        "graph @n(%x: f32[64, 20000], %g: f32[20000]) -> (f32[64, 20000]) {
  %e = exp %x : f32[64, 20000]
  %y = layer_norm %e, %g {axis = 1, epsilon = 1e-5} : f32[64, 20000]
  return %y
}",
    );
    for target in Target::ALL {
        let k = lower(&g, target).unwrap();
        assert!(k.sbuf_bytes_per_partition() <= target.sbuf_bytes_per_partition());
        assert_eq!(k.origin, vec!["%e = exp %x".to_string(), "%y = layer_norm %e, %g".to_string()]);
        assert_eq!(k.inputs.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), vec!["x", "g"]);
        assert_eq!(k.outputs[0].shape, vec![64, 20000]);
    }
}

#[test]
fn bn_stats_chunks_are_at_most_512() {
    let g = parse(
        "graph @n(%x: f32[3, 1300]) -> (f32[3, 1300]) {
  %y = layer_norm %x {axis = 1, epsilon = 1e-5} : f32[3, 1300]
  return %y
}",
    );
    let k = lower(&g, Target::Trn2).unwrap();
    assert_eq!(count_insts(&k.body, "bn_stats"), 3, "512 + 512 + 276");
    assert_eq!(count_insts(&k.body, "bn_aggr"), 1);
}
