//! The checkpoint: the parse state as compact bytes (LEB128 varints, length-prefixed strings),
//! led by a version byte. Configuration (the UTC offset) is not part of it: the resuming `begin`
//! supplies it again.

use tally_plugin_sdk::{
    Batch, Denial, DenialKind, EndReason, ErrorCode, PluginError, ServerEvent, ServerEventKind,
    Session,
};

use crate::json::{Expect, Frame, Key, Reader};
use crate::parse::{DslsLog, Meta, Mode, Open, ZoneFrom, pair_key};

const VERSION: u8 = 1;

struct W(Vec<u8>);

impl W {
    fn u(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(b);
                return;
            }
            self.0.push(b | 0x80);
        }
    }
    fn i(&mut self, v: i64) {
        self.u(((v << 1) ^ (v >> 63)) as u64);
    }
    fn b(&mut self, v: bool) {
        self.0.push(u8::from(v));
    }
    fn s(&mut self, s: &str) {
        self.u(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn os(&mut self, s: Option<&str>) {
        self.b(s.is_some());
        if let Some(s) = s {
            self.s(s);
        }
    }
    fn oi(&mut self, v: Option<i64>) {
        self.b(v.is_some());
        if let Some(v) = v {
            self.i(v);
        }
    }
    fn pick<T: PartialEq>(&mut self, all: &[T], v: &T) {
        self.u(all.iter().position(|x| x == v).unwrap_or(0) as u64);
    }
}

struct R<'a> {
    b: &'a [u8],
    p: usize,
}

fn bad() -> PluginError {
    PluginError::BadInput("dsls-log: damaged checkpoint".into())
}

impl R<'_> {
    fn byte(&mut self) -> Result<u8, PluginError> {
        let b = *self.b.get(self.p).ok_or_else(bad)?;
        self.p += 1;
        Ok(b)
    }
    fn u(&mut self) -> Result<u64, PluginError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad())
    }
    fn u32(&mut self) -> Result<u32, PluginError> {
        u32::try_from(self.u()?).map_err(|_| bad())
    }
    fn i32(&mut self) -> Result<i32, PluginError> {
        i32::try_from(self.i()?).map_err(|_| bad())
    }
    fn len(&mut self) -> Result<usize, PluginError> {
        let n = usize::try_from(self.u()?).map_err(|_| bad())?;
        // Every element takes at least one byte: a longer count is damage, not a reason to allocate.
        if n > self.b.len() - self.p {
            return Err(bad());
        }
        Ok(n)
    }
    fn i(&mut self) -> Result<i64, PluginError> {
        let v = self.u()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }
    fn b(&mut self) -> Result<bool, PluginError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(bad()),
        }
    }
    fn s(&mut self) -> Result<String, PluginError> {
        let n = self.len()?;
        let bytes = self.b.get(self.p..self.p + n).ok_or_else(bad)?;
        self.p += n;
        String::from_utf8(bytes.to_vec()).map_err(|_| bad())
    }
    fn os(&mut self) -> Result<Option<String>, PluginError> {
        Ok(if self.b()? { Some(self.s()?) } else { None })
    }
    fn oi(&mut self) -> Result<Option<i64>, PluginError> {
        Ok(if self.b()? { Some(self.i()?) } else { None })
    }
    fn pick<T: Copy>(&mut self, all: &[T]) -> Result<T, PluginError> {
        let i = usize::try_from(self.u()?).map_err(|_| bad())?;
        all.get(i).copied().ok_or_else(bad)
    }
}

const MODES: [Mode; 3] = [Mode::Unknown, Mode::Text, Mode::Json];
const ZONE_FROM: [ZoneFrom; 4] = [
    ZoneFrom::Unknown,
    ZoneFrom::Dates,
    ZoneFrom::Declared,
    ZoneFrom::Assumed,
];
const FRAMES: [Frame; 2] = [Frame::Object, Frame::Rows];
const END_REASONS: [EndReason; 6] = [
    EndReason::Checkin,
    EndReason::Inactive,
    EndReason::Shutdown,
    EndReason::Unknown,
    EndReason::ServerRestart,
    EndReason::EndOfLog,
];
const EVENT_KINDS: [ServerEventKind; 9] = [
    ServerEventKind::ServerStart,
    ServerEventKind::ServerStop,
    ServerEventKind::DaemonStart,
    ServerEventKind::DaemonStop,
    ServerEventKind::Reread,
    ServerEventKind::LicensesDisabled,
    ServerEventKind::Queued,
    ServerEventKind::Dequeued,
    ServerEventKind::Other,
];

