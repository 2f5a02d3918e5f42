//! Wall-clock figures: compile time per model and per stage, the run time
//! of the CPU backends, and onnxruntime's session creation beside trnc's
//! compile time. Each is the median of N runs, with the noise of those
//! runs, which the comparison turns into its threshold.

use crate::bench::zoo::ZooModel;
use crate::emit_nki::write_nki_dir;
use crate::execute::{execute, Backend};
use crate::passes::{run_pipeline, PipelineOptions, DEFAULT_PIPELINE};
use crate::program::{build_program, simulate_program};
use crate::Error;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Instant;
use trnc_backend_neuron::nki::Dialect;
use trnc_ir::Target;

/// Compile times are measured for this target (the CLI's default).
pub const COMPILE_TARGET: Target = Target::Trn2;

/// The backends run a model only below these sizes (2·M·N·K of its
/// matmuls): the reference computes in f64 one element at a time and the
/// simulator executes every instruction, so bigger models take minutes.
const REFERENCE_MAX_FLOPS: f64 = 2e9;
const SIM_MAX_FLOPS: f64 = 1e8;
/// A measurement whose first run takes longer than this is not repeated.
const REPEAT_BELOW_S: f64 = 5.0;

#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub median_ms: f64,
    /// Robust relative spread of the runs: 1.4826 x the median absolute
    /// deviation over the median (a standard deviation for normal noise).
    pub noise: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub runs: usize,
}

impl Sample {
    pub fn from_runs(runs_ms: &[f64]) -> Sample {
        let median = median(runs_ms);
        let deviations: Vec<f64> = runs_ms.iter().map(|x| (x - median).abs()).collect();
        let noise = if median > 0.0 { 1.4826 * self::median(&deviations) / median } else { 0.0 };
        Sample {
            median_ms: median,
            noise,
            min_ms: runs_ms.iter().copied().fold(f64::INFINITY, f64::min),
            max_ms: runs_ms.iter().copied().fold(0.0, f64::max),
            runs: runs_ms.len(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "median_ms": round6(self.median_ms),
            "noise": round6(self.noise),
            "min_ms": round6(self.min_ms),
            "max_ms": round6(self.max_ms),
            "runs": self.runs,
        })
    }

    pub fn from_json(v: &Value) -> Option<Sample> {
        let f = |k: &str| v.get(k).and_then(Value::as_f64);
        Some(Sample {
            median_ms: f("median_ms")?,
            noise: f("noise").unwrap_or(0.0),
            min_ms: f("min_ms").unwrap_or(0.0),
            max_ms: f("max_ms").unwrap_or(0.0),
            runs: v.get("runs").and_then(Value::as_u64).unwrap_or(1) as usize,
        })
    }
}

fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// One named wall-clock measurement of one model: a compile stage, the
/// whole compile, or a backend run.
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    pub model: String,
    /// `compile`, `load`, `pass03:cse`, `build_program`, `emit` (NKI),
    /// `run:reference`, `run:sim`, `onnxruntime:session`.
    pub figure: String,
    pub sample: Sample,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct WallClock {
    pub runs: usize,
    pub timings: Vec<Timing>,
    /// Measurements not taken, with why (`model figure: reason`).
    pub skipped: Vec<String>,
    pub onnxruntime_version: Option<String>,
}

impl WallClock {
    pub fn get(&self, model: &str, figure: &str) -> Option<&Sample> {
        self.timings.iter().find(|t| t.model == model && t.figure == figure).map(|t| &t.sample)
    }

    pub fn to_json(&self) -> Value {
        let timings: Vec<Value> = self
            .timings
            .iter()
            .map(|t| {
                let mut v = t.sample.to_json();
                v["model"] = json!(t.model);
                v["figure"] = json!(t.figure);
                v
            })
            .collect();
        json!({
            "runs": self.runs,
            "compile_target": COMPILE_TARGET.name(),
            "timings": timings,
            "skipped": self.skipped,
            "onnxruntime_version": self.onnxruntime_version,
        })
    }

