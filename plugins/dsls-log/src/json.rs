//! A streaming reader for the DSLS cloud `getlogs` document, just enough JSON for
//! `{"result":{"firstDate":<ms>,"lastDate":<ms>,"rowIndex":0,"rows":["<log line>",…],
//! "serverTimeZone":"UTC","totalNumberOfRows":728}}`, whether pretty-printed (one row per line)
//! or on one line.
//!
//! A JSON string cannot hold a raw newline, so every token lies within one line: the reader keeps
//! only its structural state between lines (and chunks) and hands out the row strings as borrowed
//! bytes. Members it does not know are reported once and skipped whole. After a syntax error the
//! caller drops the rest of the line; the state is left as it was before the bad token, so the
//! next line (the next row, when pretty-printed) reads normally.

/// The member whose value comes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// No member: the top-level value, or an array element.
    None,
    Result,
    Rows,
    FirstDate,
    LastDate,
    RowIndex,
    ServerTimeZone,
    TotalNumberOfRows,
    Unknown,
}

impl Key {
    pub const ALL: [Key; 9] = [
        Key::None,
        Key::Result,
        Key::Rows,
        Key::FirstDate,
        Key::LastDate,
        Key::RowIndex,
        Key::ServerTimeZone,
        Key::TotalNumberOfRows,
        Key::Unknown,
    ];

    fn of(name: &[u8]) -> Key {
        match name {
            b"result" => Key::Result,
            b"rows" => Key::Rows,
            b"firstDate" => Key::FirstDate,
            b"lastDate" => Key::LastDate,
            b"rowIndex" => Key::RowIndex,
            b"serverTimeZone" => Key::ServerTimeZone,
            b"totalNumberOfRows" => Key::TotalNumberOfRows,
            _ => Key::Unknown,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Key::None => "(none)",
            Key::Result => "result",
            Key::Rows => "rows",
            Key::FirstDate => "firstDate",
            Key::LastDate => "lastDate",
            Key::RowIndex => "rowIndex",
            Key::ServerTimeZone => "serverTimeZone",
            Key::TotalNumberOfRows => "totalNumberOfRows",
            Key::Unknown => "(unknown)",
        }
    }
}

/// What the reader expects next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Value,
    Key,
    Colon,
    /// `,` or the closing bracket of the current container.
    Next,
    /// The top-level value is complete; another may follow (concatenated pages).
    Done,
}

impl Expect {
    pub const ALL: [Expect; 5] = [
        Expect::Value,
        Expect::Key,
        Expect::Colon,
        Expect::Next,
        Expect::Done,
    ];
}

/// An open container the reader descends into (everything else is skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// The top-level object or a `result` object.
    Object,
    /// The `rows` array (or a top-level array): its strings are log entries.
    Rows,
}

/// The reader's state between lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    pub stack: Vec<Frame>,
    pub expect: Expect,
    pub key: Key,
    /// Bracket depth inside a value being skipped.
    pub skip: u32,
    /// The current document has a rows array.
    pub rows_opened: bool,
}

impl Default for Reader {
    fn default() -> Self {
        Reader {
            stack: Vec::new(),
            expect: Expect::Done,
            key: Key::None,
            skip: 0,
            rows_opened: false,
        }
    }
}

