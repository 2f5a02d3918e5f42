//! Dead-code elimination: drops nodes that no graph output depends on.

use trnc_ir::Graph;

pub fn dce(g: &mut Graph) -> bool {
    let mut live = vec![false; g.num_values()];
    for v in &g.outputs {
        live[v.index()] = true;
    }
    for n in g.nodes.iter().rev() {
        if live[n.output.index()] {
            for v in &n.inputs {
                live[v.index()] = true;
            }
        }
    }
    let before = g.nodes.len();
    g.nodes.retain(|n| live[n.output.index()]);
    g.nodes.len() != before
}
