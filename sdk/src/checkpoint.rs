//! Checkpoint encoding primitives: a version byte, then LEB128 varints (zigzag for signed
//! values), one-byte booleans and length-prefixed UTF-8 strings. The layout of a plugin's state
//! on top of these is the plugin's own.
//!
//! ```ignore
//! use tally_plugin_sdk::checkpoint::{Reader, Writer};
//!
//! let mut w = Writer::new(1);
//! w.u64(lines);
//! w.str(&vendor);
//! let bytes = w.finish();
//!
//! let mut r = Reader::new("my-log", 1, &bytes)?;
//! let lines = r.u64()?;
//! let vendor = r.string()?;
//! r.finish()?;
//! ```

use crate::{
    Denial, DenialKind, EndReason, ErrorCode, PluginError, Queued, ServerEvent, ServerEventKind,
    Session,
};

/// The error of a checkpoint that cannot be read: `"{plugin}: damaged checkpoint"`.
pub fn damaged(plugin: &str) -> PluginError {
    PluginError::BadInput(format!("{plugin}: damaged checkpoint"))
}

/// The error of a checkpoint led by another version byte.
pub fn incompatible(plugin: &str) -> PluginError {
    PluginError::BadInput(format!("{plugin}: checkpoint from an incompatible version"))
}

/// Builds checkpoint bytes.
#[derive(Debug, Clone)]
pub struct Writer(Vec<u8>);

impl Writer {
    /// A checkpoint led by `version`.
    pub fn new(version: u8) -> Self {
        Self::with_capacity(version, 64)
    }

    /// A checkpoint led by `version`, with room for `capacity` bytes.
    pub fn with_capacity(version: u8, capacity: usize) -> Self {
        let mut b = Vec::with_capacity(capacity.max(1));
        b.push(version);
        Writer(b)
    }

    /// One raw byte.
    pub fn byte(&mut self, v: u8) {
        self.0.push(v);
    }

    /// An unsigned LEB128 varint.
    pub fn u64(&mut self, mut v: u64) {
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

    /// A signed value, zigzag-encoded as a varint.
    pub fn i64(&mut self, v: i64) {
        self.u64(((v << 1) ^ (v >> 63)) as u64);
    }

    /// A boolean as one byte, 0 or 1.
    pub fn bool(&mut self, v: bool) {
        self.0.push(u8::from(v));
    }

    /// A string: its byte length as a varint, then its bytes.
    pub fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    /// A presence flag, then the string if present.
    pub fn opt_str(&mut self, s: Option<&str>) {
        self.bool(s.is_some());
        if let Some(s) = s {
            self.str(s);
        }
    }

    /// A presence flag, then the value if present.
    pub fn opt_i64(&mut self, v: Option<i64>) {
        self.bool(v.is_some());
        if let Some(v) = v {
            self.i64(v);
        }
    }

    /// The position of `v` in `all` (0 when absent) as a varint; read back with [`Reader::pick`].
    pub fn index<T: PartialEq>(&mut self, all: &[T], v: &T) {
        self.u64(all.iter().position(|x| x == v).unwrap_or(0) as u64);
    }

    /// The bytes written so far.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true: the version byte is always there.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The finished checkpoint.
    pub fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// Reads checkpoint bytes; every malformed input is `PluginError::BadInput`, never a panic.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    plugin: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Checks the version byte of `bytes`; `plugin` names the importer in error messages.
    pub fn new(plugin: &'a str, version: u8, bytes: &'a [u8]) -> Result<Self, PluginError> {
        let mut r = Reader {
            plugin,
            bytes,
            pos: 0,
        };
        if r.byte()? != version {
            return Err(incompatible(plugin));
        }
        Ok(r)
    }

    /// The "damaged checkpoint" error of this reader's plugin.
    pub fn damaged(&self) -> PluginError {
        damaged(self.plugin)
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// One raw byte.
    pub fn byte(&mut self) -> Result<u8, PluginError> {
        let b = *self.bytes.get(self.pos).ok_or_else(|| self.damaged())?;
        self.pos += 1;
        Ok(b)
    }

    /// An unsigned LEB128 varint of at most 10 bytes.
    pub fn u64(&mut self) -> Result<u64, PluginError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.damaged())
    }

