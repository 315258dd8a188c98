//! The status output as numbered lines, and MathLM's durations.

/// The lines of `text`, numbered from 1, without a BOM and without one trailing `\r` each.
pub fn lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.split('\n')
        .zip(1..)
        .map(|(l, no)| (no, l.strip_suffix('\r').unwrap_or(l)))
}

/// A session's duration, `H:MM` or `H:MM:SS` (hours may exceed 24), in seconds.
pub fn duration(s: &str) -> Option<i64> {
    let parts: Vec<i64> = s
        .split(':')
        .map(|p| {
            (!p.is_empty() && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        })
        .collect::<Option<_>>()?;
    match parts[..] {
        [h, m] if m < 60 => Some(h * 3600 + m * 60),
        [h, m, sec] if m < 60 && sec < 60 => Some(h * 3600 + m * 60 + sec),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_crlf_and_numbers() {
        let got: Vec<_> = lines("\u{feff}a\r\nb\n\nc\r").collect();
        assert_eq!(got, vec![(1, "a"), (2, "b"), (3, ""), (4, "c")]);
    }

    #[test]
    fn durations() {
        assert_eq!(duration("08:49"), Some(8 * 3600 + 49 * 60));
        assert_eq!(duration("0:05"), Some(300));
        assert_eq!(duration("123:00:07"), Some(123 * 3600 + 7));
        for bad in ["", "8", "8:60", "1:2:60", "a:b", "1:-2", "1:2:3:4", "11.2"] {
            assert_eq!(duration(bad), None, "{bad}");
        }
    }
}
