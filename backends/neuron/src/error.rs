//! What can go wrong when simulating a kernel.

use trnc_ir::kernel::KernelError;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// The static verifier rejected the kernel before it ran.
    #[error("{0}")]
    Verify(KernelError),
    /// A rule broken while running; the path carries the loop counters
    /// (`body[1].loop i0=2 body[0]`).
    #[error("{0}")]
    Run(KernelError),
    /// The inputs do not match the kernel's HBM inputs.
    #[error("kernel @{kernel}: {message}")]
    Input { kernel: String, message: String },
}

impl SimError {
    /// The message without the location.
    pub fn message(&self) -> &str {
        match self {
            SimError::Verify(e) | SimError::Run(e) => &e.message,
            SimError::Input { message, .. } => message,
        }
    }
}
