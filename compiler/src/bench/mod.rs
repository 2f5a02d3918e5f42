//! `trnc bench`: performance regression runs.
//!
//! For every model of the zoo (`zoo.rs`) and every target, records the
//! deterministic figures of its compiled program (`figures.rs`: kernel
//! counts, HBM bytes against the minimum, cost-model time per kernel,
//! fractions of TensorE peak and HBM bandwidth, SBUF high-water mark) and,
//! on demand, wall-clock figures (`wallclock.rs`: compile time per model
//! and stage, CPU backend run times, onnxruntime beside trnc). Writes
//! `<out>/<date>-<commit>.json`, a Markdown summary (`summary.rs`) and the
//! history plot (`plot.rs`), and compares with a baseline (`compare.rs`):
//! any worse deterministic figure, or wall-clock ratio beyond its noise
//! threshold, fails the run.

pub mod cli;
pub mod compare;
pub mod figures;
pub mod plot;
pub mod results;
pub mod summary;
pub mod wallclock;
pub mod zoo;

#[cfg(test)]
mod tests;

use crate::Error;
use compare::{compare_deterministic, compare_wall_clock, Comparison};
use figures::{model_figures, optimise};
use results::{commit_of, host, utc_date, write_text, ModelEntry, Results};
use std::path::{Path, PathBuf};
use std::time::Instant;
use trnc_ir::Target;
use wallclock::WallClock;

pub struct BenchOptions {
    /// The workspace root: zoo paths, the venv and `target/criterion` are
    /// found from it.
    pub root: PathBuf,
    pub targets: Vec<Target>,
    /// Zoo model names; empty for all.
    pub models: Vec<String>,
    pub wall_clock: bool,
    pub runs: usize,
    pub compare: Option<PathBuf>,
    pub update_baseline: bool,
    pub out: PathBuf,
}

/// What a run found; `Err` from [`run`] only for errors, not regressions.
pub struct Outcome {
    pub results: Results,
    pub comparison: Option<Comparison>,
    pub written: Vec<PathBuf>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.comparison.as_ref().is_none_or(Comparison::passed)
    }
}

/// Measures the selected models: deterministic figures always, wall-clock
/// ones when asked. `log` gets one progress line per model.
pub fn measure(options: &BenchOptions, log: &mut dyn FnMut(&str)) -> Result<Results, Error> {
    let models = zoo::select(&options.models)?;
    let unix_time = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (commit, dirty) = commit_of(&options.root);
    let mut results = Results {
        date: utc_date(unix_time),
        unix_time,
        commit: commit.clone(),
        dirty,
        host: host(),
        targets: options.targets.iter().map(|t| t.name().to_string()).collect(),
        models: Vec::new(),
        deterministic: Vec::new(),
        wall_clock: None,
        wall_clock_commit: None,
    };
    let mut wall = WallClock { runs: options.runs, ..WallClock::default() };
    for model in models {
        let start = Instant::now();
        let mut entry =
            ModelEntry { name: model.name.to_string(), source: model.source(), dims: model.dims_text(), skipped: None };
        let Some(graph) = model.load(&options.root)? else {
            log(&format!("{}: skipped, {}", model.name, model.missing_note()));
            entry.skipped = Some(model.missing_note());
            results.models.push(entry);
            continue;
        };
        let optimised = optimise(&graph)?;
        for &target in &options.targets {
            let mut f = model_figures(model.name, &optimised, target)?;
            if !model.per_kernel {
                f.kernels.clear();
            }
            results.deterministic.push(f);
        }
        if options.wall_clock {
            wall.timings.extend(wallclock::measure_compile(model, &options.root, options.runs)?);
            let flops = match results.figures(model.name, wallclock::COMPILE_TARGET.name()) {
                Some(f) => f.get("flops"),
                None => model_figures(model.name, &optimised, wallclock::COMPILE_TARGET)?.get("flops"),
            };
            wallclock::measure_backends(model, &options.root, flops, options.runs, &mut wall)?;
            if model.file(&options.root).extension().is_some_and(|e| e == "onnx") {
                wallclock::measure_onnxruntime(model, &options.root, options.runs, &mut wall);
            }
        }
        log(&format!("{}: {:.2} s", model.name, start.elapsed().as_secs_f64()));
        results.models.push(entry);
    }
    if options.wall_clock {
        results.wall_clock = Some(wall);
        results.wall_clock_commit = Some(commit);
    }
    Ok(results)
}

