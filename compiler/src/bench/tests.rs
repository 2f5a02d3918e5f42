//! The runner must fail on a worse figure and name where it is, pass on an
//! unchanged run, and keep what it did not measure in the baseline.

use super::compare::{compare_deterministic, compare_wall_clock, FLOOR};
use super::results::{utc_date, Results};
use super::wallclock::{Sample, Timing, WallClock};
use super::*;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn options(models: &[&str], out: &Path) -> BenchOptions {
    BenchOptions {
        root: root(),
        targets: vec![Target::Trn2],
        models: models.iter().map(|m| m.to_string()).collect(),
        wall_clock: false,
        runs: 3,
        compare: None,
        update_baseline: false,
        out: out.to_path_buf(),
    }
}

fn measured(models: &[&str]) -> Results {
    measure(&options(models, Path::new("unused")), &mut |_| {}).unwrap()
}

/// Through the JSON text and back, as a committed baseline is read.
fn round_trip(r: &Results) -> Results {
    let text = results::to_text(&r.to_json());
    Results::from_json(&serde_json::from_str(&text).unwrap()).unwrap()
}

#[test]
fn a_slower_kernel_fails_naming_model_kernel_and_figure() {
    let baseline = round_trip(&measured(&["mlp"]));
    let unchanged = measured(&["mlp"]);
    let c = compare_deterministic(&baseline, &unchanged);
    assert!(c.passed(), "{:?}", c.regressions);
    assert!(c.improvements.is_empty() && c.notes.is_empty(), "{c:?}");

    let mut worse = unchanged.clone();
    let kernel = {
        let f = &mut worse.deterministic[0];
        let k = f.kernels.iter_mut().max_by(|a, b| a.get("time_ns").total_cmp(&b.get("time_ns"))).unwrap();
        k.set("time_ns", k.get("time_ns") * 1.1);
        k.name.clone()
    };
    let c = compare_deterministic(&baseline, &worse);
    assert!(!c.passed());
    assert_eq!(c.regressions.len(), 1, "{:?}", c.regressions);
    let message = c.regressions[0].describe();
    assert!(message.starts_with(&format!("mlp on trn2, kernel {kernel}: time_ns ")), "{message}");
    assert!(message.contains("(+10.00%)"), "{message}");
}

#[test]
fn better_figures_pass_and_are_listed() {
    let baseline = measured(&["softmax"]);
    let mut better = baseline.clone();
    let f = &mut better.deterministic[0];
    f.set("hbm_bytes", f.get("hbm_bytes") - 1.0);
    f.set("tensor_peak_fraction", f.get("tensor_peak_fraction") + 0.01);
    let c = compare_deterministic(&baseline, &better);
    assert!(c.passed());
    let figures: Vec<&str> = c.improvements.iter().map(|i| i.figure.as_str()).collect();
    assert_eq!(figures, ["hbm_bytes", "tensor_peak_fraction"]);
}

#[test]
fn a_lower_fraction_of_peak_and_more_sbuf_are_worse() {
    let baseline = measured(&["softmax"]);
    let mut worse = baseline.clone();
    let f = &mut worse.deterministic[0];
    f.set("tensor_peak_fraction", f.get("tensor_peak_fraction") - 0.01);
    f.set("sbuf_high_water_bytes", f.get("sbuf_high_water_bytes") + 512.0);
    let c = compare_deterministic(&baseline, &worse);
    let figures: Vec<&str> = c.regressions.iter().map(|i| i.figure.as_str()).collect();
    assert_eq!(figures, ["tensor_peak_fraction", "sbuf_high_water_bytes"]);
    assert!(c.regressions.iter().all(|r| r.kernel.is_none()));
}

#[test]
fn a_changed_kernel_list_compares_the_totals_only() {
    let baseline = measured(&["mlp"]);
    let mut current = baseline.clone();
    let k = &mut current.deterministic[0].kernels[0];
    k.name.push_str("_renamed");
    k.set("time_ns", k.get("time_ns") * 2.0);
    let c = compare_deterministic(&baseline, &current);
    assert!(c.passed(), "{:?}", c.regressions);
    assert!(c.notes.iter().any(|n| n.contains("the kernels changed")), "{:?}", c.notes);
    let f = &mut current.deterministic[0];
    f.set("time_ns", f.get("time_ns") + 1.0);
    let c = compare_deterministic(&baseline, &current);
    assert_eq!(c.regressions.len(), 1);
    assert_eq!(c.regressions[0].figure, "time_ns");
}

#[test]
fn figures_are_reproducible() {
    let a = measured(&["attention_s128", "layer_norm"]);
    let b = measured(&["attention_s128", "layer_norm"]);
    assert_eq!(a.deterministic, b.deterministic);
    assert_eq!(round_trip(&a).deterministic.len(), a.deterministic.len());
}