    pub fn from_json(v: &Value) -> Result<WallClock, String> {
        let timings = v
            .get("timings")
            .and_then(Value::as_array)
            .ok_or("wall_clock has no 'timings'")?
            .iter()
            .map(|t| {
                let s = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_string);
                Some(Timing { model: s("model")?, figure: s("figure")?, sample: Sample::from_json(t)? })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or("a wall-clock timing lacks model, figure or median_ms")?;
        let skipped = v
            .get("skipped")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        Ok(WallClock {
            runs: v.get("runs").and_then(Value::as_u64).unwrap_or(0) as usize,
            timings,
            skipped,
            onnxruntime_version: v.get("onnxruntime_version").and_then(Value::as_str).map(str::to_string),
        })
    }
}

fn ms_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

/// One compile of `model` from its file, stage by stage (ms), doing what
/// `trnc compile --emit nki --output-dir DIR` does: load (parse or
/// import), each pass of the default pipeline, `build_program`
/// (narrowing, fusion planning, lowering to kernel IR), `emit` (the NKI
/// directory: kernel modules, model.py, weights, report, README, written
/// to `out`), then `compile`, the whole.
fn compile_once(model: &ZooModel, root: &Path, out: &Path) -> Result<Vec<(String, f64)>, Error> {
    // A fresh directory each time, as a first compile writes it; clearing
    // it is not part of the compile.
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| Error::run(format!("error: cannot clear {}: {e}", out.display())))?;
    }
    let start = Instant::now();
    let mut stages = Vec::new();
    let t = Instant::now();
    let mut g = model.load(root)?.ok_or_else(|| Error::bad_input(model.missing_note()))?;
    stages.push(("load".to_string(), ms_since(t)));
    let runs = run_pipeline(&mut g, DEFAULT_PIPELINE, &PipelineOptions::default(), &mut |_| {})?;
    for (i, r) in runs.iter().enumerate() {
        stages.push((format!("pass{:02}:{}", i + 1, r.name), r.wall.as_secs_f64() * 1e3));
    }
    let t = Instant::now();
    let program = build_program(&g, COMPILE_TARGET)?;
    stages.push(("build_program".to_string(), ms_since(t)));
    let t = Instant::now();
    write_nki_dir(&g, &program, Dialect::Current, out)?;
    stages.push(("emit".to_string(), ms_since(t)));
    stages.push(("compile".to_string(), ms_since(start)));
    Ok(stages)
}

/// Runs `f` once to warm up, then `runs` times (once more if the warm-up
/// took longer than [`REPEAT_BELOW_S`]); returns each run's stage times.
fn repeat<T>(runs: usize, mut f: impl FnMut() -> Result<T, Error>, ms_of: impl Fn(&T) -> f64) -> Result<Vec<T>, Error> {
    let first = f()?;
    if ms_of(&first) > REPEAT_BELOW_S * 1e3 {
        return Ok(vec![first]);
    }
    (0..runs).map(|_| f()).collect()
}

/// Compile timings of `model` over `runs` runs.
pub fn measure_compile(model: &ZooModel, root: &Path, runs: usize) -> Result<Vec<Timing>, Error> {
    let out = std::env::temp_dir().join(format!("trnc-bench-{}-{}", std::process::id(), model.name));
    let all = repeat(runs, || compile_once(model, root, &out), |s| s.last().map_or(0.0, |x| x.1));
    // Best effort: a leftover folder in the temporary directory is harmless.
    let _ = std::fs::remove_dir_all(&out);
    let all = all?;
    let names: Vec<String> = all[0].iter().map(|(n, _)| n.clone()).collect();
    Ok(names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let ms: Vec<f64> = all.iter().map(|r| r[i].1).collect();
            Timing { model: model.name.to_string(), figure: name.clone(), sample: Sample::from_runs(&ms) }
        })
        .collect())
}

