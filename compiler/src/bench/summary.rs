//! The Markdown summary of a run (`<date>-<commit>.md`, `summary.md`) and
//! the headline numbers README shows.

use crate::bench::compare::{Comparison, FLOOR, K, MIN_MS};
use crate::bench::results::Results;
use crate::bench::wallclock::{WallClock, COMPILE_TARGET};
use crate::bench::zoo::{self, Purpose};
use std::fmt::Write;
use std::path::Path;

/// The model whose figures head the summary, and its stand-in when its
/// ONNX file has not been built.
const MINILM: &str = "all_minilm_l6_v2";
const MINILM_LAYER: &str = "minilm_encoder_x1";
const HEADLINE_MATMULS: [&str; 2] = ["matmul_4096_bf16", "matmul_tutorial_bf16"];
/// The NKI tutorial's fastest hand-written version of its matmul, 6.97 ms
/// on one Trn1 core (trainium.md §3.3; `cost::calibration`).
const TUTORIAL_BEST_TRN1_MS: f64 = 6.97;

pub struct CompareInfo<'a> {
    pub baseline_path: &'a str,
    pub baseline: &'a Results,
    pub comparison: &'a Comparison,
}

fn us(ns: f64) -> String {
    format!("{:.1}", ns / 1e3)
}

fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

