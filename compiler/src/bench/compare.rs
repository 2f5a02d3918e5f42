//! Comparing a run with the baseline.
//!
//! Deterministic figures are exact: every step in the bad direction fails,
//! named by model, target, kernel and figure. Wall-clock figures are ratios
//! against the baseline's medians, flagged only beyond a noise threshold,
//! in the manner of tract's bench thresholds: a ratio is a regression when
//! it exceeds 1 + max(FLOOR, K x noise), where the noise is measured from
//! the repeated runs (this invocation's, or the baseline's if larger), and
//! figures below MIN_MS are not gated (timer resolution and scheduling
//! jitter dominate them).

use crate::bench::figures::{Better, FigureSpec, KERNEL_FIGURES, MODEL_FIGURES};
use crate::bench::results::Results;
use crate::bench::wallclock::WallClock;

/// Relative difference below which two deterministic figures are the same:
/// serde_json parses floats to within one unit in the last place, not
/// exactly, so a figure read back from the baseline may differ by that.
const SAME: f64 = 1e-9;
/// A wall-clock ratio must beat K x the measured noise...
pub const K: f64 = 3.0;
/// ...and at least this much, for a machine that looked noiseless.
pub const FLOOR: f64 = 0.10;
/// Medians below this (ms) are recorded but not gated.
pub const MIN_MS: f64 = 2.0;

#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub model: String,
    pub target: Option<String>,
    pub kernel: Option<String>,
    pub figure: String,
    pub baseline: f64,
    pub current: f64,
    /// Wall clock only: the ratio the figure had to beat.
    pub threshold: Option<f64>,
}

impl Finding {
    pub fn describe(&self) -> String {
        let mut at = self.model.clone();
        if let Some(t) = &self.target {
            at.push_str(&format!(" on {t}"));
        }
        if let Some(k) = &self.kernel {
            at.push_str(&format!(", kernel {k}"));
        }
        let change = if self.baseline != 0.0 {
            format!(" ({:+.2}%)", 100.0 * (self.current / self.baseline - 1.0))
        } else {
            String::new()
        };
        let limit =
            self.threshold.map(|t| format!(", beyond the noise threshold of {:+.1}%", 100.0 * t)).unwrap_or_default();
        format!("{at}: {} {} -> {}{change}{limit}", self.figure, fmt(self.baseline), fmt(self.current))
    }
}

