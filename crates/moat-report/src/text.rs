//! Text helpers for the terminal table: safe cell text, display widths and truncation.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Replaces control characters so that untrusted names and titles cannot inject terminal
/// escapes or break lines.
pub(crate) fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Columns `text` takes on a terminal.
pub(crate) fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` cut to at most `max` columns, ending in `…` when it was cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_string();
    }
    let budget = max.saturating_sub(1);
    let mut used = 0;
    let mut cut = String::new();
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > budget {
            break;
        }
        used += w;
        cut.push(c);
    }
    if max > 0 {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_columns() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("exactly10!", 10), "exactly10!");
        assert_eq!(truncate("a longer title", 8), "a longe…");
        assert_eq!(width(&truncate("漢字漢字漢字", 7)), 7);
        assert_eq!(truncate("x", 0), "");
    }

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(clean("evil\x1b[2Jname\n"), "evil?[2Jname?");
    }
}
