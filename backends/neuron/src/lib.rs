//! trnc-backend-neuron: the NeuronCore backend. For now, a functional
//! simulator of the kernel IR (`trnc_ir::kernel`) that enforces the
//! hardware's rules.
//!
//! [`simulate`] runs `verify_kernel` first, then executes the body with
//! real loop counters, checking every instruction's rules again for those
//! counters (`verify_inst`) and the data-dependent ones only a run can see:
//! reading PSUM that nothing wrote, accumulating onto PSUM that no matmul
//! started, sin outside [-π, π], outputs left unwritten.
//!
//! Semantics, following nki.simulate where the docs are silent
//! (trainium.md §6):
//! - fresh tiles and outputs hold NaN (every dtype);
//! - engines compute in fp32: inputs are converted to fp32, each operation
//!   is computed in f64 and rounded to fp32, and every write rounds to the
//!   destination dtype (`DType::round`, round-to-nearest-even; int32 rounds
//!   to nearest even and saturates);
//! - copies between equal dtypes (dma_copy, tensor_copy, nc_transpose) are
//!   bit-exact; dtype changes go through fp32;
//! - PSUM accumulates in fp32 (`memory`, `exec/tensor_engine.rs`).
//!
//! **Architecture Invariant:** the simulator never panics on a kernel: a
//! malformed one is a `SimError`.

mod alu;
pub mod cost;
mod error;
mod exec;
pub mod math;
mod memory;
pub mod nki;
mod run;

pub use error::SimError;

use trnc_ir::kernel::{verify_kernel, Kernel, KernelError};
use trnc_ir::{format_shape, Target, Tensor};

/// Runs the kernel on `inputs` (one per kernel input, same dtype and
/// shape) and returns its outputs.
pub fn simulate(k: &Kernel, target: Target, inputs: &[Tensor]) -> Result<Vec<Tensor>, SimError> {
    verify_kernel(k, target).map_err(SimError::Verify)?;
    check_inputs(k, inputs)?;
    let mut runner = run::Runner::new(k, target, memory::Machine::new(k, inputs));
    runner.run().map_err(SimError::Run)?;
    let hbm = runner.m.hbm;
    let mut outputs = Vec::with_capacity(k.outputs.len());
    for (t, mem) in k.outputs.iter().zip(hbm.into_iter().skip(k.inputs.len())) {
        // An output element no instruction wrote would be garbage on the
        // device (`err_tensor_output_not_written_to`, trainium.md §2.4).
        let missing = mem.written.iter().filter(|&&w| !w).count();
        if missing > 0 {
            let first = mem.written.iter().position(|&w| !w).unwrap_or(0);
            return Err(SimError::Run(KernelError {
                kernel: k.name.clone(),
                path: format!("output %{}", t.name),
                inst: None,
                message: format!(
                    "{missing} of {} elements were never written (the first is element [{}])",
                    mem.written.len(),
                    memory::coordinates(&t.shape, first)
                ),
            }));
        }
        outputs.push(Tensor::from_f64(t.dtype, t.shape.clone(), &mem.data));
    }
    Ok(outputs)
}

fn check_inputs(k: &Kernel, inputs: &[Tensor]) -> Result<(), SimError> {
    let err = |message: String| SimError::Input { kernel: k.name.clone(), message };
    let too_large = k
        .outputs
        .iter()
        .find(|t| t.shape.iter().try_fold(1usize, |a, &n| a.checked_mul(n)).is_none_or(|n| n > memory::MAX_ELEMENTS));
    if let Some(t) = too_large {
        return Err(err(format!("output %{} is too large to simulate", t.name)));
    }
    if inputs.len() != k.inputs.len() {
        return Err(err(format!("the kernel takes {} inputs, got {}", k.inputs.len(), inputs.len())));
    }
    for (x, t) in inputs.iter().zip(&k.inputs) {
        if x.dtype() != t.dtype || x.shape() != t.shape.as_slice() {
            return Err(err(format!(
                "input %{} is {}{} but got {}{}",
                t.name,
                t.dtype,
                format_shape(&t.shape),
                x.dtype(),
                format_shape(x.shape())
            )));
        }
    }
    Ok(())
}
