//! The one error type of the crate: why a group could not become a kernel,
//! naming the graph op and node it is about.

use std::fmt;

/// A group that the generators cannot (yet) lower, or a request that is
/// malformed. Never a panic: every input either lowers or gives one of these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LowerError {
    /// The kernel being generated (the group's name).
    pub kernel: String,
    /// Index of the graph node the problem is about, when there is one.
    pub node: Option<usize>,
    /// `%y = softmax %x`: the node as the text format writes it.
    pub what: Option<String>,
    pub message: String,
}

impl LowerError {
    /// An error about the group as a whole.
    pub fn group(kernel: &str, message: impl Into<String>) -> LowerError {
        LowerError { kernel: kernel.to_string(), node: None, what: None, message: message.into() }
    }

    /// An error about one node.
    pub fn node(kernel: &str, node: usize, what: String, message: impl Into<String>) -> LowerError {
        LowerError { kernel: kernel.to_string(), node: Some(node), what: Some(what), message: message.into() }
    }
}

impl fmt::Display for LowerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot lower kernel @{}", self.kernel)?;
        if let (Some(node), Some(what)) = (self.node, &self.what) {
            write!(f, ", node {node} `{what}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for LowerError {}