pub fn encode(p: &DslsLog) -> Vec<u8> {
    let mut w = W(Vec::with_capacity(128 + p.open_len * 96));
    w.0.push(VERSION);
    w.u(p.lines);
    w.pick(&MODES, &p.mode);
    let r = &p.reader;
    w.u(r.stack.len() as u64);
    for f in &r.stack {
        w.pick(&FRAMES, f);
    }
    w.pick(&Expect::ALL, &r.expect);
    w.pick(&Key::ALL, &r.key);
    w.u(u64::from(r.skip));
    w.b(r.rows_opened);
    let m = &p.meta;
    for v in [
        m.first_date,
        m.last_date,
        m.row_index,
        m.total,
        m.first_row_ms,
    ] {
        w.oi(v);
    }
    w.u(m.rows);
    w.oi(p.zone);
    w.pick(&ZONE_FROM, &p.zone_from);
    w.oi(p.last_ms);
    w.u(p.seq);
    w.u(p.restarts.len() as u64);
    for &r in &p.restarts {
        w.i(r);
    }
    w.u(p.editors.len() as u64);
    for (f, e) in &p.editors {
        w.s(f);
        w.s(e);
    }
    let mut open: Vec<&Open> = p.open.values().flatten().collect();
    open.sort_unstable_by_key(|o| o.seq);
    w.u(open.len() as u64);
    for o in open {
        w.u(o.seq);
        w.b(o.grant);
        w.i(o.ms);
        w.u(o.line);
        w.pick(&END_REASONS, &o.reason);
        for s in [&o.session, &o.feature, &o.vendor, &o.user, &o.host] {
            w.s(s);
        }
        w.u(u64::from(o.count));
    }
    let pb = &p.pending;
    w.u(pb.sessions.len() as u64);
    for s in &pb.sessions {
        for t in [&s.vendor, &s.feature, &s.user, &s.host] {
            w.s(t);
        }
        w.u(u64::from(s.count));
        w.i(s.start);
        w.i(s.end);
        w.pick(&END_REASONS, &s.end_reason);
        w.os(s.project.as_deref());
    }
    w.u(pb.denials.len() as u64);
    for d in &pb.denials {
        for t in [&d.vendor, &d.feature, &d.user, &d.host] {
            w.s(t);
        }
        w.u(u64::from(d.count));
        w.i(d.time);
        w.b(d.kind == DenialKind::Unsupported);
        w.b(d.code.is_some());
        if let Some(c) = d.code {
            w.i(i64::from(c.major));
            w.oi(c.minor.map(i64::from));
            w.oi(c.errno.map(i64::from));
        }
        w.os(d.reason.as_deref());
        w.os(d.requested_version.as_deref());
    }
    w.u(pb.server_events.len() as u64);
    for e in &pb.server_events {
        w.i(e.time);
        w.pick(&EVENT_KINDS, &e.kind);
        w.s(&e.daemon);
        w.s(&e.text);
    }
    w.0
}

