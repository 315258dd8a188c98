//! Test guest: reaches for what a plugin must not have (files, environment, sockets, processes)
//! and reports each outcome as a diagnostic, so the host's test sees exactly what it got. The
//! chunk is a TCP port on the host's loopback to try to connect to.
use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{SystemTime, UNIX_EPOCH};

use tally_plugin_sdk::{Batch, Diagnostic, DiagnosticKind, Importer, PluginError};

#[derive(Default)]
struct Hostile;

impl Importer for Hostile {
    const FORMATS: &'static [&'static str] = &["hostile-wasi"];

    fn feed(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), PluginError> {
        let port = String::from_utf8_lossy(chunk).trim().to_string();
        let mut report = |what: &str, outcome: String| {
            out.diagnostics.push(Diagnostic {
                line: out.diagnostics.len() as u64 + 1,
                kind: DiagnosticKind::Unrecognised,
                text: format!("{what}: {outcome}"),
            });
        };
        report(
            "read /etc/passwd",
            shown(std::fs::read("/etc/passwd").map(|b| String::from_utf8_lossy(&b).into_owned())),
        );
        report(
            "read plugin.toml",
            shown(std::fs::read_to_string("plugin.toml")),
        );
        report(
            "list /",
            shown(std::fs::read_dir("/").map(|d| d.count().to_string())),
        );
        report(
            "write /tmp",
            shown(std::fs::write("/tmp/tally-hostile-wasi", "escaped").map(|()| "written".into())),
        );
        report(
            "current dir",
            shown(std::env::current_dir().map(|d| d.display().to_string())),
        );
        let vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
        report("env", format!("{vars:?}"));
        report(
            "args",
            format!("{:?}", std::env::args().collect::<Vec<_>>()),
        );
        report(
            "connect",
            shown(TcpStream::connect(format!("127.0.0.1:{port}")).map(|_| "connected".into())),
        );
        report(
            "udp",
            shown(UdpSocket::bind("127.0.0.1:0").map(|s| format!("{:?}", s.local_addr()))),
        );
        report(
            "resolve",
            shown(
                ("localhost", 80)
                    .to_socket_addrs()
                    .map(|a| format!("{:?}", a.collect::<Vec<_>>())),
            ),
        );
        report(
            "spawn",
            shown(
                std::process::Command::new("/bin/sh")
                    .output()
                    .map(|o| format!("{o:?}")),
            ),
        );
        let mut stdin = String::new();
        report(
            "stdin",
            shown(std::io::stdin().read_to_string(&mut stdin).map(|_| stdin)),
        );
        // The clocks a plugin is allowed: they must tell the real time.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs());
        report(
            "wall clock",
            format!("{}", now.is_ok_and(|s| s > 1_600_000_000)),
        );
        out.lines = 1;
        Ok(())
    }
}

/// `ok: <value>` or `<kind>: <message>`.
fn shown(result: std::io::Result<String>) -> String {
    match result {
        Ok(value) => format!("ok: {value}"),
        Err(e) => format!("{:?}: {e}", e.kind()),
    }
}

tally_plugin_sdk::export!(importer: Hostile);
