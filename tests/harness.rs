//! Shared helpers for trnc's workspace tests. Tests run with the current
//! directory at `tests/`, so paths in snapshots are relative and the same
//! on every machine.

use std::path::{Path, PathBuf};
use trnc::{load_model, LoadOptions};
use trnc_ir::Graph;

/// Files with extension `ext` in the folder `dir` (relative to `tests/`), sorted.
pub fn files_in(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(ext))
        .collect();
    out.sort();
    out
}

/// Loads a model, binding the symbolic dimensions the corpus uses.
pub fn load(path: &Path) -> Result<Graph, trnc::Error> {
    let mut options = LoadOptions::default();
    options.dims.insert("batch".into(), 3);
    load_model(path, &options)
}

/// Relative L2 error ||got - want|| / ||want|| over all elements (NaNs in the
/// same places count as equal).
pub fn rel_l2(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len(), "element counts differ");
    let (mut num, mut den) = (0.0, 0.0);
    for (&g, &w) in got.iter().zip(want) {
        if g.is_nan() && w.is_nan() {
            continue;
        }
        num += (g - w) * (g - w);
        den += w * w;
    }
    if den == 0.0 {
        num.sqrt()
    } else {
        (num / den).sqrt()
    }
}
