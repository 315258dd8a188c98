//! Format detection: a license file is made of keyword lines (comments and continuations
//! aside). RLM report logs also hold `LICENSE FILE …` lines, and FlexNet status outputs name
//! features, so the head must be keyword lines almost throughout, with at least one licence.

use tally_plugin_sdk::Sniffed;
use tally_plugin_sdk::text::text;

use crate::parse::{Format, tokens};

pub(crate) fn sniff(head: &[u8]) -> Option<Sniffed> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let t = text(head);
    // The last line may be cut by the 4 KiB limit: judge whole lines only.
    let whole = match t.rfind('\n') {
        Some(i) if t.len() >= 4096 => &t[..i],
        _ => &t[..],
    };
    let (mut keyword, mut other, mut licences) = (0u32, 0u32, 0u32);
    let mut format: Option<Format> = None;
    let mut continued = false;
    for line in whole.lines() {
        let line = line.trim();
        let was_continued = std::mem::replace(&mut continued, line.ends_with('\\'));
        if line.is_empty() || line.starts_with('#') || was_continued {
            continue;
        }
        let fields = tokens(line);
        let kw = fields
            .first()
            .map(|k| k.to_ascii_uppercase())
            .unwrap_or_default();
        match Format::of(&kw) {
            // An RLM report log's `LICENSE FILE name`.
            Some(Format::Rlm) if kw == "LICENSE" && fields.get(1).is_some_and(|f| f == "FILE") => {
                other += 1
            }
            Some(f) if format.is_none_or(|g| g == f) => {
                format = Some(f);
                keyword += 1;
                if matches!(kw.as_str(), "FEATURE" | "INCREMENT" | "LICENSE") && fields.len() >= 6 {
                    licences += 1;
                }
            }
            _ if kw == "UPGRADE" => keyword += 1,
            _ => other += 1,
        }
    }
    let format = format?;
    if keyword == 0 || other * 10 > keyword {
        return None;
    }
    let confidence = if licences > 0 { 0.9 } else { 0.4 };
    Some(Sniffed {
        format: format.id(),
        confidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn license_files_and_look_alikes() {
        let flex = b"# comment\nSERVER lic1 0800200C9A66 27000\nVENDOR demo\nUSE_SERVER\nFEATURE f demo 1.0 permanent 4 SIGN=\"AB \\\n  CD\"\n";
        assert_eq!(sniff(flex).map(|s| s.format), Some("flexlm-license"));
        let rlm = b"HOST lic1 0800200c9a66 5053\nISV demo\nLICENSE demo solver 2.0 permanent 5 sig=\"x\"\n";
        assert_eq!(sniff(rlm).map(|s| s.format), Some("rlm-license"));
        let report_log = b"RLM Report Log Format 0, version 14.1, authenticated\nISV: demo\nSTART lic1 03/05/2024 00:00:02\nLICENSE FILE demo.lic\nPRODUCT solver 2.0 1 4 0 4\n";
        assert_eq!(sniff(report_log), None);
        let debug_log = b" 9:49:41 (lmgrd) FlexNet Licensing started\n 9:49:42 (demo) FEATURE f\n";
        assert_eq!(sniff(debug_log), None);
        let lmstat = b"lmutil - Copyright (c) 1989-2019 Flexera. All Rights Reserved.\nFlexible License Manager status on Fri 10/20/2017 17:02\nUsers of f:  (Total of 4 licenses issued;  Total of 0 licenses in use)\n";
        assert_eq!(sniff(lmstat), None);
        assert_eq!(sniff(b""), None);
    }
}
