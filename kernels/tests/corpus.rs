//! The repository's corpus graphs whose ops all belong to one kernel kind,
//! lowered as one group each and checked against the reference.

mod common;

use common::*;

fn corpus(name: &str) -> String {
    let path = format!("{}/../tests/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn elementwise_corpus() {
    check(&corpus("elementwise.trn"));
}

#[test]
fn softmax_in_primitives() {
    check(&corpus("softmax_primitives.trn"));
}

#[test]
fn layernorm_in_primitives() {
    check(&corpus("layernorm_primitives.trn"));
}

#[test]
fn composites() {
    check(&corpus("composites.trn"));
}

#[test]
fn dtypes_without_the_i64_part() {
    // dtypes.trn with its i64 input narrowed to i32 (NKI has no i64) and
    // the integer division dropped (the engines have no integer divide).
    let src = corpus("dtypes.trn").replace("i64", "i32").replace(
        "  %two = const i32[] 2\n  %idv = div %im, %two : i32[4, 6]\n  %ineg = neg %idv : i32[4, 6]\n",
        "  %ineg = neg %im : i32[4, 6]\n",
    );
    assert!(!src.contains("div"), "the corpus changed; update this test");
    check(&src);
}
