//! The status tools' command lines, as the host runs them, answered from the scenario.

use anyhow::bail;

use crate::scenario::{Manager, Scenario};
use crate::workload::Workload;
use crate::{flexlm, lmx, rlm};

/// A status tool the simulator stands in for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `lmutil lmstat -a -c PORT@HOST`
    Lmutil,
    /// `rlmutil rlmstat -a -c PORT@HOST`
    Rlmutil,
    /// `lmxendutil -licstat -host HOST -port PORT`
    Lmxendutil,
}

impl Tool {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "lmutil" => Some(Self::Lmutil),
            "rlmutil" => Some(Self::Rlmutil),
            "lmxendutil" => Some(Self::Lmxendutil),
            _ => None,
        }
    }
}

/// What the tool prints, and its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub stdout: String,
    pub code: u8,
}

/// Answers one status command at simulated time `now`. An address no server of that manager
/// listens on, or a server that is down (or not started yet), gets the tool's cannot-connect
/// output; only a command line the tool would reject is an error.
pub fn run(scenario: &Scenario, tool: Tool, args: &[String], now: i64) -> anyhow::Result<Reply> {
    let (manager, addresses) = addresses(tool, args)?;
    let server = addresses
        .iter()
        .find_map(|(host, port)| scenario.find(manager, host, *port));
    let reply = |stdout| Ok(Reply { stdout, code: 0 });
    let Some(server) = server else {
        let (host, port) = addresses
            .first()
            .cloned()
            .unwrap_or_else(|| (String::new(), manager.default_port()));
        return reply(cannot_connect(manager, &host, port, now));
    };
    let w = Workload::simulate(scenario, server, Some(now));
    if !w.is_up(now) {
        return reply(cannot_connect(manager, server.host(), server.port(), now));
    }
    reply(match manager {
        Manager::Flexlm => flexlm::status(&w, now),
        Manager::Rlm => rlm::status(&w, now),
        Manager::Lmx => lmx::status(&w, now),
    })
}

/// The manager a tool speaks to and the addresses its command line names (PORT, HOST).
pub fn addresses(tool: Tool, args: &[String]) -> anyhow::Result<(Manager, Vec<(String, u16)>)> {
    Ok(match tool {
        Tool::Lmutil => (Manager::Flexlm, license_path(args, "lmstat")?),
        Tool::Rlmutil => (Manager::Rlm, license_path(args, "rlmstat")?),
        Tool::Lmxendutil => (Manager::Lmx, lmx_address(args)?),
    })
}

fn cannot_connect(manager: Manager, host: &str, port: u16, now: i64) -> String {
    match manager {
        Manager::Flexlm => flexlm::cannot_connect(now),
        Manager::Rlm => rlm::cannot_connect(host, port),
        Manager::Lmx => lmx::cannot_connect(),
    }
}

/// `<command> [-a] -c PORT@HOST[:PORT@HOST…]`: the addresses of the license path (`:` or `;`
/// separated); an entry that is not `PORT@HOST` reaches nothing.
fn license_path(args: &[String], command: &str) -> anyhow::Result<Vec<(String, u16)>> {
    match args.first() {
        Some(c) if c == command => {}
        Some(c) => bail!("tally-sim simulates `{command}` only, not `{c}`"),
        None => bail!("missing command: `{command} -a -c PORT@HOST`"),
    }
    let Some(i) = args.iter().position(|a| a == "-c") else {
        bail!("missing `-c PORT@HOST` (the simulator has no default license path)");
    };
    let Some(path) = args.get(i + 1) else {
        bail!("`-c` needs PORT@HOST");
    };
    Ok(path
        .split([':', ';'])
        .filter_map(|entry| {
            let (port, host) = entry.split_once('@')?;
            Some((host.to_string(), port.parse().ok()?))
        })
        .collect())
}

/// `-licstat -host HOST [-port PORT]` (LM-X's default port is 6200).
fn lmx_address(args: &[String]) -> anyhow::Result<Vec<(String, u16)>> {
    if !args.iter().any(|a| a == "-licstat") {
        bail!("tally-sim simulates `lmxendutil -licstat -host HOST -port PORT` only");
    }
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    let Some(host) = value("-host") else {
        bail!("missing `-host HOST`");
    };
    let port = match value("-port") {
        Some(p) => match p.parse() {
            Ok(p) => p,
            Err(_) => return Ok(Vec::new()),
        },
        None => Manager::Lmx.default_port(),
    };
    Ok(vec![(host.clone(), port)])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn addresses_from_command_lines() {
        assert_eq!(
            license_path(&args("lmstat -a -c 27000@a:1@b;x@c"), "lmstat").unwrap(),
            [("a".to_string(), 27000), ("b".to_string(), 1)]
        );
        assert!(license_path(&args("lmdiag -c 1@a"), "lmstat").is_err());
        assert!(license_path(&args("rlmstat -a"), "rlmstat").is_err());
        assert_eq!(
            lmx_address(&args("-licstat -host h")).unwrap(),
            [("h".to_string(), 6200)]
        );
        assert_eq!(
            lmx_address(&args("-licstat -port 7 -host h")).unwrap(),
            [("h".to_string(), 7)]
        );
        assert!(
            lmx_address(&args("-licstat -port x -host h"))
                .unwrap()
                .is_empty()
        );
        assert!(lmx_address(&args("-host h")).is_err());
    }
}
