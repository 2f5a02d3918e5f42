//! The compiler's error type. Its kind decides the process exit code:
//! bad input or usage is 2, a failure while running is 1.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The user's input is wrong: a file, a flag, a model. Exit code 2.
    BadInput,
    /// The input was accepted but running it failed. Exit code 1.
    Run,
}

#[derive(Debug)]
pub struct Error {
    pub kind: ErrorKind,
    /// The full, rendered message (may span several lines).
    pub message: String,
}

impl Error {
    pub fn bad_input(message: impl Into<String>) -> Error {
        Error { kind: ErrorKind::BadInput, message: message.into() }
    }

    pub fn run(message: impl Into<String>) -> Error {
        Error { kind: ErrorKind::Run, message: message.into() }
    }

    pub fn exit_code(&self) -> i32 {
        match self.kind {
            ErrorKind::BadInput => 2,
            ErrorKind::Run => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