/// One line per headline number, as Markdown list items.
pub fn headline(r: &Results) -> String {
    let mut s = String::new();
    let est = |model: &str, target: &str| r.figures(model, target);
    if let Some(w) = &r.wall_clock {
        if let Some(c) = w.get(MINILM, "compile") {
            let ort = w.get(MINILM, "onnxruntime:session");
            let side = ort
                .map(|o| {
                    format!(
                        "; onnxruntime {} creates its session (ORT_ENABLE_ALL) in {:.1} ms: trnc takes {:.2}x its time",
                        w.onnxruntime_version.as_deref().unwrap_or("?"),
                        o.median_ms,
                        c.median_ms / o.median_ms
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "- all-MiniLM-L6-v2 (sequence 128) compiles in **{:.1} ms** (median of {}, {}){side}.",
                c.median_ms, c.runs, r.host
            );
        }
        let depth: Vec<(usize, f64)> = [1, 6, 24]
            .iter()
            .filter_map(|&n| w.get(&format!("minilm_encoder_x{n}"), "compile").map(|c| (n, c.median_ms)))
            .collect();
        if depth.len() == 3 {
            let _ = writeln!(
                s,
                "- Compile time by depth (MiniLM-sized encoder layers): 1 layer {:.1} ms, 6 layers {:.1} ms ({:.1}x), 24 layers {:.1} ms ({:.1}x).",
                depth[0].1,
                depth[1].1,
                depth[1].1 / depth[0].1,
                depth[2].1,
                depth[2].1 / depth[0].1
            );
        }
    }
    for (model, what) in [(MINILM, "all-MiniLM-L6-v2 (sequence 128)"), (MINILM_LAYER, "one MiniLM encoder layer")] {
        if let Some(f) = est(model, "trn2") {
            let _ = writeln!(
                s,
                "- {what} on Trn2, by the cost model: **{} µs** in {} kernels, {}% of TensorE peak, HBM traffic {:.2}x the minimum.",
                us(f.get("time_ns")),
                f.get("lowered_kernels"),
                pct(f.get("tensor_peak_fraction")),
                f.get("hbm_over_minimum")
            );
        }
    }
    for model in HEADLINE_MATMULS {
        if let Some(f) = est(model, "trn2") {
            let about = zoo::find(model).map_or(model, |m| m.about);
            let _ = writeln!(
                s,
                "- {about} on Trn2: **{:.3} ms**, {}% of TensorE peak.",
                f.get("time_ns") / 1e6,
                pct(f.get("tensor_peak_fraction"))
            );
        }
    }
    if let Some(f) = est("matmul_tutorial_bf16", "trn1") {
        let _ = writeln!(
            s,
            "- The same tutorial matmul on Trn1: {:.3} ms, against {TUTORIAL_BEST_TRN1_MS} ms for the tutorial's best hand-written kernel ({:.1}x).",
            f.get("time_ns") / 1e6,
            f.get("time_ns") / 1e6 / TUTORIAL_BEST_TRN1_MS
        );
    }
    s
}

fn deterministic_tables(r: &Results, s: &mut String) {
    for target in &r.targets {
        let _ = writeln!(s, "\n### Cost model on {target}\n");
        s.push_str("| model | kernels planned / lowered | time (µs) | GFLOP | HBM (MiB) | × minimum | TensorE peak % | HBM bandwidth % | SBUF high-water (KiB/partition) |\n");
        s.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for f in r.deterministic.iter().filter(|f| &f.target == target) {
            let _ = writeln!(
                s,
                "| {} | {} / {} | {} | {:.3} | {:.2} | {:.2} | {} | {} | {:.1} |",
                f.model,
                f.get("planned_kernels"),
                f.get("lowered_kernels"),
                us(f.get("time_ns")),
                f.get("flops") / 1e9,
                f.get("hbm_bytes") / (1024.0 * 1024.0),
                f.get("hbm_over_minimum"),
                pct(f.get("tensor_peak_fraction")),
                pct(f.get("hbm_bandwidth_fraction")),
                f.get("sbuf_high_water_bytes") / 1024.0
            );
        }
    }
}

/// Where the time goes: the kernels that take the largest share of their
/// model's time on trn2 (per-kernel figures are in the JSON).
fn heaviest_kernels(r: &Results, s: &mut String) {
    let mut rows: Vec<(f64, &str, &crate::bench::figures::KernelFigures, f64)> = Vec::new();
    for f in r.deterministic.iter().filter(|f| f.target == "trn2") {
        let total = f.get("time_ns");
        for k in &f.kernels {
            rows.push((k.get("time_ns") / total.max(1.0), &f.model, k, total));
        }
    }
    if rows.is_empty() {
        return;
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.3.total_cmp(&a.3)));
    s.push_str("\n### The heaviest kernels on trn2\n\nThe kernel that takes the largest share of each model's time (every kernel is in the JSON).\n\n");
    s.push_str("| model | kernel | time (µs) | share | critical engine | TensorE peak % | HBM bandwidth % |\n");
    s.push_str("| --- | --- | ---: | ---: | --- | ---: | ---: |\n");
    let mut seen = Vec::new();
    for (share, model, k, _) in rows {
        if seen.contains(&model) {
            continue;
        }
        seen.push(model);
        let _ = writeln!(
            s,
            "| {model} | {} | {} | {:.0}% | {} | {} | {} |",
            k.name,
            us(k.get("time_ns")),
            100.0 * share,
            k.critical_engine,
            pct(k.get("tensor_peak_fraction")),
            pct(k.get("hbm_bandwidth_fraction"))
        );
    }
}

fn stage_sum(w: &WallClock, model: &str, prefix: &str) -> Option<f64> {
    let v: Vec<f64> = w
        .timings
        .iter()
        .filter(|t| t.model == model && t.figure.starts_with(prefix))
        .map(|t| t.sample.median_ms)
        .collect();
    (!v.is_empty()).then(|| v.iter().sum())
}

fn wall_clock_tables(r: &Results, w: &WallClock, s: &mut String) {
    let cell = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{v:.2}"));
    let _ = writeln!(
        s,
        "\n## Wall clock\n\nMedians of {} runs after a warm-up, in ms, on {} (commit {}); compile = load + passes + `build_program` (fusion, lowering to kernel IR for {}) + emission (the NKI directory, as `trnc compile --emit nki` writes it: kernels, model.py, weights, report). ± is the runs' robust relative spread (1.4826 × MAD / median).\n",
        w.runs,
        r.host,
        r.wall_clock_commit.as_deref().unwrap_or(&r.commit),
        COMPILE_TARGET.name()
    );
    s.push_str("| model | compile | ± | load | passes | build_program | emit | reference run | sim run |\n");
    s.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for m in &r.models {
        let Some(c) = w.get(&m.name, "compile") else { continue };
        let get = |f: &str| w.get(&m.name, f).map(|x| x.median_ms);
        let _ = writeln!(
            s,
            "| {} | {:.2} | {:.1}% | {} | {} | {} | {} | {} | {} |",
            m.name,
            c.median_ms,
            100.0 * c.noise,
            cell(get("load")),
            cell(stage_sum(w, &m.name, "pass")),
            cell(get("build_program")),
            cell(get("emit")),
            cell(get("run:reference")),
            cell(get("run:sim"))
        );
    }
    let ort: Vec<_> = w.timings.iter().filter(|t| t.figure == "onnxruntime:session").collect();
    if !ort.is_empty() {
        let _ = writeln!(
            s,
            "\n### trnc compile vs onnxruntime {} session creation (ORT_ENABLE_ALL, one thread)\n",
            w.onnxruntime_version.as_deref().unwrap_or("?")
        );
        s.push_str("| model | trnc compile (ms) | onnxruntime session (ms) | trnc / onnxruntime |\n| --- | ---: | ---: | ---: |\n");
        for t in ort {
            if let Some(c) = w.get(&t.model, "compile") {
                let _ = writeln!(
                    s,
                    "| {} | {:.2} | {:.2} | {:.2} |",
                    t.model,
                    c.median_ms,
                    t.sample.median_ms,
                    c.median_ms / t.sample.median_ms
                );
            }
        }
    }
    depth_table(w, s);
    if !w.skipped.is_empty() {
        s.push_str("\nNot measured:\n\n");
        for why in &w.skipped {
            let _ = writeln!(s, "- {why}");
        }
    }
}

/// Compile time of the 1-, 6- and 24-layer encoders, per stage, so that a
/// stage that grows faster than the depth stands out.
fn depth_table(w: &WallClock, s: &mut String) {
    let models: Vec<&str> = zoo::ZOO.iter().filter(|m| m.purpose == Purpose::Depth).map(|m| m.name).collect();
    let Some(first) = models.first().and_then(|m| w.get(m, "compile")) else { return };
    let layers = |m: &str| m.rsplit('x').next().and_then(|n| n.parse::<f64>().ok()).unwrap_or(1.0);
    s.push_str("\n### Compile time by depth\n\nLinear growth keeps ms per layer flat; the last columns are the stages' growth from the shallowest model, against the growth in layers.\n\n");
    s.push_str("| model | layers | compile (ms) | ms per layer | growth | load | passes | build_program | emit |\n");
    s.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    let base_layers = layers(models[0]);
    let stage = |m: &str, f: &str| if f == "pass" { stage_sum(w, m, "pass") } else { w.get(m, f).map(|x| x.median_ms) };
    for m in &models {
        let Some(c) = w.get(m, "compile") else { continue };
        let n = layers(m);
        let growth = |f: &str| match (stage(m, f), stage(models[0], f)) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.1}x", a / b),
            _ => "–".to_string(),
        };
        let _ = writeln!(
            s,
            "| {m} | {n} | {:.2} | {:.2} | {:.1}x for {:.0}x layers | {} | {} | {} | {} |",
            c.median_ms,
            c.median_ms / n,
            c.median_ms / first.median_ms,
            n / base_layers,
            growth("load"),
            growth("pass"),
            growth("build_program"),
            growth("emit")
        );
    }
}

