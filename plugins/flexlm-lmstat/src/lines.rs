//! The status output as clean, numbered lines.

use tally_plugin_sdk::text::text;

/// The lines of `output`, numbered from 1: lossy UTF-8 without a BOM, every run of whitespace
/// (TABs, U+00A0, a trailing `\r`) read as one space, ends trimmed. lmstat's indentation varies
/// between versions and even inside one output, so only the words matter.
pub fn lines(output: &[u8]) -> impl Iterator<Item = (u64, String)> + '_ {
    let output = output.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(output);
    output
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, words(&text(l))))
}

/// `s` with its whitespace runs collapsed to single spaces and its ends trimmed.
pub fn words(s: &str) -> String {
    s.split(char::is_whitespace)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_crlf_tabs_and_nbsp() {
        let got: Vec<_> = lines(b"\xEF\xBB\xBFa\r\n\tb\xC2\xA0 c  \r\n\t").collect();
        assert_eq!(
            got,
            vec![(1, "a".into()), (2, "b c".into()), (3, String::new())]
        );
        assert_eq!(words("Users of x:  (Total"), "Users of x: (Total");
    }
}
