//! A result file: `bench-results/<date>-<short commit>.json`, and the
//! baseline, which has the same form.

use crate::bench::figures::ModelFigures;
use crate::bench::wallclock::WallClock;
use crate::Error;
use serde_json::{json, Value};
use std::path::Path;

pub const SCHEMA: u64 = 1;

/// A zoo model as this run saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelEntry {
    pub name: String,
    pub source: String,
    pub dims: String,
    /// Why it was not measured, when it was not.
    pub skipped: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Results {
    pub date: String,
    pub unix_time: u64,
    pub commit: String,
    /// The working tree had changes not in `commit`.
    pub dirty: bool,
    pub host: String,
    pub targets: Vec<String>,
    pub models: Vec<ModelEntry>,
    pub deterministic: Vec<ModelFigures>,
    pub wall_clock: Option<WallClock>,
    /// The commit the wall-clock figures were measured at (a baseline
    /// refreshed without `--wall-clock` keeps the old ones).
    pub wall_clock_commit: Option<String>,
}

impl Results {
    pub fn figures(&self, model: &str, target: &str) -> Option<&ModelFigures> {
        self.deterministic.iter().find(|f| f.model == model && f.target == target)
    }

    pub fn file_stem(&self) -> String {
        format!("{}-{}", self.date, self.commit)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "schema": SCHEMA,
            "date": self.date,
            "unix_time": self.unix_time,
            "commit": self.commit,
            "dirty": self.dirty,
            "host": self.host,
            "targets": self.targets,
            "models": self.models.iter().map(|m| json!({
                "name": m.name, "source": m.source, "dims": m.dims, "skipped": m.skipped,
            })).collect::<Vec<_>>(),
            "deterministic": self.deterministic.iter().map(ModelFigures::to_json).collect::<Vec<_>>(),
            "wall_clock": self.wall_clock.as_ref().map(WallClock::to_json),
            "wall_clock_commit": self.wall_clock_commit,
        })
    }

    pub fn from_json(v: &Value) -> Result<Results, String> {
        if v.get("schema").and_then(Value::as_u64) != Some(SCHEMA) {
            return Err(format!("not a trnc bench result of schema {SCHEMA}"));
        }
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let array = |k: &str| v.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
        let models = array("models")
            .iter()
            .map(|m| {
                let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                ModelEntry {
                    name: s("name"),
                    source: s("source"),
                    dims: s("dims"),
                    skipped: m.get("skipped").and_then(Value::as_str).map(str::to_string),
                }
            })
            .collect();
        let deterministic = array("deterministic").iter().map(ModelFigures::from_json).collect::<Result<_, _>>()?;
        let wall_clock = match v.get("wall_clock") {
            Some(w) if !w.is_null() => Some(WallClock::from_json(w)?),
            _ => None,
        };
        Ok(Results {
            date: s("date"),
            unix_time: v.get("unix_time").and_then(Value::as_u64).unwrap_or(0),
            commit: s("commit"),
            dirty: v.get("dirty").and_then(Value::as_bool).unwrap_or(false),
            host: s("host"),
            targets: array("targets").iter().filter_map(|t| t.as_str().map(str::to_string)).collect(),
            models,
            deterministic,
            wall_clock,
            wall_clock_commit: v.get("wall_clock_commit").and_then(Value::as_str).map(str::to_string),
        })
    }

    pub fn read(path: &Path) -> Result<Results, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::bad_input(format!("error: cannot read {}: {e}", path.display())))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| Error::bad_input(format!("error: {} is not JSON: {e}", path.display())))?;
        Results::from_json(&v).map_err(|e| Error::bad_input(format!("error: {}: {e}", path.display())))
    }

    pub fn write(&self, path: &Path) -> Result<(), Error> {
        write_text(path, &to_text(&self.to_json()))
    }
}

pub fn write_text(path: &Path, text: &str) -> Result<(), Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::run(format!("error: cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(path, text).map_err(|e| Error::run(format!("error: cannot write {}: {e}", path.display())))
}

/// Pretty JSON, except that objects inside arrays of the third level and
/// deeper (kernels, timings) take one line each: the files stay readable
/// and diffs show one line per changed kernel.
pub fn to_text(v: &Value) -> String {
    let mut s = String::new();
    write_value(v, 0, &mut s);
    s.push('\n');
    s
}

fn write_value(v: &Value, depth: usize, s: &mut String) {
    let pad = |n: usize| "  ".repeat(n);
    match v {
        Value::Object(m) if depth < 3 && !m.is_empty() => {
            s.push_str("{\n");
            for (i, (k, x)) in m.iter().enumerate() {
                s.push_str(&format!("{}{}: ", pad(depth + 1), Value::String(k.clone())));
                write_value(x, depth + 1, s);
                s.push_str(if i + 1 < m.len() { ",\n" } else { "\n" });
            }
            s.push_str(&format!("{}}}", pad(depth)));
        }
        Value::Array(a) if depth < 3 && a.iter().any(|x| x.is_object() || x.is_array()) => {
            s.push_str("[\n");
            for (i, x) in a.iter().enumerate() {
                s.push_str(&pad(depth + 1));
                write_value(x, depth + 1, s);
                s.push_str(if i + 1 < a.len() { ",\n" } else { "\n" });
            }
            s.push_str(&format!("{}]", pad(depth)));
        }
        _ => s.push_str(&v.to_string()),
    }
}

/// `YYYY-MM-DD` (UTC) of a Unix time, without a calendar crate: days
/// since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
pub fn utc_date(unix_time: u64) -> String {
    let z = (unix_time / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The short commit of the workspace at `root`, and whether its tree has
/// changes; `("unknown", false)` outside a git checkout. Read-only git.
pub fn commit_of(root: &Path) -> (String, bool) {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short=7", "HEAD"]) {
        Some(commit) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
            (commit, dirty)
        }
        None => ("unknown".to_string(), false),
    }
}

/// OS, architecture and CPU count: wall-clock figures compare only on a
/// like machine.
pub fn host() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{}-{}, {cpus} CPUs", std::env::consts::OS, std::env::consts::ARCH)
}
