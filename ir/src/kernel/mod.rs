//! The kernel IR: what one NeuronCore does to run one fusion group.
//!
//! It is modelled on the NKI ISA (../shared/nki-api.md, trainium.md §2.3):
//! HBM tensors; SBUF and PSUM tiles whose first dimension is the partition
//! dimension (≤ 128); counted loops; and instructions that each run on one
//! engine. It is close enough to NKI that the emitters are printers, and
//! precise enough that the simulator (`backends/neuron`) can execute it
//! and the cost model can charge each instruction to an engine.
//!
//! Architecture invariant: a kernel is only tile declarations, loops and
//! the instructions below — nothing in it calls a graph op or the reference
//! backend. Every rule of the hardware is checked on this IR
//! (`verify_kernel`) and again while it runs (the simulator).

mod access;
mod inst;
pub mod print;
pub mod verify;

pub use access::{Affine, HbmAccess, LoopVar, Operand, TileAccess};
pub use inst::{Accumulate, ActFunc, AluOp, Engine, Inst, ScalarOperand};
pub use print::print_kernel;
pub use verify::{verify_inst, verify_kernel, KernelError, LoopBounds};

use crate::DType;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HbmId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId(pub u32);

/// A kernel argument or result in HBM (device memory), row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct HbmTensor {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Memory {
    /// State buffer: 128 partitions of 192–256 KiB (trainium.md §1.1).
    Sbuf,
    /// Partial-sum buffer: 128 partitions × 8 banks × 2 KiB; written by
    /// TensorE (matmul, transpose), read by the compute engines.
    Psum,
}

/// An on-chip tile, declared once for the whole kernel (static allocation):
/// `shape[0]` is the partition dimension, the rest are free dimensions.
#[derive(Clone, Debug, PartialEq)]
pub struct Tile {
    pub name: String,
    pub memory: Memory,
    pub dtype: DType,
    pub shape: Vec<usize>,
}

impl Tile {
    pub fn partitions(&self) -> usize {
        self.shape[0]
    }

    /// Elements per partition.
    pub fn free_elements(&self) -> usize {
        self.shape[1..].iter().product()
    }

    /// Bytes this tile takes in every partition it spans.
    pub fn bytes_per_partition(&self) -> usize {
        self.free_elements() * self.dtype.size_bytes()
    }
}

/// A statement: an instruction (with the graph ops it came from, for the
/// emitted comments) or a loop with a static trip count.
// Kernels hold hundreds of statements, not millions: boxing instructions
// to shrink loop nodes would only add indirection to every consumer.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    Inst { inst: Inst, note: Option<String> },
    Loop { var: LoopVar, count: usize, body: Vec<Stmt> },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Kernel {
    pub name: String,
    /// HBM tensors the kernel reads (in call order), then those it writes.
    pub inputs: Vec<HbmTensor>,
    pub outputs: Vec<HbmTensor>,
    pub tiles: Vec<Tile>,
    pub body: Vec<Stmt>,
    /// The graph ops fused into this kernel, for comments and reports.
    pub origin: Vec<String>,
}

impl Kernel {
    /// HBM tensors by id: inputs first, then outputs.
    pub fn hbm(&self, id: HbmId) -> &HbmTensor {
        let i = id.0 as usize;
        if i < self.inputs.len() {
            &self.inputs[i]
        } else {
            &self.outputs[i - self.inputs.len()]
        }
    }

    pub fn tile(&self, id: TileId) -> &Tile {
        &self.tiles[id.0 as usize]
    }

    /// SBUF bytes per partition of all SBUF tiles (allocation is static).
    pub fn sbuf_bytes_per_partition(&self) -> usize {
        self.tiles.iter().filter(|t| t.memory == Memory::Sbuf).map(Tile::bytes_per_partition).sum()
    }

    /// PSUM bytes per partition of all PSUM tiles.
    pub fn psum_bytes_per_partition(&self) -> usize {
        self.tiles.iter().filter(|t| t.memory == Memory::Psum).map(Tile::bytes_per_partition).sum()
    }
}
