//! Run-time errors and edge cases of the reference backend: what must be
//! a clean `RunError` (never a panic), and values worked out by hand.

use trnc_backend_cpu::{eval_op, run, RunError};
use trnc_ir::text::parse_graph;
use trnc_ir::{verify, DType, Data, Graph, Op, ReduceOp, Tensor, TensorType};

fn graph(src: &str) -> Graph {
    let g = parse_graph(src, "test.trn", &mut |k, _| Err(format!("no @{k}"))).unwrap_or_else(|e| panic!("{e}")).graph;
    verify(&g).unwrap_or_else(|e| panic!("{e}"));
    g
}

fn run_err(g: &Graph, inputs: &[Tensor]) -> RunError {
    match run(g, inputs) {
        Ok(out) => panic!("expected an error, got {out:?}"),
        Err(e) => e,
    }
}

#[test]
fn input_count_and_types_are_checked() {
    let g = graph("graph @g(%x: f32[2, 3]) -> (f32[2, 3]) {\n %y = exp %x : f32[2, 3]\n return %y\n}");
    let e = run_err(&g, &[]);
    assert_eq!(e.node, None);
    assert!(e.message.contains("1 input(s), got 0"), "{}", e.message);

    let e = run_err(&g, &[Tensor::from_f32(vec![3, 2], vec![0.0; 6])]);
    assert_eq!(e.node, None);
    assert!(
        e.message.contains("%x") && e.message.contains("f32[3, 2]") && e.message.contains("f32[2, 3]"),
        "{}",
        e.message
    );

    let e = run_err(&g, &[Tensor::from_i64(vec![2, 3], vec![0; 6])]);
    assert!(e.message.contains("i64[2, 3]") && e.message.contains("f32[2, 3]"), "{}", e.message);
}

#[test]
fn gather_out_of_range_names_index_and_axis() {
    let g = graph(
        "graph @g(%x: f32[3, 2], %i: i64[2]) -> (f32[2, 2]) {\n %a = exp %x : f32[3, 2]\n \
         %y = gather %a, %i {axis = 0} : f32[2, 2]\n return %y\n}",
    );
    let x = Tensor::from_f32(vec![3, 2], vec![1.0; 6]);
    let e = run_err(&g, &[x.clone(), Tensor::from_i64(vec![2], vec![0, 3])]);
    assert_eq!(e.node, Some(1));
    assert!(e.message.contains("index 3") && e.message.contains("axis 0 of size 3"), "{}", e.message);
    let e = run_err(&g, &[x.clone(), Tensor::from_i64(vec![2], vec![-4, 0])]);
    assert!(e.message.contains("index -4"), "{}", e.message);
    assert!(run(&g, &[x, Tensor::from_i64(vec![2], vec![-3, 2])]).is_ok());
}

#[test]
fn integer_division_by_zero_is_an_error() {
    let g = graph("graph @g(%a: i64[2], %b: i64[2]) -> (i64[2]) {\n %y = div %a, %b : i64[2]\n return %y\n}");
    let e = run_err(&g, &[Tensor::from_i64(vec![2], vec![1, 2]), Tensor::from_i64(vec![2], vec![1, 0])]);
    assert_eq!(e.node, Some(0));
    assert!(e.message.contains("division by zero"), "{}", e.message);
    // i64::MIN / -1 wraps rather than panicking.
    let out =
        run(&g, &[Tensor::from_i64(vec![2], vec![i64::MIN, -7]), Tensor::from_i64(vec![2], vec![-1, 2])]).unwrap();
    assert_eq!(out[0].data(), &Data::I64(vec![i64::MIN, -3]));
}

#[test]
fn reductions_over_an_empty_axis() {
    let x = Tensor::from_f32(vec![2, 0], vec![]);
    let out = TensorType::new(DType::F32, &[2]);
    let reduce = |op| Op::Reduce { op, axes: vec![1], keep_dims: false };
    let sum = eval_op(&reduce(ReduceOp::Sum), &[&x], &out).unwrap();
    assert_eq!(sum.data(), &Data::Float(vec![0.0, 0.0]));
    let mean = eval_op(&reduce(ReduceOp::Mean), &[&x], &out).unwrap();
    assert!(mean.to_f64_vec().iter().all(|m| m.is_nan()));
    let e = eval_op(&reduce(ReduceOp::Max), &[&x], &out).unwrap_err();
    assert_eq!(e, "reduce_max over an empty axis");
    let e = eval_op(&reduce(ReduceOp::Min), &[&x], &out).unwrap_err();
    assert_eq!(e, "reduce_min over an empty axis");
}

