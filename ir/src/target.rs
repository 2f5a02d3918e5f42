//! The NeuronCore generations trnc compiles for, with the on-chip limits
//! every stage must respect. Figures: ../shared/trainium.md §1.1 (SBUF and
//! PSUM sizes) and §1.3 (matmul tile limits).

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// Trainium1, NeuronCore-v2.
    Trn1,
    /// Trainium2, NeuronCore-v3.
    Trn2,
    /// Trainium3, NeuronCore-v4.
    Trn3,
}

/// Partitions of SBUF and PSUM; also the TensorE contraction limit (§1.1, §1.3).
pub const PARTITIONS: usize = 128;
/// PSUM: 8 banks of 2 KiB per partition (§1.1).
pub const PSUM_BANKS: usize = 8;
pub const PSUM_BANK_BYTES: usize = 2048;
/// nc_matmul limits: stationary free ≤ 128, moving free ≤ 512 (one fp32 PSUM bank) (§1.3).
pub const MATMUL_STATIONARY_FREE: usize = 128;
pub const MATMUL_MOVING_FREE: usize = 512;

impl Target {
    pub const ALL: [Target; 3] = [Target::Trn1, Target::Trn2, Target::Trn3];

    pub fn name(self) -> &'static str {
        match self {
            Target::Trn1 => "trn1",
            Target::Trn2 => "trn2",
            Target::Trn3 => "trn3",
        }
    }

    /// SBUF bytes per partition that a kernel may use. Trn1: 192 KiB of
    /// which 16 KiB are reserved for the compiler; Trn2: 224 KiB; Trn3:
    /// 256 KiB (§1.1).
    pub fn sbuf_bytes_per_partition(self) -> usize {
        match self {
            Target::Trn1 => (192 - 16) * 1024,
            Target::Trn2 => 224 * 1024,
            Target::Trn3 => 256 * 1024,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Target, String> {
        Target::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| format!("unknown target '{s}'; expected one of: trn1, trn2, trn3"))
    }
}