pub fn decode(bytes: &[u8]) -> Result<DslsLog, PluginError> {
    let mut r = R { b: bytes, p: 0 };
    if r.byte()? != VERSION {
        return Err(PluginError::BadInput(
            "dsls-log: checkpoint from an incompatible version".into(),
        ));
    }
    let mut p = DslsLog {
        lines: r.u()?,
        mode: r.pick(&MODES)?,
        ..DslsLog::default()
    };
    let mut reader = Reader::default();
    for _ in 0..r.len()? {
        reader.stack.push(r.pick(&FRAMES)?);
    }
    reader.expect = r.pick(&Expect::ALL)?;
    reader.key = r.pick(&Key::ALL)?;
    reader.skip = r.u32()?;
    reader.rows_opened = r.b()?;
    p.reader = reader;
    p.meta = Meta {
        first_date: r.oi()?,
        last_date: r.oi()?,
        row_index: r.oi()?,
        total: r.oi()?,
        first_row_ms: r.oi()?,
        rows: r.u()?,
    };
    p.zone = r.oi()?;
    p.zone_from = r.pick(&ZONE_FROM)?;
    p.last_ms = r.oi()?;
    p.seq = r.u()?;
    for _ in 0..r.len()? {
        p.restarts.push(r.i()?);
    }
    for _ in 0..r.len()? {
        let f = r.s()?;
        p.editors.insert(f, r.s()?);
    }
    for _ in 0..r.len()? {
        let o = Open {
            seq: r.u()?,
            grant: r.b()?,
            ms: r.i()?,
            line: r.u()?,
            reason: r.pick(&END_REASONS)?,
            session: r.s()?,
            feature: r.s()?,
            vendor: r.s()?,
            user: r.s()?,
            host: r.s()?,
            count: r.u32()?,
        };
        let key = pair_key(o.session.as_bytes(), o.feature.as_bytes());
        p.open.entry(key).or_default().push_back(o);
        p.open_len += 1;
    }
    let mut pb = Batch::default();
    for _ in 0..r.len()? {
        pb.sessions.push(Session {
            vendor: r.s()?,
            feature: r.s()?,
            user: r.s()?,
            host: r.s()?,
            count: r.u32()?,
            start: r.i()?,
            end: r.i()?,
            end_reason: r.pick(&END_REASONS)?,
            project: r.os()?,
        });
    }
    for _ in 0..r.len()? {
        let (vendor, feature, user, host, count, time) =
            (r.s()?, r.s()?, r.s()?, r.s()?, r.u32()?, r.i()?);
        let kind = if r.b()? {
            DenialKind::Unsupported
        } else {
            DenialKind::Denied
        };
        let code = if r.b()? {
            let major = r.i32()?;
            let minor = if r.b()? { Some(r.i32()?) } else { None };
            let errno = if r.b()? { Some(r.i32()?) } else { None };
            Some(ErrorCode {
                major,
                minor,
                errno,
            })
        } else {
            None
        };
        pb.denials.push(Denial {
            vendor,
            feature,
            user,
            host,
            count,
            time,
            kind,
            code,
            reason: r.os()?,
            requested_version: r.os()?,
        });
    }
    for _ in 0..r.len()? {
        pb.server_events.push(ServerEvent {
            time: r.i()?,
            kind: r.pick(&EVENT_KINDS)?,
            daemon: r.s()?,
            text: r.s()?,
        });
    }
    if r.p != bytes.len() {
        return Err(bad());
    }
    p.pending_len = pb.sessions.len() + pb.denials.len() + pb.server_events.len();
    p.pending = pb;
    Ok(p)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tally_plugin_sdk::{ImportConfig, Importer};

    #[test]
    fn varints() {
        let mut w = W(Vec::new());
        let vals = [
            0i64,
            1,
            -1,
            63,
            -64,
            64,
            i64::MAX,
            i64::MIN,
            1_757_133_596_281,
        ];
        for v in vals {
            w.i(v);
        }
        w.u(u64::MAX);
        let mut r = R { b: &w.0, p: 0 };
        for v in vals {
            assert_eq!(r.i().unwrap(), v);
        }
        assert_eq!(r.u().unwrap(), u64::MAX);
        assert!(r.u().is_err());
    }

    /// A cloud document cut after its rows, before `serverTimeZone`: reader state, waiting
    /// releases, a waiting grant, pending records and learnt editors all cross the checkpoint.
    #[test]
    fn state_round_trips_and_damage_is_an_error() {
        let doc = "{\"result\":{\"rows\":[\n\
            \"2025/09/06 04:00:00:000 I USGTRACING  Detachment!!F!C!S1!Ed!M!1!STD!H (x)!ip!u!U!e!v!ALC\",\n\
            \"2025/09/06 03:00:00:000 I USGTRACING  Grant!!F!C!S2!Ed!M!2!STD!H (x)!ip!u!U!e!v!ALC\",\n\
            \"2025/09/06 02:00:00:000 W LICENSESERV F(C) not granted, no more available license ( from client H (x)/ip|u|U|e )\",\n\
            \"2025/09/06 01:00:00:000 I STARTSERVER Server version 6.426.0 built on Sep 5, 2023 8:04:34 PM\",\n\
            \"2025/09/06 00:30:00:000 I USGTRACING  TimeOut!!G!C!S3!Ed!M!1!STD!H (x)!ip!u!U!e!v!ALC\"\n\
            ],\n";
        let mut p = DslsLog::default();
        let mut out = Batch::default();
        p.begin(&ImportConfig::default()).unwrap();
        p.feed(doc.as_bytes(), &mut out).unwrap();
        assert_eq!((p.open_len, p.pending_len), (3, 2));
        let bytes = encode(&p);
        let q = decode(&bytes).unwrap();
        assert_eq!(encode(&q), bytes);
        assert_eq!(
            (q.lines, q.mode, q.open_len, q.pending_len, q.seq, q.zone),
            (p.lines, p.mode, p.open_len, p.pending_len, p.seq, p.zone)
        );
        assert_eq!(q.reader, p.reader);
        assert_eq!(q.meta, p.meta);
        assert_eq!(q.pending, p.pending);
        assert_eq!(q.editors, p.editors);
        assert_eq!(q.restarts, p.restarts);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "truncated at {cut}");
        }
        let mut wrong = bytes.clone();
        wrong[0] = 99;
        assert!(decode(&wrong).is_err());
        let mut longer = bytes;
        longer.push(0);
        assert!(decode(&longer).is_err());
    }
}
