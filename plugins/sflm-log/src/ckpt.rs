//! The checkpoint: the parse state as compact bytes (LEB128 varints, length-prefixed strings),
//! led by a version byte. The configuration is not part of it (this importer uses none).

use tally_plugin_sdk::PluginError;

use crate::parse::{Open, SflmLog};

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
}

struct R<'a> {
    b: &'a [u8],
    p: usize,
}

fn bad() -> PluginError {
    PluginError::BadInput("sflm-log: damaged checkpoint".into())
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
    fn len(&mut self) -> Result<usize, PluginError> {
        let n = usize::try_from(self.u()?).map_err(|_| bad())?;
        // Every element takes at least one byte: a longer count is damage, not a reason to allocate.
        if n > self.b.len() - self.p {
            return Err(bad());
        }
        Ok(n)
    }
    fn s(&mut self) -> Result<String, PluginError> {
        let n = self.len()?;
        let bytes = self.b.get(self.p..self.p + n).ok_or_else(bad)?;
        self.p += n;
        String::from_utf8(bytes.to_vec()).map_err(|_| bad())
    }
}

pub fn encode(p: &SflmLog) -> Vec<u8> {
    let mut w = W(Vec::with_capacity(16 + p.open.len() * 64));
    w.0.push(VERSION);
    w.u(p.lines);
    w.b(p.day.is_some());
    if let Some(d) = p.day {
        w.i(d);
    }
    w.u(p.open.len() as u64);
    for o in &p.open {
        w.s(&o.user);
        w.s(&o.host);
        w.s(&o.pid);
        w.s(&o.product_id);
        w.s(&o.product_name);
        w.u(u64::from(o.desired));
        w.u(u64::from(o.granted));
        w.i(o.start);
        w.i(o.end);
        w.i(o.next);
        w.b(o.next_day_seen);
    }
    w.0
}

pub fn decode(bytes: &[u8]) -> Result<SflmLog, PluginError> {
    let mut r = R { b: bytes, p: 0 };
    if r.byte()? != VERSION {
        return Err(PluginError::BadInput(
            "sflm-log: checkpoint from an incompatible version".into(),
        ));
    }
    let mut p = SflmLog {
        lines: r.u()?,
        day: if r.b()? { Some(r.i()?) } else { None },
        ..SflmLog::default()
    };
    for _ in 0..r.len()? {
        p.open.push(Open {
            user: r.s()?,
            host: r.s()?,
            pid: r.s()?,
            product_id: r.s()?,
            product_name: r.s()?,
            desired: r.u32()?,
            granted: r.u32()?,
            start: r.i()?,
            end: r.i()?,
            next: r.i()?,
            next_day_seen: r.b()?,
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
        let vals = [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN, 63_318_844_800];
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
