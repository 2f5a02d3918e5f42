//! The `trnc` command-line compiler.

use clap::{Parser, Subcommand};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use trnc::execute::Backend;
use trnc::fusion::{explain, plan_fusion};
use trnc::load::{load_model, weights_path, LoadOptions};
use trnc::npy::{read_npy, read_npy_shape, write_npy};
use trnc::passes::{format_timings, run_pipeline, PipelineOptions, DEFAULT_PIPELINE};
use trnc::Error;
use trnc_ir::text::{external_constants, print_graph};
use trnc_ir::Target;

const EXAMPLES: &str = "\
Examples:
  trnc check tests/corpus/mlp.trn
  trnc run tests/corpus/mlp.trn --random-inputs 7 --output-dir out/
  trnc run model.onnx --dim batch_size=1 --dim sequence_length=128 --random-inputs 0 --output-dir out/
  trnc run tests/corpus/mlp.trn --input x=x.npy --output-dir out/

Exit codes: 0 success, 1 failure while running, 2 bad input or usage.";

#[derive(Parser)]
#[command(name = "trnc", version, about = "A compiler from ONNX and trnc text IR to NKI kernels for AWS Trainium", after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ModelArgs {
    /// Model file: trnc text IR (.trn, constants in a .safetensors beside it) or ONNX (.onnx).
    file: PathBuf,
    /// Size of a symbolic dimension, e.g. --dim batch_size=1 (repeatable).
    #[arg(long = "dim", value_name = "NAME=N", value_parser = parse_dim)]
    dims: Vec<(String, usize)>,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and verify a model, then print its canonical text IR.
    #[command(
        after_help = "Example:\n  trnc check tests/corpus/mlp.trn\n  trnc check model.onnx --dim batch=1 -o model.trn   # also writes model.safetensors"
    )]
    Check {
        #[command(flatten)]
        model: ModelArgs,
        /// Write the IR to this .trn file (large constants to the .safetensors beside it) instead of stdout.
        #[arg(short, long, value_name = "OUT.trn")]
        output: Option<PathBuf>,
    },
    /// Run the optimisation pipeline on a model and print the result.
    #[command(
        after_help = "Examples:\n  trnc compile tests/corpus/softmax_primitives.trn --print-after-all\n  trnc compile model.onnx --dim batch=1 --time-passes --stop-after cse\n\n\
Passes: canonicalize, fold-constants, cse, dce (see ARCHITECTURE.md)."
    )]
    Compile {
        #[command(flatten)]
        model: ModelArgs,
        /// Print the IR after every run of this pass (repeatable).
        #[arg(long, value_name = "PASS")]
        print_after: Vec<String>,
        /// Print the IR after every pass.
        #[arg(long)]
        print_after_all: bool,
        /// Print a table of wall time per pass (to stderr).
        #[arg(long)]
        time_passes: bool,
        /// Stop after the first run of this pass.
        #[arg(long, value_name = "PASS")]
        stop_after: Option<String>,
        /// NeuronCore generation to compile for.
        #[arg(long, default_value = "trn2")]
        target: Target,
        /// Print the fusion plan: every kernel with its ops and HBM traffic,
        /// and why each edge between kernels was not fused.
        #[arg(long)]
        explain_fusion: bool,
        /// Print the choices the lowering made with the cost model: for each
        /// kernel the alternatives priced (matmul blockings), the chosen one
        /// marked `*`, and the fusion groups lowered in parts, with why.
        #[arg(long)]
        explain: bool,
        /// Write the cost model's estimate per kernel and for the model as
        /// JSON to this file, or as a table to stdout with `-`.
        #[arg(long, value_name = "FILE.json|-")]
        report: Option<PathBuf>,
        /// What to print: the optimised graph IR, or the kernels (kernel IR)
        /// of every fusion group for the target.
        #[arg(long, value_enum, default_value = "ir")]
        emit: Emit,
        /// With --emit nki: the folder for the kernel modules, model.py,
        /// weights.safetensors, report.json and README.md (created if missing).
        #[arg(long, value_name = "DIR")]
        output_dir: Option<PathBuf>,
        /// With --emit nki: the NKI API to write, `current` (NKI 0.6,
        /// `import nki`, Trn2/Trn3) or `legacy` (`neuronxcc.nki`, SDK 2.26, Trn1).
        #[arg(long, value_enum, default_value = "current")]
        nki_api: NkiApi,
    },
    /// Measure the benchmark zoo (cost-model figures, optionally compile and
    /// run times) and compare with a baseline; see README "Performance".
    #[command(after_help = trnc::bench::cli::EXAMPLES)]
    Bench(trnc::bench::cli::BenchArgs),
    /// Run a model on a backend and write every output as DIR/<output name>.npy.
    #[command(
        after_help = "Examples:\n  trnc run tests/corpus/mlp.trn --random-inputs 7 --output-dir out/\n  trnc run tests/corpus/mlp.trn --input x=x.npy --output-dir out/\n\n\
With --random-inputs, the inputs used are written to DIR/inputs/<input name>.npy.\n\
Tensors of dtype bf16 or fp8 are written as float32 .npy files (their values are exact in f32)."
    )]
    Run {
        #[command(flatten)]
        model: ModelArgs,
        /// Backend to run on: `reference` (the CPU interpreter) or `sim`
        /// (the compiled kernels on the NeuronCore simulator).
        #[arg(long, default_value = "reference")]
        backend: Backend,
        /// NeuronCore generation the `sim` backend compiles for.
        #[arg(long, default_value = "trn2")]
        target: Target,
        /// Dtype the `sim` backend feeds TensorE with (PSUM accumulates in
        /// fp32 either way): f32, or bf16 as Trainium models usually run.
        #[arg(long, value_name = "f32|bf16", default_value = "f32", value_parser = parse_matmul_dtype)]
        matmul_dtype: trnc_ir::DType,
        /// An input from a .npy file, e.g. --input x=x.npy (repeatable).
        #[arg(long = "input", value_name = "NAME=PATH.npy", value_parser = parse_input)]
        inputs: Vec<(String, PathBuf)>,
        /// Fill the inputs not given with --input with seeded random values
        /// (floats uniform in [-1, 1), gather indices within range).
        #[arg(long, value_name = "SEED")]
        random_inputs: Option<u64>,
        /// Folder for the outputs (created if missing).
        #[arg(long, value_name = "DIR")]
        output_dir: PathBuf,
    },
}

