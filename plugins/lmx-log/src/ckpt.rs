//! The checkpoint: a version byte, the line count (LEB128) and the open list of the start-up
//! report. The UTC offset is not part of it: the resuming `begin` supplies it again.

use tally_plugin_sdk::PluginError;

use crate::parse::{List, LmxLog};

const VERSION: u8 = 1;

fn bad() -> PluginError {
    PluginError::BadInput("lmx-log: damaged checkpoint".into())
}

pub fn encode(p: &LmxLog) -> Vec<u8> {
    let mut w = vec![VERSION];
    let mut v = p.lines;
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            w.push(b);
            break;
        }
        w.push(b | 0x80);
    }
    w.push(match p.list {
        List::None => 0,
        List::Files => 1,
        List::Features => 2,
    });
    w
}

pub fn decode(bytes: &[u8]) -> Result<LmxLog, PluginError> {
    let (&version, mut rest) = bytes.split_first().ok_or_else(bad)?;
    if version != VERSION {
        return Err(PluginError::BadInput(
            "lmx-log: checkpoint from an incompatible version".into(),
        ));
    }
    let mut lines = 0u64;
    let mut shift = 0;
    loop {
        let (&b, r) = rest.split_first().ok_or_else(bad)?;
        rest = r;
        if shift > 63 {
            return Err(bad());
        }
        lines |= u64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            break;
        }
    }
    let list = match rest {
        [0] => List::None,
        [1] => List::Files,
        [2] => List::Features,
        _ => return Err(bad()),
    };
    Ok(LmxLog {
        lines,
        list,
        ..LmxLog::default()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        for (lines, list) in [
            (0, List::None),
            (127, List::Files),
            (1 << 40, List::Features),
        ] {
            let p = LmxLog {
                lines,
                list,
                ..LmxLog::default()
            };
            let bytes = encode(&p);
            let q = decode(&bytes).unwrap();
            assert_eq!((q.lines, q.list), (lines, list));
            for cut in 0..bytes.len() {
                assert!(decode(&bytes[..cut]).is_err(), "truncated at {cut}");
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(decode(&longer).is_err());
            let mut wrong = bytes;
            wrong[0] = 9;
            assert!(decode(&wrong).is_err());
        }
        assert!(decode(&[VERSION, 1, 3]).is_err());
        assert!(
            decode(&[
                VERSION, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0
            ])
            .is_err()
        );
    }
}
