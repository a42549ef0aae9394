//! Glyph widths of the base-14 Helvetica fonts (from Adobe's AFM files, in 1/1000 em)
//! and the WinAnsi encoding they are used with, so text can be measured for right
//! alignment and wrapping without embedding any font file.

/// Helvetica, characters 32 (space) to 126 (`~`).
const REGULAR: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278,
    278, // ' '..'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584,
    556, // '0'..'?'
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722,
    778, // '@'..'O'
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469,
    556, // 'P'..'_'
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556,
    556, // '`'..'o'
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // 'p'..'~'
];

/// Helvetica-Bold, characters 32 (space) to 126 (`~`).
const BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278,
    278, // ' '..'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584,
    611, // '0'..'?'
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722,
    778, // '@'..'O'
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584,
    556, // 'P'..'_'
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611,
    611, // '`'..'o'
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, // 'p'..'~'
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Font {
    Regular,
    Bold,
}

impl Font {
    /// Width in 1/1000 em of one WinAnsi-encoded byte.
    fn byte_width(self, byte: u8) -> u16 {
        let table = match self {
            Font::Regular => &REGULAR,
            Font::Bold => &BOLD,
        };
        match byte {
            32..=126 => table[usize::from(byte - 32)],
            0x96 => 556,                       // en dash
            0x97 | 0x89 | 0x99 | 0x85 => 1000, // em dash, per mille, trade mark, ellipsis
            0xC0..=0xDE => 722,                // accented capitals: close enough
            _ => 556,
        }
    }

    /// Width in points of `text` (already encoded) at `size`.
    pub(crate) fn width(self, text: &[u8], size: f32) -> f32 {
        let units: u32 = text.iter().map(|&b| u32::from(self.byte_width(b))).sum();
        units as f32 * size / 1000.0
    }
}

/// Encodes `text` in WinAnsi (Windows-1252); characters it lacks become `?`.
pub(crate) fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{A0}'..='\u{FF}' => c as u8,
            '\t' | '\n' | '\r' => b' ',
            '€' => 0x80,
            '‚' => 0x82,
            'ƒ' => 0x83,
            '„' => 0x84,
            '…' => 0x85,
            '†' => 0x86,
            '‡' => 0x87,
            'ˆ' => 0x88,
            '‰' => 0x89,
            'Š' => 0x8A,
            '‹' => 0x8B,
            'Œ' => 0x8C,
            'Ž' => 0x8E,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '˜' => 0x98,
            '™' => 0x99,
            'š' => 0x9A,
            '›' => 0x9B,
            'œ' => 0x9C,
            'ž' => 0x9E,
            'Ÿ' => 0x9F,
            _ => b'?',
        })
        .collect()
}

/// Splits `text` into lines no wider than `max` points; a word longer than a line is cut.
pub(crate) fn wrap(text: &[u8], font: Font, size: f32, max: f32) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    for word in text.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        let candidate_width = if current.is_empty() {
            font.width(word, size)
        } else {
            font.width(&current, size) + font.width(b" ", size) + font.width(word, size)
        };
        if candidate_width <= max {
            if !current.is_empty() {
                current.push(b' ');
            }
            current.extend_from_slice(word);
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        // The word alone: cut it when it is wider than a whole line.
        for &byte in word {
            if !current.is_empty() && font.width(&current, size) + font.width(&[byte], size) > max {
                lines.push(std::mem::take(&mut current));
            }
            current.push(byte);
        }
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_fixed_width() {
        assert_eq!(Font::Regular.width(b"1234567890", 10.0), 55.6);
        assert_eq!(Font::Bold.width(b"0", 1000.0), 556.0);
    }

    #[test]
    fn encodes_latin1_and_replaces_the_rest() {
        assert_eq!(win_ansi("Café – 5€ 漢"), b"Caf\xe9 \x96 5\x80 ?".to_vec());
    }

    #[test]
    fn wraps_on_words_and_cuts_long_ones() {
        let lines = wrap(b"aaaa bbbb cccc", Font::Regular, 10.0, 60.0);
        assert_eq!(lines, vec![b"aaaa bbbb".to_vec(), b"cccc".to_vec()]);
        let cut = wrap(&[b'm'; 30], Font::Regular, 10.0, 50.0);
        assert!(cut.len() > 1 && cut.iter().all(|l| Font::Regular.width(l, 10.0) <= 50.0));
        assert_eq!(wrap(b"", Font::Regular, 10.0, 50.0), vec![Vec::<u8>::new()]);
    }
}
