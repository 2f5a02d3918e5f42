//! `trnc compile --emit nki --output-dir DIR`: a directory that runs the
//! compiled program with NKI.
//!
//! - `<kernel>.py`, one module per kernel (`trnc_backend_neuron::nki`);
//! - `model.py`, the host driver: it loads the weights, converts the
//!   inputs as the program needs them (i64 narrowed to i32, as
//!   `passes::narrow` does), calls the kernels in program order and applies
//!   the host-side reshapes of the outputs (as `program::simulate_program`);
//! - `weights.safetensors`, the constants the kernels read, by value name;
//! - `report.json`, the cost model's estimate of every kernel;
//! - `README.md`, how to run it with `nki.simulate` and on an instance.
//!
//! Every file is a pure function of the program: emitting twice gives the
//! same bytes.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use trnc_backend_neuron::cost::estimate;
use trnc_backend_neuron::nki::{emit_kernel, function_name, identifier, Dialect};
use trnc_ir::{DType, Graph, Op, ValueId};

use crate::program::Program;
use crate::report::{estimate_fields, round3};
use crate::Error;

/// Writes the NKI directory for `program`, built from `graph` (the
/// optimised graph before narrowing, whose output dtypes the host
/// restores). Returns the files written, in order.
pub fn write_nki_dir(graph: &Graph, program: &Program, dialect: Dialect, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::run(format!("error: cannot create {}: {e}", dir.display())))?;
    let mut files = Vec::new();
    let write = |files: &mut Vec<PathBuf>, name: &str, bytes: &[u8]| -> Result<(), Error> {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| Error::run(format!("error: cannot write {}: {e}", path.display())))?;
        files.push(path);
        Ok(())
    };
    let modules = module_names(program);
    let host = HostPlan::new(graph, program)?;
    let weights: Vec<(String, &trnc_ir::Tensor)> = host.weights.iter().map(|(n, t)| (n.clone(), *t)).collect();
    let weights_path = dir.join("weights.safetensors");
    // The weights are the bulk of the output (90 MB for a MiniLM): they
    // stream to their file on another core while the text files are made.
    std::thread::scope(|scope| -> Result<(), Error> {
        let writer = scope.spawn(|| trnc_ir::weights::save_safetensors(&weights_path, &weights));
        for (call, module) in program.calls.iter().zip(&modules) {
            write(&mut files, &format!("{module}.py"), emit_kernel(&call.kernel, dialect).as_bytes())?;
        }
        write(&mut files, "model.py", model_py(program, &host, &modules, dialect).as_bytes())?;
        let report = serde_json::to_string_pretty(&report_json(program, &modules, dialect)).unwrap_or_default() + "\n";
        write(&mut files, "report.json", report.as_bytes())?;
        write(&mut files, "README.md", readme(program, &host, &modules, dialect).as_bytes())?;
        write(&mut files, "ruff.toml", ruff_toml(&modules).as_bytes())?;
        let saved = writer.join().unwrap_or_else(|_| Err("the weights writer panicked".into()));
        saved.map_err(|e| Error::run(format!("error: {e}")))
    })?;
    files.push(weights_path);
    Ok(files)
}

/// One module name per call: the kernel function's name, made unique.
fn module_names(program: &Program) -> Vec<String> {
    let mut used = BTreeSet::new();
    program
        .calls
        .iter()
        .map(|c| {
            let base = function_name(&c.kernel);
            let mut name = base.clone();
            let mut n = 2;
            // `model` is the driver itself.
            while name == "model" || !used.insert(name.clone()) {
                name = format!("{base}_{n}");
                n += 1;
            }
            name
        })
        .collect()
}

/// What the host does around the kernel calls.
struct HostPlan<'a> {
    /// (name, device dtype, shape, graph dtype) per graph input.
    inputs: Vec<(String, DType, Vec<usize>, DType)>,
    /// Constants read by a kernel or returned, by value name.
    weights: Vec<(String, &'a trnc_ir::Tensor)>,
    /// (output name, the value holding its data, shape, device dtype, graph dtype).
    outputs: Vec<(String, String, Vec<usize>, DType, DType)>,
}