/// The whole `trnc bench`: measure, compare, write, and refresh the
/// baseline when asked.
pub fn run(options: &BenchOptions, log: &mut dyn FnMut(&str)) -> Result<Outcome, Error> {
    let results = measure(options, log)?;
    let baseline_path = options.compare.clone().unwrap_or_else(|| options.out.join("baseline.json"));
    let baseline = if options.compare.is_some() || options.update_baseline {
        match Results::read(&baseline_path) {
            Ok(b) => Some(b),
            // A first baseline is written from nothing.
            Err(_) if options.update_baseline && !baseline_path.exists() => None,
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    let comparison = baseline.as_ref().map(|b| {
        let mut c = compare_deterministic(b, &results);
        if let (Some(bw), Some(cw)) = (&b.wall_clock, &results.wall_clock) {
            if b.host != results.host {
                c.notes.push(format!(
                    "wall clock: the baseline was measured on {}, this run on {}; ratios compare machines as well",
                    b.host, results.host
                ));
            }
            c.extend(compare_wall_clock(bw, cw));
        }
        c
    });

    let mut written = Vec::new();
    let out = &options.out;
    let json_path = out.join(format!("{}.json", results.file_stem()));
    results.write(&json_path)?;
    written.push(json_path);
    let info = baseline.as_ref().zip(comparison.as_ref()).map(|(b, c)| summary::CompareInfo {
        baseline_path: baseline_path.to_str().unwrap_or("baseline"),
        baseline: b,
        comparison: c,
    });
    let md = summary::markdown(&results, info.as_ref(), &summary::criterion_medians(&options.root));
    for name in [format!("{}.md", results.file_stem()), "summary.md".to_string()] {
        write_text(&out.join(&name), &md)?;
        written.push(out.join(name));
    }
    let svg = out.join("history.svg");
    plot::write_history_svg(&plot::history(out), &svg)?;
    written.push(svg);

    if options.update_baseline {
        let merged = merge_baseline(baseline.as_ref(), &results);
        merged.write(&baseline_path)?;
        written.push(baseline_path.clone());
        // README quotes the project's own baseline, not a scratch one (the
        // tests refresh baselines in temporary folders).
        let readme = options.root.join("README.md");
        let projects = options.root.join("bench-results").join("baseline.json");
        let same = |a: &std::path::Path, b: &std::path::Path| matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y);
        if same(&baseline_path, &projects) && update_readme(&readme, &merged)? {
            written.push(readme);
        }
    }
    Ok(Outcome { results, comparison, written })
}

/// The new baseline: this run's figures, plus the old baseline's for the
/// models and targets this run did not measure (a filtered run refreshes
/// only what it measured), and the old wall-clock figures when this run
/// has none.
pub fn merge_baseline(old: Option<&Results>, new: &Results) -> Results {
    let mut merged = new.clone();
    let Some(old) = old else { return merged };
    for f in &old.deterministic {
        if merged.figures(&f.model, &f.target).is_none() {
            merged.deterministic.push(f.clone());
        }
    }
    for m in &old.models {
        match merged.models.iter_mut().find(|n| n.name == m.name) {
            // Skipped now (an unbuilt cache) but measured then: the old
            // figures stay, and so does the entry saying they were measured.
            Some(n) if n.skipped.is_some() && m.skipped.is_none() => *n = m.clone(),
            Some(_) => {}
            None => merged.models.push(m.clone()),
        }
    }
    for t in &old.targets {
        if !merged.targets.contains(t) {
            merged.targets.push(t.clone());
        }
    }
    // Keep zoo order, then target order, so baseline diffs stay small.
    let rank = |name: &str| zoo::ZOO.iter().position(|z| z.name == name).unwrap_or(usize::MAX);
    let target_rank = |t: &str| Target::ALL.iter().position(|x| x.name() == t).unwrap_or(usize::MAX);
    merged.models.sort_by_key(|m| rank(&m.name));
    merged.targets.sort_by_key(|t| target_rank(t));
    merged.deterministic.sort_by_key(|f| (rank(&f.model), target_rank(&f.target)));
    match (&mut merged.wall_clock, &old.wall_clock) {
        (None, Some(w)) => {
            merged.wall_clock = Some(w.clone());
            merged.wall_clock_commit = old.wall_clock_commit.clone().or_else(|| Some(old.commit.clone()));
        }
        (Some(new_wall), Some(old_wall)) => {
            let measured: Vec<String> = new_wall.timings.iter().map(|t| t.model.clone()).collect();
            let kept = old_wall.timings.iter().filter(|t| !measured.contains(&t.model)).cloned();
            new_wall.timings.extend(kept.collect::<Vec<_>>());
            new_wall.timings.sort_by_key(|t| rank(&t.model));
        }
        _ => {}
    }
    merged
}

const README_BEGIN: &str = "<!-- bench:begin (generated by trnc bench --update-baseline) -->";
const README_END: &str = "<!-- bench:end -->";

/// Rewrites the headline numbers between README's bench markers; false
/// when README has no markers.
fn update_readme(path: &Path, baseline: &Results) -> Result<bool, Error> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(false) };
    let (Some(begin), Some(end)) = (text.find(README_BEGIN), text.find(README_END)) else { return Ok(false) };
    if end < begin {
        return Ok(false);
    }
    let body = format!(
        "{README_BEGIN}\nBaseline of commit {} ({}):\n\n{}{README_END}",
        baseline.commit,
        baseline.date,
        summary::headline(baseline)
    );
    let updated = format!("{}{body}{}", &text[..begin], &text[end + README_END.len()..]);
    if updated != text {
        write_text(path, &updated)?;
    }
    Ok(true)
}

/// The text `trnc bench` prints at the end: what was written and how the
/// comparison went.
pub fn report(outcome: &Outcome) -> String {
    let mut s = String::new();
    for p in &outcome.written {
        s.push_str(&format!("wrote {}\n", p.display()));
    }
    if let Some(c) = &outcome.comparison {
        for n in &c.notes {
            s.push_str(&format!("note: {n}\n"));
        }
        for f in &c.improvements {
            s.push_str(&format!("better: {}\n", f.describe()));
        }
        for f in &c.regressions {
            s.push_str(&format!("WORSE: {}\n", f.describe()));
        }
        s.push_str(&format!(
            "bench: {} figures worse, {} better than the baseline\n",
            c.regressions.len(),
            c.improvements.len()
        ));
    }
    s
}