fn parse_dim(s: &str) -> Result<(String, usize), String> {
    let (name, n) = s.split_once('=').ok_or_else(|| format!("expected NAME=N, got '{s}'"))?;
    let n = n.parse::<usize>().map_err(|_| format!("'{n}' is not a size (a whole number >= 0)"))?;
    Ok((name.to_string(), n))
}

fn parse_input(s: &str) -> Result<(String, PathBuf), String> {
    let (name, path) = s.split_once('=').ok_or_else(|| format!("expected NAME=PATH.npy, got '{s}'"))?;
    Ok((name.to_string(), PathBuf::from(path)))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A panic is a compiler bug; report it as one rather than as a crash.
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "internal compiler error: {info}\nThis is a bug in trnc; please report it with the input that caused it."
        );
    }));
    match std::panic::catch_unwind(|| dispatch(cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("{e}");
            ExitCode::from(e.exit_code() as u8)
        }
        Err(_) => ExitCode::from(101),
    }
}

fn dispatch(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Check { model, output } => check(&model, output.as_deref()),
        Command::Bench(args) => trnc::bench::cli::main(args),
        Command::Compile {
            model,
            print_after,
            print_after_all,
            time_passes,
            stop_after,
            target,
            explain_fusion,
            explain,
            report,
            emit,
            output_dir,
            nki_api,
        } => {
            let options = PipelineOptions { print_after, print_after_all, stop_after };
            let emit = (emit, output_dir.as_deref(), nki_api);
            compile(&model, &options, time_passes, target, (explain_fusion, explain), report.as_deref(), emit)
        }
        Command::Run { model, backend, target, matmul_dtype, inputs, random_inputs, output_dir } => {
            let options = trnc_kernels::LowerOptions {
                matmul_dtype: (matmul_dtype != trnc_ir::DType::F32).then_some(matmul_dtype),
                ..Default::default()
            };
            run(&model, backend, target, options, &inputs, random_inputs, &output_dir)
        }
    }
}

