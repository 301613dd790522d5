//! Plain-text helpers every layer shares: a leaf module (it uses no other), so the importer's
//! report, the workspace and the presentation layer can all say "1,234,567" the same way
//! without reaching up into each other.

/// `"1234567"` → `"1,234,567"`: digits grouped in threes from the right, however many.
pub fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn digits_are_grouped_in_threes_from_the_right() {
        for (digits, grouped) in [("", ""), ("7", "7"), ("123", "123"), ("1234", "1,234"), ("1234567", "1,234,567"), ("100000", "100,000")]
        {
            assert_eq!(super::group_digits(digits), grouped);
        }
    }
}
