//! Colouring SQL in the console's editor: keywords, strings, numbers, comments. A tokenizer
//! this small is clearer than pulling a general syntax-highlighting engine into the app.

use eframe::egui::{self, text::LayoutJob, Color32, FontId, TextFormat};

const KEYWORDS: &[&str] = &[
    "select",
    "from",
    "where",
    "group",
    "by",
    "order",
    "having",
    "limit",
    "offset",
    "join",
    "left",
    "right",
    "inner",
    "outer",
    "on",
    "as",
    "and",
    "or",
    "not",
    "in",
    "is",
    "null",
    "like",
    "between",
    "case",
    "when",
    "then",
    "else",
    "end",
    "distinct",
    "with",
    "union",
    "all",
    "desc",
    "asc",
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "round",
    "substr",
    "cast",
    "exists",
    "over",
    "partition",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    Keyword,
    String,
    Number,
    Comment,
    Other,
}

/// Splits SQL into (byte range, token kind) spans covering the whole text.
pub fn tokens(sql: &str) -> Vec<(std::ops::Range<usize>, Token)> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let kind = match bytes[i] {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                Token::Comment
            }
            quote @ (b'\'' | b'"') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += 1;
                }
                i = (i + 1).min(bytes.len());
                Token::String
            }
            b'0'..=b'9' => {
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                    i += 1;
                }
                Token::Number
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                if KEYWORDS.contains(&sql[start..i].to_ascii_lowercase().as_str()) {
                    Token::Keyword
                } else {
                    Token::Other
                }
            }
            _ => {
                // Advance one whole character, never into the middle of one.
                i += sql[i..].chars().next().map_or(1, char::len_utf8);
                Token::Other
            }
        };
        out.push((start..i, kind));
    }
    out
}

pub fn layout(ui: &egui::Ui, sql: &str, wrap_width: f32) -> LayoutJob {
    let dark = ui.visuals().dark_mode;
    let font = FontId::monospace(14.0);
    let color = |token| match (token, dark) {
        (Token::Keyword, true) => Color32::from_rgb(120, 170, 255),
        (Token::Keyword, false) => Color32::from_rgb(20, 80, 200),
        (Token::String, true) => Color32::from_rgb(230, 180, 110),
        (Token::String, false) => Color32::from_rgb(160, 80, 0),
        (Token::Number, true) => Color32::from_rgb(160, 220, 160),
        (Token::Number, false) => Color32::from_rgb(20, 130, 60),
        (Token::Comment, _) => Color32::GRAY,
        (Token::Other, _) => ui.visuals().text_color(),
    };
    let mut job = LayoutJob::default();
    for (range, token) in tokens(sql) {
        job.append(&sql[range], 0.0, TextFormat::simple(font.clone(), color(token)));
    }
    job.wrap.max_width = wrap_width;
    job
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_cover_the_text_and_find_keywords_strings_numbers_comments() {
        let sql = "SELECT 'Hermès', 42 -- note\nfrom t";
        let toks = tokens(sql);
        let rebuilt: String = toks.iter().map(|(r, _)| &sql[r.clone()]).collect();
        assert_eq!(rebuilt, sql);
        let kind_of = |text: &str| toks.iter().find(|(r, _)| &sql[r.clone()] == text).map(|(_, k)| *k);
        assert_eq!(kind_of("SELECT"), Some(Token::Keyword));
        assert_eq!(kind_of("'Hermès'"), Some(Token::String));
        assert_eq!(kind_of("42"), Some(Token::Number));
        assert_eq!(kind_of("-- note"), Some(Token::Comment));
        assert_eq!(kind_of("from"), Some(Token::Keyword));
        assert_eq!(kind_of("t"), Some(Token::Other));
    }
}