fn load_options(model: &ModelArgs) -> Result<LoadOptions, Error> {
    let mut dims = BTreeMap::new();
    for (name, n) in &model.dims {
        if dims.insert(name.clone(), *n).is_some_and(|old| old != *n) {
            return Err(Error::bad_input(format!("error: --dim {name} is given twice with different sizes")));
        }
    }
    Ok(LoadOptions { dims, input_shapes: BTreeMap::new() })
}

fn check(model: &ModelArgs, output: Option<&Path>) -> Result<(), Error> {
    let graph = load_model(&model.file, &load_options(model)?)?;
    let text = print_graph(&graph);
    match output {
        None => print!("{text}"),
        Some(path) => {
            if path.extension().and_then(|e| e.to_str()) != Some("trn") {
                return Err(Error::bad_input(format!("error: -o needs a .trn file name, got {}", path.display())));
            }
            let write_err = |e: String| Error::run(format!("error: {e}"));
            std::fs::write(path, &text).map_err(|e| write_err(format!("cannot write {}: {e}", path.display())))?;
            let external = external_constants(&graph);
            if !external.is_empty() {
                let refs: Vec<(String, &trnc_ir::Tensor)> = external.iter().map(|(k, t)| (k.clone(), &**t)).collect();
                trnc_ir::weights::save_safetensors(&weights_path(path), &refs).map_err(write_err)?;
            }
        }
    }
    Ok(())
}