impl<'a> HostPlan<'a> {
    fn new(original: &Graph, program: &'a Program) -> Result<HostPlan<'a>, Error> {
        let g = &program.graph;
        let shape_of = |v: ValueId| {
            g.ty(v).shape().map_err(|d| Error::bad_input(format!("error: dimension '{d}' has no size; give --dim")))
        };
        let mut inputs = Vec::new();
        for (&v, &orig) in g.inputs.iter().zip(&original.inputs) {
            inputs.push((g.name_of(v).to_string(), g.ty(v).dtype, shape_of(v)?, original.ty(orig).dtype));
        }
        let consts: HashMap<ValueId, &trnc_ir::Tensor> = g
            .nodes
            .iter()
            .filter_map(|n| match &n.op {
                Op::Const(t) => Some((n.output, &**t)),
                _ => None,
            })
            .collect();
        // Values on the host: graph inputs, constants, kernel results.
        let mut available: BTreeSet<ValueId> = g.inputs.iter().copied().collect();
        let mut needed: BTreeSet<ValueId> = BTreeSet::new();
        for call in &program.calls {
            needed.extend(call.inputs.iter().filter(|v| consts.contains_key(v)));
            available.extend(call.outputs.iter().copied());
        }
        available.extend(consts.keys().copied());
        let producers = g.producers();
        let mut outputs = Vec::new();
        for (&v, &orig) in g.outputs.iter().zip(&original.outputs) {
            // As `program::output_value`: the value itself, or a value it
            // reshapes (fusion never copies a pure reshape).
            let mut source = v;
            while !available.contains(&source) {
                match producers[source.index()].map(|i| &g.nodes[i]) {
                    Some(n) if matches!(n.op, Op::Reshape { .. } | Op::Squeeze { .. } | Op::Unsqueeze { .. }) => {
                        source = n.inputs[0]
                    }
                    _ => return Err(Error::run(format!("error: no kernel writes the output %{}", g.name_of(v)))),
                }
            }
            if consts.contains_key(&source) {
                needed.insert(source);
            }
            let name = g.name_of(v).to_string();
            outputs.push((name, g.name_of(source).to_string(), shape_of(v)?, g.ty(v).dtype, original.ty(orig).dtype));
        }
        let weights = needed.iter().map(|v| (g.name_of(*v).to_string(), consts[v])).collect();
        Ok(HostPlan { inputs, weights, outputs })
    }
}

/// A Python string literal (JSON strings are valid Python).
fn s(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

/// The NumPy / ml_dtypes name of a dtype, as the driver spells it.
fn np_name(d: DType) -> &'static str {
    match d {
        DType::F32 => "float32",
        DType::F16 => "float16",
        DType::BF16 => "bfloat16",
        DType::F8E4M3 => "float8_e4m3fn",
        DType::F8E5M2 => "float8_e5m2",
        DType::I64 => "int64",
        DType::I32 => "int32",
        DType::Bool => "bool",
    }
}

fn py_shape(dims: &[usize]) -> String {
    match dims {
        [d] => format!("({d},)"),
        _ => format!("({})", dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

fn model_py(program: &Program, host: &HostPlan, modules: &[String], dialect: Dialect) -> String {
    let g = &program.graph;
    let mut out = String::new();
    let _ = write!(
        out,
        "\"\"\"Host driver for the {} model: {} NKI kernel(s) for {}, written by trnc ({} NKI API).\n\n\
         `run()` loads weights.safetensors, converts the inputs as the kernels need them, calls\n\
         the kernels in program order and returns the outputs. As a script, see README.md.\n\"\"\"\n\n",
        g.name.replace('\\', "/").replace("\"\"\"", "'''"),
        program.calls.len(),
        program.target,
        dialect.name()
    );
    // Sections and order as isort (ruff's default rules) wants them; the
    // kernel modules are first-party (ruff.toml says so).
    out.push_str("import argparse\nimport json\nimport pathlib\nimport struct\n\n");
    out.push_str(match dialect {
        Dialect::Current => "import nki\nimport numpy as np\n\n",
        Dialect::Legacy => "import numpy as np\nfrom neuronxcc import nki\n\n",
    });
    let mut imported = BTreeSet::new();
    let mut aliases = Vec::new();
    let mut import_lines = Vec::new();
    for (call, module) in program.calls.iter().zip(modules) {
        let function = function_name(&call.kernel);
        if imported.insert(function.clone()) {
            import_lines.push((module.clone(), format!("from {module} import {function}")));
            aliases.push(function);
        } else {
            import_lines.push((module.clone(), format!("from {module} import {function} as {module}")));
            aliases.push(module.clone());
        }
    }
    import_lines.sort_by(|a, b| natural_key(&a.0).cmp(&natural_key(&b.0)).then_with(|| a.0.cmp(&b.0)));
    for (_, line) in import_lines {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("\nHERE = pathlib.Path(__file__).resolve().parent\n");
    out.push_str("# Graph inputs: name, dtype the kernels take, shape, dtype of the graph (i64 is narrowed to i32).\nINPUTS = [\n");
    for (name, dev, shape, orig) in &host.inputs {
        let _ = writeln!(out, "    ({}, {}, {}, {}),", s(name), s(np_name(*dev)), py_shape(shape), s(np_name(*orig)));
    }
    out.push_str(
        "]\n# Graph outputs: name, the value holding its data, shape, device dtype, graph dtype.\nOUTPUTS = [\n",
    );
    for (name, source, shape, dev, orig) in &host.outputs {
        let _ = writeln!(
            out,
            "    ({}, {}, {}, {}, {}),",
            s(name),
            s(source),
            py_shape(shape),
            s(np_name(*dev)),
            s(np_name(*orig))
        );
    }
    out.push_str("]\n");
    let simulate = match dialect {
        Dialect::Current => "nki.simulate(kernel)(*args)",
        Dialect::Legacy => "nki.simulate_kernel(kernel, *args)",
    };
    out.push_str(&DRIVER_HELPERS.replace("{SIMULATE}", simulate));
    out.push_str("\n\ndef run(inputs, weights=None, simulate=False, device=None):\n");
    out.push_str("    \"\"\"The outputs (name -> NumPy array) for `inputs` (name -> array-like).\n\n");
    out.push_str("    simulate: run each kernel on the CPU simulator; device: a torch device to run on.\n    \"\"\"\n");
    out.push_str("    values = dict(load_weights() if weights is None else weights)\n");
    out.push_str("    for name, dtype, shape, graph_dtype in INPUTS:\n");
    out.push_str("        values[name] = to_device(name, inputs[name], dtype, shape, graph_dtype)\n");
    out.push_str("    if device is not None:\n        values = {k: to_torch(v, device) for k, v in values.items()}\n");
    for ((call, module), alias) in program.calls.iter().zip(modules).zip(&aliases) {
        let first = call.kernel.origin.first().map_or(String::new(), |o| o.replace(['\n', '\r'], " "));
        let more = call.kernel.origin.len().saturating_sub(1);
        let more = if more > 0 { format!(" (+{more} more)") } else { String::new() };
        let _ = writeln!(out, "    # {module}: {first}{more}");
        let args: Vec<String> = call.inputs.iter().map(|&v| format!("values[{}]", s(g.name_of(v)))).collect();
        let results: Vec<String> = call.outputs.iter().map(|&v| format!("values[{}]", s(g.name_of(v)))).collect();
        let targets = match results.len() {
            1 => format!("({},)", results[0]),
            _ => results.join(", "),
        };
        let _ = writeln!(out, "    {targets} = launch({alias}, {}, simulate=simulate)", args.join(", "));
    }
    out.push_str("    return {name: to_host(values[source], shape, graph_dtype) for name, source, shape, _, graph_dtype in OUTPUTS}\n");
    out.push_str(DRIVER_MAIN);
    out
}

/// The driver's fixed part: weights, conversions, kernel launch.
const DRIVER_HELPERS: &str = r#"

def np_dtype(name):
    """A NumPy dtype by name; bf16 and fp8 come from ml_dtypes."""
    if name in ("bfloat16", "float8_e4m3fn", "float8_e5m2"):
        import ml_dtypes

        return np.dtype(getattr(ml_dtypes, name))
    return np.dtype(name)


SAFETENSORS_DTYPES = {
    "F32": "float32", "F16": "float16", "BF16": "bfloat16", "F8_E4M3": "float8_e4m3fn",
    "F8_E5M2": "float8_e5m2", "I64": "int64", "I32": "int32", "BOOL": "bool",
}


def load_weights(path=HERE / "weights.safetensors"):
    """Every weight by value name: with the safetensors package when it is installed
    and the dtypes are NumPy's own, else with the small reader below (same format)."""
    raw = pathlib.Path(path).read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    dtypes = {info["dtype"] for name, info in header.items() if name != "__metadata__"}
    try:
        from safetensors.numpy import load_file
    except ImportError:
        load_file = None
    if load_file is not None and dtypes <= {"F32", "F16", "I64", "I32", "BOOL"}:
        return load_file(str(path))
    weights = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = np_dtype(SAFETENSORS_DTYPES[info["dtype"]]).newbyteorder("<")
        data = np.frombuffer(raw[8 + size + start : 8 + size + end], dtype=dtype)
        weights[name] = data.reshape(info["shape"]).copy()
    return weights


def to_device(name, value, dtype, shape, graph_dtype):
    """An input as the kernels take it; i64 is narrowed to i32 (values must fit)."""
    value = np.asarray(value)
    if tuple(value.shape) != tuple(shape):
        raise ValueError(f"input {name} has shape {value.shape}, expected {shape}")
    if graph_dtype == "int64" and dtype == "int32":
        info = np.iinfo(np.int32)
        if value.size and (value.min() < info.min or value.max() > info.max):
            raise ValueError(f"input {name} has values outside int32, which the device uses for integers")
    return np.ascontiguousarray(value.astype(np_dtype(dtype)))


def to_torch(value, device):
    import torch

    value = np.asarray(value)
    if value.dtype.name in ("bfloat16", "float8_e4m3fn", "float8_e5m2"):
        wanted = {"bfloat16": torch.bfloat16, "float8_e4m3fn": torch.float8_e4m3fn, "float8_e5m2": torch.float8_e5m2}
        return torch.from_numpy(value.astype(np.float32)).to(wanted[value.dtype.name]).to(device)
    return torch.from_numpy(value).to(device)


def to_host(value, shape, graph_dtype):
    """An output as NumPy: reshaped as the graph says, i32 widened back to i64."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().float().numpy() if value.is_floating_point() else value.detach().cpu().numpy()
    value = np.asarray(value).reshape(shape)
    return value.astype(np.int64) if graph_dtype == "int64" else value


def launch(kernel, *args, simulate=False):
    """One kernel: on the CPU simulator when `simulate`, else on the NeuronCore."""
    result = {SIMULATE} if simulate else kernel(*args)
    return result if isinstance(result, tuple) else (result,)
"#;

const DRIVER_MAIN: &str = r#"

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="*", metavar="NAME=PATH.npy", help="one .npy file per graph input")
    parser.add_argument("--output-dir", default=".", help="folder for <output>.npy (created if missing)")
    parser.add_argument("--simulate", action="store_true", help="run the kernels on the CPU simulator")
    parser.add_argument("--device", help="a torch device to run the kernels on, e.g. xla")
    args = parser.parse_args()
    given = dict(item.split("=", 1) for item in args.inputs)
    missing = [name for name, *_ in INPUTS if name not in given]
    if missing:
        parser.error("no value for input(s) " + ", ".join(missing))
    outputs = run({name: np.load(path) for name, path in given.items()}, simulate=args.simulate, device=args.device)
    out_dir = pathlib.Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, value in outputs.items():
        if value.dtype.name in ("bfloat16", "float8_e4m3fn", "float8_e5m2"):
            value = value.astype(np.float32)  # exact; NumPy's .npy has no such dtype
        np.save(out_dir / f"{name}.npy", value)
        print(f"wrote {out_dir / (name + '.npy')} {value.dtype}{list(value.shape)}")


if __name__ == "__main__":
    main()
"#;

/// isort's "natural" order: case-insensitive, digit runs compared as numbers.
fn natural_key(s: &str) -> Vec<(u8, u64, String)> {
    let mut key = Vec::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        let digit = c.is_ascii_digit();
        let end = rest.find(|ch: char| ch.is_ascii_digit() != digit).unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        key.push(match run.parse::<u64>() {
            Ok(n) if digit => (0, n, String::new()),
            _ => (1, 0, run.to_lowercase()),
        });
        rest = tail;
    }
    key
}

/// Pins the kernel modules as first-party for isort, wherever ruff runs.
fn ruff_toml(modules: &[String]) -> String {
    let list: Vec<String> = modules.iter().map(|m| s(m)).collect();
    format!(
        "# ruff settings for this generated folder: the kernel modules beside model.py\n\
         # are first-party imports wherever ruff is run from. Rules are ruff's defaults.\n\
         [lint.isort]\nknown-first-party = [{}]\n",
        list.join(", ")
    )
}

fn report_json(program: &Program, modules: &[String], dialect: Dialect) -> Value {
    let mut total_ns = 0.0;
    let mut flops = 0u64;
    let mut hbm = 0u64;
    let kernels: Vec<Value> = program
        .calls
        .iter()
        .zip(modules)
        .map(|(call, module)| {
            let e = estimate(&call.kernel, program.target);
            total_ns += e.total_ns;
            flops += e.flops;
            hbm += e.hbm_read_bytes + e.hbm_write_bytes;
            let mut fields = estimate_fields(&e);
            fields.insert("module".into(), json!(format!("{module}.py")));
            fields.insert("group".into(), json!(call.group));
            fields.insert("total_ns".into(), json!(round3(e.total_ns)));
            fields.insert("psum_bytes_per_partition".into(), json!(e.psum_bytes_per_partition));
            Value::Object(fields)
        })
        .collect();
    json!({
        "model": program.graph.name,
        "target": program.target.name(),
        "nki_api": dialect.name(),
        "kernels": kernels,
        "total": { "total_ns": round3(total_ns), "flops": flops, "hbm_bytes": hbm },
    })
}

fn readme(program: &Program, host: &HostPlan, modules: &[String], dialect: Dialect) -> String {
    let args: Vec<String> = host.inputs.iter().map(|(n, ..)| format!("{n}={}.npy", identifier(n))).collect();
    let args = args.join(" ");
    let (api, setup, sim, hw) = match dialect {
        Dialect::Current => (
            "NKI 0.6 (Neuron SDK 2.32): `import nki`",
            "the `nki` package (from pip.repos.neuron.amazonaws.com), NumPy, and ml_dtypes",
            "Each kernel runs under `nki.simulate(kernel)(...)` on the CPU.",
            "on a Trn2 or Trn3 instance (`NEURON_PLATFORM_TARGET_OVERRIDE=trn2|trn3` picks the target)",
        ),
        Dialect::Legacy => (
            "legacy NKI (Neuron SDK 2.26): `import neuronxcc.nki`",
            "`neuronx-cc` from Neuron SDK 2.26, NumPy, and ml_dtypes",
            "Each kernel runs under `nki.simulate_kernel(kernel, ...)` on the CPU.",
            "on a Trn1 (or Trn2) instance with SDK 2.26",
        ),
    };
    let mut r = format!(
        "# {} for {} ({api})\n\nGenerated by `trnc compile --emit nki`. Needs {setup}.\n\n\
         ## Files\n\n- `model.py`: the host driver (weights, input conversion, kernel calls in order, output reshapes).\n\
         - `weights.safetensors`: the constants the kernels read, by value name.\n\
         - `report.json`: the cost model's estimate of every kernel.\n",
        program.graph.name, program.target
    );
    for (call, module) in program.calls.iter().zip(modules) {
        let _ = writeln!(
            r,
            "- `{module}.py`: kernel {} ({} instructions in the kernel IR)",
            call.group,
            count_insts(&call.kernel.body)
        );
    }
    let _ = write!(
        r,
        "\n## Run on the CPU simulator\n\n```sh\npython model.py --simulate {args} --output-dir out/\n```\n\n{sim} \
         Inputs are `.npy` files, one per graph input; outputs are written as `out/<output>.npy`.\n\n\
         ## Run on hardware\n\n```sh\npython model.py {args} --output-dir out/\n```\n\nruns each kernel {hw}. \
         With `--device xla` the arrays become torch tensors on that device (torch-neuronx) before the calls.\n"
    );
    r
}

fn count_insts(body: &[trnc_ir::kernel::Stmt]) -> usize {
    body.iter()
        .map(|s| match s {
            trnc_ir::kernel::Stmt::Inst { .. } => 1,
            trnc_ir::kernel::Stmt::Loop { body, .. } => count_insts(body),
        })
        .sum()
}
