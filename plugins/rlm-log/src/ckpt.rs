//! The checkpoint: the parse state as compact bytes (LEB128 varints, length-prefixed strings),
//! led by a version byte. Configuration (UTC offset, modification time) is not part of it: the
//! resuming `begin` supplies it again. The log's own `TIMEZONE` is, since it came from lines
//! already read.

use tally_plugin_sdk::PluginError;
use tally_plugin_sdk::checkpoint::{self, Reader, Writer};

use crate::parse::{Open, PendingEvent, RlmLog, SnapKind, Snapshot};

const VERSION: u8 = 1;

fn bad() -> PluginError {
    checkpoint::damaged("rlm-log")
}

const SNAP_KINDS: [SnapKind; 3] = [SnapKind::Restart, SnapKind::Rotation, SnapKind::Reread];

pub fn encode(p: &RlmLog) -> Vec<u8> {
    let mut w = Writer::with_capacity(VERSION, 64 + p.open_len * 64);
    w.u64(p.lines);
    w.opt_i64(p.tz_offset);
    w.opt_i64(p.now);
    w.opt_i64(p.last);
    w.bool(p.backward);
    w.u64(p.vendors.len() as u64);
    for v in &p.vendors {
        w.str(v);
    }
    w.opt_i64(p.vendor.map(i64::from));
    w.bool(p.in_header);
    w.bool(p.switch_from);
    w.bool(p.switched);
    w.bool(p.shut_down);
    w.u64(p.seq);
    w.u64(p.generation);
    w.bool(p.snapshot.is_some());
    if let Some(s) = &p.snapshot {
        w.index(&SNAP_KINDS, &s.kind);
        w.i64(s.local);
        w.u64(s.generation);
        w.bool(s.listed);
    }
    let mut open: Vec<&Open> = p.open.values().flatten().collect();
    open.sort_unstable_by_key(|o| o.seq);
    w.u64(open.len() as u64);
    for o in open {
        w.u64(o.seq);
        w.u64(u64::from(o.vendor));
        w.str(&o.handle);
        w.str(&o.product);
        w.str(&o.user);
        w.str(&o.host);
        w.u64(u64::from(o.count));
        w.opt_str(o.project.as_deref());
        w.i64(o.start);
        w.u64(o.seen);
    }
    w.u64(p.pending.len() as u64);
    for e in &p.pending {
        w.opt_i64(e.local);
        w.event_kind(e.kind);
        w.str(&e.text);
    }
    w.finish()
}

pub fn decode(bytes: &[u8]) -> Result<RlmLog, PluginError> {
    let mut r = Reader::new("rlm-log", VERSION, bytes)?;
    let mut p = RlmLog {
        lines: r.u64()?,
        tz_offset: r.opt_i64()?,
        now: r.opt_i64()?,
        last: r.opt_i64()?,
        backward: r.bool()?,
        ..RlmLog::default()
    };
    for _ in 0..r.len()? {
        p.vendors.push(r.string()?);
    }
    let vendors = p.vendors.len() as u64;
    let vendor_ok = |v: u64| {
        if v < vendors {
            Ok(v as u32)
        } else {
            Err(bad())
        }
    };
    p.vendor = match r.opt_i64()? {
        Some(v) => Some(vendor_ok(u64::try_from(v).map_err(|_| bad())?)?),
        None => None,
    };
    p.in_header = r.bool()?;
    p.switch_from = r.bool()?;
    p.switched = r.bool()?;
    p.shut_down = r.bool()?;
    p.seq = r.u64()?;
    p.generation = r.u64()?;
    if r.bool()? {
        p.snapshot = Some(Snapshot {
            kind: r.pick(&SNAP_KINDS)?,
            local: r.i64()?,
            generation: r.u64()?,
            listed: r.bool()?,
        });
    }
    for _ in 0..r.len()? {
        let o = Open {
            seq: r.u64()?,
            vendor: vendor_ok(r.u64()?)?,
            handle: r.string()?,
            product: r.string()?,
            user: r.string()?,
            host: r.string()?,
            count: r.u32()?,
            project: r.opt_string()?,
            start: r.i64()?,
            seen: r.u64()?,
        };
        p.open.entry(o.handle.clone()).or_default().push(o);
        p.open_len += 1;
    }
    for _ in 0..r.len()? {
        p.pending.push(PendingEvent {
            local: r.opt_i64()?,
            kind: r.event_kind()?,
            text: r.string()?,
        });
    }
    r.finish()?;
    Ok(p)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tally_plugin_sdk::{Batch, ImportConfig, Importer};

    #[test]
    fn varints() {
        let mut w = Writer::new(VERSION);
        for v in [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN, 1_756_918_804] {
            w.i64(v);
        }
        w.u64(u64::MAX);
        let bytes = w.finish();
        let mut r = Reader::new("rlm-log", VERSION, &bytes).unwrap();
        for v in [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN, 1_756_918_804] {
            assert_eq!(r.i64().unwrap(), v);
        }
        assert_eq!(r.u64().unwrap(), u64::MAX);
        assert!(r.u64().is_err());
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
