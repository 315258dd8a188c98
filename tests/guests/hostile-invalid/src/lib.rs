//! Test guest: returns the records its input describes, however absurd. Each line names a
//! record kind and overrides fields of a valid one: `session start=-86400 count=0`,
//! `denial time=9999999999`, `queued count=0`, `event time=-1`; `user=N` names the user with N
//! letters (`session user=2000`: a valid record with an absurd name).
use tally_plugin_sdk::{
    Batch, Denial, DenialKind, EndReason, Importer, PluginError, Queued, ServerEvent,
    ServerEventKind, Session,
};

/// 2020-09-13T12:26:40Z: a plausible instant for the valid records.
const T: i64 = 1_600_000_000;

#[derive(Default)]
struct Hostile {
    lines: u64,
}

impl Importer for Hostile {
    const FORMATS: &'static [&'static str] = &["hostile-invalid"];

    fn feed(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), PluginError> {
        let text = String::from_utf8_lossy(chunk);
        for line in text.lines() {
            self.lines += 1;
            let mut words = line.split_whitespace();
            let kind = words.next().unwrap_or_default();
            let mut fields = Fields::default();
            for word in words {
                let (key, value) = word
                    .split_once('=')
                    .ok_or_else(|| PluginError::BadInput(format!("`{word}` is not key=value")))?;
                let value: i64 = value
                    .parse()
                    .map_err(|_| PluginError::BadInput(format!("`{value}` is not a number")))?;
                fields.set(key, value)?;
            }
            push(kind, &fields, out)?;
        }
        out.lines = self.lines;
        Ok(())
    }
}

/// The fields a line may override.
#[derive(Default)]
struct Fields {
    count: Option<u32>,
    start: Option<i64>,
    end: Option<i64>,
    time: Option<i64>,
    user_len: Option<usize>,
}

impl Fields {
    fn set(&mut self, key: &str, value: i64) -> Result<(), PluginError> {
        match key {
            "count" => {
                self.count = Some(
                    u32::try_from(value)
                        .map_err(|_| PluginError::BadInput(format!("count {value}")))?,
                );
            }
            "start" => self.start = Some(value),
            "end" => self.end = Some(value),
            "time" => self.time = Some(value),
            "user" => {
                self.user_len = Some(
                    usize::try_from(value)
                        .map_err(|_| PluginError::BadInput(format!("user {value}")))?,
                );
            }
            _ => return Err(PluginError::BadInput(format!("unknown field `{key}`"))),
        }
        Ok(())
    }
}

fn push(kind: &str, f: &Fields, out: &mut Batch) -> Result<(), PluginError> {
    let name = |s: &str| s.to_string();
    let user = |default: &str| match f.user_len {
        Some(n) => "u".repeat(n),
        None => default.to_string(),
    };
    match kind {
        "session" => out.sessions.push(Session {
            vendor: name("acme"),
            feature: name("solver"),
            user: user("alice"),
            host: name("ws1"),
            count: f.count.unwrap_or(1),
            start: f.start.unwrap_or(T),
            end: f.end.unwrap_or(T + 1800),
            end_reason: EndReason::Checkin,
            project: None,
        }),
        "denial" => out.denials.push(Denial {
            vendor: name("acme"),
            feature: name("solver"),
            user: user("bob"),
            host: name("ws2"),
            count: f.count.unwrap_or(1),
            time: f.time.unwrap_or(T),
            kind: DenialKind::Denied,
            code: None,
            reason: None,
            requested_version: None,
            until: None,
        }),
        "queued" => out.queued.push(Queued {
            vendor: name("acme"),
            feature: name("solver"),
            user: user("carol"),
            host: name("ws3"),
            count: f.count.unwrap_or(1),
            time: Some(f.time.unwrap_or(T)),
        }),
        "event" => out.server_events.push(ServerEvent {
            time: f.time.unwrap_or(T),
            kind: ServerEventKind::Reread,
            daemon: name("lmgrd"),
            text: name("reread"),
        }),
        "" => {}
        other => return Err(PluginError::BadInput(format!("unknown record `{other}`"))),
    }
    Ok(())
}

tally_plugin_sdk::export!(importer: Hostile);