    /// A varint that must fit a `u32`.
    pub fn u32(&mut self) -> Result<u32, PluginError> {
        let v = self.u64()?;
        u32::try_from(v).map_err(|_| self.damaged())
    }

    /// A zigzag-encoded signed value.
    pub fn i64(&mut self) -> Result<i64, PluginError> {
        let v = self.u64()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// A signed value that must fit an `i32`.
    pub fn i32(&mut self) -> Result<i32, PluginError> {
        let v = self.i64()?;
        i32::try_from(v).map_err(|_| self.damaged())
    }

    /// An element count. Every element takes at least one byte, so a count larger than the bytes
    /// left is damage, not a reason to allocate.
    pub fn len(&mut self) -> Result<usize, PluginError> {
        let v = self.u64()?;
        let n = usize::try_from(v).map_err(|_| self.damaged())?;
        if n > self.remaining() {
            return Err(self.damaged());
        }
        Ok(n)
    }

    /// Whether nothing is left to read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// A boolean byte, 0 or 1.
    pub fn bool(&mut self) -> Result<bool, PluginError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.damaged()),
        }
    }

    /// A length-prefixed UTF-8 string.
    pub fn string(&mut self) -> Result<String, PluginError> {
        let n = self.len()?;
        let bytes = self
            .bytes
            .get(self.pos..self.pos + n)
            .ok_or_else(|| self.damaged())?;
        self.pos += n;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.damaged())
    }

    /// What [`Writer::opt_str`] wrote.
    pub fn opt_string(&mut self) -> Result<Option<String>, PluginError> {
        Ok(if self.bool()? {
            Some(self.string()?)
        } else {
            None
        })
    }

    /// What [`Writer::opt_i64`] wrote.
    pub fn opt_i64(&mut self) -> Result<Option<i64>, PluginError> {
        Ok(if self.bool()? {
            Some(self.i64()?)
        } else {
            None
        })
    }

    /// The element of `all` at the position [`Writer::index`] wrote.
    pub fn pick<T: Copy>(&mut self, all: &[T]) -> Result<T, PluginError> {
        let v = self.u64()?;
        usize::try_from(v)
            .ok()
            .and_then(|i| all.get(i).copied())
            .ok_or_else(|| self.damaged())
    }

    /// The end of the checkpoint: trailing bytes are damage.
    pub fn finish(self) -> Result<(), PluginError> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(self.damaged())
        }
    }
}

/// Records an importer holds back across a checkpoint (waiting for a date, or for `finish`)
/// are written field by field; enums by their position in these tables, which must only grow.
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

impl Writer {
    pub fn session(&mut self, s: &Session) {
        for t in [&s.vendor, &s.feature, &s.user, &s.host] {
            self.str(t);
        }
        self.u64(u64::from(s.count));
        self.i64(s.start);
        self.i64(s.end);
        self.index(&END_REASONS, &s.end_reason);
        self.opt_str(s.project.as_deref());
    }

    pub fn denial(&mut self, d: &Denial) {
        for t in [&d.vendor, &d.feature, &d.user, &d.host] {
            self.str(t);
        }
        self.u64(u64::from(d.count));
        self.i64(d.time);
        self.bool(d.kind == DenialKind::Unsupported);
        self.bool(d.code.is_some());
        if let Some(c) = d.code {
            self.i64(i64::from(c.major));
            self.opt_i64(c.minor.map(i64::from));
            self.opt_i64(c.errno.map(i64::from));
        }
        self.opt_str(d.reason.as_deref());
        self.opt_str(d.requested_version.as_deref());
        self.opt_i64(d.until);
    }

    pub fn queued(&mut self, q: &Queued) {
        for t in [&q.vendor, &q.feature, &q.user, &q.host] {
            self.str(t);
        }
        self.u64(u64::from(q.count));
        self.opt_i64(q.time);
    }

    pub fn event_kind(&mut self, k: ServerEventKind) {
        self.index(&EVENT_KINDS, &k);
    }

    pub fn server_event(&mut self, e: &ServerEvent) {
        self.i64(e.time);
        self.event_kind(e.kind);
        self.str(&e.daemon);
        self.str(&e.text);
    }
}

