//! The checkpoint: a version byte, the line count (LEB128) and the open list of the start-up
//! report. The UTC offset is not part of it: the resuming `begin` supplies it again.

use tally_plugin_sdk::PluginError;
use tally_plugin_sdk::checkpoint::{Reader, Writer};

use crate::parse::{List, LmxLog};

const VERSION: u8 = 1;

pub fn encode(p: &LmxLog) -> Vec<u8> {
    let mut w = Writer::new(VERSION);
    w.u64(p.lines);
    w.byte(match p.list {
        List::None => 0,
        List::Files => 1,
        List::Features => 2,
    });
    w.finish()
}

pub fn decode(bytes: &[u8]) -> Result<LmxLog, PluginError> {
    let mut r = Reader::new("lmx-log", VERSION, bytes)?;
    let lines = r.u64()?;
    let list = match r.byte()? {
        0 => List::None,
        1 => List::Files,
        2 => List::Features,
        _ => return Err(r.damaged()),
    };
    r.finish()?;
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