fn comparison_section(info: &CompareInfo, s: &mut String) {
    let c = info.comparison;
    let verdict = if c.passed() { "**passed**" } else { "**FAILED**" };
    let _ = writeln!(
        s,
        "\n## Against the baseline\n\n{verdict}: compared with `{}` (commit {}, {}): {} regressions, {} improvements.\n",
        info.baseline_path,
        info.baseline.commit,
        info.baseline.date,
        c.regressions.len(),
        c.improvements.len()
    );
    let mut list = |title: &str, items: Vec<String>, cap: usize| {
        if items.is_empty() {
            return;
        }
        let _ = writeln!(s, "{title}:\n");
        for i in items.iter().take(cap) {
            let _ = writeln!(s, "- {i}");
        }
        if items.len() > cap {
            let _ = writeln!(s, "- … and {} more", items.len() - cap);
        }
        s.push('\n');
    };
    list("Regressions", c.regressions.iter().map(|f| f.describe()).collect(), 200);
    list("Improvements", c.improvements.iter().map(|f| f.describe()).collect(), 30);
    list("Notes", c.notes.clone(), 30);
    let gated: Vec<_> = c.ratios.iter().filter(|r| r.gated).collect();
    if !gated.is_empty() {
        let _ = writeln!(
            s,
            "Wall-clock ratios (current / baseline; flagged beyond 1 + max({:.0}%, {K} × noise); medians under {MIN_MS} ms are not gated):\n",
            100.0 * FLOOR
        );
        s.push_str("| model | figure | ratio | threshold |\n| --- | --- | ---: | ---: |\n");
        for r in gated {
            let _ = writeln!(s, "| {} | {} | {:.3} | {:.3} |", r.model, r.figure, r.ratio, 1.0 + r.threshold);
        }
    }
}