/// Run time of each CPU backend on seeded random inputs, for models small
/// enough (`flops` from the deterministic figures). The simulator's time
/// excludes compiling: the program is built once.
pub fn measure_backends(
    model: &ZooModel,
    root: &Path,
    flops: f64,
    runs: usize,
    out: &mut WallClock,
) -> Result<(), Error> {
    let g = model.load(root)?.ok_or_else(|| Error::bad_input(model.missing_note()))?;
    let inputs = trnc_ir::random::random_inputs(&g, 0).map_err(|e| Error::run(format!("error: {e}")))?;
    let time = |f: &dyn Fn() -> Result<(), Error>| -> Result<Sample, Error> {
        let all = repeat(
            runs,
            || {
                let t = Instant::now();
                f()?;
                Ok(ms_since(t))
            },
            |&ms| ms,
        )?;
        Ok(Sample::from_runs(&all))
    };
    let name = model.name.to_string();
    if flops <= REFERENCE_MAX_FLOPS {
        let sample = time(&|| execute(&g, &inputs, Backend::Reference, COMPILE_TARGET).map(|_| ()))?;
        out.timings.push(Timing { model: name.clone(), figure: "run:reference".into(), sample });
    } else {
        out.skipped.push(format!(
            "{name} run:reference: {:.1} GFLOP is above the {:.0} GFLOP budget",
            flops / 1e9,
            REFERENCE_MAX_FLOPS / 1e9
        ));
    }
    if flops <= SIM_MAX_FLOPS {
        let mut opt = g.clone();
        run_pipeline(&mut opt, DEFAULT_PIPELINE, &PipelineOptions::default(), &mut |_| {})?;
        let program = build_program(&opt, COMPILE_TARGET)?;
        let sample = time(&|| simulate_program(&program, &inputs).map(|_| ()))?;
        out.timings.push(Timing { model: name, figure: "run:sim".into(), sample });
    } else {
        out.skipped.push(format!(
            "{name} run:sim: {:.2} GFLOP is above the {:.1} GFLOP budget",
            flops / 1e9,
            SIM_MAX_FLOPS / 1e9
        ));
    }
    Ok(())
}

/// onnxruntime's InferenceSession creation (ORT_ENABLE_ALL) for an ONNX
/// model, by `bench-results/ort_session_time.py` in the test venv.
pub fn measure_onnxruntime(model: &ZooModel, root: &Path, runs: usize, out: &mut WallClock) {
    let venv = root.join(".venv/bin/python");
    let python = if venv.exists() { venv } else { "python3".into() };
    let script = root.join("bench-results/ort_session_time.py");
    let result = std::process::Command::new(&python)
        .arg(&script)
        .arg(model.file(root))
        .arg("--runs")
        .arg(runs.to_string())
        .output();
    let skip = |why: String| format!("{} onnxruntime:session: {why}", model.name);
    match result {
        Err(e) => out.skipped.push(skip(format!("cannot run {}: {e}", python.display()))),
        Ok(o) if !o.status.success() => {
            let err = String::from_utf8_lossy(&o.stderr);
            out.skipped.push(skip(format!("the script failed: {}", err.lines().last().unwrap_or(""))))
        }
        Ok(o) => {
            let parsed: Option<(String, Vec<f64>)> = serde_json::from_slice::<Value>(&o.stdout).ok().and_then(|v| {
                let version = v.get("onnxruntime")?.as_str()?.to_string();
                let ms = v.get("runs_ms")?.as_array()?.iter().filter_map(Value::as_f64).collect();
                Some((version, ms))
            });
            match parsed {
                Some((version, ms)) if !ms.is_empty() => {
                    out.onnxruntime_version = Some(version);
                    out.timings.push(Timing {
                        model: model.name.to_string(),
                        figure: "onnxruntime:session".into(),
                        sample: Sample::from_runs(&ms),
                    });
                }
                _ => out.skipped.push(skip("the script printed no timings".into())),
            }
        }
    }
}