fn wall(model: &str, median_ms: f64, noise: f64) -> WallClock {
    let sample = Sample { median_ms, noise, min_ms: median_ms, max_ms: median_ms, runs: 5 };
    WallClock {
        runs: 5,
        timings: vec![Timing { model: model.into(), figure: "compile".into(), sample }],
        ..Default::default()
    }
}

#[test]
fn wall_clock_ratios_are_gated_beyond_the_noise() {
    // Within the floor: passes.
    assert!(compare_wall_clock(&wall("m", 100.0, 0.01), &wall("m", 100.0 * (1.0 + FLOOR / 2.0), 0.01)).passed());
    // Beyond the floor, quiet machine: fails, named.
    let c = compare_wall_clock(&wall("m", 100.0, 0.01), &wall("m", 130.0, 0.01));
    assert_eq!(c.regressions.len(), 1);
    assert!(
        c.regressions[0].describe().starts_with("m: compile median ms 100 -> 130"),
        "{}",
        c.regressions[0].describe()
    );
    // The same step on a noisy machine (3 x 15% > 30%): passes.
    assert!(compare_wall_clock(&wall("m", 100.0, 0.01), &wall("m", 130.0, 0.15)).passed());
    // Too short to time: recorded, not gated.
    let c = compare_wall_clock(&wall("m", 0.5, 0.0), &wall("m", 5.0, 0.0));
    assert!(c.passed() && !c.ratios[0].gated);
}

#[test]
fn noise_is_the_robust_spread_of_the_runs() {
    let s = Sample::from_runs(&[10.0, 11.0, 9.0, 10.0, 30.0]);
    assert_eq!(s.median_ms, 10.0);
    assert!((s.noise - 1.4826 * 1.0 / 10.0).abs() < 1e-12, "{}", s.noise);
    assert_eq!((s.min_ms, s.max_ms, s.runs), (9.0, 30.0, 5));
}

#[test]
fn a_filtered_baseline_update_keeps_what_it_did_not_measure() {
    let old = measured(&["softmax", "layer_norm"]);
    let mut new = measured(&["softmax"]);
    new.deterministic[0].set("time_ns", 1.0);
    let merged = merge_baseline(Some(&old), &new);
    let models: Vec<&str> = merged.deterministic.iter().map(|f| f.model.as_str()).collect();
    assert_eq!(models, ["softmax", "layer_norm"]);
    assert_eq!(merged.deterministic[0].get("time_ns"), 1.0);
    assert_eq!(merged.models.len(), 2);
}

#[test]
fn a_missing_optional_model_is_skipped_and_kept_in_the_baseline() {
    let mut old = measured(&["softmax"]);
    old.models[0].name = "all_minilm_l6_v2".into();
    old.deterministic[0].model = "all_minilm_l6_v2".into();
    let mut new = measured(&["softmax"]);
    new.models.push(results::ModelEntry {
        name: "all_minilm_l6_v2".into(),
        source: "x.onnx".into(),
        dims: String::new(),
        skipped: Some("missing".into()),
    });
    let c = compare_deterministic(&old, &new);
    assert!(c.passed());
    assert!(c.notes.iter().any(|n| n.contains("skipped: missing")), "{:?}", c.notes);
    let merged = merge_baseline(Some(&old), &new);
    assert!(merged.figures("all_minilm_l6_v2", "trn2").is_some());
    assert!(merged.models.iter().all(|m| m.skipped.is_none()));
}

#[test]
fn dates_are_civil_utc() {
    assert_eq!(utc_date(0), "1970-01-01");
    assert_eq!(utc_date(951_782_400), "2000-02-29");
    assert_eq!(utc_date(1_767_225_599), "2025-12-31");
}

#[test]
fn a_run_writes_results_and_a_baseline_it_then_passes() {
    let out = std::env::temp_dir().join(format!("trnc-bench-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let mut o = options(&["softmax"], &out);
    o.update_baseline = true;
    let first = run(&o, &mut |_| {}).unwrap();
    assert!(first.passed());
    let baseline = out.join("baseline.json");
    assert!(baseline.exists() && out.join("summary.md").exists() && out.join("history.svg").exists());
    let svg = std::fs::read_to_string(out.join("history.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("Cost-model time on Trn2"), "{svg}");
    o.update_baseline = false;
    o.compare = Some(baseline);
    let second = run(&o, &mut |_| {}).unwrap();
    assert!(second.passed(), "{}", report(&second));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("**passed**") && md.contains("| softmax |"), "{md}");
    std::fs::remove_dir_all(&out).unwrap();
}
