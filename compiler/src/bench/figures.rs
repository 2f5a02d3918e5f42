//! Deterministic figures: what the compiled program of a model looks like
//! to the cost model. Nothing here reads a clock, so two runs of the same
//! compiler give the same figures to the bit, and any change is the
//! compiler's doing.

use crate::passes::{run_pipeline, PipelineOptions, DEFAULT_PIPELINE};
use crate::program::build_program;
use crate::report::report;
use crate::Error;
use serde_json::{json, Map, Value};
use trnc_ir::{Graph, Target};

/// Which way a figure improves; the comparison fails on any step the
/// other way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
    /// Recorded and shown, never gated: the figure follows from gated ones
    /// and its good direction depends on which of them moved (fewer bytes
    /// in less time can lower the fraction of HBM bandwidth).
    Either,
}

pub struct FigureSpec {
    pub name: &'static str,
    pub better: Better,
    /// Written as a JSON integer (counts and bytes).
    pub integer: bool,
}

const fn fig(name: &'static str, better: Better, integer: bool) -> FigureSpec {
    FigureSpec { name, better, integer }
}

/// Per model and target, in the order they are stored.
pub const MODEL_FIGURES: &[FigureSpec] = &[
    fig("planned_kernels", Better::Lower, true),
    fig("lowered_kernels", Better::Lower, true),
    fig("split_groups", Better::Lower, true),
    fig("time_ns", Better::Lower, false),
    fig("flops", Better::Lower, true),
    fig("hbm_bytes", Better::Lower, true),
    fig("minimum_hbm_bytes", Better::Lower, true),
    fig("hbm_over_minimum", Better::Either, false),
    fig("tensor_peak_fraction", Better::Higher, false),
    fig("hbm_bandwidth_fraction", Better::Either, false),
    fig("sbuf_high_water_bytes", Better::Lower, true),
];

/// Per kernel, in the order they are stored.
pub const KERNEL_FIGURES: &[FigureSpec] = &[
    fig("time_ns", Better::Lower, false),
    fig("flops", Better::Lower, true),
    fig("hbm_bytes", Better::Lower, true),
    fig("tensor_peak_fraction", Better::Higher, false),
    fig("hbm_bandwidth_fraction", Better::Either, false),
    fig("sbuf_bytes", Better::Lower, true),
    fig("instructions", Better::Either, true),
];

#[derive(Clone, Debug, PartialEq)]
pub struct KernelFigures {
    pub name: String,
    pub critical_engine: String,
    /// In [`KERNEL_FIGURES`] order.
    pub values: Vec<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModelFigures {
    pub model: String,
    pub target: String,
    /// In [`MODEL_FIGURES`] order.
    pub values: Vec<f64>,
    pub kernels: Vec<KernelFigures>,
}

fn index(specs: &[FigureSpec], name: &str) -> usize {
    specs.iter().position(|s| s.name == name).unwrap_or_else(|| panic!("no figure named {name}"))
}

impl ModelFigures {
    pub fn get(&self, name: &str) -> f64 {
        self.values[index(MODEL_FIGURES, name)]
    }

    pub fn set(&mut self, name: &str, value: f64) {
        self.values[index(MODEL_FIGURES, name)] = value;
    }
}

impl KernelFigures {
    pub fn get(&self, name: &str) -> f64 {
        self.values[index(KERNEL_FIGURES, name)]
    }

