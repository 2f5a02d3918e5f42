//! The benchmark zoo: which models `trnc bench` measures, where their files
//! are, and the sizes of their symbolic dimensions.

use crate::load::{load_model, LoadOptions};
use crate::Error;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trnc_ir::Graph;

/// What a model is in the zoo for; the summary groups them by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Single ops and small blocks.
    Building,
    /// Whole transformer blocks and models.
    Transformer,
    /// The same encoder layer repeated 1, 6 and 24 times: how compile time
    /// grows with depth.
    Depth,
    /// The NKI tutorial's matmul shapes, the cost model's calibration point.
    Matmul,
}

pub struct ZooModel {
    pub name: &'static str,
    /// Relative to the workspace root.
    pub path: &'static str,
    pub dims: &'static [(&'static str, usize)],
    /// A model that is built, not committed (all-MiniLM-L6-v2 is made by
    /// `tests/models/build_all_minilm_l6_v2.py` into the ignored `.cache`):
    /// missing is not an error, the results say it was skipped.
    pub optional: bool,
    pub purpose: Purpose,
    pub about: &'static str,
    /// Record every kernel's figures, not only the model's totals. Off for
    /// the deeper encoders: their kernels are the 1-layer one's, repeated.
    pub per_kernel: bool,
}

const MINILM_DIMS: &[(&str, usize)] = &[("batch_size", 1), ("sequence_length", 128)];

/// The zoo, in the order results are written.
pub const ZOO: &[ZooModel] = &[
    zoo_trn("mlp", Purpose::Building, "GPT-2-small MLP, 512 tokens, tanh GELU"),
    zoo_trn("softmax", Purpose::Building, "row softmax [1024, 4096]"),
    zoo_trn("layer_norm", Purpose::Building, "LayerNorm [4096, 768]"),
    zoo_trn("rms_norm_swiglu", Purpose::Building, "RMSNorm + SwiGLU MLP, 512 tokens, 1024 -> 2816"),
    zoo_trn("attention_s128", Purpose::Building, "attention, 12 heads of 64, sequence 128"),
    zoo_trn("attention_s512", Purpose::Building, "attention, 12 heads of 64, sequence 512"),
    zoo_trn("attention_s2048", Purpose::Building, "attention, 12 heads of 64, sequence 2048"),
    ZooModel {
        name: "gpt2_block",
        path: "tests/models/gpt2_block.onnx",
        dims: &[],
        optional: false,
        purpose: Purpose::Transformer,
        about: "GPT2Block from ONNX (hidden 64, sequence 16)",
        per_kernel: true,
    },
    zoo_trn("gpt2_small_block", Purpose::Transformer, "GPT2Block at GPT-2 small's sizes, sequence 128"),
    ZooModel {
        name: "bert_encoder_layer",
        path: "tests/models/bert_encoder_layer.onnx",
        dims: &[("batch", 1), ("sequence", 128)],
        optional: false,
        purpose: Purpose::Transformer,
        about: "BertLayer from ONNX (hidden 64), sequence 128",
        per_kernel: true,
    },
    ZooModel {
        name: "all_minilm_l6_v2",
        path: ".cache/models/all-MiniLM-L6-v2.onnx",
        dims: MINILM_DIMS,
        optional: true,
        purpose: Purpose::Transformer,
        about: "all-MiniLM-L6-v2 whole (embeddings, 6 layers, pooling), sequence 128",
        per_kernel: true,
    },
    zoo_trn("minilm_encoder_x1", Purpose::Depth, "1 MiniLM-sized encoder layer, sequence 128"),
    ZooModel { per_kernel: false, ..zoo_trn("minilm_encoder_x6", Purpose::Depth, "6 MiniLM-sized encoder layers") },
    ZooModel { per_kernel: false, ..zoo_trn("minilm_encoder_x24", Purpose::Depth, "24 MiniLM-sized encoder layers") },
    zoo_trn("matmul_tutorial_bf16", Purpose::Matmul, "NKI tutorial matmul [4096, 8192] @ [8192, 8192] bf16"),
    zoo_trn("matmul_4096_bf16", Purpose::Matmul, "matmul 4096^3 bf16"),
];

/// A committed text-IR model of `bench-results/models/` (made by
/// `make_zoo.py`; weights are graph inputs, so there is no side file).
const fn zoo_trn(name: &'static str, purpose: Purpose, about: &'static str) -> ZooModel {
    ZooModel { name, path: "", dims: &[], optional: false, purpose, about, per_kernel: true }
}

impl ZooModel {
    pub fn file(&self, root: &Path) -> PathBuf {
        if self.path.is_empty() {
            root.join("bench-results/models").join(format!("{}.trn", self.name))
        } else {
            root.join(self.path)
        }
    }

    /// The file as the results show it: relative to the workspace root.
    pub fn source(&self) -> String {
        if self.path.is_empty() {
            format!("bench-results/models/{}.trn", self.name)
        } else {
            self.path.to_string()
        }
    }

    pub fn dims_text(&self) -> String {
        self.dims.iter().map(|(d, n)| format!("{d}={n}")).collect::<Vec<_>>().join(" ")
    }

    pub fn load_options(&self) -> LoadOptions {
        let dims: BTreeMap<String, usize> = self.dims.iter().map(|&(d, n)| (d.to_string(), n)).collect();
        LoadOptions { dims, input_shapes: BTreeMap::new() }
    }

    /// Loads the model (parse or import, bind dims, verify). `Ok(None)`
    /// when an optional model's file does not exist.
    pub fn load(&self, root: &Path) -> Result<Option<Graph>, Error> {
        let file = self.file(root);
        if self.optional && !file.exists() {
            return Ok(None);
        }
        load_model(&file, &self.load_options()).map(Some)
    }

    /// Why a model was skipped, for the results.
    pub fn missing_note(&self) -> String {
        format!(
            "{} does not exist (built by `bash tests/run.sh` with tests/models/build_all_minilm_l6_v2.py)",
            self.source()
        )
    }
}

/// The zoo models named in `names` (all of them when empty), in zoo order.
pub fn select(names: &[String]) -> Result<Vec<&'static ZooModel>, Error> {
    for n in names {
        if !ZOO.iter().any(|m| m.name == n) {
            let all: Vec<&str> = ZOO.iter().map(|m| m.name).collect();
            return Err(Error::bad_input(format!("error: no zoo model '{n}'; the models are: {}", all.join(", "))));
        }
    }
    Ok(ZOO.iter().filter(|m| names.is_empty() || names.iter().any(|n| n == m.name)).collect())
}

pub fn find(name: &str) -> Option<&'static ZooModel> {
    ZOO.iter().find(|m| m.name == name)
}
