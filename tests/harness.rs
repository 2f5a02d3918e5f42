//! Shared helpers for trnc's workspace tests.
