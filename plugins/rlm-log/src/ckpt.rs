//! The checkpoint: the parse state as compact bytes (LEB128 varints, length-prefixed strings),
//! led by a version byte. Configuration (UTC offset, modification time) is not part of it: the
//! resuming `begin` supplies it again. The log's own `TIMEZONE` is, since it came from lines
//! already read.

use tally_plugin_sdk::{PluginError, ServerEventKind};

use crate::parse::{Open, PendingEvent, RlmLog, SnapKind, Snapshot};

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
    PluginError::BadInput("rlm-log: damaged checkpoint".into())
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
const SNAP_KINDS: [SnapKind; 3] = [SnapKind::Restart, SnapKind::Rotation, SnapKind::Reread];

fn index_of<T: PartialEq>(all: &[T], v: &T) -> u64 {
    all.iter().position(|x| x == v).unwrap_or(0) as u64
}

fn pick<T: Copy>(all: &[T], i: u64) -> Result<T, PluginError> {
    usize::try_from(i)
        .ok()
        .and_then(|i| all.get(i).copied())
        .ok_or_else(bad)
}

pub fn encode(p: &RlmLog) -> Vec<u8> {
    let mut w = W(Vec::with_capacity(64 + p.open_len * 64));
    w.0.push(VERSION);
    w.u(p.lines);
    w.oi(p.tz_offset);
    w.oi(p.now);
    w.oi(p.last);
    w.b(p.backward);
    w.u(p.vendors.len() as u64);
    for v in &p.vendors {
        w.s(v);
    }
    w.oi(p.vendor.map(i64::from));
    w.b(p.in_header);
    w.b(p.switch_from);
    w.b(p.switched);
    w.b(p.shut_down);
    w.u(p.seq);
    w.u(p.generation);
    w.b(p.snapshot.is_some());
    if let Some(s) = &p.snapshot {
        w.u(index_of(&SNAP_KINDS, &s.kind));
        w.i(s.local);
        w.u(s.generation);
        w.b(s.listed);
    }
    let mut open: Vec<&Open> = p.open.values().flatten().collect();
    open.sort_unstable_by_key(|o| o.seq);
    w.u(open.len() as u64);
    for o in open {
        w.u(o.seq);
        w.u(u64::from(o.vendor));
        w.s(&o.handle);
        w.s(&o.product);
        w.s(&o.user);
        w.s(&o.host);
        w.u(u64::from(o.count));
        w.os(o.project.as_deref());
        w.i(o.start);
        w.u(o.seen);
    }
    w.u(p.pending.len() as u64);
    for e in &p.pending {
        w.oi(e.local);
        w.u(index_of(&EVENT_KINDS, &e.kind));
        w.s(&e.text);
    }
    w.0
}

pub fn decode(bytes: &[u8]) -> Result<RlmLog, PluginError> {
    let mut r = R { b: bytes, p: 0 };
    if r.byte()? != VERSION {
        return Err(PluginError::BadInput(
            "rlm-log: checkpoint from an incompatible version".into(),
        ));
    }
    let mut p = RlmLog {
        lines: r.u()?,
        tz_offset: r.oi()?,
        now: r.oi()?,
        last: r.oi()?,
        backward: r.b()?,
        ..RlmLog::default()
    };
    for _ in 0..r.len()? {
        p.vendors.push(r.s()?);
    }
    let vendors = p.vendors.len() as u64;
    let vendor_ok = |v: u64| {
        if v < vendors {
            Ok(v as u32)
        } else {
            Err(bad())
        }
    };
    p.vendor = match r.oi()? {
        Some(v) => Some(vendor_ok(u64::try_from(v).map_err(|_| bad())?)?),
        None => None,
    };
    p.in_header = r.b()?;
    p.switch_from = r.b()?;
    p.switched = r.b()?;
    p.shut_down = r.b()?;
    p.seq = r.u()?;
    p.generation = r.u()?;
    if r.b()? {
        p.snapshot = Some(Snapshot {
            kind: pick(&SNAP_KINDS, r.u()?)?,
            local: r.i()?,
            generation: r.u()?,
            listed: r.b()?,
        });
    }
    for _ in 0..r.len()? {
        let o = Open {
            seq: r.u()?,
            vendor: vendor_ok(r.u()?)?,
            handle: r.s()?,
            product: r.s()?,
            user: r.s()?,
            host: r.s()?,
            count: r.u32()?,
            project: r.os()?,
            start: r.i()?,
            seen: r.u()?,
        };
        p.open.entry(o.handle.clone()).or_default().push(o);
        p.open_len += 1;
    }
    for _ in 0..r.len()? {
        p.pending.push(PendingEvent {
            local: r.oi()?,
            kind: pick(&EVENT_KINDS, r.u()?)?,
            text: r.s()?,
        });
    }
    if r.p != bytes.len() {
        return Err(bad());
    }
    Ok(p)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tally_plugin_sdk::{Batch, ImportConfig, Importer};

    #[test]
    fn varints() {
        let mut w = W(Vec::new());
        for v in [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN, 1_756_918_804] {
            w.i(v);
        }
        w.u(u64::MAX);
        let mut r = R { b: &w.0, p: 0 };
        for v in [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN, 1_756_918_804] {
            assert_eq!(r.i().unwrap(), v);
        }
        assert_eq!(r.u().unwrap(), u64::MAX);
        assert!(r.u().is_err());
    }

    #[test]
    fn state_round_trips_and_damage_is_an_error() {
        let mut p = RlmLog::default();
        let mut out = Batch::default();
        p.begin(&ImportConfig::default()).unwrap();
        let log = "SWITCH from old.rlog\nISV: demo, RLM version 14.1 BL3\nSTART srv 01/02/2025 10:00:00\n\
                   TIMEZONE -60 0 # x\nINUSE p 1.0 1 u h \"\" 1 1a 1a 9 01/02 10:00:00\n\
                   OUT q 1.0 2 Jane Doe h2 \"\" 2 1 0 1b 1b 9 \"proj\" \"\" \"\" 01/02 10:05:00\nSWITCH to new.rlog\n";
        p.feed(log.as_bytes(), &mut out).unwrap();
        assert!(p.snapshot.is_none() && !p.pending.is_empty() && p.open_len == 2);
        let bytes = encode(&p);
        let q = decode(&bytes).unwrap();
        assert_eq!(encode(&q), bytes);
        assert_eq!((q.lines, q.open_len, q.seq), (p.lines, p.open_len, p.seq));
        assert_eq!(q.pending, p.pending);
        assert_eq!(q.vendors, p.vendors);
        assert_eq!(q.open, p.open);
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
