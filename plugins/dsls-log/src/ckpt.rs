//! The checkpoint: the parse state as compact bytes (LEB128 varints, length-prefixed strings),
//! led by a version byte. Configuration (the UTC offset) is not part of it: the resuming `begin`
//! supplies it again.

use tally_plugin_sdk::checkpoint::{self, Writer};
use tally_plugin_sdk::{Batch, EndReason, PluginError};

use crate::json::{Expect, Frame, Key, Reader};
use crate::parse::{DslsLog, Meta, Mode, Open, ZoneFrom, pair_key};

/// 2: denials carry `until` (SDK for WIT 0.3.0).
const VERSION: u8 = 2;

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

pub fn encode(p: &DslsLog) -> Vec<u8> {
    let mut w = Writer::with_capacity(VERSION, 128 + p.open_len * 96);
    w.u64(p.lines);
    w.index(&MODES, &p.mode);
    let r = &p.reader;
    w.u64(r.stack.len() as u64);
    for f in &r.stack {
        w.index(&FRAMES, f);
    }
    w.index(&Expect::ALL, &r.expect);
    w.index(&Key::ALL, &r.key);
    w.u64(u64::from(r.skip));
    w.bool(r.rows_opened);
    let m = &p.meta;
    for v in [
        m.first_date,
        m.last_date,
        m.row_index,
        m.total,
        m.first_row_ms,
    ] {
        w.opt_i64(v);
    }
    w.u64(m.rows);
    w.opt_i64(p.zone);
    w.index(&ZONE_FROM, &p.zone_from);
    w.opt_i64(p.last_ms);
    w.u64(p.seq);
    w.u64(p.restarts.len() as u64);
    for &r in &p.restarts {
        w.i64(r);
    }
    w.u64(p.editors.len() as u64);
    for (f, e) in &p.editors {
        w.str(f);
        w.str(e);
    }
    let mut open: Vec<&Open> = p.open.values().flatten().collect();
    open.sort_unstable_by_key(|o| o.seq);
    w.u64(open.len() as u64);
    for o in open {
        w.u64(o.seq);
        w.bool(o.grant);
        w.i64(o.ms);
        w.u64(o.line);
        w.index(&END_REASONS, &o.reason);
        for s in [&o.session, &o.feature, &o.vendor, &o.user, &o.host] {
            w.str(s);
        }
        w.u64(u64::from(o.count));
    }
    let pb = &p.pending;
    w.u64(pb.sessions.len() as u64);
    pb.sessions.iter().for_each(|s| w.session(s));
    w.u64(pb.denials.len() as u64);
    pb.denials.iter().for_each(|d| w.denial(d));
    w.u64(pb.server_events.len() as u64);
    pb.server_events.iter().for_each(|e| w.server_event(e));
    w.finish()
}

pub fn decode(bytes: &[u8]) -> Result<DslsLog, PluginError> {
    let mut r = checkpoint::Reader::new("dsls-log", VERSION, bytes)?;
    let mut p = DslsLog {
        lines: r.u64()?,
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
    reader.rows_opened = r.bool()?;
    p.reader = reader;
    p.meta = Meta {
        first_date: r.opt_i64()?,
        last_date: r.opt_i64()?,
        row_index: r.opt_i64()?,
        total: r.opt_i64()?,
        first_row_ms: r.opt_i64()?,
        rows: r.u64()?,
    };
    p.zone = r.opt_i64()?;
    p.zone_from = r.pick(&ZONE_FROM)?;
    p.last_ms = r.opt_i64()?;
    p.seq = r.u64()?;
    for _ in 0..r.len()? {
        p.restarts.push(r.i64()?);
    }
    for _ in 0..r.len()? {
        let f = r.string()?;
        p.editors.insert(f, r.string()?);
    }
    for _ in 0..r.len()? {
        let o = Open {
            seq: r.u64()?,
            grant: r.bool()?,
            ms: r.i64()?,
            line: r.u64()?,
            reason: r.pick(&END_REASONS)?,
            session: r.string()?,
            feature: r.string()?,
            vendor: r.string()?,
            user: r.string()?,
            host: r.string()?,
            count: r.u32()?,
        };
        let key = pair_key(o.session.as_bytes(), o.feature.as_bytes());
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
        pb.server_events.push(r.server_event()?);
    }
    r.finish()?;
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
        let mut w = Writer::new(VERSION);
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
            w.i64(v);
        }
        w.u64(u64::MAX);
        let bytes = w.finish();
        let mut r = checkpoint::Reader::new("dsls-log", VERSION, &bytes).unwrap();
        for v in vals {
            assert_eq!(r.i64().unwrap(), v);
        }
        assert_eq!(r.u64().unwrap(), u64::MAX);
        assert!(r.u64().is_err());
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
