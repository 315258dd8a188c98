//! How long the user has given no input, where the OS tells it.
//!
//! Linux: the kernel stamps a terminal's access time when a process reads input from it (what
//! `w` shows as IDLE), so a process's idle time is the age of its controlling terminal's atime,
//! and a user's is that of their most recently used terminal. A process without a terminal
//! (a desktop application) has no idle time here: `None`, and policies needing one do not fire
//! for it. Desktop sessions' idle time (logind's `IdleHint`, X11/Wayland idle) needs a D-Bus
//! client and is left for later, as are other OSes.

use std::time::{Duration, SystemTime};

/// Time since the last input to the terminal `pid` runs on.
pub fn process_input_idle(pid: u32, now: SystemTime) -> Option<Duration> {
    imp::process_input_idle(pid, now)
}

/// Time since the last input to any terminal of the user running `pid`.
pub fn user_input_idle(pid: u32, now: SystemTime) -> Option<Duration> {
    imp::user_input_idle(pid, now)
}

#[cfg(target_os = "linux")]
mod imp {
    use std::os::unix::fs::MetadataExt;
    use std::path::PathBuf;
    use std::time::{Duration, SystemTime};

    pub fn process_input_idle(pid: u32, now: SystemTime) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let tty = terminal_path(tty_nr(&stat)?)?;
        age(std::fs::metadata(tty).ok()?.accessed().ok()?, now)
    }

    pub fn user_input_idle(pid: u32, now: SystemTime) -> Option<Duration> {
        let uid = std::fs::metadata(format!("/proc/{pid}")).ok()?.uid();
        // A login terminal belongs to the user logged in on it.
        let pts = std::fs::read_dir("/dev/pts").ok()?;
        pts.filter_map(|entry| entry.ok()?.metadata().ok())
            .filter(|meta| meta.uid() == uid)
            .filter_map(|meta| age(meta.accessed().ok()?, now))
            .min()
    }

    fn age(then: SystemTime, now: SystemTime) -> Option<Duration> {
        Some(now.duration_since(then).unwrap_or(Duration::ZERO))
    }

    /// Field 7 of `/proc/PID/stat`, counted after the command name in parentheses (which may
    /// itself hold spaces and parentheses).
    pub(super) fn tty_nr(stat: &str) -> Option<u32> {
        let rest = &stat[stat.rfind(')')? + 1..];
        let tty: i64 = rest.split_whitespace().nth(4)?.parse().ok()?;
        u32::try_from(tty).ok().filter(|t| *t != 0)
    }

    /// The device file of a terminal number (major and minor as the kernel packs them).
    pub(super) fn terminal_path(tty_nr: u32) -> Option<PathBuf> {
        let major = (tty_nr >> 8) & 0xfff;
        let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
        match major {
            // Unix98 pseudo-terminals: 136-143, 256 minors each.
            136..=143 => Some(PathBuf::from(format!(
                "/dev/pts/{}",
                (major - 136) * 256 + minor
            ))),
            // Virtual consoles.
            4 if (1..64).contains(&minor) => Some(PathBuf::from(format!("/dev/tty{minor}"))),
            _ => None,
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::time::{Duration, SystemTime};

    pub fn process_input_idle(_pid: u32, _now: SystemTime) -> Option<Duration> {
        None
    }

    pub fn user_input_idle(_pid: u32, _now: SystemTime) -> Option<Duration> {
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::imp::{terminal_path, tty_nr};
    use std::path::PathBuf;

    #[test]
    fn the_terminal_field_is_read_after_the_command_name() {
        let stat = "4242 (my (odd) app) S 1 4242 4242 34817 4242 4194304 0 0";
        assert_eq!(tty_nr(stat), Some(34817));
        let no_tty = "4242 (daemon) S 1 4242 4242 0 -1 4194304";
        assert_eq!(tty_nr(no_tty), None);
    }

    #[test]
    fn terminal_numbers_name_their_device() {
        // 34817 = major 136, minor 1.
        assert_eq!(terminal_path(34817), Some(PathBuf::from("/dev/pts/1")));
        // Major 137, minor 5: pts 261.
        assert_eq!(
            terminal_path((137 << 8) | 5),
            Some(PathBuf::from("/dev/pts/261"))
        );
        // Minor above 255 of major 136: pts 300.
        let packed = (136 << 8) | (300 & 0xff) | ((300 & 0xfff00) << 12);
        assert_eq!(terminal_path(packed), Some(PathBuf::from("/dev/pts/300")));
        assert_eq!(terminal_path(4 << 8 | 2), Some(PathBuf::from("/dev/tty2")));
        // Serial lines are not a user's terminal.
        assert_eq!(terminal_path(4 << 8 | 64), None);
    }

    #[test]
    fn a_process_without_a_terminal_has_no_idle_time() {
        let child = std::process::Command::new("setsid")
            .args(["sleep", "30"])
            .stdin(std::process::Stdio::null())
            .spawn();
        let Ok(mut child) = child else {
            eprintln!("skipped: no setsid on this machine");
            return;
        };
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert_eq!(
            super::process_input_idle(child.id(), std::time::SystemTime::now()),
            None
        );
        child.kill().expect("kill");
        child.wait().expect("wait");
    }
}
