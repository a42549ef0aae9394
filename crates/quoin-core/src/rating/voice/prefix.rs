//! Longest-prefix match over dialled digits: a digit trie in one flat arena, so a lookup
//! is one pass over the number (≤ 15 digits in E.164) whatever the number of prefixes.

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Node {
    children: [u32; 10],
    /// The value of the prefix ending here, if one does.
    value: u32,
}

impl Node {
    const EMPTY: Node = Node {
        children: [NONE; 10],
        value: NONE,
    };
}

#[derive(Debug, Clone)]
pub(crate) struct PrefixTrie {
    nodes: Vec<Node>,
}

impl PrefixTrie {
    pub(crate) fn new() -> Self {
        Self {
            nodes: vec![Node::EMPTY],
        }
    }

    /// Stores `value` under `digits` (ASCII digits only, checked by the caller). Returns
    /// the value already stored there, leaving it in place, if the prefix is taken.
    pub(crate) fn insert(&mut self, digits: &str, value: u32) -> Result<(), u32> {
        let mut at = 0usize;
        for b in digits.bytes() {
            let d = usize::from(b - b'0');
            let next = self.nodes[at].children[d];
            at = if next == NONE {
                let id = self.nodes.len();
                self.nodes.push(Node::EMPTY);
                self.nodes[at].children[d] = id as u32;
                id
            } else {
                next as usize
            };
        }
        match self.nodes[at].value {
            NONE => {
                self.nodes[at].value = value;
                Ok(())
            }
            taken => Err(taken),
        }
    }

    /// The value of the longest stored prefix of `digits`; stops at the first non-digit.
    pub(crate) fn longest_match(&self, digits: &[u8]) -> Option<u32> {
        let mut best = self.nodes[0].value;
        let mut at = 0usize;
        for &b in digits {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            let next = self.nodes[at].children[usize::from(d)];
            if next == NONE {
                break;
            }
            at = next as usize;
            if self.nodes[at].value != NONE {
                best = self.nodes[at].value;
            }
        }
        (best != NONE).then_some(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins_and_misses_are_none() {
        let mut trie = PrefixTrie::new();
        trie.insert("44", 0).unwrap();
        trie.insert("447", 1).unwrap();
        trie.insert("1", 2).unwrap();
        assert_eq!(trie.longest_match(b"442071234567"), Some(0));
        assert_eq!(trie.longest_match(b"447700900123"), Some(1));
        assert_eq!(trie.longest_match(b"4"), None);
        assert_eq!(trie.longest_match(b"33123"), None);
        assert_eq!(trie.insert("447", 9), Err(1));
    }
}
