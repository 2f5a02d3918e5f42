//! The kernel IR of small MLP, softmax, layer norm and attention models on
//! trn2, as snapshots reviewed by reading; each kernel also runs on the
//! simulator against the reference.

use std::path::Path;
use trnc::execute::{execute, Backend};
use trnc::passes::{run_pipeline, PipelineOptions, DEFAULT_PIPELINE};
use trnc::program::build_program;
use trnc_ir::kernel::print::print_kernel;
use trnc_ir::random::random_inputs;
use trnc_ir::Target;
use trnc_tests::{files_in, load, rel_l2};

#[test]
fn small_kernels() {
    let files = files_in("kernels/small", "trn");
    assert_eq!(files.len(), 4);
    for path in files {
        let mut g = load(&path).unwrap();
        let inputs = random_inputs(&g, 0).unwrap();
        let want = execute(&g, &inputs, Backend::Reference, Target::Trn2).unwrap();
        let got = execute(&g, &inputs, Backend::Sim, Target::Trn2).unwrap();
        let err = rel_l2(&got[0].to_f64_vec(), &want[0].to_f64_vec());
        assert!(err <= 1e-5, "{}: {err:e}", path.display());
        run_pipeline(&mut g, DEFAULT_PIPELINE, &PipelineOptions::default(), &mut |_| {}).unwrap();
        let program = build_program(&g, Target::Trn2).unwrap();
        assert!(program.splits.is_empty(), "{}: lowered in parts", path.display());
        let text: Vec<String> = program.calls.iter().map(|c| print_kernel(&c.kernel)).collect();
        let name = Path::new(&path).file_stem().unwrap().to_str().unwrap().to_string();
        insta::with_settings!({snapshot_suffix => name, prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("kernel", text.join("\n"));
        });
    }
}
