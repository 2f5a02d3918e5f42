//! The canonical text of every corpus graph, and a check that printing it
//! and parsing it back changes nothing.

use std::path::Path;
use trnc_ir::text::{external_constants, parse_graph, print_graph};
use trnc_ir::{Tensor, TensorType};
use trnc_tests::{files_in, load};

#[test]
fn corpus_prints_canonically_and_round_trips() {
    let files = files_in("corpus", "trn");
    assert!(files.len() >= 10, "the corpus went missing: {files:?}");
    for path in files {
        let graph = load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let text = print_graph(&graph);
        let external = external_constants(&graph);
        let mut loader = |key: &str, _: &TensorType| -> Result<Tensor, String> {
            external.iter().find(|(k, _)| k == key).map(|(_, t)| (**t).clone()).ok_or_else(|| format!("no {key}"))
        };
        let again = parse_graph(&text, "printed", &mut loader).unwrap();
        assert_eq!(print_graph(&again.graph), text, "{} does not round-trip", path.display());
        let name = Path::new(&path).file_stem().unwrap().to_str().unwrap().to_string();
        insta::with_settings!({snapshot_suffix => name, prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("canonical", text);
        });
    }
}