impl Reader<'_> {
    pub fn session(&mut self) -> Result<Session, PluginError> {
        Ok(Session {
            vendor: self.string()?,
            feature: self.string()?,
            user: self.string()?,
            host: self.string()?,
            count: self.u32()?,
            start: self.i64()?,
            end: self.i64()?,
            end_reason: self.pick(&END_REASONS)?,
            project: self.opt_string()?,
        })
    }

    pub fn denial(&mut self) -> Result<Denial, PluginError> {
        let (vendor, feature, user, host) = (
            self.string()?,
            self.string()?,
            self.string()?,
            self.string()?,
        );
        let (count, time) = (self.u32()?, self.i64()?);
        let kind = if self.bool()? {
            DenialKind::Unsupported
        } else {
            DenialKind::Denied
        };
        let code = if self.bool()? {
            let major = self.i32()?;
            let minor = if self.bool()? {
                Some(self.i32()?)
            } else {
                None
            };
            let errno = if self.bool()? {
                Some(self.i32()?)
            } else {
                None
            };
            Some(ErrorCode {
                major,
                minor,
                errno,
            })
        } else {
            None
        };
        Ok(Denial {
            vendor,
            feature,
            user,
            host,
            count,
            time,
            kind,
            code,
            reason: self.opt_string()?,
            requested_version: self.opt_string()?,
            until: self.opt_i64()?,
        })
    }

    pub fn queued(&mut self) -> Result<Queued, PluginError> {
        Ok(Queued {
            vendor: self.string()?,
            feature: self.string()?,
            user: self.string()?,
            host: self.string()?,
            count: self.u32()?,
            time: self.opt_i64()?,
        })
    }

    pub fn event_kind(&mut self) -> Result<ServerEventKind, PluginError> {
        self.pick(&EVENT_KINDS)
    }

    pub fn server_event(&mut self) -> Result<ServerEvent, PluginError> {
        Ok(ServerEvent {
            time: self.i64()?,
            kind: self.event_kind()?,
            daemon: self.string()?,
            text: self.string()?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const VALUES: [i64; 13] = [
        0,
        1,
        -1,
        63,
        -64,
        64,
        i64::MAX,
        i64::MIN,
        1_459_302_965,
        1_756_918_804,
        1_757_133_596_281,
        63_318_844_800,
        -719_162,
    ];

    #[test]
    fn varints() {
        let mut w = Writer::new(7);
        for v in VALUES {
            w.i64(v);
        }
        w.u64(u64::MAX);
        let bytes = w.finish();
        let mut r = Reader::new("t", 7, &bytes).unwrap();
        for v in VALUES {
            assert_eq!(r.i64().unwrap(), v);
        }
        assert_eq!(r.u64().unwrap(), u64::MAX);
        assert!(r.u64().is_err());
    }

    #[test]
    fn layout_is_leb128_and_zigzag() {
        let mut w = Writer::new(1);
        w.u64(0);
        w.u64(127);
        w.u64(128);
        w.i64(-1);
        w.i64(1);
        w.bool(true);
        w.str("é");
        w.opt_str(None);
        w.opt_i64(Some(-2));
        w.byte(9);
        w.index(&['a', 'b', 'c'], &'c');
        w.index(&['a', 'b', 'c'], &'z');
        assert_eq!(
            w.finish(),
            [1, 0, 127, 0x80, 1, 1, 2, 1, 2, 0xc3, 0xa9, 0, 1, 3, 9, 2, 0]
        );
    }

    #[test]
    fn everything_round_trips() {
        let mut w = Writer::with_capacity(3, 0);
        w.str("Jane Doe");
        w.opt_str(Some("proj"));
        w.opt_str(None);
        w.opt_i64(Some(i64::MIN));
        w.opt_i64(None);
        w.bool(false);
        w.u64(u64::from(u32::MAX));
        w.i64(i64::from(i32::MIN));
        w.u64(1);
        w.index(&[10u8, 20, 30], &20);
        assert!(!w.is_empty());
        let bytes = w.finish();
        let mut r = Reader::new("t", 3, &bytes).unwrap();
        assert_eq!(r.string().unwrap(), "Jane Doe");
        assert_eq!(r.opt_string().unwrap().as_deref(), Some("proj"));
        assert_eq!(r.opt_string().unwrap(), None);
        assert_eq!(r.opt_i64().unwrap(), Some(i64::MIN));
        assert_eq!(r.opt_i64().unwrap(), None);
        assert!(!r.bool().unwrap());
        assert_eq!(r.u32().unwrap(), u32::MAX);
        assert_eq!(r.i32().unwrap(), i32::MIN);
        assert_eq!(r.len().unwrap(), 1);
        assert_eq!(r.pick(&[10u8, 20, 30]).unwrap(), 20);
        assert!(r.is_empty());
        r.finish().unwrap();
    }

    #[test]
    fn damage_is_an_error() {
        let err = |r: Result<(), PluginError>| match r {
            Err(PluginError::BadInput(m)) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            err(Reader::new("x-log", 1, &[]).map(drop)),
            "x-log: damaged checkpoint"
        );
        assert_eq!(
            err(Reader::new("x-log", 1, &[2]).map(drop)),
            "x-log: checkpoint from an incompatible version"
        );
        let read = |bytes: &[u8], f: fn(&mut Reader<'_>) -> Result<(), PluginError>| {
            let mut r = Reader::new("x-log", 1, bytes).unwrap();
            err(f(&mut r))
        };
        let dmg = "x-log: damaged checkpoint";
        // An 11-byte varint.
        let long = [
            1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        assert_eq!(read(&long, |r| r.u64().map(drop)), dmg);
        assert_eq!(read(&[1, 0x80], |r| r.u64().map(drop)), dmg);
        assert_eq!(read(&[1, 2], |r| r.bool().map(drop)), dmg);
        assert_eq!(
            read(&[1, 0x80, 0x80, 0x80, 0x80, 0x10], |r| r.u32().map(drop)),
            dmg
        );
        assert_eq!(
            read(&[1, 0x80, 0x80, 0x80, 0x80, 0x10], |r| r.i32().map(drop)),
            dmg
        );
        assert_eq!(read(&[1, 2, b'a'], |r| r.string().map(drop)), dmg);
        assert_eq!(read(&[1, 1, 0xff], |r| r.string().map(drop)), dmg);
        assert_eq!(read(&[1, 3, 0, 0], |r| r.len().map(drop)), dmg);
        assert_eq!(read(&[1, 3], |r| r.pick(&[1, 2, 3]).map(drop)), dmg);
        assert_eq!(read(&[1, 0], |r| r.clone().finish()), dmg);
        assert_eq!(err(Err(super::damaged("y"))), "y: damaged checkpoint");
    }

    #[test]
    fn held_back_records_round_trip() {
        let session = Session {
            vendor: "acme".into(),
            feature: "solver".into(),
            user: "John Doe".into(),
            host: "ws1".into(),
            count: 3,
            start: -5,
            end: 70,
            end_reason: EndReason::EndOfLog,
            project: Some("NASTRAN".into()),
        };
        let denial = Denial {
            vendor: "acme".into(),
            feature: "solver".into(),
            user: "bob".into(),
            host: "ws2".into(),
            count: 1,
            time: 9,
            kind: DenialKind::Unsupported,
            code: Some(ErrorCode {
                major: -4,
                minor: Some(342),
                errno: None,
            }),
            reason: Some("full".into()),
            requested_version: None,
            until: Some(12),
        };
        let queued = Queued {
            vendor: "a".into(),
            feature: "f".into(),
            user: "u".into(),
            host: "h".into(),
            count: 2,
            time: None,
        };
        let event = ServerEvent {
            time: 1,
            kind: ServerEventKind::Dequeued,
            daemon: "lmgrd".into(),
            text: "t".into(),
        };

        let mut w = Writer::new(7);
        w.session(&session);
        w.denial(&denial);
        w.queued(&queued);
        w.server_event(&event);
        let bytes = w.finish();
        let mut r = Reader::new("x", 7, &bytes).unwrap();
        assert_eq!(r.session().unwrap(), session);
        assert_eq!(r.denial().unwrap(), denial);
        assert_eq!(r.queued().unwrap(), queued);
        assert_eq!(r.server_event().unwrap(), event);
        r.finish().unwrap();
    }
}
