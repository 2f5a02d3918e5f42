//! Runs every golden case in `tests/golden/cases` (written by
//! `tests/golden/make_goldens.py` from numpy, ml_dtypes and Python's math
//! module) and compares with the recorded expectation.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use trnc_ir::text::parse_graph;
use trnc_ir::{verify, BinaryOp, DType, Data, Graph, Op, ReduceOp, Tensor, TensorType, UnaryOp};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/cases")
}

/// How a case's outputs are compared, from its `// check:` line.
#[derive(Debug)]
enum Check {
    /// Same bits in every element (NaN matches any NaN).
    Exact,
    /// Relative L2 error of the finite elements at most this; non-finite
    /// elements must match exactly.
    RelL2(f64),
}

fn parse_check(src: &str) -> Result<Check, String> {
    let line = src.lines().find_map(|l| l.strip_prefix("// check: ")).ok_or("no '// check:' line")?;
    match line.split_whitespace().collect::<Vec<_>>()[..] {
        ["exact"] => Ok(Check::Exact),
        ["rel_l2", tol] => tol.parse().map(Check::RelL2).map_err(|e| format!("bad tolerance: {e}")),
        _ => Err(format!("unknown check '{line}'")),
    }
}

/// Reads a .npy file as a tensor of type `ty`. bf16 and fp8 tensors are
/// stored as float32; their values must already be exact in the dtype.
fn read_npy(path: &Path, ty: &TensorType) -> Result<Tensor, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| e.to_string())?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    if npy.order() != npyz::Order::C || Ok(&shape) != ty.shape().as_ref() {
        return Err(format!("{}: shape {shape:?} is not the graph's {ty}", path.display()));
    }
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    let data = match ty.dtype {
        DType::I64 => Data::I64(npy.into_vec().map_err(err)?),
        DType::I32 => Data::I32(npy.into_vec().map_err(err)?),
        DType::Bool => Data::Bool(npy.into_vec().map_err(err)?),
        _ => Data::Float(npy.into_vec().map_err(err)?),
    };
    let t = Tensor::new(ty.dtype, shape, data.clone()).map_err(|e| e.0)?;
    if !same_data(t.data(), &data) {
        return Err(format!("{}: values are not exact in {}", path.display(), ty.dtype));
    }
    Ok(t)
}

fn same_float(a: f32, b: f32) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn same_data(a: &Data, b: &Data) -> bool {
    match (a, b) {
        (Data::Float(x), Data::Float(y)) => x.len() == y.len() && x.iter().zip(y).all(|(&p, &q)| same_float(p, q)),
        _ => a == b,
    }
}

/// One element, printed exactly (an i64 beyond 2^53 has no exact f64).
fn element(t: &Tensor, i: usize) -> String {
    match t.data() {
        Data::Float(v) if v[i].is_nan() => "NaN".into(),
        Data::Float(v) => format!("{:?}", v[i]),
        Data::I64(v) => v[i].to_string(),
        Data::I32(v) => v[i].to_string(),
        Data::Bool(v) => v[i].to_string(),
    }
}

fn compare(got: &Tensor, want: &Tensor, check: &Check) -> Result<(), String> {
    if got.ty() != want.ty() {
        return Err(format!("got a {} tensor, expected {}", got.ty(), want.ty()));
    }
    let tol = match check {
        Check::RelL2(tol) if matches!(got.data(), Data::Float(_)) => *tol,
        _ => {
            if same_data(got.data(), want.data()) {
                return Ok(());
            }
            let i = (0..got.len()).find(|&i| element(got, i) != element(want, i)).unwrap_or(0);
            return Err(format!(
                "not exact: element {i} is {}, expected {}\n  got  {:?}\n  want {:?}",
                element(got, i),
                element(want, i),
                got.data(),
                want.data()
            ));
        }
    };
    let (mut err, mut norm) = (0.0f64, 0.0f64);
    for i in 0..got.len() {
        let (g, w) = (got.get_f64(i), want.get_f64(i));
        if !g.is_finite() || !w.is_finite() {
            if !((g.is_nan() && w.is_nan()) || g == w) {
                return Err(format!("element {i} is {g}, expected {w}"));
            }
            continue;
        }
        err += (g - w).powi(2);
        norm += w * w;
    }
    let rel = if norm == 0.0 { err.sqrt() } else { (err / norm).sqrt() };
    if rel > tol {
        return Err(format!(
            "relative L2 error {rel:e} exceeds {tol:e}\n  got  {:?}\n  want {:?}",
            got.data(),
            want.data()
        ));
    }
    Ok(())
}

fn run_case(trn: &Path) -> Result<Graph, String> {
    let src = std::fs::read_to_string(trn).map_err(|e| e.to_string())?;
    let check = parse_check(&src)?;
    let file = trn.display().to_string();
    let graph = parse_graph(&src, &file, &mut |key, _| Err(format!("no side file for @{key}")))
        .map_err(|e| e.to_string())?
        .graph;
    verify(&graph).map_err(|e| e.to_string())?;
    let stem = trn.with_extension("");
    let npy = |kind: &str, i: usize| PathBuf::from(format!("{}.{kind}{i}.npy", stem.display()));
    let inputs = graph
        .inputs
        .iter()
        .enumerate()
        .map(|(i, &v)| read_npy(&npy("in", i), graph.ty(v)))
        .collect::<Result<Vec<_>, _>>()?;
    let outputs = trnc_backend_cpu::run(&graph, &inputs).map_err(|e| format!("run failed: {e}"))?;
    for (i, (&v, got)) in graph.outputs.iter().zip(&outputs).enumerate() {
        let want = read_npy(&npy("out", i), graph.ty(v))?;
        compare(got, &want, &check).map_err(|e| format!("output {i}: {e}"))?;
    }
    Ok(graph)
}

/// A name for each op and attribute-free variant, to check coverage.
fn op_key(op: &Op) -> String {
    match op {
        Op::Unary(u) => format!("{u:?}"),
        Op::Binary(b) => format!("{b:?}"),
        Op::Reduce { op, .. } => format!("{op:?}"),
        other => other.name().to_string(),
    }
}

#[test]
fn golden_cases() {
    let mut trns: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/golden/cases exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "trn"))
        .collect();
    trns.sort();
    assert!(trns.len() >= 100, "only {} golden cases found", trns.len());
    let mut failures = Vec::new();
    let mut covered = BTreeSet::new();
    for trn in &trns {
        match run_case(trn) {
            Ok(g) => covered.extend(g.nodes.iter().map(|n| op_key(&n.op))),
            Err(e) => failures.push(format!("{}: {e}", trn.file_name().unwrap_or_default().to_string_lossy())),
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), trns.len(), failures.join("\n"));

    let mut all: BTreeSet<String> = UnaryOp::ALL.iter().map(|u| format!("{u:?}")).collect();
    all.extend(BinaryOp::ALL.iter().map(|b| format!("{b:?}")));
    all.extend(ReduceOp::ALL.iter().map(|r| format!("{r:?}")));
    let others = [
        "const",
        "leaky_relu",
        "where",
        "cast",
        "clip",
        "matmul",
        "softmax",
        "log_softmax",
        "layer_norm",
        "rms_norm",
        "transpose",
        "reshape",
        "expand",
        "squeeze",
        "unsqueeze",
        "slice",
        "concat",
        "gather",
    ];
    all.extend(others.iter().map(|s| s.to_string()));
    let missing: Vec<&String> = all.difference(&covered).collect();
    assert!(missing.is_empty(), "ops without a golden case: {missing:?}");
}