/// Medians of the criterion benches found under `target/criterion`
/// (`cargo bench -p trnc --bench compile`), as (bench id, ms).
pub fn criterion_medians(root: &Path) -> Vec<(String, f64)> {
    fn walk(dir: &Path, out: &mut Vec<(String, f64)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() && p.file_name().is_some_and(|n| n == "new") {
                let read = |f: &str| {
                    std::fs::read_to_string(p.join(f))
                        .ok()
                        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                };
                if let (Some(b), Some(est)) = (read("benchmark.json"), read("estimates.json")) {
                    let id = b.get("full_id").and_then(|v| v.as_str()).unwrap_or("").to_string();
                    if let Some(ns) = est.pointer("/median/point_estimate").and_then(|v| v.as_f64()) {
                        out.push((id, ns / 1e6));
                    }
                }
            } else if p.is_dir() && p.file_name().is_some_and(|n| n != "report" && n != "base") {
                walk(&p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root.join("target/criterion"), &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

pub fn markdown(r: &Results, compare: Option<&CompareInfo>, criterion: &[(String, f64)]) -> String {
    let mut s = format!(
        "# trnc bench: {} (commit {}{})\n\nGenerated by `trnc bench`; the figures are in [{}.json]({}.json). History: [history.svg](history.svg).\n\n## Headline\n\n",
        r.date,
        r.commit,
        if r.dirty { ", with uncommitted changes" } else { "" },
        r.file_stem(),
        r.file_stem()
    );
    s.push_str(&headline(r));
    s.push_str("\n## Zoo\n\n| model | source | dims | what |\n| --- | --- | --- | --- |\n");
    for m in &r.models {
        let about = zoo::find(&m.name).map_or("", |z| z.about);
        let what = match &m.skipped {
            Some(why) => format!("{about} — **skipped**: {why}"),
            None => about.to_string(),
        };
        let _ = writeln!(s, "| {} | `{}` | {} | {what} |", m.name, m.source, m.dims);
    }
    s.push_str(
        "\n## Deterministic figures\n\nFrom the kernels `build_program` lowers and the cost model's estimate of each (no clock involved: any change is the compiler's). \
Kernels planned are fusion groups; a group `kernels/` cannot build whole is lowered in parts. × minimum is HBM traffic over inputs and weights read once and outputs written once. \
Fractions are time-weighted over the kernels; SBUF high-water is the largest kernel's static allocation.\n",
    );
    deterministic_tables(r, &mut s);
    heaviest_kernels(r, &mut s);
    if let Some(info) = compare {
        comparison_section(info, &mut s);
    }
    match &r.wall_clock {
        Some(w) => wall_clock_tables(r, w, &mut s),
        None => s.push_str("\n## Wall clock\n\nNot measured in this run (`trnc bench --wall-clock`).\n"),
    }
    s.push_str("\n## Criterion benches\n\nPer-stage micro-benchmarks of the compile pipeline (import, each pass, lowering, emission) on the MiniLM models: `cargo bench -p trnc --bench compile`; HTML reports in `target/criterion/report/index.html`.\n");
    if !criterion.is_empty() {
        s.push_str("\nMedians found in `target/criterion` when this summary was written:\n\n| bench | median (ms) |\n| --- | ---: |\n");
        for (id, ms) in criterion {
            let _ = writeln!(s, "| {id} | {ms:.3} |");
        }
    }
    s
}