/// What a line holds for the importer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// A row: the string's raw bytes between the quotes, and whether it has `\` escapes.
    Row(&'a [u8], bool),
    /// A rows element that is not a string.
    NotString,
    /// A top-level document begins.
    Begin,
    /// The top-level document is complete.
    End,
    Number(Key, i64),
    Text(Key, &'a [u8], bool),
    /// A member this reader does not know (its value is skipped).
    Unknown(&'a [u8]),
    /// A known member with a value of the wrong type (skipped).
    WrongType(Key),
    /// A syntax error: the rest of the line is not read.
    Error(&'static str),
}

enum Tok<'a> {
    Open(u8),
    Close(u8),
    Colon,
    Comma,
    Str(&'a [u8], bool),
    Scalar(&'a [u8]),
}

/// The next token of `line` from `*pos`, `Ok(None)` at the end of the line.
fn token<'a>(line: &'a [u8], pos: &mut usize) -> Result<Option<Tok<'a>>, &'static str> {
    let mut i = *pos;
    while i < line.len() && matches!(line[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    let Some(&c) = line.get(i) else {
        *pos = i;
        return Ok(None);
    };
    let (tok, end) = match c {
        b'{' | b'[' => (Tok::Open(c), i + 1),
        b'}' | b']' => (Tok::Close(c), i + 1),
        b':' => (Tok::Colon, i + 1),
        b',' => (Tok::Comma, i + 1),
        b'"' => {
            let mut j = i + 1;
            let mut escaped = false;
            loop {
                match memchr::memchr2(b'"', b'\\', &line[j..]) {
                    None => return Err("unterminated string"),
                    Some(k) if line[j + k] == b'"' => {
                        j += k;
                        break;
                    }
                    Some(k) => {
                        escaped = true;
                        j += k + 2;
                        if j > line.len() {
                            return Err("unterminated string");
                        }
                    }
                }
            }
            (Tok::Str(&line[i + 1..j], escaped), j + 1)
        }
        b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
            let n = line[i..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
                .count();
            (Tok::Scalar(&line[i..i + n]), i + n)
        }
        _ => return Err("unexpected character"),
    };
    *pos = end;
    Ok(Some(tok))
}

fn number(s: &[u8]) -> Option<i64> {
    let (neg, d) = match s.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, s),
    };
    if d.is_empty() || d.len() > 18 || !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = d.iter().fold(0i64, |n, &c| n * 10 + i64::from(c - b'0'));
    Some(if neg { -v } else { v })
}

impl Reader {
    /// Reads on from `*pos`; `None` at the end of the line. After an [`Item::Error`] the caller
    /// stops reading the line.
    pub fn next<'a>(&mut self, line: &'a [u8], pos: &mut usize) -> Option<Item<'a>> {
        loop {
            let tok = match token(line, pos) {
                Ok(Some(t)) => t,
                Ok(None) => return None,
                Err(e) => {
                    *pos = line.len();
                    return Some(Item::Error(e));
                }
            };
            match self.step(tok) {
                Ok(None) => {}
                Ok(Some(item)) => return Some(item),
                Err(e) => {
                    *pos = line.len();
                    return Some(Item::Error(e));
                }
            }
        }
    }

    /// Whether the reader is between documents.
    pub fn complete(&self) -> bool {
        self.expect == Expect::Done && self.skip == 0
    }

    fn in_rows(&self) -> bool {
        self.stack.last() == Some(&Frame::Rows)
    }

    /// A value just ended.
    fn done(&mut self) -> Option<Item<'static>> {
        self.key = Key::None;
        if self.stack.is_empty() {
            self.expect = Expect::Done;
            Some(Item::End)
        } else {
            self.expect = Expect::Next;
            None
        }
    }

    fn close(&mut self, c: u8) -> Result<Option<Item<'static>>, &'static str> {
        let want = if c == b'}' {
            Frame::Object
        } else {
            Frame::Rows
        };
        if self.stack.last() != Some(&want) {
            return Err("mismatched closing bracket");
        }
        self.stack.pop();
        Ok(self.done())
    }

    fn step<'a>(&mut self, tok: Tok<'a>) -> Result<Option<Item<'a>>, &'static str> {
        if self.skip > 0 {
            match tok {
                Tok::Open(_) => self.skip += 1,
                Tok::Close(_) => {
                    self.skip -= 1;
                    if self.skip == 0 {
                        return Ok(self.done());
                    }
                }
                _ => {}
            }
            return Ok(None);
        }
        match self.expect {
            Expect::Done => match tok {
                Tok::Open(c) => {
                    self.expect = Expect::Value;
                    self.key = Key::None;
                    self.rows_opened = false;
                    self.open(c);
                    Ok(Some(Item::Begin))
                }
                _ => Err("content after the end of the JSON document"),
            },
            Expect::Value => match tok {
                Tok::Open(c) => Ok(self.open(c)),
                Tok::Close(b']') if self.in_rows() => self.close(b']'),
                Tok::Str(s, esc) => {
                    let item = if self.in_rows() {
                        Item::Row(s, esc)
                    } else {
                        match self.key {
                            Key::ServerTimeZone => Item::Text(self.key, s, esc),
                            Key::Unknown => {
                                self.done();
                                return Ok(None);
                            }
                            k => Item::WrongType(k),
                        }
                    };
                    self.done();
                    Ok(Some(item))
                }
                Tok::Scalar(s) => {
                    if !matches!(s, b"true" | b"false" | b"null") && number(s).is_none() {
                        // Fractions and exponents are valid JSON, just not numbers we use.
                        if !s.iter().all(|b| b.is_ascii_digit() || b"+-.eE".contains(b)) {
                            return Err("invalid literal");
                        }
                    }
                    let item = if self.in_rows() {
                        Some(Item::NotString)
                    } else {
                        match (self.key, number(s)) {
                            (Key::Unknown, _) => None,
                            (
                                k @ (Key::FirstDate
                                | Key::LastDate
                                | Key::RowIndex
                                | Key::TotalNumberOfRows),
                                Some(n),
                            ) => Some(Item::Number(k, n)),
                            (k, _) => Some(Item::WrongType(k)),
                        }
                    };
                    self.done();
                    Ok(item)
                }
                _ => Err("expected a value"),
            },
            Expect::Key => match tok {
                Tok::Str(name, _) => {
                    self.key = Key::of(name);
                    self.expect = Expect::Colon;
                    Ok((self.key == Key::Unknown).then_some(Item::Unknown(name)))
                }
                // `{}` or a trailing comma.
                Tok::Close(b'}') => self.close(b'}'),
                _ => Err("expected a member name"),
            },
            Expect::Colon => match tok {
                Tok::Colon => {
                    self.expect = Expect::Value;
                    Ok(None)
                }
                _ => Err("expected `:`"),
            },
            Expect::Next => match tok {
                Tok::Comma => {
                    self.expect = if self.in_rows() {
                        Expect::Value
                    } else {
                        Expect::Key
                    };
                    Ok(None)
                }
                Tok::Close(c) => self.close(c),
                Tok::Colon => Err("expected `,` or a closing bracket"),
                // A missing comma, or one lost with the rest of a bad line: read on as if it
                // were there, so one damaged row does not take the following ones with it.
                tok => {
                    self.expect = if self.in_rows() {
                        Expect::Value
                    } else {
                        Expect::Key
                    };
                    self.step(tok)
                }
            },
        }
    }

    /// `{` or `[` where a value is expected: descend into the containers that matter, skip the rest.
    fn open<'a>(&mut self, c: u8) -> Option<Item<'a>> {
        let top = self.stack.is_empty();
        let key = self.key;
        match (c, key) {
            (b'{', Key::None | Key::Result) if top || key == Key::Result => {
                self.stack.push(Frame::Object);
                self.expect = Expect::Key;
                self.key = Key::None;
                None
            }
            (b'[', Key::None | Key::Rows) if top || key == Key::Rows => {
                self.stack.push(Frame::Rows);
                self.rows_opened = true;
                self.expect = Expect::Value;
                self.key = Key::None;
                None
            }
            _ => {
                self.skip = 1;
                if self.in_rows() {
                    Some(Item::NotString)
                } else if key == Key::Unknown {
                    None
                } else {
                    Some(Item::WrongType(key))
                }
            }
        }
    }
}

