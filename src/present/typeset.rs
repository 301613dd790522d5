//! Text for the PDF report: the bundled DejaVu Sans (Latin, Greek, Cyrillic and the symbols
//! reports use), measured by the same shaper that sets it in the PDF (rustybuzz, which krilla
//! draws with), so a wrapped line or a right-aligned number lands where the layout put it.
//!
//! A character the font cannot show (CJK, emoji) or that needs right-to-left layout (Hebrew,
//! Arabic: we set text left to right only) is printed as "□" and reported, so the page can say
//! which characters it could not show: never a silent "?".

use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;

pub static REGULAR_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
pub static BOLD_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// What stands in for a character the font cannot show.
pub const MISSING: char = '□';

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

struct Faces {
    regular: rustybuzz::Face<'static>,
    bold: rustybuzz::Face<'static>,
}

static FACES: LazyLock<Faces> = LazyLock::new(|| Faces {
    // The fonts are compiled in and checked by a test: failing to parse them is a broken build.
    regular: rustybuzz::Face::from_slice(REGULAR_TTF, 0).expect("the bundled regular font parses"),
    bold: rustybuzz::Face::from_slice(BOLD_TTF, 0).expect("the bundled bold font parses"),
});

fn face(weight: Weight) -> &'static rustybuzz::Face<'static> {
    match weight {
        Weight::Regular => &FACES.regular,
        Weight::Bold => &FACES.bold,
    }
}

/// Scripts written right to left, which this typesetter does not lay out.
fn right_to_left(c: char) -> bool {
    matches!(c as u32, 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF)
}

/// `text` as the PDF prints it: accents composed ("a" + U+0303 → "ã"), line breaks and tabs as
/// spaces, and each character the font cannot show as [`MISSING`]; the characters replaced are
/// returned beside it.
pub fn printable(text: &str, weight: Weight) -> (String, Vec<char>) {
    let face = face(weight);
    let mut missing = Vec::new();
    let shown = text
        .nfc()
        .filter(|c| !c.is_control() || c.is_whitespace())
        .map(|c| {
            if c.is_whitespace() {
                ' '
            } else if right_to_left(c) || face.glyph_index(c).is_none() {
                missing.push(c);
                MISSING
            } else {
                c
            }
        })
        .collect();
    (shown, missing)
}

/// The width of `text` at `size` points, as the PDF sets it (kerning included).
pub fn width(text: &str, size: f64, weight: Weight) -> f64 {
    if text.is_empty() {
        return 0.0;
    }
    let face = face(weight);
    let (shown, _) = printable(text, weight);
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(&shown);
    buffer.set_direction(rustybuzz::Direction::LeftToRight);
    let glyphs = rustybuzz::shape(face, &[], buffer);
    let advance: i64 = glyphs.glyph_positions().iter().map(|p| i64::from(p.x_advance)).sum();
    advance as f64 * size / f64::from(face.units_per_em())
}

/// How far above and below the baseline a line of `size` points reaches.
pub fn extent(size: f64) -> (f64, f64) {
    let face = face(Weight::Regular);
    let em = f64::from(face.units_per_em());
    (f64::from(face.ascender()) / em * size, -f64::from(face.descender()) / em * size)
}

/// `text` cut to fit `room` points, ending in "…"; whole when it fits.
pub fn fit(text: &str, size: f64, room: f64, weight: Weight) -> String {
    if width(text, size, weight) <= room {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    // The longest prefix that fits with the ellipsis (widths grow with the prefix).
    let (mut low, mut high) = (0, chars.len());
    while low < high {
        let mid = (low + high).div_ceil(2);
        let candidate: String = chars[..mid].iter().collect::<String>() + "…";
        if width(&candidate, size, weight) <= room {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    chars[..low].iter().collect::<String>().trim_end().to_string() + "…"
}

/// `text` in lines of at most `room` points, broken between words; a word wider than a line
/// is broken between characters.
pub fn wrap(text: &str, size: f64, room: f64, weight: Weight) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if width(&candidate, size, weight) <= room {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if width(word, size, weight) <= room {
            line = word.to_string();
            continue;
        }
        for c in word.chars() {
            let longer = format!("{line}{c}");
            if !line.is_empty() && width(&longer, size, weight) > room {
                lines.push(std::mem::replace(&mut line, c.to_string()));
            } else {
                line = longer;
            }
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The names of the scripts of `chars`, for the page's notice: "Chinese/Japanese/Korean",
/// "Hebrew", "Arabic", "emoji" or "other".
pub fn scripts(chars: &[char]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = chars
        .iter()
        .map(|&c| match c as u32 {
            0x0590..=0x05FF | 0xFB1D..=0xFB4F => "Hebrew",
            0x0600..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => "Arabic",
            0x1100..=0x11FF | 0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF => {
                "Chinese/Japanese/Korean"
            }
            0x1F000..=0x1FAFF | 0x2600..=0x27BF => "emoji",
            _ => "other",
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_font_shows_latin_greek_and_cyrillic_and_says_what_it_cannot() {
        let (shown, missing) = printable("São Paulo, Øre, Ελληνικά, Кириллица", Weight::Regular);
        assert_eq!(shown, "São Paulo, Øre, Ελληνικά, Кириллица");
        assert!(missing.is_empty());
        // A decomposed accent is composed, not lost.
        assert_eq!(printable("Sa\u{303}o", Weight::Bold).0, "São");
        let (shown, missing) = printable("日本語 ok", Weight::Regular);
        assert_eq!(shown, "□□□ ok");
        assert_eq!(missing, ['日', '本', '語']);
        assert_eq!(scripts(&missing), ["Chinese/Japanese/Korean"]);
        assert_eq!(printable("שלום", Weight::Regular).1.len(), 4);
    }

    #[test]
    fn widths_are_the_fonts() {
        // DejaVu Sans digits are 1303 of 2048 units wide: 10 points of "1,000" is 4 digits and
        // a comma (651 units).
        let expected = (4.0 * 1303.0 + 651.0) / 2048.0 * 10.0;
        assert!((width("1,000", 10.0, Weight::Regular) - expected).abs() < 1e-6, "{}", width("1,000", 10.0, Weight::Regular));
        assert!(width("Revenue", 10.0, Weight::Bold) > width("Revenue", 10.0, Weight::Regular));
        let room = width("one two", 10.0, Weight::Regular) + 0.1;
        assert_eq!(wrap("one two three", 10.0, room, Weight::Regular), ["one two", "three"]);
        // A word longer than the line is broken, never left to run off.
        let lines = wrap("share_of_customers_in_the_segment", 10.0, 40.0, Weight::Regular);
        assert!(lines.len() > 1 && lines.iter().all(|l| width(l, 10.0, Weight::Regular) <= 40.0), "{lines:?}");
        let cut = fit("a long product description", 8.0, 40.0, Weight::Regular);
        assert!(cut.ends_with('…') && width(&cut, 8.0, Weight::Regular) <= 40.0);
    }
}
