//! Compiled kernels on the NeuronCore simulator against the reference:
//! every model of the corpus, the pass and fusion files, the kernel tail
//! cases and the ONNX transformer blocks, on trn1, trn2 and trn3
//! (relative L2 error ≤ 1e-5 in fp32; integers and bools exact), and on
//! trn2 with bf16 TensorE operands (≤ 2e-2).
//!
//! `KNOWN_GAPS` lists the models the kernel generators cannot lower yet,
//! with the error they give; a gap that closes fails the test until it is
//! removed from the list, so the list stays true.

use std::path::{Path, PathBuf};
use trnc::execute::{execute, execute_with, Backend};
use trnc::{load_model, LoadOptions};
use trnc_ir::random::random_inputs;
use trnc_ir::Target;
use trnc_kernels::LowerOptions;
use trnc_tests::{files_in, rel_l2};

const KNOWN_GAPS: &[(&str, &str)] = &[("dtypes", "integer divide")];

fn models() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for (dir, ext) in [("corpus", "trn"), ("passes", "trn"), ("fusion", "trn"), ("kernels", "trn"), ("models", "onnx")]
    {
        files.extend(files_in(dir, ext));
    }
    files
}

#[test]
fn compiled_kernels_match_the_reference_on_every_target() {
    let mut options = LoadOptions::default();
    for (k, v) in [("batch", 2), ("sequence", 16)] {
        options.dims.insert(k.into(), v);
    }
    let mut checked = 0;
    for path in models() {
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let g = load_model(Path::new(&path), &options).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let inputs = random_inputs(&g, 0).unwrap();
        let want = execute(&g, &inputs, Backend::Reference, Target::Trn2).unwrap();
        for target in Target::ALL {
            let got = execute(&g, &inputs, Backend::Sim, target);
            if let Some((_, why)) = KNOWN_GAPS.iter().find(|(name, _)| *name == stem) {
                let err = got.err().unwrap_or_else(|| panic!("{stem} lowers now: remove it from KNOWN_GAPS"));
                assert!(err.message.contains(why), "{stem}: {}", err.message);
                continue;
            }
            let got = got.unwrap_or_else(|e| panic!("{} on {target}: {e}", path.display()));
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                assert_eq!(a.ty(), b.ty(), "{stem} output {i}");
                if b.dtype().is_float() {
                    let err = rel_l2(&a.to_f64_vec(), &b.to_f64_vec());
                    assert!(err <= 1e-5, "{stem} on {target}: output {i} off by {err:e}");
                } else {
                    assert_eq!(a, b, "{stem} on {target}: output {i}");
                }
            }
            checked += 1;
        }
        // bf16 operands on TensorE (fp32 PSUM): within 2e-2.
        if !KNOWN_GAPS.iter().any(|(name, _)| *name == stem) {
            let bf16 = LowerOptions { matmul_dtype: Some(trnc_ir::DType::BF16), ..Default::default() };
            let got = execute_with(&g, &inputs, Backend::Sim, Target::Trn2, bf16).unwrap();
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                if b.dtype().is_float() {
                    let err = rel_l2(&a.to_f64_vec(), &b.to_f64_vec());
                    assert!(err <= 2e-2, "{stem} with bf16 matmuls: output {i} off by {err:e}");
                }
            }
        }
    }
    assert!(checked >= 3 * 30, "only {checked} model/target pairs ran");
}

/// Groups that `kernels/` builds whole, each one kernel with nothing
/// lowered in parts: sibling matmuls sharing their left operand (A loaded
/// and transposed once); a layer_norm or rms_norm after a matmul, on whole
/// rows (600 wide, two PSUM banks), also after siblings; a gather with its
/// adds and layer_norm (a BERT's embeddings).
#[test]
fn fused_groups_lower_as_one_kernel() {
    for file in ["kernels/sibling_matmuls.trn", "kernels/matmul_norm.trn", "kernels/embeddings.trn"] {
        let g = load_model(Path::new(file), &LoadOptions::default()).unwrap();
        let program = trnc::program::build_program(&g, Target::Trn2).unwrap();
        assert!(program.splits.is_empty(), "{file} lowered in parts: {:?}", program.splits);
        assert_eq!(program.calls.len(), 1, "{file}");
    }
}
