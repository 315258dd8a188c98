//! MathLM's session durations.

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
    fn durations() {
        assert_eq!(duration("08:49"), Some(8 * 3600 + 49 * 60));
        assert_eq!(duration("0:05"), Some(300));
        assert_eq!(duration("123:00:07"), Some(123 * 3600 + 7));
        for bad in ["", "8", "8:60", "1:2:60", "a:b", "1:-2", "1:2:3:4", "11.2"] {
            assert_eq!(duration(bad), None, "{bad}");
        }
    }
}
