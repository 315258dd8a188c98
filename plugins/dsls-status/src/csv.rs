//! The fields of the usage table's CSV rows.

/// The fields of one CSV row, trimmed. A field may be quoted (`"a, b"`, `""` for a quote);
/// DSLS writes none in the samples, but a comma in a process path must not shift the columns.
pub fn csv(row: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = row.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' if quoted => quoted = false,
            '"' if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            ',' if !quoted => fields.push(std::mem::take(&mut field).trim().to_string()),
            c => field.push(c),
        }
    }
    fields.push(field.trim().to_string());
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields() {
        assert_eq!(csv("a, b ,,"), vec!["a", "b", "", ""]);
        assert_eq!(
            csv("x,\"p, q\",\"say \"\"hi\"\"\""),
            vec!["x", "p, q", "say \"hi\""]
        );
        assert_eq!(csv("/bin/x ( 31),6.424"), vec!["/bin/x ( 31)", "6.424"]);
        // An unterminated quote (a cut line) keeps what it has.
        assert_eq!(csv("a,\"b,c"), vec!["a", "b,c"]);
    }
}
