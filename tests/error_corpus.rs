//! Malformed text inputs: each gives a located, readable error (never a
//! panic). The rendered messages are snapshots, reviewed by reading.

use std::path::Path;
use trnc::ErrorKind;
use trnc_tests::{files_in, load};

/// Errors that are about the file as a whole or the command line, and so
/// have no line and column.
const UNLOCATED: [&str; 1] = ["symbolic_unbound"];

#[test]
fn every_malformed_input_gives_a_located_error() {
    let files = files_in("errors", "trn");
    assert!(files.len() >= 25, "the error corpus went missing");
    for path in files {
        let name = Path::new(&path).file_stem().unwrap().to_str().unwrap().to_string();
        let err = match load(&path) {
            Ok(_) => panic!("{} was accepted", path.display()),
            Err(e) => e,
        };
        assert_eq!(err.kind, ErrorKind::BadInput, "{name}");
        if !UNLOCATED.contains(&name.as_str()) {
            let located = format!("--> {}:", path.display());
            assert!(err.message.contains(&located), "{name} has no location:\n{}", err.message);
            assert!(err.message.contains('^'), "{name} has no caret:\n{}", err.message);
        }
        insta::with_settings!({snapshot_suffix => name, prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("error", err.message);
        });
    }
}
