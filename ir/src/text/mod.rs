//! The text format (`.trn` files): a printer and a parser that round-trip
//! exactly, `print(parse(print(g))) == print(g)`.
//!
//! ```text
//! graph @mlp(%x: f32[32, 256]) -> (f32[32, 64]) {
//!   %w1 = const f32[256, 64] @w1
//!   %h = matmul %x, %w1 : f32[32, 64]
//!   %y = gelu %h {approx = "tanh"} : f32[32, 64]
//!   return %y
//! }
//! ```
//!
//! Constants with more than [`INLINE_LIMIT`] elements are written as
//! `@key` and live in a safetensors file beside the text (`mlp.trn` →
//! `mlp.safetensors`), keyed by the value's name.

mod diagnostic;
mod lexer;
mod parser;
mod printer;

pub use diagnostic::{ParseError, Span};
pub use parser::{parse_graph, ParsedGraph};
pub use printer::{external_constants, print_graph, INLINE_LIMIT};