    pub fn set(&mut self, name: &str, value: f64) {
        self.values[index(KERNEL_FIGURES, name)] = value;
    }
}

/// The optimised graph: `model` after the default pipeline.
pub fn optimise(model: &Graph) -> Result<Graph, Error> {
    let mut g = model.clone();
    run_pipeline(&mut g, DEFAULT_PIPELINE, &PipelineOptions::default(), &mut |_| {})?;
    Ok(g)
}

/// Lowers the optimised graph for `target` and asks the cost model about
/// every kernel.
pub fn model_figures(model: &str, optimised: &Graph, target: Target) -> Result<ModelFigures, Error> {
    let program = build_program(optimised, target)?;
    let r = report(&program);
    // Kernel times are whole picoseconds; their sum in f64 is rounded
    // back to them so that it prints as it adds up.
    let total_ns = (r.total_ns() * 1e3).round() / 1e3;
    let hbm_bytes = r.hbm_bytes();
    // Model-wide fractions are time-weighted means of the kernels' ones:
    // peak-time of all matmuls over the total, bytes over total x bandwidth.
    let weighted = |f: &dyn Fn(&trnc_backend_neuron::cost::Estimate) -> f64| {
        if total_ns > 0.0 {
            r.kernels.iter().map(|e| f(e) * e.total_ns).sum::<f64>() / total_ns
        } else {
            0.0
        }
    };
    let kernels: Vec<KernelFigures> = r
        .kernels
        .iter()
        .map(|e| KernelFigures {
            name: e.kernel.clone(),
            critical_engine: e.critical_engine.name().to_string(),
            values: vec![
                e.total_ns,
                e.flops as f64,
                (e.hbm_read_bytes + e.hbm_write_bytes) as f64,
                fraction(e.tensor_peak_fraction),
                fraction(e.hbm_bandwidth_fraction),
                e.sbuf_bytes_per_partition as f64,
                e.instructions as f64,
            ],
        })
        .collect();
    let sbuf = r.kernels.iter().map(|e| e.sbuf_bytes_per_partition).max().unwrap_or(0);
    Ok(ModelFigures {
        model: model.to_string(),
        target: target.name().to_string(),
        values: vec![
            program.plan.groups.len() as f64,
            program.calls.len() as f64,
            program.splits.len() as f64,
            total_ns,
            r.flops() as f64,
            hbm_bytes as f64,
            r.minimum_hbm_bytes as f64,
            fraction(hbm_bytes as f64 / r.minimum_hbm_bytes.max(1) as f64),
            fraction(weighted(&|e| e.tensor_peak_fraction)),
            fraction(weighted(&|e| e.hbm_bandwidth_fraction)),
            sbuf as f64,
        ],
        kernels,
    })
}

/// Ratios keep 9 decimals: enough to move with any change of the time or
/// bytes they come from, short enough for one readable line per kernel.
/// Rounded when computed, so a run and its baseline round alike.
fn fraction(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

fn number(spec: &FigureSpec, v: f64) -> Value {
    if spec.integer && v.fract() == 0.0 && v >= 0.0 {
        json!(v as u64)
    } else {
        json!(v)
    }
}

fn values_json(specs: &[FigureSpec], values: &[f64], into: &mut Map<String, Value>) {
    for (spec, &v) in specs.iter().zip(values) {
        into.insert(spec.name.to_string(), number(spec, v));
    }
}

fn values_from(specs: &[FigureSpec], v: &Value, what: &str) -> Result<Vec<f64>, String> {
    specs
        .iter()
        .map(|s| v.get(s.name).and_then(Value::as_f64).ok_or_else(|| format!("{what}: no figure '{}'", s.name)))
        .collect()
}

impl ModelFigures {
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("model".into(), json!(self.model));
        m.insert("target".into(), json!(self.target));
        values_json(MODEL_FIGURES, &self.values, &mut m);
        let kernels: Vec<Value> = self
            .kernels
            .iter()
            .map(|k| {
                let mut km = Map::new();
                km.insert("name".into(), json!(k.name));
                km.insert("critical_engine".into(), json!(k.critical_engine));
                values_json(KERNEL_FIGURES, &k.values, &mut km);
                Value::Object(km)
            })
            .collect();
        m.insert("kernels".into(), Value::Array(kernels));
        Value::Object(m)
    }

    pub fn from_json(v: &Value) -> Result<ModelFigures, String> {
        let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
        let model = text("model").ok_or("a model entry has no 'model'")?;
        let target = text("target").ok_or_else(|| format!("{model}: no 'target'"))?;
        let what = format!("{model} on {target}");
        let values = values_from(MODEL_FIGURES, v, &what)?;
        let kernels = v
            .get("kernels")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{what}: no 'kernels'"))?
            .iter()
            .map(|k| {
                let name =
                    k.get("name").and_then(Value::as_str).ok_or_else(|| format!("{what}: a kernel has no name"))?;
                Ok(KernelFigures {
                    name: name.to_string(),
                    critical_engine: k.get("critical_engine").and_then(Value::as_str).unwrap_or("").to_string(),
                    values: values_from(KERNEL_FIGURES, k, &format!("{what}, kernel {name}"))?,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(ModelFigures { model, target, values, kernels })
    }
}