fn compile(
    model: &ModelArgs,
    options: &PipelineOptions,
    time_passes: bool,
    target: Target,
    (explain_fusion, explain_lowering): (bool, bool),
    report: Option<&Path>,
    (emit, output_dir, nki_api): (Emit, Option<&Path>, NkiApi),
) -> Result<(), Error> {
    let mut graph = load_model(&model.file, &load_options(model)?)?;
    let runs = run_pipeline(&mut graph, DEFAULT_PIPELINE, options, &mut |text| print!("{text}"))?;
    if time_passes {
        eprint!("{}", format_timings(&runs));
    }
    if let Some(path) = report {
        let program = trnc::program::build_program(&graph, target)?;
        let r = trnc::report::report(&program);
        if path == Path::new("-") {
            print!("{}", r.to_table());
        } else {
            let text = serde_json::to_string_pretty(&r.to_json()).unwrap_or_default() + "\n";
            std::fs::write(path, text)
                .map_err(|e| Error::run(format!("error: cannot write {}: {e}", path.display())))?;
        }
        return Ok(());
    }
    if emit == Emit::Nki {
        return emit_nki(&graph, target, output_dir, nki_api);
    }
    if explain_lowering {
        let program = trnc::program::build_program(&graph, target)?;
        print!("{}", trnc::report::explain(&program));
    } else if explain_fusion {
        let plan = plan_fusion(&graph, target);
        print!("{}", explain(&graph, &plan));
    } else if emit == Emit::KernelIr {
        let program = trnc::program::build_program(&graph, target)?;
        for (group, why) in &program.splits {
            println!("// kernel {group} is lowered in parts: {why}");
        }
        for call in &program.calls {
            println!("{}", trnc_ir::kernel::print::print_kernel(&call.kernel));
        }
    } else if emit == Emit::Timeline {
        let program = trnc::program::build_program(&graph, target)?;
        for call in &program.calls {
            let entries = trnc_backend_neuron::cost::timeline(&call.kernel, target);
            println!("kernel @{} on {target}:", call.kernel.name);
            println!("{}", trnc_backend_neuron::cost::render_timeline_text(&entries, 100));
        }
    } else if !options.print_after_all && options.print_after.is_empty() {
        print!("{}", print_graph(&graph));
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Emit {
    /// The optimised graph IR.
    Ir,
    /// The kernel IR of every kernel.
    KernelIr,
    /// A text Gantt chart per kernel: when each engine is busy, as the cost
    /// model schedules it (shows DMA under compute, ScalarE under TensorE).
    Timeline,
    /// NKI kernels, a host driver (model.py), the weights and a cost
    /// report, written to --output-dir.
    Nki,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum NkiApi {
    /// NKI 0.6 (Neuron SDK 2.32): `import nki`.
    Current,
    /// Legacy NKI (Neuron SDK 2.26): `import neuronxcc.nki`.
    Legacy,
}

/// `--emit nki`: writes the directory and lists what it wrote.
fn emit_nki(graph: &trnc_ir::Graph, target: Target, dir: Option<&Path>, api: NkiApi) -> Result<(), Error> {
    let dir = dir.ok_or_else(|| Error::bad_input("error: --emit nki needs --output-dir DIR"))?;
    let dialect = match api {
        NkiApi::Current => trnc_backend_neuron::nki::Dialect::Current,
        NkiApi::Legacy => trnc_backend_neuron::nki::Dialect::Legacy,
    };
    let program = trnc::program::build_program(graph, target)?;
    for path in trnc::emit_nki::write_nki_dir(graph, &program, dialect, dir)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn parse_matmul_dtype(s: &str) -> Result<trnc_ir::DType, String> {
    match s {
        "f32" => Ok(trnc_ir::DType::F32),
        "bf16" => Ok(trnc_ir::DType::BF16),
        _ => Err(format!("'{s}' is not a matmul dtype; expected f32 or bf16")),
    }
}

fn run(
    model: &ModelArgs,
    backend: Backend,
    target: Target,
    lowering: trnc_kernels::LowerOptions,
    given: &[(String, PathBuf)],
    seed: Option<u64>,
    out_dir: &Path,
) -> Result<(), Error> {
    // Input files are read twice: first for their shapes (which may size
    // symbolic dimensions), then converted to the dtype the graph wants.
    let mut options = load_options(model)?;
    for (name, path) in given {
        let probe = read_npy_shape(path)?;
        if options.input_shapes.insert(name.clone(), probe).is_some() {
            return Err(Error::bad_input(format!("error: --input {name} is given twice")));
        }
    }
    let graph = load_model(&model.file, &options)?;
    let input_names: Vec<&str> = graph.inputs.iter().map(|&v| graph.name_of(v)).collect();
    for (name, _) in given {
        if !input_names.contains(&name.as_str()) {
            return Err(Error::bad_input(format!(
                "error: --input {name}: the model has no input '{name}'; its inputs are: {}",
                input_names.join(", ")
            )));
        }
    }
    let random = match seed {
        Some(s) => {
            Some(trnc_ir::random::random_inputs(&graph, s).map_err(|e| Error::bad_input(format!("error: {e}")))?)
        }
        None => None,
    };
    let mut inputs = Vec::new();
    let mut generated = Vec::new();
    for (i, &v) in graph.inputs.iter().enumerate() {
        let name = graph.name_of(v);
        let want = graph.ty(v);
        if let Some((_, path)) = given.iter().find(|(n, _)| n == name) {
            let t = read_npy(path, want.dtype)?;
            inputs.push(t);
        } else if let Some(r) = &random {
            generated.push((name.to_string(), r[i].clone()));
            inputs.push(r[i].clone());
        } else {
            return Err(Error::bad_input(format!(
                "error: no value for input '{name}' ({want}); give --input {name}=PATH.npy or --random-inputs SEED"
            )));
        }
    }
    let outputs = trnc::execute::execute_with(&graph, &inputs, backend, target, lowering)?;
    let mkdir = |d: &Path| {
        std::fs::create_dir_all(d).map_err(|e| Error::run(format!("error: cannot create {}: {e}", d.display())))
    };
    mkdir(out_dir)?;
    if !generated.is_empty() {
        mkdir(&out_dir.join("inputs"))?;
        for (name, t) in &generated {
            write_npy(&out_dir.join("inputs").join(format!("{name}.npy")), t)?;
        }
    }
    for (&v, t) in graph.outputs.iter().zip(&outputs) {
        let path = out_dir.join(format!("{}.npy", graph.name_of(v)));
        write_npy(&path, t)?;
        println!("wrote {} ({})", path.display(), graph.ty(v));
    }
    Ok(())
}
