//! Python names for everything a kernel module defines: the kernel
//! function, its HBM parameters and outputs, tiles and loop variables.
//!
//! Graph names come from ONNX files and may hold any character, so each is
//! sanitised to an identifier and made unique in the kernel's scope. Tiles
//! keep their kernel-IR name (`t3`, so the NKI code can be read beside
//! `--emit kernel-ir`) plus a word for what first writes them (`t3_exp`).

use std::collections::BTreeSet;

use trnc_ir::kernel::{Inst, Kernel, Operand, Stmt};

use super::py::VarNames;

/// Names the emitted code itself uses inside a kernel, and Python keywords.
const RESERVED: &[&str] = &[
    "nki", "nl", "nisa", "np", "range", "float", "len", "min", "max", "sum", "abs", "print", "False", "None", "True",
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else", "except",
    "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
    "return", "try", "while", "with", "yield", "match", "case", "type",
];

/// Hands out unique identifiers within one Python scope.
#[derive(Default)]
pub struct Namer {
    used: BTreeSet<String>,
}

impl Namer {
    pub fn new() -> Namer {
        Namer { used: RESERVED.iter().map(|s| s.to_string()).collect() }
    }

    /// `raw` as an identifier not yet taken: `k.1` → `k_1`, a clash → `k_1_2`.
    pub fn fresh(&mut self, raw: &str) -> String {
        let base = identifier(raw);
        let mut name = base.clone();
        let mut n = 2;
        while self.used.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.used.insert(name.clone());
        name
    }
}

/// A valid Python identifier for `raw`: other characters become `_`, a
/// leading digit gets a `v` in front, and the names ruff flags as ambiguous
/// (`l`, `O`, `I`, E741) get a trailing `_`.
pub fn identifier(raw: &str) -> String {
    let mut s: String = raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, 'v');
    }
    if matches!(s.as_str(), "l" | "O" | "I") {
        s.push('_');
    }
    s
}

/// Every name a kernel module binds.
pub struct KernelNames {
    pub function: String,
    /// By `HbmId`: the inputs, then the outputs.
    pub hbm: Vec<String>,
    pub tiles: Vec<String>,
    pub vars: VarNames,
    /// For names the printers need later (helper loop variables).
    pub namer: Namer,
}

impl KernelNames {
    pub fn new(k: &Kernel) -> KernelNames {
        let mut namer = Namer::new();
        let function = namer.fresh(&k.name);
        let mut vars = VarNames::new();
        // Loop variables first: they keep the kernel IR's `i0`, `i1`.
        collect_loop_vars(&k.body, &mut |v| {
            vars.entry(v).or_insert_with(|| namer.fresh(&format!("i{v}")));
        });
        let hbm = k.inputs.iter().chain(&k.outputs).map(|t| namer.fresh(&t.name)).collect();
        let roles = first_writers(k);
        let tiles = k
            .tiles
            .iter()
            .enumerate()
            .map(|(i, t)| match roles.get(i).and_then(|r| r.as_deref()) {
                Some(role) => namer.fresh(&format!("{}_{role}", t.name)),
                None => namer.fresh(&t.name),
            })
            .collect();
        KernelNames { function, hbm, tiles, vars, namer }
    }

    pub fn hbm(&self, i: usize) -> &str {
        self.hbm.get(i).map_or("missing_hbm_tensor", String::as_str)
    }

    pub fn tile(&self, i: usize) -> &str {
        self.tiles.get(i).map_or("missing_tile", String::as_str)
    }
}

fn collect_loop_vars(body: &[Stmt], f: &mut dyn FnMut(u32)) {
    for s in body {
        if let Stmt::Loop { var, body, .. } = s {
            f(var.0);
            collect_loop_vars(body, f);
        }
    }
}

/// Per tile, a word for the instruction that first writes it, in program
/// order: the HBM tensor a DMA loads, the activation function, the op.
fn first_writers(k: &Kernel) -> Vec<Option<String>> {
    let mut roles = vec![None; k.tiles.len()];
    visit_insts(&k.body, &mut |inst| {
        let Some(dst) = inst.dst() else { return };
        let Some(slot) = roles.get_mut(dst.tile.0 as usize) else { return };
        if slot.is_none() {
            *slot = Some(role(k, inst));
        }
    });
    roles
}

pub fn visit_insts<'a>(body: &'a [Stmt], f: &mut dyn FnMut(&'a Inst)) {
    for s in body {
        match s {
            Stmt::Inst { inst, .. } => f(inst),
            Stmt::Loop { body, .. } => visit_insts(body, f),
        }
    }
}

fn role(k: &Kernel, inst: &Inst) -> String {
    let reduce_word = |op: &str| match op {
        "add" => "sum".to_string(),
        "maximum" => "max".to_string(),
        "minimum" => "min".to_string(),
        "multiply" => "prod".to_string(),
        other => other.to_string(),
    };
    match inst {
        Inst::DmaCopy { src: Operand::Hbm(a), .. } => {
            let i = a.tensor.0 as usize;
            let t = if i < k.inputs.len() { k.inputs.get(i) } else { k.outputs.get(i - k.inputs.len()) };
            t.map_or("load".to_string(), |t| t.name.clone())
        }
        Inst::DmaCopy { .. } | Inst::TensorCopy { .. } => "copy".into(),
        Inst::DmaGather { .. } => "gather".into(),
        Inst::Matmul { .. } => "matmul".into(),
        Inst::Transpose { .. } => "transposed".into(),
        Inst::TensorTensor { op, .. } => op.nki_name().into(),
        Inst::TensorScalar { op0, .. } => op0.nki_name().into(),
        Inst::TensorReduce { op, .. } => format!("row_{}", reduce_word(op.nki_name())),
        Inst::Activation { func, .. } => func.nki_name().into(),
        Inst::Memset { value, .. } => if *value == 0.0 { "zeros" } else { "fill" }.into(),
        Inst::Iota { .. } => "iota".into(),
        Inst::AffineSelect { .. } => "masked".into(),
        Inst::BnStats { .. } => "stats".into(),
        Inst::BnAggr { .. } => "mean_var".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_valid_and_unique() {
        let mut n = Namer::new();
        assert_eq!(n.fresh("k.1"), "k_1");
        assert_eq!(n.fresh("k_1"), "k_1_2");
        assert_eq!(n.fresh("0x"), "v0x");
        assert_eq!(n.fresh("lambda"), "lambda_2");
        assert_eq!(n.fresh("l"), "l_");
        assert_eq!(n.fresh(""), "v");
    }
}
