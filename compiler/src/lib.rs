//! trnc, the library behind the `trnc` binary: model loading (text IR and
//! ONNX), and the drivers that run models on backends.

pub mod error;
pub mod load;
pub mod npy;
pub mod onnx;

pub use error::{Error, ErrorKind};
pub use load::{load_model, LoadOptions};
pub mod bench;
pub mod emit_nki;
pub mod execute;
pub mod fusion;
pub mod passes;
pub mod program;
pub mod report;
