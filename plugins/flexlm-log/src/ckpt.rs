//! The checkpoint: the parse state as compact bytes (LEB128 varints, length-prefixed strings),
//! led by a version byte. Configuration (UTC offset, modification time) is not part of it: the
//! resuming `begin` supplies it again.

use tally_plugin_sdk::{
    Batch, Denial, DenialKind, EndReason, ErrorCode, PluginError, Queued, ServerEvent,
    ServerEventKind, Session,
};

use crate::parse::{Clock, FlexlmLog, Open, Vendor, pair_key};

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
}

struct R<'a> {
    b: &'a [u8],
    p: usize,
}

fn bad() -> PluginError {
    PluginError::BadInput("flexlm-log: damaged checkpoint".into())
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
}

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

fn index_of<T: PartialEq>(all: &[T], v: &T) -> u64 {
    all.iter().position(|x| x == v).unwrap_or(0) as u64
}

fn pick<T: Copy>(all: &[T], i: u64) -> Result<T, PluginError> {
    usize::try_from(i)
        .ok()
        .and_then(|i| all.get(i).copied())
        .ok_or_else(bad)
}

pub fn encode(p: &FlexlmLog) -> Vec<u8> {
    let mut w = W(Vec::with_capacity(64 + p.open_len * 48));
    w.0.push(VERSION);
    w.u(p.lines);
    w.i(p.clock.day);
    w.i(p.clock.secs);
    w.b(p.clock.seen);
    w.oi(p.base);
    w.b(p.base_assumed);
    w.u(p.seq);
    w.u(p.vendors.len() as u64);
    for v in &p.vendors {
        w.s(&v.name);
        w.oi(v.stopped);
    }
    let mut open: Vec<&Open> = p.open.values().flatten().collect();
    open.sort_unstable_by_key(|o| o.seq);
    w.u(open.len() as u64);
    for o in open {
        w.u(o.seq);
        w.u(u64::from(o.vendor));
        w.s(&o.feature);
        w.s(&o.user);
        w.s(&o.host);
        w.u(u64::from(o.count));
        w.os(o.project.as_deref());
        w.i(o.start);
    }
    let pb = &p.pending;
    w.u(pb.sessions.len() as u64);
    for s in &pb.sessions {
        w.s(&s.vendor);
        w.s(&s.feature);
        w.s(&s.user);
        w.s(&s.host);
        w.u(u64::from(s.count));
        w.i(s.start);
        w.i(s.end);
        w.u(index_of(&END_REASONS, &s.end_reason));
        w.os(s.project.as_deref());
    }
    w.u(pb.denials.len() as u64);
    for d in &pb.denials {
        w.s(&d.vendor);
        w.s(&d.feature);
        w.s(&d.user);
        w.s(&d.host);
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
    w.u(pb.queued.len() as u64);
    for q in &pb.queued {
        w.s(&q.vendor);
        w.s(&q.feature);
        w.s(&q.user);
        w.s(&q.host);
        w.u(u64::from(q.count));
        w.oi(q.time);
    }
    w.u(pb.server_events.len() as u64);
    for e in &pb.server_events {
        w.i(e.time);
        w.u(index_of(&EVENT_KINDS, &e.kind));
        w.s(&e.daemon);
        w.s(&e.text);
    }
    w.0
}

pub fn decode(bytes: &[u8]) -> Result<FlexlmLog, PluginError> {
    let mut r = R { b: bytes, p: 0 };
    if r.byte()? != VERSION {
        return Err(PluginError::BadInput(
            "flexlm-log: checkpoint from an incompatible version".into(),
        ));
    }
    let mut p = FlexlmLog {
        lines: r.u()?,
        clock: Clock {
            day: r.i()?,
            secs: r.i()?,
            seen: r.b()?,
        },
        base: r.oi()?,
        base_assumed: r.b()?,
        seq: r.u()?,
        ..FlexlmLog::default()
    };
    for _ in 0..r.len()? {
        p.vendors.push(Vendor {
            name: r.s()?,
            stopped: r.oi()?,
        });
    }
    for _ in 0..r.len()? {
        let o = Open {
            seq: r.u()?,
            vendor: r.u32()?,
            feature: r.s()?,
            user: r.s()?,
            host: r.s()?,
            count: r.u32()?,
            project: r.os()?,
            start: r.i()?,
        };
        if o.vendor as usize >= p.vendors.len() {
            return Err(bad());
        }
        let key = pair_key(
            o.vendor,
            o.feature.as_bytes(),
            o.user.as_bytes(),
            o.host.as_bytes(),
            o.count,
            o.project.as_deref().map(str::as_bytes),
        );
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
            end_reason: pick(&END_REASONS, r.u()?)?,
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
        pb.queued.push(Queued {
            vendor: r.s()?,
            feature: r.s()?,
            user: r.s()?,
            host: r.s()?,
            count: r.u32()?,
            time: r.oi()?,
        });
    }
    for _ in 0..r.len()? {
        pb.server_events.push(ServerEvent {
            time: r.i()?,
            kind: pick(&EVENT_KINDS, r.u()?)?,
            daemon: r.s()?,
            text: r.s()?,
        });
    }
    if r.p != bytes.len() {
        return Err(bad());
    }
    p.pending_len = pb.sessions.len() + pb.denials.len() + pb.queued.len() + pb.server_events.len();
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
        for v in [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN, 1_459_302_965] {
            w.i(v);
        }
        w.u(u64::MAX);
        let mut r = R { b: &w.0, p: 0 };
        for v in [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN, 1_459_302_965] {
            assert_eq!(r.i().unwrap(), v);
        }
        assert_eq!(r.u().unwrap(), u64::MAX);
        assert!(r.u().is_err());
    }

    #[test]
    fn state_round_trips_and_damage_is_an_error() {
        let mut p = FlexlmLog::default();
        let mut out = Batch::default();
        p.begin(&ImportConfig::default()).unwrap();
        let log = "10:00:00 (v) OUT: \"f\" Jane Doe@h [P:Q] (3 licenses)\n10:00:01 (v) DENIED: \"f\" u@h  \"v1\"(x (-4,342:1 \"\"))\n\
                   10:00:02 (v) QUEUED: \"f\" u@h\n10:00:03 (v) EXITING DUE TO SIGNAL 15\n10:00:04 (v) OUT: \"g\" u@h\n";
        p.feed(log.as_bytes(), &mut out).unwrap();
        let bytes = encode(&p);
        let q = decode(&bytes).unwrap();
        assert_eq!(encode(&q), bytes);
        assert_eq!(
            (q.lines, q.open_len, q.pending_len, q.seq),
            (p.lines, p.open_len, p.pending_len, p.seq)
        );
        assert_eq!(q.pending, p.pending);
        assert_eq!(q.vendors, p.vendors);
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