/// Decodes the escapes of a JSON string into `out` (cleared first).
pub fn unescape(s: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
    out.clear();
    let mut i = 0;
    while i < s.len() {
        let Some(k) = memchr::memchr(b'\\', &s[i..]) else {
            out.extend_from_slice(&s[i..]);
            break;
        };
        out.extend_from_slice(&s[i..i + k]);
        i += k + 1;
        let c = *s.get(i).ok_or("dangling `\\`")?;
        i += 1;
        let byte = match c {
            b'"' | b'\\' | b'/' => c,
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let mut cp = hex4(s.get(i..i + 4))?;
                i += 4;
                if (0xD800..0xDC00).contains(&cp) {
                    let lo = match s.get(i..i + 2) {
                        Some(b"\\u") => hex4(s.get(i + 2..i + 6))?,
                        _ => return Err("unpaired surrogate"),
                    };
                    if !(0xDC00..0xE000).contains(&lo) {
                        return Err("unpaired surrogate");
                    }
                    i += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                let ch = char::from_u32(cp).ok_or("unpaired surrogate")?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            _ => return Err("unknown escape"),
        };
        out.push(byte);
    }
    Ok(())
}

fn hex4(h: Option<&[u8]>) -> Result<u32, &'static str> {
    let h = h.ok_or("short `\\u` escape")?;
    h.iter().try_fold(0u32, |n, &c| {
        let d = (c as char).to_digit(16).ok_or("bad `\\u` escape")?;
        Ok(n * 16 + d)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Reads `lines` in order and renders every item.
    fn read(lines: &[&str]) -> Vec<String> {
        let mut r = Reader::default();
        let mut out = Vec::new();
        for l in lines {
            let mut pos = 0;
            while let Some(item) = r.next(l.as_bytes(), &mut pos) {
                let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                out.push(match item {
                    Item::Row(b, e) => format!("row {}{}", s(b), if e { " (esc)" } else { "" }),
                    Item::NotString => "not-string".into(),
                    Item::Begin => "begin".into(),
                    Item::End => "end".into(),
                    Item::Number(k, n) => format!("{} = {n}", k.name()),
                    Item::Text(k, b, _) => format!("{} = {}", k.name(), s(b)),
                    Item::Unknown(b) => format!("unknown {}", s(b)),
                    Item::WrongType(k) => format!("wrong {}", k.name()),
                    Item::Error(e) => format!("error {e}"),
                });
                if matches!(item, Item::Error(_)) {
                    break;
                }
            }
        }
        out
    }

    #[test]
    fn pretty_and_one_line_read_the_same() {
        let pretty = [
            "{",
            "  \"result\": {",
            "    \"firstDate\": 1752030516212,",
            "    \"rows\": [",
            "      \"a\\\\b\",",
            "      \"c\"",
            "    ],",
            "    \"serverTimeZone\": \"UTC\",",
            "    \"totalNumberOfRows\": 2",
            "  }",
            "}",
        ];
        let want = [
            "begin",
            "firstDate = 1752030516212",
            "row a\\\\b (esc)",
            "row c",
            "serverTimeZone = UTC",
            "totalNumberOfRows = 2",
            "end",
        ];
        assert_eq!(read(&pretty), want);
        assert_eq!(read(&[&pretty.concat()]), want);
    }

    #[test]
    fn unknown_members_wrong_types_and_odd_rows() {
        let doc = r#"{"error":{"code":[1,{"x":"]"}]},"rows":[1,{"a":2},"r",[3]],"lastDate":"x","result":5,"n":null}"#;
        assert_eq!(
            read(&[doc]),
            [
                "begin",
                "unknown error",
                "not-string",
                "not-string",
                "row r",
                "not-string",
                "wrong lastDate",
                "wrong result",
                "unknown n",
                "end"
            ]
        );
        // A bare array of rows, then a second document.
        assert_eq!(
            read(&["[\"a\",", "\"b\"] [", "]"]),
            ["begin", "row a", "row b", "end", "begin", "end"]
        );
    }

    #[test]
    fn errors_leave_the_state_for_the_next_line() {
        let lines = [
            "{\"rows\": [",
            "  \"one\",",
            "  \"unterminated,",
            "  \"two\" x,",
            "  nope,",
            "  \"three\"",
            "]}",
            "trailing",
        ];
        assert_eq!(
            read(&lines),
            [
                "begin",
                "row one",
                "error unterminated string",
                "row two",
                "error unexpected character",
                "error invalid literal",
                "row three",
                "end",
                "error content after the end of the JSON document"
            ]
        );
    }

    #[test]
    fn unescaping() {
        let mut out = Vec::new();
        unescape(br#"C:\\P\/x \"q\" \u00e9\u20ac\ud83d\ude00\t"#, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "C:\\P/x \"q\" é€😀\t"
        );
        for bad in [&br"\x"[..], br"\u12", br"\ud83d", br"\ud83d\u0041", br"\"] {
            assert!(unescape(bad, &mut out).is_err());
        }
    }
}