/// Integers as such; other values to 6 decimals without trailing zeros.
fn fmt(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        let s = format!("{x:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparison {
    pub regressions: Vec<Finding>,
    pub improvements: Vec<Finding>,
    /// Figures without a good direction that changed, and other remarks.
    pub notes: Vec<String>,
    /// Wall clock: every ratio compared, gated or not.
    pub ratios: Vec<Ratio>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ratio {
    pub model: String,
    pub figure: String,
    pub ratio: f64,
    pub threshold: f64,
    pub gated: bool,
}

impl Comparison {
    pub fn passed(&self) -> bool {
        self.regressions.is_empty()
    }

    pub fn extend(&mut self, other: Comparison) {
        self.regressions.extend(other.regressions);
        self.improvements.extend(other.improvements);
        self.notes.extend(other.notes);
        self.ratios.extend(other.ratios);
    }
}

fn differs(a: f64, b: f64) -> bool {
    (a - b).abs() > SAME * a.abs().max(b.abs())
}

/// Compares figure lists of the same specs; `kernel` names the kernel.
fn compare_values(
    specs: &[FigureSpec],
    base: &[f64],
    cur: &[f64],
    at: (&str, &str, Option<&str>),
    out: &mut Comparison,
) {
    for ((spec, &b), &c) in specs.iter().zip(base).zip(cur) {
        if !differs(b, c) {
            continue;
        }
        let finding = Finding {
            model: at.0.to_string(),
            target: Some(at.1.to_string()),
            kernel: at.2.map(str::to_string),
            figure: spec.name.to_string(),
            baseline: b,
            current: c,
            threshold: None,
        };
        let worse = match spec.better {
            Better::Lower => c > b,
            Better::Higher => c < b,
            Better::Either => {
                out.notes.push(format!("changed: {}", finding.describe()));
                continue;
            }
        };
        if worse {
            out.regressions.push(finding);
        } else {
            out.improvements.push(finding);
        }
    }
}

/// Deterministic figures of every model and target in `current` against
/// `baseline`. Per-kernel figures are compared when both runs have the
/// same kernels (by name, in order); when the kernel list changed, the
/// model's totals still are.
pub fn compare_deterministic(baseline: &Results, current: &Results) -> Comparison {
    let mut out = Comparison::default();
    for cur in &current.deterministic {
        let Some(base) = baseline.figures(&cur.model, &cur.target) else {
            out.notes.push(format!("{} on {}: not in the baseline (new)", cur.model, cur.target));
            continue;
        };
        compare_values(MODEL_FIGURES, &base.values, &cur.values, (&cur.model, &cur.target, None), &mut out);
        let names =
            |f: &crate::bench::figures::ModelFigures| f.kernels.iter().map(|k| k.name.clone()).collect::<Vec<_>>();
        if names(base) != names(cur) {
            let (b, c) = (names(base), names(cur));
            let gone: Vec<&String> = b.iter().filter(|n| !c.contains(n)).collect();
            let new: Vec<&String> = c.iter().filter(|n| !b.contains(n)).collect();
            out.notes.push(format!(
                "{} on {}: the kernels changed ({} -> {}; gone: {}; new: {}), so only the model's totals are compared",
                cur.model,
                cur.target,
                b.len(),
                c.len(),
                list(&gone),
                list(&new)
            ));
            continue;
        }
        for (bk, ck) in base.kernels.iter().zip(&cur.kernels) {
            compare_values(KERNEL_FIGURES, &bk.values, &ck.values, (&cur.model, &cur.target, Some(&ck.name)), &mut out);
        }
    }
    for base in &baseline.deterministic {
        let ran_model = current.models.iter().any(|m| m.name == base.model && m.skipped.is_none());
        let ran_target = current.targets.contains(&base.target);
        if ran_model && ran_target && current.figures(&base.model, &base.target).is_none() {
            out.notes.push(format!("{} on {}: in the baseline but not measured", base.model, base.target));
        }
    }
    for m in &current.models {
        if let Some(why) = &m.skipped {
            if baseline.deterministic.iter().any(|f| f.model == m.name) {
                out.notes.push(format!("{}: not compared, skipped: {why}", m.name));
            }
        }
    }
    out
}

fn list(names: &[&String]) -> String {
    if names.is_empty() {
        return "none".to_string();
    }
    let shown: Vec<&str> = names.iter().take(4).map(|s| s.as_str()).collect();
    let more = if names.len() > 4 { format!(" and {} more", names.len() - 4) } else { String::new() };
    format!("{}{more}", shown.join(", "))
}

/// Wall-clock medians as ratios current / baseline.
pub fn compare_wall_clock(baseline: &WallClock, current: &WallClock) -> Comparison {
    let mut out = Comparison::default();
    for t in &current.timings {
        let Some(b) = baseline.get(&t.model, &t.figure) else {
            continue;
        };
        if b.median_ms <= 0.0 {
            continue;
        }
        let ratio = t.sample.median_ms / b.median_ms;
        let threshold = FLOOR.max(K * t.sample.noise.max(b.noise));
        // onnxruntime is measured for the side-by-side, not as trnc's figure.
        let gated = b.median_ms >= MIN_MS && !t.figure.starts_with("onnxruntime");
        out.ratios.push(Ratio { model: t.model.clone(), figure: t.figure.clone(), ratio, threshold, gated });
        if !gated {
            continue;
        }
        let finding = Finding {
            model: t.model.clone(),
            target: None,
            kernel: None,
            figure: format!("{} median ms", t.figure),
            baseline: b.median_ms,
            current: t.sample.median_ms,
            threshold: Some(threshold),
        };
        if ratio > 1.0 + threshold {
            out.regressions.push(finding);
        } else if ratio < 1.0 / (1.0 + threshold) {
            out.improvements.push(finding);
        }
    }
    out
}
