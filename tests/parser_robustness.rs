//! Mutated corpus files (truncations, deleted, inserted and replaced
//! characters) must give an error or a graph, never a panic.

use trnc_ir::random::Rng;
use trnc_ir::text::parse_graph;
use trnc_ir::{verify, Tensor, TensorType};
use trnc_tests::files_in;

const ALPHABET: &[u8] = b"%@:,=[]{}()->0123456789.-e \"\nabcfgimnrstuxy_";

fn mutate(rng: &mut Rng, src: &[u8]) -> Vec<u8> {
    let mut s = src.to_vec();
    for _ in 0..1 + rng.below(3) {
        if s.is_empty() {
            break;
        }
        let at = rng.below(s.len() as u64) as usize;
        match rng.below(4) {
            0 => s.truncate(at),
            1 => {
                s.remove(at);
            }
            2 => s.insert(at, ALPHABET[rng.below(ALPHABET.len() as u64) as usize]),
            _ => s[at] = ALPHABET[rng.below(ALPHABET.len() as u64) as usize],
        }
    }
    s
}

#[test]
fn mutated_inputs_never_panic() {
    let mut rng = Rng::new(99);
    let mut errors = 0;
    let mut trials = 0;
    for path in files_in("corpus", "trn") {
        let src = std::fs::read(&path).unwrap();
        for _ in 0..400 {
            let bytes = mutate(&mut rng, &src);
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            trials += 1;
            // Side-file constants resolve to a tensor of the declared type,
            // so mutations reach the checks after them.
            let mut loader = |_: &str, ty: &TensorType| -> Result<Tensor, String> {
                let shape = ty.shape()?;
                let n: usize = shape.iter().product();
                if n > 1 << 20 {
                    return Err("too large".into());
                }
                Ok(Tensor::from_f64(ty.dtype, shape, &vec![0.5; n]))
            };
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                match parse_graph(&text, "mutated", &mut loader) {
                    Ok(p) => {
                        let _ = verify(&p.graph);
                        Ok(())
                    }
                    Err(e) => Err(e.to_string()),
                }
            }));
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(msg)) => {
                    errors += 1;
                    assert!(msg.contains("--> mutated:"), "unlocated error: {msg}");
                }
                Err(_) => panic!("parser panicked on:\n{text}"),
            }
        }
    }
    assert!(trials > 2000 && errors > trials / 3, "mutations too weak: {errors} errors in {trials}");
}
