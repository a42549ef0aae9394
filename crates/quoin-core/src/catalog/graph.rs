//! Graph helpers shared by bundle and work-order validation.

use std::collections::HashMap;

/// A reference that closes a cycle: edge `edge` of node `from`, and the cycle it closes as
/// node indices from the first node back to itself (`[a, b, a]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BackEdge {
    pub from: usize,
    pub edge: usize,
    pub cycle: Vec<usize>,
}

/// The back edges of a depth-first search from every node in index order; `edges[u]` lists
/// `(position in u's list, target)`. Every cycle in the graph contains at least one, so an
/// empty result means the graph is acyclic, and each one names a concrete cycle to report.
/// Iterative, so a long chain of references cannot overflow the stack.
pub(crate) fn back_edges(edges: &[Vec<(usize, usize)>]) -> Vec<BackEdge> {
    const NEW: u8 = 0;
    const OPEN: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; edges.len()];
    let mut found = Vec::new();
    // The open path, with how many of each node's edges have been followed.
    let mut path: Vec<(usize, usize)> = Vec::new();
    for root in 0..edges.len() {
        if state[root] != NEW {
            continue;
        }
        state[root] = OPEN;
        path.push((root, 0));
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            let Some(&(edge, target)) = edges[node].get(*next) else {
                state[node] = DONE;
                path.pop();
                continue;
            };
            *next += 1;
            match state[target] {
                NEW => {
                    state[target] = OPEN;
                    path.push((target, 0));
                }
                OPEN => {
                    let start = path.iter().position(|&(n, _)| n == target).unwrap_or(0);
                    let mut cycle: Vec<usize> = path[start..].iter().map(|&(n, _)| n).collect();
                    cycle.push(target);
                    found.push(BackEdge {
                        from: node,
                        edge,
                        cycle,
                    });
                }
                _ => {}
            }
        }
    }
    found.sort_by_key(|b| (b.from, b.edge));
    found
}

/// Index of each code's first occurrence, plus `(index, first index)` for every repeat.
pub(crate) fn first_occurrences<'a>(
    codes: impl IntoIterator<Item = &'a str>,
) -> (HashMap<&'a str, usize>, Vec<(usize, usize)>) {
    let mut first = HashMap::new();
    let mut repeats = Vec::new();
    for (i, code) in codes.into_iter().enumerate() {
        match first.get(code) {
            Some(&f) => repeats.push((i, f)),
            None => {
                first.insert(code, i);
            }
        }
    }
    (first, repeats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(adj: &[&[usize]]) -> Vec<Vec<(usize, usize)>> {
        adj.iter()
            .map(|targets| targets.iter().copied().enumerate().collect())
            .collect()
    }

    #[test]
    fn acyclic_diamond_has_no_back_edge() {
        assert!(back_edges(&graph(&[&[1, 2], &[3], &[3], &[]])).is_empty());
    }

    #[test]
    fn cycles_are_named_from_their_entry() {
        let found = back_edges(&graph(&[&[1], &[2], &[0], &[3]]));
        assert_eq!(
            found,
            vec![
                BackEdge {
                    from: 2,
                    edge: 0,
                    cycle: vec![0, 1, 2, 0]
                },
                BackEdge {
                    from: 3,
                    edge: 0,
                    cycle: vec![3, 3]
                },
            ]
        );
    }
}
