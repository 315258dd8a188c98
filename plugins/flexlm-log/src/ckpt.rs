//! The checkpoint: the parse state as compact bytes (LEB128 varints, length-prefixed strings),
//! led by a version byte. Configuration (UTC offset, modification time) is not part of it: the
//! resuming `begin` supplies it again.

use tally_plugin_sdk::checkpoint::{Reader, Writer};
use tally_plugin_sdk::{Batch, PluginError};

use crate::parse::{Clock, FlexlmLog, Open, Vendor, pair_key};

/// 2: denials carry `until` (SDK for WIT 0.3.0).
const VERSION: u8 = 2;

pub fn encode(p: &FlexlmLog) -> Vec<u8> {
    let mut w = Writer::with_capacity(VERSION, 64 + p.open_len * 48);
    w.u64(p.lines);
    w.i64(p.clock.day);
    w.i64(p.clock.secs);
    w.bool(p.clock.seen);
    w.opt_i64(p.base);
    w.bool(p.base_assumed);
    w.u64(p.seq);
    w.u64(p.vendors.len() as u64);
    for v in &p.vendors {
        w.str(&v.name);
        w.opt_i64(v.stopped);
    }
    let mut open: Vec<&Open> = p.open.values().flatten().collect();
    open.sort_unstable_by_key(|o| o.seq);
    w.u64(open.len() as u64);
    for o in open {
        w.u64(o.seq);
        w.u64(u64::from(o.vendor));
        w.str(&o.feature);
        w.str(&o.user);
        w.str(&o.host);
        w.u64(u64::from(o.count));
        w.opt_str(o.project.as_deref());
        w.i64(o.start);
    }
    let pb = &p.pending;
    w.u64(pb.sessions.len() as u64);
    pb.sessions.iter().for_each(|s| w.session(s));
    w.u64(pb.denials.len() as u64);
    pb.denials.iter().for_each(|d| w.denial(d));
    w.u64(pb.queued.len() as u64);
    pb.queued.iter().for_each(|q| w.queued(q));
    w.u64(pb.server_events.len() as u64);
    pb.server_events.iter().for_each(|e| w.server_event(e));
    w.finish()
}

pub fn decode(bytes: &[u8]) -> Result<FlexlmLog, PluginError> {
    let mut r = Reader::new("flexlm-log", VERSION, bytes)?;
    let mut p = FlexlmLog {
        lines: r.u64()?,
        clock: Clock {
            day: r.i64()?,
            secs: r.i64()?,
            seen: r.bool()?,
        },
        base: r.opt_i64()?,
        base_assumed: r.bool()?,
        seq: r.u64()?,
        ..FlexlmLog::default()
    };
    for _ in 0..r.len()? {
        p.vendors.push(Vendor {
            name: r.string()?,
            stopped: r.opt_i64()?,
        });
    }
    for _ in 0..r.len()? {
        let o = Open {
            seq: r.u64()?,
            vendor: r.u32()?,
            feature: r.string()?,
            user: r.string()?,
            host: r.string()?,
            count: r.u32()?,
            project: r.opt_string()?,
            start: r.i64()?,
        };
        if o.vendor as usize >= p.vendors.len() {
            return Err(r.damaged());
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
        pb.sessions.push(r.session()?);
    }
    for _ in 0..r.len()? {
        pb.denials.push(r.denial()?);
    }
    for _ in 0..r.len()? {
        pb.queued.push(r.queued()?);
    }
    for _ in 0..r.len()? {
        pb.server_events.push(r.server_event()?);
    }
    r.finish()?;
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
        let mut w = Writer::new(VERSION);
        for v in [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN, 1_459_302_965] {
            w.i64(v);
        }
        w.u64(u64::MAX);
        let bytes = w.finish();
        let mut r = Reader::new("flexlm-log", VERSION, &bytes).unwrap();
        for v in [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN, 1_459_302_965] {
            assert_eq!(r.i64().unwrap(), v);
        }
        assert_eq!(r.u64().unwrap(), u64::MAX);
        assert!(r.u64().is_err());
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