#[test]
fn eval_op_checks_the_declared_type() {
    let x = Tensor::from_f32(vec![2], vec![1.0, 2.0]);
    let e = eval_op(&Op::Unary(trnc_ir::UnaryOp::Exp), &[&x], &TensorType::new(DType::F32, &[3])).unwrap_err();
    assert!(e.contains("f32[2]") && e.contains("f32[3]"), "{e}");
    let e = eval_op(&Op::MatMul, &[&x], &TensorType::new(DType::F32, &[])).unwrap_err();
    assert!(e.contains("operand"), "{e}");
}

#[test]
fn empty_tensors_flow_through_every_kind_of_op() {
    let g = graph(
        "graph @g(%x: f32[3, 4], %e: f32[0, 4], %i: i64[0]) \
         -> (f32[0, 4], f32[3, 4], f32[0, 4], f32[3, 3], f32[3]) {\n\
         %s = slice %x {axes = [0], starts = [-1], ends = [-1], steps = [-1]} : f32[0, 4]\n\
         %c = concat %e, %x {axis = 0} : f32[3, 4]\n\
         %g = gather %x, %i {axis = 0} : f32[0, 4]\n\
         %z = slice %x {axes = [1], starts = [2], ends = [2]} : f32[3, 0]\n\
         %t = transpose %z {perm = [1, 0]} : f32[0, 3]\n\
         %m = matmul %z, %t : f32[3, 3]\n\
         %r = reduce_sum %z {axes = [1]} : f32[3]\n\
         return %s, %c, %g, %m, %r\n}",
    );
    let x = Tensor::from_f32(vec![3, 4], (0..12).map(|v| v as f32).collect());
    let e = Tensor::from_f32(vec![0, 4], vec![]);
    let out = run(&g, &[x.clone(), e, Tensor::from_i64(vec![0], vec![])]).unwrap();
    assert!(out[0].is_empty() && out[2].is_empty());
    assert_eq!(out[1], x);
    assert_eq!(out[3].data(), &Data::Float(vec![0.0; 9]), "a sum of no products is 0");
    assert_eq!(out[4].data(), &Data::Float(vec![0.0; 3]));
}

#[test]
fn integer_casts_wrap_and_clips_stay_exact() {
    // numpy: np.array([2**31, -2**63, -5]).astype(np.int32) == [-2**31, 0, -5]
    let x = Tensor::from_i64(vec![3], vec![i64::from(i32::MAX) + 1, i64::MIN, -5]);
    let to_i32 = Op::Cast { to: DType::I32, saturate: false };
    let y = eval_op(&to_i32, &[&x], &TensorType::new(DType::I32, &[3])).unwrap();
    assert_eq!(y.data(), &Data::I32(vec![i32::MIN, 0, -5]));

    let big = Tensor::from_i64(vec![3], vec![(1 << 60) + 1, -(1 << 60) - 1, 3]);
    let clip = Op::Clip { min: None, max: Some(2f64.powi(60)) };
    let y = eval_op(&clip, &[&big], &big.ty()).unwrap();
    assert_eq!(y.data(), &Data::I64(vec![1 << 60, -(1 << 60) - 1, 3]), "clamped in exact integers");
    let nan = Op::Clip { min: Some(f64::NAN), max: None };
    assert!(eval_op(&nan, &[&big], &big.ty()).is_err(), "a NaN bound is a type error");
}

#[test]
fn bf16_results_round_to_nearest_even() {
    let bf16 = |v: f32| Tensor::new(DType::BF16, vec![1], Data::Float(vec![v])).unwrap();
    let add = Op::Binary(trnc_ir::BinaryOp::Add);
    let one = bf16(1.0);
    // 1 + 2^-8 is the midpoint of 1 and 1 + 2^-7: ties go to even (1).
    let y = eval_op(&add, &[&one, &bf16(2f32.powi(-8))], &one.ty()).unwrap();
    assert_eq!(y.get_f64(0), 1.0);
    // Just above the midpoint rounds up.
    let y = eval_op(&add, &[&one, &bf16(2f32.powi(-8) + 2f32.powi(-15))], &one.ty()).unwrap();
    assert_eq!(y.get_f64(0), 1.0 + 2f64.powi(-7));
}
