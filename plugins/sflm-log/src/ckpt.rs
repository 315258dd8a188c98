//! The checkpoint: the parse state as compact bytes (LEB128 varints, length-prefixed strings),
//! led by a version byte. The configuration is not part of it (this importer uses none).

use tally_plugin_sdk::PluginError;
use tally_plugin_sdk::checkpoint::{Reader, Writer};

use crate::parse::{Open, SflmLog};

const VERSION: u8 = 1;

pub fn encode(p: &SflmLog) -> Vec<u8> {
    let mut w = Writer::with_capacity(VERSION, 16 + p.open.len() * 64);
    w.u64(p.lines);
    w.bool(p.day.is_some());
    if let Some(d) = p.day {
        w.i64(d);
    }
    w.u64(p.open.len() as u64);
    for o in &p.open {
        w.str(&o.user);
        w.str(&o.host);
        w.str(&o.pid);
        w.str(&o.product_id);
        w.str(&o.product_name);
        w.u64(u64::from(o.desired));
        w.u64(u64::from(o.granted));
        w.i64(o.start);
        w.i64(o.end);
        w.i64(o.next);
        w.bool(o.next_day_seen);
    }
    w.finish()
}

pub fn decode(bytes: &[u8]) -> Result<SflmLog, PluginError> {
    let mut r = Reader::new("sflm-log", VERSION, bytes)?;
    let mut p = SflmLog {
        lines: r.u64()?,
        day: if r.bool()? { Some(r.i64()?) } else { None },
        ..SflmLog::default()
    };
    for _ in 0..r.len()? {
        p.open.push(Open {
            user: r.string()?,
            host: r.string()?,
            pid: r.string()?,
            product_id: r.string()?,
            product_name: r.string()?,
            desired: r.u32()?,
            granted: r.u32()?,
            start: r.i64()?,
            end: r.i64()?,
            next: r.i64()?,
            next_day_seen: r.bool()?,
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
        let vals = [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN, 63_318_844_800];
        for v in vals {
            w.i64(v);
        }
        w.u64(u64::MAX);
        let bytes = w.finish();
        let mut r = Reader::new("sflm-log", VERSION, &bytes).unwrap();
        for v in vals {
            assert_eq!(r.i64().unwrap(), v);
        }
        assert_eq!(r.u64().unwrap(), u64::MAX);
        assert!(r.u64().is_err());
    }

    #[test]
    fn state_round_trips_and_damage_is_an_error() {
        let mut p = SflmLog::default();
        let mut out = Batch::default();
        p.begin(&ImportConfig::default()).unwrap();
        let log = "Jane Doe\tws 1\t42\tP1\tSolver Pro\t63318927600\t63318931200\t3\t1\t2007/07/01\t23:00:00\t24:00:00\n\
                   jo\tws2\t43\tP2\tMesher\t63318927600\t63318931199\t1\t1\t2007/07/01\t23:00:00\t23:59:59\n";
        p.feed(log.as_bytes(), &mut out).unwrap();
        assert_eq!(p.open.len(), 2);
        let bytes = encode(&p);
        let q = decode(&bytes).unwrap();
        assert_eq!(encode(&q), bytes);
        assert_eq!((q.lines, q.day), (p.lines, p.day));
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
