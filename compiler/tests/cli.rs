//! The `trnc` binary as a user meets it: help text, exit codes (0 success,
//! 1 failure while running, 2 bad input or usage) and no panics.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use trnc_ir::Tensor;

fn trnc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trnc"))
        .args(args)
        .current_dir(workspace())
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("trnc runs")
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("trnc-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn help_shows_examples_and_exit_codes() {
    let o = trnc(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Examples:") && text.contains("trnc run") && text.contains("Exit codes"), "{text}");
    for sub in ["check", "run"] {
        let o = trnc(&[sub, "--help"]);
        assert_eq!(o.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&o.stdout).contains("Example"), "{sub} --help has no example");
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["frobnicate"],
        vec!["run", "tests/corpus/mlp.trn"],
        vec!["run", "tests/corpus/mlp.trn", "--output-dir", "x", "--backend", "tpu"],
        vec!["check", "tests/corpus/symbolic.trn", "--dim", "batch"],
    ] {
        let o = trnc(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn missing_and_unknown_files_exit_2_naming_the_file() {
    let o = trnc(&["check", "no/such/model.trn"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no/such/model.trn"), "{}", stderr(&o));
    let o = trnc(&["check", "README.md"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown model format"), "{}", stderr(&o));
}

#[test]
fn every_malformed_file_exits_2_without_panicking() {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(workspace().join("tests/errors")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 25);
    for f in files {
        let rel = f.strip_prefix(workspace()).unwrap().to_str().unwrap().to_string();
        for args in [vec!["check", &rel], vec!["run", &rel, "--random-inputs", "0", "--output-dir", "/tmp/trnc-never"]]
        {
            let o = trnc(&args);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.starts_with("error:") && !err.contains("internal compiler error"), "{args:?}: {err}");
        }
    }
}

#[test]
fn check_writes_text_and_side_file_that_load_back_identically() {
    let dir = temp_dir("check");
    let out = dir.join("copy.trn");
    let o = trnc(&["check", "tests/corpus/mlp.trn", "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(dir.join("copy.safetensors").exists());
    let original = trnc(&["check", "tests/corpus/mlp.trn"]);
    let copy = trnc(&["check", out.to_str().unwrap()]);
    assert_eq!(copy.status.code(), Some(0), "{}", stderr(&copy));
    let (a, b) = (String::from_utf8_lossy(&original.stdout), String::from_utf8_lossy(&copy.stdout));
    assert_eq!(a, b);
    // Byte-identical output on a second run.
    let again = dir.join("again.trn");
    trnc(&["check", "tests/corpus/mlp.trn", "-o", again.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(dir.join("copy.safetensors")).unwrap(),
        std::fs::read(dir.join("again.safetensors")).unwrap()
    );
}

#[test]
fn run_input_errors_exit_2() {
    let dir = temp_dir("inputs");
    let d = dir.to_str().unwrap();
    let o = trnc(&["run", "tests/corpus/mlp.trn", "--output-dir", d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no value for input 'x'"), "{}", stderr(&o));
    let o = trnc(&["run", "tests/corpus/mlp.trn", "--input", "z=z.npy", "--output-dir", d]);
    assert_eq!(o.status.code(), Some(2));
    let bad = dir.join("bad.npy");
    std::fs::write(&bad, b"not numpy").unwrap();
    let o = trnc(&["run", "tests/corpus/mlp.trn", "--input", &format!("x={}", bad.display()), "--output-dir", d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a valid .npy file"), "{}", stderr(&o));
    let wrong = dir.join("wrong.npy");
    trnc::npy::write_npy(&wrong, &Tensor::from_f32(vec![2, 2], vec![1.0; 4])).unwrap();
    let o = trnc(&["run", "tests/corpus/mlp.trn", "--input", &format!("x={}", wrong.display()), "--output-dir", d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("[2, 2]"), "{}", stderr(&o));
}

#[test]
fn failure_while_running_exits_1() {
    let dir = temp_dir("runfail");
    let ids = dir.join("ids.npy");
    // Token id 99 is outside the 50-row table: the model is fine, the data is not.
    trnc::npy::write_npy(&ids, &Tensor::from_i64(vec![2, 7], vec![99; 14])).unwrap();
    let o = trnc(&[
        "run",
        "tests/corpus/embedding.trn",
        "--input",
        &format!("ids={}", ids.display()),
        "--output-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("99"), "{}", stderr(&o));
}

#[test]
fn run_writes_every_output_deterministically() {
    let a = temp_dir("det-a");
    let b = temp_dir("det-b");
    for d in [&a, &b] {
        let o =
            trnc(&["run", "tests/corpus/composites.trn", "--random-inputs", "3", "--output-dir", d.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    for name in ["sm", "lsm", "ln", "rms", "inputs/x", "inputs/scale", "inputs/bias"] {
        let f = format!("{name}.npy");
        assert_eq!(std::fs::read(a.join(&f)).unwrap(), std::fs::read(b.join(&f)).unwrap(), "{f}");
    }
}
