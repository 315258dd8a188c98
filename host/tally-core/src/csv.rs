//! CSV records as every CSV of Tally writes them (RFC 4180): a field holding a comma, a quote
//! or a line break is quoted, and text starting with `=`, `+`, `@`, a tab or a carriage return
//! is prefixed with `'`, so a spreadsheet does not run it as a formula (user and host names come
//! from logs anyone on the network can write to).

/// One record: its fields, each made safe, joined by commas (the caller ends the line).
pub fn record<S: AsRef<str>>(fields: impl IntoIterator<Item = S>) -> String {
    let fields: Vec<String> = fields.into_iter().map(|f| field(f.as_ref())).collect();
    fields.join(",")
}

/// One field, quoted where needed and formula-safe.
pub fn field(text: &str) -> String {
    let safe = if text.starts_with(['=', '+', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if safe.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", safe.replace('"', "\"\""))
    } else {
        safe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_where_needed_and_never_run_as_formulas() {
        assert_eq!(
            record(["a, b", "say \"hi\"", "=cmd", "+1", "@x", "-3", "plain", ""]),
            "\"a, b\",\"say \"\"hi\"\"\",'=cmd,'+1,'@x,-3,plain,"
        );
        assert_eq!(field("\rx"), "\"'\rx\"");
    }
}
